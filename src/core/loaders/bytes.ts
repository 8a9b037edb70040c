// Little-endian field access on image bytes and guest RAM (x86 byte order), bounds-checked
// reads for untrusted images.

export function rd8(b: Uint8Array, off: number): number { return b[off] ?? 0; }
export function rd16(b: Uint8Array, off: number): number { return (b[off] ?? 0) | ((b[off + 1] ?? 0) << 8); }
export function rd32(b: Uint8Array, off: number): number { return (rd16(b, off) | (rd16(b, off + 2) << 16)) >>> 0; }

export function wr8(b: Uint8Array, off: number, v: number): void { b[off] = v & 0xff; }
export function wr16(b: Uint8Array, off: number, v: number): void { b[off] = v & 0xff; b[off + 1] = (v >>> 8) & 0xff; }
export function wr32(b: Uint8Array, off: number, v: number): void { wr16(b, off, v & 0xffff); wr16(b, off + 2, v >>> 16); }
/** 64-bit field from a JS number below 2^53. */
export function wr64(b: Uint8Array, off: number, v: number): void { wr32(b, off, v % 0x100000000); wr32(b, off + 4, Math.floor(v / 0x100000000)); }

/** ASCII/Latin-1 text of `len` bytes (no decoding beyond one char per byte). */
export function ascii(b: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let i = off; i < off + len && i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

/** Bytes of `s` (one byte per char, low 8 bits) followed by a NUL. */
export function cstring(s: string): Uint8Array {
  const out = new Uint8Array(s.length + 1);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

export const hex = (v: number, digits = 0): string => '0x' + (v >>> 0).toString(16).toUpperCase().padStart(digits, '0');
