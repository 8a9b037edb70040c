import { describe, expect, it } from 'vitest';
import { BlockDevice } from '../../src/core/platform/block';
import { VirtualClock } from '../../src/core/platform/clock';
import { IoBus } from '../../src/core/platform/io-bus';
import { IrqLine, type IrqSink } from '../../src/core/platform/irq';
import { PhysicalMemory } from '../../src/core/platform/memory';
import { Dma8237 } from '../../src/core/platform/devices/dma8237';
import { FloppyController, floppyGeometry } from '../../src/core/platform/devices/floppy';

const SIZE_144 = 1474560;

/** A 1.44M image whose sector at LBA n holds bytes (n + i) & 0xff. */
function image(size = SIZE_144): Uint8Array {
  const img = new Uint8Array(size);
  for (let lba = 0; lba < size / 512; lba++) for (let i = 0; i < 512; i++) img[lba * 512 + i] = (lba + i) & 0xff;
  return img;
}

function setup(media: BlockDevice | null = new BlockDevice('a.img', image())) {
  const counter = { icount: 0 };
  const clock = new VirtualClock(counter);
  let level = false, edges = 0;
  const sink: IrqSink = { setIrq: (irq, l) => { expect(irq).toBe(6); if (l && !level) edges++; level = l; } };
  const io = new IoBus();
  const mem = new PhysicalMemory(1 << 20);
  const dma = new Dma8237(mem);
  dma.registerPorts(io);
  const fdc = new FloppyController(clock, new IrqLine(sink, 6), dma);
  fdc.registerPorts(io);
  fdc.reset();
  if (media !== null) fdc.drives[0].insert(media);
  const out = (port: number, v: number) => io.write(port, 1, v);
  const inb = (port: number) => io.read(port, 1);
  /** Runs virtual time in 1 us steps until IRQ 6 rises (like a BIOS waiting in HLT). */
  const waitIrq = (): void => {
    const start = edges;
    for (let i = 0; i < 1000 && edges === start; i++) { counter.icount += clock.nsToTicks(1000); clock.runDue(); }
    expect(edges, 'IRQ 6 expected').toBe(start + 1);
  };
  const cmd = (...bytes: number[]): void => {
    for (const b of bytes) { expect(inb(0x3f4) & 0xc0, `MSR before 0x${b.toString(16)}`).toBe(0x80); out(0x3f5, b); }
  };
  const results = (n: number): number[] => {
    const r: number[] = [];
    for (let i = 0; i < n; i++) { expect(inb(0x3f4) & 0xc0).toBe(0xc0); r.push(inb(0x3f5)); }
    expect(inb(0x3f4)).toBe(0x80);
    return r;
  };
  return { io, mem, dma, fdc, out, inb, waitIrq, cmd, results, irq: () => level, edges: () => edges, counter, clock };
}

type Fdc = ReturnType<typeof setup>;

/** What a BIOS does before its first INT 13h read: reset, 4x SENSE INTERRUPT, SPECIFY, motor, CCR. */
function biosInit(f: Fdc): void {
  f.out(0x3f2, 0x08); // reset asserted, DMA/IRQ gate on
  expect(f.inb(0x3f4)).toBe(0); // no RQM while in reset
  f.out(0x3f2, 0x0c);
  f.waitIrq();
  for (let d = 0; d < 4; d++) { f.cmd(0x08); expect(f.results(2)).toEqual([0xc0 | d, 0]); }
  expect(f.irq()).toBe(false);
  f.cmd(0x03, 0xaf, 0x02); // SPECIFY: SRT/HUT, HLT, DMA mode
  expect(f.inb(0x3f4)).toBe(0x80);
  f.out(0x3f2, 0x1c); // motor A on, drive 0
  f.out(0x3f7, 0x00); // 500 kbit/s
}

function programDmaRead(f: Fdc, phys: number, bytes: number, mode = 0x46): void {
  f.out(0x0a, 0x06); // mask channel 2
  f.out(0x0c, 0x00); // clear flip-flop
  f.out(0x0b, mode); // single, write to memory (0x46) / read from memory (0x4A), channel 2
  f.out(0x04, phys & 0xff); f.out(0x04, (phys >> 8) & 0xff);
  f.out(0x81, phys >> 16);
  f.out(0x05, (bytes - 1) & 0xff); f.out(0x05, (bytes - 1) >> 8);
  f.out(0x0a, 0x02); // unmask
}

