// A National Semiconductor PC16550D-compatible UART ("16550A"), one instance per serial port.
// The PC wires COM1 at 0x3F8 / IRQ4 and COM2 at 0x2F8 / IRQ3; the machine calls
// `registerPorts(io, base)`.
//
// Source: NS PC16550D datasheet (Universal Asynchronous Receiver/Transmitter with FIFOs),
// register summary table and "Interrupt Control Functions" table; PC wiring (OUT2 gates the
// interrupt line) from the IBM PC AT Technical Reference, Serial/Parallel Adapter.
//
// Registers (offset from base; DLAB = LCR[7]):
//   0  read RBR (receiver buffer) / write THR (transmitter holding); DLAB=1: DLL divisor low
//   1  IER: [3] modem status | [2] receiver line status | [1] THR empty | [0] received data;
//      [7:4] read as 0.  DLAB=1: DLM divisor high
//   2  read IIR: [7:6] 11 when FIFOs enabled | [5:4] 0 | [3:1] interrupt id | [0] 1 = none pending
//         ids: 011 line status (prio 1) | 010 RX data (2) | 110 char timeout (2) | 001 THRE (3)
//              | 000 modem status (4)
//      write FCR: [7:6] RX trigger 1/4/8/14 | [3] DMA mode | [2] clear TX FIFO | [1] clear RX
//              FIFO | [0] FIFO enable (changing it clears both FIFOs; bits 1-7 need bit 0 = 1)
//   3  LCR: [7] DLAB | [6] break | [5] stick parity | [4] even parity | [3] parity enable |
//           [2] stop bits (0 = 1, 1 = 1.5 for 5-bit words else 2) | [1:0] word length 5..8
//   4  MCR: [4] loopback | [3] OUT2 (IRQ enable on PCs) | [2] OUT1 | [1] RTS | [0] DTR
//   5  LSR: [7] error in RX FIFO | [6] TEMT | [5] THRE | [4] BI | [3] FE | [2] PE | [1] OE | [0] DR
//   6  MSR: [7] DCD | [6] RI | [5] DSR | [4] CTS | [3] ΔDCD | [2] trailing edge RI | [1] ΔDSR
//           | [0] ΔCTS.  In loopback: CTS=RTS, DSR=DTR, RI=OUT1, DCD=OUT2.
//   7  SCR scratch
//
// Timing runs on virtual time: the baud clock is 1.8432 MHz / 16 / divisor, so a character of
// (start + data + parity + stop) bits takes bits * 16 * divisor / 1.8432 MHz. One Timer shifts
// the byte in the transmit shift register out; THR->TSR transfer is immediate when the TSR is
// idle (so a single byte leaves THRE set, a second one waits a character time). Host input
// (`receive`) enters the RX FIFO one character time apart. Host input is paced by the remote
// end as if it honoured flow control: while the RX FIFO is full the remaining host bytes wait
// (no data is lost); overrun (LSR.OE) happens only for loopback data.
//
// Not modelled: parity/framing/break errors on received data (no error source exists), DMA
// signalling (FCR[3] is stored), the datasheet's one-character delay of the first THRE
// interrupt in FIFO mode. In loopback the transmitted byte goes to the receiver and not to
// `onTransmit`, and the interrupt output is off (the OUT2 pin is forced inactive, so a PC's
// IRQ gate is closed). The power-up divisor is undefined on hardware; this model starts at 1
// (115200 baud) so guests that never program it still print at a sane rate; divisor 0 acts as 1.
import type { PortDevice, IoBus } from '../io-bus';
import type { IrqLine } from '../irq';
import { Timer, type VirtualClock } from '../clock';

/** UART input clock (Hz), divided by 16 * divisor for the baud rate. */
export const UART_CLOCK_HZ = 1_843_200;
const FIFO_SIZE = 16;
const TRIGGER = [1, 4, 8, 14];

