// The host: puts the CPU where root-mode software must be before VMXON (SDM Vol. 3C §24.7
// "Enabling and Entering VMX Operation", §24.8 "Restrictions on VMX Operation"): protected mode
// with paging (identity, 4 MB pages), CR0/CR4 inside IA32_VMX_CR0/CR4_FIXED0/1, CR4.VMXE set,
// CPL 0 on a flat GDT with a TSS, IA32_FEATURE_CONTROL locked with "VMX outside SMX". A host OS
// would have done this with its own boot code; here the VMM loads that state directly, as the
// state a host kernel hands it, and everything after (VMXON on) goes through VmxRoot.
import type { Cpu } from '../cpu/cpu';
import { Desc, loadCache, tryFetchDesc } from '../cpu/descriptor';
import { readMsrTo, writeMsr } from '../cpu/ops/system';
import { Cr0, Cr4, Seg } from '../cpu/regs';
import type { PhysicalMemory } from '../platform/memory';
import { HOST_CS, HOST_DS, HOST_GDT, HOST_PD, HOST_RIP, HOST_TR, HOST_TSS } from './layout';

/** IA32_FEATURE_CONTROL (SDM Vol. 4 Table 2-2): [0] lock | [2] VMX outside SMX. */
export const MSR_FEATURE_CONTROL = 0x3a;
export const FEATURE_CONTROL_LOCK = 1, FEATURE_CONTROL_VMX = 4;

/** Host CR0/CR4 in the state above. */
export const HOST_CR0 = (Cr0.PE | Cr0.MP | Cr0.ET | Cr0.NE | Cr0.PG) >>> 0;
export const HOST_CR4 = Cr4.PSE | Cr4.VMXE;

const msr = new Int32Array(2);

/** RDMSR as root software does; throws when the MSR does not exist on this model. */
export function rdmsr(c: Cpu, n: number): [number, number] {
  if (!readMsrTo(c, n, msr)) throw new Error(`hosted mode: RDMSR 0x${n.toString(16)} faults on CPU model '${c.model.name}'`);
  return [msr[0] >>> 0, msr[1] >>> 0];
}

function gdtEntry(mem: PhysicalMemory, at: number, base: number, limit: number, access: number, flags: number): void {
  mem.write32(at, (limit & 0xffff) | ((base & 0xffff) << 16));
  mem.write32(at + 4, ((base >>> 16) & 0xff) | (access << 8) | (((limit >>> 16) & 0xf) << 16) | (flags << 20) | (base & 0xff000000));
}

/** Builds the host's GDT, TSS and page directory at `base` and loads the host state into `c`. */
export function enterHostState(c: Cpu, mem: PhysicalMemory, base: number): void {
  // GDT: null, ring-0 flat code (08), data (10), 32-bit TSS (18, busy: TR must reference a busy
  // TSS after LTR, and the VMCS host TR selector names it, §26.2.3).
  for (let i = 0; i < 32; i += 4) mem.write32(base + HOST_GDT + i, 0);
  gdtEntry(mem, base + HOST_GDT + HOST_CS, 0, 0xfffff, 0x9b, 0xc);
  gdtEntry(mem, base + HOST_GDT + HOST_DS, 0, 0xfffff, 0x93, 0xc);
  gdtEntry(mem, base + HOST_GDT + HOST_TR, base + HOST_TSS, 0x67, 0x8b, 0);
  for (let i = 0; i < 0x68; i += 4) mem.write32(base + HOST_TSS + i, 0);
  // Page directory: 1024 4-MB pages, identity (PDE [0] P | [1] W | [7] PS).
  for (let i = 0; i < 1024; i++) mem.write32(base + HOST_PD + i * 4, ((i << 22) | 0x83) >>> 0);
  mem.write8(base + HOST_RIP, 0xf4);
  c.gdtrBase = base + HOST_GDT; c.gdtrLimit = 4 * 8 - 1;
  c.idtrBase = 0; c.idtrLimit = 0;
  c.cr3 = base + HOST_PD;
  c.cr4 = HOST_CR4;
  c.cr0 = HOST_CR0;
  c.efer = 0;
  c.setFlags(2, 0xffffffff);
  c.tlb.flushAll();
  const d = new Desc();
  const load = (seg: number, sel: number): void => {
    if (!tryFetchDesc(c, sel, d)) throw new Error(`hosted mode: host selector 0x${sel.toString(16)} missing from the host GDT`);
    loadCache(c, seg, sel, d);
  };
  load(Seg.CS, HOST_CS);
  for (const s of [Seg.SS, Seg.DS, Seg.ES, Seg.FS, Seg.GS]) load(s, HOST_DS);
  load(Seg.TR, HOST_TR);
  c.setCpl(0);
  c.modeChanged();
  c.eip = base + HOST_RIP;
  // IA32_FEATURE_CONTROL: lock it with VMX enabled, as a BIOS with VT enabled does; a value
  // already locked without VMX refuses VMXON (§24.7), which VMXON then reports.
  const [fc] = rdmsr(c, MSR_FEATURE_CONTROL);
  if ((fc & FEATURE_CONTROL_LOCK) === 0) writeMsr(c, MSR_FEATURE_CONTROL, FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX, 0);
}
