// ISO 9660 volume descriptor and directory parsing on a synthetic image and Debian's ipxe.iso.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findIsoEntry, listIsoDir, readIsoFile, readIsoVolume } from '../../src/core/loaders/iso9660';
import { syntheticIso } from './support';

describe('ISO 9660', () => {
  const kernel = new Uint8Array(300).map((_, i) => i & 0xff);
  const iso = syntheticIso('hello from the iso\n', kernel);

  it('reads the primary volume descriptor', () => {
    const v = readIsoVolume(iso);
    expect(v).toMatchObject({ volumeId: 'VMXLAB_TEST', blocks: 22, blockSize: 2048, elTorito: false });
    expect(v.root).toMatchObject({ isDir: true, lba: 18 });
  });

  it('lists directories and reads files by path, case-insensitively', () => {
    const v = readIsoVolume(iso);
    expect(listIsoDir(iso, v, v.root).map((e) => `${e.name}${e.isDir ? '/' : ''}`)).toEqual(['BOOT/', 'README.TXT']);
    expect(new TextDecoder().decode(readIsoFile(iso, v, '/readme.txt'))).toBe('hello from the iso\n');
    expect(readIsoFile(iso, v, 'boot/kernel.bin')).toEqual(kernel);
    expect(findIsoEntry(iso, v, '/boot/missing')).toBeNull();
    expect(() => readIsoFile(iso, v, '/boot')).toThrow(/is a directory/);
    expect(() => readIsoFile(iso, v, '/nope')).toThrow(/no such file/);
  });

  it('rejects images without CD001 or without a primary descriptor', () => {
    expect(() => readIsoVolume(new Uint8Array(0x9000))).toThrow(/no 'CD001' at 0x8001/);
    const noPvd = iso.slice();
    noPvd[16 * 2048] = 2; // supplementary only
    expect(() => readIsoVolume(noPvd)).toThrow(/no primary volume descriptor/);
  });

  const real = '/usr/lib/ipxe/ipxe.iso';
  it.skipIf(!existsSync(real))(`${real} (package ipxe): El Torito boot record and a readable root`, () => {
    const img = new Uint8Array(readFileSync(real));
    const v = readIsoVolume(img);
    expect(v.elTorito).toBe(true);
    const names = listIsoDir(img, v, v.root).map((e) => e.name.toLowerCase());
    expect(names.length).toBeGreaterThan(0);
    const f = listIsoDir(img, v, v.root).find((e) => !e.isDir)!;
    expect(readIsoFile(img, v, f.name).length).toBe(f.size);
  });
});