// LSR bits
const LSR_DR = 0x01, LSR_OE = 0x02, LSR_THRE = 0x20, LSR_TEMT = 0x40;
const LSR_ERRORS = 0x1e;
// MCR bits
const MCR_DTR = 0x01, MCR_RTS = 0x02, MCR_OUT1 = 0x04, MCR_OUT2 = 0x08, MCR_LOOP = 0x10;
// MSR line bits
const MSR_CTS = 0x10, MSR_DSR = 0x20, MSR_RI = 0x40, MSR_DCD = 0x80;

/** A fixed-capacity byte ring (the 16-byte FIFOs; capacity 1 in 16450 mode). */
class ByteFifo {
  private readonly buf = new Uint8Array(FIFO_SIZE);
  private head = 0;
  count = 0;
  cap = 1;
  get full(): boolean { return this.count >= this.cap; }
  push(b: number): void { this.buf[(this.head + this.count) % FIFO_SIZE] = b; this.count++; }
  shift(): number { const b = this.buf[this.head]; this.head = (this.head + 1) % FIFO_SIZE; this.count--; return b; }
  /** Replaces the newest byte (16450-mode overrun overwrites the holding register). */
  replaceLast(b: number): void { this.buf[(this.head + this.count - 1) % FIFO_SIZE] = b; }
  clear(): void { this.head = 0; this.count = 0; }
  toArray(): number[] { const a: number[] = []; for (let i = 0; i < this.count; i++) a.push(this.buf[(this.head + i) % FIFO_SIZE]); return a; }
}

export interface UartModemInputs { cts?: boolean; dsr?: boolean; ri?: boolean; dcd?: boolean }

export class Uart16550 implements PortDevice {
  /** Called with every byte that finishes leaving the transmitter (not in loopback). */
  onTransmit: ((byte: number) => void) | null = null;

  private ier = 0; private lcr = 0; private mcr = 0; private scr = 0;
  private divisor = 1;
  private fifoEnabled = false; private trigger = 1; private dmaMode = false;
  private lsrErrors = 0;
  /** Modem input lines from the outside world (MSR[7:4] layout). */
  private externalLines = MSR_CTS | MSR_DSR | MSR_DCD;
  /** Lines as currently seen by the MSR (external or, in loopback, from MCR). */
  private lines = 0;
  private msrDelta = 0;
  private threPending = false;
  private timeoutPending = false;
  private lastRbr = 0;
  private readonly rx = new ByteFifo();
  private readonly tx = new ByteFifo();
  private tsrBusy = false; private tsrByte = 0; private txEndNs = 0;
  /** Host bytes waiting to enter the RX FIFO. */
  private hostQueue: number[] = [];
  private hostHead = 0;
  private rxEndNs = 0;
  private readonly txTimer: Timer;
  private readonly rxTimer: Timer;
  private readonly timeoutTimer: Timer;

  constructor(private readonly clock: VirtualClock, private readonly irq: IrqLine | null, readonly name = 'COM1 16550A') {
    this.txTimer = new Timer(`${name} transmit`, () => this.txDone());
    this.rxTimer = new Timer(`${name} receive`, () => this.rxArrive());
    this.timeoutTimer = new Timer(`${name} RX timeout`, () => this.rxTimeout());
    this.reset();
  }

  registerPorts(io: IoBus, base: number): void { io.register(base, 8, this.name, this); }

  /** Master reset (datasheet MR pin): registers as after power-up, FIFOs and host queue emptied. */
  reset(): void {
    this.ier = 0; this.lcr = 0; this.mcr = 0; this.scr = 0; this.divisor = 1;
    this.fifoEnabled = false; this.trigger = 1; this.dmaMode = false;
    this.rx.cap = 1; this.tx.cap = 1; this.rx.clear(); this.tx.clear();
    this.lsrErrors = 0; this.threPending = false; this.timeoutPending = false; this.lastRbr = 0;
    this.tsrBusy = false; this.tsrByte = 0;
    this.hostQueue = []; this.hostHead = 0;
    this.clock.disarm(this.txTimer); this.clock.disarm(this.rxTimer); this.clock.disarm(this.timeoutTimer);
    this.lines = this.externalLines; this.msrDelta = 0;
    this.update();
  }

