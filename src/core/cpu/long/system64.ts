// System transfers of IA-32e mode: interrupt and exception delivery through 16-byte IDT gates
// with the 64-bit stack frame (SDM Vol. 3A §6.14), IRET in IA-32e mode (Vol. 2A IRET
// "IA-32e-MODE"), SYSCALL/SYSRET (Vol. 2B) and SWAPGS.
import { Cpu, InterruptKind } from '../cpu';
import { Efer, Flag, Seg, SegAttr, Vector } from '../regs';
import { Desc, EXT, fetchDesc, loadCache, loadNull, notPresent, selErr, setAccessed } from '../descriptor';
import { validateDataSegs } from '../segmentation';
import { D64 } from './decode64';
import { checkCanon, gq, read16, read32, read64, sq, write64Halves } from './mem64';
import { CANON, LongMsr, pairToNumber } from './long-mode';

const D = new Desc();
const S = new Desc();
const TWO32 = 4294967296;

/** IDT gate types of IA-32e mode (SDM Vol. 3A §3.5 Table 3-2): 64-bit interrupt and trap gates. */
const INT_GATE64 = 0xe, TRAP_GATE64 = 0xf;

function sysR32(c: Cpu, lin: number): number { const t = c.tlb.beginSys(); try { return read32(c, lin); } finally { c.tlb.endSys(t); } }

/** Base of TR as a number (its 16-byte descriptor gives bits 63:32). */
function trBase(c: Cpu): number { return pairToNumber(c.segBase[Seg.TR], c.segBaseHi[Seg.TR]); }

/** A 64-bit code segment: L = 1, D = 0 (SDM Vol. 3A §5.2.1). */
function isCode64(d: Desc): boolean { return (d.attr & (SegAttr.L | SegAttr.DB)) === SegAttr.L; }

/**
 * Delivers `vector` in IA-32e mode (64-bit and compatibility mode): the gate at IDTR.base + 16n
 * must be a present 64-bit interrupt or trap gate, its target a 64-bit code segment; the stack is
 * the current one, TSS.RSPn on a privilege change or TSS.ISTn when the gate names one, aligned to
 * 16 bytes; SS, RSP, RFLAGS, CS, RIP (and the error code) are pushed as 8-byte values; a
 * privilege change loads SS with a null selector of the new CPL (§6.14.2-6.14.5).
 */
export function deliverLong(c: Cpu, vector: number, kind: number, errorCode: number, hasErr: boolean): void {
  const soft = kind === InterruptKind.Software || kind === InterruptKind.SoftwareException;
  const idtErr = vector * 8 + 2 + EXT.v;
  if (vector * 16 + 15 > c.idtrLimit) c.gp(idtErr);
  const addr = pairToNumber(c.idtrBase, c.idtrBaseHi) + vector * 16;
  const lo = sysR32(c, addr), hi = sysR32(c, addr + 4), offHi = sysR32(c, addr + 8);
  const type = (hi >>> 8) & 0x1f; // S bit included: must be 0
  if (type !== INT_GATE64 && type !== TRAP_GATE64) c.gp(idtErr);
  if (soft && ((hi >>> 13) & 3) < c.cpl) c.gp(idtErr);
  if ((hi & 0x8000) === 0) c.raiseErr(Vector.NP, idtErr);
  const sel = lo >>> 16, ist = hi & 7;
  const target = pairToNumber((lo & 0xffff) | (hi & 0xffff0000), offHi);
  if ((sel & 0xfffc) === 0) c.gp(EXT.v);
  fetchDesc(c, sel, D, Vector.GP);
  if (!D.isCode || D.dpl > c.cpl || !isCode64(D)) c.gp(selErr(sel));
  if (!D.present) notPresent(c, sel, false);
  if (!(target >= -CANON && target < CANON)) c.gp(EXT.v);
  const oldCpl = c.cpl;
  const newCpl = D.conforming ? oldCpl : D.dpl;
  let rsp: number;
  if (ist !== 0) rsp = pairToNumber(sysR32(c, trBase(c) + 0x24 + 8 * (ist - 1)), sysR32(c, trBase(c) + 0x28 + 8 * (ist - 1)));
  else if (newCpl < oldCpl) rsp = pairToNumber(sysR32(c, trBase(c) + 4 + 8 * newCpl), sysR32(c, trBase(c) + 8 + 8 * newCpl));
  else rsp = c.mode64 ? gq(c, 4) : (c.stack32 ? c.r32[4] >>> 0 : c.r16[8]) + (c.segBase[Seg.SS] >>> 0);
  if (!(rsp >= -CANON && rsp < CANON)) c.raiseErr(Vector.SS, EXT.v);
  rsp = Math.floor(rsp / 16) * 16;
  const n = hasErr ? 6 : 5;
  const bottom = rsp - 8 * n;
  checkCanon(c, bottom, Seg.SS);
  const eflags = c.getFlags();
  const rip = c.eip;
  const token = newCpl < 3 ? c.tlb.beginSys() : -1;
  try {
    write64Halves(c, rsp - 8, c.segSel[Seg.SS], 0);
    write64Halves(c, rsp - 16, c.r32[4], c.r32hi[4]);
    write64Halves(c, rsp - 24, eflags, 0);
    write64Halves(c, rsp - 32, c.segSel[Seg.CS], 0);
    write64Halves(c, rsp - 40, rip >>> 0 | 0, Math.floor(rip / TWO32) | 0);
    if (hasErr) write64Halves(c, rsp - 48, errorCode, 0);
  } finally { if (token >= 0) c.tlb.endSys(token); }
  // Interrupt gates clear IF; both clear TF, NT, RF, VM (§6.14.2 / §6.12.1.3).
  c.setFlags(0, Flag.TF | Flag.NT | Flag.RF | Flag.VM | (type === INT_GATE64 ? Flag.IF : 0));
  setAccessed(c, D);
  if (newCpl !== oldCpl) loadNull(c, Seg.SS, newCpl);
  c.segSel[Seg.CS] = (sel & 0xfffc) | newCpl;
  c.segBase[Seg.CS] = D.base; c.segBaseHi[Seg.CS] = 0;
  c.segLimit[Seg.CS] = D.limit;
  c.segAttr[Seg.CS] = D.attr;
  if (newCpl !== oldCpl) c.setCpl(newCpl);
  c.updateSegLimits(Seg.CS);
  sq(c, 4, bottom);
  c.eip = target;
}

