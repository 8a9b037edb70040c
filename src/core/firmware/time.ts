// INT 1Ah time services (tick count at BDA 0x46C, RTC through CMOS ports 70h/71h) and the
// IRQ0 tick (INT 08h). CMOS registers (MC146818 datasheet; PC AT Technical Reference):
//   00 seconds | 02 minutes | 04 hours | 07 day | 08 month | 09 year | 32h century
//   0Ah: [7] update in progress | 0Bh: [7] SET | [2] binary (else BCD) | [1] 24 h | [0] DST
import { AH, AL, CH, CL, CX, DH, DL, DX, ok, fail, setCF, type BiosCtx } from './context';
import { BDA, TICKS_PER_DAY } from './layout';
import { PciBios } from './pci';

export function cmosRead(b: BiosCtx, reg: number): number { b.io.write(0x70, 1, reg); return b.io.read(0x71, 1); }
export function cmosWrite(b: BiosCtx, reg: number, v: number): void { b.io.write(0x70, 1, reg); b.io.write(0x71, 1, v); }

const toBcd = (v: number): number => ((Math.floor(v / 10) % 10) << 4) | (v % 10);
const fromBcd = (v: number): number => (v >> 4) * 10 + (v & 15);

export class TimeServices {
  readonly pci: PciBios;
  constructor(private readonly b: BiosCtx) { this.pci = new PciBios(b); }

  /** IRQ0: count a tick; at 24 h wrap to 0 and set the midnight flag (BDA 0x470). */
  tick(): void {
    const m = this.b.mem;
    let t = (m.read32(BDA.TICKS) >>> 0) + 1;
    if (t >= TICKS_PER_DAY) { t = 0; m.write8(BDA.MIDNIGHT, 1); }
    m.write32(BDA.TICKS, t);
  }

  private waitUpdate(): void {
    for (let i = 0; i < 10000; i++) if ((cmosRead(this.b, 0x0a) & 0x80) === 0) return;
  }
  private binary(): boolean { return (cmosRead(this.b, 0x0b) & 0x04) !== 0; }
  private rtcGet(reg: number): number { const v = cmosRead(this.b, reg); return this.binary() ? toBcd(v) : v; }
  private rtcSet(reg: number, bcd: number): void { cmosWrite(this.b, reg, this.binary() ? fromBcd(bcd) : bcd); }

  /** Seconds since midnight from the RTC (POST uses it to seed the tick count). */
  rtcSeconds(): number {
    this.waitUpdate();
    const h = fromBcd(this.rtcGet(0x04) & 0x7f), mi = fromBcd(this.rtcGet(0x02)), s = fromBcd(this.rtcGet(0x00));
    return ((h % 24) * 60 + (mi % 60)) * 60 + (s % 60);
  }

  service(): void {
    const b = this.b, c = b.cpu, r8 = c.r8, m = b.mem;
    switch (r8[AH]) {
      case 0x00: {
        const t = m.read32(BDA.TICKS) >>> 0;
        c.r16[CX] = t >>> 16; c.r16[DX] = t & 0xffff;
        r8[AL] = m.read8(BDA.MIDNIGHT); m.write8(BDA.MIDNIGHT, 0);
        setCF(b, false);
        return;
      }
      case 0x01:
        m.write32(BDA.TICKS, ((c.r16[CX] << 16) | c.r16[DX]) >>> 0); m.write8(BDA.MIDNIGHT, 0); ok(b);
        return;
      case 0x02:
        this.waitUpdate();
        r8[CH] = this.rtcGet(0x04); r8[CL] = this.rtcGet(0x02); r8[DH] = this.rtcGet(0x00);
        r8[DL] = cmosRead(b, 0x0b) & 1;
        ok(b);
        return;
      case 0x03: {
        const regB = cmosRead(b, 0x0b);
        cmosWrite(b, 0x0b, regB | 0x80); // SET: freeze updates while writing
        this.rtcSet(0x04, r8[CH]); this.rtcSet(0x02, r8[CL]); this.rtcSet(0x00, r8[DH]);
        cmosWrite(b, 0x0b, (regB & ~0x81) | 0x02 | (r8[DL] & 1));
        ok(b);
        return;
      }
      case 0x04:
        this.waitUpdate();
        r8[CH] = this.rtcGet(0x32); r8[CL] = this.rtcGet(0x09); r8[DH] = this.rtcGet(0x08); r8[DL] = this.rtcGet(0x07);
        ok(b);
        return;
      case 0x05: {
        const regB = cmosRead(b, 0x0b);
        cmosWrite(b, 0x0b, regB | 0x80);
        this.rtcSet(0x32, r8[CH]); this.rtcSet(0x09, r8[CL]); this.rtcSet(0x08, r8[DH]); this.rtcSet(0x07, r8[DL]);
        cmosWrite(b, 0x0b, regB & ~0x80);
        ok(b);
        return;
      }
      case 0xb1: this.pci.service(); return;
      default: fail(b, 0x86);
    }
  }
}
