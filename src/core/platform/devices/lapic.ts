// The local APIC, xAPIC mode (SDM Vol. 3A ch. 10, "Advanced Programmable Interrupt Controller";
// ch. 11 in newer editions): one per CPU, memory-mapped at IA32_APIC_BASE (default FEE00000h).
// It is its CPU's interrupt source: fixed interrupts from the I/O APIC, IPIs and its own LVT
// sources go through IRR/ISR with TPR/PPR priorities; ExtINT (the 8259 through LINT0 in virtual-
// wire mode, or an ExtINT message) hands the CPU the 8259's vector as on real hardware; with
// IA32_APIC_BASE[11] clear the APIC is off and LINT0/LINT1 are the CPU's INTR/NMI pins.
//
// Modelled on a Pentium 4-class integrated APIC (version 14h, six LVT entries: timer, thermal,
// performance counters, LINT0, LINT1, error). The thermal and performance LVTs are registers
// only (nothing raises them). No x2APIC, no TSC-deadline timer, no EOI-broadcast suppression,
// no SMM (SMI messages are counted and dropped). The timer counts on virtual time.
//
// Register map (SDM Table 10-1), each register at a 16-byte aligned offset, 32 bits wide:
//   020 ID [31:24]         030 version (RO)      080 TPR [7:0]         090 APR (RO)
//   0A0 PPR (RO)           0B0 EOI (WO)          0C0 RRD (RO, 0)       0D0 LDR [31:24]
//   0E0 DFR [31:28]        0F0 SVR               100-170 ISR (RO)      180-1F0 TMR (RO)
//   200-270 IRR (RO)       280 ESR               300 ICR [31:0]        310 ICR [63:32]
//   320 LVT timer          330 LVT thermal       340 LVT perf          350 LVT LINT0
//   360 LVT LINT1          370 LVT error         380 timer initial     390 timer current (RO)
//   3E0 timer divide
import type { Cpu, CpuLocalApic, InterruptSource } from '../../cpu/cpu';
import { Timer, type VirtualClock } from '../clock';
import type { MmioDevice } from '../memory';
import { type ApicBus, type ApicBusTarget, DeliveryMode, Shorthand } from './apic-bus';

export const LAPIC_DEFAULT_BASE = 0xfee00000;
/** Frequency the timer's divider counts down from (the "bus clock"): 100 MHz of virtual time. */
export const LAPIC_TIMER_HZ = 100_000_000;
const NS_PER_COUNT = 1e9 / LAPIC_TIMER_HZ;

/** Register offsets (SDM Vol. 3A Table 10-1). */
export enum LapicReg {
  Id = 0x020, Version = 0x030, Tpr = 0x080, Apr = 0x090, Ppr = 0x0a0, Eoi = 0x0b0, Rrd = 0x0c0,
  Ldr = 0x0d0, Dfr = 0x0e0, Svr = 0x0f0, Isr = 0x100, Tmr = 0x180, Irr = 0x200, Esr = 0x280,
  IcrLow = 0x300, IcrHigh = 0x310, LvtTimer = 0x320, LvtThermal = 0x330, LvtPerf = 0x340,
  LvtLint0 = 0x350, LvtLint1 = 0x360, LvtError = 0x370, TimerInitial = 0x380, TimerCurrent = 0x390,
  TimerDivide = 0x3e0,
}

/** Version register: [7:0] version 14h (integrated APIC) | [23:16] max LVT entry (5: six entries). */
export const LAPIC_VERSION = 0x00050014;

/** LVT entries in register order (320h + 10h * index). */
export enum Lvt { Timer = 0, Thermal = 1, Perf = 2, Lint0 = 3, Lint1 = 4, Error = 5 }
const LVT_COUNT = 6;

/** LVT fields (SDM Figure 10-8). */
export enum LvtBit {
  DeliveryStatus = 1 << 12, Polarity = 1 << 13, RemoteIrr = 1 << 14, LevelTriggered = 1 << 15,
  Masked = 1 << 16, TimerPeriodic = 1 << 17,
}
/** Writable bits per LVT entry: vector, delivery mode, polarity, trigger, mask, timer mode. */
const LVT_WRITABLE = [
  0xff | LvtBit.Masked | LvtBit.TimerPeriodic, // timer: vector, mask, mode (bit 18, TSC-deadline, not offered)
  0x7ff | LvtBit.Masked, // thermal: vector, delivery mode
  0x7ff | LvtBit.Masked, // performance counters
  0x7ff | LvtBit.Polarity | LvtBit.LevelTriggered | LvtBit.Masked, // LINT0
  0x7ff | LvtBit.Polarity | LvtBit.LevelTriggered | LvtBit.Masked, // LINT1
  0xff | LvtBit.Masked, // error
];

