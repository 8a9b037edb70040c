// A guest for the VM-entry/exit tests: a VmxMachine (support.ts) in VMX root operation with a
// current VMCS holding a complete, valid flat 32-bit protected-mode guest with paging (the same
// GDT, page directory and ring-0 segments as the host), a guest IDT whose handler for vector v
// runs `mov eax, v; vmcall` (so a delivered event shows as a VMCALL exit with EAX = v and the
// frame on the guest stack), and host state. The guest runs through VmxRoot in hosted mode: each
// launch/resume returns at the next VM exit with the unit's exit record.
import { expect } from 'vitest';
import { Cr0, Cr4 } from '../../src/core/cpu/regs';
import { ControlField, EntryCtls, ExitCtls } from '../../src/core/vmx/controls';
import { controlCaps } from '../../src/core/vmx/capabilities';
import { VmcsField as V } from '../../src/core/vmx/fields';
import type { VmExitRecord } from '../../src/core/vmx/exit-record';
import type { VmxResult, VmxRoot } from '../../src/core/vmx/root';
import { asm, CODE64, GDT, PD, PML4, VmxMachine, type Options } from './support';

// Memory of the guest (identity mapped by the machine's page directory).
export const GUEST_CODE = 0x30000, GUEST_IDT = 0x40000, GUEST_STUBS = 0x41000, GUEST_STACK = 0x80000;
export const HOST_RIP = 0x50000, HOST_STACK = 0x58000;
export const IO_A = 0x104000, IO_B = 0x105000, MSR_BITMAP = 0x106000, MSR_AREA = 0x107000;
export const TSS1 = 0x3000, TSS2 = 0x3200;
/** Selectors of the harness GDT: 08 code, 10 data (ring 0), 1B/23 ring 3, 28 16-bit code,
 *  30 the busy TSS (host and guest TR), 38 an available TSS (task-switch target). */
export const SEL_CODE = 0x08, SEL_DATA = 0x10, SEL_TSS = 0x30, SEL_TSS2 = 0x38;
export const STUB_SIZE = 16;

export class Guest {
  readonly m: VmxMachine;
  readonly r: VmxRoot;
  /** Whether the VMCS was launched by a successful entry (VMRESUME from then on). */
  private launched = false;

  constructor(readonly gen = 'skylake', host?: Options['host'], opts: Omit<Options, 'host'> = {}) {
    this.m = new VmxMachine(gen, { ...opts, host });
    const m = this.m, mem = m.mem;
    // Two 32-bit TSS descriptors (busy at 0x30, available at 0x38).
    const tssDesc = (i: number, base: number, type: number): void => {
      mem.write32(GDT + i * 8, 0x67 | ((base & 0xffff) << 16));
      mem.write32(GDT + i * 8 + 4, ((base >>> 16) & 0xff) | ((0x80 | type) << 8) | (base & 0xff000000));
    };
    tssDesc(6, TSS1, 0xb); tssDesc(7, TSS2, 0x9);
    m.c.gdtrLimit = m.c.mode64 ? 9 * 8 - 1 : 8 * 8 - 1;
    // The guest IDT: 256 interrupt gates to stubs `mov eax, v; vmcall`.
    for (let v = 0; v < 256; v++) {
      const stub = GUEST_STUBS + v * STUB_SIZE;
      mem.write32(GUEST_IDT + v * 8, (stub & 0xffff) | (SEL_CODE << 16));
      mem.write32(GUEST_IDT + v * 8 + 4, (stub & 0xffff0000) | 0x8e00);
      mem.write8(stub, 0xb8); mem.write32(stub + 1, v); // mov eax, v
      mem.write8(stub + 5, 0x0f); mem.write8(stub + 6, 0x01); mem.write8(stub + 7, 0xc1); // vmcall
    }
    mem.write8(HOST_RIP, 0xf4); // hlt (hosted mode never runs it)
    this.r = m.enterWithVmcs();
    this.defaults();
  }

  get c() { return this.m.c; }
  get unit() { return this.m.unit; }