  // ---- host side ----

  /** Queues host bytes (a string is taken as Latin-1) to arrive on the receive line. */
  receive(bytes: ArrayLike<number> | string): void {
    if (typeof bytes === 'string') for (let i = 0; i < bytes.length; i++) this.hostQueue.push(bytes.charCodeAt(i) & 0xff);
    else for (let i = 0; i < bytes.length; i++) this.hostQueue.push(bytes[i] & 0xff);
    this.kickReceive();
  }

  /** Sets modem input lines driven by the remote side (defaults: CTS, DSR, DCD asserted). */
  setModemInputs(inputs: UartModemInputs): void {
    let l = this.externalLines;
    const put = (bit: number, v: boolean | undefined): void => { if (v !== undefined) l = v ? l | bit : l & ~bit; };
    put(MSR_CTS, inputs.cts); put(MSR_DSR, inputs.dsr); put(MSR_RI, inputs.ri); put(MSR_DCD, inputs.dcd);
    this.externalLines = l;
    this.refreshLines();
    this.update();
  }

  /** Nanoseconds one character takes at the current divisor and line format. */
  charTimeNs(): number {
    const word = 5 + (this.lcr & 3);
    const stop = (this.lcr & 4) === 0 ? 1 : word === 5 ? 1.5 : 2;
    const bits = 1 + word + ((this.lcr & 8) !== 0 ? 1 : 0) + stop;
    return (bits * 16 * (this.divisor === 0 ? 1 : this.divisor) * 1e9) / UART_CLOCK_HZ;
  }

  // ---- port interface ----

  ioRead(offset: number, size: number): number {
    if (size === 1) return this.readReg(offset & 7);
    let v = 0;
    for (let i = 0; i < size; i++) v |= (offset + i < 8 ? this.readReg(offset + i) : 0xff) << (8 * i);
    return v >>> 0;
  }

  ioWrite(offset: number, size: number, value: number): void {
    if (size === 1) { this.writeReg(offset & 7, value & 0xff); return; }
    for (let i = 0; i < size && offset + i < 8; i++) this.writeReg(offset + i, (value >>> (8 * i)) & 0xff);
  }

  private readReg(r: number): number {
    const dlab = (this.lcr & 0x80) !== 0;
    switch (r) {
      case 0: return dlab ? this.divisor & 0xff : this.readRbr();
      case 1: return dlab ? this.divisor >>> 8 : this.ier;
      case 2: return this.readIir();
      case 3: return this.lcr;
      case 4: return this.mcr;
      case 5: return this.readLsr();
      case 6: { const v = this.lines | this.msrDelta; this.msrDelta = 0; this.update(); return v; }
      default: return this.scr;
    }
  }

  private writeReg(r: number, v: number): void {
    const dlab = (this.lcr & 0x80) !== 0;
    switch (r) {
      case 0: if (dlab) this.divisor = (this.divisor & 0xff00) | v; else this.writeThr(v); return;
      case 1:
        if (dlab) { this.divisor = (this.divisor & 0xff) | (v << 8); return; }
        // Enabling the THRE interrupt while THR is empty raises it at once (16550 behaviour;
        // Linux's 8250 driver checks this in serial8250_do_startup).
        if ((v & 2) !== 0 && (this.ier & 2) === 0 && this.tx.count === 0) this.threPending = true;
        this.ier = v & 0x0f; this.update(); return;
      case 2: this.writeFcr(v); return;
      case 3: this.lcr = v; return;
      case 4: {
        const wasLoop = (this.mcr & MCR_LOOP) !== 0;
        this.mcr = v & 0x1f;
        this.refreshLines();
        if (wasLoop && (this.mcr & MCR_LOOP) === 0) this.kickReceive();
        this.update(); return;
      }
      case 5: case 6: return; // LSR/MSR writes: factory test only, ignored
      default: this.scr = v;
    }
  }

