// The decoded-instruction cache: per physical code page, one slot per byte offset holding the
// instruction that starts there, decoded once into an `Insn` record (form, register numbers,
// effective-address parts, immediate, length and branch displacement; nothing that depends on
// the linear address it was reached through). `runCached` runs records with one loop and a
// switch on their form: no fetch, prefix scan, ModRM/SIB decoding or megamorphic handler call. (A first
// version bound one closure per instruction; calling those closures cost as much as the
// dispatch it saved: 51.6 vs 68.7 MIPS for v86's interpreter on the bench.)
//
// Scope: 32-bit code segments, instructions without prefixes, in the forms that dominate
// integer code (ALU, MOV, LEA, TEST, INC/DEC, PUSH/POP, shifts by immediate, Jcc/JMP/CALL/
// RET, MOVZX/MOVSX, MUL/DIV, IMUL, CDQ). Any other instruction gets an `Interp` record that
// hands it to the interpreter, so the cache never changes semantics: each form calls the same
// primitives (alu, shift, segmented reads/writes, push/pop) the opcode rows use.
//
// Coherence (SDM Vol. 3A §11.6, self-modifying code): a page with cached code is marked in
// PhysicalMemory.codePage; the TLB then never grants direct writes to it, so every store to
// the page takes the slow path and is checked against the decoded instructions' byte ranges.
// A store that overlaps one drops the page's cache (data beside code costs a check, not a
// flush). A page whose code is rewritten too often is left to the interpreter.
//
// Several CPUs on one memory (SMP) share one cache: the records depend on the bytes only, and
// one cache keeps `codePage` and every CPU's direct-write TLB permissions consistent (each CPU's
// TLB loses direct writes to a page as it becomes code; each CPU's fetch window is dropped with
// the page).
import { Cpu } from './cpu';
import { Flag, Seg } from './regs';
import { AluOp, alu, dec, divAcc, idivAcc, imulAcc, imulTrunc, inc, mulAcc, neg, shift } from './ops/arith';
import { Form, Insn } from './insn';

/** Invalidations after which a page is left to the interpreter. */
const MAX_INVALIDATIONS = 64;
const PAGES = 1 << 20;

const INTERP = new Insn();

interface CachedPage {
  readonly slots: (Insn | undefined)[];
  /** Length of the instruction decoded at each offset (0: none). */
  readonly lens: Uint8Array;
}

export class DecodeCache {
  private readonly pages = new Map<number, CachedPage>();
  /** The CPUs running from this cache (the first one created it). */
  private readonly cpus: Cpu[];
  private readonly invalidations = new Uint8Array(PAGES);
  /** Statistics: instructions decoded into slots, slots left to the interpreter, page drops. */
  compiled = 0;
  interpreted = 0;
  invalidated = 0;

  constructor(private readonly cpu: Cpu) {
    this.cpus = [cpu];
    cpu.mem.onCodeWrite = (addr, len) => this.written(addr, len);
  }

  /** Another CPU on the same memory runs from this cache too (SMP). */
  attach(other: Cpu): void {
    if (other.mem !== this.cpu.mem) throw new Error('decode cache: a CPU on another memory cannot share it');
    this.cpus.push(other);
  }

  /** The slot array for a physical page, or null when the page is not cached. */
  page(physPage: number): (Insn | undefined)[] | null {
    if (this.invalidations[physPage] >= MAX_INVALIDATIONS) return null;
    let cp = this.pages.get(physPage);
    if (cp === undefined) {
      cp = { slots: new Array<Insn | undefined>(4096), lens: new Uint8Array(4096) };
      this.pages.set(physPage, cp);
      this.cpu.mem.codePage[physPage] = 1;
      for (const c of this.cpus) c.tlb.dropDirectWrites(physPage);
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
      for (const c of this.cpus) c.invalidateFetch();
    }
  }

  clear(): void {
    for (const p of this.pages.keys()) this.cpu.mem.codePage[p] = 0;
    this.pages.clear();
    this.invalidations.fill(0);
    for (const c of this.cpus) c.invalidateFetch(); // no CPU keeps a dropped page's slots
  }

  /** Decodes the instruction at physical address `phys` into a slot record. */
  compile(phys: number): Insn {
    const f = decode(this.cpu.ram8, phys);
    if (f === null) { this.interpreted++; return INTERP; }
    this.compiled++;
    const cp = this.pages.get(phys >>> 12);
    if (cp !== undefined) cp.lens[phys & 0xfff] = f.len;
    return f;
  }
}

