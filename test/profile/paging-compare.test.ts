// Issue 6, what the user sees: the same guest on Haswell (EPT) and on Merom (shadow paging) side
// by side. guests/paging-stress (N fresh pages, K address-space switches, J = ceil(N/4) INVLPGs)
// pins the differences: under EPT no CR3-load, #PF or INVLPG exit and no shadow memory; under
// shadow paging the counts that follow from N and K (paging-model.ts shadowPagingCounts: exact in
// N and K, plus a part fixed by how the VMM runs real mode, the same for every N and K), shadow
// pages in use, and the VMM-emulated instructions. In the saved profile (`run --profile`: its
// `paging` section), in `vmxlab compare a.json b.json` and in the one-shot
// `vmxlab compare --gens haswell,merom`, through the CLI bundle in a child process.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { comparePaging, pagingFigures } from '../../src/core/profile/paging';
import { parseProfile, type Profile } from '../../src/core/profile/profile-json';
import { shadowPagingCounts, shadowPagingFixed } from './paging-model';
import { readProfile, ROOT, scratchFile, vmxlab } from './cli-child';

const IMAGE = join(ROOT, 'guests/paging-stress/paging-stress.img');
// COM1 passes through (only the exit port F4h and the BIOS service port exit): see paging-stress.test.ts.
const RUN = ['--exits', 'io=bitmap:0xf4', '--no-bios-serial', '--max-seconds', '5'];

/** paging-stress with N and K patched into its 'PSCFG!!!' block. */
function patched(n: number, k: number): string {
  const img = Buffer.from(readFileSync(IMAGE));
  const at = img.indexOf(Buffer.from('PSCFG!!!', 'latin1'));
  img.writeUInt32LE(n, at + 8);
  img.writeUInt32LE(k, at + 12);
  const path = scratchFile(`pc-${n}-${k}.img`);
  writeFileSync(path, img);
  return path;
}

function profileOn(img: string, gen: string, tag: string): { p: Profile; path: string; out: string } {
  const path = scratchFile(`pc-${tag}-${gen}.json`);
  const r = vmxlab(['run', img, '--gen', gen, ...RUN, '--quiet', '--profile', path]);
  expect(r.code, r.err).toBe(0);
  return { p: readProfile(path), path, out: r.out };
}

/** The rows of the compare output's paging section: label -> [A, B, delta]. */
function pagingSection(out: string): { head: string; rows: Record<string, [string, string, string]> } {
  const lines = out.split('\n');
  const i = lines.findIndex((l) => l.startsWith('Paging ('));
  expect(i, out).toBeGreaterThan(0);
  const rows: Record<string, [string, string, string]> = {};
  for (const l of lines.slice(i + 2)) {
    if (l === '') break;
    const m = /^(.+?)\s{2,}(\S+)\s+(\S+)\s+(\S+)$/.exec(l);
    if (m === null) throw new Error(`paging row: ${l}`);
    rows[m[1]!] = [m[2]!, m[3]!, m[4]!];
  }
  return { head: lines[i]!, rows };
}

const n3 = (v: number): string => v.toLocaleString('en-US');