  w(f: V, v: number): void {
    const res = this.r.vmwrite(f, v);
    if (res.kind !== 'succeed') throw new Error(`vmwrite ${V[f]} = 0x${(v >>> 0).toString(16)}: ${JSON.stringify(res)}`);
  }
  rd(f: V): number {
    const res = this.r.vmread(f);
    if (res.result.kind !== 'succeed') throw new Error(`vmread ${V[f]}: ${JSON.stringify(res.result)}`);
    return res.value;
  }

  /** Sets a control field to `bits` plus its must-be-1 bits (and "activate secondary controls"
   *  with the secondary ones). */
  ctl(field: ControlField, bits: number): void {
    const k = controlCaps(this.unit.caps, field);
    const fieldOf = [V.PinBasedControls, V.ProcBasedControls, V.ProcBasedControls2, V.VmExitControls, V.VmEntryControls][field];
    const v = (bits | k.mustBe1) >>> 0;
    if ((v & ~k.mayBe1) !== 0) throw new Error(`control bits 0x${(v & ~k.mayBe1).toString(16)} not allowed on ${this.gen}`);
    this.w(fieldOf, v);
    if (field === ControlField.ProcBased2) this.w(V.ProcBasedControls, this.rd(V.ProcBasedControls) | (1 << 31));
  }

  /** A complete guest (flat ring-0 32-bit protected mode, paging as the host) and host state. */
  defaults(): void {
    const k = this.unit.caps;
    this.w(V.PinBasedControls, k.pin.mustBe1);
    this.w(V.ProcBasedControls, k.proc.mustBe1);
    this.w(V.VmExitControls, k.exit.mustBe1);
    this.w(V.VmEntryControls, k.entry.mustBe1);
    this.w(V.VmcsLinkPointer, 0xffffffff); this.w(V.VmcsLinkPointerHigh, 0xffffffff);
    const cr0 = (Cr0.PE | Cr0.NE | Cr0.PG | Cr0.ET) >>> 0, cr4 = Cr4.PSE | Cr4.VMXE;
    for (const [f, v] of [[V.HostCr0, cr0], [V.GuestCr0, cr0], [V.Cr0ReadShadow, cr0], [V.HostCr4, cr4], [V.GuestCr4, cr4],
      [V.Cr4ReadShadow, cr4], [V.HostCr3, PD], [V.GuestCr3, PD]] as [V, number][]) this.w(f, v);
    // Host.
    this.w(V.HostCsSelector, SEL_CODE);
    for (const f of [V.HostSsSelector, V.HostDsSelector, V.HostEsSelector, V.HostFsSelector, V.HostGsSelector]) this.w(f, SEL_DATA);
    this.w(V.HostTrSelector, SEL_TSS); this.w(V.HostTrBase, TSS1);
    this.w(V.HostGdtrBase, GDT); this.w(V.HostIdtrBase, 0);
    this.w(V.HostRip, HOST_RIP); this.w(V.HostRsp, HOST_STACK);
    // Guest segments.
    const segs: [V, V, V, V, number, number][] = [
      [V.GuestEsSelector, V.GuestEsBase, V.GuestEsLimit, V.GuestEsAccessRights, SEL_DATA, 0xc093],
      [V.GuestCsSelector, V.GuestCsBase, V.GuestCsLimit, V.GuestCsAccessRights, SEL_CODE, 0xc09b],
      [V.GuestSsSelector, V.GuestSsBase, V.GuestSsLimit, V.GuestSsAccessRights, SEL_DATA, 0xc093],
      [V.GuestDsSelector, V.GuestDsBase, V.GuestDsLimit, V.GuestDsAccessRights, SEL_DATA, 0xc093],
      [V.GuestFsSelector, V.GuestFsBase, V.GuestFsLimit, V.GuestFsAccessRights, SEL_DATA, 0xc093],
      [V.GuestGsSelector, V.GuestGsBase, V.GuestGsLimit, V.GuestGsAccessRights, SEL_DATA, 0xc093],
    ];
    for (const [sel, base, lim, ar, s, a] of segs) { this.w(sel, s); this.w(base, 0); this.w(lim, 0xffffffff); this.w(ar, a); }
    this.w(V.GuestLdtrSelector, 0); this.w(V.GuestLdtrAccessRights, 0x10000);
    this.w(V.GuestTrSelector, SEL_TSS); this.w(V.GuestTrBase, TSS1); this.w(V.GuestTrLimit, 0x67); this.w(V.GuestTrAccessRights, 0x8b);
    this.w(V.GuestGdtrBase, GDT); this.w(V.GuestGdtrLimit, 8 * 8 - 1);
    this.w(V.GuestIdtrBase, GUEST_IDT); this.w(V.GuestIdtrLimit, 256 * 8 - 1);
    this.w(V.GuestDr7, 0x400);
    this.w(V.GuestRsp, GUEST_STACK); this.w(V.GuestRflags, 2);
    this.w(V.GuestActivityState, 0); this.w(V.GuestInterruptibilityState, 0);
    this.w(V.VmEntryInterruptionInfo, 0);
    this.launched = false;
  }

