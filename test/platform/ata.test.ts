import { describe, expect, it } from 'vitest';
import { BlockDevice } from '../../src/core/platform/block';
import { VirtualClock } from '../../src/core/platform/clock';
import { IoBus } from '../../src/core/platform/io-bus';
import { IrqLine, type IrqSink } from '../../src/core/platform/irq';
import { AtaDisk, IdeChannel } from '../../src/core/platform/devices/ata';
import { AtapiCdrom } from '../../src/core/platform/devices/atapi';

const DISK_SECTORS = 2048; // 1 MB

function diskImage(sectors = DISK_SECTORS): Uint8Array {
  const img = new Uint8Array(sectors * 512);
  for (let s = 0; s < sectors; s++) for (let i = 0; i < 512; i++) img[s * 512 + i] = (s * 7 + i) & 0xff;
  return img;
}
function cdImage(sectors = 16): Uint8Array {
  const img = new Uint8Array(sectors * 2048);
  for (let s = 0; s < sectors; s++) for (let i = 0; i < 2048; i++) img[s * 2048 + i] = (s * 3 + (i >> 1)) & 0xff;
  return img;
}

function setup(opts: { clock?: boolean; cd?: BlockDevice | null; disk?: BlockDevice } = {}) {
  const counter = { icount: 0 };
  const clock = opts.clock === true ? new VirtualClock(counter) : null;
  let level = false, edges = 0;
  const sink: IrqSink = { setIrq: (irq, l) => { expect(irq).toBe(14); if (l && !level) edges++; level = l; } };
  const io = new IoBus();
  const ch = new IdeChannel('IDE primary', new IrqLine(sink, 14), clock);
  ch.registerPorts(io, 0x1f0, 0x3f6);
  const disk = new AtaDisk(opts.disk ?? new BlockDevice('hd.img', diskImage()));
  ch.attach(0, disk);
  let cd: AtapiCdrom | null = null;
  if (opts.cd !== undefined) { cd = new AtapiCdrom(opts.cd); ch.attach(1, cd); }
  const out = (p: number, v: number) => io.write(p, 1, v);
  const inb = (p: number) => io.read(p, 1);
  const inw = (p: number) => io.read(p, 2);
  const run = (ns: number) => { if (clock !== null) { counter.icount += clock.nsToTicks(ns); clock.runDue(); } };
  return { io, ch, disk, cd, out, inb, inw, run, irq: () => level, edges: () => edges };
}
type Ide = ReturnType<typeof setup>;

/** Reads `n` bytes from the data port 16 bits at a time. */
function pioIn(t: Ide, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 2) { const w = t.inw(0x1f0); b[i] = w & 0xff; b[i + 1] = w >> 8; }
  return b;
}
function ataString(id: Uint8Array, word: number, words: number): string {
  let s = '';
  for (let i = 0; i < words; i++) s += String.fromCharCode(id[(word + i) * 2 + 1], id[(word + i) * 2]);
  return s.trimEnd();
}
const word = (id: Uint8Array, w: number) => id[w * 2] | (id[w * 2 + 1] << 8);

function lba28(t: Ide, lba: number, count: number, dev = 0): void {
  t.out(0x1f6, 0xe0 | (dev << 4) | ((lba >> 24) & 0xf));
  t.out(0x1f2, count); t.out(0x1f3, lba & 0xff); t.out(0x1f4, (lba >> 8) & 0xff); t.out(0x1f5, (lba >> 16) & 0xff);
}