// EFLAGS bits IRET may write (SDM Vol. 2A IRET "Operation").
const IRET_BASE = Flag.CF | Flag.PF | Flag.AF | Flag.ZF | Flag.SF | Flag.TF | Flag.DF | Flag.OF | Flag.NT;
const IRET_32 = Flag.RF | Flag.AC | Flag.ID;

/**
 * IRET in IA-32e mode (64-bit mode, or compatibility mode through segmentation.ts): pops RIP, CS,
 * RFLAGS, RSP and SS in the operand size `w` (8 with REX.W) whatever the privilege; returns to
 * 64-bit or compatibility mode at the same or an outer level; a null SS is allowed when returning
 * to 64-bit code at CPL < 3. NT = 1 (task return) is #GP(0) in IA-32e mode.
 */
export function interruptReturn64(c: Cpu, w: number): void {
  EXT.v = 0;
  if (c.nonRoot) c.vmx!.iret();
  else if (c.nmiBlocked) { c.nmiBlocked = false; if (c.nmiPending) c.eventPending = true; }
  if ((c.flags & Flag.NT) !== 0) c.gp(0);
  const sp = c.mode64 ? gq(c, 4) : (c.stack32 ? c.r32[4] >>> 0 : c.r16[8]) + (c.segBase[Seg.SS] >>> 0);
  checkCanon(c, sp, Seg.SS);
  const rd = (k: number): number => w === 8 ? Number(BigInt.asIntN(64, read64(c, sp + 8 * k))) : w === 4 ? read32(c, sp + 4 * k) >>> 0 : read16(c, sp + 2 * k);
  const rip = rd(0), cs = rd(1) & 0xffff, fl = rd(2), rsp = rd(3), ss = rd(4) & 0xffff;
  if ((cs & 0xfffc) === 0) c.gp(0);
  fetchDesc(c, cs, D, Vector.GP);
  const rpl = cs & 3, oldCpl = c.cpl;
  if (!D.isCode || rpl < oldCpl) c.gp(selErr(cs));
  if (D.conforming ? D.dpl > rpl : D.dpl !== rpl) c.gp(selErr(cs));
  if (!D.present) notPresent(c, cs, false);
  const to64 = isCode64(D);
  if (to64) { if (!(rip >= -CANON && rip < CANON)) c.gp(0); } else if ((rip >>> 0) > D.limit) c.gp(0);
  let nullSs = false;
  if ((ss & 0xfffc) === 0) {
    if (!to64 || rpl === 3 || (ss & 3) !== rpl) c.gp(0);
    nullSs = true;
  } else {
    fetchDesc(c, ss, S, Vector.GP);
    if ((ss & 3) !== rpl || !S.writableData || S.dpl !== rpl) c.gp(selErr(ss));
    if (!S.present) c.raiseErr(Vector.SS, selErr(ss));
  }
  let mask = w >= 4 ? IRET_BASE | IRET_32 : IRET_BASE;
  if (oldCpl <= ((c.flags >> 12) & 3)) mask |= Flag.IF;
  if (oldCpl === 0) mask |= w >= 4 ? Flag.IOPL | Flag.VIF | Flag.VIP : Flag.IOPL;
  c.setFlags(fl & ~Flag.VM, mask);
  setAccessed(c, D);
  c.segSel[Seg.CS] = cs;
  c.segBase[Seg.CS] = D.base; c.segBaseHi[Seg.CS] = 0;
  c.segLimit[Seg.CS] = D.limit;
  c.segAttr[Seg.CS] = D.attr;
  if (rpl !== oldCpl) c.setCpl(rpl);
  c.updateSegLimits(Seg.CS);
  c.eip = to64 ? rip : rip >>> 0;
  if (nullSs) loadNull(c, Seg.SS, ss); else { setAccessed(c, S); loadCache(c, Seg.SS, ss, S); }
  sq(c, 4, rsp);
  if (rpl > oldCpl) validateDataSegs(c);
}

