// The VMM's EPT tables: guest-physical = host-physical for guest RAM (read/write/execute) and
// ROM (read/execute), 4 KB pages throughout so single MMIO pages can be mapped and unmapped;
// everything else (VGA memory, the APIC pages, holes) has no entry, so every access to it is
// an EPT violation the VMM handles (SDM Vol. 3C §29.3.2 "EPT Translation Mechanism", Tables
// 29-1..29-6 for the entry formats; §29.3.3.2 EPT violations).
import { PageKind, type PhysicalMemory } from '../platform/memory';
import { asGuestPhysical, type GuestPhysical } from '../platform/address';
import { EPT_PD0, EPT_PDPT, EPT_PML4, EPT_PT0 } from './layout';

/** EPT entry bits: [0] read | [1] write | [2] execute | [5:3] memory type (leaf) | [7] page size. */
export const EPT_R = 1, EPT_W = 2, EPT_X = 4, EPT_RWX = 7;
/** Memory types (SDM Vol. 3C §29.3.7): 0 UC, 6 WB. */
export const EPT_MT_UC = 0, EPT_MT_WB = 6;

export class EptTables {
  private nextTable: number;
  /** EPTP: [2:0] memory type of the paging structures | [5:3] walk length - 1 | [51:12] PML4. */
  readonly eptp: number;

  constructor(private readonly mem: PhysicalMemory, private readonly base: number, readonly guestBytes: number,
    private readonly leafType: number, limitBytes: number) {
    this.nextTable = base + EPT_PT0;
    this.limit = base + limitBytes;
    for (let a = base + EPT_PML4; a < base + EPT_PT0; a += 4) mem.write32(a, 0);
    // PML4[0] -> PDPT; PDPT[0..3] -> the four page directories (4 GB).
    this.entry(base + EPT_PML4, base + EPT_PDPT, EPT_RWX);
    for (let i = 0; i < 4; i++) this.entry(base + EPT_PDPT + i * 8, base + EPT_PD0 + i * 0x1000, EPT_RWX);
    this.eptp = (base + EPT_PML4) | (3 << 3) | leafType;
  }
  private readonly limit: number;

  private entry(at: number, pa: number, bits: number): void {
    this.mem.write32(at, ((pa & ~0xfff) | bits) >>> 0);
    this.mem.write32(at + 4, 0);
  }

  /** Address of the PTE for guest-physical `gpa`, creating its page table when `create`. */
  private pte(gpa: GuestPhysical, create: boolean): number {
    const pde = this.base + EPT_PD0 + ((gpa >>> 30) & 3) * 0x1000 + ((gpa >>> 21) & 0x1ff) * 8;
    let pt = this.mem.read32(pde) & ~0xfff;
    if ((this.mem.read32(pde) & EPT_RWX) === 0) {
      if (!create) return -1;
      if (this.nextTable + 0x1000 > this.limit) throw new Error(`EPT: no reserved memory left for a page table (guest-physical 0x${gpa.toString(16)})`);
      pt = this.nextTable; this.nextTable += 0x1000;
      for (let a = pt; a < pt + 0x1000; a += 4) this.mem.write32(a, 0);
      this.entry(pde, pt, EPT_RWX);
    }
    return pt + ((gpa >>> 12) & 0x1ff) * 8;
  }

  /** Identity-maps what the guest owns: its RAM pages (unless `lazyRam`: then each RAM page is
   *  mapped at its first access, by the EPT violation it causes) and the ROM pages below it. */
  identityMap(lazyRam = false): void {
    const kind = this.mem.kind;
    for (let p = 0; p < this.guestBytes >>> 12; p++) {
      const k = kind[p];
      if (k === PageKind.Ram) { if (!lazyRam) this.map(asGuestPhysical(p << 12), EPT_RWX); }
      else if (k === PageKind.Rom) this.map(asGuestPhysical(p << 12), EPT_R | EPT_X);
    }
  }

  /** Maps the 4 KB page of `gpa` onto the same host-physical page with `perms`. */
  map(gpa: GuestPhysical, perms: number): void {
    const page = gpa & ~0xfff;
    this.entry(this.pte(gpa, true), page, perms | (this.leafType << 3));
  }

  /** Removes the mapping of the page of `gpa`. */
  unmap(gpa: GuestPhysical): void {
    const at = this.pte(gpa, false);
    if (at >= 0) { this.mem.write32(at, 0); this.mem.write32(at + 4, 0); }
  }

  /** The leaf entry's permission bits for `gpa` (0: not present). */
  perms(gpa: GuestPhysical): number {
    const at = this.pte(gpa, false);
    return at < 0 ? 0 : this.mem.read32(at) & EPT_RWX;
  }
}