/** SVR fields (SDM Figure 10-23): [7:0] spurious vector | [8] APIC software enable |
 *  [9] focus processor checking disabled. */
export enum SvrBit { SoftwareEnable = 1 << 8, FocusDisabled = 1 << 9 }

/** ICR low fields (SDM Figure 10-12): [7:0] vector | [10:8] delivery mode | [11] logical |
 *  [12] delivery status (RO) | [14] level assert | [15] level-triggered | [19:18] shorthand. */
export enum IcrBit { Logical = 1 << 11, DeliveryStatus = 1 << 12, Assert = 1 << 14, LevelTriggered = 1 << 15 }
const ICR_LOW_WRITABLE = 0x000ccfff;

/** ESR bits (SDM Figure 10-9). */
export enum EsrBit {
  SendChecksum = 1 << 0, ReceiveChecksum = 1 << 1, SendAccept = 1 << 2, ReceiveAccept = 1 << 3,
  RedirectableIpi = 1 << 4, SendIllegalVector = 1 << 5, ReceivedIllegalVector = 1 << 6, IllegalRegister = 1 << 7,
}

/** IA32_APIC_BASE fields (SDM Figure 10-5). */
export enum ApicBaseBit { Bsp = 1 << 8, GlobalEnable = 1 << 11 }

/** Timer divide configuration [3],[1:0] -> divisor (SDM Figure 10-10). */
const DIVISORS = [2, 4, 8, 16, 32, 64, 128, 1];

export interface LocalApicOptions {
  /** APIC ID (also the CPU's initial APIC ID). */
  id: number;
  /** IA32_APIC_BASE.BSP. */
  bsp: boolean;
  /** The 8259 pair on LINT0 (ExtINT acknowledge cycles go to it). */
  extInt: InterruptSource | null;
  /** INIT accepted (IPI or LINT): the platform resets the CPU (BSP) or parks it (AP). False
   *  when the CPU did not take it (blocked in VMX operation): the APIC keeps its state too. */
  onInit(apic: LocalApic): boolean;
  /** Something for this APIC's CPU happened (an interrupt became pending, a SIPI, ...). */
  onKick?(apic: LocalApic): void;
  /** IA32_APIC_BASE moved the register page. */
  onBaseChange?(apic: LocalApic): void;
}

function highestBit(words: Uint32Array): number {
  for (let w = 7; w >= 0; w--) {
    const x = words[w];
    if (x !== 0) return (w << 5) + 31 - Math.clz32(x);
  }
  return -1;
}

export class LocalApic implements InterruptSource, CpuLocalApic, ApicBusTarget, MmioDevice {
  id: number;
  readonly bsp: boolean;
  /** IA32_APIC_BASE[31:12] and [35:32] (the latter kept, not mapped). */
  base = LAPIC_DEFAULT_BASE;
  baseHigh = 0;
  hwEnabled = true;
  readonly irr = new Uint32Array(8);
  readonly isr = new Uint32Array(8);
  readonly tmr = new Uint32Array(8);
  tpr = 0;
  ldr = 0;
  dfr = 0xffffffff | 0;
  svr = 0xff;
  readonly lvt = new Uint32Array(LVT_COUNT);
  /** ESR as last latched by a write, and the errors seen since. */
  esr = 0;
  private esrPending = 0;
  icrLow = 0;
  icrHigh = 0;
  timerInitial = 0;
  timerDivide = 0;
  private divisor = 2;
  private timerRunning = false;
  private timerStartNs = 0;
  private readonly timer: Timer;
  /** An ExtINT message is waiting for its acknowledge cycle. */
  private extIntLatched = false;
  /** LINT0/LINT1 input levels. */
  private readonly lint = [false, false];
  /** Statistics. */
  timerFires = 0;
  smiDropped = 0;

