// System instructions (SDM Vol. 2 instruction pages; Vol. 3A ch. 2 system registers, ch. 5
// protection): descriptor-table and task registers, access-rights queries, control and debug
// registers, MSRs, TSC/PMC, CPUID, SYSENTER/SYSEXIT, ARPL.
import type { Cpu } from '../cpu';
import { OpRow, group7RegForm, registerRows } from '../decode-table';
import { Cr0, Cr4, Efer, Flag, Seg, Vector } from '../regs';
import { cpuidLeaf, cpuidLeaf1Apic, Cpuid1Ecx, Cpuid1Edx, CpuidExtEdx, type CpuModel } from '../model';
import { cpuidXsaveDynamic } from '../xstate';
import {
  Desc, SysType, fetchGdtDesc, loadCache, loadNull, notPresent, selErr, setBusy, tryFetchDesc,
} from '../descriptor';
import { rowExit } from '../vmx-hooks';
import { queryAccessRights } from './access-rights';
import { CR0_PDPTE_LOAD, CR4_PDPTE_LOAD } from '../paging';
import { MSR_TSC_AUX, hasRdtscp } from './rdtscp';
import { ExitReason } from '../../vmx/exit-reasons';
import { ControlField, ProcBasedCtls, ProcBasedCtls2 } from '../../vmx/controls';
import { D64 } from '../long/decode64';
import { LongMsr, LongMsrNumber, canonicalHalves, cr0LongModeAllowed, cr4LongModeAllowed, hasLongMode, updateLma } from '../long/long-mode';

const D = new Desc();

// ---- The exit column (SDM Vol. 3C §26.1.2 "Instructions That Cause VM Exits Unconditionally",
// §26.1.3 "... Conditionally"). Checks that have priority over these exits (#UD, CPL, §26.1.1)
// come first in each handler.
const P1 = ControlField.ProcBased, P2 = ControlField.ProcBased2;
const X_CPUID = rowExit(ExitReason.Cpuid);
const X_INVD = rowExit(ExitReason.Invd);
const X_WBINVD = rowExit(ExitReason.Wbinvd, P2, ProcBasedCtls2.WbinvdExiting);
const X_INVLPG = rowExit(ExitReason.Invlpg, P1, ProcBasedCtls.InvlpgExiting);
const X_RDTSC = rowExit(ExitReason.Rdtsc, P1, ProcBasedCtls.RdtscExiting);
const X_RDPMC = rowExit(ExitReason.Rdpmc, P1, ProcBasedCtls.RdpmcExiting);
const X_CR = rowExit(ExitReason.CrAccess, undefined, undefined,
  'MOV to CR0/CR4, CLTS, LMSW: a bit the CR0/CR4 guest/host mask owns would change against its read shadow; ' +
  'MOV to CR3: "CR3-load exiting" unless the value is one of the first CR3-target-count CR3-target values; ' +
  'MOV from CR3: "CR3-store exiting"');
const X_MOV_DR = rowExit(ExitReason.MovDr, P1, ProcBasedCtls.MovDrExiting);
const X_RDMSR = rowExit(ExitReason.Rdmsr, undefined, undefined,
  'every RDMSR unless "use MSR bitmaps" is 1 and the read bitmap bit of ECX is 0 (ECX in 0-1FFFH or C0000000H-C0001FFFH)');
const X_WRMSR = rowExit(ExitReason.Wrmsr, undefined, undefined,
  'every WRMSR unless "use MSR bitmaps" is 1 and the write bitmap bit of ECX is 0');
const X_GDTR_IDTR = rowExit(ExitReason.GdtrIdtrAccess, P2, ProcBasedCtls2.DescriptorTableExiting);
const X_LDTR_TR = rowExit(ExitReason.LdtrTrAccess, P2, ProcBasedCtls2.DescriptorTableExiting);

/** #UD outside protected mode proper (real and virtual-8086 mode). */
function needPm(c: Cpu): void {
  if (!c.protectedMode() || c.v86()) c.ud();
}
/** #GP(0) unless CPL 0 (real mode is CPL 0; V86 is CPL 3). */
function needCpl0(c: Cpu): void {
  if (c.protectedMode() && (c.cpl !== 0 || c.v86())) c.gp(0);
}
function setZf(c: Cpu, on: boolean): void { c.setArith(Flag.ZF, on ? Flag.ZF : 0); }

/** SLDT/STR/SMSW store: 16 bits to memory; a register gets the value zero-extended with o32. */
function storeSel(c: Cpu, v: number): void {
  if (c.modrm >= 0xc0 && c.os32) c.r32[c.modrm & 7] = v;
  else c.rmWrite16(v & 0xffff);
}

// ======================================================================================
// 0F 00: SLDT STR LLDT LTR VERR VERW
// ======================================================================================

