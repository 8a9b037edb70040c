// The PC/AT pair of 8259A programmable interrupt controllers (Intel 8259A datasheet, order
// 231468; IBM PC AT Technical Reference, "Interrupt Controllers"): the master at 0x20-0x21
// takes IRQ0-7, the slave at 0xA0-0xA1 takes IRQ8-15 and cascades into the master's IR2.
// Edge/level selection per IRQ is the PIIX ELCR pair at 0x4D0/0x4D1 (82371AB datasheet §4.1.9):
// IRQ0, 1, 2, 8 and 13 are always edge-triggered there.
//
// Port A (0x20/0xA0) writes:
//   ICW1  [4]=1  | [3] LTIM level-triggered | [2] ADI (8080 only) | [1] SNGL | [0] IC4 (ICW4 follows)
//   OCW2  [4:3]=00 | [7] R rotate | [6] SL specific | [5] EOI | [2:0] level
//   OCW3  [4:3]=01 | [6] ESMM | [5] SMM | [2] P poll | [1] RR read register | [0] RIS (1 ISR, 0 IRR)
// Port B (0x21/0xA1) writes: ICW2 (vector base [7:3]), ICW3 (master: slave bitmap; slave: its
// id), ICW4 ([4] SFNM | [3:2] buffered mode | [1] AEOI | [0] uPM) during initialisation, OCW1
// (interrupt mask) afterwards. Port A reads the IRR or ISR (OCW3) or the poll word; port B
// reads the IMR.
//
// Modelling notes. An edge-triggered request is latched in the IRR on the rising edge and stays
// there until acknowledged (the datasheet wants the input held until the first INTA; devices here
// may pulse their line, so the latch is kept). A level-triggered request follows its input, so a
// request that drops before INTA leaves nothing to acknowledge and the 8259 answers with the
// "default" IR7 vector without setting ISR7 (datasheet, "Interrupt Sequence", spurious IRQ7; on
// the slave the master still sets ISR2 and the slave answers its IR7 vector: spurious IRQ15).
import type { InterruptSource } from '../../cpu/cpu';
import type { IoBus, PortDevice } from '../io-bus';
import type { IrqSink } from '../irq';

/** Index of the highest-priority set bit of `mask` counted from `base` (0-7), or 8 when none. */
function priority(mask: number, base: number): number {
  if ((mask & 0xff) === 0) return 8;
  for (let p = 0; p < 8; p++) if ((mask & (1 << ((p + base) & 7))) !== 0) return p;
  return 8;
}

export interface Pic8259State {
  irr: number; isr: number; imr: number; elcr: number; inputs: number;
  vectorBase: number; initialised: boolean; autoEoi: boolean; levelTriggered: boolean;
  specialMask: boolean; specialFullyNested: boolean; lowestPriority: number; readIsr: boolean;
}

/** One 8259A. The pair drives its INT output; the chip only keeps registers and resolves. */
export class Pic8259 {
  irr = 0;
  isr = 0;
  imr = 0;
  /** Edge/level control register (PIIX ELCR): 1 = level-triggered. */
  elcr = 0;
  /** Current level of the eight IR inputs (edge detection). */
  inputs = 0;
  vectorBase = 0;
  /** ICW3 as written. */
  icw3 = 0;
  /** 0 = ready for OCWs; 2/3/4 = waiting for that ICW. */
  initStep = 0;
  private needIcw4 = false;
  private single = false;
  ltim = false;
  autoEoi = false;
  rotateOnAutoEoi = false;
  specialMask = false;
  specialFullyNested = false;
  /** The IR level with the highest priority (0 after ICW1; rotation moves it). */
  highest = 0;
  readIsr = false;
  pollPending = false;
  initialised = false;

  constructor(readonly isMaster: boolean, readonly elcrMask: number) {}

  reset(): void {
    this.irr = 0; this.isr = 0; this.imr = 0; this.elcr = 0; this.inputs = 0;
    this.vectorBase = 0; this.icw3 = 0; this.initStep = 0; this.needIcw4 = false; this.single = false;
    this.ltim = false; this.autoEoi = false; this.rotateOnAutoEoi = false; this.specialMask = false;
    this.specialFullyNested = false; this.highest = 0; this.readIsr = false; this.pollPending = false;
    this.initialised = false;
  }

  /** Level-triggered inputs: all with ICW1.LTIM, else those set in the ELCR. */
  levelMask(): number { return this.ltim ? 0xff : this.elcr; }

  setInput(n: number, level: boolean): boolean {
    const bit = 1 << n;
    const was = (this.inputs & bit) !== 0;
    if (level) this.inputs |= bit; else this.inputs &= ~bit;
    if ((this.levelMask() & bit) !== 0) {
      if (level) this.irr |= bit; else this.irr &= ~bit;
    } else if (level && !was) {
      this.irr |= bit;
    }
    return level && !was;
  }

