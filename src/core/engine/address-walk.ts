// The VMCS inspector's address walk: a guest-physical address through the EPT named by a vCPU's
// current EPTP (SDM Vol. 3C §29.3.2 "EPT Translation Mechanism"), and optionally a guest-linear
// address through the guest's own page tables first (Vol. 3A §4.3 32-bit paging, §4.4 PAE paging),
// each guest paging-structure entry reached through EPT as the CPU would (§29.3.1).
//
// Read-only and side-effect free: entries are read from RAM/ROM pages only (an entry in an MMIO
// page would be a device read, so the walk stops there and says so), the EPT outcome comes from
// the core's EptWalker (walk.ts) on a fresh instance with the accessed/dirty update turned off
// (no entry is written), and no TLB, VMCS field or CPU register is touched.
import type { Cpu } from '../cpu/cpu';
import { Cr0, Cr4 } from '../cpu/regs';
import { asGuestPhysical } from '../platform/address';
import { PageKind, type PhysicalMemory } from '../platform/memory';
import { ProcBasedCtls, ProcBasedCtls2 } from '../vmx/controls';
import { EptAccess, EptOutcome, EptWalker, Misconfig, eptFeaturesOf } from '../vmx/ept/walk';
import { EptEntry, Eptp } from '../vmx/ept/format';
import { eptViolationQualification, describeEptViolation } from '../vmx/ept/qualification';
import { VmcsField } from '../vmx/fields';
import { VmxUnit } from '../vmx/unit';
import type {
  AddressWalk, EptAccessOutcome, EptLevelView, EptWalkView, GuestPagingLevel, GuestPagingView,
} from './protocol';

/** EPT entry names by level (§29.3.2). */
export const EPT_LEVEL_NAMES: Readonly<Record<1 | 2 | 3 | 4, EptLevelView['name']>> = { 4: 'PML4E', 3: 'PDPTE', 2: 'PDE', 1: 'PTE' };

/** Why a misconfiguration, in words (walk.ts Misconfig; §29.3.3.1). */
const MISCONFIG_TEXT: Readonly<Record<Misconfig, string>> = {
  [Misconfig.None]: '',
  [Misconfig.WriteWithoutRead]: 'the entry is writable but not readable (bits 1:0 = 10b)',
  [Misconfig.ExecuteOnlyUnsupported]: 'execute-only entry (bits 2:0 = 100b) without the execute-only capability',
  [Misconfig.ReservedBit]: 'a reserved bit is set',
  [Misconfig.AddressBeyondWidth]: 'address bits beyond the physical-address width are set',
  [Misconfig.LargePageUnsupported]: 'the page-size bit maps a page size this generation does not support',
  [Misconfig.MemoryType]: 'the memory type is reserved (2, 3 or 7)',
};

export const MEMORY_TYPE_NAMES: readonly string[] = ['UC', 'WC', 'reserved (2)', 'reserved (3)', 'WT', 'WP', 'WB', 'reserved (7)'];

