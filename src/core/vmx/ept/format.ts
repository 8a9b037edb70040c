// EPT paging-structure entry and EPTP formats (SDM Vol. 3C §29.3.2 "EPT Translation Mechanism",
// Tables "Format of an EPT PML4 Entry" ... "Format of an EPT Page-Table Entry that Maps a 4-KByte
// Page"; §25.6.11 "Extended-Page-Table Pointer (EPTP)", Table "Format of Extended-Page-Table
// Pointer"). vmxlab's physical addresses are 32 bits wide (PhysicalMemory spans 4 GB, paging.ts
// treats PAE address bits above 31 as reserved), so every EPT address bit from 32 to 51 is a
// bit beyond the physical-address width.
//
//   EPT entry (every level), low dword:
//     [0] read  [1] write  [2] execute (supervisor execute with mode-based control)
//     [5:3] memory type (leaves; reserved 0 in entries that reference a table)
//     [6] ignore PAT (leaves; reserved 0 in table references)
//     [7] page size: 1 = maps a 1 GB (PDPTE) or 2 MB (PDE) page; reserved 0 in a PML4E,
//         ignored in a PTE
//     [8] accessed (when EPTP[6])   [9] dirty (leaves, when EPTP[6])   [10] user execute
//     [11] ignored
//     [31:12] address (a 1 GB page: [29:12] reserved 0; a 2 MB page: [20:12] reserved 0)
//   high dword: [19:0] address bits 51:32 (beyond the width here: reserved 0),
//     [30:20] ignored, [31] suppress #VE (ignored without EPT-violation #VE)
//
//   EPTP, low dword: [2:0] memory type of the paging structures (0 UC, 6 WB), [5:3] page-walk
//   length - 1, [6] enable accessed and dirty flags, [7] supervisor shadow-stack enforcement
//   (CET: not modelled, reserved), [11:8] reserved, [31:12] PML4 table address.

/** Bits of an EPT paging-structure entry (low dword). */
export enum EptEntry {
  Read = 1 << 0,
  Write = 1 << 1,
  Execute = 1 << 2,
  /** Bits 2:0: an entry is present when any of them is 1 (§29.3.2). */
  Rwx = 7,
  MemTypeShift = 3,
  MemTypeMask = 7 << 3,
  IgnorePat = 1 << 6,
  PageSize = 1 << 7,
  Accessed = 1 << 8,
  Dirty = 1 << 9,
  UserExecute = 1 << 10,
}

/** Memory types (Vol. 3A §12.3 "Methods of Caching Available"); 2, 3 and 7 are reserved. */
export enum MemoryType { Uncacheable = 0, WriteCombining = 1, WriteThrough = 4, WriteProtected = 5, WriteBack = 6 }

/** Memory types an EPT leaf may name (§29.3.3.1: 2, 3 and 7 are a misconfiguration). */
export const LEAF_MEMORY_TYPE_OK: readonly boolean[] = [true, true, false, false, true, true, true, false];

/** Bits of the EPTP (low dword). */
export enum Eptp {
  MemTypeMask = 7,
  WalkLengthShift = 3,
  WalkLengthMask = 7 << 3,
  AccessedDirty = 1 << 6,
  /** Bits 11:7: bit 7 (supervisor shadow-stack enforcement) needs CET, not modelled. */
  ReservedMask = 0x1f << 7,
  AddressMask = 0xfffff000 | 0,
}

/** High-dword bits of an EPT entry that are address bits 51:32: those at and above the
 *  physical-address width are reserved, a misconfiguration when set (§29.3.3.1); the walker
 *  (walk.ts) keeps bits 35:32 as address bits with a 36-bit width. */
export const ENTRY_HIGH_RESERVED = 0x000fffff;

/** Reserved low-dword bits per entry kind, besides the page-size rules (§29.3.2 tables). */
export const PML4E_RESERVED = 0xf8; // bits 7:3
export const TABLE_REF_RESERVED = 0x78; // bits 6:3 (bit 7 = 0 says "references a table")
export const PAGE_1G_RESERVED = 0x3ffff000; // bits 29:12
export const PAGE_2M_RESERVED = 0x001ff000; // bits 20:12