describe('floppyGeometry', () => {
  it('derives the standard formats from the image size', () => {
    const t = (size: number) => { const g = floppyGeometry(size); return [g.cylinders, g.heads, g.sectorsPerTrack]; };
    expect(t(163840)).toEqual([40, 1, 8]);
    expect(t(184320)).toEqual([40, 1, 9]);
    expect(t(327680)).toEqual([40, 2, 8]);
    expect(t(368640)).toEqual([40, 2, 9]);
    expect(t(737280)).toEqual([80, 2, 9]);
    expect(t(1228800)).toEqual([80, 2, 15]);
    expect(t(1474560)).toEqual([80, 2, 18]);
    expect(t(2949120)).toEqual([80, 2, 36]);
    expect(floppyGeometry(1474560).driveType).toBe(4);
    expect(() => floppyGeometry(1474560 + 512)).toThrow(/not a standard format.*1\.44M/);
    expect(() => floppyGeometry(0)).toThrow();
  });
});

describe('82077AA FDC', () => {
  it('does a BIOS INT 13h read: recalibrate, seek, READ DATA of 2 sectors by DMA into RAM', () => {
    const f = setup();
    biosInit(f);
    expect(f.inb(0x3f7) & 0x80).toBe(0x80); // disk changed since power-on
    f.cmd(0x07, 0x00); // RECALIBRATE drive 0
    expect(f.inb(0x3f4)).toBe(0x81); // controller idle, drive 0 busy seeking
    f.waitIrq();
    f.cmd(0x08);
    expect(f.results(2)).toEqual([0x20, 0]);
    f.cmd(0x0f, 0x04, 1); // SEEK head 1 drive 0 to cylinder 1
    f.waitIrq();
    f.cmd(0x08);
    expect(f.results(2)).toEqual([0x24, 1]);
    expect(f.inb(0x3f7) & 0x80).toBe(0); // the step cleared DSKCHG

    programDmaRead(f, 0x17e00, 1024);
    f.cmd(0xe6, 0x04, 1, 1, 17, 2, 18, 0x1b, 0xff); // READ DATA MT MFM SK: C1 H1 R17 N2 EOT18
    expect(f.inb(0x3f4) & 0xf0).toBe(0x10); // execution phase, no RQM
    expect(f.irq()).toBe(false); // not inside the OUT
    f.waitIrq();
    // Ended by TC at the end of sector 18 of head 1 with MT: next is C+1, H complemented, R=1.
    expect(f.results(7)).toEqual([0x04, 0x00, 0x00, 2, 0, 1, 2]);
    expect(f.irq()).toBe(false);
    const lba = (1 * 2 + 1) * 18 + 16;
    for (let i = 0; i < 1024; i++) {
      if (f.mem.u8[0x17e00 + i] !== ((lba + (i >> 9) + (i & 511)) & 0xff)) throw new Error(`byte ${i} differs`);
    }
    expect(f.mem.u8[0x17e00 + 1024]).toBe(0);
    expect(f.inb(0x08) & 0x04).toBe(0x04); // DMA channel 2 reached terminal count
  });

  it('multi-track read crosses from head 0 to head 1; without TC it ends at EOT with EN', () => {
    const f = setup();
    biosInit(f);
    programDmaRead(f, 0x20000, 1024);
    f.cmd(0xc6, 0x00, 0, 0, 18, 2, 18, 0x1b, 0xff); // MT: C0 H0 R18 -> C0 H1 R1
    f.waitIrq();
    expect(f.results(7)).toEqual([0x04, 0, 0, 0, 1, 2, 2]);
    expect(f.mem.u8[0x20000]).toBe(17 & 0xff);
    expect(f.mem.u8[0x20200]).toBe(18);

    programDmaRead(f, 0x30000, 4096);
    f.cmd(0x46, 0x00, 0, 0, 17, 2, 18, 0x1b, 0xff); // no MT, 2 sectors left on the track, DMA wants 8
    f.waitIrq();
    expect(f.results(7)).toEqual([0x40, 0x80, 0, 1, 0, 1, 2]);
  });

  it('WRITE DATA takes sectors from RAM; write-protected media fails with NW', () => {
    const dev = new BlockDevice('a.img', image());
    const f = setup(dev);
    biosInit(f);
    f.mem.u8.fill(0x5a, 0x8000, 0x8200);
    programDmaRead(f, 0x8000, 512, 0x4a);
    f.cmd(0xc5, 0x00, 0, 0, 3, 2, 18, 0x1b, 0xff);
    f.waitIrq();
    expect(f.results(7)).toEqual([0x00, 0, 0, 0, 0, 4, 2]);
    expect(dev.bytes[2 * 512]).toBe(0x5a);
    expect(dev.bytes[2 * 512 + 511]).toBe(0x5a);
    expect(dev.bytes[3 * 512]).toBe(3);

    const ro = setup(new BlockDevice('ro.img', image(737280), true));
    biosInit(ro);
    ro.cmd(0x04, 0x00); // SENSE DRIVE STATUS: WP, ready, track 0, two-sided
    expect(ro.results(1)).toEqual([0x78]);
    programDmaRead(ro, 0x8000, 512, 0x4a);
    ro.cmd(0xc5, 0x00, 0, 0, 1, 2, 9, 0x1b, 0xff);
    ro.waitIrq();
    expect(ro.results(7)).toEqual([0x40, 0x02, 0, 0, 0, 1, 2]);
  });

  it('reports missing media, sector not found and wrong cylinder', () => {
    const empty = setup(null);
    biosInit(empty);
    programDmaRead(empty, 0x8000, 512);
    empty.cmd(0xe6, 0x00, 0, 0, 1, 2, 18, 0x1b, 0xff);
    empty.waitIrq();
    expect(empty.results(7)).toEqual([0x40, 0x01, 0, 0, 0, 1, 2]); // MA

    const f = setup();
    biosInit(f);
    programDmaRead(f, 0x8000, 512);
    f.cmd(0xe6, 0x00, 0, 0, 19, 2, 19, 0x1b, 0xff);
    f.waitIrq();
    expect(f.results(7)).toEqual([0x40, 0x04, 0, 0, 0, 19, 2]); // ND
    f.cmd(0xe6, 0x00, 5, 0, 1, 2, 18, 0x1b, 0xff); // head is on cylinder 0, no implied seek
    f.waitIrq();
    expect(f.results(7)).toEqual([0x40, 0x04, 0x10, 5, 0, 1, 2]); // ND + WC
    // Channel 2 masked: nobody answers DRQ, overrun.
    f.out(0x0a, 0x06);
    f.cmd(0xe6, 0x00, 0, 0, 1, 2, 18, 0x1b, 0xff);
    f.waitIrq();
    expect(f.results(7)[1]).toBe(0x10);
  });

  it('VERSION, invalid commands, CONFIGURE/LOCK/DUMPREG, READ ID and SENSE INTERRUPT without a cause', () => {
    const f = setup();
    biosInit(f);
    f.cmd(0x10);
    expect(f.results(1)).toEqual([0x90]);
    f.cmd(0x1f);
    expect(f.results(1)).toEqual([0x80]);
    f.cmd(0x08);
    expect(f.results(1)).toEqual([0x80]);
    f.cmd(0x13, 0x00, 0x57, 0x00); // CONFIGURE: implied seek, FIFO on, polling off, threshold 7
    f.cmd(0x94);
    expect(f.results(1)).toEqual([0x10]);
    f.cmd(0x0e);
    expect(f.results(10)).toEqual([0, 0, 0, 0, 0xaf, 0x02, 0, 0x80, 0x57, 0x00]);
    // Locked configuration survives a DSR software reset; polling is off so no reset interrupt.
    f.out(0x3f4, 0x80);
    f.cmd(0x0e);
    expect(f.results(10)[8]).toBe(0x57);
    // Implied seek (EIS) lets READ ID report the new cylinder.
    programDmaRead(f, 0x8000, 512);
    f.cmd(0x46, 0x00, 7, 0, 1, 2, 18, 0x1b, 0xff);
    f.waitIrq();
    expect(f.results(7)).toEqual([0, 0, 0, 7, 0, 2, 2]);
    f.cmd(0x4a, 0x00);
    f.waitIrq();
    expect(f.results(7)).toEqual([0, 0, 0, 7, 0, 1, 2]);
  });

  it('keeps IRQ 6 low while the DOR DMA gate is closed', () => {
    const f = setup();
    f.out(0x3f2, 0x00);
    f.out(0x3f2, 0x04); // out of reset, gate closed
    for (let i = 0; i < 50; i++) { f.counter.icount += f.clock.nsToTicks(1000); f.clock.runDue(); }
    expect(f.edges()).toBe(0);
    f.out(0x3f2, 0x0c); // opening the gate shows the pending reset interrupt
    expect(f.irq()).toBe(true);
    expect(f.fdc.state().interruptPending).toBe(true);
  });
});
