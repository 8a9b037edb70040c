#!/usr/bin/env node
// Draws build/icon.png (512x512 RGBA): a chip on a rounded square. Pure Node (zlib), no deps.
// Run again after changing it: node scripts/make-icon.mjs
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { deflateSync } from 'node:zlib';
import { root } from './esbuild-node.mjs';

const S = 512;
const px = Buffer.alloc(S * S * 4);

function blend(x, y, [r, g, b], a = 1) {
  if (x < 0 || y < 0 || x >= S || y >= S || a <= 0) return;
  const i = (y * S + x) * 4;
  const inv = 1 - a;
  px[i] = Math.round(r * a + px[i] * inv);
  px[i + 1] = Math.round(g * a + px[i + 1] * inv);
  px[i + 2] = Math.round(b * a + px[i + 2] * inv);
  px[i + 3] = Math.round(255 * a + px[i + 3] * inv);
}

/** Coverage (0..1) of pixel (x, y) by a rounded rectangle, 4x4 supersampled. */
function roundRect(x0, y0, x1, y1, rad, color) {
  for (let y = Math.floor(y0); y < Math.ceil(y1); y++) {
    for (let x = Math.floor(x0); x < Math.ceil(x1); x++) {
      let hit = 0;
      for (let sy = 0; sy < 4; sy++) {
        for (let sx = 0; sx < 4; sx++) {
          const fx = x + (sx + 0.5) / 4;
          const fy = y + (sy + 0.5) / 4;
          if (fx < x0 || fx > x1 || fy < y0 || fy > y1) continue;
          const cx = Math.min(Math.max(fx, x0 + rad), x1 - rad);
          const cy = Math.min(Math.max(fy, y0 + rad), y1 - rad);
          if ((fx - cx) ** 2 + (fy - cy) ** 2 <= rad * rad) hit++;
        }
      }
      blend(x, y, typeof color === 'function' ? color(x, y) : color, hit / 16);
    }
  }
}

// Background: rounded square, vertical gradient.
roundRect(16, 16, 496, 496, 96, (_x, y) => {
  const t = y / S;
  return [Math.round(24 + 20 * t), Math.round(52 + 40 * t), Math.round(120 + 60 * t)];
});

// Pins on all four sides.
const pin = [190, 205, 225];
for (let k = 0; k < 6; k++) {
  const p = 150 + k * 44;
  roundRect(p - 9, 92, p + 9, 140, 4, pin);
  roundRect(p - 9, 372, p + 9, 420, 4, pin);
  roundRect(92, p - 9, 140, p + 9, 4, pin);
  roundRect(372, p - 9, 420, p + 9, 4, pin);
}

// Chip body, then a nested "guest" die inside: the VM in the CPU.
roundRect(128, 128, 384, 384, 28, [236, 240, 247]);
roundRect(150, 150, 362, 362, 20, [30, 41, 59]);
roundRect(196, 196, 316, 316, 16, [56, 189, 248]);
roundRect(226, 226, 286, 286, 10, [30, 41, 59]);

// PNG encoding.
const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

const ihdr = Buffer.alloc(13);
ihdr.writeUInt32BE(S, 0);
ihdr.writeUInt32BE(S, 4);
ihdr[8] = 8; // bit depth
ihdr[9] = 6; // RGBA
const raw = Buffer.alloc((S * 4 + 1) * S);
for (let y = 0; y < S; y++) {
  raw[y * (S * 4 + 1)] = 0; // filter: none
  px.copy(raw, y * (S * 4 + 1) + 1, y * S * 4, (y + 1) * S * 4);
}
const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', ihdr),
  chunk('IDAT', deflateSync(raw, { level: 9 })),
  chunk('IEND', Buffer.alloc(0)),
]);

const out = resolve(root, 'build/icon.png');
writeFileSync(out, png);
console.log(`wrote build/icon.png (${S}x${S}, ${png.length} bytes)`);
