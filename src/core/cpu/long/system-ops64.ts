// System instructions of 64-bit mode with 64-bit operands (SDM Vol. 2B MOV CR/DR "64-bit mode",
// LGDT/LIDT/SGDT/SIDT m16&64, LTR/LLDT with 16-byte descriptors, SWAPGS, INVLPG; Vol. 3A §2.5
// CR8 as the TPR).
import type { Cpu } from '../cpu';
import { Cr0, Seg, Vector } from '../regs';
import { Desc, SysType, fetchGdtDesc, loadCache, loadNull, notPresent, selErr, setBusy } from '../descriptor';
import { invlpg, writeCr0, writeCr4 } from '../ops/system';
import { D64, Sz, ea, eaOffset, modrm64, rmLin, rmRead, setR } from './decode64';
import { read16, read32, sysRead32, write16, write64, writeSized } from './mem64';
import { canonicalHalves } from './long-mode';
import { swapgs } from './system64';
import { vmxGroup7 } from './vmx64';
import { monitor64, mwait64, rdtscp64, verify64 } from './isa64';
import { xgetbvXsetbv64 } from './xstate64';
import { rowExit } from '../vmx-hooks';
import { ExitReason } from '../../vmx/exit-reasons';
import { ControlField, ProcBasedCtls2 } from '../../vmx/controls';

// Exit columns of the descriptor-table instructions (as ops/system.ts's rows).
const X_GDTR_IDTR = rowExit(ExitReason.GdtrIdtrAccess, ControlField.ProcBased2, ProcBasedCtls2.DescriptorTableExiting);
const X_LDTR_TR = rowExit(ExitReason.LdtrTrAccess, ControlField.ProcBased2, ProcBasedCtls2.DescriptorTableExiting);

const DS = new Desc();
const TWO32 = 4294967296;

/** MOV to/from DR0-DR7 with 64-bit operands (SDM Vol. 2B MOV DR): DR4/DR5 alias DR6/DR7 unless
 *  CR4.DE (#UD); bits 63:32 of DR6/DR7 must be written as 0 (#GP(0)). DR0-DR3 keep bits 31:0
 *  here (phase 1: breakpoints above 4 GB are not modelled). */
export function movDr64(c: Cpu, toDr: boolean): void {
  const m = c.fetch8();
  let dr = ((m >> 3) & 7) | D64.r;
  const r = (m & 7) | D64.b;
  if (dr > 7) c.ud();
  if (c.cpl !== 0) c.gp(0);
  if (dr === 4 || dr === 5) { if ((c.cr4 & 8) !== 0) c.ud(); }
  // VMX non-root: "MOV-DR exiting" after the #UD and #GP checks (SDM Vol. 3C §26.1.3).
  if (c.nonRoot) c.vmx!.movDr(dr, r, toDr);
  if (dr === 4 || dr === 5) dr += 2;
  if (!toDr) { c.r32[r] = c.dr[dr]; c.r32hi[r] = 0; return; }
  const v = c.r32[r];
  if (dr >= 6 && c.r32hi[r] !== 0) c.gp(0);
  if (dr === 6) c.dr[6] = (v & 0xe00f) | 0xffff0ff0;
  else if (dr === 7) c.dr[7] = (v & 0xffff23ff) | 0x400;
  else c.dr[dr] = v;
}