function group6(c: Cpu): void {
  c.decodeModrm();
  switch (c.modReg) {
    // Descriptor-table exiting: identity 0 SLDT, 1 STR, 2 LLDT, 3 LTR (Table 28-11).
    case 0: needPm(c); if (c.nonRoot) c.vmx!.descriptorTable(X_LDTR_TR, 0); storeSel(c, c.segSel[Seg.LDTR]); return;
    case 1: needPm(c); if (c.nonRoot) c.vmx!.descriptorTable(X_LDTR_TR, 1); storeSel(c, c.segSel[Seg.TR]); return;
    case 2: needPm(c); needCpl0(c); if (c.nonRoot) c.vmx!.descriptorTable(X_LDTR_TR, 2); lldt(c, c.rmRead16()); return;
    case 3: needPm(c); needCpl0(c); if (c.nonRoot) c.vmx!.descriptorTable(X_LDTR_TR, 3); ltr(c, c.rmRead16()); return;
    case 4: needPm(c); verify(c, false); return;
    case 5: needPm(c); verify(c, true); return;
    default: c.ud();
  }
}

/** LLDT (SDM Vol. 2A): null makes LDTR unusable; else a present LDT descriptor from the GDT. */
function lldt(c: Cpu, sel: number): void {
  if ((sel & 0xfffc) === 0) { loadNull(c, Seg.LDTR, sel); return; }
  fetchGdtDesc(c, sel, D, Vector.GP);
  if (D.sysType !== SysType.Ldt) c.gp(selErr(sel));
  if (!D.present) notPresent(c, sel, false);
  loadCache(c, Seg.LDTR, sel, D);
}

/** LTR (SDM Vol. 2A): an available TSS in the GDT, which becomes busy. */
function ltr(c: Cpu, sel: number): void {
  if ((sel & 0xfffc) === 0) c.gp(0);
  fetchGdtDesc(c, sel, D, Vector.GP);
  if (D.sysType !== SysType.Tss16Avail && D.sysType !== SysType.Tss32Avail) c.gp(selErr(sel));
  if (!D.present) notPresent(c, sel, false);
  setBusy(c, D, true);
  loadCache(c, Seg.TR, sel, D);
}

/** VERR / VERW: ZF=1 if the segment is readable / writable at max(CPL, RPL); no faults. */
function verify(c: Cpu, write: boolean): void {
  const sel = c.rmRead16();
  let ok = false;
  if ((sel & 0xfffc) !== 0 && tryFetchDesc(c, sel, D) && D.s) {
    const dplOk = D.dpl >= c.cpl && D.dpl >= (sel & 3);
    if (write) ok = D.writableData && dplOk;
    else ok = (D.isData || D.readableCode) && (D.conforming || dplOk);
  }
  setZf(c, ok);
}

/** 0F 02 LAR Gv,Ew: access rights (bytes 5-6 of the descriptor, masked). */
function lar(c: Cpu): void {
  needPm(c);
  c.decodeModrm();
  const ok = queryAccessRights(c, c.rmRead16(), D, false);
  if (ok) c.setRegV(c.modReg, c.os32 ? D.hi & 0x00f0ff00 : D.hi & 0xff00);
  setZf(c, ok);
}

/** 0F 03 LSL Gv,Ew: byte-granular segment limit. */
function lsl(c: Cpu): void {
  needPm(c);
  c.decodeModrm();
  const ok = queryAccessRights(c, c.rmRead16(), D, true);
  if (ok) c.setRegV(c.modReg, D.limit | 0);
  setZf(c, ok);
}

// ======================================================================================
// 0F 01: SGDT SIDT LGDT LIDT SMSW LMSW INVLPG
// ======================================================================================

function group7(c: Cpu): void {
  c.decodeModrm();
  const r = c.modReg, reg = c.modrm >= 0xc0;
  // mod = 11B forms other than SMSW/LMSW are instructions of their own (VMCALL, ...: ops/vmx.ts).
  if (reg && r !== 4 && r !== 6) { group7RegForm(c); return; }
  switch (r) {
    case 0: case 1: {
      if (reg) c.ud();
      // Descriptor-table exiting: identity 0 SGDT, 1 SIDT, 2 LGDT, 3 LIDT (Table 28-10).
      if (c.nonRoot) c.vmx!.descriptorTable(X_GDTR_IDTR, r);
      const limit = r === 0 ? c.gdtrLimit : c.idtrLimit;
      let base = r === 0 ? c.gdtrBase : c.idtrBase;
      // With a 16-bit operand the sixth byte is stored as zero (24-bit base).
      if (!c.os32) base &= 0xffffff;
      const seg = c.eaSeg, off = c.eaOff;
      c.checkWrite(seg, off, 6);
      c.write16(seg, off, limit);
      c.write32(seg, next(c, off, 2), base);
      return;
    }
    case 2: case 3: {
      if (reg) c.ud();
      needCpl0(c);
      if (c.nonRoot) c.vmx!.descriptorTable(X_GDTR_IDTR, r);
      const seg = c.eaSeg, off = c.eaOff;
      const limit = c.read16(seg, off);
      let base = c.read32(seg, next(c, off, 2));
      // 16-bit operand size loads a 24-bit base.
      if (!c.os32) base &= 0xffffff;
      if (r === 2) { c.gdtrLimit = limit; c.gdtrBase = base; } else { c.idtrLimit = limit; c.idtrBase = base; }
      return;
    }
    case 4: storeSel(c, c.nonRoot ? c.vmx!.smsw(c.cr0) : c.cr0); return;
    case 6: {
      needCpl0(c);
      // LMSW writes PE, MP, EM, TS; it can set PE but not clear it.
      const v = c.rmRead16();
      const old = c.cr0;
      let cr0 = (old & ~0xe) | (v & 0xf) | (old & Cr0.PE);
      // In VMX non-root operation the operand is fetched first (its faults come before the
      // exit, §26.1.1), then the CR0 guest/host mask decides.
      if (c.nonRoot) cr0 = c.vmx!.lmsw(v, c.modrm < 0xc0, c.modrm < 0xc0 ? (c.segBase[c.eaSeg] + c.eaOff) | 0 : 0, cr0);
      c.cr0 = cr0;
      if (((old ^ c.cr0) & Cr0.PE) !== 0) { c.tlb.flushAll(); c.modeChanged(); }
      return;
    }
    case 7: {
      if (reg) c.ud();
      needCpl0(c);
      const lin = (c.segBase[c.eaSeg] + c.eaOff) | 0;
      if (c.nonRoot) c.vmx!.instructionExit(X_INVLPG, lin >>> 0); // qualification: the linear address
      invlpg(c, lin);
      return;
    }
    default: c.ud();
  }
}

