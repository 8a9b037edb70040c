// The MC146818 real-time clock and its CMOS RAM (Motorola MC146818A datasheet; IBM PC AT
// Technical Reference, "CMOS RAM Address Map"), at 0x70 (index, [7] = NMI disable) and 0x71
// (data). 128 bytes: 0x00-0x0D are the clock, the rest battery-backed RAM the BIOS owns.
//
//   0x00 seconds | 0x01 seconds alarm | 0x02 minutes | 0x03 minutes alarm | 0x04 hours
//   0x05 hours alarm | 0x06 day of week (1 = Sunday) | 0x07 day of month | 0x08 month | 0x09 year
//   0x0A register A: [7] UIP (read only) | [6:4] DV divider (010 = 32.768 kHz, 11x = reset) | [3:0] RS rate
//   0x0B register B: [7] SET | [6] PIE | [5] AIE | [4] UIE | [3] SQWE | [2] DM (1 = binary)
//                    | [1] 24/12 (1 = 24 h) | [0] DSE
//   0x0C register C (read only, read clears): [7] IRQF | [6] PF | [5] AF | [4] UF
//   0x0D register D (read only): [7] VRT valid RAM and time
//   AT map: 0x0E diagnostic status | 0x0F shutdown status | 0x10 floppy types (drive 0 [7:4],
//   1 [3:0]) | 0x12 hard disk types (0 [7:4], 1 [3:0]; 0xF = see 0x19/0x1A) | 0x14 equipment
//   | 0x15/0x16 base memory KB | 0x17/0x18 extended memory KB | 0x19/0x1A extended disk types
//   | 0x2E/0x2F checksum of 0x10-0x2D (high byte first) | 0x30/0x31 extended memory KB (POST)
//   | 0x32 century | 0x34/0x35 64 KB blocks above 16 MB (SeaBIOS/QEMU convention)
//
// Time is kept as binary fields and shown in BCD or binary, 12 or 24 hours, as register B says
// at the time of the read (real hardware keeps raw bytes; converting on access is friendlier to
// guests that change DM mid-run). The divider chain's phase is anchored in virtual time: an
// update happens every second after `phaseNs`, the periodic interrupt every 1/rate s. Flags are
// evaluated lazily on access; Timers are armed only for enabled interrupts. UIP reads 1 during
// the 244 us before each update, so a read that sees UIP = 0 has at least 244 us of stable time
// registers, which is the guarantee the datasheet gives software.
import { Timer, type VirtualClock } from '../clock';
import type { IoBus, PortDevice } from '../io-bus';
import type { IrqLine } from '../irq';

export interface RtcDateTime { year: number; month: number; day: number; hour: number; minute: number; second: number }

export interface CmosOptions {
  /** Clock at virtual time 0: fields, Unix seconds (UTC), or 'YYYY-MM-DD HH:MM:SS'. Default 2026-01-01 00:00:00. */
  start?: RtcDateTime | number | string;
}

// Register B bits
const B_SET = 0x80, B_PIE = 0x40, B_AIE = 0x20, B_UIE = 0x10, B_DM = 0x04, B_24H = 0x02;
// Register C bits
const C_IRQF = 0x80, C_PF = 0x40, C_AF = 0x20, C_UF = 0x10;

const NS_PER_S = 1e9;
/** UIP is set this long before each update (datasheet: 244 us). */
const UIP_NS = 244_000;

/** An alarm byte of 11xxxxxx matches any value ("don't care", datasheet). */
const dc = (a: number): boolean => (a & 0xc0) === 0xc0;
const toBcd = (v: number): number => (Math.floor(v / 10) % 10 << 4) | (v % 10);
const fromBcd = (v: number): number => (v >> 4) * 10 + (v & 0xf);

// Civil calendar <-> day number (days since 1970-01-01), proleptic Gregorian, with the year taken
// to start in March so the leap day is the last day of the year (the "days from civil" method
// described by H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function civilFromDays(z: number, out: { year: number; month: number; day: number }): void {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  out.day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  out.month = mp < 10 ? mp + 3 : mp - 9;
  out.year = yoe + era * 400 + (out.month <= 2 ? 1 : 0);
}

function parseStart(s: CmosOptions['start']): number {
  if (s === undefined) return daysFromCivil(2026, 1, 1) * 86400;
  if (typeof s === 'number') return Math.floor(s);
  if (typeof s === 'string') {
    const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(s.trim());
    if (m === null) throw new Error(`RTC start date must look like 2026-01-01 00:00:00, got '${s}'`);
    s = { year: +m[1], month: +m[2], day: +m[3], hour: +(m[4] ?? 0), minute: +(m[5] ?? 0), second: +(m[6] ?? 0) };
  }
  if (s.month < 1 || s.month > 12 || s.day < 1 || s.day > 31 || s.hour > 23 || s.minute > 59 || s.second > 59) {
    throw new Error(`RTC start date out of range: ${JSON.stringify(s)}`);
  }
  return daysFromCivil(s.year, s.month, s.day) * 86400 + s.hour * 3600 + s.minute * 60 + s.second;
}

