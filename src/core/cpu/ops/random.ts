// RDRAND (0F C7 /6) and RDSEED (0F C7 /7), register forms (SDM Vol. 2B RDRAND, RDSEED; Vol. 1
// §7.3.17): a random value in the destination, CF = 1 (a value is always available here), OF,
// SF, ZF, AF and PF cleared. #UD without CPUID.1:ECX.RDRAND[30] / CPUID.(7,0):EBX.RDSEED[18],
// with LOCK, or with an F2/F3 prefix (those rows do not exist). In VMX non-root operation
// "RDRAND exiting" / "RDSEED exiting" make them exit (reasons 57, 61; SDM Vol. 3C §26.1.3).
//
// The values are not random: a counter-based generator (a Weyl sequence through the
// MurmurHash3 32-bit finalizer) seeded from the APIC ID at the first use after RESET, so that a
// run is reproducible and each CPU of a machine has its own sequence.
import type { Cpu } from '../cpu';
import { OpRow, registerRows } from '../decode-table';
import { Cpuid1Ecx, Cpuid7Ebx } from '../model';
import { ARITH_FLAGS, Flag } from '../regs';
import { rowExit } from '../vmx-hooks';
import { ExitReason } from '../../vmx/exit-reasons';
import { ControlField, ProcBasedCtls2 } from '../../vmx/controls';

export const X_RDRAND = rowExit(ExitReason.Rdrand, ControlField.ProcBased2, ProcBasedCtls2.RdrandExiting);
export const X_RDSEED = rowExit(ExitReason.Rdseed, ControlField.ProcBased2, ProcBasedCtls2.RdseedExiting);

/** The MurmurHash3 32-bit finalizer: a bijection that mixes every input bit into every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** The next 32-bit value of the CPU's generator (allocation-free). */
export function nextRandom32(c: Cpu): number {
  const s = c.randState;
  if (s[1] === 0) { s[0] = fmix32(0x52444e44 ^ Math.imul(c.apicId + 1, 0x9e3779b9)); s[1] = 1; }
  s[0] = (s[0] + 0x9e3779b9) | 0;
  return fmix32(s[0]);
}

function randomInto(c: Cpu, cpuidBit: boolean, x: typeof X_RDRAND): void {
  if (!cpuidBit || c.lock) c.ud();
  const reg = c.modrm & 7;
  if (c.nonRoot) c.vmx!.registerInstructionExit(x, reg, c.os32);
  c.setRegV(reg, nextRandom32(c));
  c.setArith(ARITH_FLAGS, Flag.CF);
}

const rdrand = (c: Cpu): void => randomInto(c, (c.model.leaf1Ecx & Cpuid1Ecx.RDRAND) !== 0, X_RDRAND);
const rdseed = (c: Cpu): void => randomInto(c, ((c.model.leaf7Ebx ?? 0) & Cpuid7Ebx.RDSEED) !== 0, X_RDSEED);

// Group 9 register forms (the group-9 row has decoded ModRM). A 66 prefix is the operand-size
// prefix here (16-bit destination), so the 66 rows are the same instructions.
export const RANDOM_ROWS: readonly OpRow[] = [
  { code: 0x0fc7, reg: 6, regForm: true, name: 'RDRAND Rv', exec: rdrand, exits: [X_RDRAND] },
  { code: 0x0fc7, reg: 6, regForm: true, prefix: 0x66, name: 'RDRAND Rv (66)', exec: rdrand, exits: [X_RDRAND] },
  { code: 0x0fc7, reg: 7, regForm: true, name: 'RDSEED Rv', exec: rdseed, exits: [X_RDSEED] },
  { code: 0x0fc7, reg: 7, regForm: true, prefix: 0x66, name: 'RDSEED Rv (66)', exec: rdseed, exits: [X_RDSEED] },
];

registerRows(RANDOM_ROWS);
