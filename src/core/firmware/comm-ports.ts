// INT 14h (serial ports) and INT 17h (printer ports) through the UARTs and parallel ports whose
// bases POST put in the BDA (0x400 COM1-4, 0x408 LPT1-3). Sources: IBM PC AT Technical
// Reference, BIOS listing (RS232_IO, PRINTER_IO); Ralf Brown's Interrupt List, INT 14h/17h.
//
// Waits (transmitter empty, received data, printer busy) poll the port until the condition
// holds or the BDA timeout (0x47C per COM port, 0x478 per LPT port, in 18.2 Hz ticks) runs out,
// as the IBM BIOS does. Between polls the stub halts with interrupts on, and a poll timer of
// POLL_NS virtual time wakes it (the IBM BIOS spins instead; halting lets the same virtual time
// pass without thousands of service traps). Without a timer the stub spins.
import { AH, AL, DX, spinAndRetry, sti, waitAndRetry, type BiosCtx } from './context';
import { BDA } from './layout';

/** Nanoseconds per 18.2 Hz BIOS tick (65536 / 1193182 Hz). */
const NS_PER_TICK = 65536e9 / 1193182;
/** Poll interval while waiting: about one character time at 115200 baud. */
export const POLL_NS = 100_000;
/** BDA timeout tables (one byte per port). */
const COM_TIMEOUT = 0x47c, LPT_TIMEOUT = 0x478;
/** Timeouts POST writes (ticks), as SeaBIOS and most BIOSes use. */
export const DEFAULT_COM_TIMEOUT = 0x0a, DEFAULT_LPT_TIMEOUT = 0x14;

// 16550 registers and bits (see platform/devices/uart16550.ts).
const THR = 0, DLL = 0, DLM = 1, IER = 1, LCR = 3, MCR = 4, LSR = 5, MSR = 6;
const LSR_DR = 0x01, LSR_THRE = 0x20, MCR_DTR_RTS = 0x03;
/** INT 14h AH=00h baud codes AL[7:5] -> 115200 / baud: 110 150 300 600 1200 2400 4800 9600. */
const BAUD_DIVISORS = [1047, 768, 384, 192, 96, 48, 24, 12];
/** Printer status bits the BIOS inverts (/ACK, /ERROR) so that 1 means "asserted". */
const LPT_STATUS_INVERT = 0x48, LPT_TIMEOUT_BIT = 0x01, LPT_NOT_BUSY = 0x80;

export class CommPortServices {
  /** Deadline (ns) of the wait in progress, or null. One wait at a time: a service called
   *  again from an interrupt handler while another spins would share it (none does here). */
  private deadline: number | null = null;

  /** `wakeAfter(ns)` ends the stub's HLT `ns` of virtual time later (null: spin instead). */
  constructor(private readonly b: BiosCtx, private readonly clock: { nowNs(): number } | undefined,
    private readonly wakeAfter: ((ns: number) => void) | null) {}

  /** POST: the ports that answer (a write to the scratch or data register reads back). */
  detect(): { com: number[]; lpt: number[] } {
    const io = this.b.io;
    const com = [0x3f8, 0x2f8, 0x3e8, 0x2e8].filter((p) => { io.write(p + 7, 1, 0x5a); return io.read(p + 7, 1) === 0x5a; });
    const lpt = [0x378, 0x278].filter((p) => { io.write(p, 1, 0xaa); return io.read(p, 1) === 0xaa; });
    return { com, lpt };
  }

  /** Timeouts in the BDA for the ports POST found. */
  writeTimeouts(): void {
    const m = this.b.mem;
    for (let i = 0; i < 4; i++) m.write8(COM_TIMEOUT + i, DEFAULT_COM_TIMEOUT);
    for (let i = 0; i < 3; i++) m.write8(LPT_TIMEOUT + i, DEFAULT_LPT_TIMEOUT);
  }

  private now(): number { return this.clock ? this.clock.nowNs() : (this.b.mem.read32(BDA.TICKS) >>> 0) * NS_PER_TICK; }

