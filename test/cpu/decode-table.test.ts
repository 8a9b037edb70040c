// The opcode table covers the P6 one-byte and 0F maps (SDM Vol. 2D Appendix A); everything
// else raises #UD when executed.
import { describe, expect, it } from 'vitest';
import { ALL_ROWS, createCpu } from '../../src/core/cpu/index';
import { FAULT } from '../../src/core/cpu/fault';
import { PhysicalMemory } from '../../src/core/platform/memory';
import { IoBus } from '../../src/core/platform/io-bus';
import { Seg } from '../../src/core/cpu/regs';

const PREFIXES = [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3];
const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);
/** Two-byte opcodes a P6-class CPU defines (Pentium Pro set plus Pentium II FXSAVE/FXRSTOR at
 *  0F AE; no MMX/SSE). */
const P6_0F = [
  0x00, 0x01, 0x02, 0x03, 0x06, 0x08, 0x09, 0x0b, ...range(0x19, 0x1f), 0x20, 0x21, 0x22, 0x23,
  0x30, 0x31, 0x32, 0x33, 0x34, 0x35, ...range(0x40, 0x4f), ...range(0x80, 0x8f), ...range(0x90, 0x9f),
  0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa8, 0xa9, 0xab, 0xac, 0xad, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3,
  0xae, 0xb4, 0xb5, 0xb6, 0xb7, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1, 0xc7, ...range(0xc8, 0xcf),
];

describe('decode table', () => {
  it('has a row for every one-byte opcode that is not a prefix or the 0F escape', () => {
    const one = new Set(ALL_ROWS.filter((r) => r.code < 0x100).map((r) => r.code));
    for (let op = 0; op < 256; op++) {
      if (op === 0x0f || PREFIXES.includes(op)) expect(one.has(op), `0x${op.toString(16)}`).toBe(false);
      else expect(one.has(op), `one-byte 0x${op.toString(16)}`).toBe(true);
    }
  });

  it('has a row for every P6 two-byte opcode and names each form', () => {
    const two = new Map(ALL_ROWS.filter((r) => r.code >= 0x100).map((r) => [r.code & 0xff, r.name]));
    for (const op of P6_0F) expect(two.has(op), `0F ${op.toString(16)}`).toBe(true);
    for (const r of ALL_ROWS) expect(r.name.length).toBeGreaterThan(2);
  });

  it('raises #UD for two-byte opcodes outside the P6 map (MMX, SSE, SYSCALL, RSM, UD1, ...)', () => {
    const mem = new PhysicalMemory(1 << 20);
    const c = createCpu(mem, new IoBus());
    const undefinedOps = range(0, 255).filter((op) => !P6_0F.includes(op));
    for (const op of undefinedOps) {
      c.setSegReal(Seg.CS, 0, 0xffff, 0x9b);
      c.eip = 0x1000;
      mem.write8(0x1000, 0x0f); mem.write8(0x1001, op); mem.write8(0x1002, 0xc0);
      let vector = -1;
      try { c.step(); } catch (e) { if (e !== FAULT) throw e; vector = FAULT.vector; }
      expect(vector, `0F ${op.toString(16)}`).toBe(6);
    }
  });
});
