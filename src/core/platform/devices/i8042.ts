// The 8042 keyboard controller of the PC AT / PS/2 at ports 0x60 (data) and 0x64 (status /
// command), with a PS/2 keyboard on its first port. The auxiliary (mouse) port has no device:
// bytes sent to it time out.
//
// Source: IBM PC AT Technical Reference, "Keyboard Controller" (status register, commands,
// input/output ports); IBM PS/2 Keyboard and Auxiliary Device Controller reference (aux
// commands 0xA7-0xA9, 0xD2-0xD4); OSDev wiki "8042 PS/2 Controller"; Brouwer, "Keyboard
// scancodes" §10.3 (translation).
//
// Status register (read 0x64):
//   [7] parity error | [6] timeout | [5] aux output buffer full | [4] 1 = keyboard not
//   inhibited (keylock) | [3] last write was a command (0x64) | [2] system flag |
//   [1] input buffer full (always 0: writes are processed at once) | [0] output buffer full
// Command byte (controller RAM byte 0; 0x20 reads, 0x60 writes):
//   [6] translate set 2 -> set 1 | [5] disable aux clock | [4] disable keyboard clock |
//   [3] ignore keylock (AT) | [2] system flag | [1] IRQ12 on aux data | [0] IRQ1 on keyboard data
// Output port (0xD0 reads, 0xD1 writes):
//   [7] kbd data | [6] kbd clock | [5] IRQ12 (aux OBF) | [4] IRQ1 (kbd OBF) | [3] aux clock |
//   [2] aux data | [1] A20 gate | [0] system reset (0 = reset the CPU)
// Commands (write 0x64): 0x20-0x3F read RAM | 0x60-0x7F write RAM | 0xA4 password installed?
//   (0xF1 = no) | 0xA7/0xA8 disable/enable aux | 0xA9 aux interface test (0x00) | 0xAA self
//   test (0x55) | 0xAB keyboard interface test (0x00) | 0xAD/0xAE disable/enable keyboard |
//   0xC0 read input port | 0xD0/0xD1 read/write output port | 0xD2 write keyboard output buffer
//   | 0xD3 write aux output buffer | 0xD4 write to aux device | 0xDD/0xDF A20 off/on |
//   0xE0 read test inputs | 0xF0-0xFF pulse output port bits [3:0] low (0xFE: reset).
// Unknown commands are ignored.
//
// Reset state: as a BIOS leaves the controller after POST (command byte 0x45: translation,
// system flag, IRQ1; A20 as given to the constructor). Data from the keyboard goes to the
// output buffer as soon as it is empty (no transmission delay modelled).
import type { IoBus, PortDevice } from '../io-bus';
import type { IrqLine } from '../irq';
import { Ps2Keyboard } from './ps2-keyboard';
import { SET2_TO_SET1 } from './scancodes';

export interface I8042Callbacks {
  /** Output port bit 1 changed (0xD1, 0xDD, 0xDF). */
  setA20?: (enabled: boolean) => void;
  /** Output port bit 0 pulsed or written low (0xFE, 0xD1 with bit 0 = 0): reset the CPU. */
  reset?: () => void;
}

const ST_OBF = 0x01, ST_SYS = 0x04, ST_CMD = 0x08, ST_UNLOCKED = 0x10, ST_AUX = 0x20, ST_TIMEOUT = 0x40;
const CB_IRQ1 = 0x01, CB_IRQ12 = 0x02, CB_SYS = 0x04, CB_KBD_OFF = 0x10, CB_AUX_OFF = 0x20, CB_XLAT = 0x40;
/** Marks a queued controller byte as aux data. */
const AUX = 0x100;

