// The recorder's building blocks: the time series (bin merging), the typed-array key table,
// statistics merging, the filters' parsers and the JSON Schema validator.
import { describe, expect, it } from 'vitest';
import { parseRipRange, parseVcpu } from '../../src/core/profile/filters';
import { validateJson } from '../../src/core/profile/json-schema';
import { KEY_SPLIT, KeyTable } from '../../src/core/profile/key-table';
import { StatColumns, mergeStats, stddevOf } from '../../src/core/profile/stats';
import { TimeSeries } from '../../src/core/profile/time-series';
import { ExitReason } from '../../src/core/vmx/exit-reasons';

describe('TimeSeries', () => {
  it('fills fixed-width bins, then merges pairs and doubles the width when time runs past the end', () => {
    const ts = new TimeSeries(4, 10);
    for (const t of [0, 5, 15, 35]) ts.add({ timeNs: t }, ExitReason.Cpuid, 100);
    expect(Array.from(ts.count)).toEqual([2, 1, 0, 1]);
    expect(ts.binWidthNs).toBe(10);
    ts.add({ timeNs: 45 }, ExitReason.Hlt, 7); // bin 4 of 4: merge once -> width 20, t=45 in bin 2
    expect(ts.binWidthNs).toBe(20);
    expect(Array.from(ts.count)).toEqual([3, 1, 1, 0]);
    expect(Array.from(ts.handler)).toEqual([300, 100, 7, 0]);
    expect(ts.usedBins).toBe(3);
    ts.add({ timeNs: 1000 }, ExitReason.Hlt, 1); // needs width 320 (bin 3): four more merges
    expect(ts.binWidthNs).toBe(320);
    expect(Array.from(ts.count)).toEqual([5, 0, 0, 1]);
    const bins = ts.bins();
    expect(bins.map((b) => b.startNs)).toEqual([0, 320, 640, 960]);
    expect(bins[0]!.reasons).toEqual([{ reason: ExitReason.Cpuid, count: 4 }, { reason: ExitReason.Hlt, count: 1 }]);
    expect(bins[3]!.reasons).toEqual([{ reason: ExitReason.Hlt, count: 1 }]);
    expect(bins.reduce((a, b) => a + b.count, 0)).toBe(6);
    expect(bins.reduce((a, b) => a + b.handlerCycles, 0)).toBe(408);
  });

  it('keeps totals exact over many merges and never uses more than binCount bins', () => {
    const ts = new TimeSeries(8, 1);
    let n = 0;
    for (let t = 0; t < 1e6; t += 997) { ts.add({ timeNs: t }, ExitReason.IoInstruction, 1); n++; }
    expect(ts.usedBins).toBeLessThanOrEqual(8);
    expect(ts.bins().reduce((a, b) => a + b.count, 0)).toBe(n);
    expect(ts.binWidthNs * 8).toBeGreaterThan(1e6 - 997);
  });

  it('rejects bad sizes', () => {
    expect(() => new TimeSeries(3)).toThrow(/even/);
    expect(() => new TimeSeries(4, 0)).toThrow(/width/);
  });
});

/** slot(a, b) with b split as the recorder splits it. */
const slot = (t: KeyTable, a: number, b: number): number => { const hi = Math.floor(b / KEY_SPLIT); return t.slot(a, hi, b - hi * KEY_SPLIT); };

describe('KeyTable', () => {
  it('agrees with a Map on many keys, through growth, and keeps insertion order', () => {
    const t = new KeyTable(16);
    const ref = new Map<string, number>();
    let seed = 12345;
    const rnd = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed; };
    const order: string[] = [];
    for (let i = 0; i < 20000; i++) {
      const a = rnd() % 80;
      // 32-bit RIPs, 40-bit page keys and small keys alike.
      const b = i % 3 === 0 ? rnd() : i % 3 === 1 ? rnd() * 256 + (rnd() & 0xff) : rnd() % 50;
      const k = `${a}:${b}`;
      const s = slot(t, a, b);
      if (!ref.has(k)) { ref.set(k, s); order.push(k); }
      expect(s).toBe(ref.get(k));
    }
    expect(t.size).toBe(ref.size);
    for (let s = 0; s < t.size; s++) expect(`${t.keyA(s)}:${t.keyB(s)}`).toBe(order[s]);
    expect(t.find(999, 0, 1)).toBe(-1);
    // A key above 2^32 (a 52-bit page key) and its neighbours stay apart.
    const big = 2 ** 44 + 5;
    const sb = slot(t, 1, big);
    expect(t.keyB(sb)).toBe(big);
    expect(slot(t, 1, big + KEY_SPLIT)).not.toBe(sb);
  });

  it('returns -1 past maxKeys but still finds the keys it holds', () => {
    const t = new KeyTable(16, 2);
    expect(slot(t, 0, 1)).toBe(0);
    expect(slot(t, 0, 2)).toBe(1);
    expect(slot(t, 0, 3)).toBe(-1);
    expect(slot(t, 0, 2)).toBe(1);
  });
});

