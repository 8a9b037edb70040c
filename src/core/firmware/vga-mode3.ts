// Programming the VGA for text mode 3 (80x25, 16 colours, 9x16 cell, 720x400) through its
// ports, and loading the 8x16 font into plane 2. Register values are the standard mode-3 set
// as tabulated in the OSDev wiki "VGA Hardware" page (mode 03h) and FreeVGA's register
// reference; the font-loading sequence follows FreeVGA "Accessing the Display Memory".
import type { IoBus } from '../platform/io-bus';
import type { GuestMem } from './guest';
import { font8x16 } from './font';

const MISC = 0x67; // [7:6] sync polarity for 400 lines | [3:2] 28 MHz clock | [1] RAM on | [0] I/O at 3Dx
const SEQ = [0x03, 0x00, 0x03, 0x00, 0x02]; // reset, clocking (9-dot), map mask 0+1, char map, memory mode
const CRTC = [
  0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x50,
  0x9c, 0x0e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff,
];
const GC = [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff];
const ATTR = [
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
  0x0c, 0x00, 0x0f, 0x08, 0x00,
];

/** Writes the mode-3 register set and the default 64-entry EGA palette into the DAC. */
export function programMode3(io: IoBus): void {
  io.write(0x3c2, 1, MISC);
  io.write(0x3c4, 1, 0); io.write(0x3c5, 1, 0x01); // synchronous reset while reprogramming
  for (let i = 1; i < SEQ.length; i++) { io.write(0x3c4, 1, i); io.write(0x3c5, 1, SEQ[i]); }
  io.write(0x3c4, 1, 0); io.write(0x3c5, 1, SEQ[0]);
  io.write(0x3d4, 1, 0x11); io.write(0x3d5, 1, CRTC[0x11] & 0x7f); // unlock CRTC 0-7
  for (let i = 0; i < CRTC.length; i++) { io.write(0x3d4, 1, i); io.write(0x3d5, 1, CRTC[i]); }
  for (let i = 0; i < GC.length; i++) { io.write(0x3ce, 1, i); io.write(0x3cf, 1, GC[i]); }
  io.read(0x3da, 1); // reset the attribute controller's index/data flip-flop
  for (let i = 0; i < ATTR.length; i++) { io.write(0x3c0, 1, i); io.write(0x3c0, 1, ATTR[i]); }
  io.write(0x3c0, 1, 0x20); // palette address source: display on
  // DAC: the 64 EGA colours; 6-bit index rgbRGB -> 6-bit DAC levels (2/3 + 1/3 intensity).
  io.write(0x3c6, 1, 0xff);
  io.write(0x3c8, 1, 0);
  for (let i = 0; i < 64; i++) {
    io.write(0x3c9, 1, ((i >> 2) & 1) * 0x2a + ((i >> 5) & 1) * 0x15);
    io.write(0x3c9, 1, ((i >> 1) & 1) * 0x2a + ((i >> 4) & 1) * 0x15);
    io.write(0x3c9, 1, (i & 1) * 0x2a + ((i >> 3) & 1) * 0x15);
  }
}

/** Loads the 8x16 font into plane 2 (32-byte glyph slots at A000:0), then restores mode 3. */
export function loadFont(io: IoBus, g: GuestMem): void {
  const seq = (i: number, v: number): void => { io.write(0x3c4, 1, i); io.write(0x3c5, 1, v); };
  const gc = (i: number, v: number): void => { io.write(0x3ce, 1, i); io.write(0x3cf, 1, v); };
  seq(0, 0x01); seq(2, 0x04); seq(4, 0x06); seq(0, 0x03); // plane 2 only, odd/even off
  gc(4, 0x02); gc(5, 0x00); gc(6, 0x04); // read plane 2, write mode 0, A0000 64 KB
  const f = font8x16();
  for (let c = 0; c < 256; c++) {
    for (let r = 0; r < 16; r++) g.w8(0xa0000 + c * 32 + r, f[c * 16 + r]);
  }
  seq(0, 0x01); seq(2, SEQ[2]); seq(4, SEQ[4]); seq(0, 0x03);
  gc(4, GC[4]); gc(5, GC[5]); gc(6, GC[6]);
}
