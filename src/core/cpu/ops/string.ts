// String instructions with REP/REPE/REPNE (SDM Vol. 2 MOVS, CMPS, SCAS, LODS, STOS, INS, OUTS,
// REP prefix). The source is DS:(E)SI (segment override allowed), the destination ES:(E)DI.
// A long REP runs in chunks: after REP_CHUNK iterations EIP is rewound to the instruction so
// interrupts and device time can advance, exactly as an interrupted REP resumes on hardware.
import { Cpu, OpHandler } from '../cpu';
import { OpRow, registerRows } from '../decode-table';
import { rowExit } from '../vmx-hooks';
import { ExitReason } from '../../vmx/exit-reasons';
import { ControlField, ProcBasedCtls } from '../../vmx/controls';
import { Flag, Seg } from '../regs';
import { AluOp, alu } from './arith';

const rows: OpRow[] = [];
const row = (code: number, name: string, exec: OpHandler): void => { rows.push({ code, name, exec }); };
const ioRow = (code: number, name: string, exec: OpHandler): void => { rows.push({ code, name, exec, exits: [X_IO] }); };

// The exit column (SDM Vol. 3C §26.1.3): I/O instructions exit by the I/O bitmaps when "use I/O
// bitmaps" is 1 (any port of the access set, or a wrap past FFFFH), else by "unconditional I/O
// exiting". The IOPL / TSS-bitmap #GP comes first (§26.1.1: Cpu.ioExitCheck).
const X_IO = rowExit(ExitReason.IoInstruction, ControlField.ProcBased, ProcBasedCtls.UnconditionalIoExiting,
  'or, with "use I/O bitmaps", the bitmap A/B bits of the ports accessed');

const REP_CHUNK = 4096;

/** Kinds of string operation. */
enum Str { Movs, Cmps, Stos, Lods, Scas, Ins, Outs }

function strOp(kind: Str, size: number): OpHandler {
  const usesSrc = kind === Str.Movs || kind === Str.Cmps || kind === Str.Lods || kind === Str.Outs;
  const usesDst = kind === Str.Movs || kind === Str.Cmps || kind === Str.Stos || kind === Str.Scas || kind === Str.Ins;
  const conditional = kind === Str.Cmps || kind === Str.Scas;
  return (c: Cpu) => {
    let sz = size;
    if (sz === 2 && !c.os32) sz = 1;
    const step = (c.flags & Flag.DF) !== 0 ? -(1 << sz) : 1 << sz;
    const srcSeg = c.segOvr >= 0 ? c.segOvr : Seg.DS;
    const a32 = c.as32;
    const rep = c.rep;
    // INS/OUTS in VMX non-root operation: the exit comes before any iteration, whatever the
    // count, and before the memory operand's faults (§26.1.1).
    if ((kind === Str.Ins || kind === Str.Outs) && c.nonRoot) c.ioExitCheck(c.r16[4], 1 << sz, kind === Str.Ins, true, rep !== 0, false);
    let n = rep !== 0 ? (a32 ? c.r32[1] >>> 0 : c.r16[2]) : 1;
    if (n === 0) return;
    let iter = 0;
    for (;;) {
      const si = a32 ? c.r32[6] >>> 0 : c.r16[12];
      const di = a32 ? c.r32[7] >>> 0 : c.r16[14];
      let a = 0, b = 0;
      if (kind === Str.Ins || kind === Str.Outs) {
        const port = c.r16[4];
        if (kind === Str.Ins) {
          // Check the destination before the port read so a fault does not lose device data.
          c.checkWrite(Seg.ES, di, 1 << sz);
          const v = c.ioIn(port, 1 << sz);
          writeSz(c, Seg.ES, di, v, sz);
        } else {
          c.ioOut(port, 1 << sz, readSz(c, srcSeg, si, sz));
        }
      } else {
        if (usesSrc) a = readSz(c, srcSeg, si, sz);
        switch (kind) {
          case Str.Movs: writeSz(c, Seg.ES, di, a, sz); break;
          case Str.Cmps: b = readSz(c, Seg.ES, di, sz); alu(c, AluOp.Cmp, a, b, sz); break;
          case Str.Stos: writeSz(c, Seg.ES, di, sz === 0 ? c.r8[0] : sz === 1 ? c.r16[0] : c.r32[0], sz); break;
          case Str.Lods: if (sz === 0) c.r8[0] = a; else if (sz === 1) c.r16[0] = a; else c.r32[0] = a; break;
          case Str.Scas: b = readSz(c, Seg.ES, di, sz); alu(c, AluOp.Cmp, sz === 0 ? c.r8[0] : sz === 1 ? c.r16[0] : c.r32[0], b, sz); break;
        }
      }
      if (usesSrc) { if (a32) c.r32[6] = si + step; else c.r16[12] = si + step; }
      if (usesDst) { if (a32) c.r32[7] = di + step; else c.r16[14] = di + step; }
      if (rep === 0) return;
      n--;
      if (a32) c.r32[1] = n; else c.r16[2] = n;
      if (n === 0) return;
      if (conditional) {
        const z = c.zf();
        if (rep === 0xf3 ? !z : z) return;
      }
      if (++iter >= REP_CHUNK) { c.eip = c.instrStart; return; }
    }
  };
}

