// Cached translations under VMX (SDM Vol. 3C §29.1 VPID, §29.4 "Caching Translation
// Information"): TLB spaces tagged by VPID and EP4TA, the flush on every VM entry and exit
// without VPID, and what INVEPT and INVVPID invalidate. A cached translation shows itself as a
// stale one: EPT (or guest paging) is changed behind the TLB's back, and the guest still reads
// through the old mapping until something invalidates it.
import { describe, expect, it } from 'vitest';
import { VMXON_PA, DATA } from './support';
import { EptHarness } from './ept-support';

const OLD = 0x205000, NEW = 0x206000, PAGE = 0x201000;

/** Haswell in VMX root operation, EPT identity for 0-16 MB with 4 KB pages for 2-4 MB, except
 *  GPA PAGE -> OLD; OLD holds 0x0a, NEW holds 0x0b. */
function harness(): EptHarness {
  const h = new EptHarness('haswell');
  if (h.m.root().vmxon(VMXON_PA).kind !== 'succeed') throw new Error('VMXON failed');
  h.ept.identity2m(16 << 20);
  h.ept.split(0x200000);
  h.ept.map4k(PAGE, OLD);
  h.m.mem.write32(OLD, 0x0a);
  h.m.mem.write32(NEW, 0x0b);
  return h;
}

/** The guest reads GPA PAGE (identity-paged linear address). */
function guestRead(h: EptHarness): number {
  const o = h.run(`mov eax, [${PAGE}]`);
  if (o.kind !== 'done') throw new Error(`guest read: ${JSON.stringify(o)}`);
  return h.m.c.r32[0];
}

/** Guest run with VPID `vpid` that caches PAGE -> OLD, then an exit and EPT changed to NEW
 *  with no invalidation. */
function cacheThenRemap(h: EptHarness, vpid: number, eptp = h.ept.eptp()): void {
  h.enter({ eptp, vpid });
  expect(guestRead(h)).toBe(0x0a);
  h.exit();
  h.ept.map4k(PAGE, NEW);
}

describe('VPID tagging', () => {
  it('without VPID every VM entry and exit flushes: host translations do not survive entry, guest ones not exit', () => {
    const h = harness();
    expect(h.run(`mov eax, [${PAGE}]`)).toEqual({ kind: 'done' }); // host: identity, cached
    expect(h.m.c.tlbE[PAGE >>> 12]).not.toBe(0);
    h.enter({ eptp: h.ept.eptp() });
    expect(h.m.c.tlbE[PAGE >>> 12]).toBe(0);
    expect(guestRead(h)).toBe(0x0a);
    h.exit();
    expect(h.m.c.tlbE[PAGE >>> 12]).toBe(0);
    h.ept.map4k(PAGE, NEW);
    h.enter({ eptp: h.ept.eptp() });
    expect(guestRead(h)).toBe(0x0b);
  });

  it('with VPID, the guest\'s combined mappings survive exit and re-entry, and the host\'s survive the guest', () => {
    const h = harness();
    h.m.mem.write32(0x3ff000, 0x33);
    expect(h.run('mov eax, [0x3ff000]')).toEqual({ kind: 'done' });
    const hostEntry = h.m.c.tlbE[0x3ff];
    expect(hostEntry).not.toBe(0);
    cacheThenRemap(h, 1);
    expect(h.m.c.tlbE[0x3ff]).toBe(hostEntry); // back in the host's space, untouched
    h.enter({ eptp: h.ept.eptp(), vpid: 1 });
    expect(guestRead(h)).toBe(0x0a); // stale: cached under VPID 1
    h.exit();
    h.enter({ eptp: h.ept.eptp(), vpid: 2 });
    expect(guestRead(h)).toBe(0x0b); // another VPID walks afresh
  });

  it('combined mappings are tagged by EP4TA too: the same VPID with another EPT walks afresh', () => {
    const h = harness();
    cacheThenRemap(h, 1);
    h.enter({ eptp: h.ept.eptp(1 << 6), vpid: 1 }); // same PML4, A/D on: same EP4TA
    expect(guestRead(h)).toBe(0x0a);
    h.exit();
    // Another PML4 table with the same contents.
    const other = h.ept.alloc();
    for (let i = 0; i < 4096; i += 4) h.m.mem.write32(other + i, h.m.mem.read32(h.ept.pml4 + i));
    h.enter({ eptp: other | 0x1e, vpid: 1 });
    expect(guestRead(h)).toBe(0x0b);
  });

  it('more VPIDs than spaces: the least recently used space is dropped and walks again', () => {
    const h = harness();
    cacheThenRemap(h, 1);
    h.ept.map4k(PAGE, OLD);
    for (const v of [2, 3, 4, 5]) { h.enter({ eptp: h.ept.eptp(), vpid: v }); guestRead(h); h.exit(); }
    h.ept.map4k(PAGE, NEW);
    h.enter({ eptp: h.ept.eptp(), vpid: 5 });
    expect(guestRead(h)).toBe(0x0a); // still cached
    h.exit();
    h.enter({ eptp: h.ept.eptp(), vpid: 1 });
    expect(guestRead(h)).toBe(0x0b); // evicted
  });

  it('a guest MOV CR3 flushes only its own VPID\'s non-global entries', () => {
    const h = harness();
    cacheThenRemap(h, 1);
    h.ept.map4k(PAGE, OLD);
    h.enter({ eptp: h.ept.eptp(), vpid: 2 });
    expect(h.run('mov eax, cr3\nmov cr3, eax')).toEqual({ kind: 'done' });
    h.exit();
    h.ept.map4k(PAGE, NEW);
    h.enter({ eptp: h.ept.eptp(), vpid: 1 });
    expect(guestRead(h)).toBe(0x0a);
  });
});

