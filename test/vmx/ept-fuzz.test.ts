// Random EPT tables (seeded PRNG): every translation ends in an architectural outcome (a host
// address, an EPT violation or an EPT misconfiguration; through the CPU also a guest #PF),
// never a host exception, and agrees with a reference walk written separately from the SDM's
// rules on 64-bit entries (BigInt) here. Through the CPU, reads return the memory the reference
// translation names, and every EPT violation's qualification matches the reference walk of the
// guest-physical address it reports.
import { describe, expect, it } from 'vitest';
import { FAULT } from '../../src/core/cpu/fault';
import { Cr0, Vector } from '../../src/core/cpu/regs';
import { PhysicalMemory } from '../../src/core/platform/memory';
import { asGuestPhysical } from '../../src/core/platform/address';
import { EptAccess, EptOutcome, EptWalker, type EptFeatures } from '../../src/core/vmx/ept/walk';
import { EPTP_AD, EptExit, EptHarness, prng } from './ept-support';

// ---- the reference walk (SDM Vol. 3C §29.3.2, §29.3.3; MAXPHYADDR = 32) -------------------

interface RefResult { outcome: 'ok' | 'violation' | 'misconfig'; hpa: number; perm: number }

function entry64(mem: PhysicalMemory, addr: number): bigint {
  return (BigInt(mem.read32(addr + 4) >>> 0) << 32n) | BigInt(mem.read32(addr) >>> 0);
}
const bits = (e: bigint, hi: number, lo: number): bigint => (e >> BigInt(lo)) & ((1n << BigInt(hi - lo + 1)) - 1n);

function refWalk(mem: PhysicalMemory, pml4: number, gpa: number, access: number, f: EptFeatures): RefResult {
  let table = BigInt(pml4), perm = 7n;
  const g = BigInt(gpa >>> 0);
  for (let level = 4; level >= 1; level--) {
    const index = bits(g, 12 + 9 * level - 1, 12 + 9 * (level - 1));
    const e = entry64(mem, Number(table + index * 8n));
    const rwx = bits(e, 2, 0);
    perm &= rwx;
    if (rwx === 0n) return { outcome: 'violation', hpa: 0, perm: Number(perm) };
    const mis: RefResult = { outcome: 'misconfig', hpa: 0, perm: Number(perm) };
    if ((rwx & 3n) === 2n) return mis;
    if (rwx === 4n && !f.executeOnly) return mis;
    if (bits(e, 51, 32) !== 0n) return mis;
    const ps = bits(e, 7, 7) === 1n;
    let leaf = false, pageBits = 12;
    if (level === 4) { if (bits(e, 7, 3) !== 0n) return mis; }
    else if (level === 1) leaf = true;
    else if (ps) {
      if (level === 3 ? !f.pages1g : !f.pages2m) return mis;
      pageBits = level === 3 ? 30 : 21;
      if (bits(e, pageBits - 1, 12) !== 0n) return mis;
      leaf = true;
    } else if (bits(e, 6, 3) !== 0n) return mis;
    if (!leaf) { table = bits(e, 31, 12) << 12n; continue; }
    const mt = bits(e, 5, 3);
    if (mt === 2n || mt === 3n || mt === 7n) return mis;
    if ((perm & BigInt(access)) !== BigInt(access)) return { outcome: 'violation', hpa: 0, perm: Number(perm) };
    const hpa = (bits(e, 31, pageBits) << BigInt(pageBits)) | bits(g, pageBits - 1, 0);
    return { outcome: 'ok', hpa: Number(hpa), perm: Number(perm) };
  }
  throw new Error('unreachable');
}

// ---- random EPT tables --------------------------------------------------------------------

const TABLES = 0x800000, NTABLES = 12;

/** Fills NTABLES tables at TABLES with entries biased toward the interesting: mostly valid
 *  references and leaves, with wrong permissions, memory types, reserved and large-page bits
 *  and addresses beyond RAM or beyond 32 bits now and then. Returns the PML4 address. */
