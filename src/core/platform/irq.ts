// Interrupt request lines from devices to the interrupt controllers. A device holds an IrqLine
// and sets its level; the router forwards the level to the 8259 pair (and, when present, the
// I/O APIC). Edge/level semantics are the controller's business.

export interface IrqSink {
  /** Sets ISA IRQ `irq` (0-15; 16-23 for I/O APIC-only lines) to `level`. */
  setIrq(irq: number, level: boolean): void;
}

export class IrqLine {
  private level = false;
  constructor(private readonly sink: IrqSink, readonly irq: number) {}
  set(level: boolean): void {
    if (level === this.level) return;
    this.level = level;
    this.sink.setIrq(this.irq, level);
  }
  raise(): void { this.set(true); }
  lower(): void { this.set(false); }
  /** A pulse: raise then lower (edge-triggered sources such as the PIT output). */
  pulse(): void { this.set(true); this.set(false); }
  get high(): boolean { return this.level; }
}

/** Fans one IRQ level out to several controllers (PIC and I/O APIC). */
export class IrqRouter implements IrqSink {
  private readonly sinks: IrqSink[] = [];
  add(s: IrqSink): void { this.sinks.push(s); }
  setIrq(irq: number, level: boolean): void { for (const s of this.sinks) s.setIrq(irq, level); }
  line(irq: number): IrqLine { return new IrqLine(this, irq); }
}
