// End to end: the paging-heavy guest of support.ts in VMX non-root operation on Merom (no EPT,
// no unrestricted guest: the VMM must shadow the guest's page tables) under the test VMM and a
// ShadowMmu, against the same guest on the bare CPU: same checksum, same #PF log, same page
// tables bit for bit (accessed/dirty bits included), and exit counts that follow from N and K.
//
// Exit counts (N pages, K CR3 switches; shadow entries are filled lazily, one #PF exit per
// missing or too-weak shadow entry; no VPID, so the TLB is flushed at every VM entry and only
// the shadow tables persist):
//   CR3 loads  = K + 1: the K switches of phase 2 and the return to A (phase 3); the initial
//                CR3 is set by the VMM at entry.
//   INVLPG     = N + 2: N in phase 3, one in phase 4, one in the guest's #PF handler (phase 6).
//   #PF exits  = 3N + 18:
//     data region (4-8 MB)   3N + 1: N writes in phase 1 (root A), N reads at the first visit of
//                            B (phase 2; later switches find both roots cached and filled), N
//                            reads after the INVLPGs of phase 3, 1 for the alias page of phase 4.
//     HIGH (8-12 MB)         7: user code fetch, user read (mapped read-only: dirty bit clear),
//                            user write (dirty-bit upgrade), the supervisor-only page (the
//                            guest's #PF, injected); the read-only page store (the guest's #PF,
//                            injected), its retry, and the user page read again (its shadow
//                            table was dropped when the handler wrote PT_A2).
//     low (0-4 MB, 4 MB page) 10: root A: code, the store into PT_A (write-protect fault), the
//                            GDT (IRET to ring 3), the stack (PUSH), the IDT and the TSS (both
//                            while delivering the injected #PF: re-injected), the log page, PT_A2
//                            twice (the handler's OR reads first: filled read-only as PT_A2 is
//                            shadowed; then its write: write-protect fault); root B: code.
//   HLT        = 1 (the end).
// ShadowMmu statistics: injected 2, fixed 3N + 16, write-protect faults 2, roots 2 (K hits),
// shadow pages 7 (root A with tables for PDEs 0, 1, 2; root B with PDEs 0, 1).
// The PAE variant (same guest code on PAE tables, a PAE shadow) gives the same exits: every page
// it touches below 4 MB lies in the first 2 MB page, as they lay in the 4 MB page; its shadow
// pages are 15 (a PAE root is a PDPT page and four directories).
import { describe, expect, it } from 'vitest';
import { ExitReason } from '../../../src/core/vmx/exit-reasons';
import { generation } from '../../../src/core/vmx/generations';
import { VmxFeature } from '../../../src/core/vmx/features';
import { guestImage, LOG, runBare, runShadow } from './support';

function sameImage(n: number, a: ReturnType<typeof runBare>, b: ReturnType<typeof runBare>): void {
  const x = guestImage(a, n), y = guestImage(b, n);
  expect(y.length).toBe(x.length);
  for (let i = 0; i < x.length; i++) expect(Buffer.from(y[i]).equals(Buffer.from(x[i])), `page ${i} of the guest image`).toBe(true);
}

describe('shadow paging: N fresh pages, K CR3 switches, INVLPG, guest #PFs on merom', () => {
  it('merom has neither EPT nor unrestricted guest', () => {
    const f = generation('merom').vmx!.features;
    expect(f.has(VmxFeature.Ept)).toBe(false);
    expect(f.has(VmxFeature.UnrestrictedGuest)).toBe(false);
  });

  for (const [n, k] of [[5, 4], [17, 1], [40, 9]] as const) {
    it(`N=${n}, K=${k}: same result as bare, exits 3N+18 #PF, K+1 CR3, N+2 INVLPG`, () => {
      const bare = runBare(n, k);
      const s = runShadow(n, k);
      expect(bare.read32(LOG)).not.toBe(0xbad);
      expect(s.mem.read32(LOG)).toBe(bare.read32(LOG));
      expect(bare.read32(LOG + 4)).toBe(2); // two #PFs reached the guest's handler
      sameImage(n, bare, s.mem);
      expect([...s.exits].sort((a, b) => a[0] - b[0])).toEqual([
        [ExitReason.ExceptionOrNmi, 3 * n + 18], [ExitReason.Hlt, 1], [ExitReason.Invlpg, n + 2], [ExitReason.CrAccess, k + 1],
      ]);
      expect(s.pf).toEqual({ low: 10, data: 3 * n + 1, high: 7 });
      expect(s.reinjected).toBe(2);
      expect(s.stats).toMatchObject({
        faultsInjected: 2, faultsFixed: 3 * n + 16, writeProtectFaults: 2, mmioFaults: 0, evictions: 0,
        rootsCached: 2, rootMisses: 2, rootHits: k, shadowPages: 7, peakShadowPages: 7,
      });
    });
  }

  for (const [n, k] of [[5, 4], [30, 3]] as const) {
    it(`PAE guest, N=${n}, K=${k}: same result as bare and the same exit counts (PAE shadow)`, () => {
      const bare = runBare(n, k, true);
      const s = runShadow(n, k, 'merom', 64, true);
      expect(bare.read32(LOG)).not.toBe(0xbad);
      expect(s.mem.read32(LOG)).toBe(bare.read32(LOG));
      expect(bare.read32(LOG + 4)).toBe(2);
      sameImage(n, bare, s.mem);
      expect([...s.exits].sort((a, b) => a[0] - b[0])).toEqual([
        [ExitReason.ExceptionOrNmi, 3 * n + 18], [ExitReason.Hlt, 1], [ExitReason.Invlpg, n + 2], [ExitReason.CrAccess, k + 1],
      ]);
      expect(s.pf).toEqual({ low: 10, data: 3 * n + 1, high: 7 });
      // A PAE root is 5 pages (the PDPT and four directories): root A + 3 tables, root B + 2.
      expect(s.stats).toMatchObject({
        faultsInjected: 2, faultsFixed: 3 * n + 16, writeProtectFaults: 2, evictions: 0,
        rootsCached: 2, rootMisses: 2, rootHits: k, shadowPages: 15, peakShadowPages: 15,
      });
    });
  }

  for (const gen of ['penryn'] as const) { // the prescott row has no VMX in generations.ts
    it(`${gen} (no EPT either): the same exits`, () => {
      const bare = runBare(8, 3);
      const s = runShadow(8, 3, gen);
      expect(s.mem.read32(LOG)).toBe(bare.read32(LOG));
      sameImage(8, bare, s.mem);
      expect([...s.exits].sort((a, b) => a[0] - b[0])).toEqual([
        [ExitReason.ExceptionOrNmi, 3 * 8 + 18], [ExitReason.Hlt, 1], [ExitReason.Invlpg, 8 + 2], [ExitReason.CrAccess, 3 + 1],
      ]);
    });
  }

  it('a pool of 4 pages: roots and tables are evicted, the guest computes the same', () => {
    const n = 12, k = 6;
    const bare = runBare(n, k);
    const s = runShadow(n, k, 'merom', 4);
    expect(s.mem.read32(LOG)).toBe(bare.read32(LOG));
    sameImage(n, bare, s.mem);
    expect(s.stats.peakShadowPages).toBe(4);
    expect(s.stats.evictions).toBeGreaterThan(0);
    expect(s.exits.get(ExitReason.ExceptionOrNmi)!).toBeGreaterThan(3 * n + 18);
    expect(s.exits.get(ExitReason.CrAccess)).toBe(k + 1);
    expect(s.exits.get(ExitReason.Invlpg)).toBe(n + 2);
  });
});