describe('IDE channel, ATA disk', () => {
  it('IDENTIFY DEVICE returns a valid identify block with one interrupt', () => {
    const t = setup();
    t.out(0x1f6, 0xa0);
    expect(t.inb(0x1f7)).toBe(0x50);
    t.out(0x1f7, 0xec);
    expect(t.irq()).toBe(true);
    expect(t.inb(0x3f6)).toBe(0x58); // alternate status does not acknowledge
    expect(t.irq()).toBe(true);
    expect(t.inb(0x1f7)).toBe(0x58); // status read acknowledges
    expect(t.irq()).toBe(false);
    const id = pioIn(t, 512);
    expect(t.inb(0x1f7)).toBe(0x50);
    expect(t.edges()).toBe(1);
    expect(ataString(id, 27, 20)).toBe('vmxlab ATA disk');
    expect(ataString(id, 10, 10)).toBe('VMXLAB0001');
    expect(word(id, 0)).toBe(0x0040);
    expect([word(id, 1), word(id, 3), word(id, 6)]).toEqual([2, 16, 63]); // 2048 / 1008 = 2 cylinders
    expect(word(id, 49) & 0x0200).toBe(0x0200); // LBA
    expect(word(id, 47) & 0xff).toBe(16);
    expect(word(id, 60) | (word(id, 61) << 16)).toBe(DISK_SECTORS);
    expect(word(id, 100)).toBe(DISK_SECTORS);
    expect(id[510]).toBe(0xa5);
    expect(id.reduce((a, b) => a + b, 0) & 0xff).toBe(0); // checksum
  });

  it('READ SECTORS of 3 sectors: DRQ and an interrupt per sector, data from the image', () => {
    const t = setup();
    lba28(t, 100, 3);
    t.out(0x1f7, 0x20);
    for (let s = 0; s < 3; s++) {
      expect(t.irq()).toBe(true);
      expect(t.inb(0x1f7)).toBe(0x58);
      const data = pioIn(t, 512);
      expect(data[0]).toBe(((100 + s) * 7) & 0xff);
      expect(data[511]).toBe(((100 + s) * 7 + 511) & 0xff);
    }
    expect(t.edges()).toBe(3);
    expect(t.inb(0x1f7)).toBe(0x50);
    expect([t.inb(0x1f3), t.inb(0x1f4), t.inb(0x1f6)]).toEqual([102, 0, 0xe0]); // last sector
  });

  it('WRITE SECTORS: first DRQ without interrupt, an interrupt after each sector; 32-bit data access', () => {
    const t = setup();
    lba28(t, 5, 2);
    t.out(0x1f7, 0x30);
    expect(t.inb(0x1f7)).toBe(0x58);
    expect(t.edges()).toBe(0);
    for (let s = 0; s < 2; s++) {
      for (let i = 0; i < 128; i++) t.io.write(0x1f0, 4, (0xa0 + s) * 0x01010101);
      expect(t.irq()).toBe(true);
      expect(t.inb(0x1f7)).toBe(s === 0 ? 0x58 : 0x50);
    }
    expect(t.edges()).toBe(2);
    expect(t.disk.disk.bytes[5 * 512]).toBe(0xa0);
    expect(t.disk.disk.bytes[6 * 512 + 511]).toBe(0xa1);
    expect(t.disk.disk.bytes[7 * 512]).toBe((7 * 7) & 0xff);
  });

  it('READ MULTIPLE interrupts per block after SET MULTIPLE MODE; CHS addressing', () => {
    const t = setup();
    t.out(0x1f7, 0xc4); // multiple mode not set: abort
    expect(t.inb(0x1f7)).toBe(0x51);
    expect(t.inb(0x1f1)).toBe(0x04);
    t.out(0x1f2, 4); t.out(0x1f7, 0xc6);
    expect(t.inb(0x1f7)).toBe(0x50);
    // CHS C0 H1 S2 = LBA 64, 6 sectors: blocks of 4 and 2.
    t.out(0x1f6, 0xa1); t.out(0x1f2, 6); t.out(0x1f3, 2); t.out(0x1f4, 0); t.out(0x1f5, 0);
    const before = t.edges();
    t.out(0x1f7, 0xc4);
    expect(t.inb(0x1f7)).toBe(0x58);
    const a = pioIn(t, 2048);
    expect(t.irq()).toBe(true);
    expect(t.inb(0x1f7)).toBe(0x58);
    const b = pioIn(t, 1024);
    expect(t.edges() - before).toBe(2);
    expect(a[0]).toBe((64 * 7) & 0xff);
    expect(a[1536]).toBe((67 * 7) & 0xff);
    expect(b[512]).toBe((69 * 7) & 0xff);
    expect(t.inb(0x1f7)).toBe(0x50);
    expect([t.inb(0x1f3), t.inb(0x1f6) & 0xf]).toEqual([7, 1]); // C0 H1 S7 = LBA 69
  });

  it('errors: out of range (IDNF), unknown command and IDENTIFY PACKET DEVICE abort; nIEN masks INTRQ', () => {
    const t = setup();
    lba28(t, DISK_SECTORS - 1, 2);
    t.out(0x1f7, 0x20);
    expect(t.inb(0x1f7)).toBe(0x51);
    expect(t.inb(0x1f1)).toBe(0x10);
    for (const cmd of [0xa1, 0xa0, 0x00, 0xff]) {
      t.out(0x1f7, cmd);
      expect(t.inb(0x1f7)).toBe(0x51);
      expect(t.inb(0x1f1)).toBe(0x04);
    }
    t.out(0x3f6, 0x02); // nIEN
    const e = t.edges();
    t.out(0x1f7, 0xe7); // FLUSH CACHE
    expect(t.irq()).toBe(false);
    expect(t.edges()).toBe(e);
    expect(t.inb(0x1f7)).toBe(0x50);
  });

  it('LBA48 READ SECTORS EXT takes the HOB bytes; HOB reads show them back', () => {
    const t = setup();
    t.out(0x1f6, 0x40);
    t.out(0x1f2, 0); t.out(0x1f3, 0); t.out(0x1f4, 0); t.out(0x1f5, 0); // high bytes
    t.out(0x1f2, 1); t.out(0x1f3, 0x10); t.out(0x1f4, 0x02); t.out(0x1f5, 0); // LBA 0x210
    t.out(0x1f7, 0x24);
    expect(pioIn(t, 512)[0]).toBe((0x210 * 7) & 0xff);
    t.out(0x3f6, 0x80);
    expect(t.inb(0x1f3)).toBe(0);
    t.out(0x3f6, 0x00);
    expect(t.inb(0x1f3)).toBe(0x10);
  });

  it('with a clock, commands show BSY until the virtual-time delay has passed', () => {
    const t = setup({ clock: true });
    lba28(t, 1, 1);
    t.out(0x1f7, 0x20);
    expect(t.inb(0x1f7)).toBe(0x80);
    expect(t.irq()).toBe(false);
    t.run(10_000);
    expect(t.irq()).toBe(true);
    expect(t.inb(0x1f7)).toBe(0x58);
  });
});