  /** A 64-bit host (SDM Vol. 3C §27.2.4, §28.5): "host address-space size", CR4.PAE, the IA-32e
   *  paging structures, CS the 64-bit code segment. */
  host64(): void {
    this.w(V.HostCr4, Cr4.PSE | Cr4.PAE | Cr4.VMXE);
    this.w(V.HostCr3, PML4);
    this.w(V.HostCsSelector, CODE64);
    this.ctl(ControlField.Exit, this.rd(V.VmExitControls) | ExitCtls.HostAddressSpaceSize);
  }

  /** A 64-bit guest (§27.3.1): "IA-32e mode guest", CR4.PAE, the IA-32e paging structures, CS
   *  a 64-bit code segment (L = 1, D = 0), the GDT with entry 8. */
  guest64(): void {
    this.w(V.GuestCr4, Cr4.PSE | Cr4.PAE | Cr4.VMXE); this.w(V.Cr4ReadShadow, Cr4.PSE | Cr4.PAE | Cr4.VMXE);
    this.w(V.GuestCr3, PML4);
    this.w(V.GuestCsSelector, CODE64); this.w(V.GuestCsAccessRights, 0xa09b);
    this.w(V.GuestGdtrLimit, 9 * 8 - 1);
    this.ctl(ControlField.Entry, this.rd(V.VmEntryControls) | EntryCtls.Ia32eModeGuest);
  }

  /** Assembles 64-bit `src` at GUEST_CODE and makes it the guest's RIP. */
  code64(src: string): number[] {
    const bytes = asm(src, GUEST_CODE, 64);
    this.m.mem.load(GUEST_CODE, bytes);
    this.w(V.GuestRip, GUEST_CODE);
    return Array.from(bytes);
  }

  /** Assembles `src` at GUEST_CODE and makes it the guest's RIP. */
  code(src: string): number[] {
    const bytes = asm(src, GUEST_CODE);
    this.m.mem.load(GUEST_CODE, bytes);
    this.w(V.GuestRip, GUEST_CODE);
    this.c.dcache?.clear();
    return Array.from(bytes);
  }

  /** VMLAUNCH the first time, VMRESUME afterwards. */
  enter(budget = 100_000): VmxResult {
    const res = this.launched ? this.r.vmresume(budget) : this.r.vmlaunch(budget);
    if (res.kind === 'exit' && !res.exit.entryFailure) this.launched = true;
    return res;
  }

  /** Enters and expects a VM exit; returns the (reused) record. */
  exit(budget = 100_000): VmExitRecord {
    const res = this.enter(budget);
    if (res.kind !== 'exit') throw new Error(`expected a VM exit, got ${JSON.stringify(res)}`);
    return res.exit;
  }

  /** Skips the exiting instruction (RIP += instruction length), as a VMM does. */
  skip(): void { this.w(V.GuestRip, this.rd(V.GuestRip) + this.rd(V.VmExitInstructionLength)); }

  /** The guest's dword at linear (= physical) `a`. */
  dword(a: number): number { return this.m.mem.read32(a) >>> 0; }
}

/** Expects a VM exit with basic reason `reason` at guest RIP `rip`. */
export function expectExit(x: VmExitRecord, reason: number, rip?: number): void {
  expect(x.reason, `exit reason ${x.exitReason} (qualification 0x${x.qualification.toString(16)})`).toBe(reason);
  expect(x.entryFailure).toBe(false);
  if (rip !== undefined) expect(x.guestRip >>> 0).toBe(rip >>> 0);
}