  private readRbr(): number {
    if (this.rx.count > 0) {
      this.lastRbr = this.rx.shift();
      this.timeoutPending = false;
      this.restartTimeout();
      this.kickReceive();
      this.update();
    }
    return this.lastRbr;
  }

  private readIir(): number {
    const id = this.pendingId();
    if (id === 0x02) { this.threPending = false; this.update(); } // IIR read clears THRE source
    return id | (this.fifoEnabled ? 0xc0 : 0);
  }

  private readLsr(): number {
    let v = this.lsrErrors;
    if (this.rx.count > 0) v |= LSR_DR;
    if (this.tx.count === 0) { v |= LSR_THRE; if (!this.tsrBusy) v |= LSR_TEMT; }
    if (this.lsrErrors !== 0) { this.lsrErrors = 0; this.update(); }
    return v;
  }

  private writeThr(v: number): void {
    if (this.tx.full) { if (!this.fifoEnabled) this.tx.replaceLast(v); } // FIFO full: byte lost
    else this.tx.push(v);
    this.threPending = false;
    if (!this.tsrBusy) this.startTransmit(this.clock.nowNs());
    this.update();
  }

  private writeFcr(v: number): void {
    const en = (v & 1) !== 0;
    if (en !== this.fifoEnabled) {
      this.fifoEnabled = en;
      this.rx.clear(); this.clearTx();
      this.rx.cap = this.tx.cap = en ? FIFO_SIZE : 1;
      this.timeoutPending = false; this.clock.disarm(this.timeoutTimer);
      this.kickReceive();
    }
    if (en) {
      if ((v & 2) !== 0) { this.rx.clear(); this.timeoutPending = false; this.clock.disarm(this.timeoutTimer); this.kickReceive(); }
      if ((v & 4) !== 0) this.clearTx();
      this.trigger = TRIGGER[v >>> 6];
      this.dmaMode = (v & 8) !== 0;
    }
    this.update();
  }

  private clearTx(): void {
    if (this.tx.count > 0) { this.tx.clear(); this.threPending = true; }
  }

  // ---- transmitter ----

  /** Moves the next byte into the shift register at virtual time `atNs`. */
  private startTransmit(atNs: number): void {
    this.tsrByte = this.tx.shift();
    this.tsrBusy = true;
    if (this.tx.count === 0) this.threPending = true; // THR (FIFO) became empty
    this.txEndNs = atNs + this.charTimeNs();
    this.clock.arm(this.txTimer, this.txEndNs);
  }

  private txDone(): void {
    this.tsrBusy = false;
    const b = this.tsrByte & (0xff >>> (3 - (this.lcr & 3)));
    if ((this.mcr & MCR_LOOP) !== 0) this.rxEnter(b);
    else if (this.onTransmit !== null) this.onTransmit(b);
    if (this.tx.count > 0) this.startTransmit(this.txEndNs); // back to back, no drift from slicing
    this.update();
  }

  // ---- receiver ----

  /** Starts the next host byte on the line unless one is under way or the receiver cannot take it. */
  private kickReceive(fromNs = this.clock.nowNs()): void {
    if (this.hostHead < this.hostQueue.length && this.rxTimer.deadline < 0 && (this.mcr & MCR_LOOP) === 0 && !this.rx.full) {
      this.rxEndNs = fromNs + this.charTimeNs();
      this.clock.arm(this.rxTimer, this.rxEndNs);
    }
  }

  private rxArrive(): void {
    if ((this.mcr & MCR_LOOP) !== 0 || this.rx.full || this.hostHead >= this.hostQueue.length) return; // resumed by kickReceive
    const b = this.hostQueue[this.hostHead++];
    if (this.hostHead === this.hostQueue.length) { this.hostQueue = []; this.hostHead = 0; }
    this.rxEnter(b & (0xff >>> (3 - (this.lcr & 3))));
    this.kickReceive(this.rxEndNs);
    this.update();
  }

