// EPT and VPID for one logical processor (SDM Vol. 3C §29.1 "Virtual Processor Identifiers",
// §29.3 "The Extended Page Table Mechanism", §29.4 "Caching Translation Information"). The VMX
// unit calls it at VM entry and exit and for INVEPT/INVVPID (ept-hooks.ts); while a guest with
// "enable EPT" runs it is the CPU TLB's second-level translation (cpu/nested-paging.ts).
//
// What is cached, and how it is tagged (§29.4.1): the CPU's TLB keeps spaces of entries tagged
// by (VPID, EP4TA). Linear mappings (EPT off) are tagged (VPID, -1), combined mappings (EPT on)
// (VPID, EP4TA); the host runs with VPID 0000H. Guest-physical mappings are not cached: every
// TLB miss walks the EPT in memory. Without "enable VPID" the guest runs with VPID 0000H too,
// and every VM entry and VM exit flushes that space (§29.1: "If VPIDs are not enabled, ... VM
// entries and VM exits invalidate linear and combined mappings associated with VPID 0000H"); with
// it, entries and exits only switch spaces.
import type { Cpu } from '../../cpu/cpu';
import { NestedAccess, NestedPerm, type NestedMmu } from '../../cpu/nested-paging';
import { Cr0, Cr4 } from '../../cpu/regs';
import { paePdpteInvalid } from '../../cpu/paging';
import type { GuestLinear, GuestPhysical, HostPhysical } from '../../platform/address';
import { asGuestPhysical, asLinear } from '../../platform/address';
import { PHYS_LIMIT } from '../../platform/memory';
import { ApicAccessKind } from '../../cpu/vmx-hooks';
import type { VmxCapabilities } from '../capabilities';
import { EntryCtls, ProcBasedCtls, ProcBasedCtls2 } from '../controls';
import type { EptExitSink, EptHooks } from '../ept-hooks';
import { VmcsField } from '../fields';
import type { CurrentVmcs, VmcsReader } from '../vmcs';
import { ep4ta } from './eptp';
import { eptViolationQualification } from './qualification';
import { EptOutcome, EptWalker, eptFeaturesOf } from './walk';

/** The TLB space tag of the host and of guests without VPID (VPID 0000H, no EPT tag). */
const HOST_VPID = 0;
const NO_EP4TA = -1;

/** INVVPID types (§31.3 INVVPID). */
export enum InvvpidType { IndividualAddress = 0, SingleContext = 1, AllContext = 2, SingleContextRetainingGlobals = 3 }
/** INVEPT types (§31.3 INVEPT). */
export enum InveptType { SingleContext = 1, AllContext = 2 }

const PDPTE_FIELDS = [VmcsField.GuestPdpte0, VmcsField.GuestPdpte1, VmcsField.GuestPdpte2, VmcsField.GuestPdpte3] as const;

/** Exits before the VMX unit connects its VM-exit code: a clear error, never a silent pass. */
const NO_SINK: EptExitSink = {
  eptViolation(q, gla, gpa): never {
    throw new Error(`EPT violation (qualification 0x${q.toString(16)}, linear 0x${gla.toString(16)}, guest-physical 0x${gpa.toString(16)}) with no VM-exit code connected`);
  },
  eptMisconfiguration(gpa): never {
    throw new Error(`EPT misconfiguration at guest-physical 0x${gpa.toString(16)} with no VM-exit code connected`);
  },
  nmiUnblockedByIret: () => false,
};

export class EptUnit implements EptHooks, NestedMmu {
  readonly walker: EptWalker;
  /** Where violations and misconfigurations go (the VMX unit's VM-exit code). */
  sink: EptExitSink = NO_SINK;
  /** NestedMmu: rights of the last translation. */
  perm = 0;
  /** NestedMmu: the guest's PDPTE registers under EPT. */
  readonly pdpte = new Int32Array(8);
  /** A guest with "enable EPT" runs (this unit is the TLB's second level). */
  eptActive = false;
  /** The running guest's "enable VPID" and VPID. */
  vpidActive = false;
  vpid = 0;
  /** The running guest's EPTP (low dword). */
  eptpLo = 0;
  private readonly scratch = new Int32Array(8);

