// The sub-key of an exit: the part of its exit information that tells exits of one reason
// apart (which port, which MSR, which control register, which vector, which guest-physical
// page). One decoder per reason that has a sub-key, each reading the fields the SDM defines for
// that reason (exit-qualification.ts has the bit layouts); reasons without a decoder are
// aggregated by reason only. A sub-key is a non-negative integer below 2^53, computed without
// allocating; the decoder turns it back into JSON fields and a label at report time.
import { VECTOR_NAMES } from '../cpu/regs';
import { ExitReason } from '../vmx/exit-reasons';
import type { ExitEvent } from './exit-event';
import {
  ApicAccessType, CR_ACCESS_SHIFT, CR_NUMBER_MASK, CrAccessType, DESC_INSTR_SHIFT, DR_DIRECTION_SHIFT,
  DR_NUMBER_MASK, DrAccessType, EPT_ACCESS_MASK, EptAccess, GdtrIdtrInstruction, INTR_TYPE_SHIFT, INTR_VALID,
  INTR_VECTOR_MASK, IO_PORT_SHIFT, InterruptionType, IoQual, LdtrTrInstruction, TaskSwitchSource, enumLabel,
} from './exit-qualification';
import { REASON_SLOTS } from './reasons';

/** What a sub-key is made of (the `kind` of a sub-key entry in the profile JSON). */
export type SubkeyKind =
  | 'io' | 'msr' | 'cr' | 'dr' | 'exception' | 'interrupt' | 'ept' | 'eptMisconfig' | 'apicAccess'
  | 'apicWrite' | 'eoi' | 'cpuid' | 'xsetbv' | 'taskSwitch' | 'descriptorTable' | 'sipi';

/** JSON fields of one sub-key (numbers stay numbers: ports, MSRs, addresses). */
export type SubkeyFields = Record<string, number | string | boolean | null>;

export interface SubkeyDecoder {
  readonly kind: SubkeyKind;
  /** One line for help and documentation: what the key is made of. */
  readonly describes: string;
  /** Writes the sub-key of `ev` (whose basic reason is this decoder's) to `out[0]`: through a
   *  Float64Array, so keys above the small-integer range (ports, MSRs, pages) are never boxed
   *  on the way back from a call V8 does not inline. Allocates nothing. */
  key(ev: ExitEvent, out: Float64Array): void;
  /** The key as JSON fields (schema: profile.schema.json, `subkeys`). */
  fields(key: number, reason: number): SubkeyFields;
  /** A short label in the manner of `perf kvm stat` keys ('0x70:POUT', '0x6e0:W'). */
  label(key: number, reason: number): string;
}

const hex = (n: number): string => `0x${n.toString(16)}`;
const PAGE = 4096;

/** Marks EPT-violation sub-keys whose exit a device model handled (MMIO). */
const EPT_MMIO = 8;

/** 'R', 'W', 'X' or combinations ('RW') from EPT access bits [2:0]. */
function accessLetters(bits: number): string {
  const s = ((bits & EptAccess.Read) !== 0 ? 'R' : '') + ((bits & EptAccess.Write) !== 0 ? 'W' : '') +
    ((bits & EptAccess.Fetch) !== 0 ? 'X' : '');
  return s === '' ? '-' : s;
}

function vectorName(v: number): string {
  return VECTOR_NAMES[v] ?? `vector ${hex(v)}`;
}

const io: SubkeyDecoder = {
  kind: 'io',
  describes: 'port, direction, size, string and REP bits of the exit qualification ([31:16], [3], [2:0], [4], [5])',
  key: (ev, out) => { out[0] = (ev.qualification & 0xffff003f) >>> 0; },
  fields: (k) => ({
    port: k >>> IO_PORT_SHIFT,
    direction: (k & IoQual.DirectionIn) !== 0 ? 'in' : 'out',
    size: (k & IoQual.SizeMask) + 1,
    string: (k & IoQual.String) !== 0,
    rep: (k & IoQual.Rep) !== 0,
  }),
  // perf kvm stat's ioport key: port and PIN/POUT.
  label: (k) => `${hex(k >>> IO_PORT_SHIFT)}:${(k & IoQual.DirectionIn) !== 0 ? 'PIN' : 'POUT'}`,
};

const msr: SubkeyDecoder = {
  kind: 'msr',
  describes: 'the MSR number (guest ECX); read or write from the reason',
  key: (ev, out) => { out[0] = ev.ecx >>> 0; },
  fields: (k, r) => ({ msr: k, access: r === ExitReason.Wrmsr ? 'write' : 'read' }),
  // perf kvm stat's msr key: number and R/W.
  label: (k, r) => `${hex(k)}:${r === ExitReason.Wrmsr ? 'W' : 'R'}`,
};