function randomEpt(mem: PhysicalMemory, rnd: () => number): number {
  const pick = <T,>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)];
  const perms = [1, 3, 5, 4, 0, 2, 6];
  for (let t = 0; t < NTABLES; t++) {
    const base = TABLES + t * 0x1000;
    for (let i = 0; i < 512; i++) {
      let lo = 0, hi = 0;
      if (rnd() < 0.8) {
        const perm = rnd() < 0.75 ? 7 : pick(perms);
        if (rnd() < 0.55) {
          // a table reference
          lo = (TABLES + Math.floor(rnd() * NTABLES) * 0x1000) | perm;
          if (rnd() < 0.05) lo |= pick([6, 1, 7]) << 3;
          if (rnd() < 0.05) lo |= 1 << 7;
        } else {
          // a leaf (a large page where bit 7 counts)
          const addr = rnd() < 0.95 ? Math.floor(rnd() * 4096) * 0x1000 : (0x2000000 + Math.floor(rnd() * 0x100000) * 0x1000) >>> 0;
          lo = addr | perm | ((rnd() < 0.85 ? pick([6, 6, 0, 1, 4, 5]) : pick([2, 3, 7])) << 3) | (rnd() < 0.6 ? 1 << 7 : 0);
          if (rnd() < 0.5) lo &= ~0x3ff000; // large pages mostly without reserved bits
        }
        if (rnd() < 0.2) lo |= 1 << (8 + Math.floor(rnd() * 4)); // A, D, user-execute, ignored
        if (rnd() < 0.03) lo ^= 1 << (12 + Math.floor(rnd() * 20));
        if (rnd() < 0.03) hi = 1 << Math.floor(rnd() * 32);
      }
      mem.write32(base + i * 8, lo); mem.write32(base + i * 8 + 4, hi);
    }
  }
  return TABLES;
}

/** A guest-physical address inside the space the first entries of the tables cover, mostly. */
function randomGpa(rnd: () => number): number {
  const r = rnd();
  const v = r < 0.6 ? Math.floor(rnd() * 0x8000000) : Math.floor(rnd() * 0x100000000);
  return (v & ~3) >>> 0;
}

const FEATURES: EptFeatures[] = [
  { executeOnly: true, pages2m: true, pages1g: true },
  { executeOnly: true, pages2m: true, pages1g: false },
  { executeOnly: false, pages2m: false, pages1g: false },
];

