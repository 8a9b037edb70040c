// El Torito: a no-emulation boot from an ISO image written byte by byte here, and the parser's
// rejection of images without a valid boot catalog.
import { describe, expect, it } from 'vitest';
import { asm, TestMachine } from './support';
import { parseElTorito, BootMedia } from '../../src/core/firmware/eltorito';
import { BlockDevice } from '../../src/core/platform/block';

const S = 2048;

/** ISO: PVD at 16, El Torito boot record at 17, terminator at 18, catalog at 19, image at 20. */
function buildIso(image: Uint8Array, media = 0, sectorCount = 4, loadSeg = 0): Uint8Array {
  const iso = new Uint8Array(S * 24);
  const ascii = (at: number, s: string): void => { for (let i = 0; i < s.length; i++) iso[at + i] = s.charCodeAt(i); };
  iso[16 * S] = 1; ascii(16 * S + 1, 'CD001'); iso[16 * S + 6] = 1;
  iso[17 * S] = 0; ascii(17 * S + 1, 'CD001'); iso[17 * S + 6] = 1; ascii(17 * S + 7, 'EL TORITO SPECIFICATION');
  iso[17 * S + 0x47] = 19; // catalog LBA
  iso[18 * S] = 255; ascii(18 * S + 1, 'CD001'); iso[18 * S + 6] = 1;
  const c = 19 * S;
  iso[c] = 1; iso[c + 1] = 0; ascii(c + 4, 'vmxlab test'); iso[c + 30] = 0x55; iso[c + 31] = 0xaa;
  let sum = 0;
  for (let i = 0; i < 32; i += 2) sum = (sum + iso[c + i] + (iso[c + i + 1] << 8)) & 0xffff;
  const ck = (0x10000 - sum) & 0xffff;
  iso[c + 28] = ck & 0xff; iso[c + 29] = ck >> 8;
  iso[c + 32] = 0x88; iso[c + 33] = media; iso[c + 34] = loadSeg & 0xff; iso[c + 35] = loadSeg >> 8;
  iso[c + 38] = sectorCount; iso[c + 40] = 20;
  iso.set(image, 20 * S);
  return iso;
}

describe('El Torito', () => {
  it('parses the boot catalog and rejects a bad checksum', () => {
    const iso = buildIso(new Uint8Array(S));
    const e = parseElTorito(new BlockDevice('cd', iso));
    expect(e).toEqual({ media: BootMedia.NoEmulation, loadSegment: 0x7c0, sectorCount: 4, lba: 20, catalogLba: 19 });
    iso[19 * S + 28] ^= 1;
    expect(parseElTorito(new BlockDevice('cd', iso))).toBe('boot catalog checksum mismatch');
    expect(typeof parseElTorito(new BlockDevice('cd', new Uint8Array(S * 18)))).toBe('string');
  });

  it('boots a no-emulation image at 07C0:0000 with DL=E0h and reads 2048-byte sectors', () => {
    const image = asm(`bits 16
org 0x7c00
  mov [0x500], dl
  mov ax, cs
  mov [0x502], ax
  mov si, dap
  mov ah, 0x42
  int 0x13
  setc [0x504]
  mov si, 0x600
  mov byte [si], 0x13
  mov ax, 0x4b01
  int 0x13
  setc [0x505]
  mov al, [tail]
  mov [0x506], al
  out 0xf4, al
dap: db 0x10, 0
  dw 1
  dw 0x9000, 0
  dq 16
times 1536-($-$$) db 0
tail: db 0x5a
times 2048-($-$$) db 0
`);
    const m = new TestMachine({ cdrom: buildIso(image), bootOrder: ['floppy', 'hdd', 'cdrom'] });
    expect(m.run()).toBe('exit');
    const u8 = m.mem.u8;
    expect(m.fw.bootedFrom).toBe('cdrom');
    expect(u8[0x500]).toBe(0xe0);
    expect(m.mem.read16(0x502)).toBe(0x07c0);
    expect(u8[0x504]).toBe(0);
    expect(String.fromCharCode(...u8.subarray(0x9001, 0x9006))).toBe('CD001');
    expect(u8[0x505]).toBe(0);
    expect(u8[0x506]).toBe(0x5a); // all 4 virtual sectors were loaded
    // Specification packet: size 13h, media 0, drive E0h, image LBA 20, load segment, count.
    expect([...u8.subarray(0x600, 0x604)]).toEqual([0x13, 0x00, 0xe0, 0x00]);
    expect(m.mem.read32(0x604)).toBe(20);
    expect(m.mem.read16(0x60c)).toBe(0x07c0);
    expect(m.mem.read16(0x60e)).toBe(4);
  });

  it('boots a 1.44 MB floppy-emulation image as drive 00h', () => {
    const floppyImg = new Uint8Array(1474560);
    floppyImg.set(asm(`bits 16
org 0x7c00
  mov [0x500], dl
  mov ax, 0x0201
  mov cx, 0x0112 ; cylinder 1, sector 18
  mov dh, 1
  xor dl, dl
  mov bx, 0x8000
  int 0x13
  setc [0x501]
  out 0xf4, al
times 510-($-$$) db 0
dw 0xaa55
`));
    const lba = (1 * 2 + 1) * 18 + 17; // C1 H1 S18
    floppyImg.set([0x42, 0x43], lba * 512);
    const iso = new Uint8Array(S * 20 + floppyImg.length);
    iso.set(buildIso(new Uint8Array(0), BootMedia.Floppy144, 1).subarray(0, S * 20));
    iso.set(floppyImg, S * 20);
    const m = new TestMachine({ cdrom: iso, bootOrder: ['cdrom'] });
    expect(m.run()).toBe('exit');
    expect(m.mem.u8[0x500]).toBe(0x00);
    expect(m.mem.u8[0x501]).toBe(0);
    expect(m.mem.read16(0x8000)).toBe(0x4342);
  });
});
