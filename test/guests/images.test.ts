// The checked-in guest images (guests/**) are what their nasm sources assemble to, and each
// boots on the testbed to its marker. The differential comparisons are in test/diff/.
import { describe, expect, it } from 'vitest';
import { assemble, hasCommand, patchConfig, readGuest, runOnTestbedInChild } from '../diff/support';

const IMAGES: { image: string; dir: string; src: string; flags: string[] }[] = [
  { image: 'cpu-hostdiff/hostdiff.img', dir: 'cpu-hostdiff', src: 'hostdiff.asm', flags: [] },
  { image: 'cpu-hostdiff/hostdiff.elf', dir: 'cpu-hostdiff', src: 'hostdiff.asm', flags: ['-DHOST'] },
  { image: 'pmode-diff/pmode.img', dir: 'pmode-diff', src: 'pmode.asm', flags: [] },
  { image: 'pmode-diff/pmode-strict.img', dir: 'pmode-diff', src: 'pmode.asm', flags: ['-DSTRICT'] },
  { image: 'bench-cpu/bench.img', dir: 'bench-cpu', src: 'bench.asm', flags: [] },
];

describe('guest images', () => {
  describe.skipIf(!hasCommand('nasm', ['-v']))('match their sources (guests/build.sh --check)', () => {
    for (const g of IMAGES) {
      it(g.image, () => {
        const built = Buffer.from(assemble(g.dir, g.src, g.flags));
        expect(built.equals(Buffer.from(readGuest(g.image))), `guests/${g.image} is stale: run guests/build.sh`).toBe(true);
      });
    }
  });

  it('cpu-hostdiff boots and runs every form (3 cases each)', () => {
    const r = runOnTestbedInChild(patchConfig(readGuest('cpu-hostdiff/hostdiff.img'), 'HDCFG!!!', [3, 0xffffffff]),
      { maxInstructions: 50_000_000 });
    expect(r.stopReason, r.output.slice(-500)).toBe('exit-port');
    expect(r.output.startsWith('HOSTDIFF START cases=3\n')).toBe(true);
    expect(r.output).toMatch(/\nHOSTDIFF DONE forms=\d+\n$/);
    const forms = Number(/forms=(\d+)/.exec(r.output)![1]);
    expect(r.output.split('\n').length).toBe(forms + 3);
  });

  it('pmode-strict boots and finishes', () => {
    const r = runOnTestbedInChild(readGuest('pmode-diff/pmode-strict.img'), { maxInstructions: 50_000_000 });
    expect(r.stopReason, r.output).toBe('exit-port');
    expect(r.output).toMatch(/^PMODE START\n[^]*\nPMODE DONE\n$/);
    expect(r.output).not.toContain('EXCEPTION');
  });

  it('bench-cpu prints its start marker, checksum and end marker (2 rounds)', () => {
    const r = runOnTestbedInChild(patchConfig(readGuest('bench-cpu/bench.img'), 'BNCFG!!!', [2]),
      { maxInstructions: 50_000_000 });
    expect(r.stopReason).toBe('exit-port');
    expect(r.output).toMatch(/^BENCH START iter=2\nBENCH checksum=[0-9a-f]{8}\nBENCH DONE\n$/);
  });
});
