// cpu-hostdiff: the same instruction test body (guests/cpu-hostdiff/hostdiff.asm) runs as a
// 32-bit Linux program on the host CPU and as a boot image on vmxlab's testbed; every line
// ("<form> <hash>") must be equal. On a difference, both are rerun with the verbose switch for
// that form, and the first case whose results differ is printed with its inputs.
//
// VMXLAB_HOSTDIFF_CASES sets the cases per form (default 1000; the images are built with 2000).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, assemble, context, firstDifference, hasCommand, patchConfig, readGuest, runOnTestbedInChild } from './support';

const CASES = Number(process.env.VMXLAB_HOSTDIFF_CASES ?? 1000);
const ALL_FORMS = 0xffffffff;
const CFG = 'HDCFG!!!';
const MARKER = 'HOSTDIFF DONE';

const elf = readGuest('cpu-hostdiff/hostdiff.elf');
const img = readGuest('cpu-hostdiff/hostdiff.img');

interface HostRun { ok: true; output: string }
interface HostFail { ok: false; why: string }

/** Runs the host build with `cases` per form (all forms, or only `form`, verbose). */
function runHost(cases: number, form = ALL_FORMS): HostRun | HostFail {
  // In the repository's cache rather than the temp directory, which may be mounted noexec.
  const dir = join(ROOT, 'node_modules/.cache/vmxlab-tests');
  mkdirSync(dir, { recursive: true });
  const exe = join(dir, `hostdiff-${process.pid}-${cases}-${form}`);
  try {
    writeFileSync(exe, patchConfig(elf, CFG, [cases, form]));
    chmodSync(exe, 0o755);
    const r = spawnSync(exe, [], { encoding: 'latin1', timeout: 60_000, maxBuffer: 64 << 20 });
    if (r.error) {
      // ENOEXEC: the kernel cannot run 32-bit x86 programs (no IA-32 emulation): skip.
      if ((r.error as NodeJS.ErrnoException).code === 'ENOEXEC') return { ok: false, why: `this kernel cannot run 32-bit ELF programs: ${r.error.message}` };
      throw r.error;
    }
    if (r.status !== 0) throw new Error(`host build exited with ${r.status ?? r.signal}: ${r.stderr}`);
    return { ok: true, output: r.stdout };
  } finally {
    rmSync(exe, { force: true });
  }
}

function runGuest(cases: number, form = ALL_FORMS): string {
  const r = runOnTestbedInChild(patchConfig(img, CFG, [cases, form]), { maxInstructions: 6e9 });
  if (r.stopReason !== 'exit-port' || r.exitCode !== 0) {
    throw new Error(`guest stopped (${r.stopReason}${r.shutdownReason ? `: ${r.shutdownReason}` : ''}) after ` +
      `${r.instructions} instructions; output ends with:\n${r.output.split('\n').slice(-5).join('\n')}`);
  }
  return r.output;
}

function hostCanRun32(): string | null {
  if (process.platform !== 'linux') return `host is ${process.platform}, not Linux`;
  if (process.arch !== 'x64' && process.arch !== 'ia32') return `host CPU is ${process.arch}, not x86`;
  return null;
}

describe('cpu-hostdiff: user-level instructions on vmxlab against the host CPU', () => {
  it.skipIf(!hasCommand('nasm', ['-v']))('the checked-in images are what hostdiff.asm assembles to', () => {
    expect(Buffer.from(assemble('cpu-hostdiff', 'hostdiff.asm')).equals(Buffer.from(img)),
      'guests/cpu-hostdiff/hostdiff.img is stale: run guests/build.sh').toBe(true);
    expect(Buffer.from(assemble('cpu-hostdiff', 'hostdiff.asm', ['-DHOST'])).equals(Buffer.from(elf)),
      'guests/cpu-hostdiff/hostdiff.elf is stale: run guests/build.sh').toBe(true);
  });

  it(`every instruction form gives the host CPU's results and flags (${CASES} cases each)`, (ctx) => {
    const why = hostCanRun32();
    if (why) { ctx.skip(`cannot run the host reference: ${why}`); return; }
    const host = runHost(CASES);
    if (!host.ok) { ctx.skip(host.why); return; }
    expect(host.output.startsWith(`HOSTDIFF START cases=${CASES}\n`), 'host transcript header').toBe(true);
    expect(host.output).toContain(MARKER);
    const guest = runGuest(CASES);

    const diff = firstDifference(host.output, guest);
    if (diff === null) return;

    // Every differing form, then the first differing case of the first one, in detail.
    const h = host.output.split('\n'), g = guest.split('\n');
    const forms: string[] = [];
    for (let i = 1; i < Math.max(h.length, g.length); i++) {
      if (h[i] !== g[i]) forms.push(`  host:   ${h[i] ?? '<missing>'}\n  vmxlab: ${g[i] ?? '<missing>'}`);
    }
    const formNumber = diff.line - 1; // line 1 is the START line; forms are numbered from 1
    let detail = '';
    const hv = formNumber >= 1 && formNumber < h.length - 2 ? runHost(64, formNumber) : null;
    if (hv?.ok) {
      const gv = runGuest(64, formNumber);
      const d2 = firstDifference(hv.output, gv);
      if (d2) {
        detail = `\nfirst differing case (hex; in: EAX EBX ECX EDX mem mem+4 EFLAGS [ESI EDI ECX for string forms],` +
          ` out: EAX EBX ECX EDX mem mem+4 masked-EFLAGS, or ESI/EDI/ECX/flags/buffer sum for string forms):\n` +
          `  host:   ${d2.expected}\n  vmxlab: ${d2.actual}`;
      }
    }
    expect.fail(`${forms.length} instruction form(s) differ from the host CPU; first: line ${diff.line}\n` +
      `${forms.slice(0, 40).join('\n')}${forms.length > 40 ? `\n  ... ${forms.length - 40} more` : ''}\n` +
      `vmxlab transcript around it:\n${context(guest, diff.line)}${detail}`);
  }, 300_000);
});
