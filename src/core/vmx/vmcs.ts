// The VMCS: a 4 KB region in emulated physical memory, and the processor's copy of the current
// one (SDM Vol. 3C §25.1 "Overview", §25.2 "Format of the VMCS Region", §25.11 "Software Use
// of the VMCS and Related Structures").
//
// Region layout. The SDM fixes the first 8 bytes and leaves the rest to the implementation;
// vmxlab's is:
//   +0   [30:0] VMCS revision identifier, [31] shadow-VMCS indicator        (§25.2)
//   +4   VMX-abort indicator (written by a VMX abort, §28.7)                (§25.2)
//   +8   launch state: LAUNCHED_MARK when "launched"; any other value is "clear"
//   +12  reserved (0)
//   +16  one 8-byte slot per field (low dword, then high dword), in encoding order of
//        fields.ts ALL_FIELDS; 16-bit, 32-bit and (without Intel 64) natural-width fields use
//        the low dword only.
//
// Caching (a design choice; hardware does the same). The processor keeps the current VMCS in
// its own storage (`CurrentVmcs.data`): VMREAD, VMWRITE and VM entry read and write that copy,
// never memory. The copy is written back (flushed) when VMCLEAR names it, when VMPTRLD makes
// another VMCS current, and on VMXOFF and RESET. As on hardware (§25.11.1), software that
// reads or writes an active VMCS's region directly sees stale data or loses its writes: only
// VMCLEAR makes the region consistent in memory (and sets its launch state to clear).
import type { PhysicalMemory } from '../platform/memory';
import { ALL_FIELDS, VmcsField } from './fields';

/** The current-VMCS pointer value "none" (FFFFFFFF_FFFFFFFFh, §25.1). */
export const NO_VMCS = -1;
/** Launch state "launched" in the region's dword at +8 ('LNCH'). */
export const LAUNCHED_MARK = 0x48434e4c;
export const VMCS_LAUNCH_STATE_OFFSET = 8;
export const VMCS_FIELDS_OFFSET = 16;

/** Field encoding (full access) -> slot index; -1 for encodings with no field. */
export const SLOT_OF = new Int16Array(0x8000).fill(-1);
ALL_FIELDS.forEach((f, i) => { SLOT_OF[f] = i; });
export const SLOT_COUNT = ALL_FIELDS.length;
/** Bytes of the region vmxlab's layout uses. */
export const VMCS_LAYOUT_BYTES = VMCS_FIELDS_OFFSET + SLOT_COUNT * 8;

/** Read access to a VMCS's fields, for the VM-entry checks (pure functions of a VMCS). */
export interface VmcsReader {
  /** Low 32 bits of a field (16/32-bit fields: the whole value), unsigned. */
  lo(field: VmcsField): number;
  /** High 32 bits of a 64-bit (or, with Intel 64, natural-width) field, unsigned. */
  hi(field: VmcsField): number;
}

/** The processor's copy of the current VMCS. */
export class CurrentVmcs implements VmcsReader {
  /** Physical address of the current VMCS, or NO_VMCS. */
  pa = NO_VMCS;
  launched = false;
  /** Slot i holds [2i] = low dword, [2i + 1] = high dword. */
  readonly data = new Int32Array(SLOT_COUNT * 2);

  get valid(): boolean { return this.pa !== NO_VMCS; }

  lo(field: VmcsField): number { return this.data[SLOT_OF[field & 0x7ffe] * 2] >>> 0; }
  hi(field: VmcsField): number { return this.data[SLOT_OF[field & 0x7ffe] * 2 + 1] >>> 0; }
  setLo(field: VmcsField, v: number): void { this.data[SLOT_OF[field & 0x7ffe] * 2] = v; }
  setHi(field: VmcsField, v: number): void { this.data[SLOT_OF[field & 0x7ffe] * 2 + 1] = v; }

  /** Makes the VMCS at `pa` current: its launch state and fields come from memory. */
  load(mem: PhysicalMemory, pa: number): void {
    this.pa = pa;
    this.launched = mem.read32(pa + VMCS_LAUNCH_STATE_OFFSET) === LAUNCHED_MARK;
    const d = this.data, base = pa + VMCS_FIELDS_OFFSET;
    for (let i = 0; i < d.length; i++) d[i] = mem.read32(base + i * 4);
  }

  /** Writes the copy back to its region (the region's revision and abort dwords stay). */
  flush(mem: PhysicalMemory): void {
    if (this.pa === NO_VMCS) return;
    mem.write32(this.pa + VMCS_LAUNCH_STATE_OFFSET, this.launched ? LAUNCHED_MARK : 0);
    const d = this.data, base = this.pa + VMCS_FIELDS_OFFSET;
    for (let i = 0; i < d.length; i++) mem.write32(base + i * 4, d[i]);
  }

  /** Flushes and forgets: no current VMCS. */
  release(mem: PhysicalMemory): void {
    this.flush(mem);
    this.pa = NO_VMCS;
    this.launched = false;
  }
}

/** Sets the launch state of the VMCS region at `pa` to clear, in memory (VMCLEAR). */
export function writeLaunchStateClear(mem: PhysicalMemory, pa: number): void {
  mem.write32(pa + VMCS_LAUNCH_STATE_OFFSET, 0);
}