// ---------------------------------------------------------------------------------------
// Decoding (32-bit addressing, no prefixes). Bytes come straight from guest RAM: the caller
// guarantees the 15 bytes from `phys` lie in the same page and inside the CS limit.
// ---------------------------------------------------------------------------------------

function rd32(m: Uint8Array, p: number): number { return m[p] | (m[p + 1] << 8) | (m[p + 2] << 16) | (m[p + 3] << 24); }

/** x86 byte-register number -> index into Cpu.r8 (AL CL DL BL AH CH DH BH). */
function r8i(r: number): number { return ((r & 3) << 2) | (r >> 2); }

/** Decodes ModRM (+SIB, displacement) at `p` into `d`; returns its length. Sets d.a to the reg
 *  field; for a register operand sets d.b to the r/m register and returns with d.base = -2. */
function modrm(m: Uint8Array, p: number, d: Insn): number {
  const v = m[p];
  const mod = v >> 6, rm = v & 7;
  d.a = (v >> 3) & 7;
  if (mod === 3) { d.b = rm; d.base = -2; return 1; }
  let q = p + 1;
  d.base = -1; d.index = -1; d.scale = 0; d.disp = 0; d.seg = Seg.DS;
  if (rm === 4) {
    const sib = m[q++];
    const base = sib & 7, idx = (sib >> 3) & 7;
    d.scale = sib >> 6;
    if (idx !== 4) d.index = idx;
    if (base === 5 && mod === 0) { d.disp = rd32(m, q); q += 4; }
    else { d.base = base; if (base === 4 || base === 5) d.seg = Seg.SS; }
  } else if (rm === 5 && mod === 0) {
    d.disp = rd32(m, q); q += 4;
  } else {
    d.base = rm;
    if (rm === 5) d.seg = Seg.SS;
  }
  if (mod === 1) { d.disp = (d.disp + ((m[q] << 24) >> 24)) | 0; q += 1; }
  else if (mod === 2) { d.disp = (d.disp + rd32(m, q)) | 0; q += 4; }
  return q - p;
}

/** Picks the register, memory or no-write variant of a form. */
function pick(d: Insn, reg: Form, mem: Form): void { d.form = d.base === -2 ? reg : mem; }

function decode(m: Uint8Array, p: number): Insn | null {
  const d = new Insn();
  const len = decodeInto(m, p, d);
  if (len === 0) return null;
  d.len = len;
  return d;
}

