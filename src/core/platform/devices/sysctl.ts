// System control port B at 0x61 (IBM PC AT Technical Reference, "System Board I/O", port 61h;
// PIIX4 datasheet NMI Status and Control Register):
//
//   [7] SERR#/parity error NMI source (read, 0 here) | [6] IOCHK# NMI source (read, 0 here)
//   [5] timer 2 OUT (read)   | [4] refresh cycle toggle (read)
//   [3] IOCHK# NMI disable   | [2] parity/SERR# NMI disable           (read/write)
//   [1] speaker data enable  | [0] timer 2 gate                        (read/write)
//
// The refresh toggle flips on every DRAM refresh request, which the BIOS paces with PIT counter 1
// at a count of 18 (18 / 1.193182 MHz = 15.09 us). Here it is derived straight from virtual time
// (floor(pit ticks / 18) & 1), so BIOS delay loops that count its edges take a deterministic
// amount of virtual time whether or not counter 1 was programmed.
import type { VirtualClock } from '../clock';
import type { IoBus, PortDevice } from '../io-bus';
import { pitTickAt, type Pit8254 } from './pit';

/** PIT ticks per refresh-toggle half period (15.09 us). */
export const REFRESH_TICKS = 18;

export class SystemControlPortB implements PortDevice {
  /** Writable bits [3:0]. */
  private bits = 0;

  /** `onSpeaker` (optional) sees changes of the speaker enable (gate and data both set). */
  constructor(private readonly clock: VirtualClock, private readonly pit: Pit8254, private readonly onSpeaker?: (on: boolean) => void) {}

  reset(): void {
    this.bits = 0;
    this.pit.setGate(2, false);
  }

  registerPorts(io: IoBus): void { io.register(0x61, 1, 'system control port B (0x61)', this); }

  refreshToggle(): boolean { return (Math.floor(pitTickAt(this.clock.nowNs()) / REFRESH_TICKS) & 1) !== 0; }

  ioRead(_offset: number, _size: number): number {
    return this.bits | (this.refreshToggle() ? 0x10 : 0) | (this.pit.output(2) ? 0x20 : 0);
  }

  ioWrite(_offset: number, _size: number, value: number): void {
    const was = this.speakerEnabled();
    this.bits = value & 0x0f;
    this.pit.setGate(2, (value & 1) !== 0);
    const now = this.speakerEnabled();
    if (now !== was && this.onSpeaker) this.onSpeaker(now);
  }

  /** Timer 2 gate and speaker data both on: the speaker follows counter 2's output. */
  speakerEnabled(): boolean { return (this.bits & 3) === 3; }

  state(): { value: number; timer2Gate: boolean; speakerData: boolean; timer2Out: boolean; refresh: boolean } {
    const v = this.ioRead(0, 1);
    return { value: v, timer2Gate: (v & 1) !== 0, speakerData: (v & 2) !== 0, timer2Out: (v & 0x20) !== 0, refresh: (v & 0x10) !== 0 };
  }
}