  private rxEnter(b: number): void {
    if (this.rx.full) {
      this.lsrErrors |= LSR_OE;
      if (!this.fifoEnabled) this.rx.replaceLast(b); // 16450 mode: RBR overwritten; FIFO mode: byte lost
    } else this.rx.push(b);
    this.timeoutPending = false;
    this.restartTimeout();
  }

  /** Character timeout: FIFO mode, data waiting, nothing received or read for 4 characters. */
  private restartTimeout(): void {
    if (this.fifoEnabled && this.rx.count > 0) this.clock.arm(this.timeoutTimer, this.clock.nowNs() + 4 * this.charTimeNs());
    else this.clock.disarm(this.timeoutTimer);
  }

  private rxTimeout(): void {
    if (this.fifoEnabled && this.rx.count > 0) { this.timeoutPending = true; this.update(); }
  }

  // ---- modem lines and interrupts ----

  private refreshLines(): void {
    let l = this.externalLines;
    if ((this.mcr & MCR_LOOP) !== 0) {
      l = ((this.mcr & MCR_RTS) !== 0 ? MSR_CTS : 0) | ((this.mcr & MCR_DTR) !== 0 ? MSR_DSR : 0)
        | ((this.mcr & MCR_OUT1) !== 0 ? MSR_RI : 0) | ((this.mcr & MCR_OUT2) !== 0 ? MSR_DCD : 0);
    }
    const changed = l ^ this.lines;
    if ((changed & MSR_CTS) !== 0) this.msrDelta |= 0x01;
    if ((changed & MSR_DSR) !== 0) this.msrDelta |= 0x02;
    if ((changed & MSR_RI) !== 0 && (l & MSR_RI) === 0) this.msrDelta |= 0x04; // trailing edge only
    if ((changed & MSR_DCD) !== 0) this.msrDelta |= 0x08;
    this.lines = l;
  }

  /** IIR[3:0] of the highest-priority enabled pending interrupt, 0x01 when none. */
  private pendingId(): number {
    const ier = this.ier;
    if ((ier & 4) !== 0 && (this.lsrErrors & LSR_ERRORS) !== 0) return 0x06;
    if ((ier & 1) !== 0 && this.rx.count > 0) {
      if (!this.fifoEnabled || this.rx.count >= this.trigger) return 0x04;
      if (this.timeoutPending) return 0x0c;
    }
    if ((ier & 2) !== 0 && this.threPending) return 0x02;
    if ((ier & 8) !== 0 && this.msrDelta !== 0) return 0x00;
    return 0x01;
  }

  private update(): void {
    if (this.irq === null) return;
    this.irq.set(this.pendingId() !== 0x01 && (this.mcr & (MCR_OUT2 | MCR_LOOP)) === MCR_OUT2);
  }

  /** Readable register and buffer state for debugging. */
  state(): Record<string, unknown> {
    return {
      name: this.name, ier: this.ier, iir: this.pendingId() | (this.fifoEnabled ? 0xc0 : 0), lcr: this.lcr, mcr: this.mcr,
      lsr: this.lsrErrors | (this.rx.count > 0 ? LSR_DR : 0) | (this.tx.count === 0 ? LSR_THRE | (this.tsrBusy ? 0 : LSR_TEMT) : 0),
      msr: this.lines | this.msrDelta, scr: this.scr, divisor: this.divisor, baud: UART_CLOCK_HZ / 16 / (this.divisor || 1),
      fifoEnabled: this.fifoEnabled, rxTrigger: this.trigger, dmaMode: this.dmaMode,
      rxFifo: this.rx.toArray(), txFifo: this.tx.toArray(), transmitting: this.tsrBusy ? this.tsrByte : null,
      hostQueued: this.hostQueue.length - this.hostHead, threPending: this.threPending, timeoutPending: this.timeoutPending,
      irq: this.irq?.high ?? false,
    };
  }
}
