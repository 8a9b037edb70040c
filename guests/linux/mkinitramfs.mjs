#!/usr/bin/env node
// Builds the boot-ladder initramfs (gzip'd cpio "newc") from a busybox-static binary and
// guests/linux/init, without needing the cpio tool:  node mkinitramfs.mjs <busybox> <out.gz>
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [busybox, out] = process.argv.slice(2);
if (!busybox || !out) { console.error('usage: mkinitramfs.mjs <busybox-static binary> <out.gz>'); process.exit(2); }
const here = dirname(fileURLToPath(import.meta.url));
const chunks = [];
let ino = 1, size = 0;
const push = (b) => { chunks.push(b); size += b.length; };
const pad = () => { const n = (4 - (size % 4)) % 4; if (n) push(Buffer.alloc(n)); };
function entry(name, mode, data = Buffer.alloc(0), nlink = 1) {
  const nameZ = Buffer.from(name + '\0');
  const f = [ino++, mode, 0, 0, nlink, 0, data.length, 0, 0, 0, 0, nameZ.length, 0];
  push(Buffer.from('070701' + f.map((v) => v.toString(16).toUpperCase().padStart(8, '0')).join('')));
  push(nameZ); pad(); push(data); pad();
}
const DIR = 0o040755, FILE = 0o100755, CHR = 0o020600;
for (const d of ['bin', 'proc', 'sys', 'dev']) entry(d, DIR, undefined, 2);
entry('dev/console', CHR);
entry('bin/busybox', FILE, readFileSync(busybox));
entry('init', FILE, readFileSync(join(here, 'init')));
entry('TRAILER!!!', 0);
writeFileSync(out, gzipSync(Buffer.concat(chunks), { level: 9 }));
console.log(`wrote ${out}`);
