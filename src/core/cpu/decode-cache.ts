// The decoded-instruction cache: per physical code page, one slot per byte offset holding the
// instruction that starts there, decoded once into a small function with its operands bound
// (register numbers, displacement, immediate, length). Executing a cached instruction skips
// fetch, prefix scan, ModRM/SIB decoding and opcode dispatch.
//
// Scope: 32-bit code segments, instructions without prefixes, in the forms that dominate
// integer code (ALU, MOV, LEA, TEST, INC/DEC, PUSH/POP, shifts by immediate, Jcc/JMP/CALL/
// RET, MOVZX/MOVSX). Any other instruction gets a slot that runs the interpreter, so the
// cache never changes semantics: each bound function calls the same primitives (alu, shift,
// segmented reads/writes, push/pop) the opcode rows use.
//
// Coherence (SDM Vol. 3A §11.6, self-modifying code): a page with cached code is marked in
// PhysicalMemory.codePage; the TLB then never grants direct writes to it, so every store to
// the page takes the slow path and is checked against the decoded instructions' byte ranges.
// A store that overlaps one drops the page's cache (data beside code costs a check, not a
// flush). A page whose code is rewritten too often is left to the interpreter.
import type { Cpu } from './cpu';
import { Seg } from './regs';
import { AluOp, alu, dec, divAcc, idivAcc, imulAcc, imulTrunc, inc, mulAcc, neg, shift } from './ops/arith';

export type Compiled = (c: Cpu) => void;

/** Invalidations after which a page is left to the interpreter. */
const MAX_INVALIDATIONS = 64;
const PAGES = 1 << 20;

const interpret: Compiled = (c) => c.stepInterp();

interface CachedPage {
  readonly slots: (Compiled | undefined)[];
  /** Length of the instruction decoded at each offset (0: none). */
  readonly lens: Uint8Array;
}

export class DecodeCache {
  private readonly pages = new Map<number, CachedPage>();
  private readonly invalidations = new Uint8Array(PAGES);
  /** Statistics: instructions decoded into slots, slots left to the interpreter, page drops. */
  compiled = 0;
  interpreted = 0;
  invalidated = 0;

  constructor(private readonly cpu: Cpu) {
    cpu.mem.onCodeWrite = (addr, len) => this.written(addr, len);
  }

  /** The slot array for a physical page, or null when the page is not cached. */
  page(physPage: number): (Compiled | undefined)[] | null {
    if (this.invalidations[physPage] >= MAX_INVALIDATIONS) return null;
    let cp = this.pages.get(physPage);
    if (cp === undefined) {
      cp = { slots: new Array<Compiled | undefined>(4096), lens: new Uint8Array(4096) };
      this.pages.set(physPage, cp);
      this.cpu.mem.codePage[physPage] = 1;
      this.cpu.tlb.dropDirectWrites(physPage);
    }
    return cp.slots;
  }

  /** A store of `len` bytes at physical `addr` hit a code page. */
  private written(addr: number, len: number): void {
    const page = addr >>> 12;
    const cp = this.pages.get(page);
    if (cp === undefined) { this.cpu.mem.codePage[page] = 0; return; }
    const lo = addr & 0xfff, hi = lo + len; // [lo, hi) within or past the page
    for (let o = lo - 14 < 0 ? 0 : lo - 14; o < hi && o < 4096; o++) {
      const n = cp.lens[o];
      if (n !== 0 && o + n > lo) { this.invalidate(page); return; }
    }
  }

  invalidate(physPage: number): void {
    if (this.pages.delete(physPage)) {
      this.invalidated++;
      this.cpu.mem.codePage[physPage] = 0;
      if (this.invalidations[physPage] < 255) this.invalidations[physPage]++;
      this.cpu.invalidateFetch();
    }
  }

  clear(): void {
    for (const p of this.pages.keys()) this.cpu.mem.codePage[p] = 0;
    this.pages.clear();
    this.invalidations.fill(0);
  }

  /** Decodes the instruction at physical address `phys` (EIP `eip`) into a slot function. */
  compile(phys: number, eip: number): Compiled {
    const f = decode(this.cpu.ram8, phys, eip);
    if (f === null) { this.interpreted++; return interpret; }
    this.compiled++;
    const cp = this.pages.get(phys >>> 12);
    if (cp !== undefined) cp.lens[phys & 0xfff] = decodedLength;
    return f;
  }
}

