// The checks VM entry makes on the guest-state area after those on the controls and the host
// state passed (SDM Vol. 3C §27.3.1 "Checks on the Guest State Area"). A failure is not a
// VMfail: VM entry fails "during or after loading guest state" (§27.8), an exit with basic reason
// 33 and bit 31 set, whose exit qualification says what kind of check failed. Pure functions of
// the VMCS, the capabilities and physical memory (the VMCS link pointer's region; the PAE
// PDPTEs through EptHooks); each failure names the check.
//
// The Intel 64 items (canonical bases, bits 63:32 of natural-width fields, the IA-32e mode guest
// rules) apply when the CPU model has long mode (caps.isa.longMode); without it natural-width
// fields are 32 bits wide and "IA-32e mode guest" never passes the host-state checks (§27.2.4).
import { Cr0, Cr4, Efer, Flag } from '../cpu/regs';
import { beyondWidth, canonicalField, eferFieldBits, pair } from './entry-checks';
import type { PhysicalMemory } from '../platform/memory';
import type { VmxCapabilities } from './capabilities';
import { EntryCtls, PinBasedCtls, ProcBasedCtls2 } from './controls';
import type { EptHooks } from './ept-hooks';
import { guestCr0Problem, guestRflagsVmProblem, guestSegmentDplProblem } from './ept/unrestricted';
import { IntrType, INTR_VALID } from './exit-info';
import { GUEST_SEGMENT_FIELDS, VmcsField as V } from './fields';
import { VmxFeature } from './features';
import type { VmcsReader } from './vmcs';

/** Exit qualification of a VM-entry failure with basic reason 33 (§27.8). */
export enum EntryFailureQualification {
  Default = 0,
  /** The PAE PDPTEs (§27.3.1.6). */
  Pdpte = 2,
  /** An NMI injected while the interruptibility state says blocking by STI (§27.3.1.5: a check
   *  some processors make; vmxlab does). */
  NmiInjectionStiBlocking = 3,
  /** The VMCS link pointer (§27.3.1.5). */
  LinkPointer = 4,
}

export interface GuestCheckFailure {
  readonly qualification: EntryFailureQualification;
  /** Which check failed, e.g. "guest RFLAGS 0x00000000: bit 1 must be 1". */
  readonly check: string;
}

/** Guest activity states (§25.4.2). */
export enum ActivityState { Active = 0, Hlt = 1, Shutdown = 2, WaitForSipi = 3 }

const hex = (v: number, digits = 8): string => `0x${(v >>> 0).toString(16).padStart(digits, '0')}`;
const fail = (check: string, qualification = EntryFailureQualification.Default): GuestCheckFailure => ({ qualification, check });

// Valid IA32_PAT memory types (Vol. 3A §12.12.2): UC, WC, WT, WP, WB, UC-.
const PAT_TYPE_OK = [1, 1, 0, 0, 1, 1, 1, 1];
/** IA32_DEBUGCTL bits that exist (Vol. 4 Table 2-2): LBR, BTF and bits 15:6; 5:2 are reserved. */
const DEBUGCTL_VALID = 0xffc3;
/** RFLAGS reserved bits (§27.3.1.4): 31:22, 15, 5 and 3 must be 0; bit 1 must be 1. */
const RFLAGS_RESERVED = 0xffc08028 | 0;
/** Interruptibility state (§25.4.2 Table 25-3): 0 STI, 1 MOV SS, 2 SMI, 3 NMI, 4 enclave
 *  interruption (SGX: not modelled, so reserved with bits 31:5). */
export enum Interruptibility { Sti = 1 << 0, MovSs = 1 << 1, Smi = 1 << 2, Nmi = 1 << 3 }
const INTERRUPTIBILITY_RESERVED = ~0xf;
/** Pending debug exceptions (§25.4.2 Table 25-4): B3-B0, 12 enabled breakpoint, 14 BS; bit 16
 *  (RTM) needs RTM, not modelled. */
export enum PendingDebug { B0toB3 = 0xf, EnabledBreakpoint = 1 << 12, Bs = 1 << 14 }
const PENDING_DEBUG_VALID = 0x500f;