describe('EPT fuzz', () => {
  it('the walker agrees with the reference walk on random tables (3 feature sets, 3 seeds)', () => {
    let ok = 0, viol = 0, mis = 0;
    for (const seed of [1, 2, 3]) {
      const rnd = prng(seed);
      const mem = new PhysicalMemory(16 << 20);
      for (const f of FEATURES) {
        for (let round = 0; round < 20; round++) {
          const pml4 = randomEpt(mem, rnd);
          const w = new EptWalker(mem, f);
          w.setEptp(pml4 | 0x1e);
          for (let k = 0; k < 300; k++) {
            const gpa = randomGpa(rnd);
            const access = [EptAccess.Read, EptAccess.Write, EptAccess.Fetch, EptAccess.Read | EptAccess.Write][Math.floor(rnd() * 4)];
            const ref = refWalk(mem, pml4, gpa, access, f);
            const hpa = w.translate(asGuestPhysical(gpa), access);
            const got = w.outcome === EptOutcome.Ok ? 'ok' : w.outcome === EptOutcome.Violation ? 'violation' : 'misconfig';
            const where = `seed ${seed} round ${round} gpa 0x${gpa.toString(16)} access ${access}`;
            expect(got, where).toBe(ref.outcome);
            if (ref.outcome !== 'misconfig') expect(w.perm, where).toBe(ref.perm);
            if (ref.outcome === 'ok') { expect(hpa, where).toBe(ref.hpa); ok++; } else if (ref.outcome === 'violation') viol++; else mis++;
          }
        }
      }
    }
    // Each outcome is well represented.
    expect({ ok, viol, mis }).toEqual({ ok: expect.any(Number), viol: expect.any(Number), mis: expect.any(Number) });
    expect(Math.min(ok, viol, mis), JSON.stringify({ ok, viol, mis })).toBeGreaterThan(1000);
  });

  it('through the CPU (paging off, with and without A/D flags): only #PF-free architectural outcomes, data from the reference translation', () => {
    let done = 0, exits = 0, misconfigs = 0;
    for (const seed of [11, 12]) {
      for (const ad of [false, true]) {
        const rnd = prng(seed + (ad ? 100 : 0));
        const h = new EptHarness('haswell');
        const m = h.m.mem, c = h.m.c;
        for (let p = 0; p < 16 << 20; p += 4096) m.write32(p + 0x10, p ^ 0x5a5a5a5a); // recognisable data
        for (let round = 0; round < 12; round++) {
          randomEpt(m, rnd);
          c.cr0 &= ~Cr0.PG; // an unrestricted guest with paging off: linear = guest-physical
          h.enter({ eptp: TABLES | 0x1e | (ad ? EPTP_AD : 0) });
          const f: EptFeatures = { executeOnly: true, pages2m: true, pages1g: true };
          const recent: number[] = [];
          for (let k = 0; k < 200; k++) {
            // Half the accesses go to a page used before, so that TLB hits are checked too.
            const r = rnd();
            const gpa = r < 0.5 && recent.length > 0 ? recent[Math.floor(rnd() * recent.length)] : r < 0.75 ? ((randomGpa(rnd) & ~0xfff) | 0x10) >>> 0 : randomGpa(rnd);
            recent.push(gpa);
            const kind = Math.floor(rnd() * 3);
            const access = [EptAccess.Read, EptAccess.Write, EptAccess.Fetch][kind];
            const before = refWalk(m, TABLES, gpa, access, f);
            try {
              if (kind === 0) {
                const v = c.readLin32(gpa);
                const ref = refWalk(m, TABLES, gpa, access, f);
                expect(ref.outcome).toBe('ok');
                expect(v >>> 0, `read 0x${gpa.toString(16)}`).toBe(ref.hpa < (16 << 20) ? m.read32(ref.hpa) >>> 0 : 0xffffffff);
                // The page is in the TLB now: a fetch and a write from it must still get EPT's verdict.
                for (const [acc, op] of [[EptAccess.Fetch, () => c.tlb.translateFetch(gpa)], [EptAccess.Write, () => c.writeLin32(gpa, v)]] as const) {
                  const want = refWalk(m, TABLES, gpa, acc, f).outcome;
                  let got = 'ok';
                  try { op(); } catch (x) { if (!(x instanceof EptExit)) throw x; got = x.reason === 48 ? 'violation' : 'misconfig'; }
                  expect(got, `access ${acc} after a read of 0x${gpa.toString(16)}`).toBe(want);
                }
              } else if (kind === 1) {
                // Write back what the reference says is there: memory keeps its contents.
                const v = before.outcome === 'ok' ? m.read32(before.hpa) : 0;
                c.writeLin32(gpa, v);
                expect(before.outcome).toBe('ok');
              } else {
                c.tlb.translateFetch(gpa);
                expect(before.outcome).toBe('ok');
              }
              done++;
            } catch (e) {
              if (e === FAULT) throw new Error(`guest fault ${FAULT.vector} with paging off at 0x${gpa.toString(16)}`);
              if (!(e instanceof EptExit)) throw e;
              expect(e.gpa).toBe(gpa);
              if (e.reason === 49) { expect(before.outcome).toBe('misconfig'); misconfigs++; continue; }
              expect(before.outcome).toBe('violation');
              expect(e.qualification).toBe(access | (before.perm << 3) | 0x180);
              expect(e.gla).toBe(gpa);
              exits++;
            }
          }
          h.exit();
        }
      }
    }
    expect(Math.min(done, exits, misconfigs)).toBeGreaterThan(100);
  });

  it('through the CPU with random guest page tables: outcomes are #PF, EPT exits whose qualification the reference confirms, or completed accesses', () => {
    const counts = { done: 0, pf: 0, walkExit: 0, finalExit: 0, mis: 0 };
    const rnd = prng(77);
    const h = new EptHarness('haswell');
    const m = h.m.mem, c = h.m.c;
    const f: EptFeatures = { executeOnly: true, pages2m: true, pages1g: true };
    for (let round = 0; round < 30; round++) {
      randomEpt(m, rnd);
      // GPA 0-2 MB identity (a 2 MB leaf through the first entry of three tables): the guest's
      // paging structures live there; the pages they map are anywhere in 0-8 MB.
      m.write32(TABLES, (TABLES + 0x1000) | 7); m.write32(TABLES + 4, 0);
      m.write32(TABLES + 0x1000, (TABLES + 0x2000) | 7); m.write32(TABLES + 0x1004, 0);
      m.write32(TABLES + 0x2000, 0x80 | (6 << 3) | 7); m.write32(TABLES + 0x2004, 0);
      const present = (): number => (rnd() < 0.8 ? 1 : 0) | (rnd() < 0.7 ? 2 : 0) | (rnd() < 0.7 ? 4 : 0) | (rnd() < 0.5 ? 0x20 : 0) | (rnd() < 0.3 ? 0x40 : 0);
      for (let p = 0x10000; p < 0x200000; p += 4) m.write32(p, (Math.floor(rnd() * 2048) << 12) | present());
      for (let i = 0; i < 1024; i++) {
        const large = rnd() < 0.2;
        const pt = rnd() < 0.8 ? 0x10 + Math.floor(rnd() * 0x1f0) : 0x200 + Math.floor(rnd() * 0x600); // 20% outside 0-2 MB
        m.write32(0x3000 + i * 4, large ? (Math.floor(rnd() * 2) << 22) | 0x80 | present() : (pt << 12) | present());
      }
      c.cr0 |= Cr0.PG; c.cr3 = 0x3000; c.tlb.flushAll();
      h.enter({ eptp: TABLES | 0x1e | (round % 2 === 1 ? EPTP_AD : 0) });
      const recent: number[] = [];
      for (let k = 0; k < 150; k++) {
        const lin = rnd() < 0.4 && recent.length > 0 ? recent[Math.floor(rnd() * recent.length)] : randomGpa(rnd);
        recent.push(lin);
        const kind = Math.floor(rnd() * 3);
        try {
          if (kind === 0) c.readLin32(lin); else if (kind === 1) c.writeLin8(lin, 0); else c.tlb.translateFetch(lin);
          counts.done++;
        } catch (e) {
          if (e === FAULT) { expect(FAULT.vector).toBe(Vector.PF); counts.pf++; continue; }
          if (!(e instanceof EptExit)) throw e;
          if (e.reason === 49) { counts.mis++; continue; }
          const q = e.qualification;
          expect(q & 0x80).toBe(0x80);
          expect(e.gla).toBe(lin);
          const access = q & 7;
          // The reported access, on the reported guest-physical address, is a violation with
          // the reported rights (A/D flags make guest paging-structure accesses read+write).
          const ref = refWalk(m, TABLES, e.gpa, access, f);
          expect(ref.outcome).toBe('violation');
          expect((q >>> 3) & 7).toBe(ref.perm);
          if ((q & 0x100) !== 0) counts.finalExit++; else counts.walkExit++;
        }
      }
      h.exit();
    }
    expect(counts.done + counts.pf + counts.walkExit + counts.finalExit + counts.mis).toBe(30 * 150);
    for (const [k, v] of Object.entries(counts)) expect(v, k).toBeGreaterThan(0);
  });
});
