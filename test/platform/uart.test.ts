// 16550A UART: the probe Linux's 8250 driver runs (autoconfig), transmit paced by virtual time
// with THRE interrupts through an IrqLine, receive with the FIFO trigger level and the
// character timeout, loopback and modem-status interrupts.
import { describe, expect, it } from 'vitest';
import { IoBus } from '../../src/core/platform/io-bus';
import { VirtualClock } from '../../src/core/platform/clock';
import { IrqLine, type IrqSink } from '../../src/core/platform/irq';
import { Uart16550 } from '../../src/core/platform/devices/uart16550';

const COM1 = 0x3f8;
const RBR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7;

function setup() {
  const counter = { icount: 0 };
  const clock = new VirtualClock(counter, 1e9); // 1 ns per tick
  const levels: boolean[] = [];
  const sink: IrqSink = { setIrq: (irq, level) => { expect(irq).toBe(4); levels.push(level); } };
  const irq = new IrqLine(sink, 4);
  const uart = new Uart16550(clock, irq, 'COM1 16550A');
  const io = new IoBus();
  uart.registerPorts(io, COM1);
  const out: number[] = [];
  uart.onTransmit = (b) => out.push(b);
  const inb = (r: number) => io.read(COM1 + r, 1);
  const outb = (r: number, v: number) => io.write(COM1 + r, 1, v);
  /** Advances virtual time by `ns`, firing each timer at its own deadline. */
  const advance = (ns: number) => {
    const target = clock.nowNs() + ns;
    for (;;) {
      const d = clock.nextDeadlineNs();
      if (d > target) break;
      counter.icount = Math.max(counter.icount, Math.ceil(d));
      clock.runDue();
    }
    counter.icount = Math.ceil(target);
    clock.runDue();
  };
  /** 115200 8N1 as Linux/BIOS program it. */
  const init = (divisor = 1) => {
    outb(LCR, 0x80); outb(0, divisor & 0xff); outb(1, divisor >> 8); outb(LCR, 0x03);
  };
  return { clock, irq, uart, io, out, inb, outb, advance, init, levels };
}

