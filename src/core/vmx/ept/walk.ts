// The EPT walk (SDM Vol. 3C §29.3.2 "EPT Translation Mechanism"): a guest-physical address is
// translated through the four-level EPT paging structures named by the EPTP, with 1 GB pages
// (EPT PDPTE bit 7) and 2 MB pages (EPT PDE bit 7) where the generation supports them. The walk
// ends in a host-physical address with the entries' R/W/X permissions ANDed, an EPT violation
// (§29.3.3.2: an entry not present, or the access not permitted) or an EPT misconfiguration
// (§29.3.3.1: reserved bits, write without read, execute-only without the capability, a reserved
// memory type). With EPTP[6] the walk sets the accessed flags of the entries it used and, for
// writes, the dirty flag of the leaf (§29.3.5 "Accessed and Dirty Flags for EPT").
//
// The walker reads host-physical memory only and allocates nothing; its results are in fields.
import type { PhysicalMemory } from '../../platform/memory';
import { asHostPhysical, type GuestPhysical, type HostPhysical } from '../../platform/address';
import { EptCap } from '../capabilities';
import {
  ENTRY_HIGH_RESERVED, EptEntry, Eptp, LEAF_MEMORY_TYPE_OK, PAGE_1G_RESERVED, PAGE_2M_RESERVED, PML4E_RESERVED,
  TABLE_REF_RESERVED,
} from './format';

const TWO32 = 4294967296;

/** How a walk ended. */
export enum EptOutcome { Ok = 0, Violation = 1, Misconfiguration = 2 }

/** Access kinds, numbered as bits 0-2 of the EPT-violation exit qualification and as the
 *  permission bits 2:0 of an EPT entry (read needs R, write needs W, fetch needs X). */
export enum EptAccess { Read = 1, Write = 2, Fetch = 4 }

/** Which optional EPT features the processor has (IA32_VMX_EPT_VPID_CAP, Appendix A.10). */
export interface EptFeatures {
  /** Bit 0: bits 2:0 = 100b (execute-only) is allowed; otherwise a misconfiguration. */
  readonly executeOnly: boolean;
  /** Bit 16: EPT PDEs may map 2 MB pages; otherwise PDE bit 7 is reserved. */
  readonly pages2m: boolean;
  /** Bit 17: EPT PDPTEs may map 1 GB pages; otherwise PDPTE bit 7 is reserved. */
  readonly pages1g: boolean;
}

export function eptFeaturesOf(eptCap: number): EptFeatures {
  return {
    executeOnly: (eptCap & EptCap.ExecuteOnly) !== 0,
    pages2m: (eptCap & EptCap.Pages2Mb) !== 0,
    pages1g: (eptCap & EptCap.Pages1Gb) !== 0,
  };
}

/** Which check found a misconfiguration (for messages and tests). */
export enum Misconfig {
  None = 0,
  WriteWithoutRead = 1,
  ExecuteOnlyUnsupported = 2,
  ReservedBit = 3,
  AddressBeyondWidth = 4,
  LargePageUnsupported = 5,
  MemoryType = 6,
}

export class EptWalker {
  /** Host-physical address of the EPT PML4 table (EPTP bits 31:12). */
  pml4 = 0;
  /** EPTP[6]: accessed and dirty flags. */
  accessedDirty = false;

  // ---- results of the last `translate`
  outcome = EptOutcome.Ok;
  /** Bits 2:0 of the entries the walk used, ANDed (an entry that was not present included). */
  perm = 0;
  /** With A/D flags on: the leaf's dirty flag is set (after this walk). Always true with them off,
   *  so a write through a cached translation never skips setting the dirty flag. */
  dirtyOk = false;
  /** The level (4 PML4E .. 1 PTE) whose entry ended the walk, and why for misconfigurations. */
  level = 0;
  misconfig = Misconfig.None;
  /** Entries read by the last walk (4 at most): their addresses (up to 2^36: Float64) and low
   *  dwords. */
  private readonly entryAddr = new Float64Array(4);
  private readonly entryLo = new Int32Array(4);
  /** Walks performed (tests and statistics). */
  walks = 0;

  /** Reserved bits of an entry's high dword: address bits 51:`width` (§29.3.2: bits N-1:12 hold
   *  the address, N the physical-address width). */
  private readonly highReserved: number;

  /** `width`: the physical-address width (MAXPHYADDR; 36 on the Intel 64 models, whose CPUID
   *  reports leaf 80000008H, the VMX unit passes VmxCapabilities.pointerWidth). Host-physical
   *  addresses at or above 4 GB reach no memory (PhysicalMemory): a table there reads as all
   *  ones (reserved bits set: a misconfiguration), a page there reads all ones and drops writes. */
  constructor(private readonly mem: PhysicalMemory, readonly features: EptFeatures, readonly width = 32) {
    this.highReserved = (ENTRY_HIGH_RESERVED & ~((1 << (width - 32)) - 1)) >>> 0;
  }

