// String instructions of 64-bit mode (SDM Vol. 2 MOVS/CMPS/STOS/LODS/SCAS/INS/OUTS): RSI/RDI/RCX
// (ESI/EDI/ECX with a 67 prefix), REP in chunks so events are taken between them.
import type { Cpu } from '../cpu';
import { Flag, Seg } from '../regs';
import { sub } from './alu64';
import { BYTES, D64, Sz, getR, linOf, setR, setR32 } from './decode64';
import { gq, readSized, sq, writeSized } from './mem64';

export function strReg(c: Cpu, r: number): number { return D64.a64 ? gq(c, r) : c.r32[r] >>> 0; }
export function setStrReg(c: Cpu, r: number, v: number): void { if (D64.a64) sq(c, r, v); else setR32(c, r, v >>> 0 | 0); }
export function stringOp(c: Cpu, op: number): void {
  const s = (op & 1) === 0 ? Sz.B : D64.os;
  const n = BYTES[s], step = (c.flags & Flag.DF) !== 0 ? -n : n;
  const rep = D64.rep;
  const srcSeg = D64.segOvr >= 0 ? D64.segOvr : Seg.DS;
  // A long REP runs in chunks: the instruction restarts with the registers as left, so events
  // are taken between chunks (as ops/string.ts does).
  let iter = 0;
  for (;;) {
    if (rep !== 0 && strReg(c, 1) === 0) return;
    switch (op & 0xfe) {
      case 0xa4: { // MOVS
        const v = readSized(c, linOf(c, srcSeg, strReg(c, 6)), s);
        writeSized(c, linOf(c, Seg.ES, strReg(c, 7)), s, v);
        setStrReg(c, 6, strReg(c, 6) + step); setStrReg(c, 7, strReg(c, 7) + step);
        break;
      }
      case 0xa6: { // CMPS
        const a = readSized(c, linOf(c, srcSeg, strReg(c, 6)), s);
        const b = readSized(c, linOf(c, Seg.ES, strReg(c, 7)), s);
        sub(c, a, b, 0, s);
        setStrReg(c, 6, strReg(c, 6) + step); setStrReg(c, 7, strReg(c, 7) + step);
        break;
      }
      case 0xaa: // STOS
        writeSized(c, linOf(c, Seg.ES, strReg(c, 7)), s, getR(c, 0, s));
        setStrReg(c, 7, strReg(c, 7) + step);
        break;
      case 0xac: // LODS
        setR(c, 0, s, readSized(c, linOf(c, srcSeg, strReg(c, 6)), s));
        setStrReg(c, 6, strReg(c, 6) + step);
        break;
      default: { // SCAS
        const b = readSized(c, linOf(c, Seg.ES, strReg(c, 7)), s);
        sub(c, getR(c, 0, s), b, 0, s);
        setStrReg(c, 7, strReg(c, 7) + step);
      }
    }
    if (rep === 0) return;
    setStrReg(c, 1, strReg(c, 1) - 1);
    // REPE/REPNE end on ZF for CMPS/SCAS.
    if ((op & 0xf6) === 0xa6 && (rep === 0xf3) !== c.zf()) return;
    if (++iter >= 4096 && strReg(c, 1) !== 0) { c.eip = c.instrStart; return; }
  }
}

/** INS/OUTS (SDM Vol. 2A): port DX, ES:RDI / DS:RSI (RDI/RSI by the address size), REP with RCX. */
export function stringIo(c: Cpu, op: number): void {
  const n = (op & 1) === 0 ? 1 : D64.p66 ? 2 : 4;
  const step = (c.flags & Flag.DF) !== 0 ? -n : n, port = c.r16[4];
  const s = n === 1 ? Sz.B : n === 2 ? Sz.W : Sz.D;
  let iter = 0;
  for (;;) {
    if (D64.rep !== 0 && strReg(c, 1) === 0) return;
    if (op <= 0x6d) {
      const lin = linOf(c, Seg.ES, strReg(c, 7));
      const v = c.ioIn(port, n);
      writeSized(c, lin, s, BigInt(v >>> 0));
      setStrReg(c, 7, strReg(c, 7) + step);
    } else {
      const v = readSized(c, linOf(c, D64.segOvr >= 0 ? D64.segOvr : Seg.DS, strReg(c, 6)), s);
      c.ioOut(port, n, Number(v) | 0);
      setStrReg(c, 6, strReg(c, 6) + step);
    }
    if (D64.rep === 0) return;
    setStrReg(c, 1, strReg(c, 1) - 1);
    if (++iter >= 4096 && strReg(c, 1) !== 0) { c.eip = c.instrStart; return; }
  }
}