/** Fills `d` for the instruction at `p`; returns its length, or 0 when not a cached form. */
function decodeInto(m: Uint8Array, p: number, d: Insn): number {
  const op = m[p];
  // ALU Ev,Gv / Gv,Ev (00-3F forms 1 and 3) and TEST Ev,Gv (85)
  if ((op < 0x40 && ((op & 7) === 1 || (op & 7) === 3)) || op === 0x85) {
    const n = modrm(m, p + 1, d);
    d.op = op === 0x85 ? AluOp.And : (op >> 3) & 7;
    const nw = op === 0x85 || d.op === AluOp.Cmp;
    const toRm = op === 0x85 || (op & 7) === 1;
    if (d.base === -2) {
      // register-register: a = destination side, b = source side
      if (toRm) { const g = d.a; d.a = d.b; d.b = g; }
      d.form = nw ? Form.AluNwRR : Form.AluRR;
    } else if (toRm) { d.b = d.a; d.form = nw ? Form.AluNwMR : Form.AluMR; }
    else d.form = nw ? Form.AluNwRM : Form.AluRM;
    return 1 + n;
  }
  // 8-bit ALU Eb,Gb / Gb,Eb (00-3A forms 0 and 2) and TEST Eb,Gb (84)
  if ((op < 0x40 && ((op & 7) === 0 || (op & 7) === 2)) || op === 0x84) {
    const n = modrm(m, p + 1, d);
    d.op = op === 0x84 ? AluOp.And : (op >> 3) & 7;
    const nw = op === 0x84 || d.op === AluOp.Cmp;
    const toRm = op === 0x84 || (op & 7) === 0;
    const g = r8i(d.a);
    if (d.base === -2) {
      const r = r8i(d.b);
      d.a = toRm ? r : g; d.b = toRm ? g : r;
      d.form = nw ? Form.AluNwBRR : Form.AluBRR;
    } else if (toRm) { d.b = g; d.form = nw ? Form.AluNwBMR : Form.AluBMR; }
    else { d.a = g; d.form = nw ? Form.AluNwBRM : Form.AluBRM; }
    return 1 + n;
  }
  // ALU eAX,Iz (05..3D), TEST eAX,Iz (A9), CMP AL,Ib (3C)
  if ((op < 0x40 && (op & 7) === 5) || op === 0xa9) {
    d.op = op === 0xa9 ? AluOp.And : (op >> 3) & 7;
    d.a = 0; d.imm = rd32(m, p + 1);
    d.form = op === 0xa9 || d.op === AluOp.Cmp ? Form.AluNwRI : Form.AluRI;
    return 5;
  }
  if (op === 0x3c) { d.op = AluOp.Cmp; d.a = 0; d.imm = m[p + 1]; d.form = Form.AluNwBRI; return 2; }
  // MOV Ev,Gv / Gv,Ev / LEA
  if (op === 0x89 || op === 0x8b || op === 0x8d) {
    const n = modrm(m, p + 1, d);
    if (op === 0x8d) { if (d.base === -2) return 0; d.form = Form.Lea; return 1 + n; }
    if (d.base === -2) {
      if (op === 0x89) { const g = d.a; d.a = d.b; d.b = g; }
      d.form = Form.MovRR;
    } else d.form = op === 0x89 ? Form.MovMR : Form.MovRM;
    return 1 + n;
  }
  // MOV Eb,Gb / Gb,Eb
  if (op === 0x88 || op === 0x8a) {
    const n = modrm(m, p + 1, d);
    const g = r8i(d.a);
    if (d.base === -2) {
      const r = r8i(d.b);
      d.a = op === 0x88 ? r : g; d.b = op === 0x88 ? g : r;
      d.form = Form.MovBRR;
    } else { d.a = g; d.form = op === 0x88 ? Form.MovBMR : Form.MovBRM; }
    return 1 + n;
  }
  // Group 1 Ev,Iz (81) / Ev,Ib (83), MOV Ev,Iz (C7 /0)
  if (op === 0x81 || op === 0x83 || op === 0xc7) {
    const n = modrm(m, p + 1, d);
    const ip = p + 1 + n;
    d.imm = op === 0x83 ? (m[ip] << 24) >> 24 : rd32(m, ip);
    if (op === 0xc7) {
      if (d.a !== 0) return 0;
      if (d.base === -2) d.a = d.b;
      pick(d, Form.MovRI, Form.MovMI);
    } else {
      d.op = d.a;
      const nw = d.op === AluOp.Cmp;
      if (d.base === -2) { d.a = d.b; d.form = nw ? Form.AluNwRI : Form.AluRI; }
      else d.form = nw ? Form.AluNwMI : Form.AluMI;
    }
    return 1 + n + (op === 0x83 ? 1 : 4);
  }
  // Group 1 Eb,Ib (80), MOV Eb,Ib (C6 /0)
  if (op === 0x80 || op === 0xc6) {
    const n = modrm(m, p + 1, d);
    d.imm = m[p + 1 + n];
    if (op === 0xc6) {
      if (d.a !== 0) return 0;
      if (d.base === -2) d.a = r8i(d.b);
      pick(d, Form.MovBRI, Form.MovBMI);
    } else {
      d.op = d.a;
      const nw = d.op === AluOp.Cmp;
      if (d.base === -2) { d.a = r8i(d.b); d.form = nw ? Form.AluNwBRI : Form.AluBRI; }
      else d.form = nw ? Form.AluNwBMI : Form.AluBMI;
    }
    return 2 + n;
  }
  // Shifts/rotates Ev,Ib (C1), Ev,1 (D1)
  if (op === 0xc1 || op === 0xd1) {
    const n = modrm(m, p + 1, d);
    d.op = d.a;
    d.imm = op === 0xd1 ? 1 : m[p + 1 + n];
    if (d.base === -2) d.a = d.b;
    pick(d, Form.ShiftR, Form.ShiftM);
    return 1 + n + (op === 0xc1 ? 1 : 0);
  }
  // Group 3 Ev (F7 /2../7)
  if (op === 0xf7) {
    const n = modrm(m, p + 1, d);
    d.op = d.a;
    if (d.op < 2) return 0; // TEST Ev,Iz: interpreted
    if (d.base === -2) d.a = d.b;
    if (d.op === 2) pick(d, Form.NotR, Form.NotM);
    else if (d.op === 3) pick(d, Form.NegR, Form.NegM);
    else pick(d, Form.MulDivR, Form.MulDivM);
    return 1 + n;
  }
  // IMUL Gv,Ev,Iz / Ib
  if (op === 0x69 || op === 0x6b) {
    const n = modrm(m, p + 1, d);
    const ip = p + 1 + n;
    d.imm = op === 0x6b ? (m[ip] << 24) >> 24 : rd32(m, ip);
    pick(d, Form.ImulRRI, Form.ImulRMI);
    return 1 + n + (op === 0x6b ? 1 : 4);
  }
  if (op >= 0xb8 && op <= 0xbf) { d.a = op & 7; d.imm = rd32(m, p + 1); d.form = Form.MovRI; return 5; }
  if (op >= 0xb0 && op <= 0xb7) { d.a = r8i(op & 7); d.imm = m[p + 1]; d.form = Form.MovBRI; return 2; }
  if (op >= 0x40 && op <= 0x47) { d.a = op & 7; d.form = Form.Inc; return 1; }
  if (op >= 0x48 && op <= 0x4f) { d.a = op & 7; d.form = Form.Dec; return 1; }
  if (op >= 0x50 && op <= 0x57) { d.a = op & 7; d.form = Form.Push; return 1; }
  if (op >= 0x58 && op <= 0x5f) { d.a = op & 7; d.form = Form.Pop; return 1; }
  if (op === 0x99) { d.form = Form.Cdq; return 1; }
  if (op === 0xa1 || op === 0xa3) {
    d.a = 0; d.base = -1; d.index = -1; d.scale = 0; d.disp = rd32(m, p + 1); d.seg = Seg.DS;
    d.form = op === 0xa1 ? Form.MovRM : Form.MovMR; d.b = 0;
    return 5;
  }
  if (op >= 0x70 && op <= 0x7f) { d.a = op & 15; d.rel = (m[p + 1] << 24) >> 24; d.form = Form.Jcc; return 2; }
  if (op === 0xeb) { d.rel = (m[p + 1] << 24) >> 24; d.form = Form.Jmp; return 2; }
  if (op === 0xe9) { d.rel = rd32(m, p + 1); d.form = Form.Jmp; return 5; }
  if (op === 0xe8) { d.rel = rd32(m, p + 1); d.form = Form.Call; return 5; }
  if (op === 0xc3) { d.form = Form.Ret; return 1; }
  if (op === 0x0f) {
    const op2 = m[p + 1];
    if (op2 >= 0x80 && op2 <= 0x8f) { d.a = op2 & 15; d.rel = rd32(m, p + 2); d.form = Form.Jcc; return 6; }
    if (op2 === 0xaf) { const n = modrm(m, p + 2, d); pick(d, Form.ImulRR, Form.ImulRM); return 2 + n; }
    if (op2 === 0xb6 || op2 === 0xb7 || op2 === 0xbe || op2 === 0xbf) {
      const n = modrm(m, p + 2, d);
      if (op2 === 0xb6) pick(d, Form.Movzx8R, Form.Movzx8M);
      else if (op2 === 0xbe) pick(d, Form.Movsx8R, Form.Movsx8M);
      else if (op2 === 0xb7) pick(d, Form.Movzx16R, Form.Movzx16M);
      else pick(d, Form.Movsx16R, Form.Movsx16M);
      if (d.base === -2 && (op2 === 0xb6 || op2 === 0xbe)) d.b = r8i(d.b);
      return 2 + n;
    }
  }
  return 0;
}

