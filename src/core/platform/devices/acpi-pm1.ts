// ACPI PM1 event and control registers of the PIIX4 power-management function (ACPI 6.5
// §4.8.3.1 "PM1 Event Grouping", §4.8.3.2 "PM1 Control Grouping"; PIIX4 datasheet PMSTS/PMEN/
// PMCNTRL at PM base + 0/2/4). One device covers PM base + 0..5; the PM timer at + 8 is its own.
//
//   +0 PM1_STS (write 1 to clear): [15] WAK_STS | [10] RTC_STS | [8] PWRBTN_STS | [5] GBL_STS |
//                                  [4] BM_STS | [0] TMR_STS (PM timer bit 23 changed)
//   +2 PM1_EN:  [10] RTC_EN | [8] PWRBTN_EN | [5] GBL_EN | [0] TMR_EN
//   +4 PM1_CNT: [13] SLP_EN (write-only) | [12:10] SLP_TYP | [2] GBL_RLS | [1] BM_RLD | [0] SCI_EN
//
// The SCI (a level-triggered ISA IRQ, 9 on this machine) is asserted while SCI_EN is set and a
// status bit and its enable bit are both set. Writing SLP_EN with SLP_TYP = 0 requests S5 (soft
// off): the value the DSDT's \_S5 object gives, as QEMU's PIIX4 model and DSDT do. Other sleep
// types (S1-S4) are not modelled: they are ignored and counted.
import { Timer, type VirtualClock } from '../clock';
import type { IoBus, PortDevice } from '../io-bus';
import type { IrqLine } from '../irq';
import { PM_TIMER_HZ, type PmTimer } from './pm-timer';

export enum Pm1Sts { Tmr = 1 << 0, Bm = 1 << 4, Gbl = 1 << 5, PwrBtn = 1 << 8, Rtc = 1 << 10, Wak = 1 << 15 }
export enum Pm1Cnt { SciEn = 1 << 0, BmRld = 1 << 1, GblRls = 1 << 2, SlpEn = 1 << 13 }
const SLP_TYP_SHIFT = 10;
/** SLP_TYP for S5 (soft off), as \_S5 in vmxlab's DSDT says. */
export const SLP_TYP_S5 = 0;
const EN_BITS = Pm1Sts.Tmr | Pm1Sts.Gbl | Pm1Sts.PwrBtn | Pm1Sts.Rtc;
const STS_BITS = EN_BITS | Pm1Sts.Bm | Pm1Sts.Wak;

export class AcpiPm1 implements PortDevice {
  /** Called once when the guest enters S5. */
  onPowerOff: (() => void) | null = null;
  /** Sleep requests for states other than S5 (ignored). */
  otherSleepRequests = 0;
  private sts = 0;
  private en = 0;
  private cnt = Pm1Cnt.SciEn; // no SMI_CMD in the FADT: the hardware is always in ACPI mode
  /** PM timer carries (bit 23 changes) already reflected in TMR_STS. */
  private carriesSeen = 0;
  private readonly tmrTimer: Timer;

  constructor(private readonly clock: VirtualClock, private readonly pmTimer: PmTimer, private readonly sci: IrqLine) {
    this.tmrTimer = new Timer('ACPI PM timer carry', () => { this.syncTimer(); this.update(); });
  }

  registerPorts(io: IoBus, base: number): void { io.register(base, 6, 'ACPI PM1 event/control', this); }

  /** The power button was pressed (sets PWRBTN_STS). */
  pressPowerButton(): void { this.sts |= Pm1Sts.PwrBtn; this.update(); }

  ioRead(offset: number, size: number): number {
    this.syncTimer();
    const regs = this.sts | (this.en << 16);
    if (offset < 4) {
      const v = regs >>> (8 * offset);
      return size === 4 ? v >>> 0 : v & (size === 2 ? 0xffff : 0xff);
    }
    const v = (this.cnt & ~Pm1Cnt.SlpEn) >>> (8 * (offset - 4));
    return v & (size === 1 ? 0xff : 0xffff);
  }

  ioWrite(offset: number, size: number, value: number): void {
    // Split wide accesses into the 16-bit registers they cover.
    for (let i = 0; i < size; i++) this.writeByte(offset + i, (value >>> (8 * i)) & 0xff);
    this.update();
  }

  private writeByte(at: number, b: number): void {
    const hi = (at & 1) !== 0, v = hi ? b << 8 : b, mask = hi ? 0xff00 : 0x00ff;
    if (at < 2) { this.syncTimer(); this.sts &= ~(v & STS_BITS); return; }
    if (at < 4) { this.en = (this.en & ~mask) | (v & EN_BITS & mask); this.armTimer(); return; }
    if (at < 6) {
      const cnt = (this.cnt & ~mask) | (v & mask);
      this.cnt = cnt & ~Pm1Cnt.SlpEn;
      if (hi && (cnt & Pm1Cnt.SlpEn) !== 0) this.sleep((cnt >> SLP_TYP_SHIFT) & 7);
    }
  }

  private sleep(type: number): void {
    if (type === SLP_TYP_S5) this.onPowerOff?.();
    else this.otherSleepRequests++;
  }

  /** TMR_STS follows the PM timer's bit 23 (set at each change since it was last cleared). */
  private syncTimer(): void {
    const c = this.pmTimer.carries();
    if (c !== this.carriesSeen) { this.carriesSeen = c; this.sts |= Pm1Sts.Tmr; }
  }

  /** With TMR_EN, a timer at the next carry raises the SCI on time. */
  private armTimer(): void {
    if ((this.en & Pm1Sts.Tmr) === 0) { this.clock.disarm(this.tmrTimer); return; }
    const nextTick = (this.pmTimer.carries() + 1) * 0x800000;
    this.clock.arm(this.tmrTimer, Math.ceil((nextTick * 1e9) / PM_TIMER_HZ));
  }

  private update(): void {
    this.sci.set((this.cnt & Pm1Cnt.SciEn) !== 0 && (this.sts & this.en) !== 0);
    if (this.tmrTimer.deadline < 0) this.armTimer();
  }

  state(): { sts: number; en: number; cnt: number } { return { sts: this.sts, en: this.en, cnt: this.cnt }; }
}
