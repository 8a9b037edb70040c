// PcMachine run loop: virtual time flows while the CPU is halted, and the TSC follows it.
import { describe, expect, it } from 'vitest';
import { PcMachine } from '../../src/core/platform/machine';
import { Seg } from '../../src/core/cpu/regs';

describe('PcMachine virtual time', () => {
  it('skips idle time to timer deadlines and advances the TSC with it', () => {
    const m = new PcMachine({ memoryBytes: 4 << 20, firmware: 'none' });
    const c = m.cpu;
    // Real mode at 0:1000: program PIT ch0 at 100 Hz, unmask IRQ0 (vector 8 -> iret at 0:2000),
    // then sti/hlt forever.
    m.mem.load(0x2000, new Uint8Array([0x50, 0xb0, 0x20, 0xe6, 0x20, 0x58, 0xcf])); // push ax; mov al,20h; out 20h,al; pop ax; iret
    m.mem.write16(8 * 4, 0x2000); m.mem.write16(8 * 4 + 2, 0);
    m.io.write(0x20, 1, 0x11); m.io.write(0x21, 1, 0x08); m.io.write(0x21, 1, 0x04); m.io.write(0x21, 1, 0x01);
    m.io.write(0x21, 1, 0xfe);
    m.io.write(0x43, 1, 0x34); m.io.write(0x40, 1, 11932 & 0xff); m.io.write(0x40, 1, 11932 >> 8);
    m.mem.load(0x1000, new Uint8Array([0xfb, 0xf4, 0xeb, 0xfd])); // sti; hlt; jmp $-1
    for (const s of [Seg.DS, Seg.ES, Seg.SS]) c.setSegReal(s, 0, 0xffff, 0x93);
    c.setSegReal(Seg.CS, 0, 0xffff, 0x9b);
    c.eip = 0x1000; c.r16[8] = 0x8000;
    const ticks = 100_000_000; // one second of virtual time at the default 100 MIPS
    expect(m.run(ticks)).toBe('budget');
    expect(m.clock.nowNs()).toBeGreaterThanOrEqual(1e9);
    expect(c.icount).toBeLessThan(10_000); // almost all of it idle
    expect(m.pit.irq0Edges).toBeGreaterThanOrEqual(100);
    expect(m.pit.irq0Edges).toBeLessThanOrEqual(102);
    expect(Math.abs(c.tsc() - m.clock.ticks())).toBe(0); // the TSC counts idle time too
  });
});