  /** The IR level this chip would present on INTA, or -1 (INT output low). */
  resolve(): number {
    const pending = this.irr & ~this.imr & 0xff;
    if (pending === 0) return -1;
    if (this.specialMask) {
      // Special mask mode: every unmasked level not in service may interrupt (datasheet, OCW3 ESMM/SMM).
      const p = priority(pending & ~this.isr, this.highest);
      return p === 8 ? -1 : (p + this.highest) & 7;
    }
    const p = priority(pending, this.highest);
    const cur = priority(this.isr, this.highest);
    const irq = (p + this.highest) & 7;
    if (p < cur) return irq;
    // Special fully nested mode: the master lets a new slave request through while IR2 is in service.
    if (this.specialFullyNested && this.isMaster && p === cur && irq === 2) return irq;
    return -1;
  }

  /** INTA for level `irq`: moves the request into service (or rotates in automatic EOI mode). */
  ack(irq: number): void {
    const bit = 1 << irq;
    if ((this.levelMask() & bit) === 0) this.irr &= ~bit;
    if (this.autoEoi) {
      if (this.rotateOnAutoEoi) this.highest = (irq + 1) & 7;
    } else {
      this.isr |= bit;
    }
  }

  private eoi(irq: number, rotate: boolean): void {
    this.isr &= ~(1 << irq);
    if (rotate) this.highest = (irq + 1) & 7;
  }

  private nonSpecificEoi(rotate: boolean): void {
    const p = priority(this.isr, this.highest);
    if (p !== 8) this.eoi((p + this.highest) & 7, rotate);
  }

  writeA(v: number): void {
    if ((v & 0x10) !== 0) {
      // ICW1: the edge-sense circuit is reset (a line already high must go low and high again),
      // IMR cleared, IR7 lowest priority, special mask mode off, status read set to IRR;
      // without IC4 all ICW4 functions are zero.
      this.ltim = (v & 0x08) !== 0;
      this.single = (v & 0x02) !== 0;
      this.needIcw4 = (v & 0x01) !== 0;
      this.imr = 0; this.isr = 0; this.highest = 0; this.specialMask = false; this.readIsr = false;
      this.pollPending = false;
      this.irr = this.inputs & this.levelMask();
      if (!this.needIcw4) { this.autoEoi = false; this.specialFullyNested = false; }
      this.rotateOnAutoEoi = false;
      this.initStep = 2;
      return;
    }
    if ((v & 0x08) === 0) {
      // OCW2
      const level = v & 7;
      switch (v >> 5) {
        case 0: this.rotateOnAutoEoi = false; break; // rotate in automatic EOI mode (clear)
        case 1: this.nonSpecificEoi(false); break; // non-specific EOI
        case 2: break; // no operation
        case 3: this.eoi(level, false); break; // specific EOI
        case 4: this.rotateOnAutoEoi = true; break; // rotate in automatic EOI mode (set)
        case 5: this.nonSpecificEoi(true); break; // rotate on non-specific EOI
        case 6: this.highest = (level + 1) & 7; break; // set priority: `level` becomes lowest
        case 7: this.eoi(level, true); break; // rotate on specific EOI
      }
      return;
    }
    // OCW3
    if ((v & 0x40) !== 0) this.specialMask = (v & 0x20) !== 0;
    if ((v & 0x04) !== 0) this.pollPending = true;
    if ((v & 0x02) !== 0) this.readIsr = (v & 0x01) !== 0;
  }

  writeB(v: number): void {
    switch (this.initStep) {
      case 2:
        this.vectorBase = v & 0xf8;
        this.initStep = this.single ? (this.needIcw4 ? 4 : 0) : 3;
        break;
      case 3:
        this.icw3 = v;
        this.initStep = this.needIcw4 ? 4 : 0;
        break;
      case 4:
        this.autoEoi = (v & 0x02) !== 0;
        this.specialFullyNested = (v & 0x10) !== 0;
        this.initStep = 0;
        break;
      default:
        this.imr = v & 0xff;
        return;
    }
    if (this.initStep === 0) this.initialised = true;
  }

  /** Port A read: the poll word after an OCW3 poll command, else IRR or ISR. */
  readA(): number {
    if (this.pollPending) {
      this.pollPending = false;
      const irq = this.resolve();
      if (irq < 0) return 0;
      this.ack(irq);
      return 0x80 | irq;
    }
    return this.readIsr ? this.isr : this.irr;
  }

  state(): Pic8259State {
    return {
      irr: this.irr, isr: this.isr, imr: this.imr, elcr: this.elcr, inputs: this.inputs,
      vectorBase: this.vectorBase, initialised: this.initialised, autoEoi: this.autoEoi,
      levelTriggered: this.ltim, specialMask: this.specialMask,
      specialFullyNested: this.specialFullyNested, lowestPriority: (this.highest + 7) & 7,
      readIsr: this.readIsr,
    };
  }
}

