// Segment-register loads and far control transfers (SDM Vol. 3A ch. 3 segmentation, ch. 5
// protection; Vol. 2 pages for MOV Sreg, JMP, CALL, RET, IRET). Every transfer validates first
// and builds its stack frame with all limit and page checks done before anything is written, so
// a fault leaves registers unchanged (the run loop restarts the instruction).
import type { Cpu } from './cpu';
import { Cr4, Efer, Flag, Reg, Seg, Vector } from './regs';
import {
  Desc, EXT, SysType, fetchDesc, fetchGdtDesc, loadCache, loadNull, loadReal, loadV86, notPresent, selErr,
  setAccessed,
} from './descriptor';
import { TaskSource, taskReturn, taskSwitch } from './tasks';
import { interruptReturn64 } from './long/system64';

export { loadReal, loadV86 };

// Scratch descriptors: target code segment, gate, stack segment, TSS.
const D = new Desc();
const G = new Desc();
/** Stack segment validated by checkInnerStack / checkOuterStack. */
export const S = new Desc();
const T = new Desc();

// ======================================================================================
// Segment register loads
// ======================================================================================

/**
 * Loads ES/SS/DS/FS/GS as MOV Sreg, POP Sreg and LDS/LES/LSS/LFS/LGS do (SDM Vol. 2B, MOV,
 * "Operation": protected-mode checks; Vol. 3A §5.6 privilege rules for data access).
 */
export function loadSegment(c: Cpu, seg: number, sel: number): void {
  sel &= 0xffff;
  if (!c.protectedMode()) { loadReal(c, seg, sel); return; }
  if (c.v86()) { loadV86(c, seg, sel); return; }
  if (seg === Seg.SS) {
    if ((sel & 0xfffc) === 0) c.gp(0);
    fetchDesc(c, sel, D, Vector.GP);
    // SS must be a writable data segment with RPL = DPL = CPL.
    if ((sel & 3) !== c.cpl || !D.writableData || D.dpl !== c.cpl) c.gp(selErr(sel));
    if (!D.present) notPresent(c, sel, true);
  } else if (seg === Seg.CS || seg > Seg.GS) {
    throw new Error(`loadSegment: segment register ${seg} is not loaded this way`);
  } else {
    if ((sel & 0xfffc) === 0) { loadNull(c, seg, sel); return; }
    fetchDesc(c, sel, D, Vector.GP);
    if (!D.isData && !D.readableCode) c.gp(selErr(sel));
    // Data and non-conforming code: DPL >= max(CPL, RPL) (SDM §5.6).
    if (!D.conforming && (D.dpl < c.cpl || D.dpl < (sel & 3))) c.gp(selErr(sel));
    if (!D.present) notPresent(c, sel, false);
  }
  setAccessed(c, D);
  loadCache(c, seg, sel, D);
}

/** Loads CS from a validated code descriptor with RPL forced to the new CPL. */
function loadCs(c: Cpu, sel: number, d: Desc, cpl: number): void {
  setAccessed(c, d);
  c.segSel[Seg.CS] = (sel & 0xfffc) | cpl;
  c.segBase[Seg.CS] = d.base;
  c.segLimit[Seg.CS] = d.limit;
  c.segAttr[Seg.CS] = d.attr;
  if (c.cpl !== cpl) c.setCpl(cpl);
  c.updateSegLimits(Seg.CS);
}

/** CS load in real or virtual-8086 mode. */
function realCs(c: Cpu, sel: number): void {
  if (c.v86()) loadV86(c, Seg.CS, sel); else loadReal(c, Seg.CS, sel);
}

/**
 * After a return to an outer privilege level, ES/DS/FS/GS holding data or non-conforming code
 * with DPL < new CPL become null (SDM Vol. 2B RET / IRET: "FOR each SegReg ... DO").
 */
export function validateDataSegs(c: Cpu): void {
  for (let seg = Seg.ES; seg <= Seg.GS; seg++) {
    if (seg === Seg.CS || seg === Seg.SS) continue;
    const a = c.segAttr[seg];
    if ((a & 0x10000) !== 0) continue;
    const conforming = (a & 0x1c) === 0x1c;
    if (!conforming && ((a >> 5) & 3) < c.cpl) loadNull(c, seg, 0);
  }
}

// ======================================================================================
// Stack frames
// ======================================================================================

/** Values of a frame being pushed; FRAME[0] is pushed first (ends at the highest address). */
export const FRAME = new Int32Array(48);

