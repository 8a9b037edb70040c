// Real mode without unrestricted guest (issue 6), the way VMMs ran it before Westmere: the
// guest's real-mode code runs in VMX non-root operation as a virtual-8086 task wherever V86 mode
// behaves as real mode does (KVM's vmx.c "rmode" path: enter_rmode, fix_rmode_seg,
// vmx_get/set_rflags, init_rmode_tss, kvm_inject_realmode_interrupt; facts only).
//
// While the task runs, the VMCS holds the V86 form of the guest state and this object keeps the
// guest's own values that form hides; the VMM puts them back right after each VM exit (`leave`;
// hosted.ts skips it for exits whose handlers touch none of them, `v86Transparent`), so its exit
// handlers, VMREADs of RFLAGS and the guest view see the guest's real-mode state, and writes the
// V86 form again right before the next VM entry (`enter`):
//  - RFLAGS.VM = 1 (with CR0.PE = 1, which the VMM forces anyway: IA32_VMX_CR0_FIXED0, §24.8)
//    and IOPL = 3, so CLI, STI, PUSHF, POPF, INT n and IRET run in the guest (SDM Vol. 3A
//    §20.2.7); the guest's IOPL is kept here;
//  - ES, CS, SS, DS, FS, GS as VM entry requires for a virtual-8086 guest: base = selector << 4,
//    limit FFFFH, access rights F3H (SDM Vol. 3C §27.3.1.2); the guest's access rights are kept;
//  - TR: the VMM's TSS (`writeV86Tss`): a 32-bit TSS whose interrupt-redirection bitmap is all
//    zero, so that with CR4.VME = 1 and IOPL = 3 every INT n goes to the guest's real-mode IVT
//    at linear 0 (Vol. 3A §20.3.3.5, method 5), and whose I/O permission bitmap is all zero, so
//    that IN/OUT pass the V86 permission check (Vol. 1 §19.5.2) and reach the I/O-exiting
//    controls as in protected mode;
//  - CR4.VME = 1;
//  - every exception exits (exception bitmap all ones, as KVM's in real mode): privileged
//    instructions (HLT, MOV CR/DR, LGDT, LIDT, LMSW, CLTS, INVD, RDMSR, WRMSR, ...) #GP(0) at CPL 3
//    and the VMM runs them in real mode; the guest's own faults are run again in real mode by the
//    VMM, which then delivers them through the IVT; nothing goes through the guest's IDT.
// Departures, as KVM's: a PUSHF or an INT n frame shows IOPL = 3, a POPF or IRET cannot change
// the guest's IOPL, and INT n does not clear RFLAGS.AC (real mode's INT does; AC has no effect in
// real mode, and #AC in the task exits and is emulated).
//
// Where V86 mode cannot express the state (`v86FitsCpu`/`v86FitsVmcs` false) the VMM emulates
// instead (hosted.ts emulateBatch): segment caches that a real-mode load would not give (big real
// mode after a return from protected mode, the reset vector's CS base FFFF0000H, 32-bit code or
// stack, DPL other than 0), or an IVT not at linear 0 with 256 vectors (the V86 task's INT n
// reads linear 0).
import type { Cpu } from '../cpu/cpu';
import { Cr0, Cr4, Flag, Seg, SegAttr } from '../cpu/regs';
import type { PhysicalMemory } from '../platform/memory';
import { GUEST_SEGMENT_FIELDS, VmcsField as V } from '../vmx/fields';
import type { VmcsWriter } from './vmcs-setup';

/** Pages of the VMM's V86 TSS (layout.ts `hostV86Tss`). */
export const V86_TSS_PAGES = 3;
/** TSS layout (SDM Vol. 3A §7.2.1 Figure 7-2, §20.3.3): the 104-byte 32-bit TSS, the 32-byte
 *  interrupt-redirection bitmap just below the I/O map base, the 8 KB I/O permission bitmap for
 *  ports 0-FFFFH, and the byte of all ones that must follow it (Vol. 1 §19.5.2). */
const TSS_IO_MAP_BASE_FIELD = 0x66, REDIRECTION_BITMAP = 0x68, IO_MAP = REDIRECTION_BITMAP + 32;
export const V86_TSS_LIMIT = IO_MAP + 0x2000;
/** A busy 32-bit TSS (type 11), present: the access rights VM entry needs in TR (§27.3.1.2). */
const TSS_BUSY_AR = 0x8b;
/** Access rights of every segment register of a virtual-8086 guest (§27.3.1.2). */
const V86_AR = 0xf3;
/** Real-mode access rights as a real-mode load leaves them (cpu/descriptor.ts loadReal): present,
 *  DPL 0, byte granular, 16-bit, read/write accessed data or execute/read accessed code. */
const REAL_DATA_AR = 0x93, REAL_CODE_AR = 0x9b;

const SEGS = GUEST_SEGMENT_FIELDS.slice(0, 6); // ES CS SS DS FS GS, in Seg order

