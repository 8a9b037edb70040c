// POST and INT 19h: booting from floppy and hard disk, INT 10h teletype, INT 13h reads (CHS
// and EDD), INT 15h E820, and 'No bootable device'.
import { describe, expect, it } from 'vitest';
import { bootSector, TestMachine } from './support';

const PRINT = `
print: lodsb
  test al, al
  jz .done
  mov ah, 0x0e
  mov bh, 0
  int 0x10
  jmp print
.done: ret
`;

describe('BIOS POST and boot', () => {
  it('boots a floppy boot sector with DL=0 and prints through INT 10h teletype', () => {
    const img = new Uint8Array(1474560);
    img.set(bootSector(`
  mov [0x500], dl
  mov si, msg
  call print
  out 0xf4, al
  ${PRINT}
msg: db 'FLOPPY OK', 13, 10, 'line2', 0
`));
    const m = new TestMachine({ floppy: img });
    expect(m.run()).toBe('exit');
    expect(m.fw.bootedFrom).toBe('floppy');
    expect(m.mem.u8[0x500]).toBe(0x00);
    expect(m.screenRow(0)).toBe('vmxlab BIOS');
    expect(m.screenRow(1)).toBe('FLOPPY OK');
    expect(m.screenRow(2)).toBe('line2');
    expect(m.mem.u8[0xb8000 + 81 * 2 + 1]).toBe(0x07); // attribute kept from the cleared screen
    // Cursor of page 0 in the BDA: row 2, column 5.
    expect(m.mem.u8[0x450]).toBe(5);
    expect(m.mem.u8[0x451]).toBe(2);
    expect(m.serial.out).toBe('vmxlab BIOS\r\nFLOPPY OK\r\nline2');
    // BDA basics: base memory, equipment (1 floppy, 80x25 colour, the one serial port this test
    // machine has, no printer), COM1.
    expect(m.mem.read16(0x413)).toBe(639);
    expect(m.mem.read16(0x410) & 0xcef1).toBe(0x0221);
    expect(m.mem.read16(0x400)).toBe(0x3f8);
  });

  it('boots a hard disk, reads sectors with CHS and EDD, and gets an E820 map', () => {
    const disk = bootSector(`
  mov [0x500], dl
  ; CHS read: cylinder 0, head 0, sector 2 (one sector) to 0:8000
  mov ax, 0x0201
  mov cx, 0x0002
  xor dh, dh
  mov bx, 0x8000
  int 0x13
  setc [0x501]
  mov [0x502], ax
  ; EDD check and extended read of LBA 2..3 to 0:9000
  mov ah, 0x41
  mov bx, 0x55aa
  int 0x13
  mov [0x504], bx
  mov ah, 0x42
  mov si, dap
  int 0x13
  setc [0x506]
  ; AH=08h geometry
  mov ah, 0x08
  int 0x13
  mov [0x508], cx
  mov [0x50a], dx
  ; E820 into 0:6000
  xor ebx, ebx
  mov di, 0x6000
.e820: mov eax, 0xe820
  mov ecx, 24
  mov edx, 0x534d4150
  int 0x15
  jc .done
  add di, 20
  inc byte [0x50c]
  test ebx, ebx
  jnz .e820
.done:
  mov ah, 0x88
  int 0x15
  mov [0x50e], ax
  ; reading past the end fails with AH=04h
  mov ax, 0x0201
  mov cx, 0xffff
  mov dx, 0x0f80
  mov bx, 0x8000
  int 0x13
  setc [0x510]
  mov [0x511], ah
  out 0xf4, al
dap: db 0x10, 0
  dw 2
  dw 0x9000, 0
  dq 2
`, 2048, `
db 'SECTOR-1'
times 1024-($-$$) db 0
db 'SECTOR-2'
times 1536-($-$$) db 0
db 'SECTOR-3'
`);
    const m = new TestMachine({ disk, bootOrder: ['floppy', 'hdd'] });
    expect(m.run()).toBe('exit');
    const u8 = m.mem.u8;
    const str = (a: number, len: number): string => String.fromCharCode(...u8.subarray(a, a + len));
    expect(u8[0x500]).toBe(0x80);
    expect(u8[0x501]).toBe(0);
    expect(m.mem.read16(0x502)).toBe(0x0001); // AH=0, AL=1 sector
    expect(str(0x8000, 8)).toBe('SECTOR-1');
    expect(m.mem.read16(0x504)).toBe(0xaa55);
    expect(u8[0x506]).toBe(0);
    expect(str(0x9000, 8)).toBe('SECTOR-2');
    expect(str(0x9200, 8)).toBe('SECTOR-3');
    // 2048 sectors / (16*63) = 2 cylinders: max cylinder 1, 63 sectors, max head 15, 1 disk.
    expect(m.mem.read16(0x508)).toBe(0x013f);
    expect(m.mem.read16(0x50a)).toBe(0x0f01);
    // E820: the map from e820.ts, sorted and sane.
    const count = u8[0x50c];
    expect(count).toBe(7);
    const entries = [...Array(count).keys()].map((i) => ({
      base: m.mem.read32(0x6000 + i * 20) >>> 0, len: m.mem.read32(0x6000 + i * 20 + 8) >>> 0, type: m.mem.read32(0x6000 + i * 20 + 16),
    }));
    expect(entries[0]).toEqual({ base: 0, len: 0x9fc00, type: 1 });
    expect(entries[3]).toEqual({ base: 0x100000, len: 16 * 1024 * 1024 - 0x100000 - 0x10000, type: 1 });
    expect(entries[4]).toEqual({ base: 16 * 1024 * 1024 - 0x10000, len: 0x10000, type: 3 });
    expect(m.mem.read16(0x50e)).toBe((16 * 1024 - 1024 - 64));
    expect(u8[0x510]).toBe(1);
    expect(u8[0x511]).toBe(0x04);
    expect(m.mem.u8[0x474]).toBe(0x04); // BDA last hard-disk status
  });

  it('skips a hard disk without 55 AA and reports No bootable device', () => {
    const m = new TestMachine({ disk: new Uint8Array(1024 * 1024), bootOrder: ['hdd', 'cdrom'] });
    expect(m.run()).toBe('halted');
    expect(m.bootFailure).toBe('No bootable device');
    expect(m.screenRow(1)).toBe('No bootable device');
    expect(m.fw.bootedFrom).toBeNull();
  });

  it('uses the boot override hook instead of a boot sector', () => {
    const m = new TestMachine({ bootOrder: [] });
    m.fw.bootOverride = (c) => { c.setSegReal(1, 0, 0xffff, 0x9b); c.eip = 0x1000; };
    m.mem.load(0x1000, new Uint8Array([0xe6, 0xf4])); // out 0xf4, al
    expect(m.run()).toBe('exit');
    expect(m.fw.bootedFrom).toBe('override');
  });
});
