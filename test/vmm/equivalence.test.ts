// Popek-Goldberg equivalence (issue 5): guests of the boot ladder give the same serial
// transcript in hosted mode (VMX non-root operation under the VMM) as in bare mode, on two
// generations with unrestricted guest. Through the CLI bundle in a child process, as the boot
// ladder does (vitest's transform slows the interpreter several times).
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');
const CLI = join(ROOT, 'out/cli/vmxlab.cjs');

let built = false;
function vmxlab(args: string[]): { code: number; out: string; err: string } {
  if (!built) { execFileSync(process.execPath, [join(ROOT, 'scripts/build-cli.mjs'), '--quiet'], { cwd: ROOT }); built = true; }
  const p = spawnSync(process.execPath, [CLI, 'run', ...args], { encoding: 'latin1', timeout: 180_000, killSignal: 'SIGKILL', maxBuffer: 64 << 20 });
  if (p.error) throw p.error;
  return { code: p.status ?? -1, out: p.stdout, err: p.stderr };
}

const GUESTS = [
  { image: 'guests/realmode-hello/hello.img', until: 'REALMODE DONE' },
  { image: 'guests/pit-idle/pit-idle.img', until: 'PIT IDLE DONE' },
];

describe('hosted mode: same serial transcript as bare mode', () => {
  for (const g of GUESTS) {
    const bare = (): string => {
      const r = vmxlab(['--mode', 'bare', '--until', g.until, join(ROOT, g.image)]);
      expect(r.err).toMatch(/bare mode, .* stopped: saw/);
      return r.out;
    };
    let expected: string | null = null;
    for (const gen of ['westmere', 'haswell']) {
      it(`${g.image} on ${gen}`, () => {
        expected ??= bare();
        const r = vmxlab(['--mode', 'hosted', '--gen', gen, '--until', g.until, join(ROOT, g.image)]);
        expect(r.err).toMatch(new RegExp(`hosted mode, .* stopped: saw '${g.until}'`));
        expect(r.code).toBe(0);
        expect(r.out).toBe(expected);
        expect(r.out).toContain(g.until);
      }, 240_000);
    }
  }

  it('--report perf: the exit table, with the BIOS service port\'s traps as I/O exits', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'vmxlab-vmm-'));
    const prof = join(tmp, 'p.json');
    const r = vmxlab(['--mode', 'hosted', '--gen', 'haswell', '--until', 'PIT IDLE DONE', '--report', 'perf', '--profile', prof, join(ROOT, 'guests/pit-idle/pit-idle.img')]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/VM-EXIT +Samples/);
    expect(r.out).toMatch(/IO_INSTRUCTION +\d+/);
    expect(r.out).toMatch(/HLT +\d+/);
    expect(r.out).toMatch(/EXTERNAL_INTERRUPT +\d+/);
    const p = JSON.parse(readFileSync(prof, 'utf8')) as { devices: { device: string; count: number }[] };
    const bios = p.devices.find((d) => d.device === 'vmxlab BIOS service');
    expect(bios?.count ?? 0).toBeGreaterThan(0);
  }, 240_000);

  it('profile flags in bare mode record bare mode\'s exits (none: pit-idle is not a hypervisor); hosted is the default', () => {
    // Bare-mode recording of a hypervisor guest's exits: test/profile/bare-mode.test.ts.
    const r = vmxlab(['--mode', 'bare', '--report', 'perf', '--until', 'PIT IDLE DONE', join(ROOT, 'guests/pit-idle/pit-idle.img')]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/bare mode, .* stopped: saw/);
    expect(r.out).toMatch(/Total Samples:0,/);
    const d = vmxlab(['--report', 'perf', '--until', 'PIT IDLE DONE', join(ROOT, 'guests/pit-idle/pit-idle.img')]);
    expect(d.err).toMatch(/hosted mode, .* stopped: saw/);
    expect(d.out).toMatch(/HLT +\d+/);
    // Where the VMM cannot run the guest the default is bare mode, and it says why.
    const n = vmxlab(['--gen', 'prescott', '--until', 'PIT IDLE DONE', join(ROOT, 'guests/pit-idle/pit-idle.img')]);
    expect(n.err).toMatch(/bare mode: generation 'prescott' has no VMX/);
    expect(n.err).toMatch(/bare mode, .* stopped: saw/);
  }, 240_000);

  // pmode-diff: protected mode, paging, PAE/NX, exceptions, call gates, hardware task switches
  // (emulated by the VMM: they always exit), V86, SYSENTER (its MSRs live in the VMCS). Its
  // UART polling makes ~17.6 million I/O exits, so one generation only (about 70 s).
  it('guests/pmode-diff/pmode.img on haswell (hardware task switches emulated by the VMM)', () => {
    const img = join(ROOT, 'guests/pmode-diff/pmode.img');
    const b = vmxlab(['--until', 'PMODE DONE', img]);
    const h = vmxlab(['--mode', 'hosted', '--gen', 'haswell', '--until', 'PMODE DONE', '--report', 'perf', img]);
    expect(h.err).toMatch(/hosted mode, .* stopped: saw 'PMODE DONE'/);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/TASK_SWITCH +4 /);
    // The serial transcript, then the table (printed after the run, after blank lines).
    const table = h.out.indexOf('Analyze events');
    expect(table).toBeGreaterThan(0);
    expect(h.out.slice(0, b.out.length)).toBe(b.out);
    expect(h.out.slice(b.out.length, table)).toMatch(/^\n*$/);
  }, 400_000);

  const MEMTEST = '/boot/memtest86+ia32.bin';
  it.skipIf(!existsSync(MEMTEST))('memtest86+ to its first test on westmere (apt-get install -y memtest86+)', () => {
    const args = ['--cmdline', 'console=ttyS0,115200', '--until', 'Address test', '--max-seconds', '20', '--gen', 'westmere', MEMTEST];
    const b = vmxlab(args);
    const h = vmxlab(['--mode', 'hosted', ...args]);
    expect(h.err).toMatch(/hosted mode, .* stopped: saw 'Address test'/);
    expect(h.out).toBe(b.out); // its CPU speed and timings come from virtual time: identical too
  }, 400_000);
});