/** Valid offset window of a stack segment descriptor (expand-down aware, SDM §3.4.5.1). */
let winLo = 0, winHi = 0;
function windowOf(d: Desc): void {
  if ((d.type & 4) !== 0) { winLo = (d.limit + 1) >>> 0; winHi = d.big ? 0xffffffff : 0xffff; }
  else { winLo = 0; winHi = d.limit; }
}

/**
 * Pushes FRAME[0..n) (each `size` bytes) onto the stack at linear `base` with stack pointer `sp`
 * (`wide`: 32-bit SP). Offsets must lie in [lo, hi]; otherwise raises `vec`(`err`). Every slot is
 * limit-checked and page-probed before the first write, so a fault leaves memory unchanged.
 * `sys`: supervisor access (a new inner-level stack). Returns the new stack pointer.
 */
export function writeFrame(c: Cpu, base: number, sp: number, wide: boolean, lo: number, hi: number,
  n: number, size: number, sys: boolean, vec: number, err: number): number {
  const mask = wide ? 0xffffffff : 0xffff;
  for (let i = 1; i <= n; i++) {
    const off = ((sp - i * size) & mask) >>> 0;
    if (off < lo || off + size - 1 > hi) c.raiseErr(vec, err);
  }
  const tok = sys ? c.tlb.beginSys() : 0;
  try {
    for (let i = 1; i <= n; i++) {
      const lin = (base + (((sp - i * size) & mask) >>> 0)) | 0;
      c.tlb.probeWrite(lin);
      c.tlb.probeWrite(lin + size - 1);
    }
    for (let i = 1; i <= n; i++) {
      const lin = (base + (((sp - i * size) & mask) >>> 0)) | 0;
      if (size === 4) c.writeLin32(lin, FRAME[i - 1]); else c.writeLin16(lin, FRAME[i - 1]);
    }
  } finally {
    if (sys) c.tlb.endSys(tok);
  }
  return ((sp - n * size) & mask) >>> 0;
}

/** Pushes FRAME[0..n) on an inner-level stack described by `d` (supervisor access, #SS(err)). */
export function pushFrameTo(c: Cpu, d: Desc, sp: number, n: number, size: number, err: number): number {
  windowOf(d);
  return writeFrame(c, d.base, sp, d.big, winLo, winHi, n, size, true, Vector.SS, err);
}

/** Pushes FRAME[0..n) on the current SS:ESP (raises #SS(err)); returns the new SP, not committed. */
export function pushFrame(c: Cpu, n: number, size: number, err: number): number {
  return writeFrame(c, c.segBase[Seg.SS], c.sp, c.stack32, c.wrLo[Seg.SS], c.wrHi[Seg.SS], n, size, false, Vector.SS, err);
}

/** Sets ESP (32-bit stack) or SP (16-bit stack: ESP's upper half is kept, as hardware does). */
export function setSp(c: Cpu, v: number, wide: boolean): void {
  if (wide) c.r32[Reg.ESP] = v; else c.r16[Reg.ESP << 1] = v;
}

/** Reads a `size`-byte value at SS:(sp + k) without popping. */
function readStack(c: Cpu, sp: number, k: number, size: number): number {
  const off = c.stack32 ? (sp + k) >>> 0 : (sp + k) & 0xffff;
  return size === 4 ? c.read32(Seg.SS, off) >>> 0 : c.read16(Seg.SS, off);
}

/** SS:ESP for privilege level `dpl` from the current TSS (SDM Vol. 3A §7.2.1, §6.12.1). */
let tssSs = 0, tssEsp = 0;
/** SS and ESP found by the last readTssStack. */
export function tssStackSel(): number { return tssSs; }
export function tssStackPtr(): number { return tssEsp; }
export function readTssStack(c: Cpu, dpl: number): void {
  const base = c.segBase[Seg.TR], limit = c.segLimit[Seg.TR];
  if ((c.segAttr[Seg.TR] & 8) !== 0) {
    const off = (dpl << 3) + 4;
    if (off + 5 > limit) c.raiseErr(Vector.TS, selErr(c.segSel[Seg.TR]));
    tssEsp = c.readSys32(base + off) >>> 0;
    tssSs = c.readSys16(base + off + 4);
  } else {
    const off = (dpl << 2) + 2;
    if (off + 3 > limit) c.raiseErr(Vector.TS, selErr(c.segSel[Seg.TR]));
    tssEsp = c.readSys16(base + off);
    tssSs = c.readSys16(base + off + 2);
  }
}