// ---------------------------------------------------------------------------------------
// Decoding (32-bit addressing, no prefixes). Bytes come straight from guest RAM: the caller
// guarantees the 15 bytes from `phys` lie in the same page and inside the CS limit.
// ---------------------------------------------------------------------------------------

/** A decoded ModRM operand. For memory: EA = [base] + [index] << scale + disp in segment. */
interface Ea {
  len: number; // bytes of ModRM + SIB + displacement
  isReg: boolean;
  rm: number; // register number when isReg
  reg: number; // ModRM reg field
  base: number; // -1 when none
  index: number; // -1 when none
  scale: number;
  disp: number;
  seg: number;
}

function decodeEa(m: Uint8Array, p: number): Ea {
  const modrm = m[p];
  const mod = modrm >> 6, rm = modrm & 7, reg = (modrm >> 3) & 7;
  const ea: Ea = { len: 1, isReg: mod === 3, rm, reg, base: -1, index: -1, scale: 0, disp: 0, seg: Seg.DS };
  if (mod === 3) return ea;
  let q = p + 1;
  if (rm === 4) {
    const sib = m[q++];
    const base = sib & 7, idx = (sib >> 3) & 7;
    ea.scale = sib >> 6;
    if (idx !== 4) ea.index = idx;
    if (base === 5 && mod === 0) { ea.disp = rd32(m, q); q += 4; }
    else { ea.base = base; if (base === 4 || base === 5) ea.seg = Seg.SS; }
  } else if (rm === 5 && mod === 0) {
    ea.disp = rd32(m, q); q += 4;
  } else {
    ea.base = rm;
    if (rm === 5) ea.seg = Seg.SS;
  }
  if (mod === 1) { ea.disp = (ea.disp + ((m[q] << 24) >> 24)) | 0; q += 1; }
  else if (mod === 2) { ea.disp = (ea.disp + rd32(m, q)) | 0; q += 4; }
  ea.len = q - p;
  return ea;
}

function rd32(m: Uint8Array, p: number): number { return m[p] | (m[p + 1] << 8) | (m[p + 2] << 16) | (m[p + 3] << 24); }

/** Returns a function computing the effective address offset of a memory operand. */
function eaFn(ea: Ea): (c: Cpu) => number {
  const { base, index, scale, disp } = ea;
  if (base >= 0 && index >= 0) return (c) => (c.r32[base] + (c.r32[index] << scale) + disp) >>> 0;
  if (base >= 0) return disp === 0 ? (c) => c.r32[base] >>> 0 : (c) => (c.r32[base] + disp) >>> 0;
  if (index >= 0) return (c) => ((c.r32[index] << scale) + disp) >>> 0;
  const abs = disp >>> 0;
  return () => abs;
}

/** A near jump inside a 32-bit code segment (SDM JMP: #GP(0) beyond the CS limit). */
function jump(c: Cpu, target: number): void {
  target >>>= 0;
  if (target > c.segLimit[Seg.CS]) c.gp(0);
  c.eip = target;
}

/** Length of the instruction the last successful `decode` bound. */
let decodedLength = 0;

function decode(m: Uint8Array, p: number, eip: number): Compiled | null {
  const f = decodeAt(m, p, eip);
  if (f !== null) decodedLength = lengthOf(m, p);
  return f;
}

/** Length of a prefix-less 32-bit instruction of a form `decodeAt` binds. */
function lengthOf(m: Uint8Array, p: number): number {
  const op = m[p];
  if (op === 0x0f) {
    const op2 = m[p + 1];
    return op2 >= 0x80 && op2 <= 0x8f ? 6 : 2 + decodeEa(m, p + 2).len;
  }
  if ((op < 0x40 && (op & 7) === 5) || op === 0xa9 || (op >= 0xb8 && op <= 0xbf) || op === 0xe8 || op === 0xe9 || op === 0xa1 || op === 0xa3) return 5;
  if (op === 0x3c || (op >= 0xb0 && op <= 0xb7) || (op >= 0x70 && op <= 0x7f) || op === 0xeb) return 2;
  if ((op >= 0x40 && op <= 0x5f) || op === 0xc3 || op === 0x99) return 1;
  const ea = 1 + decodeEa(m, p + 1).len;
  if (op === 0x81 || op === 0xc7 || op === 0x69) return ea + 4;
  if (op === 0x83 || op === 0xc1 || op === 0x80 || op === 0xc6 || op === 0x6b) return ea + 1;
  return ea;
}