/** Offset `k` bytes after `off` in the address size. */
function next(c: Cpu, off: number, k: number): number {
  return c.as32 ? (off + k) >>> 0 : (off + k) & 0xffff;
}

/**
 * INVLPG. The TLB holds 4 KB entries even for large pages, so with PSE or PAE on, all entries of
 * the enclosing 4 MB (2 MB) region go too: INVLPG must drop the whole large-page translation.
 */
export function invlpg(c: Cpu, lin: number): void {
  c.tlb.invalidatePage(lin);
  if ((c.cr4 & (Cr4.PSE | Cr4.PAE)) === 0) return;
  const span = (c.cr4 & Cr4.PAE) !== 0 ? 512 : 1024;
  const first = (lin >>> 12) & ~(span - 1);
  const e = c.tlb.entry;
  for (let p = first; p < first + span; p++) if (e[p] !== 0) e[p] = 0;
}

// ======================================================================================
// Control and debug registers
// ======================================================================================

const CR0_BITS = Cr0.PE | Cr0.MP | Cr0.EM | Cr0.TS | Cr0.ET | Cr0.NE | Cr0.WP | Cr0.AM | Cr0.NW | Cr0.CD | Cr0.PG;
/** CR4 bits this model implements (CPUID.1:EDX VME, DE, PSE, TSC, PAE, PGE; PVI and PCE). */
const CR4_BITS = Cr4.VME | Cr4.PVI | Cr4.TSD | Cr4.DE | Cr4.PSE | Cr4.PAE | Cr4.PGE | Cr4.PCE;

/** MOV CR / MOV DR: the ModRM byte always names registers (mod is ignored, SDM Vol. 2B). */
function crDrPrivilege(c: Cpu): void {
  if (c.protectedMode() && (c.cpl !== 0 || c.v86())) c.gp(0);
}

/** 0F 20 MOV Rd,Cd. */
function movFromCr(c: Cpu): void {
  const m = c.fetch8();
  const cr = (m >> 3) & 7;
  if (cr === 1 || cr > 4) c.ud();
  crDrPrivilege(c);
  const v = cr === 0 ? c.cr0 : cr === 2 ? c.cr2 : cr === 3 ? c.cr3 : c.cr4;
  // VMX non-root: CR3-store exiting; read shadows for the CR0/CR4 bits the host owns.
  c.r32[m & 7] = c.nonRoot ? c.vmx!.movFromCr(cr, m & 7, v) : v;
}

/** 0F 22 MOV Cd,Rd. */
function movToCr(c: Cpu): void {
  const m = c.fetch8();
  const cr = (m >> 3) & 7;
  if (cr === 1 || cr > 4) c.ud();
  crDrPrivilege(c);
  // VMX non-root: CR-access exits come before the value's own #GP checks (§26.1.1); without an
  // exit the bits the host owns keep their values.
  const v = c.nonRoot ? c.vmx!.movToCr(cr, m & 7, c.r32[m & 7]) : c.r32[m & 7];
  switch (cr) {
    case 0: writeCr0(c, v); break;
    case 2: c.cr2 = v >>> 0; break;
    case 3:
      // PAE paging: the PDPTEs are loaded (under EPT, through EPT) before CR3 changes (paging.ts).
      c.tlb.loadPdptes(c.cr0, v >>> 0, c.cr4);
      // Outside 64-bit mode the operand is 32 bits: CR3 bits 35:32 become 0 (Vol. 2B MOV CR).
      c.cr3 = v >>> 0; c.cr3hi = 0; c.tlb.flushNonGlobal(); break;
    default: writeCr4(c, v); break;
  }
}

