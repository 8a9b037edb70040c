// The APIC bus (the system bus on Pentium 4 and later, a 3-wire bus on P6): how interrupt
// messages from the I/O APIC and IPIs from a local APIC's ICR reach local APICs (SDM Vol. 3A
// §10.6.2 "Determining IPI Destination", §10.6.2.4 lowest priority, §10.8.5 EOI broadcast).
// Delivery is instantaneous: a message is accepted (or refused) during the write that sent it,
// so delivery-status bits always read idle.

/** Delivery modes: ICR[10:8], LVT[10:8], I/O APIC redirection entry [10:8] (SDM Vol. 3A §10.6.1,
 *  82093AA datasheet §3.2.4). */
export enum DeliveryMode { Fixed = 0, LowestPriority = 1, Smi = 2, Nmi = 4, Init = 5, Startup = 6, ExtInt = 7 }

/** ICR destination shorthand, bits 19:18 (SDM Vol. 3A Figure 10-12). */
export enum Shorthand { None = 0, Self = 1, AllIncludingSelf = 2, AllExcludingSelf = 3 }

/** What the bus needs from a local APIC. */
export interface ApicBusTarget {
  /** APIC ID (xAPIC: 8 bits). */
  readonly id: number;
  /** Matches `dest` in logical destination mode (LDR/DFR, SDM §10.6.2.2). */
  matchesLogical(dest: number): boolean;
  /** Arbitration priority (APR) for lowest-priority delivery. */
  arbitrationPriority(): number;
  /** Focus processor check: `vector` already in IRR or ISR, focus checking on (SDM §10.6.2.4). */
  isFocus(vector: number): boolean;
  /** Accepts one message; returns false when it is refused (APIC disabled, illegal vector). */
  accept(mode: DeliveryMode, vector: number, level: boolean, levelTriggered: boolean): boolean;
}

/** Receives EOI broadcasts for level-triggered vectors (the I/O APIC). */
export interface EoiListener { eoi(vector: number): void }

export class ApicBus {
  readonly targets: ApicBusTarget[] = [];
  readonly eoiListeners: EoiListener[] = [];
  /** Messages sent and accepted, for statistics. */
  sent = 0;
  accepted = 0;

  add(t: ApicBusTarget): void { this.targets.push(t); }

  /**
   * Sends one message. `src` is the sending local APIC for IPIs (shorthands need it), null for the
   * I/O APIC. Returns how many local APICs accepted it.
   */
  send(src: ApicBusTarget | null, shorthand: Shorthand, dest: number, logical: boolean,
    mode: DeliveryMode, vector: number, level: boolean, levelTriggered: boolean): number {
    this.sent++;
    const ts = this.targets;
    let n = 0;
    if (mode === DeliveryMode.LowestPriority && shorthand !== Shorthand.Self) {
      // One processor of the destination set takes it (with "all" shorthands too).
      return this.lowestPriority(src, shorthand, dest, logical, vector, level, levelTriggered);
    }
    if (shorthand !== Shorthand.None) {
      for (let i = 0; i < ts.length; i++) {
        const t = ts[i];
        const self = t === src;
        if (shorthand === Shorthand.Self ? !self : shorthand === Shorthand.AllExcludingSelf && self) continue;
        if (t.accept(mode === DeliveryMode.LowestPriority ? DeliveryMode.Fixed : mode, vector, level, levelTriggered)) n++;
      }
    } else {
      for (let i = 0; i < ts.length; i++) {
        const t = ts[i];
        if (matches(t, dest, logical) && t.accept(mode, vector, level, levelTriggered)) n++;
      }
    }
    this.accepted += n;
    return n;
  }

  /** Lowest-priority delivery: the focus processor if any, else the lowest arbitration priority;
   *  ties go to the lowest APIC ID (a fixed rule instead of the hardware's rotating arbitration
   *  ID, so runs stay deterministic). */
  private lowestPriority(src: ApicBusTarget | null, shorthand: Shorthand, dest: number, logical: boolean,
    vector: number, level: boolean, levelTriggered: boolean): number {
    let best: ApicBusTarget | null = null, bestApr = 256;
    for (const t of this.targets) {
      if (shorthand === Shorthand.AllExcludingSelf && t === src) continue;
      if (shorthand === Shorthand.None && !matches(t, dest, logical)) continue;
      if (t.isFocus(vector)) { best = t; break; }
      const apr = t.arbitrationPriority();
      if (apr < bestApr || (apr === bestApr && best !== null && t.id < best.id)) { best = t; bestApr = apr; }
    }
    if (best === null || !best.accept(DeliveryMode.Fixed, vector, level, levelTriggered)) return 0;
    this.accepted++;
    return 1;
  }

  /** A local APIC's EOI for a level-triggered vector reaches the I/O APICs (SDM §10.8.5). */
  broadcastEoi(vector: number): void {
    for (const l of this.eoiListeners) l.eoi(vector);
  }
}

/** Physical destination: the APIC ID, or FFh for all (SDM §10.6.2.1); logical: LDR/DFR. */
function matches(t: ApicBusTarget, dest: number, logical: boolean): boolean {
  if (logical) return t.matchesLogical(dest);
  return dest === 0xff || dest === t.id;
}
