// Helpers of the IA-32e mode tests: assembling long64.asm, running it on vmxlab (a child Node
// process with a CPU model of a generation, long-runner.ts) and on qemu-system-x86_64 (TCG,
// SeaBIOS, floppy), and a bare CPU put into 64-bit mode for unit tests.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import type { RunUntilResult } from '../../../src/core/platform/testbed';
import { createCpu } from '../../../src/core/cpu';
import { Cpu } from '../../../src/core/cpu/cpu';
import { PhysicalMemory } from '../../../src/core/platform/memory';
import { IoBus } from '../../../src/core/platform/io-bus';
import { cpuModelForName } from '../../../src/core/vmx/cpu-model';
import { writeMsr, writeCr0, writeCr4 } from '../../../src/core/cpu/ops/system';
import { Cr0, Cr4, Efer, Seg } from '../../../src/core/cpu/regs';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const HERE = join(ROOT, 'test/cpu/long');

/** Assembles test/cpu/long/<src> (includes from guests/common/). */
export function assembleLong(src: string, flags: string[] = []): Uint8Array {
  const tmp = mkdtempSync(join(tmpdir(), 'vmxlab-nasm64-'));
  try {
    const out = join(tmp, 'out.bin');
    const r = spawnSync('nasm', ['-f', 'bin', '-i', join(ROOT, 'guests/common') + '/', ...flags, src, '-o', out], { cwd: HERE, encoding: 'utf8' });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`nasm ${flags.join(' ')} ${src} failed:\n${r.stderr}`);
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

let runner: string | null = null;

/** Boots `image` on the testbed with generation `gen`'s CPU model, in a child process. */
export function runLongOnVmxlab(image: Uint8Array, gen: string, maxInstructions = 20_000_000): RunUntilResult {
  if (runner === null) {
    const dir = join(ROOT, 'node_modules/.cache/vmxlab-tests');
    mkdirSync(dir, { recursive: true });
    const out = buildSync({
      entryPoints: [join(HERE, 'long-runner.ts')], bundle: true, write: false,
      platform: 'node', format: 'cjs', target: 'node20', packages: 'external', logLevel: 'error',
    });
    const file = join(dir, 'long-runner.cjs'), part = `${file}.${process.pid}`;
    writeFileSync(part, out.outputFiles[0].contents);
    renameSync(part, file);
    runner = file;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'vmxlab-img64-'));
  try {
    const img = join(tmp, 'guest.img');
    writeFileSync(img, image);
    const r = spawnSync(process.execPath, [runner, img, String(maxInstructions), gen],
      { encoding: 'latin1', maxBuffer: 64 << 20, timeout: 120_000, killSignal: 'SIGKILL' });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`long-runner failed (exit ${r.status ?? r.signal}):\n${r.stderr}`);
    return JSON.parse(r.stdout) as RunUntilResult;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export interface Qemu64Run { output: string; status: number | null; timedOut: boolean; stderr: string }

/** Boots `image` as a floppy in qemu-system-x86_64 (TCG) with CPU model `cpu`; COM1 to a file,
 *  isa-debug-exit on port 0xF4. */
export async function runQemu64(image: Uint8Array, cpu: string, timeoutMs = 60_000): Promise<Qemu64Run> {
  const tmp = mkdtempSync(join(tmpdir(), 'vmxlab-qemu64-'));
  try {
    const floppy = join(tmp, 'floppy.img'), serial = join(tmp, 'serial.txt');
    const fd = Buffer.alloc(1474560);
    fd.set(image);
    writeFileSync(floppy, fd);
    const args = [
      '-M', 'pc', '-accel', 'tcg', '-cpu', cpu, '-m', '64', '-display', 'none', '-monitor', 'none', '-no-reboot',
      '-serial', `file:${serial}`, '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
      '-drive', `file=${floppy},format=raw,if=floppy`, '-boot', 'a',
    ];
    const res = await new Promise<{ status: number | null; timedOut: boolean; stderr: string }>((resolve, reject) => {
      const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '', timedOut = false;
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
      child.on('error', (e) => { clearTimeout(timer); reject(e); });
      child.on('exit', (code) => { clearTimeout(timer); resolve({ status: code, timedOut, stderr }); });
    });
    return { output: existsSync(serial) ? readFileSync(serial, 'latin1') : '', ...res };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// ---- a bare CPU in 64-bit mode -------------------------------------------------------------

export const PML4 = 0x10000;
/** Code is placed here by the unit tests. */
export const CODE = 0x20000;

/**
 * A CPU of generation `gen` in 64-bit mode at CPL 0: PML4 at 0x10000 identity-mapping 0-1 GB with
 * 2 MB pages, IA-32e mode entered through the architectural writes (CR4.PAE, EFER.LME, CR0.PG),
 * then CS loaded with a 64-bit code descriptor cache, RIP = CODE, RSP = 0x80000.
 */
export function longModeCpu(gen = 'skylake'): { c: Cpu; m: PhysicalMemory } {
  const m = new PhysicalMemory(16 << 20);
  const c = createCpu(m, new IoBus(), cpuModelForName(gen, { longMode: true }), { decodeCache: false });
  m.write32(PML4, (PML4 + 0x1000) | 7);
  m.write32(PML4 + 0x1000, (PML4 + 0x2000) | 7);
  for (let i = 0; i < 512; i++) { m.write32(PML4 + 0x2000 + i * 8, (i << 21) | 0x87); m.write32(PML4 + 0x2000 + i * 8 + 4, 0); }
  c.cr0 |= Cr0.PE; c.modeChanged();
  writeCr4(c, Cr4.PAE);
  c.cr3 = PML4;
  if (!writeMsr(c, 0xc0000080, Efer.LME | Efer.NXE | Efer.SCE, 0)) throw new Error('EFER.LME refused');
  writeCr0(c, c.cr0 | Cr0.PG);
  // 64-bit code (L = 1, D = 0), DPL 0; data segments flat
  c.segSel[Seg.CS] = 8; c.segBase[Seg.CS] = 0; c.segLimit[Seg.CS] = 0xffffffff; c.segAttr[Seg.CS] = 0xa09b;
  c.updateSegLimits(Seg.CS);
  for (const s of [Seg.DS, Seg.ES, Seg.SS]) { c.segSel[s] = 16; c.segBase[s] = 0; c.segLimit[s] = 0xffffffff; c.segAttr[s] = 0xc093; c.updateSegLimits(s); }
  c.eip = CODE;
  c.r32[4] = 0x80000;
  return { c, m };
}
