// INT 14h and INT 17h on the real PC devices: POST finds COM1/COM2 and LPT1 and reports them in
// the BDA and the equipment word; INT 17h prints through the parallel port's STROBE handshake;
// INT 14h programs the UART's divisor and line control, sends, receives host input and times
// out (BDA timeout, 18.2 Hz ticks of virtual time) when nothing arrives.
import { expect, it } from 'vitest';
import { PcMachine } from '../../src/core/platform/machine';
import { BlockDevice } from '../../src/core/platform/block';
import { bootSector } from './support';

function machine(body: string): PcMachine {
  const img = new Uint8Array(1474560);
  img.set(bootSector(body + '\n  out 0xf4, al\nf: hlt\n  jmp f\n'));
  return new PcMachine({ memoryBytes: 32 << 20, floppies: [new BlockDevice('fd', img)], bootOrder: ['floppy'], biosSerialConsole: false });
}

it('POST reports the serial and parallel ports in the BDA and INT 11h', () => {
  const m = machine(`
  int 0x11
  mov [0x500], ax
`);
  expect(m.run(500_000_000)).toBe('stopped');
  expect([0x400, 0x402, 0x404, 0x408, 0x40a].map((a) => m.mem.read16(a))).toEqual([0x3f8, 0x2f8, 0, 0x378, 0]);
  const eq = m.mem.read16(0x500);
  expect(eq >> 14).toBe(1); // one printer
  expect((eq >> 9) & 7).toBe(2); // two serial ports
  expect(m.mem.read8(0x478)).toBe(0x14);
  expect(m.mem.read8(0x47c)).toBe(0x0a);
});

it('INT 17h initialises the printer, prints bytes and reports its status', () => {
  const m = machine(`
  xor dx, dx
  mov ah, 1
  int 0x17
  mov [0x500], ah
  mov si, msg
p: lodsb
  test al, al
  jz d
  mov ah, 0
  int 0x17
  mov [0x502], ah
  jmp p
d: mov ah, 2
  int 0x17
  mov [0x504], ah
  mov dx, 2          ; LPT3: no port, registers unchanged
  mov ah, 2
  int 0x17
  mov [0x506], ah
  jmp end
msg: db 'PRN', 0
end:
`);
  let printed = '';
  m.lpt1.onPrint = (b) => { printed += String.fromCharCode(b); };
  expect(m.run(500_000_000)).toBe('stopped');
  expect(printed).toBe('PRN');
  expect(m.lpt1.resets).toBe(1);
  // Not busy, selected, no error, ACK not asserted: 80h | 10h.
  expect([m.mem.read8(0x500), m.mem.read8(0x502), m.mem.read8(0x504)]).toEqual([0x90, 0x90, 0x90]);
  expect(m.mem.read8(0x506)).toBe(2);
});

it('INT 14h sets the line, sends, receives host input and times out on silence', () => {
  const m = machine(`
  xor dx, dx
  mov ax, 0x00e3     ; 9600 baud, no parity, 1 stop bit, 8 bits
  int 0x14
  mov [0x500], ax
  mov ax, 0x0153     ; send 'S'
  int 0x14
  mov [0x502], ah
  mov ah, 2          ; receive: the host typed 'R'
  int 0x14
  mov [0x504], ax
  mov ah, 0
  int 0x1a
  mov [0x508], dx
  mov ah, 2          ; receive again: nothing comes, times out after 10 ticks
  int 0x14
  mov [0x506], ax
  mov ah, 0
  int 0x1a
  sub dx, [0x508]
  mov [0x508], dx
`);
  let out = '';
  m.onSerial = (p, b) => { if (p === 'com1') out += String.fromCharCode(b); };
  m.com[0].receive('R');
  expect(m.run(3_000_000_000)).toBe('stopped');
  expect(out).toBe('S');
  // AH = LSR after init (THR empty, transmitter empty), AL = MSR.
  expect(m.mem.read8(0x501) & 0x60).toBe(0x60);
  expect(m.io.read(0x3fb, 1)).toBe(0x03); // LCR: 8N1, DLAB off
  m.io.write(0x3fb, 1, 0x83);
  expect(m.io.read(0x3f8, 1) | (m.io.read(0x3f9, 1) << 8)).toBe(12); // 115200 / 9600
  m.io.write(0x3fb, 1, 0x03);
  expect(m.mem.read8(0x502) & 0x80).toBe(0); // sent, no timeout
  expect(m.mem.read16(0x504)).toBe(0x0052); // AL = 'R', AH = no errors
  expect(m.mem.read8(0x507) & 0x80).toBe(0x80); // timeout
  const waited = m.mem.read16(0x508);
  expect(waited).toBeGreaterThanOrEqual(10);
  expect(waited).toBeLessThanOrEqual(11);
});
