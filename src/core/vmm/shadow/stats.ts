// Counters of the shadow MMU, for the exit profile ("shadow memory used" and the faults that
// EPT removes, issue 6). Plain numbers: structured-clone-safe for the engine's stats messages.

export interface ShadowStats {
  /** Shadow pages (roots and page tables) in use now. */
  shadowPages: number;
  /** Most shadow pages ever in use at once. */
  peakShadowPages: number;
  /** #PF exits fixed by filling a shadow entry from the guest's tables (hidden from the guest). */
  faultsFixed: number;
  /** #PF exits the guest's own tables explain: the VMM injects them (SDM Vol. 3A §4.7). */
  faultsInjected: number;
  /** Guest writes to write-protected page-table pages (the shadow built from them dropped). */
  writeProtectFaults: number;
  /** Accesses to MMIO, unassigned memory or ROM writes handed back to the VMM. */
  mmioFaults: number;
  /** Shadow pages freed to make room in the bounded pool. */
  evictions: number;
  /** Shadow roots (one per guest CR3) held in the cache now. */
  rootsCached: number;
  /** activate() calls that found their root in the cache. */
  rootHits: number;
  /** activate() calls that built a new root. */
  rootMisses: number;
}

export function emptyShadowStats(): ShadowStats {
  return {
    shadowPages: 0, peakShadowPages: 0, faultsFixed: 0, faultsInjected: 0, writeProtectFaults: 0,
    mmioFaults: 0, evictions: 0, rootsCached: 0, rootHits: 0, rootMisses: 0,
  };
}