  constructor(readonly cpu: Cpu, private readonly clock: VirtualClock, private readonly bus: ApicBus,
    private readonly opts: LocalApicOptions) {
    this.id = opts.id & 0xff;
    this.bsp = opts.bsp;
    this.timer = new Timer(`local APIC ${this.id} timer`, (now) => this.timerFired(now));
    this.resetState();
  }

  /** Power-up / RESET (SDM §10.4.7.1): also re-enables the APIC and resets IA32_APIC_BASE. */
  powerOnReset(): void {
    this.base = LAPIC_DEFAULT_BASE; this.baseHigh = 0; this.hwEnabled = true;
    this.resetState();
    this.opts.onBaseChange?.(this);
  }

  /** The register state after RESET or INIT; the APIC ID is kept (SDM §10.4.7.1, §10.4.7.3). */
  resetState(): void {
    this.irr.fill(0); this.isr.fill(0); this.tmr.fill(0);
    this.tpr = 0; this.ldr = 0; this.dfr = 0xffffffff | 0; this.svr = 0xff;
    this.lvt.fill(LvtBit.Masked);
    this.esr = 0; this.esrPending = 0; this.icrLow = 0; this.icrHigh = 0;
    this.timerInitial = 0; this.timerDivide = 0; this.divisor = 2;
    this.timerRunning = false; this.clock.disarm(this.timer);
    this.extIntLatched = false;
  }

  get softwareEnabled(): boolean { return (this.svr & SvrBit.SoftwareEnable) !== 0; }

  private kick(): void {
    this.cpu.notifyInterrupt();
    this.opts.onKick?.(this);
  }

  // ---- Priorities (SDM §10.8.3.1)

  /** Highest vector in service, or 0. */
  private isrv(): number { const v = highestBit(this.isr); return v < 0 ? 0 : v; }

  /** PPR: TPR when its class is at least that of the highest in-service vector, else that class. */
  ppr(): number {
    const isrv = this.isrv();
    return (this.tpr & 0xf0) >= (isrv & 0xf0) ? this.tpr : isrv & 0xf0;
  }

  /** APR (SDM §10.6.2.4, P6 arbitration priority): TPR, or the highest class of TPR, ISRV, IRRV. */
  arbitrationPriority(): number {
    const irrv = Math.max(0, highestBit(this.irr)) & 0xf0, isrv = this.isrv() & 0xf0, tpr = this.tpr & 0xf0;
    if (tpr >= irrv && tpr > isrv) return this.tpr;
    return Math.max(tpr, isrv, irrv);
  }

  /** The vector the CPU would get now (highest IRR above the PPR class), or -1. */
  private deliverable(): number {
    const v = highestBit(this.irr);
    if (v < 0) return -1;
    return (v & 0xf0) > (this.ppr() & 0xf0) ? v : -1;
  }

  private lint0ExtIntOpen(): boolean {
    return (this.lvt[Lvt.Lint0] & (LvtBit.Masked | 0x700)) === (DeliveryMode.ExtInt << 8);
  }

  // ---- InterruptSource: the CPU's INTR side (SDM §10.8.4, interrupt acceptance)

  hasInterrupt(): boolean {
    const x = this.opts.extInt;
    if (!this.hwEnabled) return x !== null && x.hasInterrupt(); // LINT0 is the INTR pin
    if (this.extIntLatched) return true;
    if (x !== null && this.lint0ExtIntOpen() && x.hasInterrupt()) return true;
    return this.deliverable() >= 0;
  }

  acknowledge(): number {
    const x = this.opts.extInt;
    if (!this.hwEnabled) return x !== null ? x.acknowledge() : 0xff;
    if (this.extIntLatched) { this.extIntLatched = false; return x !== null ? x.acknowledge() : this.svr & 0xff; }
    if (x !== null && this.lint0ExtIntOpen() && x.hasInterrupt()) return x.acknowledge();
    const v = this.deliverable();
    // Nothing above the PPR any more (TPR raised since the request): the spurious vector,
    // without an ISR bit (SDM §10.9).
    if (v < 0) return this.svr & 0xff;
    this.irr[v >>> 5] &= ~(1 << (v & 31));
    this.isr[v >>> 5] |= 1 << (v & 31);
    return v;
  }