// ---- SYSCALL / SYSRET / SWAPGS (SDM Vol. 2B) ----------------------------------------------------

/** Loads a flat segment register as SYSCALL/SYSRET do (fixed base, limit and attributes). */
function flat(c: Cpu, seg: number, sel: number, attr: number): void {
  c.segSel[seg] = sel;
  c.segBase[seg] = 0; c.segBaseHi[seg] = 0;
  c.segLimit[seg] = 0xffffffff;
  c.segAttr[seg] = attr;
  c.updateSegLimits(seg);
}
// Access rights in the VMX layout: type | S | DPL | P | L | D/B | G.
const CS64_DPL0 = 0xb | 0x10 | 0x80 | SegAttr.L | SegAttr.G;
const SS_DPL0 = 0x3 | 0x10 | 0x80 | SegAttr.DB | SegAttr.G;
const CS64_DPL3 = 0xb | 0x10 | 0x60 | 0x80 | SegAttr.L | SegAttr.G;
const CS32_DPL3 = 0xb | 0x10 | 0x60 | 0x80 | SegAttr.DB | SegAttr.G;
const SS_DPL3 = 0x3 | 0x10 | 0x60 | 0x80 | SegAttr.DB | SegAttr.G;

/** 0F 05 SYSCALL: #UD outside 64-bit mode or with EFER.SCE = 0 (Intel). RCX = next RIP, R11 =
 *  RFLAGS, RFLAGS &= ~IA32_FMASK (and RF), CS/SS from IA32_STAR[47:32], RIP = IA32_LSTAR. */
export function syscall(c: Cpu): void {
  if (!c.mode64 || (c.efer & Efer.SCE) === 0) c.ud();
  const rip = c.eip;
  sq(c, 1, rip);
  c.r32[11] = c.getFlags() & ~Flag.RF; c.r32hi[11] = 0;
  const sel = c.longMsr[LongMsr.Star + 1] & 0xffff;
  c.setFlags(0, c.longMsr[LongMsr.Fmask] | Flag.RF);
  c.setCpl(0);
  flat(c, Seg.CS, sel & 0xfffc, CS64_DPL0);
  flat(c, Seg.SS, (sel + 8) & 0xfffc, SS_DPL0);
  c.eip = pairToNumber(c.longMsr[LongMsr.Lstar], c.longMsr[LongMsr.Lstar + 1]);
}

/** 0F 07 SYSRET: to 64-bit mode (REX.W, RIP = RCX, CS = STAR[63:48] + 16) or compatibility mode
 *  (RIP = ECX, CS = STAR[63:48]); SS = STAR[63:48] + 8; RFLAGS = R11; CPL 3. */
export function sysret(c: Cpu): void {
  if (!c.mode64 || (c.efer & Efer.SCE) === 0) c.ud();
  if (c.cpl !== 0) c.gp(0);
  const base = (c.longMsr[LongMsr.Star + 1] >>> 16) & 0xffff;
  const to64 = D64.w;
  const rip = to64 ? gq(c, 1) : c.r32[1] >>> 0;
  if (to64) { const h = c.r32hi[1] >> 15; if (h !== 0 && h !== -1) c.gp(0); }
  c.setFlags((c.r32[11] & 0x3c7fd7) | 2, -1);
  c.setCpl(3);
  flat(c, Seg.CS, ((to64 ? base + 16 : base) & 0xfffc) | 3, to64 ? CS64_DPL3 : CS32_DPL3);
  flat(c, Seg.SS, ((base + 8) & 0xfffc) | 3, SS_DPL3);
  c.eip = rip;
}

/** 0F 01 F8 SWAPGS: exchanges GS.base with IA32_KERNEL_GS_BASE (64-bit mode, CPL 0). */
export function swapgs(c: Cpu): void {
  if (!c.mode64) c.ud();
  if (c.cpl !== 0) c.gp(0);
  const lo = c.segBase[Seg.GS], hi = c.segBaseHi[Seg.GS];
  c.segBase[Seg.GS] = c.longMsr[LongMsr.KernelGsBase]; c.segBaseHi[Seg.GS] = c.longMsr[LongMsr.KernelGsBase + 1];
  c.longMsr[LongMsr.KernelGsBase] = lo; c.longMsr[LongMsr.KernelGsBase + 1] = hi;
}
