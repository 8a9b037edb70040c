// The vCPU's registers for device models that work on a `Cpu` (vmxlab's BIOS: its service port
// 0xE0 reads and writes the caller's registers, segments and interrupt frame). KVM hands its
// device models the guest state through KVM_GET_REGS/SREGS and takes it back with the SET
// calls; here the VMM does the same through VMREAD/VMWRITE and lends the CPU object (which is
// stopped at the host state between exits) as the register file: guest state in, the device
// call, changed guest state back to the VMCS, host state restored. General registers other
// than RSP are not in the VMCS (SDM Vol. 3C §28.3: VM exits do not save them), so they are the
// guest's already.
import type { Cpu } from '../cpu/cpu';
import { Cr0, Cr4, SegAttr } from '../cpu/regs';
import { GUEST_SEGMENT_FIELDS, VmcsField as V } from '../vmx/fields';
import type { VmxRoot } from '../vmx/root';

/** The four VMCS fields of each segment register (selector, base, limit, access rights). */
const SEG_FIELDS: readonly (readonly V[])[] = GUEST_SEGMENT_FIELDS.map(([sel, base, limit, ar]) => [sel, base, limit, ar]);
const NSEG = SEG_FIELDS.length;

/** CR0 and CR4 bits the VMM owns (guest/host masks): NE must be 1 and VMXE 1 in VMX non-root
 *  operation (IA32_VMX_CR0/CR4_FIXED0), while the guest reads its own values from the shadows. */
export const CR0_OWNED = Cr0.NE, CR4_OWNED = Cr4.VMXE;

/** With shadow paging (issue 6) the VMM also owns the paging bits: CR0.PE/PG (VMX non-root
 *  operation without unrestricted guest needs both 1: IA32_VMX_CR0_FIXED0, §24.8), CR0.WP (the
 *  shadow emulates WP = 0 with WP = 1 underneath), CR4.PAE/PSE (the shadow's own paging mode) and
 *  CR4.PGE (its toggling flushes: the VMM rechecks the shadow root). */
export const SHADOW_CR0_OWNED = (Cr0.NE | Cr0.PE | Cr0.PG | Cr0.WP) >>> 0;
export const SHADOW_CR4_OWNED = (Cr4.VMXE | Cr4.PAE | Cr4.PSE | Cr4.PGE) >>> 0;

/** What the guest view needs from a VMM that keeps shadow page tables: the guest's own CR3
 *  (GuestCr3 holds the shadow root), and the control registers the lent state left, so that the
 *  VMM writes GuestCr0/3/4 (real values and shadow root) itself. */
export interface ShadowCrAccess {
  guestCr3(): number;
  /** The guest's CR0, CR3 and CR4 after the lent state ran (read shadows already written). */
  setGuestCrs(cr0: number, cr3: number, cr4: number): void;
}

export class GuestView {
  private readonly hostSel = new Uint16Array(NSEG);
  private readonly hostBase = new Int32Array(NSEG);
  private readonly hostLimit = new Uint32Array(NSEG);
  private readonly hostAttr = new Int32Array(NSEG);
  private hostCr0 = 0; private hostCr3 = 0; private hostCr4 = 0; private hostEip = 0; private hostEsp = 0;
  private hostFlags = 0; private hostCpl = 0;
  private hostGdt = 0; private hostGdtLimit = 0; private hostIdt = 0; private hostIdtLimit = 0;

  /** Guest state between VMREAD and the CPU (no allocation per call). */
  private readonly g = new Array<number>(9 + NSEG * 4).fill(0);

  /** CR0/CR4 bits the VMM owns (the guest's values are in the read shadows). */
  cr0Owned: number = CR0_OWNED;
  cr4Owned: number = CR4_OWNED;
  /** Shadow paging: the VMM's CR3 and control-register handling; null with EPT. */
  shadow: ShadowCrAccess | null = null;

  constructor(private readonly root: VmxRoot, private readonly c: Cpu) {}

  private rd(f: V): number {
    const value = this.root.vmreadValue(f);
    if (this.root.lastResult.kind !== 'succeed') throw new Error(`VMREAD ${V[f]} failed: ${JSON.stringify(this.root.lastResult)}`);
    return value;
  }
  private wr(f: V, v: number): void {
    const r = this.root.vmwrite(f, v);
    if (r.kind !== 'succeed') throw new Error(`VMWRITE ${V[f]} = 0x${(v >>> 0).toString(16)} failed: ${JSON.stringify(r)}`);
  }