  // ---- Accepting interrupts

  /** A fixed interrupt into IRR (TMR records the trigger mode). False if refused. */
  private acceptFixed(vector: number, levelTriggered: boolean): boolean {
    if (!this.softwareEnabled) return false; // a software-disabled APIC accepts no fixed interrupts (SDM §10.4.7.2)
    if (vector < 16) { this.error(EsrBit.ReceivedIllegalVector); return false; }
    const w = vector >>> 5, b = 1 << (vector & 31);
    this.irr[w] |= b;
    if (levelTriggered) this.tmr[w] |= b; else this.tmr[w] &= ~b;
    this.kick();
    return true;
  }

  accept(mode: DeliveryMode, vector: number, level: boolean, levelTriggered: boolean): boolean {
    if (!this.hwEnabled) return false;
    switch (mode) {
      case DeliveryMode.Fixed: case DeliveryMode.LowestPriority:
        return this.acceptFixed(vector, levelTriggered);
      case DeliveryMode.Nmi:
        this.cpu.nmiPending = true;
        this.kick();
        return true;
      case DeliveryMode.Init:
        // INIT level de-assert (level 0, level-triggered) only resynchronises arbitration IDs
        // on P6 (SDM §10.4.7.4).
        if (!level && levelTriggered) return true;
        if (this.opts.onInit(this)) this.resetState();
        this.kick();
        return true;
      case DeliveryMode.Startup:
        if (this.cpu.startup(vector)) this.kick();
        return true;
      case DeliveryMode.ExtInt:
        this.extIntLatched = true;
        this.kick();
        return true;
      case DeliveryMode.Smi:
        this.smiDropped++;
        return true;
      default:
        return false;
    }
  }

  /** A local source (LVT entry `which`) fires: delivered as its entry says (SDM §10.5.1). */
  private fireLvt(which: Lvt): void {
    const e = this.lvt[which];
    if ((e & LvtBit.Masked) !== 0) return;
    const mode = (which === Lvt.Timer || which === Lvt.Error ? DeliveryMode.Fixed : (e >>> 8) & 7) as DeliveryMode;
    const levelTrig = (which === Lvt.Lint0 || which === Lvt.Lint1) && mode === DeliveryMode.Fixed && (e & LvtBit.LevelTriggered) !== 0;
    if (mode === DeliveryMode.Fixed && (e & 0xff) < 16) { this.error(EsrBit.ReceivedIllegalVector); return; }
    if (mode === DeliveryMode.ExtInt) { this.kick(); return; } // read live by hasInterrupt
    if (this.accept(mode, e & 0xff, true, levelTrig) && levelTrig) this.lvt[which] |= LvtBit.RemoteIrr;
  }

  /** Logs an APIC error and raises the error LVT (SDM §10.5.3). */
  private error(bit: EsrBit): void {
    const fresh = (this.esrPending & bit) === 0;
    this.esrPending |= bit;
    if (fresh) this.fireLvt(Lvt.Error);
  }

  /** LINT0/LINT1 input level (LINT0: the 8259's INTR output). */
  setLint(pin: 0 | 1, level: boolean): void {
    const was = this.lint[pin];
    this.lint[pin] = level;
    if (!this.hwEnabled) {
      // The APIC is off: LINT0 is INTR, LINT1 is NMI (SDM §10.4.3).
      if (pin === 0) { if (level) this.kick(); } else if (level && !was) { this.cpu.nmiPending = true; this.kick(); }
      return;
    }
    const which = pin === 0 ? Lvt.Lint0 : Lvt.Lint1;
    const e = this.lvt[which];
    if ((e & LvtBit.Masked) !== 0) return;
    const mode = (e >>> 8) & 7;
    if (mode === DeliveryMode.ExtInt) { if (level) this.kick(); return; }
    if (mode === DeliveryMode.Fixed && (e & LvtBit.LevelTriggered) !== 0) {
      if (level && (e & LvtBit.RemoteIrr) === 0) this.fireLvt(which);
      return;
    }
    if (level && !was) this.fireLvt(which); // edge: NMI, INIT, fixed edge
  }

  // ---- EOI (SDM §10.8.5)

