// What vmxlab must print for each recorded (image, Bochs model): the SDM transcript of
// departures.ts, rewritten where vmxlab's generation differs from the Bochs model as a model -
// features vmxlab hides because it does not implement them, or facts of the real part that the
// Bochs model does not follow - never where vmxlab departs from the SDM. Each difference must
// change the transcript of every (image, model) it names (transcripts.test.ts checks), so none
// outlives the model fact it describes.
import type { GenerationName } from '../../src/core/vmx/generations';
import { sdmTranscript, type ImageName, type ModelName } from './departures';

/** The vmxlab generation each Bochs model is compared with. */
export const GENERATION_OF: Readonly<Record<ModelName, GenerationName>> = {
  haswell: 'haswell', penryn: 'penryn', icelake: 'ice-lake',
};

export interface ModelDifference {
  id: string;
  images: ImageName[];
  models: ModelName[];
  /** Why vmxlab's generation differs here, with the fact's source. */
  why: string;
  apply(transcript: string): string;
}

/** The body of the section whose title starts with `title` (up to the next "== " or END). */
export function sectionBody(t: string, title: string): string | null {
  const start = t.indexOf(`\n== ${title}`);
  if (start < 0) return null;
  const bodyStart = t.indexOf('\n', start + 1) + 1;
  const next = t.indexOf('\n== ', bodyStart - 1);
  const end = next < 0 ? t.lastIndexOf('\nEND ') + 1 : next + 1;
  return t.slice(bodyStart, end);
}

function replaceBody(t: string, title: string, body: (old: string) => string): string {
  const old = sectionBody(t, title);
  if (old === null) return t;
  const start = t.indexOf(`\n== ${title}`);
  const bodyStart = t.indexOf('\n', start + 1) + 1;
  return t.slice(0, bodyStart) + body(old) + t.slice(bodyStart + old.length);
}

const SKIP = '  skip (not supported by this CPU model)\n';
/** The Penryn recordings are the ones whose model line says there is no EPT. */
const penrynRecording = (t: string): boolean => /^model: .* ept=0 /m.test(t);
const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

export const MODEL_DIFFERENCES: ModelDifference[] = [
  {
    id: 'model-line-vmcs-shadowing',
    images: ['basics', 'exits', 'inject', 'ept', 'realmode'],
    models: ['haswell', 'icelake'],
    why: 'VMCS shadowing is not modelled (features.ts MODELLED_FEATURES): never reported',
    apply: (t) => t.replace(/^(model: .* )vmcs-shadowing=1$/m, '$1vmcs-shadowing=0'),
  },
  {
    id: 'model-line-penryn-true-controls',
    images: ['basics', 'exits', 'inject', 'ept', 'realmode'],
    models: ['penryn'],
    why: 'the real Core 2 Duo T9600 reports IA32_VMX_BASIC = 005A0800_0000000D: bit 55 (TRUE capability MSRs) ' +
      'is 0 (src/core/vmx/generations.ts [BXDUMP]); Bochs\' core2_penryn_t9600 sets it',
    apply: (t) => !penrynRecording(t) ? t : t.replace(/^model: true-ctls=1 /m, 'model: true-ctls=0 '),
  },
  {
    id: 'no-vmcs-shadowing',
    images: ['basics'],
    models: ['haswell', 'icelake'],
    why: 'without VMCS shadowing a VMCS region whose shadow-VMCS indicator (bit 31) is set fails VMPTRLD with ' +
      'error 11 (SDM Vol. 3C 31.3 VMPTRLD), so VMCS A stays current',
    apply: (t) => t
      .replace(/^ {2}vmptrld shadow-VMCS indicator: ok$/m, '  vmptrld shadow-VMCS indicator: VMfailValid 11 (VMPTRLD wrong revision)')
      .replace(/(vmptrld shadow-VMCS indicator: [^\n]*\n {2}vmptrst: ok\n {2}current VMCS pointer = 00000000:)00109000/, '$100101000'),
  },
  {
    id: 'mtf-on-haswell',
    images: ['exits'],
    models: ['haswell'],
    why: 'vmxlab\'s Haswell offers the monitor trap flag, as the real part does (every generation since Nehalem, ' +
      'generations.ts); Bochs 2.7 gives it to no model before Ice Lake. E26 then runs as on Ice Lake',
    apply: (t) => penrynRecording(t) || sectionBody(t, 'E26 ') !== SKIP ? t :
      replaceBody(t, 'E26 ', () => sectionBody(sdmTranscript('exits', 'icelake'), 'E26 ') ?? ''),
  },
  {
    id: 'penryn-cr3-store-exiting',
    images: ['exits'],
    models: ['penryn'],
    why: 'without TRUE capability MSRs (model-line-penryn-true-controls) "CR3-load exiting" and "CR3-store ' +
      'exiting" are default1 controls the hypervisor cannot clear (SDM Vol. 3D A.2), so E06\'s two MOVs from CR3 ' +
      'exit too (qualification 13H, skipped: EAX keeps the 0 vmcs_init gave it). Their RIPs from the listing: the ' +
      'first is 42 bytes before the MOV to CR3 whose exit Bochs prints (mov eax,cr3 3 + GREPORT 26 + mov ebx,imm 5 ' +
      '+ mov cr3,ebx 3 + mov ecx,imm 5), the second 3 bytes after it',
    apply: (t) => !penrynRecording(t) ? t : replaceBody(t, 'E06 ', (old) => {
      const m = /^ {2}exit 28 CR_ACCESS rip=([0-9a-f]{8}) q=00000103 len=3$/m.exec(old);
      if (!m) return old;
      const r = parseInt(m[1], 16);
      return `  exit 28 CR_ACCESS rip=${hex8(r - 42)} q=00000013 len=3\n  guest cr3 00000000 00000000\n` +
        `  exit 28 CR_ACCESS rip=${m[1]} q=00000103 len=3\n  exit 28 CR_ACCESS rip=${hex8(r + 3)} q=00000013 len=3\n` +
        '  guest cr3 00000000 00000000\n  done\n';
    }),
  },
];

/** What vmxlab prints for `image` on the generation of `model`. */
export function vmxlabTranscript(image: ImageName, model: ModelName): string {
  let t = sdmTranscript(image, model);
  for (const d of MODEL_DIFFERENCES) if (d.images.includes(image) && d.models.includes(model)) t = d.apply(t);
  return t;
}
