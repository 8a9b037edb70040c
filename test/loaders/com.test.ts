// DOS .COM loading and the minimal DOS API stub, run on a bare CPU with fake BIOS services:
// INT 10h AH=0Eh writes AL to port 0xE9, INT 16h reads keys from a test port, INT 1Ah returns a
// fixed RTC time and date (BCD). (The real firmware replaces these on the PC machine.)
import { describe, expect, it } from 'vitest';
import type { IoBus } from '../../src/core/platform/io-bus';
import { applyCom, COM_MAX_BYTES, planCom } from '../../src/core/loaders/com';
import { loadImage } from '../../src/core/loaders/index';
import { Seg } from '../../src/core/cpu/regs';
import { bareMachine, nasm } from './support';

const FAKE_BIOS_SEG = 0x0800;
const fakeBios = nasm(`bits 16
org 0
dw int10, int16, int1a   ; handler offsets, read by the test
int10:                 ; AH=0Eh teletype -> port 0xE9
  cmp ah, 0x0e
  jne .r
  out 0xe9, al
.r: iret
int16:                 ; AH=00h: key from port 0x61; AH=01h: ZF=1 when none (port 0x62 = count)
  cmp ah, 1
  je .st
  in al, 0x61
  mov ah, 0x1e
  iret
.st:
  push ax
  in al, 0x62
  test al, al
  pop ax
  retf 2
int1a:                 ; AH=02h: 13:45:07; AH=04h: 2024-03-15 (a Friday)
  cmp ah, 2
  jne .d
  mov cx, 0x1345
  mov dx, 0x0700
  clc
  retf 2
.d: mov cx, 0x2024
  mov dx, 0x0315
  clc
  retf 2
`);

function setup(keys = '') {
  const queue = [...keys].map((c) => c.charCodeAt(0));
  const m = bareMachine(16 << 20, (io: IoBus) => {
    io.register(0x61, 2, 'test keyboard queue', {
      ioRead: (off) => (off === 0 ? queue.shift() ?? 0 : queue.length),
      ioWrite: () => {},
    });
  });
  m.mem.load(FAKE_BIOS_SEG << 4, fakeBios);
  [0x10, 0x16, 0x1a].forEach((n, i) => {
    m.mem.write16(n * 4, fakeBios[i * 2] | (fakeBios[i * 2 + 1] << 8));
    m.mem.write16(n * 4 + 2, FAKE_BIOS_SEG);
  });
  return m;
}

const PROGRAM = nasm(`bits 16
org 0x100
  mov ah, 9
  mov dx, msg
  int 21h
  mov ah, 30h            ; version -> '5'
  int 21h
  add al, '0'
  mov dl, al
  mov ah, 2
  int 21h
  mov ah, 2Ah            ; date 2024-03-15, Friday (5) -> 'D'
  int 21h
  cmp cx, 2024
  jne bad
  cmp dx, 0x030F
  jne bad
  cmp al, 5
  jne bad
  mov dl, 'D'
  mov ah, 2
  int 21h
  mov ah, 2Ch            ; time 13:45:07.00 -> 'T'
  int 21h
  cmp cx, 0x0D2D
  jne bad
  cmp dx, 0x0700
  jne bad
  mov dl, 'T'
  mov ah, 2
  int 21h
  mov ah, 1              ; key with echo -> 'k'
  int 21h
  cmp al, 'k'
  jne bad
  mov ah, 6              ; no key left -> ZF = 1 -> 'N'
  mov dl, 0FFh
  int 21h
  jnz bad
  mov dl, 'N'
  mov ah, 2
  int 21h
  mov ax, 2560h          ; set INT 60h, call it -> 'H'
  mov dx, handler
  int 21h
  int 60h
  mov ax, 3560h          ; get it back
  int 21h
  cmp bx, handler
  jne bad
  mov ax, es
  mov bx, cs
  cmp ax, bx
  jne bad
  push cs
  pop es
  mov ah, 40h            ; write 3 bytes to stdout
  mov bx, 1
  mov cx, 3
  mov dx, three
  int 21h
  jc bad
  cmp ax, 3
  jne bad
  mov ah, 77h            ; unknown function: CF = 1, AX = 1 -> 'F'
  int 21h
  jnc bad
  cmp ax, 1
  jne bad
  mov dl, 'F'
  mov ah, 2
  int 21h
  mov si, 81h            ; echo the command tail up to CR
.t: lodsb
  cmp al, 0Dh
  je .te
  mov dl, al
  mov ah, 2
  int 21h
  jmp .t
.te:
  mov ax, 4C2Ah
  int 21h
bad:
  mov dl, 'X'
  mov ah, 2
  int 21h
  mov ax, 4C01h
  int 21h
handler:
  mov dl, 'H'
  mov ah, 2
  int 21h
  iret
msg: db 'Hello, DOS$'
three: db 'abc'
`);

describe('.COM loader', () => {
  it('builds the PSP and the entry state', () => {
    const plan = planCom(PROGRAM, { cmdline: 'arg1 arg2' });
    const m = setup();
    applyCom(plan, m.cpu);
    const base = plan.segment << 4;
    expect([m.mem.u8[base], m.mem.u8[base + 1]]).toEqual([0xcd, 0x20]);
    expect(m.mem.read16(base + 2)).toBe(0x9fc0);
    expect(m.mem.u8[base + 0x80]).toBe(10);
    expect(String.fromCharCode(...m.mem.u8.subarray(base + 0x81, base + 0x8c))).toBe(' arg1 arg2\r');
    expect(m.mem.read16(base + 0xfffe)).toBe(0);
    const c = m.cpu;
    expect([c.segSel[Seg.CS], c.segSel[Seg.DS], c.segSel[Seg.ES], c.segSel[Seg.SS], c.eip, c.r16[8]]).toEqual([0x1000, 0x1000, 0x1000, 0x1000, 0x100, 0xfffe]);
    expect(m.mem.read16(0x21 * 4 + 2)).toBe(plan.stubSegment);
  });

  it('runs a program using INT 21h console, version, date, time, vectors, handles and exit', () => {
    const r = loadImage(PROGRAM, { name: 'TEST.COM', cmdline: 'tail', memoryBytes: 16 << 20 });
    expect(r.kind).toBe('kernel');
    if (r.kind !== 'kernel') return;
    const m = setup('k');
    r.enter(m.cpu);
    m.run(200_000);
    expect(m.out()).toBe('Hello, DOS5DTkNHabcF tail');
    expect(m.exitCode()).toBe(0x2a);
    m.cpu.run(100); // after the exit port: CLI / HLT, so a machine without the port stops too
    expect(m.cpu.halted).toBe(true);
    expect(m.cpu.getFlags() & 0x200).toBe(0);
  });

  it('a near RET at the end of the program exits through PSP:0000 (INT 20h) with code 0', () => {
    const m = setup();
    applyCom(planCom(nasm('org 0x100\nmov ah, 2\nmov dl, 0x21\nint 21h\nret\n')), m.cpu);
    m.run(10_000);
    expect(m.out()).toBe('!');
    expect(m.exitCode()).toBe(0);
  });

  it('refuses programs too large for one segment', () => {
    expect(() => planCom(new Uint8Array(COM_MAX_BYTES + 1))).toThrow(/too large/);
    expect(() => planCom(new Uint8Array(0))).toThrow(/empty/);
  });
});