export interface CmosState {
  index: number; nmiDisabled: boolean; time: RtcDateTime; dayOfWeek: number;
  regA: number; regB: number; flags: number; irq: boolean; ram: number[];
}

export class Cmos implements PortDevice {
  readonly ram = new Uint8Array(128);
  index = 0;
  /** Port 0x70 bit 7: NMI disabled (the machine gates NMI delivery with it). */
  nmiDisabled = false;
  // Time fields (binary); the year is full (e.g. 2026).
  private sec = 0; private min = 0; private hour = 0; private dow = 1;
  private day = 1; private month = 1; private year = 2026;
  /** Virtual time origin of the divider chain: updates at phaseNs + k s. */
  private phaseNs = 0;
  private updatesDone = 0;
  private periodsDone = 0;
  /** Register C flags PF/AF/UF (IRQF is derived). */
  private flags = 0;
  private readonly startEpoch: number;
  private readonly updateTimer = new Timer('RTC update', () => this.onTimer());
  private readonly periodicTimer = new Timer('RTC periodic', () => this.onTimer());
  private readonly tmp = { year: 0, month: 0, day: 0 };
  /** Interrupts raised (IRQF 0 -> 1), for the profiler. */
  interrupts = 0;

  constructor(private readonly clock: VirtualClock, private readonly irq8: IrqLine, options: CmosOptions = {}) {
    this.startEpoch = parseStart(options.start);
    this.powerOn();
  }

  /** Battery insertion: time from the configured start date, RAM cleared, registers at BIOS defaults. */
  powerOn(): void {
    this.ram.fill(0);
    this.ram[0x0a] = 0x26; // 32.768 kHz divider, 1024 Hz periodic rate
    this.ram[0x0b] = B_24H; // 24 hours, BCD
    this.index = 0;
    this.nmiDisabled = false;
    const now = this.clock.nowNs();
    this.setEpoch(this.startEpoch + Math.floor(now / NS_PER_S));
    this.restartDivider(now - (now % NS_PER_S));
    this.reset();
  }

  /** The RESET pin: interrupt enables, SQWE and flags cleared; time and RAM kept. */
  reset(): void {
    this.ram[0x0b] &= ~(B_PIE | B_AIE | B_UIE | 0x08);
    this.flags = 0;
    this.nmiDisabled = false;
    this.irq8.lower();
    this.rearm();
  }

  registerPorts(io: IoBus): void { io.register(0x70, 2, 'RTC/CMOS (MC146818)', this); }

  // ---- the divider chain -------------------------------------------------------------------

  private get running(): boolean { return (this.ram[0x0a] & 0x70) === 0x20; }
  private get rateHz(): number {
    const rs = this.ram[0x0a] & 0x0f;
    if (rs === 0) return 0;
    return rs <= 2 ? 65536 >> (rs + 7) : 65536 >> rs; // RS 1, 2 alias 8, 9 (256, 128 Hz)
  }
  private get periodNs(): number { return NS_PER_S / this.rateHz; }

  private restartDivider(phaseNs: number): void {
    this.phaseNs = Math.floor(phaseNs); // integral, so phase + k s is exact
    const now = this.clock.nowNs();
    this.updatesDone = Math.max(0, Math.floor((now - phaseNs) / NS_PER_S));
    this.periodsDone = this.rateHz === 0 ? 0 : Math.max(0, Math.floor((now - phaseNs) / this.periodNs));
  }

  /** Brings time and flags up to `now`. */
  private sync(now: number): void {
    if (!this.running) return;
    const due = Math.floor((now - this.phaseNs) / NS_PER_S);
    if (due > this.updatesDone) {
      const n = due - this.updatesDone;
      this.updatesDone = due;
      if ((this.ram[0x0b] & B_SET) === 0) {
        this.setEpoch(this.epoch() + n);
        this.flags |= C_UF;
        if (this.alarmMatches()) this.flags |= C_AF;
      }
    }
    if (this.rateHz !== 0) {
      const p = Math.floor((now - this.phaseNs) / this.periodNs);
      if (p > this.periodsDone) { this.periodsDone = p; this.flags |= C_PF; }
    }
    this.updateIrq();
  }

  private updateIrq(): void {
    const on = (this.flags & this.ram[0x0b] & (C_PF | C_AF | C_UF)) !== 0; // PIE/AIE/UIE line up with PF/AF/UF
    if (on && !this.irq8.high) this.interrupts++;
    this.irq8.set(on);
  }

