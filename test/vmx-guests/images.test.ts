// The VMX test hypervisors (test/vmx-guests): the committed images are what their nasm sources
// assemble to, the committed Bochs transcripts are complete, and every documented Bochs/SDM
// departure still matches the recording it corrects. Running the images on vmxlab is
// transcripts.test.ts; Bochs is never run here (record-bochs.sh is a developer tool).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasCommand } from '../diff/support';
import { DEPARTURES, IMAGES, MODELS, readTranscript, sdmTranscript, transcriptPath, VMX_GUESTS,
  type ImageName, type ModelName } from './departures';

const models = Object.keys(MODELS) as ModelName[];

function assemble(name: ImageName): Buffer {
  const tmp = mkdtempSync(join(tmpdir(), 'vmxlab-vmx-nasm-'));
  try {
    const out = join(tmp, 'out.img');
    const r = spawnSync('nasm', ['-f', 'bin', `${name}.asm`, '-o', out], { cwd: join(VMX_GUESTS, name), encoding: 'utf8' });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`nasm ${name}/${name}.asm failed:\n${r.stderr}`);
    return readFileSync(out);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

describe('VMX test hypervisor images', () => {
  describe.skipIf(!hasCommand('nasm', ['-v']))('match their sources (test/vmx-guests/build.sh --check)', () => {
    for (const name of IMAGES) {
      it(`${name}/vmx-${name}.img`, () => {
        const committed = readFileSync(join(VMX_GUESTS, name, `vmx-${name}.img`));
        expect(assemble(name).equals(committed), `test/vmx-guests/${name}/vmx-${name}.img is stale: run test/vmx-guests/build.sh`).toBe(true);
        expect(committed.readUInt16LE(510)).toBe(0xaa55);
        expect(committed.length % 512).toBe(0);
        expect(committed.length).toBeLessThanOrEqual(0x9fc00 - 0x7c00);
      });
    }
  });
});

describe('Bochs transcripts (expected/)', () => {
  for (const name of IMAGES) {
    for (const model of models) {
      it(`vmx-${name}.${model}.txt is a complete run`, () => {
        expect(existsSync(transcriptPath(name, model)), 'run test/vmx-guests/record-bochs.sh').toBe(true);
        const t = readTranscript(name, model);
        const title = `VMX-${name.toUpperCase()}`;
        expect(t.startsWith(`${title} START\n`)).toBe(true);
        expect(t.endsWith(`\nEND ${title}\n`)).toBe(true);
        // "  ! ..." lines are the hypervisor's own setup failures (a VMWRITE or VMREAD that
        // failed, a control bit the model lacks): a recording with one is not a valid reference
        expect(t.split('\n').filter((l) => l.startsWith('  !'))).toEqual([]);
        expect(t).not.toMatch(/HOST EXCEPTION|too many exits/);
        expect(t).toMatch(/^feature-control: lock=1 vmx-outside-smx=1$/m);
      });
    }
  }

  it('the Haswell model runs every section but MTF and RDSEED (Bochs\' corei7_haswell_4770 offers neither)', () => {
    const expected: Partial<Record<string, string[]>> = { exits: ['E26'], isa: ['S03'] };
    for (const name of IMAGES) {
      const skipped = readTranscript(name, 'haswell').split('\n== ').filter((s) => s.includes('  skip ('));
      expect(skipped.map((s) => s.slice(0, 3)), name).toEqual(expected[name] ?? []);
    }
    // ... and the Ice Lake model has RDSEED: S03 runs there.
    expect(readTranscript('isa', 'icelake')).toMatch(/== S03 [^\n]*\n {2}exit 61 RDSEED /);
  });

  it('the Penryn model has VMX without EPT', () => {
    expect(readTranscript('ept', 'penryn')).toContain('  skip (no EPT on this CPU model)\n');
    expect(readTranscript('realmode', 'penryn')).toContain('  skip (no unrestricted guest on this CPU model)\n');
    expect(readTranscript('exits', 'penryn')).toMatch(/^model: .* ept=0 /m);
  });
});

describe('Bochs/SDM departures (departures.ts)', () => {
  for (const d of DEPARTURES) {
    it(`${d.id} changes exactly the recordings it names`, () => {
      for (const model of models) {
        const recorded = readTranscript(d.image, model);
        const corrected = d.apply(recorded);
        if (d.models.includes(model)) {
          expect(corrected, `${d.id} no longer matches vmx-${d.image}.${model}.txt`).not.toBe(recorded);
          expect(corrected.split('\n').length).toBeGreaterThan(10);
        } else {
          expect(corrected, `${d.id} also changes vmx-${d.image}.${model}.txt: list the model`).toBe(recorded);
        }
      }
    });
  }

  it('sdmTranscript gives the SDM lines', () => {
    expect(sdmTranscript('exits', 'haswell')).toMatch(/exit 46 GDTR_IDTR .* info=[0-9a-f]{5}8[0-9a-f]{2}\n/);
    expect(sdmTranscript('inject', 'haswell')).toMatch(/== I06b [^\n]*\n {2}exit 33 INVALID_GUEST_STATE entry-failure q=00000000\n== /);
    expect(sdmTranscript('exits', 'penryn')).not.toMatch(/INVEPT|INVVPID rip/);
    expect(sdmTranscript('exits', 'icelake').match(/exit 37 MONITOR_TRAP_FLAG/g)).toHaveLength(3);
    expect(sdmTranscript('basics', 'haswell')).toMatch(/vmcall in root operation \(launched VMCS\): VMfailValid 1 \(VMCALL in VMX root operation\)\n/);
    expect(sdmTranscript('inject', 'penryn')).toMatch(/== I04b [^\n]*\n {2}exit 33 INVALID_GUEST_STATE entry-failure q=00000000\n== /);
  });
});
