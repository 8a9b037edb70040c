// Machine settings: the defaults the UI starts from and the checks the engine applies to what
// it is sent (a settings object from a renderer is untrusted input: every field is checked and
// a bad one is refused with a message that names it).
import { DEFAULT_GENERATION, GENERATION_NAMES, findGeneration, type GenerationName } from '../vmx/generations';
import { checkExitControls } from '../vmm/index';
import { PRESET_LISTS, generationCaps, presetControls } from './controls-catalog';
import { defaultModeFor, hostedExitControls, hostedUnavailableReason } from './hosted-mode';
import {
  BOOT_KINDS, CONTROL_PRESETS, MSR_LIST_MODES, PACINGS, RUN_MODES, type ExitControlSettings, type IdRangeSetting, type MachineSettings,
  type MsrListMode,
} from './protocol';

export const MIN_MEMORY_MIB = 2;
export const MAX_MEMORY_MIB = 2048;
export const MAX_VCPUS = 8;

export function defaultSettings(generation: GenerationName = DEFAULT_GENERATION): MachineSettings {
  return {
    boot: 'auto', memoryMiB: 32, vcpus: 1, generation, mode: defaultModeFor(generation), mips: 100, pacing: 'realtime', cmdline: '',
    marker: null, exitControls: presetControls('kvm', generation),
  };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isU32 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= -0x80000000 && v <= 0xffffffff;

/** Checks `v` as MachineSettings; returns the settings (copied, masks made unsigned) or throws
 *  an Error naming the first bad field. */
export function checkSettings(v: unknown): MachineSettings {
  if (!isObj(v)) throw new Error('settings: expected an object');
  const oneOf = <T extends string>(key: string, list: readonly T[]): T => {
    const x = v[key];
    if (typeof x !== 'string' || !(list as readonly string[]).includes(x)) throw new Error(`settings.${key}: one of ${list.join(', ')} (got ${JSON.stringify(x)})`);
    return x as T;
  };
  const boot = oneOf('boot', BOOT_KINDS);
  const mode = oneOf('mode', RUN_MODES);
  const pacing = oneOf('pacing', PACINGS);
  const generation = oneOf('generation', GENERATION_NAMES);
  const mem = v['memoryMiB'];
  if (typeof mem !== 'number' || !Number.isInteger(mem) || mem < MIN_MEMORY_MIB || mem > MAX_MEMORY_MIB) {
    throw new Error(`settings.memoryMiB: a whole number of MiB from ${MIN_MEMORY_MIB} to ${MAX_MEMORY_MIB} (got ${JSON.stringify(mem)})`);
  }
  const vcpus = v['vcpus'];
  if (typeof vcpus !== 'number' || !Number.isInteger(vcpus) || vcpus < 1 || vcpus > MAX_VCPUS) {
    throw new Error(`settings.vcpus: 1 to ${MAX_VCPUS} (got ${JSON.stringify(vcpus)})`);
  }
  const mips = v['mips'];
  if (typeof mips !== 'number' || !(mips >= 1 && mips <= 10000)) throw new Error(`settings.mips: 1 to 10000 (got ${JSON.stringify(mips)})`);
  const cmdline = v['cmdline'];
  if (typeof cmdline !== 'string' || cmdline.length > 4096) throw new Error('settings.cmdline: a string of at most 4096 characters');
  const marker = v['marker'];
  if (marker !== null && (typeof marker !== 'string' || marker.length === 0 || marker.length > 256)) {
    throw new Error('settings.marker: null or a string of 1 to 256 characters');
  }
  const exitControls = checkControls(v['exitControls']);
  if (mode === 'hosted') {
    const why = hostedUnavailableReason(generation);
    if (why !== null) throw new Error(`settings.mode: hosted mode is not available: ${why}`);
    // What the VMM would refuse when it takes the CPU, refused here with the settings' name.
    try { checkExitControls(hostedExitControls(exitControls, generation), generationCaps(generation)!); } catch (e) { throw new Error(`settings.exitControls: ${(e as Error).message}`); }
  }
  return { boot, memoryMiB: mem, vcpus, generation, mode, mips, pacing, cmdline, marker: marker as string | null, exitControls };
}

export function checkControls(v: unknown): ExitControlSettings {
  if (!isObj(v)) throw new Error('settings.exitControls: expected an object');
  const preset = v['preset'];
  if (preset !== 'custom' && !(CONTROL_PRESETS as readonly unknown[]).includes(preset)) {
    throw new Error(`settings.exitControls.preset: one of ${[...CONTROL_PRESETS, 'custom'].join(', ')}`);
  }
  const out: Record<string, number> = {};
  for (const k of ['pin', 'proc', 'proc2', 'exit', 'entry']) {
    const x = v[k];
    if (!isU32(x)) throw new Error(`settings.exitControls.${k}: a 32-bit mask (got ${JSON.stringify(x)})`);
    out[k] = x >>> 0;
  }
  // Settings saved before the lists existed have none: they get KVM's.
  const kvm = PRESET_LISTS.kvm;
  const ioPorts = v['ioPorts'] === undefined ? kvm.ioPorts : checkRanges(v['ioPorts'], 'ioPorts', 0xffff);
  const msrs = v['msrs'] === undefined ? kvm.msrs : checkRanges(v['msrs'], 'msrs', 0xffffffff);
  const msrMode = v['msrMode'] === undefined ? kvm.msrMode : v['msrMode'];
  if (!(MSR_LIST_MODES as readonly unknown[]).includes(msrMode)) throw new Error(`settings.exitControls.msrMode: one of ${MSR_LIST_MODES.join(', ')} (got ${JSON.stringify(msrMode)})`);
  const eb = v['exceptionBitmap'] === undefined ? kvm.exceptionBitmap : v['exceptionBitmap'];
  if (!isU32(eb)) throw new Error(`settings.exitControls.exceptionBitmap: a 32-bit mask (got ${JSON.stringify(eb)})`);
  return {
    preset: preset as ExitControlSettings['preset'], pin: out['pin']!, proc: out['proc']!, proc2: out['proc2']!, exit: out['exit']!, entry: out['entry']!,
    ioPorts, msrMode: msrMode as MsrListMode, msrs, exceptionBitmap: eb >>> 0,
  };
}

/** At most this many ranges per list (a bitmap page has 32768 bits; ranges keep it short). */
export const MAX_RANGES = 256;

function checkRanges(v: unknown, key: string, max: number): IdRangeSetting[] {
  if (!Array.isArray(v) || v.length > MAX_RANGES) throw new Error(`settings.exitControls.${key}: an array of at most ${MAX_RANGES} { first, last } ranges`);
  return v.map((r, i) => {
    const first = isObj(r) ? r['first'] : undefined, last = isObj(r) ? r['last'] : undefined;
    const whole = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= max;
    if (!whole(first) || !whole(last) || first > last) {
      throw new Error(`settings.exitControls.${key}[${i}]: a range { first, last } with 0 <= first <= last <= 0x${max.toString(16)} (got ${JSON.stringify(r)})`);
    }
    return { first, last };
  });
}

/** The generation's title ('Skylake'). */
export function generationTitle(name: GenerationName): string {
  return findGeneration(name)?.title ?? name;
}
