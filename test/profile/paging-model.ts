// A model of what guests/paging-stress computes, written from its source comments: the
// checksum it must print for N pages and K switches, independent of any emulator. Variants keep
// translations the architecture says are flushed (a TLB that survives MOV to CR3, or INVLPG),
// so a wrong transcript says which flush was missing.

const rol = (x: number, n: number): number => ((x << n) | (x >>> (32 - n))) >>> 0;

/** Page i's dword: its offset in the page and space A's pattern. */
function slot(i: number): { off: number; pattern: number } {
  return { off: (i * 68) & 0xffc, pattern: (Math.imul(i, 0x9e3779b1) + 0x01234567) >>> 0 };
}

export interface PagingModelOptions {
  /** Keep translations across MOV to CR3 (what a missing flush would do). */
  staleAcrossCr3?: boolean;
  /** Keep a translation across INVLPG of its page (the -DNO_INVLPG build). */
  staleAcrossInvlpg?: boolean;
}

/** The checksum paging-stress prints for N pages, K switches. */
export function pagingStressChecksum(n: number, k: number, o: PagingModelOptions = {}): number {
  // Frames are named 'A:i' and 'B:i'; memory holds one dword per (frame, offset).
  const mem = new Map<string, number>();
  const at = (frame: string, off: number): string => `${frame}@${off}`;
  const pte: Record<'A' | 'B', string[]> = { A: [], B: [] };
  for (let i = 0; i < n; i++) { pte.A.push(`A:${i}`); pte.B.push(`B:${i}`); }
  for (let i = 0; i < n; i++) { const s = slot(i); mem.set(at(`B:${i}`, s.off), (s.pattern ^ 0xb0b0b0b0) >>> 0); }
  let sum = 0x811c9dc5;
  let space: 'A' | 'B' = 'A';
  // The TLB: window page -> frame, filled on every access.
  const tlb = new Map<number, string>();
  for (let i = 0; i < n; i++) { const s = slot(i); mem.set(at(pte.A[i]!, s.off), s.pattern); tlb.set(i, pte.A[i]!); }
  const read = (page: number, off: number): { v: number; frame: string } => {
    const frame = tlb.get(page) ?? pte[space][page]!;
    tlb.set(page, frame);
    return { v: mem.get(at(frame, off)) ?? 0, frame };
  };
  const mix = (v: number): void => { sum = Math.imul((rol(sum, 5) ^ v) >>> 0, 0x01000193) >>> 0; };
  for (let j = 1; j <= k; j++) {
    const p = (7 * j) % n, { off } = slot(p);
    mix(read(p, off).v);
    space = (j & 1) !== 0 ? 'B' : 'A';
    if (o.staleAcrossCr3 !== true) tlb.clear();
    const r = read(p, off);
    mix(r.v);
    mem.set(at(r.frame, off), (r.v + j) >>> 0);
  }
  const other = space === 'A' ? 'B' : 'A';
  for (let i = 0; i < n; i += 4) {
    const { off } = slot(i);
    mix(read(i, off).v);
    pte[space][i] = `${other}:${i}`;
    if (o.staleAcrossInvlpg !== true) tlb.delete(i);
    mix(read(i, off).v);
  }
  return sum;
}

export const hex8 = (v: number): string => v.toString(16).padStart(8, '0');

/**
 * What guests/paging-stress costs under shadow paging (merom, penryn, nehalem or `--exits
 * ept=off`, KVM's controls with COM1 passed through: `--exits io=bitmap:0xf4`), as far as it
 * follows from N and K (K even; J = ceil(N/4) INVLPGs); under EPT every one of these exits is 0.
 * - CR3-load exits: every MOV to CR3, the first one and K switches: 1 + K.
 * - INVLPG exits: J.
 * - #PF exits: N fills of B's frames through the identity shadow (paging off), N fresh pages of
 *   A, 3 per INVLPG'd page (the read, the PTE write into a write-protected page table, the read
 *   after INVLPG), 3 per two switches (a read in the new space, the write-back to a clean page
 *   mapped read-only until dirty, a read of B's next page before switching back): 2N + 3J + 3K/2,
 *   plus `fixed`: the faults on the guest's code, data, stack and tables and the BIOS's pages,
 *   which depend on how the VMM runs real mode, not on N or K (17 when the VMM emulated all real-mode
 *   code, 21 and 2 #GP exits with real mode as a V86 task).
 * - VMM-emulated instructions: one per CR access (K + 2: the CR3 loads and the CR0 write that
 *   turns paging on) and the exit port's OUT: K + 3, plus `fixed` (the real-mode code the VMM
 *   ran itself: 168 instructions when it emulated all real-mode code, 8 with the V86 task).
 * test/vmm/shadow-hosted.test.ts measured these first; the tests here check that the counts
 * follow N and K (the same `fixed` part for every N and K) rather than the VMM's fixed part.
 */
export function shadowPagingCounts(n: number, k: number, fixed: { pageFaults: number; emulated: number }): {
  cr3LoadExits: number; invlpgExits: number; pageFaultExits: number; emulatedInstructions: number;
} {
  if (k % 2 !== 0) throw new Error(`shadowPagingCounts: K must be even (got ${k})`);
  const j = Math.ceil(n / 4);
  return { cr3LoadExits: 1 + k, invlpgExits: j, pageFaultExits: 2 * n + 3 * j + (3 * k) / 2 + fixed.pageFaults, emulatedInstructions: k + 3 + fixed.emulated };
}

/** The part of a shadow-paging run's counts that does not follow from N and K (see above). */
export function shadowPagingFixed(n: number, k: number, measured: { pageFaultExits: number; emulatedInstructions: number }): { pageFaults: number; emulated: number } {
  const zero = shadowPagingCounts(n, k, { pageFaults: 0, emulated: 0 });
  return { pageFaults: measured.pageFaultExits - zero.pageFaultExits, emulated: measured.emulatedInstructions - zero.emulatedInstructions };
}
