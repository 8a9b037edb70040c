// 8042 keyboard controller + PS/2 keyboard: the sequences a BIOS and Linux's i8042/atkbd
// drivers use (self test, command byte, A20 and reset through the output port, keyboard
// reset/identify), and typed text arriving as set-1 codes through translation.
import { describe, expect, it } from 'vitest';
import { IoBus } from '../../src/core/platform/io-bus';
import { IrqLine, type IrqSink } from '../../src/core/platform/irq';
import { I8042 } from '../../src/core/platform/devices/i8042';
import { knownKeyCodes, scanCodes, translateSet2 } from '../../src/core/platform/devices/scancodes';

function setup(a20AtReset = false) {
  const irqs: Array<[number, boolean]> = [];
  const sink: IrqSink = { setIrq: (irq, level) => irqs.push([irq, level]) };
  const irq1 = new IrqLine(sink, 1), irq12 = new IrqLine(sink, 12);
  const events: string[] = [];
  const kbc = new I8042(irq1, irq12, {
    setA20: (on) => events.push(`a20=${on}`),
    reset: () => events.push('reset'),
  }, a20AtReset);
  const io = new IoBus();
  kbc.registerPorts(io);
  const inb = (p: number) => io.read(p, 1);
  const outb = (p: number, v: number) => io.write(p, 1, v);
  /** Polls OBF like a driver and reads the byte, or returns -1 when nothing comes. */
  const read = () => ((inb(0x64) & 1) !== 0 ? inb(0x60) : -1);
  const drain = () => { const a: number[] = []; for (let b = read(); b >= 0; b = read()) a.push(b); return a; };
  const command = (c: number, arg?: number) => { outb(0x64, c); if (arg !== undefined) outb(0x60, arg); };
  return { kbc, io, inb, outb, read, drain, command, irq1, irq12, events, irqs };
}

