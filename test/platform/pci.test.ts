// PCI configuration mechanism #1 as a BIOS or Linux probes it.
import { describe, expect, it } from 'vitest';
import { IoBus } from '../../src/core/platform/io-bus';
import { createPiixBus } from '../../src/core/platform/devices/pci';

function setup() {
  const io = new IoBus();
  const bus = createPiixBus();
  bus.registerPorts(io);
  const cfg = (dev: number, fn: number, reg: number): number => 0x80000000 | (dev << 11) | (fn << 8) | reg;
  const read32 = (dev: number, fn: number, reg: number): number => { io.write(0xcf8, 4, cfg(dev, fn, reg)); return io.read(0xcfc, 4); };
  return { io, bus, cfg, read32 };
}

describe('PCI configuration space (i440FX/PIIX3)', () => {
  it('enumerates the host bridge, ISA bridge, IDE and PM functions by vendor/device and class', () => {
    const { read32 } = setup();
    expect(read32(0, 0, 0) >>> 0).toBe(0x12378086);
    expect(read32(1, 0, 0) >>> 0).toBe(0x70008086);
    expect(read32(1, 1, 0) >>> 0).toBe(0x70108086);
    expect(read32(1, 1, 8) >>> 8).toBe(0x010180);
    expect(read32(1, 3, 0) >>> 0).toBe(0x71138086);
    expect((read32(1, 0, 0x0c) >>> 16) & 0x80).toBe(0x80); // multi-function header
    expect(read32(5, 0, 0) >>> 0).toBe(0xffffffff); // empty slot: master abort
  });

  it('reads bytes and words at any offset of the data window and honours writable masks', () => {
    const { io, cfg } = setup();
    io.write(0xcf8, 4, cfg(1, 0, 0x60));
    expect(io.read(0xcfc, 1)).toBe(11);
    expect(io.read(0xcfd, 1)).toBe(10);
    expect(io.read(0xcfe, 2)).toBe(0x0a0b);
    io.write(0xcfc, 1, 0x85);
    expect(io.read(0xcfc, 1)).toBe(0x85);
    io.write(0xcf8, 4, cfg(0, 0, 0));
    io.write(0xcfc, 2, 0xffff); // vendor ID is read-only
    expect(io.read(0xcfc, 2)).toBe(0x8086);
  });

  it('returns the address register only for dword accesses to 0xCF8 and ignores disabled cycles', () => {
    const { io, cfg } = setup();
    io.write(0xcf8, 4, cfg(1, 1, 0x40));
    expect(io.read(0xcf8, 4) >>> 0).toBe(cfg(1, 1, 0x40) >>> 0);
    io.write(0xcf8, 4, 0x00000800); // enable bit clear
    expect(io.read(0xcfc, 4) >>> 0).toBe(0xffffffff);
  });
});