  private eoi(): void {
    const v = highestBit(this.isr);
    if (v < 0) return;
    const w = v >>> 5, b = 1 << (v & 31);
    this.isr[w] &= ~b;
    if ((this.tmr[w] & b) !== 0) { // TMR keeps the bit until the vector is accepted again
      this.bus.broadcastEoi(v);
      // A level-triggered LINT entry with this vector: clear its remote IRR, re-check the pin.
      for (const which of [Lvt.Lint0, Lvt.Lint1]) {
        const e = this.lvt[which];
        if ((e & LvtBit.RemoteIrr) !== 0 && (e & 0xff) === v) {
          this.lvt[which] = e & ~LvtBit.RemoteIrr;
          if (this.lint[which - Lvt.Lint0]) this.setLint((which - Lvt.Lint0) as 0 | 1, true);
        }
      }
    }
    this.kick();
  }

  // ---- ApicBusTarget

  matchesLogical(dest: number): boolean {
    const logicalId = this.ldr >>> 24;
    if ((this.dfr >>> 28) === 0xf) return (logicalId & dest) !== 0; // flat model
    // Cluster model: [7:4] cluster (Fh: all), [3:0] processors within it (SDM §10.6.2.2).
    if (dest === 0xff) return true;
    return (dest >>> 4) === (logicalId >>> 4) && (dest & logicalId & 0xf) !== 0;
  }

  isFocus(vector: number): boolean {
    if ((this.svr & SvrBit.FocusDisabled) !== 0) return false;
    const w = vector >>> 5, b = 1 << (vector & 31);
    return ((this.irr[w] | this.isr[w]) & b) !== 0;
  }

  // ---- IPIs (SDM §10.6.1)

  private sendIpi(): void {
    const lo = this.icrLow;
    const vector = lo & 0xff, mode = ((lo >>> 8) & 7) as DeliveryMode;
    const shorthand = ((lo >>> 18) & 3) as Shorthand;
    if ((mode === DeliveryMode.Fixed || mode === DeliveryMode.LowestPriority) && vector < 16) {
      this.error(EsrBit.SendIllegalVector);
      return;
    }
    // INIT and Startup cannot go to self alone (SDM Table 10-3 "valid combinations").
    if (shorthand === Shorthand.Self && (mode === DeliveryMode.Init || mode === DeliveryMode.Startup)) return;
    this.bus.send(this, shorthand, this.icrHigh >>> 24, (lo & IcrBit.Logical) !== 0, mode, vector,
      (lo & IcrBit.Assert) !== 0, (lo & IcrBit.LevelTriggered) !== 0);
  }

  // ---- Timer (SDM §10.5.4), on virtual time

  private countNs(): number { return this.divisor * NS_PER_COUNT; }

  private startTimer(nowNs: number): void {
    if (this.timerInitial === 0) { this.timerRunning = false; this.clock.disarm(this.timer); return; }
    this.timerRunning = true;
    this.timerStartNs = nowNs;
    this.clock.arm(this.timer, nowNs + this.timerInitial * this.countNs());
  }

  private timerFired(nowNs: number): void {
    this.timerFires++;
    this.fireLvt(Lvt.Timer);
    if ((this.lvt[Lvt.Timer] & LvtBit.TimerPeriodic) !== 0 && this.timerInitial !== 0) {
      const span = this.timerInitial * this.countNs();
      this.timerStartNs += span * Math.max(1, Math.floor((nowNs - this.timerStartNs) / span));
      this.clock.arm(this.timer, this.timerStartNs + span);
    } else {
      this.timerRunning = false;
    }
  }

  /** Current count: counts down from the initial count once per divided clock; 0 when expired
   *  in one-shot mode; reloads in periodic mode. */
  timerCurrent(): number {
    if (!this.timerRunning) return 0;
    const n = Math.floor((this.clock.nowNs() - this.timerStartNs) / this.countNs() + 1e-9);
    if ((this.lvt[Lvt.Timer] & LvtBit.TimerPeriodic) !== 0) return this.timerInitial - (n % this.timerInitial);
    return n >= this.timerInitial ? 0 : this.timerInitial - n;
  }

