// APIC virtualization (SDM Vol. 3C ch. 30 "APIC Virtualization and Virtual Interrupts", 2023
// numbering): "virtualize APIC accesses" with the APIC-access page (§30.4) and "use TPR shadow"
// with the virtual-APIC page and the TPR threshold (§30.1; MOV CR8 of 64-bit guests through the
// TPR shadow, §30.3, is in nonroot-instructions.ts). vmxlab has no APIC-register
// virtualization, virtual-interrupt delivery or x2APIC virtualization, so:
//   - a linear read of 1-4 bytes within offsets 080H-083H (VTPR) of the APIC-access page, with
//     "use TPR shadow" = 1, is virtualized: it returns the virtual-APIC page's bytes (§30.4.2);
//   - such a write goes to the virtual-APIC page (§30.4.3.1); APIC-write emulation then clears
//     bytes 3:1 of VTPR (§30.4.3.3) and TPR virtualization compares VTPR[7:4] with the TPR
//     threshold's bits 3:0: below it, a trap-like TPR-below-threshold VM exit (reason 43)
//     follows the instruction (§30.1.2);
//   - every other access to the page (other offsets, wider or straddling accesses, any access
//     without "use TPR shadow", instruction fetches) is an APIC-access VM exit (reason 44),
//     fault-like (§30.4.1), with the exit qualification of §28.2.1 (Table 28-6):
//       [11:0]  offset of the access within the APIC-access page
//       [15:12] access type: 0 linear read, 1 linear write, 2 linear instruction fetch,
//               3 linear access during event delivery, 10 guest-physical access during event
//               delivery, 15 guest-physical access for an instruction fetch or during
//               instruction execution
// Guest-physical accesses (§30.4.6.1, "Guest-Physical Accesses to the APIC-Access Page"; with
// EPT): the reads of guest paging-structure entries by a page walk, the PDPTE loads of MOV to
// CR, the accessed/dirty updates of the entries. Every one that reaches the APIC-access page
// through EPT is an APIC-access VM exit, never virtualized (ept/unit.ts finds them); bits 11:0
// of its qualification are undefined (the offset here), as is the guest-physical address.
//       [16]    asynchronous, not instruction-specific (0)
//       [31:17] reserved (0)
// After VM entry, a TPR threshold above VTPR[7:4] is a TPR-below-threshold exit right away,
// after any event injection (§27.7.7; with "virtualize APIC accesses" = 0 entry refuses it).
import { ApicAccessKind } from '../cpu/vmx-hooks';
import { ProcBasedCtls, ProcBasedCtls2 } from './controls';
import { ExitReason } from './exit-reasons';
import type { VmxUnit } from './unit';

/** Offset of VTPR (the virtual task-priority register) in the virtual-APIC page. */
export const VTPR = 0x80;

/** Exit qualification of an APIC-access VM exit (Table 28-6). */
export enum ApicAccessType {
  LinearRead = 0, LinearWrite = 1, LinearFetch = 2, LinearDuringDelivery = 3,
  GuestPhysicalDuringDelivery = 10, GuestPhysical = 15,
}
export function apicAccessQualification(offset: number, type: ApicAccessType): number {
  return ((offset & 0xfff) | (type << 12)) >>> 0;
}

/** "Use TPR shadow" and "virtualize APIC accesses" both 1, "virtual-interrupt delivery" 0: the
 *  configuration in which the TPR threshold makes VM exits (§27.7.7, §30.1.2). */
function tprThresholdActive(u: VmxUnit): boolean {
  const k = u.ctl;
  return (k.proc & ProcBasedCtls.UseTprShadow) !== 0 && (k.proc2 & ProcBasedCtls2.VirtualizeApicAccesses) !== 0 &&
    (k.proc2 & ProcBasedCtls2.VirtualInterruptDelivery) === 0;
}

/** TPR virtualization (§30.1.2): a TPR-below-threshold exit is due when VTPR[7:4] is below the
 *  threshold's bits 3:0 (taken at the next instruction boundary, serviceEvents). Also after
 *  MOV to CR8 with "use TPR shadow" (§30.3, nonroot-instructions.ts). */
export function tprVirtualization(u: VmxUnit): void {
  const c = u.cpu, k = u.ctl;
  const vtpr = c.mem.read8((k.virtualApicPage + VTPR) >>> 0);
  if (((vtpr >>> 4) & 0xf) < (k.tprThreshold & 0xf)) { u.tprBelowThreshold = true; c.eventPending = true; }
}

/** After VM entry (and any injection): §27.7.7. */
export function tprCheckAfterEntry(u: VmxUnit): void {
  if (tprThresholdActive(u)) tprVirtualization(u);
}

/** A guest access to the APIC-access page (cpu.ts slow paths; vmx-hooks.ts apicAccess). */
export function apicAccess(u: VmxUnit, offset: number, size: number, kind: ApicAccessKind, value: number): number {
  const c = u.cpu, k = u.ctl;
  const vtprAccess = kind !== ApicAccessKind.Fetch && kind !== ApicAccessKind.GuestPhysical && offset >= VTPR && offset + size <= VTPR + 4 &&
    (k.proc & ProcBasedCtls.UseTprShadow) !== 0;
  if (vtprAccess) {
    const pa = (k.virtualApicPage + offset) >>> 0;
    if (kind === ApicAccessKind.Read) return size === 1 ? c.mem.read8(pa) : size === 2 ? c.mem.read16(pa) : c.mem.read32(pa);
    if (size === 1) c.mem.write8(pa, value); else if (size === 2) c.mem.write16(pa, value); else c.mem.write32(pa, value);
    // APIC-write emulation of the TPR (§30.4.3.3): bytes 3:1 of VTPR cleared, then TPR virtualization.
    const base = (k.virtualApicPage + VTPR) >>> 0;
    c.mem.write32(base, c.mem.read8(base));
    if ((k.proc2 & ProcBasedCtls2.VirtualInterruptDelivery) === 0) tprVirtualization(u);
    return 0;
  }
  // An APIC-access VM exit, fault-like; during event delivery with IDT-vectoring information
  // (types 3 and 10, Table 28-6 / §28.2.4).
  const during = u.deliveryInfo !== 0;
  const type = kind === ApicAccessKind.GuestPhysical ? (during ? ApicAccessType.GuestPhysicalDuringDelivery : ApicAccessType.GuestPhysical)
    : during ? ApicAccessType.LinearDuringDelivery
      : kind === ApicAccessKind.Write ? ApicAccessType.LinearWrite : kind === ApicAccessKind.Fetch ? ApicAccessType.LinearFetch : ApicAccessType.LinearRead;
  const x = u.exitInfo;
  x.clear();
  x.qualification = apicAccessQualification(offset, type);
  x.duringDelivery = during;
  return u.exitAndUnwind(ExitReason.ApicAccess, c.instrStart);
}