const cr: SubkeyDecoder = {
  kind: 'cr',
  describes: 'control register [3:0] and access type [5:4] of the exit qualification',
  key: (ev, out) => { out[0] = ev.qualification & 0x3f; },
  fields: (k) => ({ cr: k & CR_NUMBER_MASK, access: enumLabel(CrAccessType, k >>> CR_ACCESS_SHIFT) }),
  label: (k) => `CR${k & CR_NUMBER_MASK}:${enumLabel(CrAccessType, k >>> CR_ACCESS_SHIFT)}`,
};

const dr: SubkeyDecoder = {
  kind: 'dr',
  describes: 'debug register [2:0] and direction [4] of the exit qualification',
  key: (ev, out) => { out[0] = ev.qualification & 0x17; },
  fields: (k) => ({ dr: k & DR_NUMBER_MASK, access: enumLabel(DrAccessType, (k >>> DR_DIRECTION_SHIFT) & 1) }),
  label: (k) => `DR${k & DR_NUMBER_MASK}:${enumLabel(DrAccessType, (k >>> DR_DIRECTION_SHIFT) & 1)}`,
};

const exception: SubkeyDecoder = {
  kind: 'exception',
  describes: 'vector [7:0] and type [10:8] of the VM-exit interruption information',
  key: (ev, out) => { out[0] = ev.exitInterruptionInfo & 0x7ff; },
  fields: (k) => ({
    vector: k & INTR_VECTOR_MASK,
    vectorName: vectorName(k & INTR_VECTOR_MASK),
    type: enumLabel(InterruptionType, k >>> INTR_TYPE_SHIFT),
  }),
  label: (k) => {
    const type = k >>> INTR_TYPE_SHIFT;
    const v = vectorName(k & INTR_VECTOR_MASK);
    return type === InterruptionType.HardwareException || type === InterruptionType.Nmi ? v : `${v}:${enumLabel(InterruptionType, type)}`;
  },
};

/** External interrupts not acknowledged on exit have no vector: key 256. */
const NO_VECTOR = 0x100;
const interrupt: SubkeyDecoder = {
  kind: 'interrupt',
  describes: 'vector [7:0] of the VM-exit interruption information when valid ("acknowledge interrupt on exit")',
  key: (ev, out) => { out[0] = ((ev.exitInterruptionInfo & INTR_VALID) !== 0 ? ev.exitInterruptionInfo & INTR_VECTOR_MASK : NO_VECTOR); },
  fields: (k) => ({ vector: k === NO_VECTOR ? null : k }),
  label: (k) => (k === NO_VECTOR ? 'not acknowledged' : `vector ${hex(k)}`),
};

const ept: SubkeyDecoder = {
  kind: 'ept',
  describes: 'guest-physical page, access bits [2:0] of the exit qualification, and whether a device handled it (MMIO)',
  key: (ev, out) => { out[0] = Math.floor(ev.guestPhysical / PAGE) * 16 + (ev.device !== null ? EPT_MMIO : 0) + (ev.qualification & EPT_ACCESS_MASK); },
  fields: (k) => ({
    gpa: Math.floor(k / 16) * PAGE,
    read: (k & EptAccess.Read) !== 0,
    write: (k & EptAccess.Write) !== 0,
    fetch: (k & EptAccess.Fetch) !== 0,
    mmio: (k & EPT_MMIO) !== 0,
  }),
  label: (k) => `${hex(Math.floor(k / 16) * PAGE)}:${accessLetters(k & EPT_ACCESS_MASK)}`,
};

const eptMisconfig: SubkeyDecoder = {
  kind: 'eptMisconfig',
  describes: 'guest-physical page',
  key: (ev, out) => { out[0] = Math.floor(ev.guestPhysical / PAGE); },
  fields: (k) => ({ gpa: k * PAGE }),
  label: (k) => hex(k * PAGE),
};

const APIC_ACCESS_LETTER: Partial<Record<ApicAccessType, string>> = {
  [ApicAccessType.LinearRead]: 'R', [ApicAccessType.LinearWrite]: 'W', [ApicAccessType.LinearFetch]: 'X',
};
const apicAccess: SubkeyDecoder = {
  kind: 'apicAccess',
  describes: 'page offset [11:0] and access type [15:12] of the exit qualification',
  key: (ev, out) => { out[0] = ev.qualification & 0xffff; },
  fields: (k) => ({ offset: k & 0xfff, access: enumLabel(ApicAccessType, k >>> 12) }),
  label: (k) => `apic+${hex(k & 0xfff)}:${APIC_ACCESS_LETTER[(k >>> 12) as ApicAccessType] ?? enumLabel(ApicAccessType, k >>> 12)}`,
};

