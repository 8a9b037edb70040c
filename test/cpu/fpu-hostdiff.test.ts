import { it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { Cpu } from '../../src/core/cpu/cpu';
import '../../src/core/cpu/fpu/rows';
import { Fpu } from '../../src/core/cpu/fpu/fpu';
import { Seg } from '../../src/core/cpu/regs';
import { PhysicalMemory } from '../../src/core/platform/memory';
import { IoBus } from '../../src/core/platform/io-bus';

const OPS: Record<string, number[]> = {
  fadd: [0xd8, 0xc1], fsub: [0xd8, 0xe1], fmul: [0xd8, 0xc9], fdiv: [0xd8, 0xf1], fsqrt: [0xd9, 0xfa],
  fprem: [0xd9, 0xf8], fprem1: [0xd9, 0xf5], fscale: [0xd9, 0xfd], frndint: [0xd9, 0xfc], fxtract: [0xd9, 0xf4],
  fcom: [0xd8, 0xd1], fucom: [0xdd, 0xe1], fxam: [0xd9, 0xe5], fpatan: [0xd9, 0xf3, 0xd9, 0xe8], fyl2x: [0xd9, 0xf1, 0xd9, 0xe8],
  fsin: [0xd9, 0xfe], f2xm1: [0xd9, 0xf0],
};
const APPROX = new Set(['fpatan', 'fyl2x', 'fsin', 'f2xm1']);
it('matches the host x87', () => {
  const mem = new PhysicalMemory(1 << 20);
  const c = new Cpu(mem, new IoBus());
  const f = new Fpu(); c.fpu = f;
  c.cr0 = 0x60000030;
  c.setSegReal(Seg.CS, 0x100, 0xffff, 0x9b);
  const dv = new DataView(mem.buffer);
  const runb = (b: number[]) => { c.eip = 0; mem.u8.set(b, 0x1000); while (c.eip !== b.length) c.step(); };
  const lines = readFileSync('/tmp/x87diff/cases.jsonl', 'utf8').trim().split('\n');
  const bad: Record<string, string[]> = {};
  let n = 0;
  for (const line of lines) {
    const t = JSON.parse(line);
    const hx = (s: string) => [parseInt(s.slice(8), 16), parseInt(s.slice(0, 8), 16)];
    const [alo, ahi] = hx(t.a);
    dv.setUint32(0x8000, alo, true); dv.setUint32(0x8004, ahi, true);
    dv.setUint16(0x7000, t.cw, true);
    let got: string, want: string;
    if (t.op === 'fist') {
      runb([0xdb, 0xe3, 0xd9, 0x2e, 0x00, 0x70, 0xdd, 0x06, 0x00, 0x80, 0xdf, 0x1e, 0x10, 0x80, 0xdd, 0x3e, 0x20, 0x80,
        0xdd, 0x06, 0x00, 0x80, 0xdb, 0xe2, 0xdb, 0x1e, 0x30, 0x80, 0xdd, 0x3e, 0x22, 0x80,
        0xdb, 0xe2, 0xdd, 0x06, 0x00, 0x80, 0xdf, 0x3e, 0x40, 0x80, 0xdd, 0x3e, 0x24, 0x80]);
      got = [dv.getUint16(0x8010, true), dv.getUint32(0x8030, true), dv.getBigUint64(0x8040, true).toString(16).padStart(16, '0'), dv.getUint16(0x8020, true), dv.getUint16(0x8022, true), dv.getUint16(0x8024, true)].join(' ');
      want = [t.w, t.d, t.q, ...t.sw].join(' ');
    } else if (t.op === 'fbstp') {
      runb([0xdb, 0xe3, 0xd9, 0x2e, 0x00, 0x70, 0xdd, 0x06, 0x00, 0x80, 0xdf, 0x36, 0x10, 0x80, 0xdd, 0x3e, 0x20, 0x80]);
      got = Array.from(mem.u8.subarray(0x8010, 0x801a), (b) => b.toString(16).padStart(2, '0')).join('') + ' ' + dv.getUint16(0x8020, true);
      want = t.bcd + ' ' + t.sw;
    } else {
      const [blo, bhi] = hx(t.b);
      dv.setUint32(0x8008, blo, true); dv.setUint32(0x800c, bhi, true);
      runb([0xdb, 0xe3, 0xd9, 0x2e, 0x00, 0x70, 0xdd, 0x06, 0x08, 0x80, 0xdd, 0x06, 0x00, 0x80, ...OPS[t.op],
        0xdd, 0x3e, 0x20, 0x80, 0xdd, 0x1e, 0x30, 0x80, 0xdd, 0x1e, 0x38, 0x80]);
      const r0 = dv.getBigUint64(0x8030, true).toString(16).padStart(16, '0');
      const r1 = dv.getBigUint64(0x8038, true).toString(16).padStart(16, '0');
      let s = dv.getUint16(0x8020, true), ws = t.sw;
      if (APPROX.has(t.op)) {
        const close = (x: string, y: string) => { const a = dv; a.setBigUint64(0x9000, BigInt('0x' + x), true); const p = a.getFloat64(0x9000, true); a.setBigUint64(0x9000, BigInt('0x' + y), true); const q = a.getFloat64(0x9000, true); return (p !== p && q !== q) || p === q || Math.abs(p - q) <= 4 * Number.EPSILON * Math.abs(q); };
        got = (close(r0, t.r0) ? 'ok' : r0) + ' ' + (close(r1, t.r1) ? 'ok' : r1) + ' ' + (s & ~0x220);
        want = 'ok ok ' + (ws & ~0x220);
      } else {
        got = `${r0} ${r1} ${s.toString(16)}`;
        want = `${t.r0} ${t.r1} ${ws.toString(16)}`;
      }
    }
    n++;
    if (got !== want) (bad[t.op] ??= []).push(`a=${t.a} b=${t.b ?? ''} cw=${t.cw.toString(16)} got=${got} want=${want}`);
  }
  for (const [k, v] of Object.entries(bad)) console.log(k, v.length, '\n  ' + v.slice(0, 6).join('\n  '));
  expect(Object.keys(bad)).toEqual([]);
  expect(n).toBe(lines.length);
});
