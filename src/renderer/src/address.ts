// Parsing what the user types as an address: hexadecimal, with or without 0x, '_' and spaces
// allowed as separators ("0x000B_8000"), at most 32 bits (vmxlab's physical and linear addresses).

/** The address, or a message saying what is wrong with the text. */
export function parseAddress(text: string): number | string {
  const t = text.trim().replace(/[_\s]/g, '');
  if (t === '') return 'Enter an address in hex, e.g. 0xB8000.';
  const digits = /^0x/i.test(t) ? t.slice(2) : t;
  if (!/^[0-9a-f]+$/i.test(digits)) return `'${text.trim()}' is not a hex address (digits 0-9, A-F, optionally after 0x).`;
  const v = parseInt(digits, 16);
  if (digits.replace(/^0+/, '').length > 8 || v > 0xffffffff) return `${text.trim()} is above 0xFFFFFFFF: addresses here are 32 bits.`;
  return v;
}