  /** Polls again later and returns true while the wait may go on (starting it on the first
   *  call); false once the timeout has run out. */
  private pollAgain(timeoutTicks: number): boolean {
    if (this.deadline === null) this.deadline = this.now() + timeoutTicks * NS_PER_TICK;
    if (this.now() >= this.deadline) { this.deadline = null; return false; }
    if (this.wakeAfter !== null) { this.wakeAfter(POLL_NS); waitAndRetry(this.b); } else spinAndRetry(this.b);
    return true;
  }

  /** INT 14h: DX = port 0-3. A port with no base in the BDA returns with registers unchanged. */
  int14(): void {
    const b = this.b, c = b.cpu, r8 = c.r8, io = b.io;
    const unit = c.r16[DX];
    sti(b);
    if (unit > 3) return;
    const base = b.mem.read16(BDA.COM1 + 2 * unit);
    if (base === 0) return;
    const status = (): void => { r8[AH] = io.read(base + LSR, 1); r8[AL] = io.read(base + MSR, 1); };
    switch (r8[AH]) {
      case 0x00: { // initialise: AL = [7:5] baud | [4:3] parity | [2] stop bits | [1:0] word length
        const al = r8[AL], div = BAUD_DIVISORS[al >> 5];
        io.write(base + LCR, 1, 0x80);
        io.write(base + DLL, 1, div & 0xff); io.write(base + DLM, 1, div >> 8);
        io.write(base + LCR, 1, al & 0x1f);
        io.write(base + IER, 1, 0);
        status();
        return;
      }
      case 0x01: { // send AL: wait for the transmitter holding register
        io.write(base + MCR, 1, io.read(base + MCR, 1) | MCR_DTR_RTS);
        const lsr = io.read(base + LSR, 1);
        if ((lsr & LSR_THRE) === 0) {
          if (this.pollAgain(b.mem.read8(COM_TIMEOUT + unit))) return;
          r8[AH] = lsr | 0x80; // timeout
          return;
        }
        this.deadline = null;
        io.write(base + THR, 1, r8[AL]);
        r8[AH] = io.read(base + LSR, 1);
        return;
      }
      case 0x02: { // receive into AL: AH = line status errors, [7] timeout
        io.write(base + MCR, 1, io.read(base + MCR, 1) | 0x01); // DTR
        const lsr = io.read(base + LSR, 1);
        if ((lsr & LSR_DR) === 0) {
          if (this.pollAgain(b.mem.read8(COM_TIMEOUT + unit))) return;
          r8[AH] = (lsr & 0x1e) | 0x80;
          return;
        }
        this.deadline = null;
        r8[AL] = io.read(base, 1);
        r8[AH] = lsr & 0x1e;
        return;
      }
      case 0x03: status(); return;
      default: return;
    }
  }

  /** INT 17h: DX = printer 0-2; AH returns the printer status. */
  int17(): void {
    const b = this.b, c = b.cpu, r8 = c.r8, io = b.io;
    const unit = c.r16[DX];
    sti(b);
    if (unit > 2) return;
    const base = b.mem.read16(BDA.LPT1 + 2 * unit);
    if (base === 0) return;
    const status = (): number => ((io.read(base + 1, 1) & 0xf8) ^ LPT_STATUS_INVERT);
    switch (r8[AH]) {
      case 0x00: { // print AL: data out, wait while busy, strobe
        io.write(base, 1, r8[AL]);
        if ((io.read(base + 1, 1) & LPT_NOT_BUSY) === 0) {
          if (this.pollAgain(b.mem.read8(LPT_TIMEOUT + unit))) return;
          r8[AH] = status() | LPT_TIMEOUT_BIT;
          return;
        }
        this.deadline = null;
        io.write(base + 2, 1, 0x0d); // STROBE | /INIT | SLCT IN
        io.write(base + 2, 1, 0x0c);
        r8[AH] = status();
        return;
      }
      case 0x01: // initialise: /INIT low, then high with SLCT IN
        io.write(base + 2, 1, 0x08);
        io.write(base + 2, 1, 0x0c);
        r8[AH] = status();
        return;
      case 0x02: r8[AH] = status(); return;
      default: return;
    }
  }
}