/** MOV to/from CR0, CR2, CR3, CR4, CR8: 64-bit operands (SDM Vol. 2B MOV CR "64-bit mode"). */
export function movCr64(c: Cpu, toCr: boolean): void {
  const m = c.fetch8();
  const cr = ((m >> 3) & 7) | D64.r, r = (m & 7) | D64.b;
  if (cr === 1 || (cr > 4 && cr !== 8)) c.ud();
  if (c.cpl !== 0) c.gp(0);
  if (!toCr) {
    let lo: number, hi = 0;
    switch (cr) {
      case 0: lo = c.cr0; break;
      case 2: lo = c.cr2; hi = c.cr2hi; break;
      case 3: lo = c.cr3; hi = c.cr3hi; break;
      case 4: lo = c.cr4; break;
      default: lo = c.cr8; break;
    }
    // VMX non-root (SDM Vol. 3C §26.1.3, §26.3, §30.3): CR3-store and CR8-store exiting, read
    // shadows of CR0/CR4, the TPR shadow for CR8.
    if (c.nonRoot) lo = cr === 8 ? c.vmx!.cr8Read(r, lo) : c.vmx!.movFromCr(cr, r, lo);
    c.r32[r] = lo; c.r32hi[r] = hi;
    return;
  }
  let lo = c.r32[r];
  const hi = c.r32hi[r];
  // VMX non-root: CR-access exits come before the value's own #GP checks (§26.1.1); without an
  // exit the CR0/CR4 bits the host owns keep their values; CR8 may go to the TPR shadow.
  if (c.nonRoot) {
    if (cr === 8) { if (c.vmx!.cr8Write(r, lo)) { if (hi !== 0 || (lo & ~0xf) !== 0) c.gp(0); return; } }
    else lo = c.vmx!.movToCr(cr, r, lo);
  }
  switch (cr) {
    case 0: if (hi !== 0) c.gp(0); writeCr0(c, lo); return;
    case 2: c.cr2 = lo >>> 0; c.cr2hi = hi; return;
    case 3:
      // Bits 63:MAXPHYADDR (36) reserved (#GP); bits 35:32 may put the PML4 table above 4 GB,
      // where no memory is (PhysicalMemory: its entries read as all ones).
      if ((hi & ~0xf) !== 0) c.gp(0);
      c.cr3 = lo >>> 0; c.cr3hi = hi; c.tlb.flushNonGlobal(); return;
    case 4: if (hi !== 0) c.gp(0); writeCr4(c, lo); return;
    default: if (hi !== 0 || (lo & ~0xf) !== 0) c.gp(0); c.cr8 = lo & 0xf; return; // TPR (SDM Vol. 3A §10.8.6.1)
  }
}

/** 0F 00 in 64-bit mode: SLDT/STR store, LTR/LLDT load 16-byte system descriptors, VERR/VERW. */
export function group6_64(c: Cpu): void {
  const d = D64;
  modrm64(c);
  const g = (d.modrm >> 3) & 7;
  // VMX non-root: "descriptor-table exiting" (exit 47, identity 0-3 SLDT STR LLDT LTR, §26.1.3),
  // after the CPL check of LLDT/LTR.
  if (c.nonRoot && g <= 3) { if (g >= 2 && c.cpl !== 0) c.gp(0); c.vmx!.descriptorTable(X_LDTR_TR, g); }
  switch (g) {
    case 0: case 1: {
      const v = BigInt(c.segSel[g === 0 ? Seg.LDTR : Seg.TR]);
      if (d.mod === 3) setR(c, d.rm, d.os === Sz.W ? Sz.W : d.os, v); else writeSized(c, ea(c), Sz.W, v);
      return;
    }
    case 2: case 3: {
      if (c.cpl !== 0) c.gp(0);
      const sel = Number(rmRead(c, Sz.W, rmLin(c)));
      const seg = g === 2 ? Seg.LDTR : Seg.TR;
      if ((sel & 0xfffc) === 0) { if (g === 3) c.gp(0); loadNull(c, Seg.LDTR, sel); return; }
      fetchGdtDesc(c, sel, DS, Vector.GP);
      // IA-32e mode: LDT type 2, available 64-bit TSS type 9 (SDM Vol. 3A §3.5 Table 3-2).
      if (DS.sysType !== (g === 2 ? SysType.Ldt : SysType.Tss32Avail)) c.gp(selErr(sel));
      if (!DS.present) notPresent(c, sel, false);
      const baseHi = sysRead32(c, DS.addr + 8);
      if ((sysRead32(c, DS.addr + 12) & 0x1f00) !== 0) c.gp(selErr(sel)); // upper type field must be 0
      if (!canonicalHalves(DS.base, baseHi)) c.gp(selErr(sel));
      if (g === 3) setBusy(c, DS, true);
      loadCache(c, seg, sel, DS);
      c.segBaseHi[seg] = baseHi;
      return;
    }
    case 4: case 5: verify64(c, g === 5); return;
    default: c.ud();
  }
}