describe('INVEPT (§29.4.3.1)', () => {
  it('single-context drops the combined mappings of that EP4TA for every VPID, and no other', () => {
    const h = harness();
    const other = h.ept.alloc();
    for (let i = 0; i < 4096; i += 4) h.m.mem.write32(other + i, h.m.mem.read32(h.ept.pml4 + i));
    cacheThenRemap(h, 1);
    h.ept.map4k(PAGE, OLD);
    cacheThenRemap(h, 2);
    h.ept.map4k(PAGE, OLD);
    cacheThenRemap(h, 3, other | 0x1e);
    expect(h.m.root().invept(1, BigInt(h.ept.eptp())).kind).toBe('succeed');
    for (const [v, eptp, want] of [[1, h.ept.eptp(), 0x0b], [2, h.ept.eptp(), 0x0b], [3, other | 0x1e, 0x0a]] as const) {
      h.enter({ eptp, vpid: v });
      expect(guestRead(h), `VPID ${v}`).toBe(want);
      h.exit();
    }
  });

  it('all-context drops every combined mapping, and keeps the host\'s linear mappings', () => {
    const h = harness();
    const other = h.ept.alloc();
    for (let i = 0; i < 4096; i += 4) h.m.mem.write32(other + i, h.m.mem.read32(h.ept.pml4 + i));
    cacheThenRemap(h, 1);
    h.ept.map4k(PAGE, OLD);
    cacheThenRemap(h, 3, other | 0x1e);
    expect(h.run('mov eax, [0x3ff000]')).toEqual({ kind: 'done' });
    const hostEntry = h.m.c.tlbE[0x3ff];
    expect(hostEntry).not.toBe(0);
    // The decoded instruction: INVEPT eax, [DATA] with type 2.
    h.m.mem.write32(DATA, h.ept.eptp()); h.m.mem.write32(DATA + 4, 0);
    h.m.c.r32[0] = 2;
    expect(h.run(`invept eax, [${DATA}]`)).toEqual({ kind: 'done' });
    expect(h.m.c.tlbE[0x3ff]).toBe(hostEntry);
    for (const [v, eptp] of [[1, h.ept.eptp()], [3, other | 0x1e]] as const) {
      h.enter({ eptp, vpid: v });
      expect(guestRead(h), `VPID ${v}`).toBe(0x0b);
      h.exit();
    }
  });
});