/**
 * Validates the inner-level stack `ss` for a switch to privilege `dpl` (CALL through a gate,
 * interrupts): errors are #TS(sel) and #SS(sel) for not present (SDM Vol. 2A CALL, INT n).
 */
export function checkInnerStack(c: Cpu, ss: number, dpl: number): void {
  if ((ss & 0xfffc) === 0) c.raiseErr(Vector.TS, EXT.v);
  fetchDesc(c, ss, S, Vector.TS);
  if ((ss & 3) !== dpl || S.dpl !== dpl || !S.writableData) c.raiseErr(Vector.TS, selErr(ss));
  if (!S.present) notPresent(c, ss, true);
}

/** Validates the outer-level SS popped by RET/IRET: #GP(sel), #SS(sel) if not present. */
function checkOuterStack(c: Cpu, ss: number, rpl: number): void {
  if ((ss & 0xfffc) === 0) c.gp(0);
  fetchDesc(c, ss, S, Vector.GP);
  if ((ss & 3) !== rpl || !S.writableData || S.dpl !== rpl) c.gp(selErr(ss));
  if (!S.present) notPresent(c, ss, true);
}

// ======================================================================================
// JMP / CALL far
// ======================================================================================

/** Direct JMP/CALL to a code segment: conforming DPL <= CPL, non-conforming RPL <= CPL = DPL. */
function checkDirectCode(c: Cpu, sel: number, d: Desc): void {
  if (d.conforming) { if (d.dpl > c.cpl) c.gp(selErr(sel)); }
  else if ((sel & 3) > c.cpl || d.dpl !== c.cpl) c.gp(selErr(sel));
  if (!d.present) notPresent(c, sel, false);
}

/** Checks a call gate (DPL >= max(CPL, RPL), present) and fetches its code segment into D. */
function checkCallGate(c: Cpu, sel: number, jump: boolean): void {
  if (G.dpl < c.cpl || G.dpl < (sel & 3)) c.gp(selErr(sel));
  if (!G.present) notPresent(c, sel, false);
  const tsel = G.gateSel;
  if ((tsel & 0xfffc) === 0) c.gp(0);
  fetchDesc(c, tsel, D, Vector.GP);
  if (!D.isCode || D.dpl > c.cpl) c.gp(selErr(tsel));
  // JMP cannot change privilege: a non-conforming target must have DPL = CPL.
  if (jump && !D.conforming && D.dpl !== c.cpl) c.gp(selErr(tsel));
  if (!D.present) notPresent(c, tsel, false);
}

/** JMP/CALL to a task gate or TSS descriptor (SDM Vol. 3A §7.3). */
function farTask(c: Cpu, sel: number, src: TaskSource): void {
  if (G.dpl < c.cpl || G.dpl < (sel & 3)) c.gp(selErr(sel));
  const t = G.sysType;
  if (t === SysType.TaskGate) {
    if (!G.present) notPresent(c, sel, false);
    const tss = G.gateSel;
    fetchGdtDesc(c, tss, T, Vector.GP);
    if (T.sysType !== SysType.Tss16Avail && T.sysType !== SysType.Tss32Avail) c.gp(selErr(tss));
    if (!T.present) notPresent(c, tss, false);
    taskSwitch(c, tss, T, src);
  } else {
    if ((sel & 4) !== 0) c.gp(selErr(sel));
    if (!G.present) notPresent(c, sel, false);
    taskSwitch(c, sel, G, src);
  }
}

/** JMP ptr16:16/32 and JMP m16:16/32 (SDM Vol. 2A, JMP). */
export function farJump(c: Cpu, sel: number, offset: number): void {
  sel &= 0xffff; offset >>>= 0;
  if (!c.protectedMode() || c.v86()) {
    if (offset > c.segLimit[Seg.CS]) c.gp(0);
    realCs(c, sel);
    c.eip = offset;
    return;
  }
  EXT.v = 0;
  if ((sel & 0xfffc) === 0) c.gp(0);
  fetchDesc(c, sel, G, Vector.GP);
  if (G.s) {
    if (!G.isCode) c.gp(selErr(sel));
    checkDirectCode(c, sel, G);
    if (offset > G.limit) c.gp(0);
    loadCs(c, sel, G, c.cpl);
    c.eip = offset;
    return;
  }
  switch (G.sysType) {
    case SysType.CallGate16: case SysType.CallGate32: {
      checkCallGate(c, sel, true);
      const off = G.sysType === SysType.CallGate32 ? G.gateOffset : G.gateOffset & 0xffff;
      if (off > D.limit) c.gp(0);
      loadCs(c, G.gateSel, D, c.cpl);
      c.eip = off;
      return;
    }
    case SysType.TaskGate: case SysType.Tss16Avail: case SysType.Tss32Avail:
      farTask(c, sel, TaskSource.Jmp);
      return;
    default:
      c.gp(selErr(sel));
  }
}