const hex = (v: number): string => `0x${(v >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;

/** A dword of RAM/ROM at `addr`, or null where reading would touch a device or nothing. */
function ramRead32(mem: PhysicalMemory, addr: number): number | null {
  const a = (addr & mem.a20Mask) >>> 0;
  if ((a & 0xfff) > 0xffc) return null; // entries are 8-byte aligned: never happens for them
  if (mem.kind[a >>> 12]! > PageKind.Rom) return null;
  return mem.read32(a);
}

/** Where the vCPU's EPT is, or why there is none to walk. */
function eptpOf(unit: VmxUnit): { lo: number; hi: number } | string {
  const v = unit.vmcs;
  const proc = v.lo(VmcsField.ProcBasedControls), proc2 = v.lo(VmcsField.ProcBasedControls2);
  if ((proc & ProcBasedCtls.ActivateSecondaryControls) === 0 || (proc2 & ProcBasedCtls2.EnableEpt) === 0) {
    return 'EPT is off in this VMCS ("enable EPT" = 0): guest-physical addresses are host-physical addresses';
  }
  return { lo: v.lo(VmcsField.EptPointer), hi: v.hi(VmcsField.EptPointer) };
}

/** The EPT walk of `gpa` on `unit`'s current VMCS (read-only). */
export function eptWalkView(unit: VmxUnit, mem: PhysicalMemory, gpa: number): EptWalkView {
  const ept = eptpOf(unit);
  if (typeof ept === 'string') {
    return { gpa: gpa >>> 0, enabled: false, eptp: 0, eptpHigh: 0, pml4: 0, walkLength: 0, accessedDirty: false, levels: [], outcomes: [], hpa: gpa >>> 0, pageSize: 4096, message: ept };
  }
  const features = eptFeaturesOf(unit.caps.eptCap);
  const pml4 = (ept.lo & Eptp.AddressMask) >>> 0;
  const base = {
    gpa: gpa >>> 0, enabled: true, eptp: ept.lo >>> 0, eptpHigh: ept.hi >>> 0, pml4,
    walkLength: ((ept.lo & Eptp.WalkLengthMask) >>> Eptp.WalkLengthShift) + 1, accessedDirty: (ept.lo & Eptp.AccessedDirty) !== 0,
  };
  // Our own read-only pass over the entries the walk reads: their addresses and values.
  const levels: EptLevelView[] = [];
  let table = pml4;
  for (let level = 4 as 1 | 2 | 3 | 4; level >= 1; level--) {
    const index = level === 4 ? 0 : (gpa >>> (12 + 9 * (level - 1))) & 0x1ff; // 32-bit GPAs: PML4 index 0
    const address = (table + index * 8) >>> 0;
    const lo = ramRead32(mem, address), hi = ramRead32(mem, address + 4);
    if (lo === null || hi === null) {
      return { ...base, levels, outcomes: [], hpa: null, pageSize: null,
        message: `the ${EPT_LEVEL_NAMES[level]} at host-physical ${hex(address)} is not in RAM (${mem.mmioNameOf(asGuestPhysical(address)) ?? 'unmapped'}): not read, a walk there would read a device` };
    }
    const large = (level === 3 || level === 2) && (lo & EptEntry.PageSize) !== 0;
    const leaf = level === 1 || large;
    levels.push({
      level, name: EPT_LEVEL_NAMES[level], index, address, lo: lo >>> 0, hi: hi >>> 0,
      read: (lo & EptEntry.Read) !== 0, write: (lo & EptEntry.Write) !== 0, execute: (lo & EptEntry.Execute) !== 0,
      userExecute: (lo & EptEntry.UserExecute) !== 0,
      memoryType: leaf ? (lo & EptEntry.MemTypeMask) >>> EptEntry.MemTypeShift : null, ignorePat: leaf ? (lo & EptEntry.IgnorePat) !== 0 : null,
      accessed: (lo & EptEntry.Accessed) !== 0, dirty: leaf ? (lo & EptEntry.Dirty) !== 0 : null, largePage: large, leaf,
    });
    if ((lo & EptEntry.Rwx) === 0 || leaf) break;
    table = (lo & ~0xfff) >>> 0;
  }
  // The core's walker decides each access kind; A/D updates off, so it only reads the entries
  // above (all in RAM).
  const outcomes: EptAccessOutcome[] = [];
  let hpa: number | null = null, endLevel = 1;
  for (const [access, name] of [[EptAccess.Read, 'read'], [EptAccess.Write, 'write'], [EptAccess.Fetch, 'fetch']] as const) {
    const w = new EptWalker(mem, features);
    w.setEptp(ept.lo);
    w.accessedDirty = false;
    const r = w.translate(asGuestPhysical(gpa), access) >>> 0;
    endLevel = Math.max(endLevel, w.level);
    if (w.outcome === EptOutcome.Ok) {
      hpa = r;
      outcomes.push({ access: name, outcome: 'ok', hpa: r, qualification: null, detail: `host-physical ${hex(r)}` });
    } else if (w.outcome === EptOutcome.Violation) {
      const q = eptViolationQualification(access, w.perm, true, true, false);
      outcomes.push({ access: name, outcome: 'violation', hpa: null, qualification: q,
        detail: `EPT violation at the ${EPT_LEVEL_NAMES[w.level as 1 | 2 | 3 | 4]}: ${describeEptViolation(q)}` });
    } else {
      outcomes.push({ access: name, outcome: 'misconfiguration', hpa: null, qualification: null,
        detail: `EPT misconfiguration at the ${EPT_LEVEL_NAMES[w.level as 1 | 2 | 3 | 4]}: ${MISCONFIG_TEXT[w.misconfig]}` });
    }
  }
  // The walker stops at the first misconfigured entry: entries past it are not part of the walk.
  const used = levels.filter((l) => l.level >= endLevel);
  const leaf = used.at(-1);
  const pageSize = leaf?.leaf === true ? (leaf.level === 3 ? 0x40000000 : leaf.level === 2 ? 0x200000 : 4096) : null;
  const ok = outcomes.filter((o) => o.outcome === 'ok').map((o) => o.access);
  const message = ok.length === 3 ? `maps to host-physical ${hex(hpa!)} (read, write and fetch allowed)`
    : ok.length > 0 ? `maps to host-physical ${hex(hpa!)} for ${ok.join(' and ')}; ${outcomes.find((o) => o.outcome !== 'ok')!.detail}`
      : outcomes[0]!.detail;
  return { ...base, levels: used, outcomes, hpa, pageSize, message };
}

/** Reads a guest-physical dword through EPT (read-only): the value and its host-physical
 *  address, or why it cannot be read. */
function guestRead32(unit: VmxUnit | null, mem: PhysicalMemory, gpa: number): { v: number; hpa: number } | string {
  let hpa = gpa >>> 0;
  if (unit !== null && typeof eptpOf(unit) !== 'string') {
    const w = eptWalkView(unit, mem, gpa);
    const read = w.outcomes.find((o) => o.access === 'read');
    if (read?.outcome !== 'ok') return read?.detail ?? w.message;
    hpa = read.hpa!;
  }
  const v = ramRead32(mem, hpa);
  return v === null ? `guest-physical ${hex(gpa)} is not RAM (${mem.mmioNameOf(asGuestPhysical(hpa)) ?? 'unmapped'})` : { v, hpa };
}

/** The guest's paging registers: live while the CPU runs the guest (non-root), else the VMCS's
 *  guest-state fields saved at the last VM exit (§28.3.1). */
function guestPagingRegs(cpu: Cpu, unit: VmxUnit): { cr0: number; cr3: number; cr4: number; live: boolean } {
  if (cpu.nonRoot) return { cr0: cpu.cr0, cr3: cpu.cr3, cr4: cpu.cr4, live: true };
  const v = unit.vmcs;
  return { cr0: v.lo(VmcsField.GuestCr0), cr3: v.lo(VmcsField.GuestCr3), cr4: v.lo(VmcsField.GuestCr4), live: false };
}

/** Bits of a 32-bit/PAE paging entry (Vol. 3A §4.3 Tables 4-5..4-8, §4.4.2). */
const P = 1, RW = 2, US = 4, A = 0x20, D = 0x40, PS = 0x80, G = 0x100;

/** The guest's own walk of `linear` (32-bit or PAE paging; long mode is not modelled). */
export function guestWalkView(cpu: Cpu, unit: VmxUnit, mem: PhysicalMemory, linear: number): GuestPagingView {
  const { cr0, cr3, cr4, live } = guestPagingRegs(cpu, unit);
  const lin = linear >>> 0;
  const from = live ? 'the CPU (running the guest)' : 'the VMCS guest-state fields (last VM exit)';
  const regs = { cr0: cr0 >>> 0, cr3: cr3 >>> 0, cr4: cr4 >>> 0, source: from };
  if ((cr0 & Cr0.PG) === 0) return { linear: lin, mode: 'off', ...regs, levels: [], gpa: lin, message: 'guest paging is off (CR0.PG = 0): the linear address is the guest-physical address' };
  const pae = (cr4 & Cr4.PAE) !== 0;
  const levels: GuestPagingLevel[] = [];
  const entry = (name: GuestPagingLevel['name'], gpa: number): GuestPagingLevel | string => {
    const lo = guestRead32(unit, mem, gpa);
    if (typeof lo === 'string') return `the ${name} at guest-physical ${hex(gpa)}: ${lo}`;
    const hi = pae ? guestRead32(unit, mem, gpa + 4) : { v: 0, hpa: 0 };
    if (typeof hi === 'string') return `the ${name} at guest-physical ${hex(gpa)}: ${hi}`;
    const v = lo.v;
    const l: GuestPagingLevel = {
      name, gpa: gpa >>> 0, hpa: lo.hpa, lo: v >>> 0, hi: hi.v >>> 0, present: (v & P) !== 0, write: (v & RW) !== 0, user: (v & US) !== 0,
      accessed: (v & A) !== 0, dirty: (v & D) !== 0, largePage: name === 'PDE' && (v & PS) !== 0, global: (v & G) !== 0,
      noExecute: pae && (hi.v & 0x80000000) !== 0,
    };
    levels.push(l);
    return l;
  };
  const stop = (message: string): GuestPagingView => ({ linear: lin, mode: pae ? 'pae' : '32-bit', ...regs, levels, gpa: null, message });
  let pdBase: number;
  if (pae) {
    // The PDPTE registers were loaded from here by the last CR3 load (Vol. 3A §4.4.1); the walk
    // reads the table in memory, which the guest may have changed since.
    const e = entry('PDPTE', ((cr3 & ~0x1f) + ((lin >>> 30) & 3) * 8) >>> 0);
    if (typeof e === 'string') return stop(e);
    if (!e.present) return stop('the PDPTE is not present: a #PF in the guest (no VM exit unless #PF is in the exception bitmap)');
    pdBase = (e.lo & ~0xfff) >>> 0;
  } else {
    pdBase = (cr3 & ~0xfff) >>> 0;
  }
  const pdi = pae ? (lin >>> 21) & 0x1ff : lin >>> 22;
  const pde = entry('PDE', (pdBase + pdi * (pae ? 8 : 4)) >>> 0);
  if (typeof pde === 'string') return stop(pde);
  if (!pde.present) return stop('the PDE is not present: a #PF in the guest (no VM exit unless #PF is in the exception bitmap)');
  if (pde.largePage && (pae || (cr4 & Cr4.PSE) !== 0)) {
    const gpa = pae ? ((pde.lo & 0xffe00000) | (lin & 0x1fffff)) >>> 0 : ((pde.lo & 0xffc00000) | (lin & 0x3fffff)) >>> 0;
    return { linear: lin, mode: pae ? 'pae' : '32-bit', ...regs, levels, gpa, message: `a ${pae ? '2 MB' : '4 MB'} page: guest-physical ${hex(gpa)}` };
  }
  const pti = pae ? (lin >>> 12) & 0x1ff : (lin >>> 12) & 0x3ff;
  const pte = entry('PTE', (((pde.lo & ~0xfff) >>> 0) + pti * (pae ? 8 : 4)) >>> 0);
  if (typeof pte === 'string') return stop(pte);
  if (!pte.present) return stop('the PTE is not present: a #PF in the guest (no VM exit unless #PF is in the exception bitmap)');
  const gpa = ((pte.lo & ~0xfff) | (lin & 0xfff)) >>> 0;
  return { linear: lin, mode: pae ? 'pae' : '32-bit', ...regs, levels, gpa, message: `a 4 KB page: guest-physical ${hex(gpa)}` };
}

/** The answer to an `addressWalk` request, or null when the vCPU has no current VMCS. */
export function addressWalk(cpu: Cpu, mem: PhysicalMemory, vcpu: number, address: number, space: 'guest-physical' | 'guest-linear'): AddressWalk | null {
  const unit = cpu.vmx;
  if (!(unit instanceof VmxUnit) || !unit.vmcs.valid) return null;
  const guest = space === 'guest-linear' ? guestWalkView(cpu, unit, mem, address) : null;
  const gpa = guest === null ? address >>> 0 : guest.gpa;
  return { vcpu, space, address: address >>> 0, guest, ept: gpa === null ? null : eptWalkView(unit, mem, gpa) };
}