/** CR0 write (SDM Vol. 3A §2.5): PG without PE or NW without CD -> #GP(0); ET is fixed at 1. */
export function writeCr0(c: Cpu, v: number): void {
  v = (v & CR0_BITS) | Cr0.ET;
  if ((v & Cr0.PG) !== 0 && (v & Cr0.PE) === 0) c.gp(0);
  if ((v & Cr0.NW) !== 0 && (v & Cr0.CD) === 0) c.gp(0);
  // In VMX operation CR0 keeps the bits IA32_VMX_CR0_FIXED0/1 fix (SDM Vol. 3C §24.8).
  if (c.vmx !== null && c.vmx.inVmxOperation && !c.vmx.crWriteAllowed(0, v)) c.gp(0);
  // IA-32e mode activation and deactivation rules (§9.8.5).
  if ((c.efer & Efer.LME) !== 0 && !cr0LongModeAllowed(c, v)) c.gp(0);
  const old = c.cr0;
  const changed = old ^ v;
  // PDPTE registers (SDM Vol. 3A §4.4.1): loaded when CD, NW or PG change; only EPT keeps them.
  if ((changed & CR0_PDPTE_LOAD) !== 0) c.tlb.loadPdptes(v, c.cr3, c.cr4);
  c.cr0 = v;
  if ((changed & (Cr0.PG | Cr0.WP | Cr0.PE)) !== 0) c.tlb.flushAll();
  if ((changed & Cr0.PE) !== 0) c.modeChanged();
  if ((changed & Cr0.PG) !== 0) updateLma(c); // IA32_EFER.LMA = LME and PG
}

/** CR4 bits a model's CPUID makes valid (SDM Vol. 3A §2.5): OSFXSR with FXSR, VMXE with VMX,
 *  SMXE with SMX, OSXSAVE with XSAVE (CR4 bits a processor does not support are reserved:
 *  MOV to CR4 setting one is #GP(0), Vol. 3A §2.5, Vol. 2B MOV CR). */
export function cr4ValidBits(m: CpuModel): number {
  return CR4_BITS | ((m.leaf1Edx & Cpuid1Edx.FXSR) !== 0 ? Cr4.OSFXSR : 0) |
    ((m.leaf1Ecx & Cpuid1Ecx.VMX) !== 0 ? Cr4.VMXE : 0) |
    ((m.leaf1Ecx & Cpuid1Ecx.SMX) !== 0 ? Cr4.SMXE : 0) |
    ((m.leaf1Ecx & Cpuid1Ecx.XSAVE) !== 0 ? Cr4.OSXSAVE : 0);
}

/** CR4 write: unimplemented bits -> #GP(0); paging-mode bits flush the TLB (SDM §4.10.4.1). */
export function writeCr4(c: Cpu, v: number): void {
  if ((v & ~cr4ValidBits(c.model)) !== 0) c.gp(0);
  // In VMX operation CR4.VMXE cannot be cleared (IA32_VMX_CR4_FIXED0, SDM Vol. 3C §24.8).
  if (c.vmx !== null && c.vmx.inVmxOperation && !c.vmx.crWriteAllowed(4, v)) c.gp(0);
  if (!cr4LongModeAllowed(c, v)) c.gp(0); // PAE stays set in IA-32e mode
  const changed = c.cr4 ^ v;
  if ((changed & CR4_PDPTE_LOAD) !== 0) c.tlb.loadPdptes(c.cr0, c.cr3, v);
  c.cr4 = v;
  if ((changed & (Cr4.PSE | Cr4.PAE | Cr4.PGE)) !== 0) c.tlb.flushAll();
}

/** DR4/DR5 alias DR6/DR7 unless CR4.DE (then #UD); DR7.GD makes any access #DB (SDM §17.2.4). */
function debugReg(c: Cpu, dr: number): number {
  if (dr === 4 || dr === 5) {
    if ((c.cr4 & Cr4.DE) !== 0) c.ud();
    dr += 2;
  }
  if ((c.dr[7] & 0x2000) !== 0) {
    c.noteDebug(0x2000); // DR6.BD
    c.dr[7] &= ~0x2000; // GD is cleared so the handler can use the debug registers
    c.raise(Vector.DB);
  }
  return dr;
}

/** MOV-DR exiting (§26.1.3), after the #GP for CPL > 0 and the #UD for DR4/DR5 with CR4.DE, and
 *  before the #DB of DR7.GD (an exception the exit has priority over, §26.1.1). */
function movDrExit(c: Cpu, m: number, toDr: boolean): void {
  const dr = (m >> 3) & 7;
  if ((dr === 4 || dr === 5) && (c.cr4 & Cr4.DE) !== 0) c.ud();
  c.vmx!.movDr(dr, m & 7, toDr);
}

/** 0F 21 MOV Rd,Dd. */
function movFromDr(c: Cpu): void {
  const m = c.fetch8();
  crDrPrivilege(c);
  if (c.nonRoot) movDrExit(c, m, false);
  const dr = debugReg(c, (m >> 3) & 7);
  c.r32[m & 7] = c.dr[dr];
}

/** 0F 23 MOV Dd,Rd: DR6/DR7 keep their fixed bits (P6 layout). */
function movToDr(c: Cpu): void {
  const m = c.fetch8();
  crDrPrivilege(c);
  if (c.nonRoot) movDrExit(c, m, true);
  const dr = debugReg(c, (m >> 3) & 7);
  const v = c.r32[m & 7];
  if (dr === 6) c.dr[6] = (v & 0xe00f) | 0xffff0ff0;
  else if (dr === 7) c.dr[7] = (v & 0xffff23ff) | 0x400;
  else c.dr[dr] = v;
}