/** CALL ptr16:16/32 and CALL m16:16/32 (SDM Vol. 2A, CALL); pushes use `c.os32`. */
export function farCall(c: Cpu, sel: number, offset: number): void {
  sel &= 0xffff; offset >>>= 0;
  const size = c.os32 ? 4 : 2;
  if (!c.protectedMode() || c.v86()) {
    if (offset > c.segLimit[Seg.CS]) c.gp(0);
    FRAME[0] = c.segSel[Seg.CS]; FRAME[1] = c.eip;
    const sp = pushFrame(c, 2, size, 0);
    setSp(c, sp, c.stack32);
    realCs(c, sel);
    c.eip = offset;
    return;
  }
  EXT.v = 0;
  if ((sel & 0xfffc) === 0) c.gp(0);
  fetchDesc(c, sel, G, Vector.GP);
  if (G.s) {
    if (!G.isCode) c.gp(selErr(sel));
    checkDirectCode(c, sel, G);
    if (offset > G.limit) c.gp(0);
    FRAME[0] = c.segSel[Seg.CS]; FRAME[1] = c.eip;
    const sp = pushFrame(c, 2, size, 0);
    setSp(c, sp, c.stack32);
    loadCs(c, sel, G, c.cpl);
    c.eip = offset;
    return;
  }
  switch (G.sysType) {
    case SysType.CallGate16: case SysType.CallGate32:
      callGate(c, sel);
      return;
    case SysType.TaskGate: case SysType.Tss16Avail: case SysType.Tss32Avail:
      farTask(c, sel, TaskSource.Call);
      return;
    default:
      c.gp(selErr(sel));
  }
}

/** CALL through a call gate, to the same or an inner privilege level (SDM Vol. 3A §5.8.5). */
function callGate(c: Cpu, sel: number): void {
  checkCallGate(c, sel, false);
  const gate32 = G.sysType === SysType.CallGate32;
  const size = gate32 ? 4 : 2;
  const off = gate32 ? G.gateOffset : G.gateOffset & 0xffff;
  const tsel = G.gateSel;
  if (D.conforming || D.dpl === c.cpl) {
    if (off > D.limit) c.gp(0);
    FRAME[0] = c.segSel[Seg.CS]; FRAME[1] = c.eip;
    const sp = pushFrame(c, 2, size, 0);
    setSp(c, sp, c.stack32);
    loadCs(c, tsel, D, c.cpl);
    c.eip = off;
    return;
  }
  // Inner privilege: new stack from the TSS, then SS:ESP, the parameters (copied in order),
  // CS:EIP (SDM Vol. 3A §5.8.5, Figure 5-13).
  const dpl = D.dpl;
  readTssStack(c, dpl);
  const ss = tssSs, esp = tssEsp;
  checkInnerStack(c, ss, dpl);
  if (off > D.limit) c.gp(0);
  const n = G.paramCount;
  const oldSp = c.sp;
  FRAME[0] = c.segSel[Seg.SS];
  FRAME[1] = c.r32[Reg.ESP];
  for (let i = 0; i < n; i++) FRAME[2 + i] = readStack(c, oldSp, (n - 1 - i) * size, size);
  FRAME[2 + n] = c.segSel[Seg.CS];
  FRAME[3 + n] = c.eip;
  const nsp = pushFrameTo(c, S, esp, 4 + n, size, selErr(ss));
  setAccessed(c, S);
  loadCs(c, tsel, D, dpl);
  loadCache(c, Seg.SS, ss, S);
  setSp(c, nsp, S.big);
  c.eip = off;
}

// ======================================================================================
// RET far / IRET
// ======================================================================================

/**
 * Validates the code segment popped by RETF/IRET (SDM Vol. 2B RET "Operation"): RPL >= CPL,
 * conforming DPL <= RPL, non-conforming DPL = RPL, present. Leaves it in D.
 */
function checkReturnCode(c: Cpu, cs: number): void {
  if ((cs & 0xfffc) === 0) c.gp(0);
  fetchDesc(c, cs, D, Vector.GP);
  const rpl = cs & 3;
  if (!D.isCode || rpl < c.cpl) c.gp(selErr(cs));
  if (D.conforming ? D.dpl > rpl : D.dpl !== rpl) c.gp(selErr(cs));
  if (!D.present) notPresent(c, cs, false);
}

