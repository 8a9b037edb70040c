// NP 0F 37 GETSEC, the Safer Mode Extensions' one instruction (SDM Vol. 2D ch. 7 "Safer Mode
// Extensions Reference"), on a model with SMX (cpuModelFor's `smx` option; CPUID.1:ECX.SMX) and
// no Intel TXT-capable chipset:
// - #UD while CR4.SMXE = 0, for every leaf (CR4.SMXE needs CPUID.1:ECX.SMX: cr4ValidBits);
// - in VMX non-root operation, with CR4.SMXE = 1, a VM exit with reason 11 whatever the leaf
//   (SDM Vol. 3C §26.1.2 "GETSEC" among the instructions that exit unconditionally; each leaf's
//   operation checks CR4.SMXE, then "in VMX non-root operation: VM exit", then its own rules);
// - GETSEC[CAPABILITIES] (EAX = 0): EAX = the capability vector of index EBX. For EBX = 0
//   (Table "GETSEC Capability Result Encoding (EBX = 0)") bit 0 is "chipset present" and bits
//   2-8 the leaves ENTERACCS, EXITAC, SENTER, SEXIT, PARAMETERS, SMCTRL, WAKEUP; this CPU has no
//   TXT chipset and models no leaf, so the vector is 0; bit 31 (more indexes) is 0, and "indexing
//   EBX to a higher value results in EAX returning zero";
// - every other leaf: "If the bit value at a given bit index is 0, then the GETSEC leaf function
//   corresponding to that index is unsupported and attempted execution results in a #UD"
//   (GETSEC[CAPABILITIES] description), and EAX values past the defined leaves are #UD too.
// No SMX operation (SENTER) is ever entered, so VMXON's "VMX inside SMX" rule never applies.
import type { Cpu } from '../cpu';
import { OpRow, registerRows } from '../decode-table';
import { Cr4 } from '../regs';
import { rowExit } from '../vmx-hooks';
import { ExitReason } from '../../vmx/exit-reasons';

export const X_GETSEC = rowExit(ExitReason.Getsec, undefined, undefined, 'every GETSEC while CR4.SMXE = 1 (with it 0, #UD)');

/** GETSEC leaf numbers (EAX) of SDM Vol. 2D ch. 7. */
export enum GetsecLeaf { Capabilities = 0, Enteraccs = 2, Exitac = 3, Senter = 4, Sexit = 5, Parameters = 6, Smctrl = 7, Wakeup = 8 }

/** GETSEC[CAPABILITIES] EAX for index EBX = 0: bit 0 chipset present (0), leaves 2-8 (none). */
export const GETSEC_CAPABILITIES = 0;

/** GETSEC in every mode (long/xstate64.ts clears bits 63:32 of RAX after it in 64-bit mode). */
export function getsec(c: Cpu): void {
  if ((c.cr4 & Cr4.SMXE) === 0 || c.lock) c.ud();
  if (c.nonRoot) c.vmx!.instructionExit(X_GETSEC, 0);
  if (c.r32[0] !== GetsecLeaf.Capabilities) c.ud(); // no other leaf is reported as supported
  c.r32[0] = c.r32[3] === 0 ? GETSEC_CAPABILITIES : 0;
}

export const GETSEC_ROWS: readonly OpRow[] = [
  { code: 0x0f37, name: 'GETSEC', exec: getsec, exits: [X_GETSEC] },
];

registerRows(GETSEC_ROWS);