// ======================================================================================
// MSRs
// ======================================================================================

export const enum Msr {
  TSC = 0x10, PLATFORM_ID = 0x17, APIC_BASE = 0x1b, FEATURE_CONTROL = 0x3a, BIOS_UPDT_TRIG = 0x79,
  BIOS_SIGN_ID = 0x8b, MTRRCAP = 0xfe, SYSENTER_CS = 0x174, SYSENTER_ESP = 0x175, SYSENTER_EIP = 0x176,
  MISC_ENABLE = 0x1a0, PAT = 0x277, MTRR_DEF_TYPE = 0x2ff, EFER = 0xc0000080,
}

/** MTRR and PAT MSRs kept as plain storage (no memory typing is modelled). */
function isStoredMsr(n: number): boolean {
  return (n >= 0x200 && n <= 0x20f) || n === 0x250 || n === 0x258 || n === 0x259 ||
    (n >= 0x268 && n <= 0x26f) || n === Msr.PAT || n === Msr.MTRR_DEF_TYPE ||
    n === Msr.MISC_ENABLE || n === Msr.FEATURE_CONTROL || n === Msr.BIOS_SIGN_ID || n === Msr.APIC_BASE;
}

/** Power-on values of stored MSRs: [lo, hi]. */
function msrDefault(n: number, hi: boolean): number {
  switch (n) {
    case Msr.APIC_BASE: return hi ? 0 : 0xfee00900 | 0; // base FEE00000h, enabled, BSP
    case Msr.PAT: return hi ? 0x00070406 : 0x00070406; // WB, WT, UC-, UC (SDM Vol. 3A §11.12.4)
    case Msr.MISC_ENABLE: return hi ? 0 : 1; // fast strings enabled
    default: return 0;
  }
}

let msrLo = 0, msrHi = 0;
const VMX_MSR = new Int32Array(2);

/** IA32_EFER bits a model's WRMSR accepts: NXE with NX, LME with Intel 64, SCE with SYSCALL
 *  (SDM Vol. 3A §2.2.1, Vol. 4 Table 2-2). */
export function eferValidBits(m: CpuModel): number {
  return ((m.extEdx & CpuidExtEdx.NX) !== 0 ? Efer.NXE : 0) | ((m.extEdx & CpuidExtEdx.LM) !== 0 ? Efer.LME : 0) |
    ((m.extEdx & CpuidExtEdx.SYSCALL) !== 0 ? Efer.SCE : 0);
}

/** The IA-32e MSRs (SDM Vol. 4 Table 2-2), present with Intel 64: the slot in Cpu.longMsr, or
 *  -1 for FS/GS base (kept in the segment caches), or -2 for none. */
function longMsrSlot(n: number): number {
  switch (n) {
    case LongMsrNumber.STAR: return LongMsr.Star;
    case LongMsrNumber.LSTAR: return LongMsr.Lstar;
    case LongMsrNumber.CSTAR: return LongMsr.Cstar;
    case LongMsrNumber.FMASK: return LongMsr.Fmask;
    case LongMsrNumber.KERNEL_GS_BASE: return LongMsr.KernelGsBase;
    case LongMsrNumber.FS_BASE: case LongMsrNumber.GS_BASE: return -1;
    default: return -2;
  }
}

/** Reads MSR `n` into msrLo/msrHi; false if the MSR does not exist. */
export function readMsr(c: Cpu, n: number): boolean {
  switch (n) {
    case Msr.APIC_BASE: if (c.lapic === null) break; msrLo = c.lapic.readBaseMsr(); msrHi = 0; return true;
    case Msr.TSC: { const t = c.nonRoot ? c.vmx!.guestTsc() : c.tsc(); msrLo = t % 4294967296 | 0; msrHi = Math.floor(t / 4294967296) | 0; return true; }
    case Msr.PLATFORM_ID: msrLo = 0; msrHi = 0; return true;
    case Msr.MTRRCAP: msrLo = 0x508; msrHi = 0; return true; // 8 variable ranges, fixed ranges, WC
    case Msr.SYSENTER_CS: msrLo = c.sysenterCs; msrHi = 0; return true;
    case Msr.SYSENTER_ESP: msrLo = c.sysenterEsp; msrHi = c.sysenterEspHi; return true;
    case Msr.SYSENTER_EIP: msrLo = c.sysenterEip; msrHi = c.sysenterEipHi; return true;
    case Msr.EFER: msrLo = c.efer; msrHi = 0; return true;
    case LongMsrNumber.FS_BASE: case LongMsrNumber.GS_BASE: {
      if (!hasLongMode(c)) return false;
      const s = n === LongMsrNumber.FS_BASE ? Seg.FS : Seg.GS;
      msrLo = c.segBase[s]; msrHi = c.segBaseHi[s]; return true;
    }
    case LongMsrNumber.STAR: case LongMsrNumber.LSTAR: case LongMsrNumber.CSTAR: case LongMsrNumber.FMASK: case LongMsrNumber.KERNEL_GS_BASE: {
      if (!hasLongMode(c)) return false;
      const k = longMsrSlot(n);
      msrLo = c.longMsr[k]; msrHi = c.longMsr[k + 1]; return true;
    }
    case MSR_TSC_AUX: { // with RDTSCP only (rdtscp.ts)
      if (!hasRdtscp(c)) return false;
      const e = c.msrs.get(n);
      msrLo = e !== undefined ? e[0] : 0; msrHi = 0;
      return true;
    }
  }
  // VMX capability MSRs (SDM Vol. 3D Appendix A): only those the VMX unit has exist.
  if (n >= 0x480 && n <= 0x4ff) {
    if (c.vmx === null || !c.vmx.readCapabilityMsr(n, VMX_MSR)) return false;
    msrLo = VMX_MSR[0]; msrHi = VMX_MSR[1];
    return true;
  }
  if (!isStoredMsr(n)) return false;
  const e = c.msrs.get(n);
  msrLo = e ? e[0] : msrDefault(n, false);
  msrHi = e ? e[1] : msrDefault(n, true);
  return true;
}

