// Helpers shared by the differential tests and the guest-image tests: where the guests are,
// assembling them, patching their run-time configuration blocks, running them on the testbed
// and on QEMU, and comparing transcripts line by line.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { Testbed, type RunUntilResult } from '../../src/core/platform/testbed';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const GUESTS = join(ROOT, 'guests');

/** The QEMU CPU model matching vmxlab's P6 model for what the guests look at (PSE, PAE, NX). */
export const QEMU_CPU = 'pentium3,+nx';

/** True when `cmd args` can be started and exits 0. */
export function hasCommand(cmd: string, args: string[] = ['--version']): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
  return r.error === undefined && r.status === 0;
}

export function readGuest(rel: string): Uint8Array {
  return new Uint8Array(readFileSync(join(GUESTS, rel)));
}

/** Assembles `guests/<dir>/<src>` with nasm (from its own directory, as guests/build.sh does). */
export function assemble(dir: string, src: string, flags: string[] = []): Uint8Array {
  const tmp = mkdtempSync(join(tmpdir(), 'vmxlab-nasm-'));
  try {
    const out = join(tmp, 'out.bin');
    const r = spawnSync('nasm', ['-f', 'bin', ...flags, src, '-o', out], { cwd: join(GUESTS, dir), encoding: 'utf8' });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`nasm ${flags.join(' ')} ${dir}/${src} failed:\n${r.stderr}`);
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Copy of `image` with little-endian dwords written right after the ASCII `signature`. */
export function patchConfig(image: Uint8Array, signature: string, values: number[]): Uint8Array {
  const sig = Buffer.from(signature, 'latin1');
  const buf = Buffer.from(image);
  const at = buf.indexOf(sig);
  if (at < 0) throw new Error(`configuration signature ${signature} not found in the image`);
  if (buf.indexOf(sig, at + 1) >= 0) throw new Error(`configuration signature ${signature} occurs twice`);
  values.forEach((v, i) => buf.writeUInt32LE(v >>> 0, at + sig.length + 4 * i));
  return new Uint8Array(buf);
}

/** Boots `image` on a fresh testbed and runs it. */
export function runOnTestbed(image: Uint8Array, opts: { maxInstructions: number; marker?: string }): RunUntilResult {
  const tb = new Testbed();
  tb.loadBootSector(image);
  return tb.runUntil(opts);
}

let runnerBundle: string | null = null;

/**
 * Like runOnTestbed, in a child Node process running an esbuild bundle of the core: as fast as
 * the CLI (vitest's module transform makes the interpreter several times slower), and a core
 * that hangs inside one run slice is killed after `timeoutMs` instead of hanging the test run.
 */
export function runOnTestbedInChild(image: Uint8Array, opts: { maxInstructions: number; marker?: string; timeoutMs?: number }): RunUntilResult {
  if (runnerBundle === null) {
    const dir = join(ROOT, 'node_modules/.cache/vmxlab-tests');
    mkdirSync(dir, { recursive: true });
    const out = buildSync({
      entryPoints: [join(ROOT, 'test/diff/guest-runner.ts')], bundle: true, write: false,
      platform: 'node', format: 'cjs', target: 'node20', packages: 'external', logLevel: 'error',
    });
    // Written under a private name and renamed: parallel test files may build it at once.
    const file = join(dir, 'guest-runner.cjs'), part = `${file}.${process.pid}`;
    writeFileSync(part, out.outputFiles[0].contents);
    renameSync(part, file);
    runnerBundle = file;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'vmxlab-img-'));
  try {
    const img = join(tmp, 'guest.img');
    writeFileSync(img, image);
    const timeout = opts.timeoutMs ?? 120_000;
    const r = spawnSync(process.execPath, [runnerBundle, img, String(opts.maxInstructions), opts.marker ?? ''],
      { encoding: 'latin1', maxBuffer: 256 << 20, timeout, killSignal: 'SIGKILL' });
    if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
      throw new Error(`the guest did not stop within ${timeout / 1000} s (core hang?)`);
    }
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`guest runner failed (exit ${r.status ?? r.signal}):\n${r.stderr}`);
    return JSON.parse(r.stdout) as RunUntilResult;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export interface LineDiff { line: number; expected: string; actual: string }

/** The first line (1-based) where the transcripts differ, or null when they are equal. */
export function firstDifference(expected: string, actual: string): LineDiff | null {
  if (expected === actual) return null;
  const e = expected.split('\n'), a = actual.split('\n');
  for (let i = 0; i < Math.max(e.length, a.length); i++) {
    if (e[i] !== a[i]) return { line: i + 1, expected: e[i] ?? '<end of transcript>', actual: a[i] ?? '<end of transcript>' };
  }
  return null;
}

/** Formats the lines around a difference for a failure message. */
export function context(text: string, line: number, around = 3): string {
  const lines = text.split('\n');
  const from = Math.max(0, line - 1 - around), to = Math.min(lines.length, line + around);
  return lines.slice(from, to).map((l, i) => `${String(from + i + 1).padStart(5)}| ${l}`).join('\n');
}

export interface QemuRun { output: string; status: number | null; timedOut: boolean; stderr: string }

/**
 * Boots `image` as a 1.44 MB floppy in qemu-system-i386 (TCG, SeaBIOS) with COM1 going to a
 * file and isa-debug-exit on port 0xF4, and returns the serial transcript. Nothing is cached:
 * QEMU runs live each time.
 */
export async function runQemu(image: Uint8Array, timeoutMs = 60_000, cpu = QEMU_CPU): Promise<QemuRun> {
  const tmp = mkdtempSync(join(tmpdir(), 'vmxlab-qemu-'));
  try {
    const floppy = join(tmp, 'floppy.img'), serial = join(tmp, 'serial.txt');
    const fd = Buffer.alloc(1474560);
    if (image.length > fd.length) throw new Error('image larger than a 1.44 MB floppy');
    fd.set(image);
    writeFileSync(floppy, fd);
    const args = [
      '-M', 'pc', '-accel', 'tcg', '-cpu', cpu, '-m', '64',
      '-display', 'none', '-monitor', 'none', '-no-reboot',
      '-serial', `file:${serial}`,
      '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
      '-drive', `file=${floppy},format=raw,if=floppy`, '-boot', 'a',
    ];
    const res = await new Promise<{ status: number | null; timedOut: boolean; stderr: string }>((resolve, reject) => {
      const child = spawn('qemu-system-i386', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      let timedOut = false;
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
      child.on('error', (e) => { clearTimeout(timer); reject(e); });
      child.on('exit', (code) => { clearTimeout(timer); resolve({ status: code, timedOut, stderr }); });
    });
    const output = existsSync(serial) ? readFileSync(serial, 'latin1') : '';
    return { output, ...res };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
