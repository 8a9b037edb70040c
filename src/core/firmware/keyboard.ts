// Keyboard: the IRQ1 scancode translation (INT 09h, scancode set 1 as the 8042 delivers it with
// translation on) into the BDA ring buffer, and INT 16h. US layout. BDA: 0x417/0x418 shift
// flags, 0x41A head, 0x41C tail, 0x480/0x482 buffer start/end (offsets from 0x400), 0x496 [1]
// last code was E0h (RBIL MEMORY.LST; IBM PC AT Technical Reference, keyboard BIOS).
//
// 0x417: [7] insert | [6] caps lock | [5] num lock | [4] scroll lock | [3] alt | [2] ctrl |
//        [1] left shift | [0] right shift
import { AH, AL, AX, CX, setCF, setZF, waitAndRetry, type BiosCtx } from './context';
import { BDA } from './layout';

// Set-1 make codes 0x00-0x39 -> [unshifted, shifted] ASCII (0 = none).
const NORMAL = "\0\x1b1234567890-=\b\tqwertyuiop[]\r\0asdfghjkl;'`\0\\zxcvbnm,./\0*\0 ";
const SHIFTED = "\0\x1b!@#$%^&*()_+\b\tQWERTYUIOP{}\r\0ASDFGHJKL:\"~\0|ZXCVBNM<>?\0*\0 ";
// Keypad 0x47-0x53 with num lock: ASCII digits.
const KEYPAD = '789-456+1230.';

export class Keyboard {
  constructor(private readonly b: BiosCtx) {}

  private get m() { return this.b.mem; }

  /** Appends a key word (scancode << 8 | ascii); false when the buffer is full. */
  push(word: number): boolean {
    const m = this.m;
    const start = m.read16(BDA.KBD_START), end = m.read16(BDA.KBD_END);
    const tail = m.read16(BDA.KBD_TAIL);
    let next = tail + 2;
    if (next >= end) next = start;
    if (next === m.read16(BDA.KBD_HEAD)) return false;
    m.write16(0x400 + tail, word);
    m.write16(BDA.KBD_TAIL, next);
    return true;
  }

  private peek(): number | null {
    const m = this.m, head = m.read16(BDA.KBD_HEAD);
    return head === m.read16(BDA.KBD_TAIL) ? null : m.read16(0x400 + head);
  }

  private pop(): number | null {
    const m = this.m, head = m.read16(BDA.KBD_HEAD);
    if (head === m.read16(BDA.KBD_TAIL)) return null;
    const w = m.read16(0x400 + head);
    let next = head + 2;
    if (next >= m.read16(BDA.KBD_END)) next = m.read16(BDA.KBD_START);
    m.write16(BDA.KBD_HEAD, next);
    return w;
  }

  /** IRQ1: one scancode (AL). */
  scancode(code: number): void {
    const m = this.m;
    let f0 = m.read8(BDA.KBD_FLAGS0), f1 = m.read8(BDA.KBD_FLAGS1);
    const f3 = m.read8(BDA.KBD_FLAGS3);
    if (code === 0xe0 || code === 0xe1) { m.write8(BDA.KBD_FLAGS3, f3 | 0x02); return; }
    const ext = (f3 & 0x02) !== 0;
    m.write8(BDA.KBD_FLAGS3, f3 & ~0x02);
    const brk = (code & 0x80) !== 0, make = code & 0x7f;
    const modifier = (bit: number, bit1: number): void => {
      if (brk) { f0 &= ~bit; f1 &= ~bit1; } else { f0 |= bit; f1 |= bit1; }
    };
    switch (make) {
      case 0x2a: if (!ext) modifier(0x02, 0); break; // left shift (E0 2A is a fake shift)
      case 0x36: if (!ext) modifier(0x01, 0); break;
      case 0x1d: modifier(0x04, ext ? 0 : 0x01); break;
      case 0x38: modifier(0x08, ext ? 0 : 0x02); break;
      case 0x3a: if (!brk && (f1 & 0x40) === 0) f0 ^= 0x40; f1 = brk ? f1 & ~0x40 : f1 | 0x40; break;
      case 0x45: if (!brk && (f1 & 0x20) === 0) f0 ^= 0x20; f1 = brk ? f1 & ~0x20 : f1 | 0x20; break;
      case 0x46: if (!brk && (f1 & 0x10) === 0) f0 ^= 0x10; f1 = brk ? f1 & ~0x10 : f1 | 0x10; break;
      default:
        if (!brk) this.key(make, ext, f0);
    }
    m.write8(BDA.KBD_FLAGS0, f0); m.write8(BDA.KBD_FLAGS1, f1);
  }

  private key(make: number, ext: boolean, f0: number): void {
    const shift = (f0 & 0x03) !== 0, ctrl = (f0 & 0x04) !== 0, alt = (f0 & 0x08) !== 0;
    let ascii = 0, scan = make;
    if (ext) {
      if (make === 0x1c) ascii = 0x0d; // keypad Enter
      else if (make === 0x35) ascii = 0x2f; // keypad /
      else ascii = 0xe0; // grey cursor keys: E0 marks them for INT 16h AH=10h
    } else if (make < NORMAL.length) {
      ascii = (shift ? SHIFTED : NORMAL).charCodeAt(make);
      const letter = (ascii | 0x20) >= 0x61 && (ascii | 0x20) <= 0x7a;
      if (letter && (f0 & 0x40) !== 0) ascii ^= 0x20; // caps lock inverts letter case
      if (alt) ascii = 0;
      else if (ctrl) ascii = letter ? (ascii & 0x1f) : make === 0x0e ? 0x7f : make === 0x1c ? 0x0a : 0;
    } else if (make >= 0x3b && make <= 0x44) { // F1-F10
      if (shift) scan = make + 0x19; else if (ctrl) scan = make + 0x23; else if (alt) scan = make + 0x2d;
    } else if (make >= 0x47 && make <= 0x53) {
      if (((f0 & 0x20) !== 0) !== shift) ascii = KEYPAD.charCodeAt(make - 0x47);
    } else if (make === 0x57 || make === 0x58) { // F11, F12
      scan = make + 0x2e;
    }
    if (ascii === 0 && scan === 0) return;
    this.push((scan << 8) | ascii);
  }

  /** INT 16h. */
  service(): void {
    const c = this.b.cpu, r8 = c.r8, fn = r8[AH];
    switch (fn) {
      case 0x00: case 0x10: {
        const w = this.pop();
        if (w === null) { waitAndRetry(this.b); return; }
        c.r16[AX] = fn === 0x00 && (w & 0xff) === 0xe0 && (w >> 8) !== 0 ? w & 0xff00 : w;
        break;
      }
      case 0x01: case 0x11: {
        const w = this.peek();
        setZF(this.b, w === null);
        if (w !== null) c.r16[AX] = fn === 0x01 && (w & 0xff) === 0xe0 && (w >> 8) !== 0 ? w & 0xff00 : w;
        break;
      }
      case 0x02: r8[AL] = this.m.read8(BDA.KBD_FLAGS0); break;
      case 0x12: r8[AL] = this.m.read8(BDA.KBD_FLAGS0); r8[AH] = this.m.read8(BDA.KBD_FLAGS1); break;
      case 0x03: break; // typematic: accepted
      case 0x05: r8[AL] = this.push(c.r16[CX]) ? 0 : 1; setCF(this.b, r8[AL] !== 0); break;
      default: break;
    }
  }
}