/** RETF / RETF imm16 (SDM Vol. 2B, RET); `popBytes` is the immediate. */
export function farReturn(c: Cpu, popBytes: number): void {
  const size = c.os32 ? 4 : 2;
  const sp = c.sp;
  const eip = readStack(c, sp, 0, size);
  const cs = readStack(c, sp, size, size) & 0xffff;
  if (!c.protectedMode() || c.v86()) {
    if (eip > c.segLimit[Seg.CS]) c.gp(0);
    realCs(c, cs);
    c.eip = eip;
    setSp(c, sp + 2 * size + popBytes, c.stack32);
    return;
  }
  EXT.v = 0;
  checkReturnCode(c, cs);
  const rpl = cs & 3;
  if (rpl === c.cpl) {
    if (eip > D.limit) c.gp(0);
    loadCs(c, cs, D, rpl);
    c.eip = eip;
    setSp(c, sp + 2 * size + popBytes, c.stack32);
    return;
  }
  // Return to an outer level: the caller's SS:ESP sits above the parameters.
  const k = 2 * size + popBytes;
  const esp = readStack(c, sp, k, size);
  const ss = readStack(c, sp, k + size, size) & 0xffff;
  checkOuterStack(c, ss, rpl);
  if (eip > D.limit) c.gp(0);
  setAccessed(c, S);
  loadCs(c, cs, D, rpl);
  c.eip = eip;
  loadCache(c, Seg.SS, ss, S);
  setSp(c, esp + popBytes, S.big);
  validateDataSegs(c);
}

// EFLAGS bits an IRET may write (SDM Vol. 2A IRET "Operation").
const IRET_BASE = Flag.CF | Flag.PF | Flag.AF | Flag.ZF | Flag.SF | Flag.TF | Flag.DF | Flag.OF | Flag.NT;
const IRET_32 = Flag.RF | Flag.AC | Flag.ID;
const REAL_IRET32 = 0x257fd5; // everything but VM, VIF, VIP
const V86_IRET32 = REAL_IRET32 & ~Flag.IOPL;

/** IRET / IRETD in every mode (SDM Vol. 2A, IRET). */
export function interruptReturn(c: Cpu): void {
  // IA-32e mode (compatibility mode here; 64-bit mode never comes): IRET pops SS:ESP always.
  if ((c.efer & Efer.LMA) !== 0) { interruptReturn64(c, c.os32 ? 4 : 2); return; }
  EXT.v = 0;
  // IRET ends NMI blocking, even if it then faults (SDM Vol. 3A §6.7.1); in VMX non-root
  // operation "NMI exiting" and "virtual NMIs" decide (Vol. 3C §26.3).
  if (c.nonRoot) c.vmx!.iret();
  else if (c.nmiBlocked) { c.nmiBlocked = false; if (c.nmiPending) c.eventPending = true; }
  const size = c.os32 ? 4 : 2;
  const sp = c.sp;
  if (!c.protectedMode()) {
    const eip = readStack(c, sp, 0, size), cs = readStack(c, sp, size, size) & 0xffff;
    const fl = readStack(c, sp, 2 * size, size);
    if (eip > c.segLimit[Seg.CS]) c.gp(0);
    loadReal(c, Seg.CS, cs);
    c.eip = eip;
    setSp(c, sp + 3 * size, c.stack32);
    c.setFlags(fl, size === 4 ? REAL_IRET32 : 0x7fd5);
    return;
  }
  if (c.v86()) { v86Return(c, size, sp); return; }
  if ((c.flags & Flag.NT) !== 0) { taskReturn(c); return; }
  const eip = readStack(c, sp, 0, size), cs = readStack(c, sp, size, size) & 0xffff;
  const fl = readStack(c, sp, 2 * size, size);
  if (size === 4 && (fl & Flag.VM) !== 0 && c.cpl === 0) { returnToV86(c, sp, eip, cs, fl); return; }
  checkReturnCode(c, cs);
  const rpl = cs & 3, oldCpl = c.cpl;
  let mask = size === 4 ? IRET_BASE | IRET_32 : IRET_BASE;
  if (oldCpl <= ((c.flags >> 12) & 3)) mask |= Flag.IF;
  if (oldCpl === 0) mask |= size === 4 ? Flag.IOPL | Flag.VIF | Flag.VIP : Flag.IOPL;
  if (rpl === oldCpl) {
    if (eip > D.limit) c.gp(0);
    loadCs(c, cs, D, rpl);
    c.eip = eip;
    setSp(c, sp + 3 * size, c.stack32);
    c.setFlags(fl, mask);
    return;
  }
  const esp = readStack(c, sp, 3 * size, size);
  const ss = readStack(c, sp, 4 * size, size) & 0xffff;
  checkOuterStack(c, ss, rpl);
  if (eip > D.limit) c.gp(0);
  setAccessed(c, S);
  c.setFlags(fl, mask);
  loadCs(c, cs, D, rpl);
  c.eip = eip;
  loadCache(c, Seg.SS, ss, S);
  setSp(c, esp, S.big);
  validateDataSegs(c);
}