/** RDMSR of `n` into out[0] (low) and out[1] (high); false if the MSR does not exist (the VMX
 *  MSR-store list of VM exits reads MSRs as RDMSR would, SDM Vol. 3C §28.4). */
export function readMsrTo(c: Cpu, n: number, out: Int32Array): boolean {
  if (!readMsr(c, n)) return false;
  out[0] = msrLo; out[1] = msrHi;
  return true;
}

/** Writes MSR `n`; false (-> #GP(0)) for unknown MSRs and reserved-bit violations. */
export function writeMsr(c: Cpu, n: number, lo: number, hi: number): boolean {
  switch (n) {
    case Msr.TSC: c.tscOffset = (hi >>> 0) * 4294967296 + (lo >>> 0) - (c.tsc() - c.tscOffset); return true;
    case Msr.BIOS_UPDT_TRIG: return true; // no microcode to load
    case Msr.SYSENTER_CS: c.sysenterCs = lo & 0xffff; return true;
    case Msr.SYSENTER_ESP: case Msr.SYSENTER_EIP: {
      // With Intel 64 the MSRs hold 64-bit addresses, canonical or #GP(0) (SDM Vol. 2B WRMSR);
      // without, bits 63:32 are ignored as before.
      const long = hasLongMode(c);
      if (long && !canonicalHalves(lo, hi)) return false;
      if (n === Msr.SYSENTER_ESP) { c.sysenterEsp = lo; c.sysenterEspHi = long ? hi : 0; }
      else { c.sysenterEip = lo; c.sysenterEipHi = long ? hi : 0; }
      return true;
    }
    case Msr.EFER: {
      // NXE only when the model reports NX; LME (long mode) is not implemented yet; LMA is
      // read-only (SDM Vol. 3A §2.2.1).
      const allowed = eferValidBits(c.model);
      if (hi !== 0 || (lo & ~(allowed | Efer.LMA)) !== 0) return false;
      const v = (lo & allowed) | (c.efer & Efer.LMA);
      // LME cannot change while paging is on (SDM Vol. 3A §9.8.5, Vol. 4 IA32_EFER).
      if (((v ^ c.efer) & Efer.LME) !== 0 && (c.cr0 & Cr0.PG) !== 0) return false;
      if (((v ^ c.efer) & Efer.NXE) !== 0) c.tlb.flushAll();
      c.efer = v;
      return true;
    }
    case LongMsrNumber.FS_BASE: case LongMsrNumber.GS_BASE: case LongMsrNumber.LSTAR: case LongMsrNumber.CSTAR:
    case LongMsrNumber.KERNEL_GS_BASE: {
      // Addresses: #GP(0) unless canonical (SDM Vol. 4 Table 2-2, Vol. 2B WRMSR).
      if (!hasLongMode(c) || !canonicalHalves(lo, hi)) return false;
      const k = longMsrSlot(n);
      if (k === -1) { const s = n === LongMsrNumber.FS_BASE ? Seg.FS : Seg.GS; c.segBase[s] = lo; c.segBaseHi[s] = hi; }
      else { c.longMsr[k] = lo; c.longMsr[k + 1] = hi; }
      return true;
    }
    case LongMsrNumber.STAR: case LongMsrNumber.FMASK: {
      if (!hasLongMode(c)) return false;
      const k = longMsrSlot(n);
      c.longMsr[k] = lo; c.longMsr[k + 1] = hi;
      return true;
    }
    case Msr.APIC_BASE:
      if (c.lapic !== null) return c.lapic.writeBaseMsr(lo, hi);
      // No local APIC: plain storage. Bits 8 (BSP, read-only), 11 (enable), 35:12 (base).
      if ((lo & 0x6ff) !== 0 || (hi & ~0xf) !== 0) return false;
      lo = (lo & ~0x100) | 0x100;
      break;
    case MSR_TSC_AUX: // bits 63:32 reserved (SDM Vol. 4 Table 2-2)
      if (!hasRdtscp(c) || hi !== 0) return false;
      break;
    case Msr.FEATURE_CONTROL: {
      const e = c.msrs.get(n);
      if (e && (e[0] & 1) !== 0) return false; // locked until reset
      // Bit 1, VMX inside SMX operation, exists with SMX only (SDM Vol. 4 Table 2-2: "BIOS must
      // set this bit only when the CPUID function 1 returns VMX feature flag and SMX feature
      // flag set"); without SMX it is reserved.
      const smx = (c.model.leaf1Ecx & Cpuid1Ecx.SMX) !== 0;
      if ((lo & ~(smx ? 7 : 5)) !== 0 || hi !== 0) return false;
      break;
    }
    default:
      if (!isStoredMsr(n)) return false;
  }
  const e = c.msrs.get(n);
  if (e) { e[0] = lo; e[1] = hi; } else c.msrs.set(n, [lo, hi]);
  return true;
}

