// The BIOS character generator fonts (8x8 and 8x16), generated here rather than copied from
// any existing ROM: printable ASCII glyphs are drawn on a 5x7 grid (plus one descender row)
// by this project; a few CP437 block/shade characters are generated from rules. Other code
// points are blank. Layout: 256 glyphs, one byte per scan line, bit 7 = leftmost pixel, as the
// VGA character generator and INT 10h AX=1130h expect.

// 0x20..0x7E: 8 rows each as 5-bit values (bit 4 = left column), written as 16 hex digits.
const ASCII_5X8 = [
  '0000000000000000', '0404040404000400', '0a0a0a0000000000', '0a0a1f0a1f0a0a00', // space ! " #
  '040f140e051e0400', '1819020408130300', '0c12140815120d00', '0c04080000000000', // $ % & '
  '0204080808040200', '0804020202040800', '0004150e15040000', '0004041f04040000', // ( ) * +
  '000000000c040800', '0000001f00000000', '00000000000c0c00', '0001020408100000', // , - . /
  '0e11131519110e00', '040c040404040e00', '0e11010204081f00', '1f02040201110e00', // 0 1 2 3
  '02060a121f020200', '1f101e0101110e00', '0608101e11110e00', '1f01020408080800', // 4 5 6 7
  '0e11110e11110e00', '0e11110f01020c00', '000c0c000c0c0000', '000c0c000c040800', // 8 9 : ;
  '0204081008040200', '00001f001f000000', '0804020102040800', '0e11010204000400', // < = > ?
  '0e11010d15150e00', '0e1111111f111100', '1e11111e11111e00', '0e11101010110e00', // @ A B C
  '1c12111111121c00', '1f10101e10101f00', '1f10101e10101000', '0e11101711110f00', // D E F G
  '1111111f11111100', '0e04040404040e00', '0702020202120c00', '1112141814121100', // H I J K
  '1010101010101f00', '111b151511111100', '1111191513111100', '0e11111111110e00', // L M N O
  '1e11111e10101000', '0e11111115120d00', '1e11111e14121100', '0f10100e01011e00', // P Q R S
  '1f04040404040400', '1111111111110e00', '11111111110a0400', '1111111515150a00', // T U V W
  '11110a040a111100', '1111110a04040400', '1f01020408101f00', '0e08080808080e00', // X Y Z [
  '0010080402010000', '0e02020202020e00', '040a110000000000', '0000000000001f00', // \ ] ^ _
  '0804020000000000', '00000e010f110f00', '1010161911111e00', '00000e1010110e00', // ` a b c
  '01010d1311110f00', '00000e111f100e00', '0609081c08080800', '00000f11110f010e', // d e f g
  '1010161911111100', '04000c0404040e00', '020006020202120c', '1010121418141200', // h i j k
  '0c04040404040e00', '00001a1515111100', '0000161911111100', '00000e1111110e00', // l m n o
  '00001e11111e1010', '00000f11110f0101', '0000161910101000', '00000e100e011e00', // p q r s
  '08081c0808090600', '0000111111130d00', '00001111110a0400', '0000111115150a00', // t u v w
  '0000110a040a1100', '00001111110f010e', '00001f0204081f00', '0204040804040200', // x y z {
  '0404040404040400', '0804040204040800', '0000081502000000', // | } ~
];

function glyphRows(code: number): number[] {
  const rows = new Array<number>(8).fill(0);
  if (code >= 0x20 && code <= 0x7e) {
    const hex = ASCII_5X8[code - 0x20];
    for (let r = 0; r < 8; r++) rows[r] = (parseInt(hex.slice(r * 2, r * 2 + 2), 16) & 0x1f) << 2; // centre 5 columns in 8
  }
  return rows;
}

/** CP437 shades and blocks (0xB0-0xB2, 0xDB-0xDF) for `height` scan lines; null when not one. */
function blockRow(code: number, row: number, height: number): number | null {
  switch (code) {
    case 0xb0: return row % 2 === 0 ? 0x88 : 0x22; // light shade
    case 0xb1: return row % 2 === 0 ? 0xaa : 0x55; // medium shade
    case 0xb2: return row % 2 === 0 ? 0xdd : 0x77; // dark shade
    case 0xdb: return 0xff; // full block
    case 0xdc: return row >= height / 2 ? 0xff : 0; // lower half
    case 0xdd: return 0xf0; // left half
    case 0xde: return 0x0f; // right half
    case 0xdf: return row < height / 2 ? 0xff : 0; // upper half
    default: return null;
  }
}

function build(height: 8 | 16): Uint8Array {
  const out = new Uint8Array(256 * height);
  for (let c = 0; c < 256; c++) {
    const rows = glyphRows(c);
    for (let r = 0; r < height; r++) {
      const b = blockRow(c, r, height);
      // 8x16: each 8x8 row doubled (lines 0-15); 8x8: rows as drawn.
      out[c * height + r] = b !== null ? b : rows[height === 16 ? r >> 1 : r];
    }
  }
  return out;
}

let font8: Uint8Array | null = null;
let font16: Uint8Array | null = null;
/** 256 glyphs x 8 bytes. */
export function font8x8(): Uint8Array { return (font8 ??= build(8)); }
/** 256 glyphs x 16 bytes. */
export function font8x16(): Uint8Array { return (font16 ??= build(16)); }