  private setDivide(v: number): void {
    const now = this.clock.nowNs();
    const cur = this.timerCurrent();
    this.timerDivide = v & 0xb;
    this.divisor = DIVISORS[((v & 8) >>> 1) | (v & 3)];
    if (this.timerRunning && cur > 0) {
      // Keep the count; later decrements run at the new rate.
      this.timerStartNs = now - (this.timerInitial - cur) * this.countNs();
      this.clock.arm(this.timer, now + cur * this.countNs());
    }
  }

  // ---- Registers

  readRegister(reg: number): number {
    switch (reg) {
      case LapicReg.Id: return this.id << 24;
      case LapicReg.Version: return LAPIC_VERSION;
      case LapicReg.Tpr: return this.tpr;
      case LapicReg.Apr: return this.arbitrationPriority();
      case LapicReg.Ppr: return this.ppr();
      case LapicReg.Eoi: return 0;
      case LapicReg.Rrd: return 0;
      case LapicReg.Ldr: return this.ldr;
      case LapicReg.Dfr: return this.dfr;
      case LapicReg.Svr: return this.svr;
      case LapicReg.Esr: return this.esr;
      case LapicReg.IcrLow: return this.icrLow & ~IcrBit.DeliveryStatus; // delivered at once: idle
      case LapicReg.IcrHigh: return this.icrHigh;
      case LapicReg.TimerInitial: return this.timerInitial;
      case LapicReg.TimerCurrent: return this.timerCurrent();
      case LapicReg.TimerDivide: return this.timerDivide;
    }
    if (reg >= LapicReg.Isr && reg < LapicReg.Isr + 0x80) return this.isr[(reg - LapicReg.Isr) >>> 4];
    if (reg >= LapicReg.Tmr && reg < LapicReg.Tmr + 0x80) return this.tmr[(reg - LapicReg.Tmr) >>> 4];
    if (reg >= LapicReg.Irr && reg < LapicReg.Irr + 0x80) return this.irr[(reg - LapicReg.Irr) >>> 4];
    if (reg >= LapicReg.LvtTimer && reg <= LapicReg.LvtError) return this.lvt[(reg - LapicReg.LvtTimer) >>> 4];
    this.error(EsrBit.IllegalRegister);
    return 0;
  }

  writeRegister(reg: number, v: number): void {
    v >>>= 0;
    switch (reg) {
      case LapicReg.Id: this.id = v >>> 24; return;
      case LapicReg.Tpr: this.tpr = v & 0xff; this.kick(); return;
      case LapicReg.Eoi: this.eoi(); return;
      case LapicReg.Ldr: this.ldr = (v & 0xff000000) >>> 0; return;
      case LapicReg.Dfr: this.dfr = (v | 0x0fffffff) >>> 0; return;
      case LapicReg.Svr:
        this.svr = v & (0xff | SvrBit.SoftwareEnable | SvrBit.FocusDisabled);
        // Software disable masks every LVT entry (SDM §10.4.7.2).
        if (!this.softwareEnabled) for (let i = 0; i < LVT_COUNT; i++) this.lvt[i] |= LvtBit.Masked;
        this.kick();
        return;
      case LapicReg.Esr: this.esr = this.esrPending; this.esrPending = 0; return;
      case LapicReg.IcrLow: this.icrLow = v & ICR_LOW_WRITABLE; this.sendIpi(); return;
      case LapicReg.IcrHigh: this.icrHigh = (v & 0xff000000) >>> 0; return;
      case LapicReg.TimerInitial: this.timerInitial = v; this.startTimer(this.clock.nowNs()); return;
      case LapicReg.TimerDivide: this.setDivide(v); return;
      case LapicReg.Version: case LapicReg.Apr: case LapicReg.Ppr: case LapicReg.Rrd: case LapicReg.TimerCurrent:
        return; // read-only
    }
    if (reg >= LapicReg.LvtTimer && reg <= LapicReg.LvtError) {
      const i = (reg - LapicReg.LvtTimer) >>> 4;
      let e = (v & LVT_WRITABLE[i]) | (this.lvt[i] & LvtBit.RemoteIrr);
      if (!this.softwareEnabled) e |= LvtBit.Masked; // cannot be unmasked while software-disabled
      this.lvt[i] = e;
      if (i === Lvt.Lint0 || i === Lvt.Lint1) {
        if ((e & LvtBit.LevelTriggered) === 0) this.lvt[i] &= ~LvtBit.RemoteIrr;
        if (this.lint[i - Lvt.Lint0]) this.kick(); // an ExtINT wire opened, or a level to look at
      }
      return;
    }
    if (reg >= LapicReg.Isr && reg < LapicReg.Irr + 0x80) return; // ISR/TMR/IRR are read-only
    this.error(EsrBit.IllegalRegister);
  }