  constructor(readonly cpu: Cpu, readonly caps: VmxCapabilities) {
    this.walker = new EptWalker(cpu.mem, eptFeaturesOf(caps.eptCap), caps.pointerWidth);
  }

  // ---- NestedMmu ---------------------------------------------------------------------------

  translate(gpa: GuestPhysical, access: number, lin: GuestLinear, pagingEntry: boolean): HostPhysical {
    return this.translateAccess(gpa, access, lin, pagingEntry, true);
  }

  private translateAccess(gpa: GuestPhysical, access: number, lin: GuestLinear, pagingEntry: boolean, glaValid: boolean): HostPhysical {
    const w = this.walker;
    // With EPT accessed/dirty flags, accesses to guest paging structures are writes (§29.3.5).
    const a = pagingEntry && w.accessedDirty ? NestedAccess.Read | NestedAccess.Write : access;
    const hpa = w.translate(gpa, a);
    if (w.outcome === EptOutcome.Ok) {
      this.perm = w.perm | (w.dirtyOk ? NestedPerm.WriteCached : 0);
      // A guest paging-structure access (walk, A/D update, PDPTE load) that reaches the
      // APIC-access page: an APIC-access VM exit, after the EPT checks (SDM Vol. 3C §30.4.6.1,
      // §30.4.1). cpu.apicAccessPage is -1 unless "virtualize APIC accesses" is 1.
      if (pagingEntry && hpa < PHYS_LIMIT && (hpa & ~0xfff) === this.cpu.apicAccessPage) {
        this.cpu.vmx!.apicAccess(hpa & 0xfff, 8, ApicAccessKind.GuestPhysical, 0);
      }
      return hpa;
    }
    if (w.outcome === EptOutcome.Misconfiguration) return this.sink.eptMisconfiguration(gpa);
    const q = eptViolationQualification(a, w.perm, glaValid, !pagingEntry, this.sink.nmiUnblockedByIret());
    return this.sink.eptViolation(q, glaValid ? lin : asLinear(0), gpa);
  }

  loadPdptes(cr0: number, cr3: number, cr4: number): void {
    if ((cr0 & Cr0.PG) === 0 || (cr4 & Cr4.PAE) === 0) return;
    // The PDPT is 32 bytes, 32-byte aligned: one page, one translation. The guest-linear address
    // is not valid for these accesses (qualification bit 7 clear).
    const gpa = asGuestPhysical(cr3 & ~0x1f);
    const hpa = this.translateAccess(gpa, NestedAccess.Read, asLinear(0), true, false);
    const m = this.cpu.mem, s = this.scratch;
    for (let i = 0; i < 8; i++) s[i] = m.read32(hpa + i * 4);
    // A present PDPTE with a reserved bit set (bits 63:36 with MAXPHYADDR 36, 8:5, 2:1): #GP(0),
    // the registers unchanged (Vol. 3A §4.4.1); bits 35:32 are address bits.
    for (let i = 0; i < 4; i++) if (paePdpteInvalid(s[i * 2], s[i * 2 + 1])) this.cpu.gp(0);
    this.pdpte.set(s);
  }

  // ---- EptHooks: VM entry and exit ---------------------------------------------------------

  guestPdpteProblem(v: VmcsReader): string | null {
    const cr0 = v.lo(VmcsField.GuestCr0), cr4 = v.lo(VmcsField.GuestCr4);
    if ((cr0 & Cr0.PG) === 0 || (cr4 & Cr4.PAE) === 0 || (v.lo(VmcsField.VmEntryControls) & EntryCtls.Ia32eModeGuest) !== 0) return null;
    const fromVmcs = (secondaryControls(v) & ProcBasedCtls2.EnableEpt) !== 0;
    const base = v.lo(VmcsField.GuestCr3) & ~0x1f, m = this.cpu.mem;
    for (let i = 0; i < 4; i++) {
      const lo = fromVmcs ? v.lo(PDPTE_FIELDS[i]) : m.read32(base + i * 8);
      const hi = fromVmcs ? v.hi(PDPTE_FIELDS[i]) : m.read32(base + i * 8 + 4);
      if (paePdpteInvalid(lo, hi)) {
        const where = fromVmcs ? `guest PDPTE${i} field` : `PDPTE ${i} at guest CR3 0x${base.toString(16)}`;
        return `${where} 0x${(hi >>> 0).toString(16).padStart(8, '0')}_${(lo >>> 0).toString(16).padStart(8, '0')} sets reserved bits`;
      }
    }
    return null;
  }

