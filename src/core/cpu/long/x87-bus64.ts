// The X87Bus of 64-bit mode (fpu/fpu.ts): the x87 instructions, FXSAVE and XSAVE reach their
// memory operand through it, with 64-bit linear addresses in place of segment offsets (mem64.ts
// does the accesses: the TLB paths below 4 GB, Tlb.translate64 above).
import type { Cpu } from '../cpu';
import type { X87Bus } from '../fpu/fpu';
import { canonicalFault, probeWrite, read16, read32, read8, write16, write32, write8 } from './mem64';
import { CANON } from './long-mode';

/** The CPU LINEAR_BUS works on: set before each use (one instruction at a time per thread, as
 *  D64). */
let busCpu: Cpu | null = null;

function cpuOf(): Cpu {
  if (busCpu === null) throw new Error('fpu64: linear bus used without a CPU');
  return busCpu;
}
function canon(c: Cpu, lin: number, seg: number): void { if (!(lin >= -CANON && lin < CANON)) canonicalFault(c, seg); }

/** x87/FXSAVE/XSAVE memory accesses by 64-bit linear address; `seg` picks #SS(0) or #GP(0) for a
 *  non-canonical address (SDM Vol. 3A §6.15). */
export const LINEAR_BUS: X87Bus = {
  read8(seg, lin) { const c = cpuOf(); canon(c, lin, seg); return read8(c, lin); },
  read16(seg, lin) { const c = cpuOf(); canon(c, lin + 1, seg); return read16(c, lin); },
  read32(seg, lin) { const c = cpuOf(); canon(c, lin + 3, seg); return read32(c, lin); },
  write8(seg, lin, v) { const c = cpuOf(); canon(c, lin, seg); write8(c, lin, v); },
  write16(seg, lin, v) { const c = cpuOf(); canon(c, lin + 1, seg); write16(c, lin, v); },
  write32(seg, lin, v) { const c = cpuOf(); canon(c, lin + 3, seg); write32(c, lin, v); },
  /** Every page of a multi-part store is checked before the first part is written. */
  checkWrite(seg, lin, len) {
    const c = cpuOf();
    canon(c, lin, seg); canon(c, lin + len - 1, seg);
    for (let p = lin - (lin & 0xfff); p <= lin + len - 1; p += 0x1000) probeWrite(c, Math.max(p, lin));
  },
  checkRead(seg, lin, len) { const c = cpuOf(); canon(c, lin, seg); canon(c, lin + len - 1, seg); },
};

/** LINEAR_BUS bound to `c`. */
export function linearBus(c: Cpu): X87Bus { busCpu = c; return LINEAR_BUS; }