function decodeAt(m: Uint8Array, p: number, eip: number): Compiled | null {
  const op = m[p];
  // ---- ALU Ev,Gv / Gv,Ev (00-3F, forms 1 and 3), TEST 85, MOV 89/8B, LEA 8D ----
  if ((op < 0x40 && ((op & 7) === 1 || (op & 7) === 3)) || op === 0x85 || op === 0x89 || op === 0x8b || op === 0x8d) {
    const ea = decodeEa(m, p + 1);
    const next = (eip + 1 + ea.len) >>> 0;
    const g = ea.reg;
    if (op === 0x8d) {
      if (ea.isReg) return null;
      const off = eaFn(ea);
      return (c) => { c.eip = next; c.r32[g] = off(c); };
    }
    if (op === 0x89) {
      if (ea.isReg) { const d = ea.rm; return (c) => { c.eip = next; c.r32[d] = c.r32[g]; }; }
      const off = eaFn(ea), seg = ea.seg;
      return (c) => { c.eip = next; c.write32(seg, off(c), c.r32[g]); };
    }
    if (op === 0x8b) {
      if (ea.isReg) { const s = ea.rm; return (c) => { c.eip = next; c.r32[g] = c.r32[s]; }; }
      const off = eaFn(ea), seg = ea.seg;
      return (c) => { c.eip = next; c.r32[g] = c.read32(seg, off(c)); };
    }
    const aluOp = op === 0x85 ? AluOp.And : (op >> 3) & 7;
    const write = op !== 0x85 && aluOp !== AluOp.Cmp;
    const toRm = op === 0x85 || (op & 7) === 1;
    if (ea.isReg) {
      const rm = ea.rm;
      if (toRm) {
        return write ? (c) => { c.eip = next; c.r32[rm] = alu(c, aluOp, c.r32[rm], c.r32[g], 2); }
          : (c) => { c.eip = next; alu(c, aluOp, c.r32[rm], c.r32[g], 2); };
      }
      return write ? (c) => { c.eip = next; c.r32[g] = alu(c, aluOp, c.r32[g], c.r32[rm], 2); }
        : (c) => { c.eip = next; alu(c, aluOp, c.r32[g], c.r32[rm], 2); };
    }
    const off = eaFn(ea), seg = ea.seg;
    if (toRm) {
      return write ? (c) => { c.eip = next; const o = off(c); c.write32(seg, o, alu(c, aluOp, c.read32(seg, o), c.r32[g], 2)); }
        : (c) => { c.eip = next; alu(c, aluOp, c.read32(seg, off(c)), c.r32[g], 2); };
    }
    return write ? (c) => { c.eip = next; c.r32[g] = alu(c, aluOp, c.r32[g], c.read32(seg, off(c)), 2); }
      : (c) => { c.eip = next; alu(c, aluOp, c.r32[g], c.read32(seg, off(c)), 2); };
  }
  // ---- ALU eAX,Iv (05, 0D, ... 3D) and TEST eAX,Iv (A9) ----
  if ((op < 0x40 && (op & 7) === 5) || op === 0xa9) {
    const imm = rd32(m, p + 1), next = (eip + 5) >>> 0;
    const aluOp = op === 0xa9 ? AluOp.And : (op >> 3) & 7;
    if (op === 0xa9 || aluOp === AluOp.Cmp) return (c) => { c.eip = next; alu(c, aluOp, c.r32[0], imm, 2); };
    return (c) => { c.eip = next; c.r32[0] = alu(c, aluOp, c.r32[0], imm, 2); };
  }
  // ---- Group 1 Ev,Iz (81) / Ev,Ib (83), MOV Ev,Iz (C7 /0) ----
  if (op === 0x81 || op === 0x83 || op === 0xc7) {
    const ea = decodeEa(m, p + 1);
    const ip = p + 1 + ea.len;
    const imm = op === 0x83 ? (m[ip] << 24) >> 24 : rd32(m, ip);
    const next = (eip + 1 + ea.len + (op === 0x83 ? 1 : 4)) >>> 0;
    if (op === 0xc7) {
      if (ea.reg !== 0) return null;
      if (ea.isReg) { const d = ea.rm; return (c) => { c.eip = next; c.r32[d] = imm; }; }
      const off = eaFn(ea), seg = ea.seg;
      return (c) => { c.eip = next; c.write32(seg, off(c), imm); };
    }
    const aluOp = ea.reg, write = aluOp !== AluOp.Cmp;
    if (ea.isReg) {
      const rm = ea.rm;
      return write ? (c) => { c.eip = next; c.r32[rm] = alu(c, aluOp, c.r32[rm], imm, 2); }
        : (c) => { c.eip = next; alu(c, aluOp, c.r32[rm], imm, 2); };
    }
    const off = eaFn(ea), seg = ea.seg;
    return write ? (c) => { c.eip = next; const o = off(c); c.write32(seg, o, alu(c, aluOp, c.read32(seg, o), imm, 2)); }
      : (c) => { c.eip = next; alu(c, aluOp, c.read32(seg, off(c)), imm, 2); };
  }
  // ---- Shifts/rotates Ev,Ib (C1) and Ev,1 (D1) ----
  if (op === 0xc1 || op === 0xd1) {
    const ea = decodeEa(m, p + 1);
    const count = op === 0xd1 ? 1 : m[p + 1 + ea.len];
    const next = (eip + 1 + ea.len + (op === 0xc1 ? 1 : 0)) >>> 0;
    const sop = ea.reg;
    if (ea.isReg) { const rm = ea.rm; return (c) => { c.eip = next; c.r32[rm] = shift(c, sop, c.r32[rm], count, 2); }; }
    const off = eaFn(ea), seg = ea.seg;
    return (c) => { c.eip = next; const o = off(c); c.write32(seg, o, shift(c, sop, c.read32(seg, o), count, 2)); };
  }
  // ---- MOV r32,imm32 / INC / DEC / PUSH / POP register ----
  if (op >= 0xb8 && op <= 0xbf) { const r = op & 7, imm = rd32(m, p + 1), next = (eip + 5) >>> 0; return (c) => { c.eip = next; c.r32[r] = imm; }; }
  if (op >= 0x40 && op <= 0x47) { const r = op & 7, next = (eip + 1) >>> 0; return (c) => { c.eip = next; c.r32[r] = inc(c, c.r32[r], 2); }; }
  if (op >= 0x48 && op <= 0x4f) { const r = op & 7, next = (eip + 1) >>> 0; return (c) => { c.eip = next; c.r32[r] = dec(c, c.r32[r], 2); }; }
  if (op >= 0x50 && op <= 0x57) { const r = op & 7, next = (eip + 1) >>> 0; return (c) => { c.eip = next; c.push32(c.r32[r]); }; }
  if (op >= 0x58 && op <= 0x5f) { const r = op & 7, next = (eip + 1) >>> 0; return (c) => { c.eip = next; const v = c.pop32(); c.r32[r] = v; }; }
  // ---- 8-bit ALU Eb,Gb / Gb,Eb (00-3A forms 0 and 2), TEST Eb,Gb (84) ----
  if ((op < 0x40 && ((op & 7) === 0 || (op & 7) === 2)) || op === 0x84) {
    const ea = decodeEa(m, p + 1);
    const next = (eip + 1 + ea.len) >>> 0, g = ea.reg, gi = ((g & 3) << 2) | (g >> 2);
    const aluOp = op === 0x84 ? AluOp.And : (op >> 3) & 7;
    const write = op !== 0x84 && aluOp !== AluOp.Cmp;
    const toRm = op === 0x84 || (op & 7) === 0;
    if (ea.isReg) {
      const ri = ((ea.rm & 3) << 2) | (ea.rm >> 2);
      const di = toRm ? ri : gi, si = toRm ? gi : ri;
      return write ? (c) => { c.eip = next; c.r8[di] = alu(c, aluOp, c.r8[di], c.r8[si], 0); }
        : (c) => { c.eip = next; alu(c, aluOp, c.r8[di], c.r8[si], 0); };
    }
    const off = eaFn(ea), seg = ea.seg;
    if (toRm) {
      return write ? (c) => { c.eip = next; const o = off(c); c.write8(seg, o, alu(c, aluOp, c.read8(seg, o), c.r8[gi], 0)); }
        : (c) => { c.eip = next; alu(c, aluOp, c.read8(seg, off(c)), c.r8[gi], 0); };
    }
    return write ? (c) => { c.eip = next; c.r8[gi] = alu(c, aluOp, c.r8[gi], c.read8(seg, off(c)), 0); }
      : (c) => { c.eip = next; alu(c, aluOp, c.r8[gi], c.read8(seg, off(c)), 0); };
  }
  // ---- Group 1 Eb,Ib (80) and MOV Eb,Ib (C6 /0) ----
  if (op === 0x80 || op === 0xc6) {
    const ea = decodeEa(m, p + 1);
    const imm = m[p + 1 + ea.len], next = (eip + 2 + ea.len) >>> 0;
    if (op === 0xc6 && ea.reg !== 0) return null;
    const aluOp = ea.reg, write = aluOp !== AluOp.Cmp;
    if (ea.isReg) {
      const ri = ((ea.rm & 3) << 2) | (ea.rm >> 2);
      if (op === 0xc6) return (c) => { c.eip = next; c.r8[ri] = imm; };
      return write ? (c) => { c.eip = next; c.r8[ri] = alu(c, aluOp, c.r8[ri], imm, 0); } : (c) => { c.eip = next; alu(c, aluOp, c.r8[ri], imm, 0); };
    }
    const off = eaFn(ea), seg = ea.seg;
    if (op === 0xc6) return (c) => { c.eip = next; c.write8(seg, off(c), imm); };
    return write ? (c) => { c.eip = next; const o = off(c); c.write8(seg, o, alu(c, aluOp, c.read8(seg, o), imm, 0)); }
      : (c) => { c.eip = next; alu(c, aluOp, c.read8(seg, off(c)), imm, 0); };
  }
  // ---- Group 3 Ev (F7): NOT, NEG, MUL, IMUL, DIV, IDIV (TEST Ev,Iz has an immediate) ----
  if (op === 0xf7) {
    const ea = decodeEa(m, p + 1);
    const sub = ea.reg, next = (eip + 1 + ea.len) >>> 0;
    if (sub < 2) return null;
    const read = ea.isReg ? ((rm: number) => (c: Cpu) => c.r32[rm])(ea.rm) : ((o: (c: Cpu) => number, seg: number) => (c: Cpu) => c.read32(seg, o(c)))(eaFn(ea), ea.seg);
    if (sub >= 4) {
      const f = sub === 4 ? mulAcc : sub === 5 ? imulAcc : sub === 6 ? divAcc : idivAcc;
      return (c) => { c.eip = next; f(c, read(c), 2); };
    }
    if (ea.isReg) {
      const rm = ea.rm;
      return sub === 2 ? (c) => { c.eip = next; c.r32[rm] = ~c.r32[rm]; } : (c) => { c.eip = next; c.r32[rm] = neg(c, c.r32[rm], 2); };
    }
    const off = eaFn(ea), seg = ea.seg;
    return sub === 2 ? (c) => { c.eip = next; const o = off(c); c.write32(seg, o, ~c.read32(seg, o)); }
      : (c) => { c.eip = next; const o = off(c); c.write32(seg, o, neg(c, c.read32(seg, o), 2)); };
  }
  // ---- IMUL Gv,Ev,Iz (69) / Gv,Ev,Ib (6B) ----
  if (op === 0x69 || op === 0x6b) {
    const ea = decodeEa(m, p + 1);
    const ip = p + 1 + ea.len;
    const imm = op === 0x6b ? (m[ip] << 24) >> 24 : rd32(m, ip);
    const next = (eip + 1 + ea.len + (op === 0x6b ? 1 : 4)) >>> 0, g = ea.reg;
    if (ea.isReg) { const rm = ea.rm; return (c) => { c.eip = next; c.r32[g] = imulTrunc(c, c.r32[rm], imm, 2); }; }
    const off = eaFn(ea), seg = ea.seg;
    return (c) => { c.eip = next; c.r32[g] = imulTrunc(c, c.read32(seg, off(c)), imm, 2); };
  }
  // ---- CDQ (99), MOV eAX,moffs32 (A1) / moffs32,eAX (A3) ----
  if (op === 0x99) { const next = (eip + 1) >>> 0; return (c) => { c.eip = next; c.r32[2] = c.r32[0] >> 31; }; }
  if (op === 0xa1 || op === 0xa3) {
    const off = rd32(m, p + 1) >>> 0, next = (eip + 5) >>> 0;
    return op === 0xa1 ? (c) => { c.eip = next; c.r32[0] = c.read32(Seg.DS, off); } : (c) => { c.eip = next; c.write32(Seg.DS, off, c.r32[0]); };
  }
  // ---- 8-bit forms: MOV Eb,Gb / Gb,Eb (88/8A), CMP AL,Ib (3C), MOV r8,Ib (B0-B7) ----
  if (op === 0x88 || op === 0x8a) {
    const ea = decodeEa(m, p + 1);
    const next = (eip + 1 + ea.len) >>> 0, g = ea.reg;
    const gi = ((g & 3) << 2) | (g >> 2);
    if (ea.isReg) {
      const ri = ((ea.rm & 3) << 2) | (ea.rm >> 2);
      return op === 0x88 ? (c) => { c.eip = next; c.r8[ri] = c.r8[gi]; } : (c) => { c.eip = next; c.r8[gi] = c.r8[ri]; };
    }
    const off = eaFn(ea), seg = ea.seg;
    return op === 0x88 ? (c) => { c.eip = next; c.write8(seg, off(c), c.r8[gi]); } : (c) => { c.eip = next; c.r8[gi] = c.read8(seg, off(c)); };
  }
  if (op === 0x3c) { const imm = m[p + 1], next = (eip + 2) >>> 0; return (c) => { c.eip = next; alu(c, AluOp.Cmp, c.r8[0], imm, 0); }; }
  if (op >= 0xb0 && op <= 0xb7) {
    const r = op & 7, ri = ((r & 3) << 2) | (r >> 2), imm = m[p + 1], next = (eip + 2) >>> 0;
    return (c) => { c.eip = next; c.r8[ri] = imm; };
  }
  // ---- Control transfer ----
  if (op >= 0x70 && op <= 0x7f) {
    const cc = op & 15, next = (eip + 2) >>> 0, target = (next + ((m[p + 1] << 24) >> 24)) >>> 0;
    return (c) => { if (c.cond(cc)) jump(c, target); else c.eip = next; };
  }
  if (op === 0xeb) { const target = (eip + 2 + ((m[p + 1] << 24) >> 24)) >>> 0; return (c) => jump(c, target); }
  if (op === 0xe9) { const target = (eip + 5 + rd32(m, p + 1)) >>> 0; return (c) => jump(c, target); }
  if (op === 0xe8) {
    const next = (eip + 5) >>> 0, target = (next + rd32(m, p + 1)) >>> 0;
    return (c) => {
      if (target > c.segLimit[Seg.CS]) c.gp(0);
      c.eip = next; c.push32(next); c.eip = target;
    };
  }
  if (op === 0xc3) {
    return (c) => {
      const t = c.peek32(0) >>> 0;
      if (t > c.segLimit[Seg.CS]) c.gp(0);
      c.sp = c.sp + 4;
      c.eip = t;
    };
  }
  if (op === 0x0f) {
    const op2 = m[p + 1];
    if (op2 >= 0x80 && op2 <= 0x8f) {
      const cc = op2 & 15, next = (eip + 6) >>> 0, target = (next + rd32(m, p + 2)) >>> 0;
      return (c) => { if (c.cond(cc)) jump(c, target); else c.eip = next; };
    }
    if (op2 === 0xaf) {
      const ea = decodeEa(m, p + 2);
      const next = (eip + 2 + ea.len) >>> 0, g = ea.reg;
      if (ea.isReg) { const rm = ea.rm; return (c) => { c.eip = next; c.r32[g] = imulTrunc(c, c.r32[g], c.r32[rm], 2); }; }
      const off = eaFn(ea), seg = ea.seg;
      return (c) => { c.eip = next; c.r32[g] = imulTrunc(c, c.r32[g], c.read32(seg, off(c)), 2); };
    }
    if (op2 === 0xb6 || op2 === 0xb7 || op2 === 0xbe || op2 === 0xbf) {
      const ea = decodeEa(m, p + 2);
      const next = (eip + 2 + ea.len) >>> 0, g = ea.reg;
      const byte = (op2 & 1) === 0, signed = op2 >= 0xbe;
      if (ea.isReg) {
        if (byte) {
          const ri = ((ea.rm & 3) << 2) | (ea.rm >> 2);
          return signed ? (c) => { c.eip = next; c.r32[g] = (c.r8[ri] << 24) >> 24; } : (c) => { c.eip = next; c.r32[g] = c.r8[ri]; };
        }
        const ri = ea.rm << 1;
        return signed ? (c) => { c.eip = next; c.r32[g] = (c.r16[ri] << 16) >> 16; } : (c) => { c.eip = next; c.r32[g] = c.r16[ri]; };
      }
      const off = eaFn(ea), seg = ea.seg;
      if (byte) return signed ? (c) => { c.eip = next; c.r32[g] = (c.read8(seg, off(c)) << 24) >> 24; } : (c) => { c.eip = next; c.r32[g] = c.read8(seg, off(c)); };
      return signed ? (c) => { c.eip = next; c.r32[g] = (c.read16(seg, off(c)) << 16) >> 16; } : (c) => { c.eip = next; c.r32[g] = c.read16(seg, off(c)); };
    }
  }
  return null;
}