/** 0F 32 RDMSR. */
function rdmsr(c: Cpu): void {
  needCpl0(c);
  if (c.nonRoot && c.vmx!.tryMsr(false)) return;
  if (!readMsr(c, c.r32[1] >>> 0)) c.gp(0);
  c.r32[0] = msrLo; c.r32[2] = msrHi;
}
/** 0F 30 WRMSR. */
function wrmsr(c: Cpu): void {
  needCpl0(c);
  if (c.nonRoot && c.vmx!.tryMsr(true)) return;
  if (!writeMsr(c, c.r32[1] >>> 0, c.r32[0], c.r32[2])) c.gp(0);
}

/** 0F 31 RDTSC: CR4.TSD restricts it to CPL 0. */
function rdtsc(c: Cpu): void {
  if ((c.cr4 & Cr4.TSD) !== 0 && c.protectedMode() && (c.cpl !== 0 || c.v86())) c.gp(0);
  if (c.nonRoot && c.vmx!.tryInstructionExit(X_RDTSC, 0)) return;
  const t = c.nonRoot ? c.vmx!.guestTsc() : c.tsc();
  c.r32[0] = t % 4294967296 | 0;
  c.r32[2] = Math.floor(t / 4294967296) | 0;
}

/** 0F 33 RDPMC: CPL 0 or CR4.PCE; two counters (P6), which count nothing here. */
function rdpmc(c: Cpu): void {
  if ((c.cr4 & Cr4.PCE) === 0 && c.protectedMode() && (c.cpl !== 0 || c.v86())) c.gp(0);
  if (c.nonRoot) c.vmx!.instructionExit(X_RDPMC, 0); // before the #GP for ECX (§26.1.1)
  if ((c.r32[1] >>> 0) > 1) c.gp(0);
  c.r32[0] = 0; c.r32[2] = 0;
}

/** 0F A2 CPUID. */
function cpuid(c: Cpu): void {
  if (c.nonRoot && c.vmx!.tryInstructionExit(X_CPUID, 0)) return;
  const o = c.cpuidOut;
  cpuidLeaf(c.model, c.r32[0], c.r32[1], o);
  if ((c.r32[0] >>> 0) === 1) cpuidLeaf1Apic(o, c.apicId, c.lapic !== null && c.lapic.hwEnabled);
  cpuidXsaveDynamic(c.model, c.r32[0], c.r32[1], (c.cr4 & Cr4.OSXSAVE) !== 0, c.xcr0, o);
  c.r32[0] = o[0]; c.r32[3] = o[1]; c.r32[1] = o[2]; c.r32[2] = o[3];
}

// ======================================================================================
// SYSENTER / SYSEXIT (SDM Vol. 2B; flat segments derived from IA32_SYSENTER_CS)
// ======================================================================================

function flatSeg(c: Cpu, seg: number, sel: number, attr: number): void {
  c.segSel[seg] = sel;
  c.segBase[seg] = 0;
  c.segBaseHi[seg] = 0;
  c.segLimit[seg] = 0xffffffff;
  c.segAttr[seg] = attr;
  c.updateSegLimits(seg);
}

/** 0F 34 SYSENTER: ring 0, CS = SYSENTER_CS, SS = CS + 8, flat 32-bit; clears VM, IF, RF. In
 *  IA-32e mode CS is 64-bit code and RSP/RIP take all 64 bits of the MSRs (SDM Vol. 2B SYSENTER). */
function sysenter(c: Cpu): void {
  if (!c.protectedMode()) c.gp(0);
  const cs = c.sysenterCs & 0xfffc;
  if (cs === 0) c.gp(0);
  c.setFlags(0, Flag.VM | Flag.IF | Flag.RF);
  c.setCpl(0);
  if ((c.efer & Efer.LMA) !== 0) {
    flatSeg(c, Seg.CS, cs, 0xa09b); // G, L, P, DPL 0, code execute/read accessed
    flatSeg(c, Seg.SS, cs + 8, 0xc093);
    c.r32[4] = c.sysenterEsp; c.r32hi[4] = c.sysenterEspHi;
    c.eip = (c.sysenterEipHi | 0) * 4294967296 + (c.sysenterEip >>> 0);
    c.modeChanged();
    return;
  }
  flatSeg(c, Seg.CS, cs, 0xc09b); // G, D, P, DPL 0, code execute/read accessed
  flatSeg(c, Seg.SS, cs + 8, 0xc093); // G, B, P, DPL 0, data read/write accessed
  c.r32[4] = c.sysenterEsp;
  c.eip = c.sysenterEip >>> 0;
  c.modeChanged();
}

