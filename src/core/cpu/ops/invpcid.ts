// INVPCID (66 0F 38 82 /r: INVPCID r32, m128; SDM Vol. 2A INVPCID, Vol. 3A §4.10.4.1): the
// register holds the type, the 128-bit descriptor in memory the PCID (bits 11:0, bits 63:12
// reserved) and a linear address (bits 127:64). The interpreter has no PCIDs (CR4.PCIDE cannot be
// set): every translation belongs to PCID 000H, so
//   type 0 individual address: the translations of that linear address (PCID must be 0),
//   type 1 single context:     every non-global translation (PCID must be 0),
//   type 2 all contexts including global translations: the whole TLB,
//   type 3 all contexts:       every non-global translation.
// (The TLB may drop more than asked: type 0 drops a global translation of the address too.)
// #UD without CPUID.(7,0):EBX.INVPCID[10], with LOCK or a register operand; #GP(0) at CPL > 0 or
// in virtual-8086 mode, for a type above 3, reserved descriptor bits, or a nonzero PCID with
// type 0 or 1 while CR4.PCIDE = 0. In VMX non-root operation it is #UD unless "enable INVPCID"
// is 1 (SDM Vol. 3C §26.3) and exits (reason 58) when "INVLPG exiting" is 1 as well (§26.1.3),
// after the #UD and privilege checks and before the descriptor is read (§26.1.1).
import type { Cpu } from '../cpu';
import { OpRow, registerRows } from '../decode-table';
import { Cpuid7Ebx } from '../model';
import { rowExit } from '../vmx-hooks';
import { ExitReason } from '../../vmx/exit-reasons';
import { ControlField, ProcBasedCtls, ProcBasedCtls2 } from '../../vmx/controls';
import { invlpg } from './system';

export const X_INVPCID = rowExit(ExitReason.Invpcid, ControlField.ProcBased, ProcBasedCtls.InvlpgExiting,
  'only with "enable INVPCID" = 1 (secondary control): with it 0, INVPCID is #UD in VMX non-root operation');

function invpcid(c: Cpu): void {
  c.decodeModrm();
  if (((c.model.leaf7Ebx ?? 0) & Cpuid7Ebx.INVPCID) === 0 || c.lock || c.modrm >= 0xc0) c.ud();
  if (c.nonRoot && !c.vmx!.secondaryControl(ProcBasedCtls2.EnableInvpcid)) c.ud();
  if (c.v86() || (c.protectedMode() && c.cpl !== 0)) c.gp(0);
  if (c.nonRoot) c.vmx!.memoryOperandExit(X_INVPCID);
  const type = c.r32[c.modReg] >>> 0;
  const seg = c.eaSeg, off = c.eaOff;
  c.checkRead(seg, off, 16);
  const pcid = c.read32(seg, off), reserved = c.read32(seg, off + 4);
  const linear = c.read32(seg, off + 8);
  if (type > 3 || (pcid & ~0xfff) !== 0 || reserved !== 0) c.gp(0);
  switch (type) {
    case 0: if (pcid !== 0) c.gp(0); invlpg(c, linear); break;
    case 1: if (pcid !== 0) c.gp(0); c.tlb.flushNonGlobal(); break;
    case 2: c.tlb.flushCurrent(); break; // the current VPID's space (SDM Vol. 3C §29.4.3.1)
    default: c.tlb.flushNonGlobal(); break;
  }
}

export const INVPCID_ROWS: readonly OpRow[] = [
  { code: 0x0f3882, prefix: 0x66, name: 'INVPCID Gd,Mdq', exec: invpcid, exits: [X_INVPCID] },
];

registerRows(INVPCID_ROWS);