/** Writes the VMM's V86 TSS at host-physical `at` (V86_TSS_PAGES pages). */
export function writeV86Tss(mem: PhysicalMemory, at: number): void {
  for (let i = 0; i < V86_TSS_PAGES * 4096; i += 4) mem.write32(at + i, 0);
  mem.write16(at + TSS_IO_MAP_BASE_FIELD, IO_MAP);
  mem.write8(at + V86_TSS_LIMIT, 0xff);
}

/** One segment register as V86 mode can hold it: what a real-mode load gives, 64 KB. */
function segmentFits(seg: number, sel: number, base: number, limit: number, ar: number): boolean {
  return (base >>> 0) === ((sel & 0xffff) << 4) >>> 0 && (limit >>> 0) === 0xffff &&
    (ar & ~SegAttr.AVL) === (seg === Seg.CS ? REAL_CODE_AR : REAL_DATA_AR);
}

/** The V86 task's INT n reads the IVT at linear 0 (Vol. 3A §20.3.3.5); real mode's at IDTR.base,
 *  up to IDTR.limit (#GP beyond it, §20.1.4). */
function ivtFits(base: number, limit: number): boolean { return base === 0 && limit >= 0x3ff; }

/** Whether the real-mode state in the CPU object `c` (lent, or the emulator's) can run as a V86
 *  task (called between emulated instructions: allocates nothing). */
export function v86FitsCpu(c: Cpu): boolean {
  if ((c.cr0 & Cr0.PE) !== 0) return false;
  for (let s = 0; s < 6; s++) if (!segmentFits(s, c.segSel[s], c.segBase[s], c.segLimit[s], c.segAttr[s])) return false;
  return ivtFits(c.idtrBase, c.idtrLimit);
}

/** The same for the guest state in the current VMCS (its real-mode form: V86Task inactive). */
export function v86FitsVmcs(v: VmcsWriter): boolean {
  if ((v.r(V.Cr0ReadShadow) & Cr0.PE) !== 0) return false;
  for (let s = 0; s < 6; s++) {
    const f = SEGS[s];
    if (!segmentFits(s, v.r(f[0]), v.r(f[1]), v.r(f[2]), v.r(f[3]))) return false;
  }
  return ivtFits(v.r(V.GuestIdtrBase), v.r(V.GuestIdtrLimit));
}

/** The V86 form of one vCPU's real-mode guest state, and the guest values it hides. */
export class V86Task {
  /** The VMCS holds the V86 form. */
  active = false;
  /** VM entries into the task so far. */
  entries = 0;
  private readonly ar = new Int32Array(6);
  private iopl = 0;
  private cr4 = 0;
  private exceptionBitmap = 0;
  private trSel = 0; private trBase = 0; private trLimit = 0; private trAr = 0;

  /** `tss`: linear (= host-physical, through the identity shadow) address of the VMM's TSS. */
  constructor(readonly tss: number) {}

  /** The guest's real-mode state in the VMCS (v86FitsVmcs) -> the V86 form. */
  enter(v: VmcsWriter): void {
    if (this.active) throw new Error('V86Task.enter: the VMCS holds the V86 form already');
    for (let s = 0; s < 6; s++) { const f = SEGS[s][3]; this.ar[s] = v.r(f); v.w(f, V86_AR); }
    const fl = v.r(V.GuestRflags);
    this.iopl = fl & Flag.IOPL;
    v.w(V.GuestRflags, (fl | Flag.VM | Flag.IOPL) >>> 0);
    this.trSel = v.r(V.GuestTrSelector); this.trBase = v.r(V.GuestTrBase);
    this.trLimit = v.r(V.GuestTrLimit); this.trAr = v.r(V.GuestTrAccessRights);
    v.w(V.GuestTrSelector, 0); v.w(V.GuestTrBase, this.tss); v.w(V.GuestTrLimit, V86_TSS_LIMIT); v.w(V.GuestTrAccessRights, TSS_BUSY_AR);
    this.cr4 = v.r(V.GuestCr4);
    v.w(V.GuestCr4, (this.cr4 | Cr4.VME) >>> 0);
    this.exceptionBitmap = v.r(V.ExceptionBitmap);
    v.w(V.ExceptionBitmap, 0xffffffff);
    this.active = true;
    this.entries++;
  }

  /** After a VM exit: the V86 form -> the guest's real-mode state (selectors and bases as the
   *  task left them: a V86 segment load gives what a real-mode load of the same selector gives,
   *  since the access rights were a real-mode load's and the limit 64 KB). */
  leave(v: VmcsWriter): void {
    if (!this.active) return;
    for (let s = 0; s < 6; s++) v.w(SEGS[s][3], this.ar[s]);
    const fl = v.r(V.GuestRflags);
    v.w(V.GuestRflags, ((fl & ~(Flag.VM | Flag.IOPL)) | this.iopl) >>> 0);
    v.w(V.GuestTrSelector, this.trSel); v.w(V.GuestTrBase, this.trBase); v.w(V.GuestTrLimit, this.trLimit); v.w(V.GuestTrAccessRights, this.trAr);
    v.w(V.GuestCr4, this.cr4);
    v.w(V.ExceptionBitmap, this.exceptionBitmap);
    this.active = false;
  }
}
