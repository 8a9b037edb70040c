// The VMCS inspector's data: every field of a vCPU's current VMCS that exists on its generation
// (capabilities.ts fieldExists), named after the SDM (fields.ts VmcsField, Vol. 3D Appendix B),
// with the fields that changed between the two most recent exits marked. The engine keeps those
// two copies only while the inspector asks for it (`trackVmcs`): one copy of the VMCS data per
// exit, into preallocated buffers.
import type { Cpu } from '../cpu/cpu';
import { ALL_FIELDS, FIELD_NAMES, FieldType, FieldWidth, fieldType, fieldWidth } from '../vmx/fields';
import { VmxUnit } from '../vmx/unit';
import { SLOT_COUNT, SLOT_OF } from '../vmx/vmcs';
import type { CurrentVmcs } from '../vmx/vmcs';
import type { VmcsFieldValue, VmcsSnapshot } from './protocol';

const GROUP: Readonly<Record<FieldType, VmcsFieldValue['group']>> = {
  [FieldType.Control]: 'control', [FieldType.ExitInformation]: 'exit-info', [FieldType.GuestState]: 'guest', [FieldType.HostState]: 'host',
};
const WIDTH: Readonly<Record<FieldWidth, VmcsFieldValue['width']>> = {
  [FieldWidth.Bits16]: 16, [FieldWidth.Bits32]: 32, [FieldWidth.Bits64]: 64, [FieldWidth.Natural]: 0,
};

/** The VMCS contents at the two most recent exits of one vCPU. */
export class VmcsHistory {
  private last = new Int32Array(SLOT_COUNT * 2);
  private prev = new Int32Array(SLOT_COUNT * 2);
  exits = 0;

  /** Called at each exit while tracking: the current VMCS becomes "last". */
  capture(vmcs: CurrentVmcs): void {
    const t = this.prev;
    this.prev = this.last;
    this.last = t;
    t.set(vmcs.data);
    this.exits++;
  }

  /** Whether the field's slot differs between the last two exits. */
  changed(slot: number): boolean {
    return this.exits >= 2 && (this.last[slot * 2] !== this.prev[slot * 2] || this.last[slot * 2 + 1] !== this.prev[slot * 2 + 1]);
  }

  clear(): void { this.exits = 0; }
}

/** The current VMCS of `cpu` (vCPU `vcpu`), or null when it has no VMX unit or no current VMCS. */
export function vmcsSnapshot(cpu: Cpu, vcpu: number, history: VmcsHistory | null): VmcsSnapshot | null {
  const unit = cpu.vmx;
  if (!(unit instanceof VmxUnit) || !unit.vmcs.valid) return null;
  const v = unit.vmcs, exists = unit.caps.fieldExists;
  const fields: VmcsFieldValue[] = [];
  for (const f of ALL_FIELDS) {
    if (exists[f] !== 1) continue;
    const w = fieldWidth(f);
    fields.push({
      encoding: f, name: FIELD_NAMES.get(f) ?? `0x${f.toString(16)}`, group: GROUP[fieldType(f)], width: WIDTH[w],
      lo: v.lo(f), hi: w === FieldWidth.Bits64 ? v.hi(f) : 0, changed: history !== null && history.changed(SLOT_OF[f]!),
    });
  }
  return { vcpu, address: v.pa, launched: v.launched, fields, exitsTracked: history?.exits ?? 0 };
}
