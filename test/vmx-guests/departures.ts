// Where Bochs 2.7 (the recorder of expected/*.txt) departs from the Intel SDM. The recorded
// transcripts stay as Bochs printed them; `sdmTranscript` applies these corrections, giving
// the transcript an SDM-conforming CPU must print (what vmxlab is compared with later).
// Each correction must change the recording of every model it names (images.test.ts checks),
// so a correction never outlives the Bochs behaviour it describes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const VMX_GUESTS = fileURLToPath(new URL('.', import.meta.url));

/** The test hypervisors: directory `<name>/`, source `<name>.asm`, image `vmx-<name>.img`. */
export const IMAGES = ['basics', 'exits', 'inject', 'ept', 'realmode', 'isa'] as const;
export type ImageName = (typeof IMAGES)[number];

/** Bochs CPU models the transcripts were recorded on (record-bochs.sh). */
export const MODELS = {
  haswell: 'corei7_haswell_4770',
  penryn: 'core2_penryn_t9600',
  icelake: 'corei7_icelake_u',
} as const;
export type ModelName = keyof typeof MODELS;

export function transcriptPath(image: ImageName, model: ModelName): string {
  return join(VMX_GUESTS, 'expected', `vmx-${image}.${model}.txt`);
}

export function readTranscript(image: ImageName, model: ModelName): string {
  return readFileSync(transcriptPath(image, model), 'latin1');
}

export interface Departure {
  id: string;
  image: ImageName;
  models: ModelName[];
  /** What the SDM says, with the section. */
  sdm: string;
  /** What Bochs 2.7 does instead. */
  bochs: string;
  /** Rewrites Bochs' lines into the SDM's. */
  apply(transcript: string): string;
}

const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

/** Replaces the body of the section whose title starts with `title` (up to the next "== "). */
function replaceSectionBody(t: string, title: string, body: (old: string) => string): string {
  const start = t.indexOf(`\n== ${title}`);
  if (start < 0) return t;
  const bodyStart = t.indexOf('\n', start + 1) + 1;
  const next = t.indexOf('\n== ', bodyStart - 1);
  const end = next < 0 ? t.lastIndexOf('\nEND ') + 1 : next + 1;
  return t.slice(0, bodyStart) + body(t.slice(bodyStart, end)) + t.slice(end);
}