// ---------------------------------------------------------------------------------------
// Execution
// ---------------------------------------------------------------------------------------

function ea(c: Cpu, d: Insn): number {
  let o = d.disp;
  if (d.base >= 0) o += c.r32[d.base];
  if (d.index >= 0) o += c.r32[d.index] << d.scale;
  return o >>> 0;
}

/** A near jump inside a 32-bit code segment (SDM JMP: #GP(0) beyond the CS limit). */
function jump(c: Cpu, target: number): void {
  if (target > c.segLimit[Seg.CS]) c.gp(0);
  c.eip = target;
}

/**
 * The cached run loop: executes decoded instructions of the page in the fetch window until
 * `end` retired instructions, a pending event, single-step (TF), or an instruction that is not
 * cached (outside the window, or a form left to the interpreter). Missing slots are decoded on
 * the way. EIP is set to the next instruction before executing, as the interpreter has it after
 * fetching; a fault propagates to Cpu.run, which restores EIP from instrStart.
 */
function runCached(c: Cpu, end: number): void {
  const r = c.r32;
  while (c.icount < end) {
    const fc = c.fetchCache;
    const eip = c.eip;
    if (fc === null || eip < c.fetchLo || eip + 14 > c.fetchHi) return;
    const phys = eip + c.fetchDelta;
    let d = fc[phys & 0xfff];
    if (d === undefined) d = fc[phys & 0xfff] = c.dcache!.compile(phys);
    if (d.form === Form.Interp) return;
    c.instrStart = eip;
    // Next EIP and branch targets are relative to where the instruction runs: the same physical
    // code page can be reached through several linear addresses (before and after paging is
    // turned on, or through aliases), so nothing absolute is cached.
    const next = (eip + d.len) >>> 0;
    c.eip = next;
    switch (d.form) {
      case Form.MovRR: r[d.a] = r[d.b]; break;
      case Form.MovRM: r[d.a] = c.read32(d.seg, ea(c, d)); break;
      case Form.MovMR: c.write32(d.seg, ea(c, d), r[d.a]); break;
      case Form.MovRI: r[d.a] = d.imm; break;
      case Form.MovMI: c.write32(d.seg, ea(c, d), d.imm); break;
      case Form.Lea: r[d.a] = ea(c, d); break;
      case Form.AluRR: r[d.a] = alu(c, d.op, r[d.a], r[d.b], 2); break;
      case Form.AluNwRR: alu(c, d.op, r[d.a], r[d.b], 2); break;
      case Form.AluRM: r[d.a] = alu(c, d.op, r[d.a], c.read32(d.seg, ea(c, d)), 2); break;
      case Form.AluNwRM: alu(c, d.op, r[d.a], c.read32(d.seg, ea(c, d)), 2); break;
      case Form.AluMR: { const o = ea(c, d); c.write32(d.seg, o, alu(c, d.op, c.read32(d.seg, o), r[d.b], 2)); break; }
      case Form.AluNwMR: alu(c, d.op, c.read32(d.seg, ea(c, d)), r[d.b], 2); break;
      case Form.AluRI: r[d.a] = alu(c, d.op, r[d.a], d.imm, 2); break;
      case Form.AluNwRI: alu(c, d.op, r[d.a], d.imm, 2); break;
      case Form.AluMI: { const o = ea(c, d); c.write32(d.seg, o, alu(c, d.op, c.read32(d.seg, o), d.imm, 2)); break; }
      case Form.AluNwMI: alu(c, d.op, c.read32(d.seg, ea(c, d)), d.imm, 2); break;
      case Form.AluBRR: c.r8[d.a] = alu(c, d.op, c.r8[d.a], c.r8[d.b], 0); break;
      case Form.AluNwBRR: alu(c, d.op, c.r8[d.a], c.r8[d.b], 0); break;
      case Form.AluBRM: c.r8[d.a] = alu(c, d.op, c.r8[d.a], c.read8(d.seg, ea(c, d)), 0); break;
      case Form.AluNwBRM: alu(c, d.op, c.r8[d.a], c.read8(d.seg, ea(c, d)), 0); break;
      case Form.AluBMR: { const o = ea(c, d); c.write8(d.seg, o, alu(c, d.op, c.read8(d.seg, o), c.r8[d.b], 0)); break; }
      case Form.AluNwBMR: alu(c, d.op, c.read8(d.seg, ea(c, d)), c.r8[d.b], 0); break;
      case Form.AluBRI: c.r8[d.a] = alu(c, d.op, c.r8[d.a], d.imm, 0); break;
      case Form.AluNwBRI: alu(c, d.op, c.r8[d.a], d.imm, 0); break;
      case Form.AluBMI: { const o = ea(c, d); c.write8(d.seg, o, alu(c, d.op, c.read8(d.seg, o), d.imm, 0)); break; }
      case Form.AluNwBMI: alu(c, d.op, c.read8(d.seg, ea(c, d)), d.imm, 0); break;
      case Form.MovBRR: c.r8[d.a] = c.r8[d.b]; break;
      case Form.MovBRM: c.r8[d.a] = c.read8(d.seg, ea(c, d)); break;
      case Form.MovBMR: c.write8(d.seg, ea(c, d), c.r8[d.a]); break;
      case Form.MovBRI: c.r8[d.a] = d.imm; break;
      case Form.MovBMI: c.write8(d.seg, ea(c, d), d.imm); break;
      case Form.ShiftR: r[d.a] = shift(c, d.op, r[d.a], d.imm, 2); break;
      case Form.ShiftM: { const o = ea(c, d); c.write32(d.seg, o, shift(c, d.op, c.read32(d.seg, o), d.imm, 2)); break; }
      case Form.Inc: r[d.a] = inc(c, r[d.a], 2); break;
      case Form.Dec: r[d.a] = dec(c, r[d.a], 2); break;
      case Form.Push: c.push32(r[d.a]); break;
      case Form.Pop: { const v = c.pop32(); r[d.a] = v; break; }
      case Form.Jcc: if (c.cond(d.a)) jump(c, (next + d.rel) >>> 0); break;
      case Form.Jmp: jump(c, (next + d.rel) >>> 0); break;
      case Form.Call: {
        const t = (next + d.rel) >>> 0;
        if (t > c.segLimit[Seg.CS]) c.gp(0);
        c.push32(next); c.eip = t; break;
      }
      case Form.Ret: {
        const t = c.peek32(0) >>> 0;
        if (t > c.segLimit[Seg.CS]) c.gp(0);
        c.sp = c.sp + 4;
        c.eip = t;
        break;
    }
      case Form.NotR: r[d.a] = ~r[d.a]; break;
      case Form.NotM: { const o = ea(c, d); c.write32(d.seg, o, ~c.read32(d.seg, o)); break; }
      case Form.NegR: r[d.a] = neg(c, r[d.a], 2); break;
      case Form.NegM: { const o = ea(c, d); c.write32(d.seg, o, neg(c, c.read32(d.seg, o), 2)); break; }
      case Form.MulDivR: mulDiv(c, d.op, r[d.a]); break;
      case Form.MulDivM: mulDiv(c, d.op, c.read32(d.seg, ea(c, d))); break;
      case Form.ImulRRI: r[d.a] = imulTrunc(c, r[d.b], d.imm, 2); break;
      case Form.ImulRMI: r[d.a] = imulTrunc(c, c.read32(d.seg, ea(c, d)), d.imm, 2); break;
      case Form.ImulRR: r[d.a] = imulTrunc(c, r[d.a], r[d.b], 2); break;
      case Form.ImulRM: r[d.a] = imulTrunc(c, r[d.a], c.read32(d.seg, ea(c, d)), 2); break;
      case Form.Cdq: r[2] = r[0] >> 31; break;
      case Form.Movzx8R: r[d.a] = c.r8[d.b]; break;
      case Form.Movzx8M: r[d.a] = c.read8(d.seg, ea(c, d)); break;
      case Form.Movsx8R: r[d.a] = (c.r8[d.b] << 24) >> 24; break;
      case Form.Movsx8M: r[d.a] = (c.read8(d.seg, ea(c, d)) << 24) >> 24; break;
      case Form.Movzx16R: r[d.a] = c.r16[d.b << 1]; break;
      case Form.Movzx16M: r[d.a] = c.read16(d.seg, ea(c, d)); break;
      case Form.Movsx16R: r[d.a] = (c.r16[d.b << 1] << 16) >> 16; break;
      case Form.Movsx16M: r[d.a] = (c.read16(d.seg, ea(c, d)) << 16) >> 16; break;
    }
    c.icount++;
    if (c.eventPending || (c.flags & Flag.TF) !== 0) return;
  }
}

Cpu.prototype.runCached = function (this: Cpu, end: number): void { runCached(this, end); };

function mulDiv(c: Cpu, op: number, v: number): void {
  if (op === 4) mulAcc(c, v, 2);
  else if (op === 5) imulAcc(c, v, 2);
  else if (op === 6) divAcc(c, v, 2);
  else idivAcc(c, v, 2);
}