  private rearm(): void {
    const b = this.ram[0x0b];
    // A deadline never lies at or before now (float rounding could otherwise refire it forever).
    const now = this.clock.nowNs();
    if (this.running && (b & (B_UIE | B_AIE)) !== 0 && (b & B_SET) === 0) {
      this.clock.arm(this.updateTimer, Math.max(now + 1, this.phaseNs + (this.updatesDone + 1) * NS_PER_S));
    } else this.clock.disarm(this.updateTimer);
    if (this.running && (b & B_PIE) !== 0 && this.rateHz !== 0) {
      this.clock.arm(this.periodicTimer, Math.max(now + 1, this.phaseNs + (this.periodsDone + 1) * this.periodNs));
    } else this.clock.disarm(this.periodicTimer);
  }

  private onTimer(): void {
    this.sync(this.clock.nowNs());
    this.rearm();
  }

  // ---- time fields -------------------------------------------------------------------------

  private epoch(): number {
    return daysFromCivil(this.year, this.month, this.day) * 86400 + this.hour * 3600 + this.min * 60 + this.sec;
  }

  private setEpoch(e: number): void {
    const days = Math.floor(e / 86400);
    let s = e - days * 86400;
    civilFromDays(days, this.tmp);
    this.year = this.tmp.year; this.month = this.tmp.month; this.day = this.tmp.day;
    this.hour = Math.floor(s / 3600); s -= this.hour * 3600;
    this.min = Math.floor(s / 60); this.sec = s - this.min * 60;
    this.dow = ((days % 7) + 11) % 7 + 1; // 1970-01-01 was a Thursday (5)
  }

  private fmt(v: number): number { return (this.ram[0x0b] & B_DM) !== 0 ? v : toBcd(v); }
  private parse(v: number): number { return (this.ram[0x0b] & B_DM) !== 0 ? v : fromBcd(v); }

  private fmtHour(h: number): number {
    if ((this.ram[0x0b] & B_24H) !== 0) return this.fmt(h);
    return this.fmt(h % 12 === 0 ? 12 : h % 12) | (h >= 12 ? 0x80 : 0);
  }

  private parseHour(v: number): number {
    if ((this.ram[0x0b] & B_24H) !== 0) return this.parse(v & 0x7f) % 24;
    return (this.parse(v & 0x7f) % 12) + ((v & 0x80) !== 0 ? 12 : 0);
  }

  private alarmMatches(): boolean {
    const r = this.ram;
    return (dc(r[1]) || r[1] === this.fmt(this.sec)) && (dc(r[3]) || r[3] === this.fmt(this.min))
      && (dc(r[5]) || r[5] === this.fmtHour(this.hour));
  }

  private readTime(i: number): number {
    switch (i) {
      case 0x00: return this.fmt(this.sec);
      case 0x02: return this.fmt(this.min);
      case 0x04: return this.fmtHour(this.hour);
      case 0x06: return this.fmt(this.dow);
      case 0x07: return this.fmt(this.day);
      case 0x08: return this.fmt(this.month);
      case 0x09: return this.fmt(this.year % 100);
      default: return this.fmt(Math.floor(this.year / 100) % 100); // 0x32 century
    }
  }

  private writeTime(i: number, v: number): void {
    const p = this.parse(v);
    switch (i) {
      case 0x00: this.sec = p % 60; break;
      case 0x02: this.min = p % 60; break;
      case 0x04: this.hour = this.parseHour(v); break;
      case 0x06: this.dow = ((p + 6) % 7) + 1; break;
      case 0x07: this.day = p; break;
      case 0x08: this.month = p; break;
      case 0x09: this.year = this.year - (this.year % 100) + (p % 100); break;
      default: this.year = (p % 100) * 100 + (this.year % 100); break; // 0x32 century
    }
    // Out-of-range dates (day 31 in February, month 0) are kept as written until the next update
    // normalises them, so a BIOS can set day before month.
    if (this.month < 1 || this.month > 12) this.month = Math.min(12, Math.max(1, this.month));
  }

  // ---- ports -------------------------------------------------------------------------------

  ioRead(offset: number, _size: number): number {
    if (offset === 0) return 0xff; // the index register is write-only
    return this.readRegister(this.index);
  }

  ioWrite(offset: number, _size: number, value: number): void {
    value &= 0xff;
    if (offset === 0) {
      this.index = value & 0x7f;
      this.nmiDisabled = (value & 0x80) !== 0;
      return;
    }
    this.writeRegister(this.index, value);
  }