export const DEPARTURES: Departure[] = [
  {
    id: 'gdtr-idtr-operand-size',
    image: 'exits',
    models: ['haswell', 'icelake'],
    sdm: 'Table 27-10 (27.2.5): bit 11 of the VM-exit instruction information for LGDT/LIDT/SGDT/SIDT ' +
      'is the operand size, 1 for 32-bit operands',
    bochs: 'leaves bit 11 clear (its gen_instruction_info never sets it for these exits)',
    apply: (t) => t.replace(/^( {2}exit 46 GDTR_IDTR .* info=)([0-9a-f]{8})$/gm,
      (_m, head: string, info: string) => head + hex8(parseInt(info, 16) | (1 << 11))),
  },
  {
    id: 'nmi-injection-with-nmi-blocking',
    image: 'inject',
    models: ['haswell', 'penryn', 'icelake'],
    sdm: '26.3.1.5: with "virtual NMIs" = 1, blocking by NMI must be 0 when injecting an NMI; ' +
      'otherwise VM entry fails (exit reason 33 with bit 31, qualification 0)',
    bochs: 'enters the guest and delivers the NMI',
    apply: (t) => replaceSectionBody(t, 'I06b ', (old) =>
      old.startsWith('  guest event 02 ') ? '  exit 33 INVALID_GUEST_STATE entry-failure q=00000000\n' : old),
  },
  {
    id: 'hardware-exception-injected-into-hlt',
    image: 'inject',
    models: ['haswell', 'penryn', 'icelake'],
    sdm: '27.3.1.5 (Checks on Guest Non-Register State): an injected event must not be one the activity ' +
      'state blocks; in the HLT state only external interrupts, NMIs, hardware exceptions 1 (#DB) and 18 ' +
      '(#MC) and pending MTF may be injected, so #GP into HLT fails VM entry (exit 33, qualification 0)',
    bochs: 'enters the guest and delivers the #GP',
    apply: (t) => replaceSectionBody(t, 'I04b ', (old) =>
      old.startsWith('  guest event 0d ') ? '  exit 33 INVALID_GUEST_STATE entry-failure q=00000000\n' : old),
  },
  {
    id: 'vmcall-in-root-without-smm-monitor',
    image: 'basics',
    models: ['haswell', 'penryn', 'icelake'],
    sdm: 'VMCALL (31.3) in VMX root operation: VMfail(1, "VMCALL executed in VMX root operation") when the ' +
      'processor lacks the dual-monitor treatment of SMIs and SMM or IA32_SMM_MONITOR_CTL[0] (valid) is 0 - ' +
      'checked before the current VMCS and its launch state, so error 19 (non-clear VMCS) cannot come first',
    bochs: 'skips the IA32_SMM_MONITOR_CTL check and reports error 19 for the launched VMCS',
    apply: (t) => t.replace(/^( {2}vmcall in root operation \(launched VMCS\): )VMfailValid 19 \(VMCALL non-clear VMCS\)$/m,
      (_m, head: string) => `${head}VMfailValid 1 (VMCALL in VMX root operation)`),
  },
  {
    id: 'invept-invvpid-without-ept-vpid',
    image: 'exits',
    models: ['penryn'],
    sdm: 'INVEPT / INVVPID (Vol. 3C 30.3): #UD if the processor does not support EPT / VPID ' +
      '(IA32_VMX_PROCBASED_CTLS2[33] / [37] = 0); the test intercepts #UD, so exit 0 with #UD',
    bochs: 'decodes both instructions on every VMX model and exits with reasons 50 / 53',
    apply: (t) => !/^model: .* ept=0 .* vpid=0 /m.test(t) ? t : t.replace(
      /^( {2}exit )(?:50 INVEPT|53 INVVPID)( rip=[0-9a-f]{8}) .*$/gm,
      (_m, head: string, rip: string) => `${head}0 EXCEPTION_NMI${rip} int=80000306`),
  },
  {
    id: 'monitor-trap-flag',
    image: 'exits',
    models: ['icelake'],
    sdm: '25.5.2: with the monitor trap flag set, an MTF VM exit (reason 37) follows every guest ' +
      'instruction: three exits after nop, inc eax, mov ebx,5 (RIP = guest code + 1, + 2, + 7)',
    bochs: 'accepts the control (allowed-1 bit 27 on corei7_icelake_u) but no MTF exit ever comes',
    apply: (t) => replaceSectionBody(t, 'E26 ', (old) => {
      const m = /^ {2}guest code at ([0-9a-f]{8})\n {2}done\n$/.exec(old);
      if (!m) return old;
      const base = parseInt(m[1], 16);
      const exits = [1, 2, 7].map((d) => `  exit 37 MONITOR_TRAP_FLAG rip=${hex8(base + d)}\n`).join('');
      return `  guest code at ${m[1]}\n${exits}  done\n`;
    }),
  },
  {
    id: 'rdrand-rdseed-16-bit-operand-size',
    image: 'isa',
    models: ['haswell', 'icelake'],
    sdm: 'Table 28-12 (27-12 before 2023), VM-exit instruction information for RDRAND and RDSEED: bits 12:11 are ' +
      'the operand size, 0 for 16-bit (RDRAND BX, RDSEED SI: a 66 prefix in 32-bit code)',
    bochs: 'reports 1 (32-bit) for the 16-bit forms as well',
    apply: (t) => t.replace(/^( {2}exit (?:57 RDRAND|61 RDSEED) rip=[0-9a-f]{8} len=4 info=)([0-9a-f]{8})$/gm,
      (_m, head: string, info: string) => head + hex8(parseInt(info, 16) & ~(3 << 11))),
  },
  {
    id: 'pause-loop-first-pause-after-entry',
    image: 'isa',
    models: ['haswell', 'icelake'],
    sdm: '26.1.3 (PAUSE-loop exiting): a PAUSE more than PLE_Gap ticks after the previous one at CPL 0 is the ' +
      'first of a loop, "it also does so for the first execution of PAUSE at CPL 0 after VM entry"; the exit comes ' +
      'when more than PLE_Window ticks passed since the first of the loop. With PLE_Window = 0 the first PAUSE ' +
      'after each VM entry starts a loop without exiting and the next one exits: two exits in S11, not four',
    bochs: 'does not start a loop at the first PAUSE after VM entry: with PLE_Window = 0 every PAUSE exits',
    apply: (t) => replaceSectionBody(t, 'S11 ', (old) => {
      const lines = old.split('\n');
      const pauses = lines.filter((l) => l.startsWith('  exit 40 PAUSE '));
      if (pauses.length !== 4) return old;
      // Bochs' 1st and 3rd exits are the PAUSEs that follow a VM entry.
      return lines.filter((l) => l !== pauses[0] && l !== pauses[2]).join('\n');
    }),
  },
];

/** The transcript an SDM-conforming CPU prints: the Bochs recording with DEPARTURES applied. */
export function sdmTranscript(image: ImageName, model: ModelName): string {
  let t = readTranscript(image, model);
  for (const d of DEPARTURES) if (d.image === image && d.models.includes(model)) t = d.apply(t);
  return t;
}
