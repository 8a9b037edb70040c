// Child process of bench/run.mjs: boots the bench-cpu image as a floppy on the npm `v86`
// package (SeaBIOS from Debian) and prints one JSON line with the checksum and the wall time
// between the guest's start and end markers (BIOS boot excluded). v86 is a benchmark
// reference only (devDependency), never a product dependency.
//   node bench/v86-bench.mjs <image> <rounds> <jit|nojit>
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const [imagePath, roundsArg, mode] = process.argv.slice(2);
const rounds = Number(roundsArg);
const require = createRequire(import.meta.url);
const v86Dir = dirname(require.resolve('v86/package.json'));
const { V86 } = await import('v86');

const BIOS = process.env.VMXLAB_SEABIOS ?? '/usr/share/seabios/bios.bin';
const VGABIOS = process.env.VMXLAB_VGABIOS ?? '/usr/share/seabios/vgabios-stdvga.bin';
const image = readFileSync(imagePath);
const floppy = new Uint8Array(1474560);
floppy.set(image);

const toAB = (b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
const emulator = new V86({
  wasm_path: join(v86Dir, 'build', 'v86.wasm'),
  bios: { buffer: toAB(readFileSync(BIOS)) },
  vga_bios: { buffer: toAB(readFileSync(VGABIOS)) },
  fda: { buffer: floppy.buffer },
  memory_size: 64 << 20,
  autostart: true,
  disable_jit: mode === 'nojit',
  disable_keyboard: true,
  disable_mouse: true,
  disable_speaker: true,
});

const startMarker = `BENCH START iter=${rounds}\n`;
let out = '';
let t0 = 0, tStart = 0;
const timeout = setTimeout(() => {
  console.error(`v86 (${mode}): timed out; serial so far:\n${out}`);
  process.exit(2);
}, Number(process.env.VMXLAB_V86_TIMEOUT_MS ?? 600_000));

emulator.add_listener('emulator-started', () => { t0 = performance.now(); });
emulator.add_listener('serial0-output-byte', (byte) => {
  out += String.fromCharCode(byte);
  if (tStart === 0 && out.endsWith(startMarker)) tStart = performance.now();
  if (out.endsWith('BENCH DONE\n')) {
    const tEnd = performance.now();
    clearTimeout(timeout);
    const m = /BENCH checksum=([0-9a-f]{8})\n/.exec(out);
    process.stdout.write(JSON.stringify({
      checksum: m ? m[1] : null,
      seconds: (tEnd - tStart) / 1000,
      bootSeconds: (tStart - t0) / 1000,
    }) + '\n');
    emulator.stop();
    process.exit(0);
  }
});
