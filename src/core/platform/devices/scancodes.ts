// PC keyboard scan codes. Keys are named by W3C UI Events KeyboardEvent.code values
// ('KeyA', 'Enter', 'ShiftLeft', 'ArrowUp', ...; https://www.w3.org/TR/uievents-code/).
//
// The keyboard itself speaks scan code set 2 (the AT/PS/2 default); set 1 (XT) codes are what
// the 8042 produces when its translation bit is on, and what a keyboard switched to set 1
// sends. Set-1 codes here are derived from set 2 through the 8042 translation table, exactly
// as the controller would translate them.
//
// Source: Andries Brouwer, "Keyboard scancodes" (https://www.win.tue.nl/~aeb/linux/kbd/scancodes.html),
// §1 (set 1), §10 (set 2 and the 8042 translation table); Microsoft "Keyboard Scan Code
// Specification" rev 1.3a, Appendix A (set 1 / set 2 per key).

/** Set-2 make codes: one byte, or [0xE0, byte] for extended keys. Break = make with 0xF0 before the last byte. */
const SET2: Record<string, number | readonly number[]> = {
  Escape: 0x76, F1: 0x05, F2: 0x06, F3: 0x04, F4: 0x0c, F5: 0x03, F6: 0x0b, F7: 0x83, F8: 0x0a,
  F9: 0x01, F10: 0x09, F11: 0x78, F12: 0x07,
  Backquote: 0x0e, Digit1: 0x16, Digit2: 0x1e, Digit3: 0x26, Digit4: 0x25, Digit5: 0x2e, Digit6: 0x36,
  Digit7: 0x3d, Digit8: 0x3e, Digit9: 0x46, Digit0: 0x45, Minus: 0x4e, Equal: 0x55, Backspace: 0x66,
  Tab: 0x0d, KeyQ: 0x15, KeyW: 0x1d, KeyE: 0x24, KeyR: 0x2d, KeyT: 0x2c, KeyY: 0x35, KeyU: 0x3c,
  KeyI: 0x43, KeyO: 0x44, KeyP: 0x4d, BracketLeft: 0x54, BracketRight: 0x5b, Backslash: 0x5d,
  CapsLock: 0x58, KeyA: 0x1c, KeyS: 0x1b, KeyD: 0x23, KeyF: 0x2b, KeyG: 0x34, KeyH: 0x33, KeyJ: 0x3b,
  KeyK: 0x42, KeyL: 0x4b, Semicolon: 0x4c, Quote: 0x52, Enter: 0x5a,
  ShiftLeft: 0x12, IntlBackslash: 0x61, KeyZ: 0x1a, KeyX: 0x22, KeyC: 0x21, KeyV: 0x2a, KeyB: 0x32,
  KeyN: 0x31, KeyM: 0x3a, Comma: 0x41, Period: 0x49, Slash: 0x4a, ShiftRight: 0x59,
  ControlLeft: 0x14, MetaLeft: [0xe0, 0x1f], AltLeft: 0x11, Space: 0x29, AltRight: [0xe0, 0x11],
  MetaRight: [0xe0, 0x27], ContextMenu: [0xe0, 0x2f], ControlRight: [0xe0, 0x14],
  Insert: [0xe0, 0x70], Home: [0xe0, 0x6c], PageUp: [0xe0, 0x7d], Delete: [0xe0, 0x71], End: [0xe0, 0x69],
  PageDown: [0xe0, 0x7a], ArrowUp: [0xe0, 0x75], ArrowLeft: [0xe0, 0x6b], ArrowDown: [0xe0, 0x72],
  ArrowRight: [0xe0, 0x74],
  NumLock: 0x77, NumpadDivide: [0xe0, 0x4a], NumpadMultiply: 0x7c, NumpadSubtract: 0x7b, Numpad7: 0x6c,
  Numpad8: 0x75, Numpad9: 0x7d, NumpadAdd: 0x79, Numpad4: 0x6b, Numpad5: 0x73, Numpad6: 0x74,
  Numpad1: 0x69, Numpad2: 0x72, Numpad3: 0x7a, Numpad0: 0x70, NumpadDecimal: 0x71, NumpadEnter: [0xe0, 0x5a],
  ScrollLock: 0x7e,
  IntlRo: 0x51, IntlYen: 0x6a, KanaMode: 0x13, Convert: 0x64, NonConvert: 0x67,
};

