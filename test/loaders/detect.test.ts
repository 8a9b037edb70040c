// Image detection: one synthetic image of each kind, Debian's real files when installed, and
// the errors for empty, truncated and unknown inputs. Also what loadImage hands the machine.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detectImage, readPartitionTable } from '../../src/core/loaders/detect';
import { ImageFormatError } from '../../src/core/loaders/errors';
import { loadImage } from '../../src/core/loaders/index';
import { nasm, syntheticBzImage, syntheticIso } from './support';

function bootSector(size: number): Uint8Array {
  const b = new Uint8Array(size);
  b[510] = 0x55; b[511] = 0xaa;
  return b;
}
function withPartition(b: Uint8Array): Uint8Array {
  const e = 0x1be;
  b[e] = 0x80; b[e + 4] = 0x83; b[e + 8] = 63; b[e + 12] = 0x00; b[e + 13] = 0x10; // LBA 63, 4096 sectors
  return b;
}
const multibootBin = (): Uint8Array => nasm('bits 32\ntimes 64 db 0\ndd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x10000)\ndd 0,0,0,0,0\n');

describe('detectImage', () => {
  it('recognizes each kind with its evidence', () => {
    expect(detectImage(syntheticIso('x', new Uint8Array(1)))).toEqual({ kind: 'cdrom', evidence: "CD001 at 0x8001, volume 'VMXLAB_TEST', no El Torito boot record" });
    const bz = detectImage(syntheticBzImage());
    expect(bz.kind).toBe('bzimage');
    expect(bz.evidence).toMatch(/^HdrS magic at 0x202, protocol 2\.15, setup_sects 4/);
    expect(detectImage(multibootBin())).toEqual({ kind: 'multiboot', evidence: 'multiboot header at offset 0x40, flags 0x00010000' });
    expect(detectImage(new Uint8Array(1474560))).toEqual({ kind: 'floppy', evidence: 'floppy size 1474560 (1.44 MB 3.5" HD)' });
    expect(detectImage(bootSector(737280)).kind).toBe('floppy');
    const hd = detectImage(withPartition(bootSector(2 << 20)));
    expect(hd).toEqual({ kind: 'hdd', evidence: 'MBR partition table (#1 type 0x83 active at LBA 63)' });
    expect(detectImage(bootSector(4 << 20)).evidence).toMatch(/> 2\.88 MB, no partition table/);
    expect(detectImage(bootSector(1536)).kind).toBe('hdd'); // a boot sector and two more sectors
    expect(detectImage(new Uint8Array(20), 'HELLO.COM')).toEqual({ kind: 'com', evidence: 'name ends in .com, 20 bytes' });
    expect(() => detectImage(new Uint8Array(20), 'prog.bin')).toThrow(/name does not end in \.com/);
    expect(detectImage(new Uint8Array(20), 'prog.bin', 'com').kind).toBe('com');
    expect(detectImage(bootSector(1024), 'boot.com').kind).toBe('com');
  });

  it('lets --boot force the format', () => {
    expect(detectImage(new Uint8Array(10), undefined, 'floppy')).toEqual({ kind: 'floppy', evidence: 'forced by --boot floppy' });
    expect(() => detectImage(new Uint8Array(10), undefined, 'tape' as never)).toThrow(/unknown format tape/);
  });

  it('checks partition tables strictly', () => {
    const b = withPartition(bootSector(2 << 20));
    expect(readPartitionTable(b)).toHaveLength(1);
    b[0x1be] = 0x12; // bad status byte
    expect(readPartitionTable(b)).toBeNull();
    expect(readPartitionTable(bootSector(4096))).toBeNull(); // no used entry
  });

  it('explains empty, truncated and unknown inputs', () => {
    expect(() => detectImage(new Uint8Array(0), 'x.img')).toThrow(/empty file \(x\.img\)/);
    const bz = syntheticBzImage();
    expect(() => detectImage(bz.subarray(0, 0x220))).toThrow(/truncated kernel header: the file is 544 bytes/);
    expect(() => detectImage(bz.subarray(0, 2000))).toThrow(/truncated kernel: 'HdrS' header says 4 setup sectors \(2560 bytes\)/);
    const garbage = new Uint8Array(3 << 20).fill(0x11);
    let err: unknown;
    try { detectImage(garbage, 'blob.bin'); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ImageFormatError);
    const msg = (err as Error).message;
    for (const part of ["'CD001' at 0x8001", "'HdrS' at 0x202", 'Multiboot header', 'not a floppy size', '55AA boot signature', '--boot']) expect(msg).toContain(part);
    expect(() => detectImage(new Uint8Array(100))).toThrow(/the name does not end in \.com/);
    expect(() => detectImage(new Uint8Array(100), 'data.bin')).toThrow(/unknown image format \(100 bytes\)/);
    expect(() => detectImage(new Uint8Array(70000), 'BIG.COM')).toThrow(/too large for a DOS \.COM program/);
  });

  const real = [
    ['/boot/memtest86+ia32.bin', 'memtest86+', 'bzimage'],
    ['/usr/lib/ipxe/ipxe.lkrn', 'ipxe', 'bzimage'],
    ['/usr/lib/ipxe/ipxe.iso', 'ipxe', 'cdrom'],
  ] as const;
  for (const [path, pkg, kind] of real) {
    it.skipIf(!existsSync(path))(`detects ${path} (package ${pkg}) as ${kind}`, () => {
      const d = detectImage(new Uint8Array(readFileSync(path)), path);
      expect(d.kind).toBe(kind);
      if (kind === 'bzimage') expect(d.evidence).toMatch(/^HdrS magic at 0x202, protocol 2\.\d\d/);
      else expect(d.evidence).toMatch(/El Torito boot record/);
    });
    if (!existsSync(path)) it(`notes ${path} is absent`, () => { console.log(`skipped: ${path} not present (apt-get install ${pkg})`); });
  }
});

describe('loadImage for disks', () => {
  it('hands back block devices and a boot order', () => {
    const f = loadImage(new Uint8Array(1474560), { name: 'a.img', memoryBytes: 16 << 20 });
    expect(f).toMatchObject({ kind: 'disk', bootOrder: ['floppy', 'hdd'] });
    if (f.kind === 'disk') expect(f.floppy!.size).toBe(1474560);
    const h = loadImage(bootSector(1000), { name: 'guest.img', memoryBytes: 16 << 20 });
    expect(h).toMatchObject({ kind: 'disk', bootOrder: ['hdd'] });
    if (h.kind === 'disk') { expect(h.hdd!.size).toBe(1024); expect(h.hdd!.bytes[510]).toBe(0x55); }
    const c = loadImage(syntheticIso('x', new Uint8Array(1)), { memoryBytes: 16 << 20 });
    expect(c).toMatchObject({ kind: 'disk', bootOrder: ['cdrom'] });
    if (c.kind === 'disk') expect(c.cdrom!.readOnly).toBe(true);
  });
});