describe('statistics', () => {
  it('merging two sets equals recording them together', () => {
    const xs = [5, 9, 13, 2, 40], ys = [7, 7, 100];
    const a = new StatColumns(3);
    xs.forEach((x) => a.add(0, x, 0, 0));
    ys.forEach((y) => a.add(1, y, 1, 2));
    [...xs, ...ys].forEach((z) => a.add(2, z, 0, 0));
    const m = mergeStats(a.view(0), a.view(1)), all = a.view(2);
    expect(m.count).toBe(8);
    expect(m.handlerSum).toBe(all.handlerSum);
    expect(m.handlerMin).toBe(2);
    expect(m.handlerMax).toBe(100);
    expect(stddevOf(m)).toBeCloseTo(stddevOf(all), 9);
    expect(m.instructionsEmulated).toBe(3);
    expect(m.interruptsInjected).toBe(6);
  });
});

describe('filter parsing', () => {
  it('parses --rip-range in hex or decimal, end exclusive, and explains mistakes', () => {
    expect(parseRipRange('0xc1000000-0xc1800000')).toEqual({ start: 0xc1000000, end: 0xc1800000 });
    expect(parseRipRange('4096-8192')).toEqual({ start: 4096, end: 8192 });
    expect(() => parseRipRange('0x2000')).toThrow(/START-END/);
    expect(() => parseRipRange('0x2000-0x1000')).toThrow(/must be above/);
    expect(() => parseRipRange('zz-0x10')).toThrow(/not an address/);
    expect(parseVcpu('1')).toBe(1);
    expect(() => parseVcpu('-1')).toThrow(/vCPU index/);
  });
});

describe('validateJson', () => {
  const schema = {
    type: 'object', required: ['a', 'k'], additionalProperties: false,
    properties: {
      a: { type: 'integer', minimum: 0, maximum: 10 },
      k: { $ref: '#/$defs/kind' },
      list: { type: 'array', minItems: 1, items: { type: ['string', 'null'] } },
      v: { oneOf: [{ properties: { t: { const: 'x' } }, required: ['t'] }, { properties: { t: { const: 'y' }, n: { type: 'number' } }, required: ['t', 'n'] }] },
    },
    $defs: { kind: { enum: ['in', 'out'] } },
  };
  it('accepts a valid document', () => {
    expect(validateJson(schema, { a: 3, k: 'in', list: ['x', null], v: { t: 'y', n: 1.5 } })).toEqual([]);
  });
  it('reports each kind of violation with its path', () => {
    const msgs = (v: unknown) => validateJson(schema, v).map((e) => `${e.path} ${e.message}`);
    expect(msgs({ a: 3.5, k: 'in' })).toEqual(['/a expected integer, got number']);
    expect(msgs({ a: 11, k: 'in' })).toEqual(['/a 11 is above the maximum 10']);
    expect(msgs({ a: 1, k: 'sideways' })[0]).toMatch(/^\/k expected one of "in", "out"/);
    expect(msgs({ k: 'in' })).toEqual(['/ missing property \'a\'']);
    expect(msgs({ a: 1, k: 'in', extra: 1 })).toEqual(['/ unexpected property \'extra\'']);
    expect(msgs({ a: 1, k: 'in', list: [] })).toEqual(['/list expected at least 1 items, got 0']);
    expect(msgs({ a: 1, k: 'in', list: [3] })).toEqual(['/list/0 expected string or null, got integer']);
    expect(msgs({ a: 1, k: 'in', v: { t: 'y' } })[0]).toMatch(/^\/v matches none of oneOf/);
  });
});