describe('16550A UART', () => {
  it('passes the Linux 8250 autoconfig probe as a 16550A', () => {
    const { inb, outb, io } = setup();
    expect(io.nameOf(0x3fd)).toBe('COM1 16550A');
    // IER test: bits 3:0 read back, upper bits are not implemented.
    outb(IER, 0); expect(inb(IER) & 0x0f).toBe(0);
    outb(IER, 0x0f); expect(inb(IER) & 0x0f).toBe(0x0f);
    outb(IER, 0xff); expect(inb(IER)).toBe(0x0f); // UUE bit 6 does not stick: not an XScale UART
    outb(IER, 0);
    // Scratch register.
    outb(SCR, 0xa5); expect(inb(SCR)).toBe(0xa5);
    outb(SCR, 0x5a); expect(inb(SCR)).toBe(0x5a);
    // Loopback test: MCR = LOOP | OUT2 | RTS -> MSR[7:4] = DCD | CTS = 0x90.
    const saveMcr = inb(MCR);
    outb(MCR, 0x10 | 0x0a); expect(inb(MSR) & 0xf0).toBe(0x90);
    outb(MCR, saveMcr);
    // LCR / DLAB: divisor latch reads back, and RBR/IER return when DLAB is cleared.
    outb(LCR, 0x80); outb(0, 0x0c); outb(1, 0x00);
    expect(inb(0)).toBe(0x0c); expect(inb(1)).toBe(0);
    outb(LCR, 0x03); expect(inb(LCR)).toBe(0x03); expect(inb(IER)).toBe(0);
    // EFR probe with LCR = 0xBF: offset 2 is still IIR/FCR on a 16550A, never 0.
    outb(LCR, 0xbf); outb(2, 0); outb(LCR, 0);
    // FIFO detection: IIR[7:6] = 11 after enabling the FIFOs; 00 without.
    expect(inb(IIR) >> 6).toBe(0);
    outb(FCR, 0x01);
    expect(inb(IIR) >> 6).toBe(3);
    outb(LCR, 0x80); expect(inb(2)).not.toBe(0); outb(LCR, 0); // EFR test reads IIR
    // 16750 test: FCR bit 5 does not give a 64-byte FIFO (IIR bit 5 stays 0).
    outb(FCR, 0x21); expect((inb(IIR) >> 5) & 7).toBe(6);
    outb(FCR, 0);
    expect(inb(IIR)).toBe(0x01); // no FIFO, no interrupt
    expect(inb(LSR)).toBe(0x60); // THRE | TEMT
  });

  it('transmits at the line rate on virtual time, with THRE interrupts gated by OUT2', () => {
    const { inb, outb, out, advance, init, irq, uart } = setup();
    init(1); // 115200 baud: 10 bits = 86.8 us per character
    expect(uart.charTimeNs()).toBeCloseTo(86805.5, 0);
    outb(FCR, 0x07); outb(MCR, 0x0b); // FIFO on and cleared; DTR | RTS | OUT2
    outb(IER, 0x02); // ETBEI with THR empty: THRE interrupt at once
    expect(inb(IIR)).toBe(0xc2);
    expect(irq.high).toBe(false); // reading IIR cleared the THRE source
    for (const c of 'Hello') outb(RBR, c.charCodeAt(0));
    expect(inb(LSR) & 0x60).toBe(0); // bytes in FIFO, transmitter busy
    expect(out).toEqual([]);
    advance(86_000);
    expect(out).toEqual([]); // not yet: the first character is still being shifted
    advance(1_000);
    expect(String.fromCharCode(...out)).toBe('H');
    advance(3 * 86_806);
    expect(String.fromCharCode(...out)).toBe('Hell');
    // FIFO emptied when the last byte moved to the shift register: THRE interrupt, TEMT not yet.
    expect(irq.high).toBe(true);
    expect(inb(LSR) & 0x60).toBe(0x20);
    expect(inb(IIR)).toBe(0xc2);
    expect(irq.high).toBe(false);
    advance(86_806);
    expect(String.fromCharCode(...out)).toBe('Hello');
    expect(inb(LSR) & 0x60).toBe(0x60);
    // OUT2 clear: the interrupt is pending in IIR but the PC's IRQ line stays low.
    outb(MCR, 0x03);
    outb(IER, 0); outb(IER, 0x02);
    expect(irq.high).toBe(false);
    outb(MCR, 0x0b);
    expect(irq.high).toBe(true);
    // Writing THR clears the THRE interrupt; the first byte goes straight into the idle shift
    // register (THR empty again: THRE re-raised), the second stays in the FIFO.
    outb(RBR, 0x41);
    expect(irq.high).toBe(true);
    outb(RBR, 0x42);
    expect(irq.high).toBe(false);
  });

  it('polled output like a boot loader: one byte in THR, the next waits a character time', () => {
    const { inb, outb, out, advance, init } = setup();
    init(12); // 9600 baud
    outb(RBR, 0x31);
    expect(inb(LSR) & 0x20).toBe(0x20); // moved into the shift register at once
    expect(inb(LSR) & 0x40).toBe(0);
    outb(RBR, 0x32);
    expect(inb(LSR) & 0x20).toBe(0); // holding register full (no FIFO)
    advance(1_041_667); // 10 bits at 9600 baud
    expect(out).toEqual([0x31]);
    expect(inb(LSR) & 0x60).toBe(0x20);
    advance(1_041_667);
    expect(out).toEqual([0x31, 0x32]);
    // 7-bit words drop bit 7.
    outb(LCR, 0x02); outb(RBR, 0xc1);
    advance(2_000_000);
    expect(out[2]).toBe(0x41);
  });

  it('receives with the FIFO trigger level and the character timeout', () => {
    const { inb, outb, advance, init, irq, uart } = setup();
    init(1);
    outb(FCR, 0x81); // FIFO on, trigger 8
    outb(MCR, 0x0b); outb(IER, 0x01);
    uart.receive('0123456789');
    const ch = uart.charTimeNs();
    advance(7 * ch + 10);
    expect(inb(LSR) & 1).toBe(1);
    expect(irq.high).toBe(false); // 7 bytes < trigger 8
    expect(inb(IIR)).toBe(0xc1);
    advance(ch);
    expect(irq.high).toBe(true); // 8 bytes: received-data-available
    expect(inb(IIR)).toBe(0xc4);
    const got: number[] = [];
    while (inb(LSR) & 1) got.push(inb(RBR));
    expect(String.fromCharCode(...got)).toBe('01234567');
    expect(irq.high).toBe(false);
    advance(2 * ch);
    expect(inb(IIR)).toBe(0xc1); // 2 bytes below the trigger, no timeout yet
    advance(4 * ch);
    expect(inb(IIR)).toBe(0xcc); // character timeout
    expect(irq.high).toBe(true);
    expect(inb(RBR)).toBe(0x38); // reading RBR clears the timeout
    expect(inb(IIR)).toBe(0xc1);
    expect(irq.high).toBe(false);
    advance(4 * ch + 10);
    expect(inb(IIR)).toBe(0xcc); // again after 4 quiet character times
    expect(inb(RBR)).toBe(0x39);
    expect(inb(LSR) & 1).toBe(0);
    expect(irq.high).toBe(false);
  });

  it('holds host input while the FIFO is full instead of overrunning', () => {
    const { inb, outb, advance, init, uart } = setup();
    init(1);
    outb(FCR, 0xc1);
    const data = Array.from({ length: 40 }, (_, i) => i + 1);
    uart.receive(data);
    advance(50 * uart.charTimeNs());
    expect(inb(LSR) & 0x03).toBe(0x01); // data ready, no overrun
    const got: number[] = [];
    for (let i = 0; i < 200 && got.length < 40; i++) {
      while (inb(LSR) & 1) got.push(inb(RBR));
      advance(uart.charTimeNs());
    }
    expect(got).toEqual(data);
  });

  it('loopback echoes transmitted bytes to the receiver and overruns with LSR.OE', () => {
    const { inb, outb, out, advance, init, uart, irq } = setup();
    init(1);
    outb(MCR, 0x1b); // loopback | OUT2 | RTS | DTR
    outb(IER, 0x05);
    outb(RBR, 0x55);
    advance(uart.charTimeNs());
    expect(out).toEqual([]); // nothing on the wire in loopback
    expect(inb(LSR) & 1).toBe(1);
    expect(irq.high).toBe(false); // OUT2 pin forced inactive in loopback: IRQ gate closed
    expect(inb(IIR)).toBe(0x04);
    outb(RBR, 0xaa); // 16450 mode: second byte overruns the first
    advance(uart.charTimeNs());
    expect(inb(IIR)).toBe(0x06); // line status has the highest priority
    expect(inb(LSR) & 0x03).toBe(0x03);
    expect(inb(LSR) & 0x02).toBe(0); // OE cleared by reading LSR
    expect(inb(RBR)).toBe(0xaa);
    expect(inb(IIR)).toBe(0x01);
  });

  it('reports modem-status changes in loopback with delta bits and an interrupt', () => {
    const { inb, outb } = setup();
    outb(MCR, 0x10);
    inb(MSR); // clear deltas from entering loopback
    outb(IER, 0x08);
    outb(MCR, 0x10 | 0x01 | 0x04); // DTR -> DSR, OUT1 -> RI
    expect(inb(IIR)).toBe(0x00);
    expect(inb(MSR)).toBe(0x60 | 0x02); // DSR | RI, delta DSR (RI rising edge is not TERI)
    expect(inb(IIR)).toBe(0x01);
    outb(MCR, 0x10); // RI falls: trailing edge
    expect(inb(MSR)).toBe(0x02 | 0x04);
  });

  it('reset() returns the power-up register state', () => {
    const { inb, outb, uart } = setup();
    outb(FCR, 0xc7); outb(IER, 0x0f); outb(MCR, 0x1f); outb(LCR, 0x1b); outb(SCR, 9);
    uart.receive('x');
    uart.reset();
    expect([inb(IER), inb(IIR), inb(LCR), inb(MCR), inb(LSR)]).toEqual([0, 0x01, 0, 0, 0x60]);
    expect(uart.state()).toMatchObject({ fifoEnabled: false, hostQueued: 0, divisor: 1 });
  });
});