function readSz(c: Cpu, seg: number, off: number, sz: number): number {
  return sz === 0 ? c.read8(seg, off) : sz === 1 ? c.read16(seg, off) : c.read32(seg, off);
}
function writeSz(c: Cpu, seg: number, off: number, v: number, sz: number): void {
  if (sz === 0) c.write8(seg, off, v); else if (sz === 1) c.write16(seg, off, v); else c.write32(seg, off, v);
}

row(0xa4, 'MOVSB', strOp(Str.Movs, 0));
row(0xa5, 'MOVSW/D', strOp(Str.Movs, 2));
row(0xa6, 'CMPSB', strOp(Str.Cmps, 0));
row(0xa7, 'CMPSW/D', strOp(Str.Cmps, 2));
row(0xaa, 'STOSB', strOp(Str.Stos, 0));
row(0xab, 'STOSW/D', strOp(Str.Stos, 2));
row(0xac, 'LODSB', strOp(Str.Lods, 0));
row(0xad, 'LODSW/D', strOp(Str.Lods, 2));
row(0xae, 'SCASB', strOp(Str.Scas, 0));
row(0xaf, 'SCASW/D', strOp(Str.Scas, 2));
ioRow(0x6c, 'INSB', strOp(Str.Ins, 0));
ioRow(0x6d, 'INSW/D', strOp(Str.Ins, 2));
ioRow(0x6e, 'OUTSB', strOp(Str.Outs, 0));
ioRow(0x6f, 'OUTSW/D', strOp(Str.Outs, 2));

// ---- IN / OUT (in VMX non-root operation the exit check comes first: Cpu.ioExitCheck) ----
// An exit taken in place leaves the registers as they were (the row returns before writing).
function inPort(c: Cpu, port: number, size: number, imm: boolean, reg: (c: Cpu, v: number) => void): void {
  if (c.nonRoot && c.ioExitTaken(port, size, true, imm)) return;
  reg(c, c.ioIn(port, size));
}
function outPort(c: Cpu, port: number, size: number, v: number, imm: boolean): void {
  if (c.nonRoot && c.ioExitTaken(port, size, false, imm)) return;
  c.ioOut(port, size, v);
}
const toAl = (c: Cpu, v: number): void => { c.r8[0] = v; };
const toEax = (c: Cpu, v: number): void => { c.r32[0] = v; };
const toAx = (c: Cpu, v: number): void => { c.r16[0] = v; };
ioRow(0xe4, 'IN AL,Ib', (c) => { inPort(c, c.fetch8(), 1, true, toAl); });
ioRow(0xe5, 'IN eAX,Ib', (c) => { const p = c.fetch8(); if (c.os32) inPort(c, p, 4, true, toEax); else inPort(c, p, 2, true, toAx); });
ioRow(0xe6, 'OUT Ib,AL', (c) => { outPort(c, c.fetch8(), 1, c.r8[0], true); });
ioRow(0xe7, 'OUT Ib,eAX', (c) => { const p = c.fetch8(); if (c.os32) outPort(c, p, 4, c.r32[0] >>> 0, true); else outPort(c, p, 2, c.r16[0], true); });
ioRow(0xec, 'IN AL,DX', (c) => { inPort(c, c.r16[4], 1, false, toAl); });
ioRow(0xed, 'IN eAX,DX', (c) => { if (c.os32) inPort(c, c.r16[4], 4, false, toEax); else inPort(c, c.r16[4], 2, false, toAx); });
ioRow(0xee, 'OUT DX,AL', (c) => { outPort(c, c.r16[4], 1, c.r8[0], false); });
ioRow(0xef, 'OUT DX,eAX', (c) => { if (c.os32) outPort(c, c.r16[4], 4, c.r32[0] >>> 0, false); else outPort(c, c.r16[4], 2, c.r16[0], false); });

// ---- Multi-byte NOP (0F 1F /0, P6 family) and hint NOPs 0F 19-1E ----
for (let k = 0x19; k <= 0x1f; k++) {
  row(0x0f00 | k, k === 0x1f ? 'NOP Ev' : `NOP Ev (hint 0F ${k.toString(16)})`, (c) => { c.decodeModrm(); });
}

registerRows(rows);