/** ES, CS, SS, DS, FS, GS (LDTR and TR have checks of their own). */
const SEGMENTS = GUEST_SEGMENT_FIELDS.slice(0, 6);
const UNUSABLE = 1 << 16;
/** Access-rights bits 11:8 and 31:17 are reserved (§27.3.1.2). */
const AR_RESERVED = 0xfffe0f00 | 0;

/** The G bit against the limit (§27.3.1.2): a limit with any of bits 11:0 clear needs G = 0, one
 *  with any of bits 31:20 set needs G = 1. */
function granularityProblem(name: string, limit: number, ar: number): string | null {
  const g = (ar & (1 << 15)) !== 0;
  if ((limit & 0xfff) !== 0xfff && g) return `guest ${name} limit ${hex(limit)} has bits 11:0 not all 1 but G = 1`;
  if ((limit >>> 20) !== 0 && !g) return `guest ${name} limit ${hex(limit)} has bits 31:20 set but G = 0`;
  return null;
}

/** §27.3.1.2 for one usable segment: S, P, reserved bits, G. `system`: TR and LDTR (S = 0). */
function commonSegmentProblem(name: string, limit: number, ar: number, system: boolean): string | null {
  if (((ar & (1 << 4)) !== 0) === system) return `guest ${name} access rights ${hex(ar)}: S must be ${system ? 0 : 1}`;
  if ((ar & (1 << 7)) === 0) return `guest ${name} access rights ${hex(ar)}: P must be 1`;
  if ((ar & AR_RESERVED) !== 0) return `guest ${name} access rights ${hex(ar)}: reserved bits 11:8 or 31:17 set`;
  return granularityProblem(name, limit, ar);
}

/** §27.3.1.2 "Checks on Guest Segment Registers". */
function segmentProblem(v: VmcsReader, ug: boolean, v86: boolean, ia32e: boolean): string | null {
  const trSel = v.lo(V.GuestTrSelector) & 0xffff, ldtrSel = v.lo(V.GuestLdtrSelector) & 0xffff;
  const ldtrAr = v.lo(V.GuestLdtrAccessRights), trAr = v.lo(V.GuestTrAccessRights);
  if ((trSel & 4) !== 0) return `guest TR selector ${hex(trSel, 4)} has TI set`;
  if ((ldtrAr & UNUSABLE) === 0 && (ldtrSel & 4) !== 0) return `guest LDTR selector ${hex(ldtrSel, 4)} has TI set`;
  if (v86) {
    // Virtual-8086 guest: every segment as VM86 mode defines it.
    for (const [selF, baseF, limF, arF, name] of SEGMENTS) {
      const sel = v.lo(selF) & 0xffff, base = v.lo(baseF), lim = v.lo(limF), ar = v.lo(arF);
      if (base !== (sel << 4) >>> 0) return `guest ${name} base ${hex(base)} is not selector ${hex(sel, 4)} << 4 (virtual-8086 guest)`;
      if (lim !== 0xffff) return `guest ${name} limit ${hex(lim)} is not 0000FFFFH (virtual-8086 guest)`;
      if (ar !== 0xf3) return `guest ${name} access rights ${hex(ar)} are not 000000F3H (virtual-8086 guest)`;
    }
  } else {
    // SS RPL, CS type, and the DPLs: the items "unrestricted guest" relaxes (ept/unrestricted.ts).
    const p = guestSegmentDplProblem(v, ug);
    if (p !== null) return p;
    for (const [, , limF, arF, name] of SEGMENTS) {
      const ar = v.lo(arF), lim = v.lo(limF), type = ar & 0xf;
      if (name === 'CS') {
        const q = commonSegmentProblem(name, lim, ar & ~UNUSABLE, false);
        if (q !== null) return q;
        // 64-bit code (L = 1) has D = 0 (§27.3.1.2, "IA-32e mode guest" 1).
        if (ia32e && (ar & (1 << 13)) !== 0 && (ar & (1 << 14)) !== 0) return `guest CS access rights ${hex(ar)}: L and D/B both 1`;
        continue;
      }
      if ((ar & UNUSABLE) !== 0) continue;
      if (name === 'SS' && type !== 3 && type !== 7) return `guest SS type ${type} is not 3 or 7 (read/write accessed data)`;
      if (name !== 'SS') {
        if ((type & 1) === 0) return `guest ${name} type ${type} is not accessed`;
        if ((type & 8) !== 0 && (type & 2) === 0) return `guest ${name} type ${type} is an unreadable code segment`;
      }
      const q = commonSegmentProblem(name, lim, ar, false);
      if (q !== null) return q;
    }
  }
  // TR: usable, a busy 32-bit (11) or 16-bit (3) TSS.
  if ((trAr & UNUSABLE) !== 0) return 'guest TR is unusable';
  const trType = trAr & 0xf;
  if (ia32e && trType !== 11) return `guest TR type ${trType} is not 11 (busy 64-bit TSS) with "IA-32e mode guest" 1`;
  if (trType !== 11 && trType !== 3) return `guest TR type ${trType} is not a busy TSS (3 or 11)`;
  let q = commonSegmentProblem('TR', v.lo(V.GuestTrLimit), trAr, true);
  if (q !== null) return q;
  if ((ldtrAr & UNUSABLE) === 0) {
    if ((ldtrAr & 0xf) !== 2) return `guest LDTR type ${ldtrAr & 0xf} is not 2 (LDT)`;
    q = commonSegmentProblem('LDTR', v.lo(V.GuestLdtrLimit), ldtrAr, true);
    if (q !== null) return q;
  }
  return null;
}

