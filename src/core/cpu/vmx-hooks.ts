// What the CPU core knows of VMX: this interface, and nothing of src/core/vmx. A CPU model
// with VMX carries a factory (`CpuModel.vmx`) that createCpu calls to install a VmxHooks on
// the CPU (`Cpu.vmx`); without one `Cpu.vmx` stays null and the VMX opcodes raise #UD. The
// decode rows (ops/vmx.ts), RDMSR, MOV CR0/CR4 and RESET call these hooks; the VMX unit
// implements the SDM semantics behind them (src/core/vmx/unit.ts).
import type { Cpu } from './cpu';

export interface VmxHooks {
  /** In VMX operation, root or non-root (SDM Vol. 3C §24.8 "Restrictions on VMX Operation"):
   *  CR0/CR4 fixed bits apply, and INIT is blocked in VMX root operation. */
  readonly inVmxOperation: boolean;

  // The instructions (SDM Vol. 3C §31.3). The row has decoded the instruction (ModRM, its
  // effective address in eaSeg/eaOff, prefixes) and ruled out register operands where the
  // instruction takes memory only; the hook does every other check.
  vmxon(): void;
  vmxoff(): void;
  vmclear(): void;
  vmptrld(): void;
  vmptrst(): void;
  vmread(): void;
  vmwrite(): void;
  vmlaunch(): void;
  vmresume(): void;
  vmcall(): void;
  invept(): void;
  invvpid(): void;

  /** RDMSR of a VMX capability MSR (0x480-0x4FF): its value into out[0] (low) and out[1]
   *  (high); false when this processor has no such MSR (#GP(0)). */
  readCapabilityMsr(index: number, out: Int32Array): boolean;
  /** MOV to CR0/CR4 in VMX operation: false when `value` breaks the bits VMX operation fixes
   *  (IA32_VMX_CR0/CR4_FIXED0/1), which is #GP(0). */
  crWriteAllowed(cr: 0 | 4, value: number): boolean;
  /** RESET: out of VMX operation, no current VMCS. */
  reset(): void;
}

/** Builds the VMX unit of a CPU (set on a CpuModel by src/core/vmx). */
export type VmxFactory = (cpu: Cpu) => VmxHooks;