/** Per-IRQ counters for the profiler. */
export interface PicStats {
  /** Rising edges seen on each IRQ input 0-15. */
  raised: number[];
  /** Interrupts acknowledged (vector delivered) per IRQ 0-15. */
  acknowledged: number[];
  spurious7: number;
  spurious15: number;
}

const CASCADE = 2;

export class Pic8259Pair implements IrqSink, InterruptSource {
  readonly master = new Pic8259(true, 0xf8); // ELCR bits for IRQ0-2 read as 0 (PIIX)
  readonly slave = new Pic8259(false, 0xde); // IRQ8 and IRQ13 always edge
  /** Per-IRQ counters (plain typed arrays, no allocation on the hot path). */
  readonly raisedCount = new Uint32Array(16);
  readonly ackCount = new Uint32Array(16);
  spurious7 = 0;
  spurious15 = 0;
  private out = false;

  /** `onOutput` sees every change of the master's INT output (wire the rising edge to `cpu.notifyInterrupt()`). */
  constructor(private readonly onOutput: (level: boolean) => void) {}

  reset(): void {
    this.master.reset();
    this.slave.reset();
    this.raisedCount.fill(0);
    this.ackCount.fill(0);
    this.spurious7 = 0;
    this.spurious15 = 0;
    this.update();
  }

  registerPorts(io: IoBus): void {
    io.register(0x20, 2, 'PIC master (8259A)', this.chipPorts(this.master));
    io.register(0xa0, 2, 'PIC slave (8259A)', this.chipPorts(this.slave));
    const elcr: PortDevice = {
      ioRead: (offset, size) => {
        let v = 0;
        for (let i = 0; i < size; i++) v |= this.readElcr(offset + i) << (8 * i);
        return v;
      },
      ioWrite: (offset, size, value) => {
        for (let i = 0; i < size; i++) this.writeElcr(offset + i, (value >>> (8 * i)) & 0xff);
      },
    };
    io.register(0x4d0, 2, 'PIC ELCR (PIIX edge/level)', elcr);
  }

  private chipPorts(chip: Pic8259): PortDevice {
    return {
      ioRead: (offset) => {
        if ((offset & 1) === 0) {
          const v = chip.readA();
          this.update(); // a poll acknowledges
          return v;
        }
        return chip.imr;
      },
      ioWrite: (offset, _size, value) => {
        if ((offset & 1) === 0) chip.writeA(value & 0xff); else chip.writeB(value & 0xff);
        this.update();
      },
    };
  }

  private readElcr(offset: number): number {
    return offset === 0 ? this.master.elcr : offset === 1 ? this.slave.elcr : 0xff;
  }

  private writeElcr(offset: number, v: number): void {
    const chip = offset === 0 ? this.master : offset === 1 ? this.slave : null;
    if (chip === null) return;
    chip.elcr = v & chip.elcrMask;
    // Level inputs now follow their line; edge inputs keep what is latched.
    chip.irr |= chip.inputs & chip.levelMask();
    this.update();
  }

  /** Sets the level of ISA IRQ `irq`; 2 is the cascade input and lines above 15 are not wired here. */
  setIrq(irq: number, level: boolean): void {
    if (irq < 0 || irq > 15 || irq === CASCADE) return;
    const chip = irq < 8 ? this.master : this.slave;
    if (chip.setInput(irq & 7, level)) this.raisedCount[irq]++;
    this.update();
  }

  /** Recomputes the cascade input and the master's INT output. */
  private update(): void {
    this.master.setInput(CASCADE, this.slave.resolve() >= 0);
    const out = this.master.resolve() >= 0;
    if (out !== this.out) {
      this.out = out;
      this.onOutput(out);
    }
  }

  /** True while the master's INT output is high. */
  hasInterrupt(): boolean { return this.out; }

  /** The two INTA cycles: returns the vector and moves the request into service. */
  acknowledge(): number {
    const m = this.master;
    const irq = m.resolve();
    let vector: number;
    if (irq < 0) {
      this.spurious7++;
      vector = m.vectorBase | 7;
    } else {
      m.ack(irq);
      if (irq === CASCADE) {
        const s = this.slave;
        const sirq = s.resolve();
        if (sirq < 0) {
          this.spurious15++;
          vector = s.vectorBase | 7;
        } else {
          s.ack(sirq);
          this.ackCount[8 + sirq]++;
          vector = s.vectorBase + sirq;
        }
      } else {
        this.ackCount[irq]++;
        vector = m.vectorBase + irq;
      }
    }
    this.update();
    return vector;
  }

  /** A copy of the counters (allocates: for the profiler and debugging, not the hot path). */
  stats(): PicStats {
    return { raised: Array.from(this.raisedCount), acknowledged: Array.from(this.ackCount), spurious7: this.spurious7, spurious15: this.spurious15 };
  }

  state(): { master: Pic8259State; slave: Pic8259State; output: boolean } {
    return { master: this.master.state(), slave: this.slave.state(), output: this.out };
  }
}
