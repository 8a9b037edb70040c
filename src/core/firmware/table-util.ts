// Little-endian field writers and the byte checksum shared by the ACPI and MP tables.
export const CHECKSUM_OEM = 'VMXLAB';

export function put16(t: Uint8Array, at: number, v: number): void { t[at] = v; t[at + 1] = v >>> 8; }
export function put32(t: Uint8Array, at: number, v: number): void {
  t[at] = v; t[at + 1] = v >>> 8; t[at + 2] = v >>> 16; t[at + 3] = v >>> 24;
}
/** Writes `s` as ASCII, space-padded to `len` bytes. */
export function putStr(t: Uint8Array, at: number, s: string, len: number): void {
  for (let i = 0; i < len; i++) t[at + i] = i < s.length ? s.charCodeAt(i) : 0x20;
}
/** The byte that makes the 8-bit sum of [at, at+len) zero (assuming it is currently 0). */
export function checksum(t: Uint8Array, at: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i++) s = (s + t[at + i]) & 0xff;
  return (0x100 - s) & 0xff;
}
/** 8-bit sum of [at, at+len). */
export function byteSum(t: Uint8Array, at: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i++) s = (s + t[at + i]) & 0xff;
  return s;
}