/** The Intel 64 items of §27.3.1.1: "IA-32e mode guest" needs CR0.PG and CR4.PAE, CR4.PCIDE
 *  needs it; CR3 within the physical-address width; DR7 bits 63:32 with "load debug controls";
 *  canonical IA32_SYSENTER_ESP/EIP. */
function ia32eControlRegisterProblem(v: VmcsReader, caps: VmxCapabilities, entry: number, ia32e: boolean, cr0: number, cr4: number): string | null {
  if (ia32e && (cr0 & Cr0.PG) === 0) return `guest CR0 ${hex(cr0)}: PG is 0 with "IA-32e mode guest" 1`;
  if (ia32e && (cr4 & Cr4.PAE) === 0) return `guest CR4 ${hex(cr4)}: PAE is 0 with "IA-32e mode guest" 1`;
  if (!ia32e && (cr4 & Cr4.PCIDE) !== 0) return `guest CR4 ${hex(cr4)}: PCIDE is 1 with "IA-32e mode guest" 0`;
  if (beyondWidth(v.hi(V.GuestCr3), caps.pointerWidth)) return `guest CR3 ${pair(v, V.GuestCr3)} sets bits beyond the ${caps.pointerWidth}-bit physical-address width`;
  if ((entry & EntryCtls.LoadDebugControls) !== 0 && v.hi(V.GuestDr7) !== 0) return `guest DR7 ${pair(v, V.GuestDr7)} sets bits 63:32`;
  if (!canonicalField(v, V.GuestIa32SysenterEsp)) return `guest IA32_SYSENTER_ESP ${pair(v, V.GuestIa32SysenterEsp)} is not canonical`;
  if (!canonicalField(v, V.GuestIa32SysenterEip)) return `guest IA32_SYSENTER_EIP ${pair(v, V.GuestIa32SysenterEip)} is not canonical`;
  return null;
}

/** The Intel 64 base-address items of §27.3.1.2: TR, FS, GS (and LDTR if usable) canonical; CS,
 *  and SS, DS, ES if usable, with bits 63:32 clear. */
function ia32eSegmentProblem(v: VmcsReader): string | null {
  for (const [, baseF, , arF, name] of GUEST_SEGMENT_FIELDS) {
    const usable = (v.lo(arF) & UNUSABLE) === 0;
    if (name === 'TR' || name === 'FS' || name === 'GS' || (name === 'LDTR' && usable)) {
      if (!canonicalField(v, baseF)) return `guest ${name} base ${pair(v, baseF)} is not canonical`;
    } else if ((name === 'CS' || (usable && name !== 'LDTR')) && v.hi(baseF) !== 0) {
      return `guest ${name} base ${pair(v, baseF)} sets bits 63:32`;
    }
  }
  return null;
}

