// The bare testbed machine (src/core/platform/testbed.ts): boot-sector loading and entry state,
// the COM1 transmit capture, the 0xE9 console, the exit port, markers, HLT, budgets and
// shutdown. The tiny real-mode programs are nasm output, with their source alongside.
import { describe, expect, it } from 'vitest';
import { Testbed, bootTestbed } from '../../src/core/platform/testbed';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

/** `sectors` 512-byte sectors: `code` at 0x7C00, 55 AA at 510, `extra` placed at `extraAt`. */
function image(code: Uint8Array, sectors = 1, extra?: Uint8Array, extraAt = 0): Uint8Array {
  const img = new Uint8Array(512 * sectors);
  img.set(code);
  img[510] = 0x55; img[511] = 0xaa;
  if (extra) img.set(extra, extraAt - 0x7c00);
  return img;
}

// mov dx,3FDh / in al,dx / cmp al,60h / jne bad      ; LSR reads 60h
// mov dx,3FBh / mov al,80h / out dx,al               ; DLAB = 1
// mov dx,3F8h / mov al,'X' / out dx,al               ; divisor latch: not captured
// mov dx,3FBh / mov al,3 / out dx,al                 ; DLAB = 0
// mov dx,3F8h / mov al,'O' / out dx,al               ; THR: captured
// mov al,'K' / out E9h,al                            ; debug console: captured
// mov dx,3F9h / in al,dx / add al,'0' / out E9h,al   ; IER reads 0
// in al,E9h / cmp al,E9h / jne bad                   ; port E9 reads E9h
// mov al,10 / out E9h,al
// mov al,2Ah / out F4h,al                            ; exit port: stop, code 2Ah
// mov al,'Z' / out E9h,al / hlt                      ; never reached
// bad: mov al,'!' / out E9h,al / hlt
const PORTS = hex('bafd03ec3c60753a80fafdbafb03b080eebaf803b058eebafb03b003eebaf803b04feeb04be6e9baf903ec0430e6e9e4e93ce9750db00ae6e9b02ae6f4b05ae6e9f4b021e6e9f4');

// Checks DL=80h, SP=7C00h, CS=SS=DS=ES=0 and IP (call/pop), prints 'ab MARK cd' on port E9
// (lodsb loop), then jmp 0000:8000 (the third sector), which prints 'S' and halts.
const ENTRY = hex('80fa80753081fc007c752a8cc88cd309d88cdb09d88cc309d8751ae80000583d1e7c7511be3a7cac84c07404e6e9ebf7ea00800000b021e6e9f46162204d41524b20636400');
const SECTOR3 = hex('b053e6e9f4'); // mov al,'S' / out E9h,al / hlt

describe('testbed', () => {
  it('captures COM1 THR (not the divisor latch) and port E9, and stops at the exit port', () => {
    const tb = bootTestbed(image(PORTS));
    const r = tb.runUntil({ maxInstructions: 1000 });
    expect(r.output).toBe('OK0\n');
    expect(r.stopReason).toBe('exit-port');
    expect(r.exitCode).toBe(0x2a);
    expect(tb.qemuExitStatus).toBe(0x55);
  });

  it('enters the boot sector like SeaBIOS, with the later sectors already at 0x7E00', () => {
    const tb = bootTestbed(image(ENTRY, 3, SECTOR3, 0x8000));
    const r = tb.runUntil({ maxInstructions: 10_000 });
    expect(r.output).toBe('ab MARK cdS');
    expect(r.stopReason).toBe('halted');
  });

  it('stops at a marker and continues from there', () => {
    const tb = bootTestbed(image(ENTRY, 3, SECTOR3, 0x8000));
    const a = tb.runUntil({ maxInstructions: 10_000, marker: 'MARK' });
    expect(a.stopReason).toBe('marker');
    expect(a.output).toBe('ab MARK');
    const b = tb.runUntil({ maxInstructions: 10_000 });
    expect(b.output).toBe('ab MARK cdS');
    expect(b.stopReason).toBe('halted');
    expect(a.instructions + b.instructions).toBe(tb.cpu.icount);
  });

  it('stops after maxInstructions', () => {
    const tb = bootTestbed(image(hex('ebfe'))); // jmp $
    const r = tb.runUntil({ maxInstructions: 12_345, slice: 1000 });
    expect(r.stopReason).toBe('budget');
    expect(r.instructions).toBe(12_345);
  });

  it('reports a triple fault as shutdown', () => {
    // lidt [idt0] (limit 0) / int 3 / hlt: #GP, #DF and the triple fault, all beyond the IDT limit
    const tb = bootTestbed(image(hex('0f011e087ccd03f4000000000000')));
    const r = tb.runUntil({ maxInstructions: 1000 });
    expect(r.stopReason).toBe('shutdown');
    expect(r.shutdownReason).toBeTruthy();
  });

  it('refuses images that are not boot sectors', () => {
    const tb = new Testbed({ memoryBytes: 1 << 20 });
    expect(() => tb.loadBootSector(new Uint8Array(100))).toThrow(/512/);
    expect(() => tb.loadBootSector(new Uint8Array(512))).toThrow(/55 AA/);
    expect(() => tb.loadBootSector(image(PORTS, 1300))).toThrow(/0xA0000/);
  });
});