  /** Uses the EPT named by an EPTP (checked by VM entry: eptp.ts). */
  setEptp(eptpLo: number): void {
    this.pml4 = (eptpLo & Eptp.AddressMask) >>> 0;
    this.accessedDirty = (eptpLo & Eptp.AccessedDirty) !== 0;
  }

  /**
   * Translates `gpa` for an access of kind `access` (EptAccess bits; a read-modify-write or an
   * access treated as a write passes Read | Write). Returns the host-physical address with
   * `outcome` Ok, or 0 with `outcome` Violation or Misconfiguration (and `perm` for the exit
   * qualification).
   */
  translate(gpa: GuestPhysical, access: number): HostPhysical {
    const m = this.mem, f = this.features;
    this.walks++;
    let table = this.pml4, perm = EptEntry.Rwx, n = 0;
    // A guest-physical address may exceed 32 bits (an IA-32e guest's entries carry bits 35:32).
    const gpaHi = gpa >= TWO32 ? Math.floor(gpa / TWO32) : 0, gpaLo = gpa >>> 0;
    for (let level = 4; level >= 1; level--) {
      // Index bits: 47:39, 38:30, 29:21, 20:12.
      const index = level === 4 ? (gpaHi >>> 7) & 0x1ff : level === 3 ? ((gpaHi & 0x7f) << 2) | (gpaLo >>> 30) : (gpaLo >>> (12 + 9 * (level - 1))) & 0x1ff;
      const addr = table + index * 8;
      const lo = m.read32(addr), hi = m.read32(addr + 4);
      this.entryAddr[n] = addr; this.entryLo[n] = lo; n++;
      const rwx = lo & EptEntry.Rwx;
      perm &= rwx;
      this.level = level;
      if (rwx === 0) return this.fail(EptOutcome.Violation, perm);
      // ---- misconfigurations of a present entry (§29.3.3.1)
      if ((rwx & 3) === EptEntry.Write) return this.misconfigured(Misconfig.WriteWithoutRead, perm);
      if (rwx === EptEntry.Execute && !f.executeOnly) return this.misconfigured(Misconfig.ExecuteOnlyUnsupported, perm);
      if ((hi & this.highReserved) !== 0) return this.misconfigured(Misconfig.AddressBeyondWidth, perm);
      let leaf = level === 1;
      if (level === 4) {
        if ((lo & PML4E_RESERVED) !== 0) return this.misconfigured(Misconfig.ReservedBit, perm);
      } else if (level >= 2 && (lo & EptEntry.PageSize) !== 0) {
        if (level === 3 ? !f.pages1g : !f.pages2m) return this.misconfigured(Misconfig.LargePageUnsupported, perm);
        if ((lo & (level === 3 ? PAGE_1G_RESERVED : PAGE_2M_RESERVED)) !== 0) return this.misconfigured(Misconfig.ReservedBit, perm);
        leaf = true;
      } else if (!leaf && (lo & TABLE_REF_RESERVED) !== 0) {
        return this.misconfigured(Misconfig.ReservedBit, perm);
      }
      if (!leaf) { table = (hi & 0xf) * TWO32 + ((lo & ~0xfff) >>> 0); continue; }
      if (!LEAF_MEMORY_TYPE_OK[(lo & EptEntry.MemTypeMask) >>> EptEntry.MemTypeShift]) {
        return this.misconfigured(Misconfig.MemoryType, perm);
      }
      // ---- the leaf: permissions (§29.3.3.2), then the flags (§29.3.5)
      if ((perm & access) !== access) return this.fail(EptOutcome.Violation, perm);
      const pageMask = level === 3 ? 0x3fffffff : level === 2 ? 0x1fffff : 0xfff;
      const hpa = (hi & 0xf) * TWO32 + (((lo & ~pageMask) | (gpaLo & pageMask)) >>> 0);
      this.outcome = EptOutcome.Ok;
      this.perm = perm;
      this.misconfig = Misconfig.None;
      this.dirtyOk = this.accessedDirty ? this.setFlags(n, (access & EptAccess.Write) !== 0) : true;
      return asHostPhysical(hpa);
    }
    throw new Error('unreachable: EPT walk without a leaf');
  }

  /** Sets the accessed flag of every entry used and, for a write, the leaf's dirty flag; returns
   *  whether the leaf's dirty flag is set. */
  private setFlags(n: number, write: boolean): boolean {
    const m = this.mem;
    for (let i = 0; i < n; i++) {
      const lo = this.entryLo[i];
      const set = EptEntry.Accessed | (write && i === n - 1 ? EptEntry.Dirty : 0);
      if ((lo & set) !== set) m.write32(this.entryAddr[i], lo | set);
    }
    return write || (this.entryLo[n - 1] & EptEntry.Dirty) !== 0;
  }

  private fail(outcome: EptOutcome, perm: number): HostPhysical {
    this.outcome = outcome;
    this.perm = perm;
    this.misconfig = Misconfig.None;
    return asHostPhysical(0);
  }

  private misconfigured(why: Misconfig, perm: number): HostPhysical {
    this.fail(EptOutcome.Misconfiguration, perm);
    this.misconfig = why;
    return asHostPhysical(0);
  }
}