/**
 * §27.3.1 on the current VMCS. `ept` supplies the PAE PDPTE check (§27.3.1.6, from the VMCS with
 * EPT, else from guest CR3). Returns the first failure, or null.
 */
export function checkGuestState(v: VmcsReader, caps: VmxCapabilities, mem: PhysicalMemory, ept: EptHooks): GuestCheckFailure | null {
  const proc2 = (v.lo(V.ProcBasedControls) & (1 << 31)) !== 0 ? v.lo(V.ProcBasedControls2) : 0;
  const ug = (proc2 & ProcBasedCtls2.UnrestrictedGuest) !== 0;
  const pin = v.lo(V.PinBasedControls), entry = v.lo(V.VmEntryControls);
  const cr0 = v.lo(V.GuestCr0), cr4 = v.lo(V.GuestCr4), rflags = v.lo(V.GuestRflags);
  const ia32e = (entry & EntryCtls.Ia32eModeGuest) !== 0;

  // ---- §27.3.1.1 control registers, debug registers, MSRs
  let p = guestCr0Problem(caps, cr0, ug);
  if (p !== null) return fail(p);
  if (((cr4 & caps.cr4Fixed0) >>> 0) !== caps.cr4Fixed0) return fail(`guest CR4 ${hex(cr4)} clears bits IA32_VMX_CR4_FIXED0 requires`);
  if ((cr4 & ~caps.cr4Fixed1) !== 0) return fail(`guest CR4 ${hex(cr4)} sets bits IA32_VMX_CR4_FIXED1 forbids`);
  if ((entry & EntryCtls.LoadDebugControls) !== 0) {
    const lo = v.lo(V.GuestIa32Debugctl), hi = v.hi(V.GuestIa32Debugctl);
    if (hi !== 0 || (lo & ~DEBUGCTL_VALID) !== 0) return fail(`guest IA32_DEBUGCTL ${hex(hi)}_${hex(lo).slice(2)} sets reserved bits`);
  }
  if ((entry & EntryCtls.LoadPat) !== 0) {
    const lo = v.lo(V.GuestIa32Pat), hi = v.hi(V.GuestIa32Pat);
    for (let i = 0; i < 8; i++) {
      const t = ((i < 4 ? lo : hi) >>> ((i & 3) * 8)) & 0xff;
      if (t > 7 || PAT_TYPE_OK[t] === 0) return fail(`guest IA32_PAT ${hex(hi)}_${hex(lo).slice(2)}: PA${i} memory type ${t} is invalid`);
    }
  }
  if ((entry & EntryCtls.LoadEfer) !== 0) {
    const lo = v.lo(V.GuestIa32Efer), hi = v.hi(V.GuestIa32Efer);
    if (hi !== 0 || (lo & ~eferFieldBits(caps)) !== 0) return fail(`guest IA32_EFER ${hex(hi)}_${hex(lo).slice(2)} sets reserved bits${caps.isa.longMode ? '' : ' (LMA and LME included: no IA-32e mode)'}`);
    // LMA equals "IA-32e mode guest"; so does LME when CR0.PG = 1.
    if (((lo & Efer.LMA) !== 0) !== ia32e) return fail(`guest IA32_EFER.LMA is ${(lo >>> 10) & 1} with "IA-32e mode guest" ${ia32e ? 1 : 0}`);
    if ((cr0 & Cr0.PG) !== 0 && ((lo & Efer.LME) !== 0) !== ia32e) return fail(`guest IA32_EFER.LME is ${(lo >>> 8) & 1} with CR0.PG = 1 and "IA-32e mode guest" ${ia32e ? 1 : 0}`);
  }
  if (caps.isa.longMode) {
    p = ia32eControlRegisterProblem(v, caps, entry, ia32e, cr0, cr4);
    if (p !== null) return fail(p);
  }

  // ---- §27.3.1.2 segment registers (a virtual-8086 guest: RFLAGS.VM = 1 with CR0.PE = 1)
  const v86 = (rflags & Flag.VM) !== 0 && (cr0 & Cr0.PE) !== 0;
  p = segmentProblem(v, ug, v86, ia32e);
  if (p !== null) return fail(p);
  if (caps.isa.longMode && (p = ia32eSegmentProblem(v)) !== null) return fail(p);

  // ---- §27.3.1.3 descriptor-table registers
  if ((v.lo(V.GuestGdtrLimit) >>> 16) !== 0) return fail(`guest GDTR limit ${hex(v.lo(V.GuestGdtrLimit))} sets bits 31:16`);
  if ((v.lo(V.GuestIdtrLimit) >>> 16) !== 0) return fail(`guest IDTR limit ${hex(v.lo(V.GuestIdtrLimit))} sets bits 31:16`);
  if (caps.isa.longMode) {
    if (!canonicalField(v, V.GuestGdtrBase)) return fail(`guest GDTR base ${pair(v, V.GuestGdtrBase)} is not canonical`);
    if (!canonicalField(v, V.GuestIdtrBase)) return fail(`guest IDTR base ${pair(v, V.GuestIdtrBase)} is not canonical`);
  }

  // ---- §27.3.1.4 RIP and RFLAGS
  const info = v.lo(V.VmEntryInterruptionInfo);
  const injecting = (info & INTR_VALID) !== 0;
  const type = (info >>> 8) & 7, vector = info & 0xff;
  if (caps.isa.longMode) {
    // RIP: bits 63:32 are 0 unless the guest is in 64-bit mode ("IA-32e mode guest" and CS.L),
    // where RIP is canonical (48 linear-address bits). RFLAGS bits 63:22 are reserved; VM is 0
    // for an IA-32e mode guest.
    const csL = (v.lo(V.GuestCsAccessRights) & (1 << 13)) !== 0;
    if (ia32e && csL) { if (!canonicalField(v, V.GuestRip)) return fail(`guest RIP ${pair(v, V.GuestRip)} is not canonical`); }
    else if (v.hi(V.GuestRip) !== 0) return fail(`guest RIP ${pair(v, V.GuestRip)} sets bits 63:32 outside 64-bit mode`);
    if (v.hi(V.GuestRflags) !== 0) return fail(`guest RFLAGS ${pair(v, V.GuestRflags)} sets reserved bits 63:32`);
    if (ia32e && (rflags & Flag.VM) !== 0) return fail('guest RFLAGS.VM is 1 with "IA-32e mode guest" 1');
  }
  if ((rflags & RFLAGS_RESERVED) !== 0 || (rflags & 2) === 0) return fail(`guest RFLAGS ${hex(rflags)}: reserved bits set or bit 1 clear`);
  p = guestRflagsVmProblem(rflags, cr0);
  if (p !== null) return fail(p);
  if (injecting && type === IntrType.External && (rflags & Flag.IF) === 0) return fail('injecting an external interrupt with guest RFLAGS.IF = 0');

  // ---- §27.3.1.5 non-register state
  const activity = v.lo(V.GuestActivityState);
  const irq = v.lo(V.GuestInterruptibilityState);
  const ssDpl = (v.lo(V.GuestSsAccessRights) >>> 5) & 3;
  const supported = activity === ActivityState.Active ||
    (activity === ActivityState.Hlt && caps.features.has(VmxFeature.ActivityHlt)) ||
    (activity === ActivityState.Shutdown && caps.features.has(VmxFeature.ActivityShutdown)) ||
    (activity === ActivityState.WaitForSipi && caps.features.has(VmxFeature.ActivityWaitForSipi));
  if (!supported) return fail(`guest activity state ${activity} is not supported (IA32_VMX_MISC[8:6])`);
  if (activity === ActivityState.Hlt && ssDpl !== 0) return fail(`guest activity state HLT with SS.DPL ${ssDpl}, must be 0`);
  if ((irq & (Interruptibility.Sti | Interruptibility.MovSs)) !== 0 && activity !== ActivityState.Active) {
    return fail(`guest activity state ${activity} with blocking by STI or MOV SS (interruptibility ${hex(irq)}): must be active`);
  }
  if (injecting) {
    const allowed = activity === ActivityState.Active ||
      (activity === ActivityState.Hlt && (type === IntrType.External || type === IntrType.Nmi ||
        (type === IntrType.HardwareException && (vector === 1 || vector === 18)) || (type === IntrType.Other && vector === 0))) ||
      (activity === ActivityState.Shutdown && (type === IntrType.Nmi || (type === IntrType.HardwareException && vector === 18)));
    if (!allowed) return fail(`injecting interruption type ${type} vector ${vector} into activity state ${activity} (an event that state blocks)`);
  }
  if ((irq & INTERRUPTIBILITY_RESERVED) !== 0) return fail(`guest interruptibility state ${hex(irq)} sets reserved bits 31:4`);
  if ((irq & (Interruptibility.Sti | Interruptibility.MovSs)) === (Interruptibility.Sti | Interruptibility.MovSs)) {
    return fail('guest interruptibility state has blocking by both STI and MOV SS');
  }
  if ((irq & Interruptibility.Sti) !== 0 && (rflags & Flag.IF) === 0) return fail('guest blocking by STI with RFLAGS.IF = 0');
  if (injecting && type === IntrType.External && (irq & (Interruptibility.Sti | Interruptibility.MovSs)) !== 0) {
    return fail('injecting an external interrupt with blocking by STI or MOV SS');
  }
  if (injecting && type === IntrType.Nmi && (irq & Interruptibility.MovSs) !== 0) return fail('injecting an NMI with blocking by MOV SS');
  if ((irq & Interruptibility.Smi) !== 0) return fail('guest blocking by SMI outside SMM');
  if (injecting && type === IntrType.Nmi && (pin & PinBasedCtls.VirtualNmis) !== 0 && (irq & Interruptibility.Nmi) !== 0) {
    return fail('injecting an NMI with "virtual NMIs" = 1 and blocking by NMI');
  }
  const pend = v.lo(V.GuestPendingDebugExceptions);
  if ((pend & ~PENDING_DEBUG_VALID) !== 0 || v.hi(V.GuestPendingDebugExceptions) !== 0) return fail(`guest pending debug exceptions ${hex(pend)} set reserved bits`);
  if ((irq & (Interruptibility.Sti | Interruptibility.MovSs)) !== 0 || activity === ActivityState.Hlt) {
    // BS tracks a single step that is pending: TF = 1 without IA32_DEBUGCTL.BTF.
    const btf = (v.lo(V.GuestIa32Debugctl) & 2) !== 0;
    const stepping = (rflags & Flag.TF) !== 0 && !btf;
    if (((pend & PendingDebug.Bs) !== 0) !== stepping) {
      return fail(`guest pending debug exception BS = ${(pend >>> 14) & 1} with RFLAGS.TF = ${(rflags >>> 8) & 1}, IA32_DEBUGCTL.BTF = ${btf ? 1 : 0}`);
    }
  }
  if (injecting && type === IntrType.Nmi && (irq & Interruptibility.Sti) !== 0) {
    return fail('injecting an NMI with blocking by STI', EntryFailureQualification.NmiInjectionStiBlocking);
  }
  const linkLo = v.lo(V.VmcsLinkPointer), linkHi = v.hi(V.VmcsLinkPointer);
  if (!(linkLo === 0xffffffff && linkHi === 0xffffffff)) {
    const link = (what: string): GuestCheckFailure => fail(`VMCS link pointer ${hex(linkHi)}_${hex(linkLo).slice(2)} ${what}`, EntryFailureQualification.LinkPointer);
    if ((linkLo & 0xfff) !== 0) return link('is not 4 KB aligned');
    const w = caps.pointerWidth;
    if ((w <= 32 ? linkHi : linkHi >>> (w - 32)) !== 0) return link(`sets bits beyond the ${w}-bit physical-address width`);
    const rev = mem.read32(linkLo);
    // Bit 31 (shadow VMCS) must equal "VMCS shadowing", which vmxlab does not model: 0.
    if ((rev & 0x7fffffff) !== caps.revisionId || rev < 0) return link(`names a region with revision ${hex(rev)}, not ${hex(caps.revisionId)}`);
  }

  // ---- §27.3.1.6 PAE PDPTEs (ept/unit.ts: from the VMCS with EPT, from guest CR3 without)
  p = ept.guestPdpteProblem(v);
  if (p !== null) return fail(p, EntryFailureQualification.Pdpte);
  return null;
}