describe('i8042 keyboard controller', () => {
  it('self test, interface test and the command byte', () => {
    const { inb, read, command, io } = setup();
    expect(io.nameOf(0x64)).toBe('i8042 status/command');
    expect(inb(0x64) & 0x01).toBe(0);
    command(0xaa);
    expect(inb(0x64) & 0x0d).toBe(0x0d); // OBF, system flag, last write was a command
    expect(read()).toBe(0x55);
    command(0xab); expect(read()).toBe(0x00);
    command(0xa9); expect(read()).toBe(0x00);
    command(0x20); expect(read()).toBe(0x45); // post-BIOS: translate | system | IRQ1
    command(0x60, 0x74); // disable IRQs, keep translation, disable kbd clock
    expect(inb(0x64) & 0x08).toBe(0); // last write was data
    command(0x20); expect(read()).toBe(0x74);
    command(0xae); command(0xa8);
    command(0x20); expect(read()).toBe(0x44);
    command(0x60, 0x41); // system flag off
    expect(inb(0x64) & 0x04).toBe(0);
    command(0x3f); expect(read()).toBe(0x00); // other controller RAM bytes
    command(0x7f, 0x99); command(0x3f); expect(read()).toBe(0x99);
    expect(read()).toBe(-1);
  });

  it('A20 through the output port (0xD1, 0xDD/0xDF) and CPU reset (0xFE, 0xD1 bit 0)', () => {
    const { read, command, events, kbc } = setup();
    command(0xd0);
    expect(read() & 0x03).toBe(0x01); // reset line high, A20 off at power-on
    command(0xd1, 0xdf); // the classic "enable A20" value
    expect(events).toEqual(['a20=true']);
    expect(kbc.a20).toBe(true);
    command(0xd0); expect(read() & 0x03).toBe(0x03);
    command(0xd1, 0xdf); // unchanged: no callback
    command(0xdd);
    command(0xdf);
    expect(events).toEqual(['a20=true', 'a20=false', 'a20=true']);
    command(0xfe);
    expect(events.at(-1)).toBe('reset');
    command(0xff); // pulses nothing on bit 0
    expect(events.length).toBe(4);
    command(0xd1, 0xde);
    expect(events.at(-1)).toBe('reset');
    command(0xd0); expect(read() & 0x01).toBe(0x01); // reset line returns high
  });

  it('keyboard reset, identify and the ACK protocol (with and without translation)', () => {
    const { outb, drain, command } = setup();
    outb(0x60, 0xff);
    expect(drain()).toEqual([0xfa, 0xaa]);
    outb(0x60, 0xf2);
    expect(drain()).toEqual([0xfa, 0xab, 0x41]); // translation turns 0x83 into 0x41
    command(0x60, 0x05); // translation off
    outb(0x60, 0xf2);
    expect(drain()).toEqual([0xfa, 0xab, 0x83]);
    outb(0x60, 0xee); expect(drain()).toEqual([0xee]);
    outb(0x60, 0xed); expect(drain()).toEqual([0xfa]);
    outb(0x60, 0x07); expect(drain()).toEqual([0xfa]);
    outb(0x60, 0xf3); outb(0x60, 0x20); expect(drain()).toEqual([0xfa, 0xfa]);
    outb(0x60, 0xf0); outb(0x60, 0x00); expect(drain()).toEqual([0xfa, 0xfa, 0x02]); // ACK, ACK, set 2
    outb(0x60, 0xf0); outb(0x60, 0x03); expect(drain()).toEqual([0xfa, 0xfe]); // set 3 unsupported
    outb(0x60, 0xf5); expect(drain()).toEqual([0xfa]);
    outb(0x60, 0xfe); expect(drain()).toEqual([0xfa]); // resend the last byte
    outb(0x60, 0x01); expect(drain()).toEqual([0xfe]); // unknown command
  });

  it('raises IRQ1 for keyboard data when enabled, drops it on read', () => {
    const { kbc, inb, command, irq1, irq12 } = setup();
    kbc.keyDown('KeyA');
    expect(irq1.high).toBe(true);
    expect(inb(0x60)).toBe(0x1e);
    expect(irq1.high).toBe(false);
    command(0x60, 0x44); // IRQ1 off
    kbc.keyUp('KeyA');
    expect(irq1.high).toBe(false);
    expect(inb(0x64) & 1).toBe(1);
    expect(inb(0x60)).toBe(0x9e);
    expect(inb(0x60)).toBe(0x9e); // empty buffer: last byte again
    // Disabled keyboard clock holds keys until 0xAE.
    command(0x60, 0x45); command(0xad);
    kbc.keyDown('Enter');
    expect(inb(0x64) & 1).toBe(0);
    command(0xae);
    expect(irq1.high).toBe(true);
    expect(inb(0x60)).toBe(0x1c);
    // Aux port with no device: the byte times out with 0xFE in the aux buffer.
    command(0x60, 0x47);
    command(0xd4, 0xf2);
    expect(inb(0x64) & 0x61).toBe(0x61);
    expect(irq12.high).toBe(true);
    expect(inb(0x60)).toBe(0xfe);
    expect(irq12.high).toBe(false);
    command(0xd3, 0x5a); // aux loopback (Linux's i8042_check_aux)
    expect(inb(0x64) & 0x21).toBe(0x21);
    expect(inb(0x60)).toBe(0x5a);
  });

  it('typed text arrives as set-1 make/break codes through translation', () => {
    const { kbc, drain } = setup();
    expect(kbc.typeText('Hi 1!\n')).toBe('');
    expect(drain()).toEqual([
      0x2a, 0x23, 0xa3, 0xaa, // Shift, H
      0x17, 0x97, // i
      0x39, 0xb9, // space
      0x02, 0x82, // 1
      0x2a, 0x02, 0x82, 0xaa, // !
      0x1c, 0x9c, // Enter
    ]);
    kbc.keyDown('ArrowUp'); kbc.keyUp('ArrowUp');
    expect(drain()).toEqual([0xe0, 0x48, 0xe0, 0xc8]);
    kbc.keyDown('PrintScreen'); kbc.keyUp('PrintScreen');
    expect(drain()).toEqual([0xe0, 0x2a, 0xe0, 0x37, 0xe0, 0xb7, 0xe0, 0xaa]);
    kbc.keyDown('Pause');
    expect(drain()).toEqual([0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5]);
    expect(kbc.keyDown('NoSuchKey')).toBe(false);
  });

  it('without translation the guest sees set 2; a keyboard switched to set 1 sends set 1', () => {
    const { kbc, outb, drain, command } = setup();
    command(0x60, 0x05);
    kbc.keyDown('KeyA'); kbc.keyUp('KeyA'); kbc.keyDown('ControlRight'); kbc.keyUp('ControlRight');
    expect(drain()).toEqual([0x1c, 0xf0, 0x1c, 0xe0, 0x14, 0xe0, 0xf0, 0x14]);
    outb(0x60, 0xf0); outb(0x60, 0x01); drain();
    kbc.keyDown('KeyA'); kbc.keyUp('KeyA');
    expect(drain()).toEqual([0x1e, 0x9e]);
  });

  it('the translation table agrees with the documented set-1 codes', () => {
    // Spot checks against Microsoft's Keyboard Scan Code Specification, Appendix A.
    const set1: Record<string, number[]> = {
      Escape: [0x01], Backspace: [0x0e], KeyQ: [0x10], KeyZ: [0x2c], F1: [0x3b], F7: [0x41], F10: [0x44],
      F11: [0x57], F12: [0x58], NumLock: [0x45], ScrollLock: [0x46], Numpad0: [0x52], NumpadDecimal: [0x53],
      NumpadEnter: [0xe0, 0x1c], NumpadDivide: [0xe0, 0x35], Home: [0xe0, 0x47], Delete: [0xe0, 0x53],
      AltRight: [0xe0, 0x38], MetaLeft: [0xe0, 0x5b], ContextMenu: [0xe0, 0x5d], IntlBackslash: [0x56],
    };
    for (const [code, make] of Object.entries(set1)) expect(scanCodes(code, 1)?.make, code).toEqual(make);
    // Every set-1 code is distinct and every break is make | 0x80 on the last byte.
    const seen = new Set<string>();
    for (const code of knownKeyCodes()) {
      if (code === 'Pause' || code === 'PrintScreen') continue;
      const s = scanCodes(code, 1)!;
      expect(seen.has(s.make.join()), code).toBe(false);
      seen.add(s.make.join());
      expect(s.brk).toEqual([...s.make.slice(0, -1), s.make[s.make.length - 1] | 0x80]);
    }
    expect(translateSet2([0x00])).toEqual([0xff]); // overrun code
  });

  it('reset() restores the post-BIOS state', () => {
    const { kbc, command, read } = setup(true);
    command(0x60, 0x00); command(0xdd); kbc.keyDown('KeyA');
    kbc.reset();
    command(0x20); expect(read()).toBe(0x45);
    expect(kbc.a20).toBe(true);
    expect(read()).toBe(-1);
    expect(kbc.state()).toMatchObject({ commandByte: 0x45, outputBuffer: null });
  });
});