const apicWrite: SubkeyDecoder = {
  kind: 'apicWrite',
  describes: 'APIC page offset [11:0] of the exit qualification',
  key: (ev, out) => { out[0] = ev.qualification & 0xfff; },
  fields: (k) => ({ offset: k }),
  label: (k) => `apic+${hex(k)}:W`,
};

const eoi: SubkeyDecoder = {
  kind: 'eoi',
  describes: 'vector [7:0] of the exit qualification',
  key: (ev, out) => { out[0] = ev.qualification & 0xff; },
  fields: (k) => ({ vector: k }),
  label: (k) => `vector ${hex(k)}`,
};

const cpuid: SubkeyDecoder = {
  kind: 'cpuid',
  describes: 'the leaf (guest EAX)',
  key: (ev, out) => { out[0] = ev.eax >>> 0; },
  fields: (k) => ({ leaf: k }),
  label: (k) => `leaf ${hex(k)}`,
};

const xsetbv: SubkeyDecoder = {
  kind: 'xsetbv',
  describes: 'the XCR number (guest ECX)',
  key: (ev, out) => { out[0] = ev.ecx >>> 0; },
  fields: (k) => ({ xcr: k }),
  label: (k) => `XCR${k}`,
};

const taskSwitch: SubkeyDecoder = {
  kind: 'taskSwitch',
  describes: 'TSS selector [15:0] and source [31:30] of the exit qualification',
  key: (ev, out) => { out[0] = ((ev.qualification >>> 30) & 3) * 0x10000 + (ev.qualification & 0xffff); },
  fields: (k) => ({ selector: k & 0xffff, source: enumLabel(TaskSwitchSource, k >>> 16) }),
  label: (k) => `${enumLabel(TaskSwitchSource, k >>> 16)} ${hex(k & 0xffff)}`,
};

function descriptorTable(names: Record<string, string | number>): SubkeyDecoder {
  return {
    kind: 'descriptorTable',
    describes: 'instruction identity [29:28] of the VM-exit instruction information',
    key: (ev, out) => { out[0] = (ev.instructionInfo >>> DESC_INSTR_SHIFT) & 3; },
    fields: (k) => ({ instruction: enumLabel(names, k) }),
    label: (k) => enumLabel(names, k).toUpperCase(),
  };
}

const sipi: SubkeyDecoder = {
  kind: 'sipi',
  describes: 'SIPI vector [7:0] of the exit qualification',
  key: (ev, out) => { out[0] = ev.qualification & 0xff; },
  fields: (k) => ({ vector: k }),
  label: (k) => `vector ${hex(k)}`,
};

/** The decoder of every reason that has a sub-key. */
export const SUBKEY_DECODERS: ReadonlyMap<ExitReason, SubkeyDecoder> = new Map<ExitReason, SubkeyDecoder>([
  [ExitReason.ExceptionOrNmi, exception],
  [ExitReason.ExternalInterrupt, interrupt],
  [ExitReason.StartupIpi, sipi],
  [ExitReason.TaskSwitch, taskSwitch],
  [ExitReason.Cpuid, cpuid],
  [ExitReason.CrAccess, cr],
  [ExitReason.MovDr, dr],
  [ExitReason.IoInstruction, io],
  [ExitReason.Rdmsr, msr],
  [ExitReason.Wrmsr, msr],
  [ExitReason.ApicAccess, apicAccess],
  [ExitReason.VirtualizedEoi, eoi],
  [ExitReason.GdtrIdtrAccess, descriptorTable(GdtrIdtrInstruction)],
  [ExitReason.LdtrTrAccess, descriptorTable(LdtrTrInstruction)],
  [ExitReason.EptViolation, ept],
  [ExitReason.EptMisconfiguration, eptMisconfig],
  [ExitReason.Xsetbv, xsetbv],
  [ExitReason.ApicWrite, apicWrite],
]);

/** The same table indexed by basic reason (undefined: no sub-key), for the recorder's hot path. */
export const DECODER_BY_REASON: readonly (SubkeyDecoder | undefined)[] = Array.from(
  { length: REASON_SLOTS }, (_, r) => SUBKEY_DECODERS.get(r as ExitReason),
);

const scratch = new Float64Array(1);

/** The sub-key of `ev`, or -1 when its reason has none (report and test use). */
export function subkeyOf(ev: ExitEvent): number {
  const d = DECODER_BY_REASON[ev.reason];
  if (d === undefined) return -1;
  d.key(ev, scratch);
  return scratch[0]!;
}
