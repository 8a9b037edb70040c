// Timer, keyboard and wait services driven by interrupts: IRQ0 advances the BDA tick count
// (INT 1Ah AH=00h sees it), INT 16h AH=00h halts until IRQ1 delivers a key, INT 15h AH=86h
// waits for ticks; plus INT 10h scrolling and the PCI BIOS installation check.
import { describe, expect, it } from 'vitest';
import { bootSector, TestMachine } from './support';

function floppy(body: string): Uint8Array {
  const img = new Uint8Array(1474560);
  img.set(bootSector(body));
  return img;
}

describe('BIOS services with interrupts', () => {
  it('counts IRQ0 ticks, calls INT 1Ch and EOIs the PIC', () => {
    const m = new TestMachine({ floppy: floppy(`
  ; hook INT 1Ch to count calls at 0:0520
  mov word [0x1c*4], int1c
  mov word [0x1c*4+2], 0
  xor ax, ax
  int 0x1a
  mov [0x500], dx
  mov [0x502], cx
  sti
.wait: hlt
  xor ax, ax
  int 0x1a
  sub dx, [0x500]
  cmp dx, 5
  jb .wait
  mov [0x504], dx
  out 0xf4, al
int1c: inc word [0x520]
  iret
`) });
    const eois: number[] = [];
    m.io.register(0x20, 2, 'PIC spy', { ioRead: () => 0, ioWrite: (o, _s, v) => { if (o === 0 && v === 0x20) eois.push(v); } });
    m.idleVector = 0x08;
    expect(m.run()).toBe('exit');
    // Seeded from the fake RTC (12:34:56 = 45296 s -> 824683 ticks).
    expect((m.mem.read16(0x502) << 16) | m.mem.read16(0x500)).toBe(Math.floor((45296 * 1193182) / 65536));
    expect(m.mem.read16(0x504)).toBe(5);
    expect(m.mem.read16(0x520)).toBe(5);
    expect(eois.length).toBeGreaterThanOrEqual(5);
  });

  it('rolls the tick count over at midnight and sets the flag', () => {
    const m = new TestMachine({ floppy: floppy(`
  mov cx, 0x0018
  mov dx, 0x00af
  mov ah, 1
  int 0x1a
  int 0x08
  xor ax, ax
  int 0x1a
  mov [0x500], al
  mov [0x502], cx
  mov [0x504], dx
  out 0xf4, al
`) });
    expect(m.run()).toBe('exit');
    expect(m.mem.u8[0x500]).toBe(1);
    expect(m.mem.read16(0x502)).toBe(0);
    expect(m.mem.read16(0x504)).toBe(0);
  });

  it('INT 16h AH=00h waits (halting) until IRQ1 delivers scancodes; shift and caps lock work', () => {
    const m = new TestMachine({ floppy: floppy(`
  mov ah, 0x01
  int 0x16
  setz [0x500]
  xor ax, ax
  int 0x16
  mov [0x502], ax
  xor ax, ax
  int 0x16
  mov [0x504], ax
  mov ah, 0x02
  int 0x16
  mov [0x506], al
  out 0xf4, al
`) });
    expect(m.run()).toBe('halted'); // waiting in INT 16h
    const calls = m.fw.calls.get(7 /* Svc.Int16 */) ?? 0;
    const key = (code: number): void => { m.kbdData = code; m.pic.queue.push(0x09); m.cpu.notifyInterrupt(); expect(m.run()).toBe('halted'); };
    key(0x1e); // 'a' make
    key(0x9e); // 'a' break
    key(0x2a); // left shift make
    expect(m.mem.u8[0x417] & 0x02).toBe(2);
    key(0xaa); // left shift break
    expect(m.mem.u8[0x417] & 0x02).toBe(0);
    key(0x3a); key(0xba); // caps lock on
    m.kbdData = 0x30; m.pic.queue.push(0x09); m.cpu.notifyInterrupt(); // 'b' -> 'B'
    expect(m.run()).toBe('exit');
    expect(m.mem.u8[0x500]).toBe(1); // ZF: buffer was empty
    expect(m.mem.read16(0x502)).toBe(0x1e61); // 'a'
    expect(m.mem.read16(0x504)).toBe(0x3042); // 'B'
    expect(m.mem.u8[0x506]).toBe(0x40); // caps lock
    expect((m.fw.calls.get(7) ?? 0)).toBeGreaterThan(calls); // the stub asked again after each wake-up
  });

  it('INT 15h AH=86h waits for timer ticks; INT 15h A20 and PCI check answer', () => {
    const m = new TestMachine({ floppy: floppy(`
  sti
  xor ax, ax
  int 0x1a
  mov [0x500], dx
  mov cx, 0x0003      ; 0x30D40 us = 200 ms
  mov dx, 0x0d40
  mov ah, 0x86
  int 0x15
  setc [0x504]
  xor ax, ax
  int 0x1a
  sub dx, [0x500]
  mov [0x502], dx
  mov ax, 0x2403
  int 0x15
  mov [0x506], bx
  mov ax, 0xb101
  int 0x1a
  mov [0x508], edx
  out 0xf4, al
`) });
    m.idleVector = 0x08;
    expect(m.run()).toBe('exit');
    expect(m.mem.u8[0x504]).toBe(0);
    expect(m.mem.read16(0x502)).toBeGreaterThanOrEqual(4); // 200 ms = 3.64 ticks
    expect(m.mem.read16(0x502)).toBeLessThanOrEqual(5);
    expect(m.mem.read16(0x506)).toBe(2);
    expect(m.mem.read32(0x508)).toBe(0x20494350);
  });

  it('INT 10h scrolls at the bottom row, writes strings and reads characters back', () => {
    const m = new TestMachine({ floppy: floppy(`
  mov cx, 30
.l: mov ax, 0x0e41
  add al, cl
  int 0x10
  mov ax, 0x0e0d
  int 0x10
  mov ax, 0x0e0a
  int 0x10
  loop .l
  ; write string 'XY' attr 1Eh at row 3 col 10, cursor not moved
  mov ax, 0x1300
  mov bx, 0x001e
  mov cx, 2
  mov dx, 0x030a
  mov bp, str
  int 0x10
  ; read back via AH=02h/08h
  mov ah, 0x02
  xor bh, bh
  mov dx, 0x030b
  int 0x10
  mov ah, 0x08
  int 0x10
  mov [0x500], ax
  mov ah, 0x0f
  int 0x10
  mov [0x502], ax
  out 0xf4, al
str: db 'XY'
`) });
    expect(m.run()).toBe('exit');
    // 1 banner line + 30 lines: the screen scrolled by 7; last printed letter 'B' (0x41+1) on row 23.
    expect(m.screenRow(23)).toBe('B');
    expect(m.screenRow(24)).toBe('');
    expect(m.screenRow(0)).toBe(String.fromCharCode(0x41 + 24));
    expect(m.mem.read16(0x500)).toBe(0x1e59);
    expect(m.mem.read16(0x502)).toBe(0x5003);
  });
});