export class I8042 implements PortDevice {
  readonly keyboard = new Ps2Keyboard();
  /** 32 bytes of controller RAM; byte 0 is the command byte. */
  private readonly ram = new Uint8Array(32);
  private outputPort = 0xcd;
  /** Output buffer contents, -1 when empty. */
  private obf = -1;
  private obfAux = false;
  private lastOut = 0;
  /** Bytes the controller itself produces (replies, 0xD2/0xD3), before device data. */
  private ctrlQueue: number[] = [];
  /** Command awaiting its data byte on port 0x60, or 0. */
  private pendingCmd = 0;
  private lastWasCommand = false;
  private timeout = false;
  /** A translated set-2 0xF0 prefix was seen: OR 0x80 into the next byte. */
  private breakPrefix = false;

  /**
   * `a20AtReset`: the A20 state the output port reports after reset (the machine keeps the
   * actual gate in step through `callbacks.setA20`).
   */
  constructor(
    private readonly irq1: IrqLine | null,
    private readonly irq12: IrqLine | null,
    public callbacks: I8042Callbacks = {},
    private readonly a20AtReset = false,
  ) {
    this.keyboard.notify = () => this.fill();
    this.reset();
  }

  registerPorts(io: IoBus): void {
    io.register(0x60, 1, 'i8042 data', { ioRead: () => this.readData(), ioWrite: (_o, _s, v) => this.writeData(v & 0xff) });
    io.register(0x64, 1, 'i8042 status/command', { ioRead: () => this.readStatus(), ioWrite: (_o, _s, v) => this.writeCommand(v & 0xff) });
  }

  // Direct PortDevice use (offset 0 = 0x60, offset 4 = 0x64) for a machine that registers 0x60-0x64 at once.
  ioRead(offset: number): number { return offset === 4 ? this.readStatus() : offset === 0 ? this.readData() : 0xff; }
  ioWrite(offset: number, _size: number, value: number): void {
    if (offset === 4) this.writeCommand(value & 0xff); else if (offset === 0) this.writeData(value & 0xff);
  }

  reset(): void {
    this.ram.fill(0);
    this.ram[0] = CB_XLAT | CB_SYS | CB_IRQ1;
    this.outputPort = 0xcd | (this.a20AtReset ? 0x02 : 0);
    this.obf = -1; this.obfAux = false; this.lastOut = 0;
    this.ctrlQueue = []; this.pendingCmd = 0; this.lastWasCommand = false; this.timeout = false; this.breakPrefix = false;
    this.keyboard.reset();
    this.updateIrq();
  }

  // ---- host keyboard input ----
  keyDown(code: string | readonly number[]): boolean { return this.keyboard.keyDown(code); }
  keyUp(code: string | readonly number[]): boolean { return this.keyboard.keyUp(code); }
  typeText(text: string): string { return this.keyboard.typeText(text); }

  get a20(): boolean { return (this.outputPort & 2) !== 0; }

  // ---- ports ----

  readStatus(): number {
    let s = ST_UNLOCKED;
    if (this.obf >= 0) s |= ST_OBF | (this.obfAux ? ST_AUX : 0);
    if ((this.ram[0] & CB_SYS) !== 0) s |= ST_SYS;
    if (this.lastWasCommand) s |= ST_CMD;
    if (this.timeout) s |= ST_TIMEOUT;
    return s;
  }

  readData(): number {
    if (this.obf >= 0) {
      this.lastOut = this.obf;
      this.obf = -1; this.obfAux = false;
      this.updateIrq(); // the line drops, so a refill below is a new edge
      this.fill();
    }
    return this.lastOut;
  }

  writeData(v: number): void {
    this.lastWasCommand = false;
    const cmd = this.pendingCmd;
    this.pendingCmd = 0;
    if (cmd === 0) { this.timeout = false; this.keyboard.write(v); return; }
    if (cmd >= 0x60 && cmd <= 0x7f) {
      this.ram[cmd & 0x1f] = v;
      this.updateIrq(); this.fill();
      return;
    }
    switch (cmd) {
      case 0xd1: this.writeOutputPort(v); return;
      case 0xd2: this.emit(v); return;
      case 0xd3: this.emit(v | AUX); return;
      case 0xd4: this.timeout = true; this.emit(0xfe | AUX); return; // no aux device: timeout
    }
  }