/** IRET executed in virtual-8086 mode: IOPL 3, or CR4.VME with a 16-bit IRET (SDM §20.2.7). */
function v86Return(c: Cpu, size: number, sp: number): void {
  const iopl = (c.flags >> 12) & 3;
  if (iopl < 3 && (size === 4 || (c.cr4 & Cr4.VME) === 0)) c.gp(0);
  const eip = readStack(c, sp, 0, size), cs = readStack(c, sp, size, size) & 0xffff;
  const fl = readStack(c, sp, 2 * size, size);
  if (eip > 0xffff) c.gp(0);
  if (iopl === 3) {
    loadV86(c, Seg.CS, cs);
    c.eip = eip;
    setSp(c, sp + 3 * size, c.stack32);
    c.setFlags(fl, size === 4 ? V86_IRET32 : 0x4fd5);
    return;
  }
  // VME: IF goes to VIF; a pending virtual interrupt or TF set faults (SDM §20.3.3.4).
  if (((c.flags & Flag.VIP) !== 0 && (fl & Flag.IF) !== 0) || (fl & Flag.TF) !== 0) c.gp(0);
  loadV86(c, Seg.CS, cs);
  c.eip = eip;
  setSp(c, sp + 6, c.stack32);
  c.setFlags(fl, 0x4fd5 & ~Flag.IF);
  c.setFlags((fl & Flag.IF) !== 0 ? Flag.VIF : 0, Flag.VIF);
}

/** IRETD from CPL 0 with VM set in the popped EFLAGS (SDM IRET "RETURN-TO-VIRTUAL-8086-MODE"). */
function returnToV86(c: Cpu, sp: number, eip: number, cs: number, fl: number): void {
  const esp = readStack(c, sp, 12, 4);
  const ss = readStack(c, sp, 16, 4) & 0xffff;
  const es = readStack(c, sp, 20, 4) & 0xffff;
  const ds = readStack(c, sp, 24, 4) & 0xffff;
  const fs = readStack(c, sp, 28, 4) & 0xffff;
  const gs = readStack(c, sp, 32, 4) & 0xffff;
  if (eip > 0xffff) c.gp(0);
  c.setFlags(fl, -1);
  c.setCpl(3);
  loadV86(c, Seg.CS, cs);
  loadV86(c, Seg.SS, ss);
  loadV86(c, Seg.ES, es);
  loadV86(c, Seg.DS, ds);
  loadV86(c, Seg.FS, fs);
  loadV86(c, Seg.GS, gs);
  c.r32[Reg.ESP] = esp;
  c.eip = eip;
  c.modeChanged();
}

// ======================================================================================
// I/O permission bitmap
// ======================================================================================

/**
 * Checks the TSS I/O permission bitmap for `size` ports from `port` (SDM Vol. 1 §19.5.2); the
 * Cpu calls this only when CPL > IOPL or in virtual-8086 mode. A 16-bit TSS has no bitmap.
 */
export function ioPermission(c: Cpu, port: number, size: number): void {
  const attr = c.segAttr[Seg.TR];
  const type = attr & 0xf;
  if ((attr & 0x10000) !== 0 || (type !== SysType.Tss32Avail && type !== SysType.Tss32Busy)) c.gp(0);
  const limit = c.segLimit[Seg.TR], base = c.segBase[Seg.TR];
  if (limit < 0x67) c.gp(0);
  const off = c.readSys16(base + 0x66) + (port >>> 3);
  // Two bytes are always read, so the byte after the bitmap must be within the limit.
  if (off + 1 > limit) c.gp(0);
  const bits = c.readSys16(base + off);
  if ((bits & (((1 << size) - 1) << (port & 7))) !== 0) c.gp(0);
}

