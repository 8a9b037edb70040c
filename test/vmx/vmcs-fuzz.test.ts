// Bad input (issue 4): any VMCS contents lead to an architectural outcome - VMfailValid (errors
// 7, 8), a VM-entry failure (exit 33 or 34), a VM exit, a guest still running, or a VMX abort
// (shutdown) - never a host exception. Deterministic: a seeded PRNG writes random values into the
// fields of an otherwise valid VMCS (a few fields, or every field), enters, and resumes once
// after an exit. The summary of outcomes is checked to cover each kind.
import { describe, expect, it } from 'vitest';
import { ALL_FIELDS, FieldType, FieldWidth, fieldType, fieldWidth, VmcsField as V } from '../../src/core/vmx/fields';
import type { VmxResult } from '../../src/core/vmx/root';
import { Guest } from './guest-support';

/** mulberry32: a small seeded PRNG (deterministic across platforms). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0);
  };
}

const INTERESTING = [0, 1, 2, 0xffffffff, 0x80000000, 0x7fffffff, 0xffff, 0x10000, 0x1000, 0xfff, 0x8b, 0xc09b, 0xc093, 0x10000 | 0xc093];

function outcomeOf(res: VmxResult): string {
  switch (res.kind) {
    case 'failValid': return `failValid ${res.error}`;
    case 'exit': return res.exit.entryFailure ? `entry failure ${res.exit.reason}` : 'exit';
    default: return res.kind;
  }
}

describe('random VMCS contents (seeded): only architectural outcomes', () => {
  // Skylake and Penryn as 32-bit processors, and Skylake with Intel 64 (the default model:
  // random "IA-32e mode guest" and "host address-space size" bits, 64-bit natural-width fields).
  // Then a 64-bit guest under a 64-bit host (valid before the mutations) on Skylake.
  const VARIANTS = [['skylake', 'none', 0x5eed], ['penryn', 'none', 0xbeef], ['skylake', 'lm', 0x1a32e], ['skylake', '64', 0x64646]] as const;
  for (const [gen, lm, seed] of VARIANTS) {
    const setup = (g: Guest): Guest => { if (lm === '64') { g.host64(); g.guest64(); } return g; };
    const newGuest = (): Guest => setup(new Guest(gen, undefined, lm === 'none' ? {} : lm === 'lm' ? { longMode: true } : { start64: true }));
    const title = lm === 'none' ? '' : lm === 'lm' ? ' with Intel 64' : ', a 64-bit guest under a 64-bit host';
    it(`${gen}${title}: 600 entries with mutated fields`, () => {
      const rnd = prng(seed);
      const fields = ALL_FIELDS.filter((f) => newGuest().unit.caps.fieldExists[f] === 1);
      const guestFields = fields.filter((f) => fieldType(f) === FieldType.GuestState);
      const seen = new Map<string, number>();
      let g = newGuest();
      for (let i = 0; i < 600; i++) {
        if (i % 40 === 0 || g.c.shutdown) g = newGuest();
        else {
          // A fresh VMCS: clear it, zero its region past the revision and abort dwords, reload.
          g.r.vmclear(0x101000);
          g.m.mem.u8.fill(0, 0x101008, 0x102000);
          g.r.vmptrld(0x101000);
          g.defaults();
          setup(g);
        }
        g.m.mem.load(0x30000, new Uint8Array([0x0f, 0xa2, 0x90, 0x0f, 0x0b])); // cpuid; nop; ud2
        g.w(V.GuestRip, 0x30000);
        // A few fields (most iterations; half of them guest-state fields only, to get past the
        // checks on controls and host state more often) or every field (one in eight).
        const all = (rnd() & 7) === 0;
        const pool = (rnd() & 1) === 0 ? guestFields : fields;
        const n = all ? fields.length : 1 + (rnd() % 6);
        for (let k = 0; k < n; k++) {
          const f = all ? fields[k] : pool[rnd() % pool.length];
          const r = rnd();
          const v = (r & 3) === 0 ? INTERESTING[rnd() % INTERESTING.length] : (r & 3) === 1 ? (g.rd(f) ^ (1 << (rnd() & 31))) >>> 0 : rnd();
          const w = g.r.vmwrite(f, v);
          expect(w.kind === 'succeed' || (w.kind === 'failValid' && w.error === 13), `vmwrite ${V[f]}`).toBe(true);
          if (fieldWidth(f) === FieldWidth.Bits64 && (rnd() & 3) === 0) g.r.vmwrite(f | 1, rnd());
        }
        let res: VmxResult;
        try {
          res = g.enter(3000);
          if (res.kind === 'exit' && !res.exit.entryFailure && !g.c.shutdown) res = g.r.vmresume(3000);
          // A guest still running at the end of its budget: let it go on a little, then drop it.
          if (res.kind === 'running') res = g.r.runGuest(1000);
        } catch (e) {
          throw new Error(`iteration ${i} on ${gen}: host exception ${(e as Error).stack ?? e}`);
        }
        const o = outcomeOf(res);
        expect(['succeed', 'failInvalid', 'fault', 'failValid 7', 'failValid 8', 'failValid 4', 'failValid 5', 'entry failure 33',
          'entry failure 34', 'exit', 'running', 'shutdown'], `iteration ${i}: ${JSON.stringify(res)}`).toContain(o);
        if (res.kind === 'exit') expect(g.c.nonRoot).toBe(false);
        if (res.kind === 'running') { g = newGuest(); continue; }
        seen.set(o, (seen.get(o) ?? 0) + 1);
      }
      // Every kind of outcome came up.
      for (const o of ['failValid 7', 'failValid 8', 'entry failure 33', 'exit', 'shutdown']) expect(seen.get(o) ?? 0, `${o} in ${JSON.stringify([...seen])}`).toBeGreaterThan(0);
    }, 120_000);
  }
});
