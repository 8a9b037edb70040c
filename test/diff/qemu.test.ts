// Guests compared against QEMU (qemu-system-i386, TCG, SeaBIOS, -cpu pentium3,+nx), run live
// each time: the serial transcripts must be identical. QEMU boots the image as a floppy through
// SeaBIOS (INT 13h loads the later sectors); the testbed pre-loads the whole image.
//
// Skipped, with a message, only when qemu-system-i386 is not installed (.ci/run installs it).
import { describe, expect, it } from 'vitest';
import { context, firstDifference, hasCommand, patchConfig, QEMU_CPU, readGuest, runOnTestbedInChild, runQemu } from './support';

const haveQemu = hasCommand('qemu-system-i386');
const noQemu = 'qemu-system-i386 is not installed (apt-get install qemu-system-x86 seabios): QEMU comparison skipped';

function compare(name: string, qemu: string, vmxlab: string): void {
  const d = firstDifference(qemu, vmxlab);
  if (d === null) return;
  expect.fail(`${name}: vmxlab differs from QEMU (-cpu ${QEMU_CPU}) at line ${d.line}\n` +
    `  QEMU:   ${d.expected}\n  vmxlab: ${d.actual}\n` +
    `QEMU transcript:\n${context(qemu, d.line)}\nvmxlab transcript:\n${context(vmxlab, d.line)}`);
}

describe('guests against QEMU', () => {
  it('pmode-diff: protected mode, paging and exceptions give QEMU\'s transcript', async (ctx) => {
    if (!haveQemu) ctx.skip(noQemu);
    const img = readGuest('pmode-diff/pmode.img');
    const q = await runQemu(img, 60_000);
    expect(q.timedOut, `QEMU timed out; transcript so far:\n${q.output}`).toBe(false);
    expect(q.output, `QEMU did not finish the guest (exit ${q.status}): ${q.stderr}`).toContain('PMODE DONE\n');
    expect(q.status, 'QEMU exit status (isa-debug-exit: (0 << 1) | 1)').toBe(1);
    const v = runOnTestbedInChild(img, { maxInstructions: 50_000_000 });
    expect(v.stopReason, `vmxlab output:\n${v.output}`).toBe('exit-port');
    expect(v.exitCode).toBe(0);
    compare('pmode-diff', q.output, v.output);
  }, 90_000);

  it('bench-cpu: the benchmark checksum equals QEMU\'s (3 rounds)', async (ctx) => {
    if (!haveQemu) ctx.skip(noQemu);
    const img = patchConfig(readGuest('bench-cpu/bench.img'), 'BNCFG!!!', [3]);
    const q = await runQemu(img, 60_000);
    expect(q.output).toContain('BENCH DONE\n');
    const v = runOnTestbedInChild(img, { maxInstructions: 50_000_000 });
    expect(v.stopReason).toBe('exit-port');
    compare('bench-cpu', q.output, v.output);
  }, 90_000);
});
