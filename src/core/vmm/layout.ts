// Where the hosted-mode VMM keeps its own structures: host-physical memory above the guest's
// RAM. The machine is created with `hostReservedBytes` extra (machine.ts): the BIOS, CMOS and
// E820 describe `memoryBytes` only, and the EPT tables map guest-physical [0, memoryBytes) (and
// the BIOS ROM) only, so nothing the guest can address reaches this area.
//
//   base + 0x0000  host GDT (null, 08 code, 10 data, 18 TSS)
//   base + 0x1000  host TSS
//   base + 0x2000  host page directory (4 MB pages, identity over 4 GB: CR0.PG is required in
//                  VMX operation, SDM Vol. 3C §24.8 "Restrictions on VMX Operation")
//   base + 0x3000  VMXON region            base + 0x4000  VMCS
//   base + 0x5000  host stack (top)        base + 0x6000  host RIP: a HLT (never run: hosted
//                                          mode stops the CPU at the host state)
//   base + 0x7000  EPT PML4    + 0x8000 PDPT    + 0x9000..0xC000 four page directories
//   base + 0xD000  EPT page tables, one per 2 MB of guest-physical space that has mappings
//   then           I/O bitmap A, I/O bitmap B, MSR bitmap (one page each: hostBitmaps)
//   then           VMXON region and VMCS of vCPUs 1..7 (two pages each: vcpuRegions)
//   then           the shadow-page pool (SHADOW_POOL_PAGES pages: hostShadowPool), used when EPT
//                  is off (shadow/, issue 6); reserved on every machine so that its size does not
//                  depend on the generation the machine is later run with
//   then           the V86 task's TSS (V86_TSS_PAGES pages: hostV86Tss), real mode without
//                  unrestricted guest (v86.ts)
import { V86_TSS_PAGES } from './v86';

const PAGE = 0x1000;
export const HOST_GDT = 0x0000, HOST_TSS = 0x1000, HOST_PD = 0x2000, VMXON_REGION = 0x3000, VMCS_REGION = 0x4000;
export const HOST_STACK_TOP = 0x6000, HOST_RIP = 0x6000;
export const EPT_PML4 = 0x7000, EPT_PDPT = 0x8000, EPT_PD0 = 0x9000, EPT_PT0 = 0xd000;
/** Host selectors in the host GDT. */
export const HOST_CS = 0x08, HOST_DS = 0x10, HOST_TR = 0x18;

/** Where the area starts: the first 2 MB boundary at or above the guest's RAM, so address bit
 *  20 is clear throughout and a guest-masked A20 gate never moves it. */
export function hostBase(memoryBytes: number): number {
  return Math.ceil(memoryBytes / (2 << 20)) * (2 << 20);
}

/** Bytes the machine needs above guest RAM of `memoryBytes` for the VMM: up to the base, then
 *  the structures and one EPT page table per 2 MB of guest RAM (the ROM below 1 MB shares the
 *  first), plus a spare. */
export function hostReservedBytes(memoryBytes: number): number {
  return hostV86Tss(memoryBytes) + V86_TSS_PAGES * PAGE - memoryBytes;
}

/** Host-physical address of the VMM's V86 TSS (v86.ts): after the shadow-page pool. */
export function hostV86Tss(memoryBytes: number): number {
  return hostShadowPool(memoryBytes) + SHADOW_POOL_PAGES * PAGE;
}

/** Shadow page tables the VMM may hold at once without EPT (4 MB): the ShadowMmu evicts the
 *  least recently used roots beyond it. */
export const SHADOW_POOL_PAGES = 1024;

/** Host-physical address of the shadow-page pool: after the vCPUs' VMXON regions and VMCSs. */
export function hostShadowPool(memoryBytes: number): number {
  return hostBitmaps(memoryBytes) + (BITMAP_PAGES + 2 * (MAX_VCPUS - 1)) * PAGE;
}

/** vCPUs one VM can have (the machine's CPUs: smp.ts MAX_CPUS). */
export const MAX_VCPUS = 8;

/** Host-physical addresses of vCPU `i`'s VMXON region and VMCS: one of each per logical CPU
 *  (SDM Vol. 3C §24.7: each logical processor enters VMX operation with its own VMXON region;
 *  §25.1: one VMCS per virtual CPU). */
export function vcpuRegions(memoryBytes: number, i: number): { vmxon: number; vmcs: number } {
  if (!Number.isInteger(i) || i < 0 || i >= MAX_VCPUS) throw new Error(`vCPU index ${i} out of range 0-${MAX_VCPUS - 1}`);
  const base = hostBase(memoryBytes);
  if (i === 0) return { vmxon: base + VMXON_REGION, vmcs: base + VMCS_REGION };
  const at = hostBitmaps(memoryBytes) + (BITMAP_PAGES + 2 * (i - 1)) * PAGE;
  return { vmxon: at, vmcs: at + PAGE };
}

/** EPT page tables for 2 MB regions above guest RAM whose MMIO pages get mapped for one
 *  instruction (I/O APIC at FEC00000H, local APIC at FEE00000H, PCI BARs, the BIOS alias). */
const MMIO_TABLES = 8;

/** I/O bitmaps A and B and the MSR bitmap (SDM Vol. 3C §25.6.4, §25.6.9). */
const BITMAP_PAGES = 3;

/** Host-physical address of the first bitmap page: after the EPT page tables. */
export function hostBitmaps(memoryBytes: number): number {
  const tables = Math.ceil(memoryBytes / (2 << 20)) + 1 + MMIO_TABLES;
  return hostBase(memoryBytes) + EPT_PT0 + tables * PAGE;
}