  onEntry(v: VmcsReader): void {
    const proc2 = secondaryControls(v);
    const ept = (proc2 & ProcBasedCtls2.EnableEpt) !== 0;
    this.vpidActive = (proc2 & ProcBasedCtls2.EnableVpid) !== 0;
    this.vpid = this.vpidActive ? v.lo(VmcsField.VirtualProcessorId) & 0xffff : HOST_VPID;
    this.eptActive = ept;
    const c = this.cpu, t = c.tlb;
    if (ept) {
      this.eptpLo = v.lo(VmcsField.EptPointer);
      this.walker.setEptp(this.eptpLo);
      // §27.3.2.4 "Loading Page-Directory-Pointer-Table Entries": with EPT, from the VMCS.
      if ((c.cr0 & Cr0.PG) !== 0 && (c.cr4 & Cr4.PAE) !== 0) {
        for (let i = 0; i < 4; i++) { this.pdpte[i * 2] = v.lo(PDPTE_FIELDS[i]); this.pdpte[i * 2 + 1] = v.hi(PDPTE_FIELDS[i]); }
      }
    }
    if (this.vpidActive) t.selectSpace(this.vpid, ept ? ep4ta(this.eptpLo) : NO_EP4TA);
    else { t.selectSpace(HOST_VPID, NO_EP4TA); t.flushCurrent(); }
    t.nested = ept ? this : null;
    c.invalidateFetch();
  }

  onExit(v: CurrentVmcs): void {
    const c = this.cpu, t = c.tlb;
    // §28.3.4 "Saving Non-Register State": with EPT and PAE paging the PDPTEs are saved.
    if (this.eptActive && (c.cr0 & Cr0.PG) !== 0 && (c.cr4 & Cr4.PAE) !== 0) {
      for (let i = 0; i < 4; i++) { v.setLo(PDPTE_FIELDS[i], this.pdpte[i * 2]); v.setHi(PDPTE_FIELDS[i], this.pdpte[i * 2 + 1]); }
    }
    t.nested = null;
    this.eptActive = false;
    if (this.vpidActive) t.selectSpace(HOST_VPID, NO_EP4TA); else t.flushCurrent();
    this.vpidActive = false;
    this.vpid = HOST_VPID;
    c.invalidateFetch();
  }

  // ---- EptHooks: INVEPT / INVVPID (§29.4.3.1 "Operations that Invalidate Cached Mappings") ---

  invept(type: number, eptpLo: number, _eptpHi: number): void {
    const t = this.cpu.tlb;
    if (type === InveptType.SingleContext) {
      // Combined mappings for the EP4TA, every VPID (guest-physical mappings: none cached).
      const tag = ep4ta(eptpLo);
      t.flushSpaces((_vpid, ept) => ept === tag, false);
    } else {
      t.flushSpaces((_vpid, ept) => ept !== NO_EP4TA, false);
    }
  }

  invvpid(type: number, vpid: number, linear: number): void {
    const t = this.cpu.tlb;
    switch (type) {
      case InvvpidType.IndividualAddress:
        t.invalidateRegion((a) => a === vpid, linear);
        return;
      case InvvpidType.SingleContext:
        t.flushSpaces((a) => a === vpid, false);
        return;
      case InvvpidType.AllContext:
        t.flushSpaces((a) => a !== HOST_VPID, false);
        return;
      default:
        t.flushSpaces((a) => a === vpid, true);
    }
  }

  reset(): void {
    const t = this.cpu.tlb;
    t.nested = null;
    this.eptActive = false; this.vpidActive = false; this.vpid = HOST_VPID;
    t.selectSpace(HOST_VPID, NO_EP4TA);
    t.flushAll();
  }
}

/** The secondary processor-based controls as VM entry applies them: 0 unless "activate
 *  secondary controls" is 1 (§25.6.2). */
export function secondaryControls(v: VmcsReader): number {
  return (v.lo(VmcsField.ProcBasedControls) & ProcBasedCtls.ActivateSecondaryControls) !== 0 ? v.lo(VmcsField.ProcBasedControls2) : 0;
}
