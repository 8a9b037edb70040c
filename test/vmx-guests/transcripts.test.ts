// The VMX test hypervisors on vmxlab (issue 4, "Proof"): each image boots in bare mode on the
// generation that corresponds to a recorded Bochs model (vmxlab-models.ts GENERATION_OF), through
// the CLI bundle in a child process as the boot ladder does, and its COM1 transcript must equal
// the Bochs recording with the SDM departures corrected (departures.ts) and the documented model
// differences applied (vmxlab-models.ts), byte for byte.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MODELS, sdmTranscript, VMX_GUESTS, type ImageName, type ModelName } from './departures';
import { GENERATION_OF, MODEL_DIFFERENCES, vmxlabTranscript } from './vmxlab-models';

const ROOT = resolve(__dirname, '../..');
const CLI = join(ROOT, 'out/cli/vmxlab.cjs');
const RUN_IMAGES: ImageName[] = ['basics', 'exits', 'inject', 'ept', 'realmode', 'isa'];
const models = Object.keys(MODELS) as ModelName[];
const tmp = mkdtempSync(join(tmpdir(), 'vmxlab-vmx-guests-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let built = false;
function buildCli(): void {
  if (built) return;
  execFileSync(process.execPath, [join(ROOT, 'scripts/build-cli.mjs'), '--quiet'], { cwd: ROOT });
  built = true;
}

/** The image as a 1.44 MB floppy (as record-bochs.sh pads it). */
function floppy(image: ImageName): string {
  const f = join(tmp, `vmx-${image}.img`);
  copyFileSync(join(VMX_GUESTS, image, `vmx-${image}.img`), f);
  truncateSync(f, 1474560);
  return f;
}

function vmxlab(image: ImageName, model: ModelName): { out: string; err: string; code: number } {
  buildCli();
  const p = spawnSync(process.execPath, [CLI, 'run', '--mode', 'bare', floppy(image), '--no-bios-serial', '--gen', GENERATION_OF[model], '--max-seconds', '20'],
    { encoding: 'latin1', timeout: 120_000, killSignal: 'SIGKILL', maxBuffer: 16 << 20 });
  if (p.error) throw p.error;
  return { out: p.stdout, err: p.stderr, code: p.status ?? -1 };
}

describe('VMX test hypervisors on vmxlab: the SDM transcripts of the Bochs recordings', () => {
  for (const image of RUN_IMAGES) {
    for (const model of models) {
      it(`vmx-${image} on --gen ${GENERATION_OF[model]} prints vmxlab-models.ts's vmxlabTranscript('${image}', '${model}')`, () => {
        const r = vmxlab(image, model);
        expect(r.err).toMatch(/stopped: exit port, code 0/);
        expect(r.code).toBe(0);
        expect(r.out).toBe(vmxlabTranscript(image, model));
      }, 150_000);
    }
  }
});

describe('model differences (vmxlab-models.ts)', () => {
  for (const d of MODEL_DIFFERENCES) {
    it(`${d.id} changes exactly the transcripts it names`, () => {
      for (const image of RUN_IMAGES) {
        for (const model of models) {
          const sdm = sdmTranscript(image, model), changed = d.apply(sdm);
          if (d.images.includes(image) && d.models.includes(model)) expect(changed, `${d.id} on ${image}/${model}`).not.toBe(sdm);
          else expect(changed, `${d.id} also changes ${image}/${model}: list it`).toBe(sdm);
        }
      }
    });
  }

});