describe('IDE reset signatures and ATAPI', () => {
  it('SRST gives ATA 01/01/00/00 and ATAPI 01/01/14/EB; IDENTIFY DEVICE on ATAPI aborts with the signature', () => {
    const t = setup({ cd: new BlockDevice('cd.iso', cdImage(), true) });
    lba28(t, 0x123456, 9);
    t.out(0x3f6, 0x04);
    expect(t.inb(0x3f6) & 0x80).toBe(0x80);
    t.out(0x3f6, 0x00);
    const sig = () => [t.inb(0x1f2), t.inb(0x1f3), t.inb(0x1f4), t.inb(0x1f5)];
    expect(sig()).toEqual([1, 1, 0, 0]);
    expect(t.inb(0x1f1)).toBe(0x01);
    expect(t.inb(0x1f7)).toBe(0x50);
    t.out(0x1f6, 0xb0);
    expect(sig()).toEqual([1, 1, 0x14, 0xeb]);
    expect(t.inb(0x1f7)).toBe(0x00);
    t.out(0x1f4, 0); t.out(0x1f5, 0);
    t.out(0x1f7, 0xec);
    expect(t.inb(0x1f7) & 0x01).toBe(1);
    expect([t.inb(0x1f4), t.inb(0x1f5)]).toEqual([0x14, 0xeb]);
    t.out(0x1f7, 0xa1); // IDENTIFY PACKET DEVICE
    const id = pioIn(t, 512);
    expect(word(id, 0)).toBe(0x85c0);
    expect(ataString(id, 27, 20)).toBe('vmxlab ATAPI CD-ROM');
    expect(id.reduce((a, b) => a + b, 0) & 0xff).toBe(0);
  });

  /** PACKET with byte count limit `limit`; checks the command-phase interrupt reason. */
  function packet(t: Ide, cdb: number[], limit = 0xfffe): void {
    t.out(0x1f6, 0xb0); t.out(0x1f1, 0); t.out(0x1f4, limit & 0xff); t.out(0x1f5, limit >> 8);
    t.out(0x1f7, 0xa0);
    expect(t.inb(0x3f6)).toBe(0x48); // DRDY DRQ
    expect(t.inb(0x1f2) & 3).toBe(1); // CoD=1 IO=0
    expect(t.irq()).toBe(false);
    const b = [...cdb, ...new Array(12 - cdb.length).fill(0)];
    for (let i = 0; i < 12; i += 2) t.io.write(0x1f0, 2, b[i] | (b[i + 1] << 8));
  }
  /** Collects data-in chunks until completion; returns the data and the chunk sizes. */
  function dataIn(t: Ide): { data: number[]; chunks: number[]; status: number } {
    const data: number[] = [], chunks: number[] = [];
    for (let guard = 0; guard < 100; guard++) {
      expect(t.irq()).toBe(true);
      const st = t.inb(0x1f7), reason = t.inb(0x1f2) & 3;
      if (reason === 3) { expect(st & 0x08).toBe(0); return { data, chunks, status: st }; }
      expect(reason).toBe(2); // IO=1 CoD=0
      expect(st & 0x08).toBe(0x08);
      const n = t.inb(0x1f4) | (t.inb(0x1f5) << 8);
      chunks.push(n);
      data.push(...pioIn(t, n));
    }
    throw new Error('no completion');
  }

  it('INQUIRY, READ CAPACITY and READ(10) through the PACKET protocol', () => {
    const t = setup({ cd: new BlockDevice('cd.iso', cdImage(16), true) });
    packet(t, [0x12, 0, 0, 0, 36]);
    const inq = dataIn(t);
    expect(inq.status).toBe(0x40);
    expect(inq.chunks).toEqual([36]);
    expect(inq.data[0]).toBe(0x05);
    expect(inq.data[1]).toBe(0x80);
    expect(String.fromCharCode(...inq.data.slice(8, 16))).toBe('VMXLAB  ');

    packet(t, [0x25]);
    const cap = dataIn(t);
    expect(cap.data).toEqual([0, 0, 0, 15, 0, 0, 8, 0]);

    packet(t, [0x28, 0, 0, 0, 0, 5, 0, 0, 1]); // READ(10) LBA 5, 1 block
    const r = dataIn(t);
    expect(r.chunks).toEqual([2048]);
    expect(r.data[0]).toBe(15);
    expect(r.data[2047]).toBe((15 + 1023) & 0xff);
    expect(r.status).toBe(0x40);

    packet(t, [0x28, 0, 0, 0, 0, 2, 0, 0, 2], 0x400); // byte count limit 1 KB: four chunks
    const small = dataIn(t);
    expect(small.chunks).toEqual([1024, 1024, 1024, 1024]);
    expect(small.data[2048]).toBe(9);

    packet(t, [0x43, 0, 0, 0, 0, 0, 0, 0, 20]); // READ TOC format 0
    const toc = dataIn(t);
    expect(toc.data.slice(0, 4)).toEqual([0, 18, 1, 1]);
    expect(toc.data.slice(4 + 8, 4 + 16)).toEqual([0, 0x14, 0xaa, 0, 0, 0, 0, 16]);
  });

  it('errors: no medium, LBA out of range, unknown opcode; REQUEST SENSE reports them', () => {
    const t = setup({ cd: null });
    packet(t, [0x00]); // TEST UNIT READY
    const tur = dataIn(t);
    expect(tur.status & 0x01).toBe(1);
    expect(t.inb(0x1f1) >> 4).toBe(2); // NOT READY
    packet(t, [0x03, 0, 0, 0, 18]);
    const sense = dataIn(t);
    expect([sense.data[0], sense.data[2], sense.data[12]]).toEqual([0x70, 2, 0x3a]);

    t.cd!.insert(new BlockDevice('cd.iso', cdImage(4), true));
    packet(t, [0x00]);
    expect(dataIn(t).status & 1).toBe(1); // UNIT ATTENTION after the change
    expect(t.inb(0x1f1) >> 4).toBe(6);
    packet(t, [0x00]);
    expect(dataIn(t).status).toBe(0x40);
    packet(t, [0x28, 0, 0, 0, 0, 3, 0, 0, 2]);
    expect(dataIn(t).status & 1).toBe(1);
    expect(t.inb(0x1f1)).toBe(0x54); // ILLEGAL REQUEST | ABRT
    packet(t, [0x03, 0, 0, 0, 18]);
    expect(dataIn(t).data[12]).toBe(0x21);
    packet(t, [0xee]);
    dataIn(t);
    packet(t, [0x03, 0, 0, 0, 18]);
    expect(dataIn(t).data[12]).toBe(0x20);
  });
});