describe('INVVPID (§29.4.3.1)', () => {
  const ALIAS = PAGE + 0x800000; // linear 8-12 MB -> GPA 0-4 MB (a 4 MB guest page)
  /** VPIDs 1 and 2 cache PAGE and ALIAS (another 4 MB region, same GPA), then EPT moves the
   *  GPA to NEW. */
  function twoVpids(h: EptHarness): void {
    h.m.mem.write32(0x2008, 0x87);
    h.m.c.tlb.flushAll();
    for (const v of [1, 2]) {
      h.enter({ eptp: h.ept.eptp(), vpid: v });
      expect(guestRead(h)).toBe(0x0a);
      expect(h.run(`mov eax, [${ALIAS}]`)).toEqual({ kind: 'done' });
      h.exit();
    }
    h.ept.map4k(PAGE, NEW);
  }
  function reads(h: EptHarness, v: number): [number, number] {
    h.enter({ eptp: h.ept.eptp(), vpid: v });
    const a = guestRead(h);
    expect(h.run(`mov eax, [${ALIAS}]`)).toEqual({ kind: 'done' });
    const b = h.m.c.r32[0];
    h.exit();
    return [a, b];
  }

  it('individual-address drops that address of that VPID only', () => {
    const h = harness();
    twoVpids(h);
    expect(h.m.root().invvpid(0, 1, BigInt(PAGE)).kind).toBe('succeed');
    expect(reads(h, 1)).toEqual([0x0b, 0x0a]);
    expect(reads(h, 2)).toEqual([0x0a, 0x0a]);
  });

  it('single-context drops everything of that VPID only', () => {
    const h = harness();
    twoVpids(h);
    expect(h.m.root().invvpid(1, 2).kind).toBe('succeed');
    expect(reads(h, 1)).toEqual([0x0a, 0x0a]);
    expect(reads(h, 2)).toEqual([0x0b, 0x0b]);
  });

  it('all-context drops every VPID but keeps VPID 0000H (the host)', () => {
    const h = harness();
    twoVpids(h);
    expect(h.run('mov eax, [0x3ff000]')).toEqual({ kind: 'done' });
    const hostEntry = h.m.c.tlbE[0x3ff];
    expect(hostEntry).not.toBe(0);
    // The decoded instruction, type 2.
    h.m.mem.write32(DATA, 1); h.m.mem.write32(DATA + 4, 0); h.m.mem.write32(DATA + 8, 0); h.m.mem.write32(DATA + 12, 0);
    h.m.c.r32[0] = 2;
    expect(h.run(`invvpid eax, [${DATA}]`)).toEqual({ kind: 'done' });
    expect(h.m.c.tlbE[0x3ff]).toBe(hostEntry);
    expect(reads(h, 1)).toEqual([0x0b, 0x0b]);
    expect(reads(h, 2)).toEqual([0x0b, 0x0b]);
  });

  it('single-context retaining globals keeps the global translations', () => {
    const h = harness();
    // Guest with CR4.PGE: linear 0-4 MB global (G = bit 8), 8-12 MB -> GPA PAGE non-global.
    const c = h.m.c;
    c.cr4 |= 1 << 7;
    h.m.mem.write32(0x2000, 0x187);
    h.m.mem.write32(0x2008, (PAGE & ~0x3fffff) | 0x87);
    c.tlb.flushAll();
    h.enter({ eptp: h.ept.eptp(), vpid: 1 });
    expect(guestRead(h)).toBe(0x0a); // global
    expect(h.run(`mov eax, [${PAGE + 0x800000}]`)).toEqual({ kind: 'done' }); // non-global
    expect(h.m.c.r32[0]).toBe(0x0a);
    h.exit();
    h.ept.map4k(PAGE, NEW);
    expect(h.m.root().invvpid(3, 1).kind).toBe('succeed');
    h.enter({ eptp: h.ept.eptp(), vpid: 1 });
    expect(guestRead(h)).toBe(0x0a);
    expect(h.run(`mov eax, [${PAGE + 0x800000}]`)).toEqual({ kind: 'done' });
    expect(h.m.c.r32[0]).toBe(0x0b);
    h.exit();
    expect(h.m.root().invvpid(1, 1).kind).toBe('succeed');
    h.enter({ eptp: h.ept.eptp(), vpid: 1 });
    expect(guestRead(h)).toBe(0x0b);
  });

  it('INVVPID and INVEPT with EPT off: VPID-tagged linear mappings', () => {
    const h = harness();
    // EPT off, VPID 7: guest paging maps linear 8 MB+ -> PAGE (4 MB page at 8 MB -> 0).
    h.m.mem.write32(0x2008, 0x000087);
    h.m.mem.write32(PAGE, 0x0c);
    h.m.c.tlb.flushAll();
    h.enter({ eptp: null, vpid: 7 });
    expect(h.run(`mov eax, [${PAGE + 0x800000}]`)).toEqual({ kind: 'done' });
    expect(h.m.c.r32[0]).toBe(0x0c);
    h.exit();
    h.m.mem.write32(0x2008, 0x400087); // guest remaps linear 8 MB -> 4 MB
    h.m.mem.write32(PAGE + 0x400000, 0x44);
    expect(h.m.root().invept(2).kind).toBe('succeed'); // not a combined mapping: survives
    h.enter({ eptp: null, vpid: 7 });
    expect(h.run(`mov eax, [${PAGE + 0x800000}]`)).toEqual({ kind: 'done' });
    expect(h.m.c.r32[0]).toBe(0x0c);
    h.exit();
    expect(h.m.root().invvpid(0, 7, BigInt(PAGE + 0x800000)).kind).toBe('succeed');
    h.enter({ eptp: null, vpid: 7 });
    expect(h.run(`mov eax, [${PAGE + 0x800000}]`)).toEqual({ kind: 'done' });
    expect(h.m.c.r32[0]).toBe(0x44);
  });
});

describe('EPT unit reset', () => {
  it('RESET leaves guest translation: no second level, the host space current and empty', () => {
    const h = harness();
    h.enter({ eptp: h.ept.eptp(), vpid: 3 });
    guestRead(h);
    h.m.c.reset();
    expect(h.m.c.tlb.nested).toBeNull();
    expect(h.m.c.tlb.spaceTagA).toBe(0);
    expect(h.m.c.tlbE[PAGE >>> 12]).toBe(0);
  });
});
