// FXSAVE/FXRSTOR (0F AE /0 /1): the 512-byte image layout (SDM Vol. 1 Table 10-2) and a round trip.
import { describe, expect, it } from 'vitest';
import { createCpu } from '../../src/core/cpu/index';
import { FAULT } from '../../src/core/cpu/fault';
import { PhysicalMemory } from '../../src/core/platform/memory';
import { IoBus } from '../../src/core/platform/io-bus';
import { Seg } from '../../src/core/cpu/regs';

function machine() {
  const mem = new PhysicalMemory(1 << 20);
  const c = createCpu(mem, new IoBus());
  for (const s of [Seg.DS, Seg.ES, Seg.SS]) c.setSegReal(s, 0, 0xffff, 0x93);
  c.setSegReal(Seg.CS, 0, 0xffff, 0x9b);
  return { mem, c };
}
function exec(c: ReturnType<typeof machine>['c'], mem: PhysicalMemory, bytes: number[]): number {
  mem.load(0x1000, new Uint8Array(bytes));
  c.eip = 0x1000;
  try { c.step(); return -1; } catch (e) { if (e !== FAULT) throw e; return FAULT.vector; }
}

describe('FXSAVE / FXRSTOR', () => {
  it('stores the x87 state in the FXSAVE layout and restores it', () => {
    const { mem, c } = machine();
    const f = c.fpu!;
    f.reset();
    f.push(1.0); f.push(-2.5);
    // fxsave [0x2000] = 0F AE 06 00 20
    expect(exec(c, mem, [0x0f, 0xae, 0x06, 0x00, 0x20])).toBe(-1);
    expect(mem.read16(0x2000)).toBe(0x037f);               // FCW
    expect((mem.read16(0x2002) >> 11) & 7).toBe(6);        // TOP after two pushes
    expect(mem.read8(0x2004)).toBe(0b11000000);             // abridged tags: R6, R7 valid
    expect(mem.read32(0x2000 + 24)).toBe(0x1f80);           // MXCSR
    // ST0 = -2.5 = C000 A000000000000000, ST1 = 1.0 = 3FFF 8000000000000000
    expect(mem.read16(0x2000 + 32 + 8)).toBe(0xc000);
    expect(mem.read32(0x2000 + 32 + 4) >>> 0).toBe(0xa0000000);
    expect(mem.read16(0x2000 + 48 + 8)).toBe(0x3fff);
    f.reset();
    expect(f.tagWord).toBe(0xffff);
    // fxrstor [0x2000] = 0F AE 0E 00 20
    expect(exec(c, mem, [0x0f, 0xae, 0x0e, 0x00, 0x20])).toBe(-1);
    expect(f.getST(0)).toBe(-2.5);
    expect(f.getST(1)).toBe(1.0);
    expect(f.tagWord & 0xf000).toBe(0);
  });

  it('raises #GP for a misaligned operand, #NM with CR0.TS, #UD for the SSE forms', () => {
    const { mem, c } = machine();
    expect(exec(c, mem, [0x0f, 0xae, 0x06, 0x08, 0x20])).toBe(13);
    c.cr0 |= 8;
    expect(exec(c, mem, [0x0f, 0xae, 0x06, 0x00, 0x20])).toBe(7);
    c.cr0 &= ~8;
    expect(exec(c, mem, [0x0f, 0xae, 0x16, 0x00, 0x20])).toBe(6); // LDMXCSR: no SSE
  });
});