/** 0F 35 SYSEXIT: ring 3, CS = SYSENTER_CS + 16, SS = + 24, EIP = EDX, ESP = ECX. In 64-bit
 *  mode with REX.W: CS = + 32 (64-bit code), SS = + 40, RIP = RDX (canonical, else #GP(0)), RSP =
 *  RCX (SDM Vol. 2B SYSEXIT). */
function sysexit(c: Cpu): void {
  const cs = c.sysenterCs & 0xfffc;
  if (!c.protectedMode() || c.v86() || c.cpl !== 0 || cs === 0) c.gp(0);
  if (c.mode64 && D64.w) {
    if (!canonicalHalves(c.r32[2], c.r32hi[2])) c.gp(0);
    c.setCpl(3);
    flatSeg(c, Seg.CS, (cs + 32) | 3, 0xa0fb);
    flatSeg(c, Seg.SS, (cs + 40) | 3, 0xc0f3);
    c.r32[4] = c.r32[1]; c.r32hi[4] = c.r32hi[1];
    c.eip = (c.r32hi[2] | 0) * 4294967296 + (c.r32[2] >>> 0);
    return;
  }
  if (c.mode64) c.r32hi[4] = 0; // ESP/EIP loads zero-extend in IA-32e mode
  c.setCpl(3);
  flatSeg(c, Seg.CS, (cs + 16) | 3, 0xc0fb);
  flatSeg(c, Seg.SS, (cs + 24) | 3, 0xc0f3);
  c.r32[4] = c.r32[1];
  c.eip = c.r32[2] >>> 0;
}

// ======================================================================================
// Misc
// ======================================================================================

/** 63 ARPL Ew,Gw: raise the destination RPL to the source's (ZF=1 when changed). */
function arpl(c: Cpu): void {
  needPm(c);
  c.decodeModrm();
  const dst = c.rmRead16();
  const src = c.r16[c.modReg << 1];
  if ((dst & 3) < (src & 3)) { c.rmWrite16((dst & ~3) | (src & 3)); setZf(c, true); }
  else setZf(c, false);
}

function clts(c: Cpu): void {
  needCpl0(c);
  if (c.nonRoot && !c.vmx!.clts()) return; // TS owned by the host, read shadow 0: unchanged
  c.cr0 &= ~Cr0.TS;
}
/** INVD / WBINVD: no caches are modelled. */
function invd(c: Cpu): void { needCpl0(c); if (c.nonRoot) c.vmx!.instructionExit(X_INVD, 0); }
function wbinvd(c: Cpu): void { needCpl0(c); if (c.nonRoot) c.vmx!.instructionExit(X_WBINVD, 0); }

export const SYSTEM_ROWS: readonly OpRow[] = [
  { code: 0x63, name: 'ARPL Ew,Gw', exec: arpl },
  { code: 0x0f00, name: 'GRP6 (SLDT STR LLDT LTR VERR VERW) Ew', exec: group6, exits: [X_LDTR_TR] },
  { code: 0x0f01, name: 'GRP7 (SGDT SIDT LGDT LIDT SMSW LMSW INVLPG)', exec: group7, exits: [X_GDTR_IDTR, X_CR, X_INVLPG] },
  { code: 0x0f02, name: 'LAR Gv,Ew', exec: lar },
  { code: 0x0f03, name: 'LSL Gv,Ew', exec: lsl },
  { code: 0x0f06, name: 'CLTS', exec: clts, exits: [X_CR] },
  { code: 0x0f08, name: 'INVD', exec: invd, exits: [X_INVD] },
  { code: 0x0f09, name: 'WBINVD', exec: wbinvd, exits: [X_WBINVD] },
  { code: 0x0f0b, name: 'UD2', exec: (c: Cpu) => c.ud() },
  { code: 0x0f20, name: 'MOV Rd,Cd', exec: movFromCr, exits: [X_CR] },
  { code: 0x0f21, name: 'MOV Rd,Dd', exec: movFromDr, exits: [X_MOV_DR] },
  { code: 0x0f22, name: 'MOV Cd,Rd', exec: movToCr, exits: [X_CR] },
  { code: 0x0f23, name: 'MOV Dd,Rd', exec: movToDr, exits: [X_MOV_DR] },
  { code: 0x0f30, name: 'WRMSR', exec: wrmsr, exits: [X_WRMSR] },
  { code: 0x0f31, name: 'RDTSC', exec: rdtsc, exits: [X_RDTSC] },
  { code: 0x0f32, name: 'RDMSR', exec: rdmsr, exits: [X_RDMSR] },
  { code: 0x0f33, name: 'RDPMC', exec: rdpmc, exits: [X_RDPMC] },
  { code: 0x0f34, name: 'SYSENTER', exec: sysenter },
  { code: 0x0f35, name: 'SYSEXIT', exec: sysexit },
  { code: 0x0fa2, name: 'CPUID', exec: cpuid, exits: [X_CPUID] },
  // RDTSCP, RDRAND/RDSEED, INVPCID, MONITOR/MWAIT, XGETBV/XSETBV/XSAVE/XRSTOR and GETSEC have
  // files of their own (rdtscp.ts, random.ts, invpcid.ts, monitor.ts, xsave.ts, getsec.ts).
];

registerRows(SYSTEM_ROWS);
