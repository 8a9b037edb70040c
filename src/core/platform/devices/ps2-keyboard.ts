// A PS/2 (MF II) keyboard as seen through the keyboard controller's data line.
//
// Source: IBM Personal System/2 Keyboard and Auxiliary Device Controller technical reference
// (keyboard commands); Brouwer, "Keyboard scancodes" §12-13 (commands and replies);
// OSDev wiki "PS/2 Keyboard" (command table).
//
// Commands (host -> keyboard), all acknowledged with 0xFA unless noted:
//   0xED  set LEDs, argument [2] caps | [1] num | [0] scroll
//   0xEE  echo: replies 0xEE (no ACK)
//   0xF0  scan code set, argument 0 = report (ACK, then 1/2/3), 1/2 = select; 3 is not
//         supported by this model and answered with 0xFE (resend)
//   0xF2  identify: ACK, 0xAB, 0x83 (MF II keyboard)
//   0xF3  typematic rate/delay, argument [6:5] delay | [4:0] rate (stored; no auto-repeat)
//   0xF4  enable scanning; 0xF5 disable scanning and restore defaults; 0xF6 restore defaults
//   0xF7-0xFD  set-3 key type commands: acknowledged, ignored
//   0xFE  resend the last byte sent
//   0xFF  reset: ACK, then BAT result 0xAA; defaults restored, scanning enabled
//   other: 0xFE (resend)
// A command byte arriving while an argument is expected is taken as a new command.
//
// Host input: `keyDown`/`keyUp` with KeyboardEvent.code names (or raw byte sequences) queue
// make/break codes in the current set. The host queue is unbounded (it stands for a user who
// types no faster than the guest reads), so no key is lost to the keyboard's 16-byte buffer.
// Not modelled: typematic auto-repeat (call keyDown again to repeat), the Num Lock
// dependent fake-shift prefixes on the navigation keys, scan code set 3, the 500 ms BAT delay.
import { keyForChar, scanCodes } from './scancodes';

/** A device on one PS/2 port, from the controller's side. */
export interface Ps2Device {
  /** A byte the controller sends to the device. */
  write(byte: number): void;
  /** True when the device has a byte to send. */
  hasData(): boolean;
  /** Removes and returns the next byte (only when hasData()). */
  take(): number;
  reset(): void;
  /** Set by the controller: called when new data becomes available. */
  notify: (() => void) | null;
}

const ACK = 0xfa, RESEND = 0xfe;

export class Ps2Keyboard implements Ps2Device {
  notify: (() => void) | null = null;
  /** Replies to commands; sent before any scan code. */
  private replies: number[] = [];
  /** Scan codes from host key input. */
  private keys: number[] = [];
  private keyHead = 0;
  private scanSet: 1 | 2 = 2;
  private scanning = true;
  private leds = 0;
  private typematic = 0x2b;
  /** Command whose argument byte is awaited, or 0. */
  private expecting = 0;
  private lastSent = 0xaa;

  reset(): void {
    this.replies = []; this.keys = []; this.keyHead = 0;
    this.scanSet = 2; this.scanning = true; this.leds = 0; this.typematic = 0x2b;
    this.expecting = 0; this.lastSent = 0xaa;
  }

  hasData(): boolean { return this.replies.length > 0 || (this.scanning && this.keyHead < this.keys.length); }

  take(): number {
    let b: number;
    if (this.replies.length > 0) b = this.replies.shift()!;
    else {
      b = this.keys[this.keyHead++];
      if (this.keyHead === this.keys.length) { this.keys = []; this.keyHead = 0; }
    }
    this.lastSent = b;
    return b;
  }

  private reply(...bytes: number[]): void {
    this.replies.push(...bytes);
    if (this.notify !== null) this.notify();
  }

  private defaults(): void { this.scanSet = 2; this.typematic = 0x2b; this.leds = 0; }

  write(byte: number): void {
    byte &= 0xff;
    const pending = this.expecting;
    if (pending !== 0 && byte < 0xed) {
      this.expecting = 0;
      switch (pending) {
        case 0xed: this.leds = byte & 7; this.reply(ACK); return;
        case 0xf3: this.typematic = byte & 0x7f; this.reply(ACK); return;
        case 0xf0:
          if (byte === 0) this.reply(ACK, this.scanSet);
          else if (byte === 1 || byte === 2) { this.scanSet = byte; this.reply(ACK); }
          else this.reply(RESEND);
          return;
      }
    }
    this.expecting = 0;
    switch (byte) {
      case 0xed: case 0xf0: case 0xf3: this.expecting = byte; this.reply(ACK); return;
      case 0xee: this.reply(0xee); return;
      case 0xf2: this.reply(ACK, 0xab, 0x83); return;
      case 0xf4: this.scanning = true; this.reply(ACK); return;
      case 0xf5: this.scanning = false; this.defaults(); this.clearKeys(); this.reply(ACK); return;
      case 0xf6: this.defaults(); this.clearKeys(); this.reply(ACK); return;
      case 0xf7: case 0xf8: case 0xf9: case 0xfa: case 0xfb: case 0xfc: case 0xfd: this.reply(ACK); return;
      case 0xfe: this.reply(this.lastSent); return;
      case 0xff: this.defaults(); this.scanning = true; this.clearKeys(); this.replies = []; this.reply(ACK, 0xaa); return;
      default: this.reply(RESEND);
    }
  }

  private clearKeys(): void { this.keys = []; this.keyHead = 0; }

  private queue(bytes: readonly number[]): void {
    if (!this.scanning || bytes.length === 0) return; // scanning disabled: keys are not seen
    for (const b of bytes) this.keys.push(b & 0xff);
    if (this.notify !== null) this.notify();
  }

  /** Presses a key (KeyboardEvent.code) or sends raw bytes. False for an unknown key name. */
  keyDown(code: string | readonly number[]): boolean {
    if (typeof code !== 'string') { this.queue(code); return true; }
    const s = scanCodes(code, this.scanSet);
    if (s === undefined) return false;
    this.queue(s.make);
    return true;
  }

  /** Releases a key (KeyboardEvent.code) or sends raw bytes. False for an unknown key name. */
  keyUp(code: string | readonly number[]): boolean {
    if (typeof code !== 'string') { this.queue(code); return true; }
    const s = scanCodes(code, this.scanSet);
    if (s === undefined) return false;
    this.queue(s.brk);
    return true;
  }

  /** Types ASCII text on a US layout (Shift held for shifted characters). Returns the characters skipped. */
  typeText(text: string): string {
    let skipped = '';
    for (const ch of text) {
      const k = keyForChar(ch);
      if (k === undefined) { skipped += ch; continue; }
      if (k.shift) this.keyDown('ShiftLeft');
      this.keyDown(k.code); this.keyUp(k.code);
      if (k.shift) this.keyUp('ShiftLeft');
    }
    return skipped;
  }

  state(): Record<string, unknown> {
    return {
      scanSet: this.scanSet, scanning: this.scanning, leds: this.leds, typematic: this.typematic,
      expecting: this.expecting, pendingReplies: [...this.replies], pendingKeyBytes: this.keys.length - this.keyHead,
    };
  }
}
