// The BIOS on the real PC device models (PcMachine): POST programs the real PIC/PIT/UART/VGA,
// INT 13h reads the floppy, INT 10h output reaches COM1, and IRQ0 from the real PIT advances
// the INT 1Ah tick count.
import { expect, it } from 'vitest';
import { PcMachine } from '../../src/core/platform/machine';
import { BlockDevice } from '../../src/core/platform/block';
import { bootSector } from './support';

it('boots a floppy on the real devices and counts PIT ticks', () => {
  const img = new Uint8Array(1474560);
  img.set(bootSector(`
  mov ax, 0x0201
  mov cx, 0x0001
  xor dx, dx
  mov bx, 0x8000
  int 0x13
  mov si, msg
  call print
  sti
  xor ax, ax
  int 0x1a
  mov [0x500], dx
w: hlt
  xor ax, ax
  int 0x1a
  sub dx, [0x500]
  cmp dx, 3
  jb w
  mov si, msg2
  call print
f: hlt
  jmp f
print: lodsb
  test al, al
  jz .d
  mov ah, 0x0e
  int 0x10
  jmp print
.d: ret
msg: db 'HELLO', 13, 10, 0
msg2: db 'TICKS', 0
`));
  const fd = new BlockDevice('fd', img);
  const m = new PcMachine({ memoryBytes: 32 << 20, floppies: [fd], bootOrder: ['floppy'] });
  let out = '';
  m.onSerial = (_p, b) => { out += String.fromCharCode(b); if (out.endsWith('TICKS')) m.stop(); };
  const fw = m.firmware!;
  expect(m.run(2_000_000_000)).toBe('stopped');
  expect(out).toBe('vmxlab BIOS\r\nHELLO\r\nTICKS');
  expect(m.mem.read16(0x8000 + 510)).toBe(0xaa55);
  expect(fw.calls.get(12 /* Svc.Irq0 */) ?? 0).toBeGreaterThanOrEqual(3);
  expect(m.io.nameOf(0xe0)).toBe('vmxlab BIOS service');
});