describe('paging-stress on Haswell (EPT) and Merom (shadow paging)', () => {
  /** Both generations' profiles of paging-stress with N and K. */
  const runs = new Map<string, { ept: Profile; shadow: Profile }>();
  const pair = (n: number, k: number): { ept: Profile; shadow: Profile } => {
    const key = `${n}-${k}`;
    let r = runs.get(key);
    if (r === undefined) {
      const img = n === 256 && k === 64 ? IMAGE : patched(n, k);
      const ept = profileOn(img, 'haswell', key), shadow = profileOn(img, 'merom', key);
      expect(shadow.out).toContain('PAGING-STRESS DONE');
      expect(shadow.out).toBe(ept.out); // the guest computes the same
      r = { ept: ept.p, shadow: shadow.p };
      runs.set(key, r);
    }
    return r;
  };

  it('EPT: no CR3-load, #PF or INVLPG exit and no shadow memory; shadow paging: the profile\'s paging section and exits agree', () => {
    const { ept, shadow } = pair(256, 64);
    const fe = pagingFigures(ept), fs = pagingFigures(shadow);
    expect(fe).toEqual({
      mode: 'ept', cr3LoadExits: 0, pageFaultExits: 0, invlpgExits: 0, emulatedInstructions: ept.totals.instructionsEmulated,
      shadowPages: null, peakShadowPages: null, faultsFixed: null, faultsInjected: null,
    });
    expect(ept.paging).toEqual({ mode: 'ept', shadow: null, emulation: null });
    expect(fs.mode).toBe('shadow');
    expect(fs.shadowPages).toBeGreaterThan(0);
    expect(fs.peakShadowPages).toBeGreaterThanOrEqual(fs.shadowPages!);
    // Every #PF exit is a shadow fault the VMM fixed: the guest's own tables explain none.
    expect(fs.faultsInjected).toBe(0);
    expect(fs.faultsFixed).toBe(fs.pageFaultExits);
    expect(shadow.paging!.emulation).not.toBeNull();
    // Shadow paging emulates every CR access (K + 2) and the exit port's OUT at least.
    expect(fs.emulatedInstructions).toBeGreaterThanOrEqual(64 + 3);
  }, 120_000);

  it('shadow paging: the exits follow N and K (CR3 loads 1 + K, INVLPGs J, #PF 2N + 3J + 3K/2 plus a part that depends on neither)', () => {
    const fixed = shadowPagingFixed(256, 64, pagingFigures(pair(256, 64).shadow));
    expect(fixed.pageFaults).toBeGreaterThanOrEqual(0);
    expect(fixed.emulated).toBeGreaterThanOrEqual(0);
    for (const [n, k] of [[256, 64], [100, 38], [64, 8]] as const) {
      const f = pagingFigures(pair(n, k).shadow);
      expect(f, `N = ${n}, K = ${k}`).toMatchObject(shadowPagingCounts(n, k, fixed));
      expect(pagingFigures(pair(n, k).ept)).toMatchObject({ cr3LoadExits: 0, pageFaultExits: 0, invlpgExits: 0 });
    }
  }, 240_000);

  it('vmxlab compare prints the paging section with A, B and the change; --gens runs both itself and prints the same', () => {
    const ept = profileOn(IMAGE, 'haswell', 'cmp'), shadow = profileOn(IMAGE, 'merom', 'cmp');
    const r = vmxlab(['compare', ept.path, shadow.path]);
    expect(r.code, r.err).toBe(0);
    const s = pagingSection(r.out);
    expect(s.head).toBe('Paging (A: EPT, B: shadow paging):');
    const fs = pagingFigures(shadow.p), fe = pagingFigures(ept.p);
    const want = shadowPagingCounts(256, 64, shadowPagingFixed(256, 64, fs));
    expect(want).toMatchObject({ cr3LoadExits: 65, invlpgExits: 64 });
    const plus = (v: number): string => (v > 0 ? `+${n3(v)}` : n3(v));
    expect(s.rows).toEqual({
      'CR3-load exits': ['0', n3(want.cr3LoadExits), plus(want.cr3LoadExits)],
      '#PF exits': ['0', n3(want.pageFaultExits), plus(want.pageFaultExits)],
      'INVLPG exits': ['0', n3(want.invlpgExits), plus(want.invlpgExits)],
      'VMM-emulated instructions': [n3(fe.emulatedInstructions), n3(want.emulatedInstructions), plus(want.emulatedInstructions - fe.emulatedInstructions)],
      'shadow pages (end)': ['0', n3(fs.shadowPages!), plus(fs.shadowPages!)],
      'shadow pages (peak)': ['0', n3(fs.peakShadowPages!), plus(fs.peakShadowPages!)],
      'shadow faults fixed': ['0', n3(want.pageFaultExits), plus(want.pageFaultExits)],
      'shadow faults injected': ['0', '0', '0'],
    });
    // The one-shot form gives the same text but for the names of A and B.
    const one = vmxlab(['compare', '--gens', 'haswell,merom', ...RUN, IMAGE]);
    expect(one.code, one.err).toBe(0);
    const body = (t: string): string => t.split('\n').slice(2).join('\n');
    expect(body(one.out)).toBe(body(r.out).replaceAll(ept.path, 'haswell').replaceAll(shadow.path, 'merom'));
    expect(one.out.split('\n')[0]).toBe(`A: haswell (${IMAGE} on haswell, ${n3(ept.p.totals.exits)} exits)`);
    // Its own flags are refused with a usage error.
    const bad = vmxlab(['compare', '--gens', 'haswell,merom', '--profile', 'x.json', IMAGE]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--gens: --profile is set by compare itself');
  }, 120_000);

  it('a profile written before the paging section still reads, and compares with "-" where it has no figure', () => {
    const shadow = profileOn(IMAGE, 'merom', 'old');
    const { paging: _gone, ...old } = shadow.p;
    const oldText = JSON.stringify(old);
    const p = parseProfile(oldText, 'old.json');
    expect(p.paging).toBeUndefined();
    expect(pagingFigures(p)).toMatchObject({ mode: null, shadowPages: null, cr3LoadExits: 65 });
    const c = comparePaging(p, shadow.p);
    const pages = pagingFigures(shadow.p).shadowPages!;
    expect(pages).toBeGreaterThan(0);
    expect(c.rows.find((x) => x.key === 'shadowPages')).toEqual({ key: 'shadowPages', label: 'shadow pages (end)', a: null, b: pages, delta: null });
    const oldPath = scratchFile('pc-old.json');
    writeFileSync(oldPath, oldText);
    const r = vmxlab(['compare', oldPath, shadow.path]);
    expect(r.code, r.err).toBe(0);
    const s = pagingSection(r.out);
    expect(s.head).toBe('Paging (A: not recorded, B: shadow paging):');
    expect(s.rows['shadow pages (end)']).toEqual(['-', String(pages), '-']);
    expect(s.rows['CR3-load exits']).toEqual(['65', '65', '0']);
  }, 120_000);
});