/** Keys whose set-2 sequences are not "make, then F0 before the last byte". */
const SPECIAL_SET2: Record<string, { make: readonly number[]; brk: readonly number[] }> = {
  // Print Screen without modifiers: fake left shift + E0 7C.
  PrintScreen: { make: [0xe0, 0x12, 0xe0, 0x7c], brk: [0xe0, 0xf0, 0x7c, 0xe0, 0xf0, 0x12] },
  // Pause sends make and break together on press, nothing on release.
  Pause: { make: [0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77], brk: [] },
};

// The 8042 set 2 -> set 1 translation table (Brouwer §10.3). Bytes 0x85-0xFF pass unchanged;
// 0xF0 is not in the table: it makes the controller OR 0x80 into the next translated byte.
// prettier-ignore
const XLAT_LOW = [
  0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58, 0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29, 0x59, // 00
  0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a, 0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b, // 10
  0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c, 0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d, // 20
  0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e, 0x6a, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5f, // 30
  0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60, 0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61, // 40
  0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e, 0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76, // 50
  0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b, 0x7c, 0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f, // 60
  0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45, 0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54, // 70
  0x80, 0x81, 0x82, 0x41, 0x54,                                                                   // 80
];

/** Translation of one set-2 byte to set 1 (without the break bit). */
export const SET2_TO_SET1 = new Uint8Array(256);
for (let b = 0; b < 256; b++) SET2_TO_SET1[b] = b < XLAT_LOW.length ? XLAT_LOW[b] : b;

/** Translates a set-2 byte sequence the way the 8042 does with translation on. */
export function translateSet2(bytes: readonly number[]): number[] {
  const out: number[] = [];
  let brk = false;
  for (const b of bytes) {
    if (b === 0xf0) { brk = true; continue; }
    out.push(SET2_TO_SET1[b] | (brk ? 0x80 : 0));
    brk = false;
  }
  return out;
}

export interface ScanSequences { readonly make: readonly number[]; readonly brk: readonly number[] }

function buildSet2(): Map<string, ScanSequences> {
  const m = new Map<string, ScanSequences>();
  for (const [code, v] of Object.entries(SET2)) {
    const make = typeof v === 'number' ? [v] : [...v];
    m.set(code, { make, brk: [...make.slice(0, -1), 0xf0, make[make.length - 1]] });
  }
  for (const [code, s] of Object.entries(SPECIAL_SET2)) m.set(code, s);
  return m;
}

const set2Map = buildSet2();
const set1Map = new Map<string, ScanSequences>();
for (const [code, s] of set2Map) set1Map.set(code, { make: translateSet2(s.make), brk: translateSet2(s.brk) });

/** Make/break sequences for a KeyboardEvent.code in scan code set 1 or 2, or undefined if unknown. */
export function scanCodes(code: string, set: 1 | 2): ScanSequences | undefined {
  return (set === 1 ? set1Map : set2Map).get(code);
}

/** All KeyboardEvent.code names with a scan code. */
export function knownKeyCodes(): string[] { return [...set2Map.keys()]; }

// US layout: ASCII character -> key and whether Shift is needed.
const UNSHIFTED: Record<string, string> = {
  '`': 'Backquote', '-': 'Minus', '=': 'Equal', '[': 'BracketLeft', ']': 'BracketRight', '\\': 'Backslash',
  ';': 'Semicolon', "'": 'Quote', ',': 'Comma', '.': 'Period', '/': 'Slash', ' ': 'Space',
  '\n': 'Enter', '\r': 'Enter', '\t': 'Tab', '\b': 'Backspace', '\x1b': 'Escape',
};
const SHIFTED: Record<string, string> = {
  '~': 'Backquote', '!': 'Digit1', '@': 'Digit2', '#': 'Digit3', '$': 'Digit4', '%': 'Digit5', '^': 'Digit6',
  '&': 'Digit7', '*': 'Digit8', '(': 'Digit9', ')': 'Digit0', '_': 'Minus', '+': 'Equal', '{': 'BracketLeft',
  '}': 'BracketRight', '|': 'Backslash', ':': 'Semicolon', '"': 'Quote', '<': 'Comma', '>': 'Period', '?': 'Slash',
};

/** The key (and Shift state) that types `ch` on a US keyboard, or undefined. */
export function keyForChar(ch: string): { code: string; shift: boolean } | undefined {
  if (ch >= 'a' && ch <= 'z') return { code: `Key${ch.toUpperCase()}`, shift: false };
  if (ch >= 'A' && ch <= 'Z') return { code: `Key${ch}`, shift: true };
  if (ch >= '0' && ch <= '9') return { code: `Digit${ch}`, shift: false };
  if (ch in UNSHIFTED) return { code: UNSHIFTED[ch], shift: false };
  if (ch in SHIFTED) return { code: SHIFTED[ch], shift: true };
  return undefined;
}