/** 0F 01 in 64-bit mode: SGDT/SIDT/LGDT/LIDT with 10-byte operands, SMSW, LMSW, INVLPG, SWAPGS,
 *  MONITOR/MWAIT, RDTSCP. */
export function group7_64(c: Cpu): void {
  const d = D64;
  modrm64(c);
  const g = (d.modrm >> 3) & 7;
  if (d.mod === 3) {
    if (d.modrm === 0xf8) { swapgs(c); return; }
    if (d.modrm >= 0xc1 && d.modrm <= 0xc4) { vmxGroup7(c, d.modrm); return; }
    if (d.modrm === 0xc8) { monitor64(c); return; }
    if (d.modrm === 0xc9) { mwait64(c); return; }
    if (d.modrm === 0xf9) { rdtscp64(c); return; }
    if (d.modrm === 0xd0 || d.modrm === 0xd1) { xgetbvXsetbv64(c, d.modrm === 0xd1); return; } // xstate64.ts
    if (g === 4) { setR(c, d.rm, d.os === Sz.W ? Sz.W : d.os, BigInt(c.cr0 >>> 0) & (d.os === Sz.W ? 0xffffn : 0xffffffffn)); return; }
    c.ud();
  }
  // VMX non-root: "descriptor-table exiting" (exit 46, identity 0-3 SGDT SIDT LGDT LIDT), after
  // the CPL check of LGDT/LIDT.
  if (c.nonRoot && g <= 3) { if (g >= 2 && c.cpl !== 0) c.gp(0); c.vmx!.descriptorTable(X_GDTR_IDTR, g); }
  switch (g) {
    case 0: case 1: { // SGDT/SIDT: limit, 64-bit base
      const lin = ea(c);
      const limit = g === 0 ? c.gdtrLimit : c.idtrLimit;
      const lo = g === 0 ? c.gdtrBase : c.idtrBase, hi = g === 0 ? c.gdtrBaseHi : c.idtrBaseHi;
      write16(c, lin, limit);
      write64(c, lin + 2, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
      return;
    }
    case 2: case 3: { // LGDT/LIDT m16&64: the base must be canonical
      if (c.cpl !== 0) c.gp(0);
      const lin = ea(c);
      const limit = read16(c, lin);
      const lo = read32(c, lin + 2), hi = read32(c, lin + 6);
      if (!canonicalHalves(lo, hi)) c.gp(0);
      if (g === 2) { c.gdtrLimit = limit; c.gdtrBase = lo; c.gdtrBaseHi = hi; } else { c.idtrLimit = limit; c.idtrBase = lo; c.idtrBaseHi = hi; }
      return;
    }
    case 4: writeSized(c, ea(c), Sz.W, BigInt(c.cr0 & 0xffff)); return; // SMSW m16
    case 6: { // LMSW: PE, MP, EM, TS; PE cannot be cleared
      if (c.cpl !== 0) c.gp(0);
      const v = read16(c, ea(c));
      c.cr0 = (c.cr0 & ~0xe) | (v & 0xf) | (c.cr0 & Cr0.PE);
      return;
    }
    case 7: { // INVLPG m
      if (c.cpl !== 0) c.gp(0);
      const lin = eaOffset(c) + (d.seg === Seg.FS || d.seg === Seg.GS ? c.segBaseHi[d.seg] * TWO32 + (c.segBase[d.seg] >>> 0) : 0);
      // VMX non-root: "INVLPG exiting", the whole linear address as the qualification.
      if (c.nonRoot) c.vmx!.invlpg64(lin >>> 0, Math.floor(lin / TWO32) | 0);
      invalidatePage64(c, lin);
      return;
    }
    default: c.ud();
  }
}

/** Drops the translations of canonical linear address `lin` (INVLPG, INVPCID type 0). */
export function invalidatePage64(c: Cpu, lin: number): void {
  // A 1 GB page's entries span more than the 2 MB region invlpg() drops: flush everything.
  if (c.tlb.has1G) { c.tlb.has1G = false; c.tlb.flushAll(); return; }
  if (lin >= 0 && lin < TWO32) invlpg(c, lin | 0); else c.tlb.flushHi();
  c.invalidateFetch();
}