  // ---- MmioDevice: offsets within the 4 KB register page; registers are 32-bit, reads of the
  // other bytes of each 16-byte slot give 0, narrower accesses read/merge the dword.

  mmioRead(offset: number, size: number): number {
    const sub = offset & 0xf;
    if (sub >= 4) return 0;
    const v = this.readRegister(offset & 0xff0);
    return size === 4 && sub === 0 ? v : (v >>> (8 * sub)) & (size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff);
  }

  mmioWrite(offset: number, size: number, value: number): void {
    const sub = offset & 0xf;
    if (sub >= 4) return;
    const reg = offset & 0xff0;
    if (size === 4 && sub === 0) { this.writeRegister(reg, value); return; }
    const mask = (size === 1 ? 0xff : 0xffff) << (8 * sub);
    const old = this.readRegister(reg);
    this.writeRegister(reg, (old & ~mask) | ((value << (8 * sub)) & mask));
  }

  // ---- CpuLocalApic: IA32_APIC_BASE (SDM §10.4.4, Figure 10-5)

  readBaseMsr(): number {
    return (this.base | (this.hwEnabled ? ApicBaseBit.GlobalEnable : 0) | (this.bsp ? ApicBaseBit.Bsp : 0)) | 0;
  }

  writeBaseMsr(lo: number, hi: number): boolean {
    // Reserved: [7:0], [9] and [10] (x2APIC enable, not offered); above bit 35 (MAXPHYADDR 36).
    if ((lo & 0x6ff) !== 0 || (hi & ~0xf) !== 0) return false;
    const enable = (lo & ApicBaseBit.GlobalEnable) !== 0;
    if (!enable && this.hwEnabled) this.resetState(); // "prior initialization ... may be lost" (SDM §10.4.3)
    this.hwEnabled = enable;
    const base = (lo & 0xfffff000) >>> 0;
    if (base !== this.base || hi !== this.baseHigh) {
      this.base = base; this.baseHigh = hi;
      this.opts.onBaseChange?.(this);
    }
    this.kick();
    return true;
  }

  /** A snapshot for debugging and tests (allocates). */
  state(): Record<string, number | boolean | number[]> {
    return {
      id: this.id, base: this.base, hwEnabled: this.hwEnabled, svr: this.svr, tpr: this.tpr, ppr: this.ppr(),
      irr: Array.from(this.irr), isr: Array.from(this.isr), tmr: Array.from(this.tmr), lvt: Array.from(this.lvt),
      timerInitial: this.timerInitial, timerCurrent: this.timerCurrent(), timerDivide: this.timerDivide, esr: this.esr,
    };
  }
}

/**
 * The local APIC register page as the memory map sees it: one MMIO range per base address in
 * use, answering with the APIC of the CPU performing the access (`current`, switched by the
 * machine when it schedules a CPU). An access to a base the current CPU's APIC is not at, or
 * with that APIC disabled, reads all ones and writes nothing, as on a bus with nothing there.
 */
export class LocalApicMmio {
  current: LocalApic | null = null;
  private readonly mapped = new Set<number>();

  constructor(private readonly register: (base: number, device: MmioDevice) => boolean) {}

  /** Makes the APIC's current base reachable (called at power-on and when IA32_APIC_BASE moves it). */
  map(apic: LocalApic): void {
    const base = apic.base;
    if (apic.baseHigh !== 0 || this.mapped.has(base)) return;
    const ok = this.register(base, {
      mmioRead: (o, s) => {
        const a = this.current;
        return a !== null && a.hwEnabled && a.base === base && a.baseHigh === 0 ? a.mmioRead(o, s) : -1;
      },
      mmioWrite: (o, s, v) => {
        const a = this.current;
        if (a !== null && a.hwEnabled && a.base === base && a.baseHigh === 0) a.mmioWrite(o, s, v);
      },
    });
    if (ok) this.mapped.add(base);
  }
}