  /** Reads CMOS location `i` (0-127) as the guest would through 0x71. */
  readRegister(i: number): number {
    i &= 0x7f;
    const now = this.clock.nowNs();
    this.sync(now);
    switch (i) {
      case 0x00: case 0x02: case 0x04: case 0x06: case 0x07: case 0x08: case 0x09: case 0x32:
        return this.readTime(i);
      case 0x0a: return (this.ram[0x0a] & 0x7f) | (this.updateInProgress(now) ? 0x80 : 0);
      case 0x0c: {
        const v = this.flags | ((this.flags & this.ram[0x0b] & 0x70) !== 0 ? C_IRQF : 0);
        this.flags = 0;
        this.irq8.lower();
        return v;
      }
      case 0x0d: return 0x80;
      default: return this.ram[i];
    }
  }

  /** Writes CMOS location `i` as the guest would through 0x71. */
  writeRegister(i: number, v: number): void {
    i &= 0x7f;
    v &= 0xff;
    const now = this.clock.nowNs();
    this.sync(now);
    switch (i) {
      case 0x00: case 0x02: case 0x04: case 0x06: case 0x07: case 0x08: case 0x09: case 0x32:
        this.writeTime(i, v);
        break;
      case 0x0a: {
        const wasRunning = this.running;
        const oldRate = this.rateHz;
        this.ram[0x0a] = v & 0x7f;
        if (!wasRunning && this.running) this.restartDivider(now - NS_PER_S / 2); // first update 500 ms after leaving reset
        else if (this.rateHz !== oldRate && this.rateHz !== 0) this.periodsDone = Math.floor((now - this.phaseNs) / this.periodNs);
        break;
      }
      case 0x0b:
        if ((v & B_SET) !== 0) v &= ~B_UIE; // SET going high clears UIE (datasheet, register B)
        this.ram[0x0b] = v;
        break;
      case 0x0c: case 0x0d: return; // read-only
      default: this.ram[i] = v; return;
    }
    this.updateIrq();
    this.rearm();
  }

  private updateInProgress(now: number): boolean {
    if (!this.running || (this.ram[0x0b] & B_SET) !== 0) return false;
    return this.phaseNs + (this.updatesDone + 1) * NS_PER_S - now <= UIP_NS;
  }

  // ---- BIOS configuration helpers ----------------------------------------------------------

  /** Fills the memory size fields for `bytes` of RAM and the checksum. */
  setMemorySize(bytes: number): void {
    const r = this.ram;
    r[0x15] = 640 & 0xff; r[0x16] = 640 >> 8;
    const ext = Math.min(0xffff, Math.max(0, Math.floor(bytes / 1024) - 1024));
    r[0x17] = ext & 0xff; r[0x18] = ext >> 8;
    r[0x30] = ext & 0xff; r[0x31] = ext >> 8;
    const above16 = Math.min(0xffff, Math.max(0, Math.floor((bytes - 16 * 1024 * 1024) / 65536)));
    r[0x34] = above16 & 0xff; r[0x35] = above16 >> 8;
    this.updateChecksum();
  }

  /** Floppy drive types (0 none, 1 360K, 2 1.2M, 3 720K, 4 1.44M, 5 2.88M). */
  setFloppyTypes(drive0: number, drive1 = 0): void {
    this.ram[0x10] = ((drive0 & 0xf) << 4) | (drive1 & 0xf);
    this.updateChecksum();
  }

  /** Hard disk types; 15 and above go to 0x19/0x1A with 0xF in the 0x12 nibble (47 = user type). */
  setHardDiskTypes(disk0: number, disk1 = 0): void {
    const nib = (t: number) => (t >= 15 ? 0xf : t & 0xf);
    this.ram[0x12] = (nib(disk0) << 4) | nib(disk1);
    this.ram[0x19] = disk0 >= 15 ? disk0 & 0xff : 0;
    this.ram[0x1a] = disk1 >= 15 ? disk1 & 0xff : 0;
    this.updateChecksum();
  }

  /** Equipment byte: [7:6] floppies - 1 | [5:4] display (00 EGA/VGA) | [1] x87 | [0] floppy present. */
  setEquipment(v: number): void {
    this.ram[0x14] = v & 0xff;
    this.updateChecksum();
  }

  /** 0x2E (high) / 0x2F (low): 16-bit sum of 0x10-0x2D. */
  updateChecksum(): void {
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += this.ram[i];
    this.ram[0x2e] = (sum >> 8) & 0xff;
    this.ram[0x2f] = sum & 0xff;
  }

  /** Current date and time (binary). */
  dateTime(): RtcDateTime {
    this.sync(this.clock.nowNs());
    return { year: this.year, month: this.month, day: this.day, hour: this.hour, minute: this.min, second: this.sec };
  }

  state(): CmosState {
    const time = this.dateTime();
    return {
      index: this.index, nmiDisabled: this.nmiDisabled, time, dayOfWeek: this.dow,
      regA: this.ram[0x0a], regB: this.ram[0x0b], flags: this.flags, irq: this.irq8.high, ram: Array.from(this.ram),
    };
  }
}