  /** Runs `fn` with the guest's state in the CPU object; `rip` is where the guest continues
   *  (after the exiting instruction). Changes `fn` made go back to the VMCS. */
  with(rip: number, fn: () => void): void {
    const c = this.c, g = this.g;
    // KVM_GET_SREGS/REGS: VMREAD everything first (VMREAD needs the host's protected mode).
    const shadow0 = this.rd(V.Cr0ReadShadow), shadow4 = this.rd(V.Cr4ReadShadow);
    g[0] = ((this.rd(V.GuestCr0) & ~this.cr0Owned) | (shadow0 & this.cr0Owned)) >>> 0;
    g[1] = this.shadow !== null ? this.shadow.guestCr3() : this.rd(V.GuestCr3);
    g[2] = ((this.rd(V.GuestCr4) & ~this.cr4Owned) | (shadow4 & this.cr4Owned)) >>> 0;
    g[3] = this.rd(V.GuestGdtrBase); g[4] = this.rd(V.GuestGdtrLimit);
    g[5] = this.rd(V.GuestIdtrBase); g[6] = this.rd(V.GuestIdtrLimit);
    g[7] = this.rd(V.GuestRsp); g[8] = this.rd(V.GuestRflags);
    for (let s = 0; s < NSEG; s++) {
      const f = SEG_FIELDS[s];
      for (let k = 0; k < 4; k++) g[9 + s * 4 + k] = this.rd(f[k]);
    }
    for (let s = 0; s < NSEG; s++) {
      this.hostSel[s] = c.segSel[s]; this.hostBase[s] = c.segBase[s]; this.hostLimit[s] = c.segLimit[s]; this.hostAttr[s] = c.segAttr[s];
    }
    this.hostCr0 = c.cr0; this.hostCr3 = c.cr3; this.hostCr4 = c.cr4; this.hostEip = c.eip; this.hostEsp = c.r32[4];
    this.hostFlags = c.getFlags(); this.hostCpl = c.cpl;
    this.hostGdt = c.gdtrBase; this.hostGdtLimit = c.gdtrLimit; this.hostIdt = c.idtrBase; this.hostIdtLimit = c.idtrLimit;
    c.cr0 = g[0]; c.cr3 = g[1]; c.cr4 = g[2];
    c.gdtrBase = g[3]; c.gdtrLimit = g[4]; c.idtrBase = g[5]; c.idtrLimit = g[6];
    for (let s = 0; s < NSEG; s++) {
      c.segSel[s] = g[9 + s * 4]; c.segBase[s] = g[10 + s * 4] | 0; c.segLimit[s] = g[11 + s * 4]; c.segAttr[s] = g[12 + s * 4] | 0;
    }
    c.r32[4] = g[7];
    c.setFlags(g[8], 0xffffffff);
    c.eip = rip;
    c.cpl = (c.segAttr[2] & SegAttr.DplMask) >>> SegAttr.DplShift;
    c.tlb.flushAll();
    c.modeChanged();
    let failure: unknown = null;
    try { fn(); } catch (e) { failure = e; }
    // What the device model left, then the host back, then KVM_SET_SREGS/REGS to the VMCS.
    g[0] = c.cr0 >>> 0; g[1] = c.cr3 >>> 0; g[2] = c.cr4 >>> 0;
    g[3] = c.gdtrBase >>> 0; g[4] = c.gdtrLimit; g[5] = c.idtrBase >>> 0; g[6] = c.idtrLimit;
    g[7] = c.r32[4] >>> 0; g[8] = c.getFlags() >>> 0;
    for (let s = 0; s < NSEG; s++) {
      g[9 + s * 4] = c.segSel[s]; g[10 + s * 4] = c.segBase[s] >>> 0; g[11 + s * 4] = c.segLimit[s]; g[12 + s * 4] = c.segAttr[s] >>> 0;
    }
    const eip = c.eip >>> 0;
    for (let s = 0; s < NSEG; s++) {
      c.segSel[s] = this.hostSel[s]; c.segBase[s] = this.hostBase[s]; c.segLimit[s] = this.hostLimit[s]; c.segAttr[s] = this.hostAttr[s];
    }
    c.cr0 = this.hostCr0; c.cr3 = this.hostCr3; c.cr4 = this.hostCr4; c.eip = this.hostEip; c.r32[4] = this.hostEsp;
    c.setFlags(this.hostFlags, 0xffffffff); c.cpl = this.hostCpl;
    c.gdtrBase = this.hostGdt; c.gdtrLimit = this.hostGdtLimit; c.idtrBase = this.hostIdt; c.idtrLimit = this.hostIdtLimit;
    c.tlb.flushAll();
    c.modeChanged();
    if (failure !== null) throw failure;
    this.wr(V.GuestRip, eip);
    this.wr(V.GuestRsp, g[7]);
    this.wr(V.GuestRflags, g[8]);
    for (let s = 0; s < NSEG; s++) {
      const f = SEG_FIELDS[s];
      for (let k = 0; k < 4; k++) this.wr(f[k], g[9 + s * 4 + k]);
    }
    if (this.shadow !== null) {
      this.wr(V.Cr0ReadShadow, g[0]); this.wr(V.Cr4ReadShadow, g[2]);
      this.shadow.setGuestCrs(g[0], g[1], g[2]);
    } else {
      this.wr(V.GuestCr0, (g[0] | CR0_OWNED) >>> 0); this.wr(V.Cr0ReadShadow, g[0]);
      this.wr(V.GuestCr4, (g[2] | CR4_OWNED) >>> 0); this.wr(V.Cr4ReadShadow, g[2]);
      this.wr(V.GuestCr3, g[1]);
    }
    this.wr(V.GuestGdtrBase, g[3]); this.wr(V.GuestGdtrLimit, g[4]);
    this.wr(V.GuestIdtrBase, g[5]); this.wr(V.GuestIdtrLimit, g[6]);
  }
}
