// When the VMM must run the guest's code itself (issue 6): without unrestricted guest, VM entry
// accepts only protected-mode guest state with paging (SDM Vol. 3C §27.3.1.1: CR0.PE = PG = 1 by
// IA32_VMX_CR0_FIXED0; the VMM supplies PG through the shadow) and segment registers whose
// cached state is consistent as protected mode loads them (§27.3.1.2), or a virtual-8086 guest.
// Real mode runs as a V86 task where V86 mode can hold it (v86.ts); real mode it cannot (big real
// mode, the reset vector's CS), and the protected-mode state just after a PE switch whose caches
// still hold real-mode selectors that no descriptor load could give (an RPL above the DPL,
// SS.RPL != CS.RPL), are run in the VMM: the CPU core is the instruction emulator on the lent
// guest state (hosted.ts emulateBatch). KVM decides the same way (arch/x86/kvm/vmx/vmx.c:
// emulation_required, guest_state_valid, cs/stack/data_segment_valid, tr_valid, ldtr_valid,
// rmode_segment_valid for its V86 path).
import type { Cpu } from '../cpu/cpu';
import { Cr0, Flag, Seg, SegAttr } from '../cpu/regs';

const CODE = 8, CONFORMING = 4, READABLE = 2;
const DATA_SEGS: readonly Seg[] = [Seg.DS, Seg.ES, Seg.FS, Seg.GS];
const ALL_SEGS: readonly Seg[] = [Seg.ES, Seg.CS, Seg.SS, Seg.DS, Seg.FS, Seg.GS];
const dpl = (a: number): number => (a & SegAttr.DplMask) >>> SegAttr.DplShift;

/** The lent guest state in `c` cannot be entered without unrestricted guest as it is (real mode
 *  included: the VMM checks v86.ts for that): emulate it. Called between emulated instructions:
 *  allocates nothing. */
export function emulationRequired(c: Cpu): boolean {
  if ((c.cr0 & Cr0.PE) === 0) return true;
  if ((c.getFlags() & Flag.VM) !== 0) return false; // virtual-8086 state comes from the processor itself
  const cs = c.segAttr[Seg.CS], ss = c.segAttr[Seg.SS];
  const csRpl = c.segSel[Seg.CS] & 3, ssRpl = c.segSel[Seg.SS] & 3;
  // CS: usable, accessed code, present; DPL = RPL (non-conforming) or <= RPL (conforming).
  if ((cs & SegAttr.Unusable) !== 0 || (cs & SegAttr.Accessed) === 0 || (cs & CODE) === 0 || (cs & SegAttr.S) === 0 || (cs & SegAttr.P) === 0) return true;
  if ((cs & CONFORMING) !== 0 ? dpl(cs) > csRpl : dpl(cs) !== csRpl) return true;
  if (csRpl !== ssRpl) return true;
  // SS: unusable, or a present writable data segment (type 3 or 7) with DPL = RPL.
  if ((ss & SegAttr.Unusable) === 0) {
    const t = ss & SegAttr.TypeMask;
    if ((t !== 3 && t !== 7) || (ss & SegAttr.S) === 0 || (ss & SegAttr.P) === 0 || dpl(ss) !== ssRpl) return true;
  }
  for (const s of DATA_SEGS) {
    const a = c.segAttr[s];
    if ((a & SegAttr.Unusable) !== 0) continue;
    if ((a & SegAttr.S) === 0 || (a & SegAttr.P) === 0 || (a & SegAttr.Accessed) === 0) return true;
    if ((a & CODE) !== 0 && (a & READABLE) === 0) return true;
    // Data and non-conforming code: DPL >= RPL.
    if (((a & CODE) === 0 || (a & CONFORMING) === 0) && dpl(a) < (c.segSel[s] & 3)) return true;
  }
  for (const s of ALL_SEGS) if (!limitConsistent(c.segLimit[s] >>> 0, c.segAttr[s])) return true;
  return false;
}

/** §27.3.1.2: limit[11:0] not all ones needs G = 0; limit[31:20] not all zeros needs G = 1. */
function limitConsistent(limit: number, attr: number): boolean {
  if ((attr & SegAttr.Unusable) !== 0) return true;
  const g = (attr & SegAttr.G) !== 0;
  if ((limit & 0xfff) !== 0xfff && g) return false;
  if ((limit >>> 20) !== 0 && !g) return false;
  return true;
}