  writeCommand(c: number): void {
    this.lastWasCommand = true;
    this.pendingCmd = 0;
    if (c >= 0x20 && c <= 0x3f) { this.emit(this.ram[c & 0x1f]); return; }
    if ((c >= 0x60 && c <= 0x7f) || (c >= 0xd1 && c <= 0xd4)) { this.pendingCmd = c; return; }
    if (c >= 0xf0) { if ((c & 1) === 0) this.pulseReset(); return; }
    switch (c) {
      case 0xa4: this.emit(0xf1); return;
      case 0xa7: this.ram[0] |= CB_AUX_OFF; return;
      case 0xa8: this.ram[0] &= ~CB_AUX_OFF; return;
      case 0xa9: this.emit(0x00); return;
      case 0xaa: this.ram[0] |= CB_SYS; this.emit(0x55); return;
      case 0xab: this.emit(0x00); return;
      case 0xad: this.ram[0] |= CB_KBD_OFF; return;
      case 0xae: this.ram[0] &= ~CB_KBD_OFF; this.fill(); return;
      // Input port (AT): [7] keyboard not inhibited | [6] 0 = colour display | [5] no
      // manufacturing jumper | [4] 0 = 512 KB on the system board.
      case 0xc0: this.emit(0xa0); return;
      case 0xd0: this.emit(this.readOutputPort()); return;
      case 0xdd: this.writeOutputPort(this.outputPort & ~2); return;
      case 0xdf: this.writeOutputPort(this.outputPort | 2); return;
      case 0xe0: this.emit(0x00); return;
    }
  }

  private readOutputPort(): number {
    let v = this.outputPort & ~0x30;
    if (this.obf >= 0) v |= this.obfAux ? 0x20 : 0x10;
    return v;
  }

  private writeOutputPort(v: number): void {
    const old = this.outputPort;
    this.outputPort = v | 0x01; // the reset line returns high after the pulse
    if (((old ^ v) & 2) !== 0) this.callbacks.setA20?.((v & 2) !== 0);
    if ((v & 1) === 0) this.pulseReset();
  }

  private pulseReset(): void { this.callbacks.reset?.(); }

  // ---- output buffer ----

  private emit(b: number): void { this.ctrlQueue.push(b); this.fill(); }

  /** Moves the next byte into the output buffer if it is empty. */
  private fill(): void {
    if (this.obf >= 0) return;
    if (this.ctrlQueue.length > 0) {
      const b = this.ctrlQueue.shift()!;
      this.obf = b & 0xff; this.obfAux = (b & AUX) !== 0;
    } else {
      if ((this.ram[0] & CB_KBD_OFF) !== 0) return; // clock inhibited: the keyboard holds its data
      for (;;) {
        if (!this.keyboard.hasData()) return;
        const b = this.keyboard.take();
        if ((this.ram[0] & CB_XLAT) === 0) { this.obf = b; break; }
        if (b === 0xf0) { this.breakPrefix = true; continue; }
        this.obf = SET2_TO_SET1[b] | (this.breakPrefix ? 0x80 : 0);
        this.breakPrefix = false;
        break;
      }
      this.obfAux = false;
    }
    this.updateIrq();
  }

  private updateIrq(): void {
    const full = this.obf >= 0;
    this.irq1?.set(full && !this.obfAux && (this.ram[0] & CB_IRQ1) !== 0);
    this.irq12?.set(full && this.obfAux && (this.ram[0] & CB_IRQ12) !== 0);
  }

  state(): Record<string, unknown> {
    return {
      status: this.readStatus(), commandByte: this.ram[0], outputPort: this.readOutputPort(), a20: this.a20,
      outputBuffer: this.obf >= 0 ? this.obf : null, outputIsAux: this.obfAux, controllerQueue: [...this.ctrlQueue],
      pendingCommand: this.pendingCmd || null, keyboard: this.keyboard.state(),
    };
  }
}
