// A generation as a CPU model for createCpu: CPUID identity (family, model, stepping, brand)
// from the generation; CPUID feature bits are what the interpreter implements (P6_MODEL's),
// plus CPUID.1:ECX.VMX when the generation has VMX and the generation's instruction-set facts
// the interpreter implements (IMPLEMENTED_ISA), with the factory that installs its VMX unit.
// The interpreter has no SSE: reporting the real part's other feature bits would promise
// instructions that raise #UD here. Long mode (Intel 64: LM, SYSCALL, 1 GB pages) is reported
// as the generation has it; `longMode: false` hides it (vmxlab run --no-long-mode), which the
// derived VMX capability MSRs follow (IA32_VMX_BASIC[48] = 1, no "IA-32e mode guest", "host
// address-space size", "save IA32_EFER.LMA" or CR8 exiting; capabilities.ts). The hosted VMM's
// host is 32-bit, so it hides Intel 64 from its guests (src/core/vmm/host-width.ts): a bare run
// with --no-long-mode is the one to compare a hosted run with.
import { Cpuid1Ecx, Cpuid7Ebx, CpuidExtEdx, CpuModel, P6_MODEL } from '../cpu/model';
import { capabilitiesFor } from './capabilities';
import { Generation, IsaFeature, generation } from './generations';
import { VmxUnit } from './unit';

/** The generation facts the interpreter implements, with the CPUID bit each sets (SDM Vol. 2A
 *  CPUID): leaf 1 ECX, leaf 80000001H EDX, leaf 7 sub-leaf 0 EBX. */
const IMPLEMENTED_ISA: ReadonlyMap<IsaFeature, readonly ['leaf1Ecx' | 'extEdx' | 'leaf7Ebx', number]> = new Map([
  [IsaFeature.Monitor, ['leaf1Ecx', Cpuid1Ecx.MONITOR]],
  [IsaFeature.Rdtscp, ['extEdx', CpuidExtEdx.RDTSCP]],
  [IsaFeature.Rdrand, ['leaf1Ecx', Cpuid1Ecx.RDRAND]],
  [IsaFeature.Rdseed, ['leaf7Ebx', Cpuid7Ebx.RDSEED]],
  [IsaFeature.Invpcid, ['leaf7Ebx', Cpuid7Ebx.INVPCID]],
  [IsaFeature.Intel64, ['extEdx', CpuidExtEdx.LM | CpuidExtEdx.SYSCALL]],
  [IsaFeature.Page1Gb, ['extEdx', CpuidExtEdx.PAGE1GB]],
  // XCR0 supports x87 only: the interpreter has no SSE state (src/core/cpu/xstate.ts).
  [IsaFeature.Xsave, ['leaf1Ecx', Cpuid1Ecx.XSAVE]],
]);

/** Options of cpuModelFor. */
export interface CpuModelOptions {
  /** Report the generation's Intel 64 facts (LM, SYSCALL, 1 GB pages) in CPUID (default true). */
  readonly longMode?: boolean;
  /** Report Safer Mode Extensions (CPUID.1:ECX.SMX: CR4.SMXE, GETSEC, IA32_FEATURE_CONTROL[1],
   *  src/core/cpu/ops/getsec.ts) on a VMX generation (default false: Bochs 2.7's models, which
   *  test/vmx-guests compares with, report none, and SMXE would change IA32_VMX_CR4_FIXED1). */
  readonly smx?: boolean;
}

const LONG_MODE_ISA: ReadonlySet<IsaFeature> = new Set([IsaFeature.Intel64, IsaFeature.Page1Gb]);

export function cpuModelFor(gen: Generation, opts: CpuModelOptions = {}): CpuModel {
  const bits = { leaf1Ecx: gen.vmx !== null ? P6_MODEL.leaf1Ecx | Cpuid1Ecx.VMX : P6_MODEL.leaf1Ecx, extEdx: P6_MODEL.extEdx, leaf7Ebx: 0 };
  if (opts.smx === true && gen.vmx !== null) bits.leaf1Ecx |= Cpuid1Ecx.SMX;
  for (const f of gen.isa) {
    if (LONG_MODE_ISA.has(f) && opts.longMode === false) continue;
    const b = IMPLEMENTED_ISA.get(f);
    if (b !== undefined) bits[b[0]] |= b[1];
  }
  const base: CpuModel = {
    ...P6_MODEL,
    name: gen.name,
    family: gen.family, model: gen.model, stepping: gen.stepping, brand: gen.brand,
    leaf1Ecx: bits.leaf1Ecx, extEdx: bits.extEdx, leaf7Ebx: bits.leaf7Ebx,
  };
  if (gen.vmx === null) return base;
  // The capabilities depend on the model's own CPUID bits (long mode, RDTSCP, ...).
  const caps = capabilitiesFor(gen, base);
  return { ...base, vmx: (cpu) => new VmxUnit(cpu, caps) };
}

/** The CPU model of the generation called `name` (throws, listing the names, if unknown). */
export function cpuModelForName(name: string, opts: CpuModelOptions = {}): CpuModel {
  return cpuModelFor(generation(name), opts);
}
