// MONITOR (0F 01 C8) and MWAIT (0F 01 C9) (SDM Vol. 2B MONITOR, MWAIT; Vol. 3A §9.10.4 in the
// 2023 edition, "MONITOR/MWAIT Instruction"): #UD without CPUID.1:ECX.MONITOR[3] and at CPL > 0
// (virtual-8086 mode included). MONITOR arms address-range monitoring at DS:(E)AX (a segment
// override applies; the address is checked and translated as a load: #GP/#SS/#PF) and takes
// no extensions or hints: ECX != 0 is #GP(0). MWAIT with ECX != 0 is #GP(0) too (CPUID.5:ECX
// reports no extensions, model.ts).
//
// MWAIT never waits here: an armed MWAIT wakes at once, as the SDM allows ("the processor may
// exit the monitor-wait state for implementation-dependent reasons": a false wake-up that
// software must tolerate), and disarms the monitor; an unarmed one is a NOP. So no store needs
// watching and no guest can sleep in MWAIT past its interrupts (the CPUID leaf 5 vmxlab reports
// gives Linux no MWAIT C-states, so it idles with HLT).
//
// In VMX non-root operation "MONITOR exiting" and "MWAIT exiting" make them exit (reasons 39, 36;
// SDM Vol. 3C §26.1.3) after the #UD checks and before the others (§26.1.1). The MWAIT exit
// qualification says whether the monitor was armed (§28.2.1: bit 0).
import type { Cpu } from '../cpu';
import { OpRow, registerRows } from '../decode-table';
import { Cpuid1Ecx } from '../model';
import { Seg } from '../regs';
import { rowExit } from '../vmx-hooks';
import { ExitReason } from '../../vmx/exit-reasons';
import { ControlField, ProcBasedCtls } from '../../vmx/controls';

export const X_MONITOR = rowExit(ExitReason.Monitor, ControlField.ProcBased, ProcBasedCtls.MonitorExiting);
const X_MWAIT = rowExit(ExitReason.Mwait, ControlField.ProcBased, ProcBasedCtls.MwaitExiting);

/** The #UD conditions both share: no MONITOR in CPUID, LOCK, CPL > 0. */
export function udChecks(c: Cpu): void {
  if ((c.model.leaf1Ecx & Cpuid1Ecx.MONITOR) === 0 || c.lock) c.ud();
  if (c.v86() || (c.protectedMode() && c.cpl !== 0)) c.ud();
}

function monitor(c: Cpu): void {
  udChecks(c);
  if (c.nonRoot) c.vmx!.instructionExit(X_MONITOR, 0);
  const seg = c.segOvr >= 0 ? c.segOvr : Seg.DS;
  const off = c.as32 ? c.r32[0] >>> 0 : c.r16[0];
  c.checkRead(seg, off, 1);
  if (c.r32[1] !== 0) c.gp(0);
  c.tlb.translate((c.segBase[seg] + off) | 0, false);
  c.monitorArmed = true;
}

/** Also the 64-bit row (long/isa64.ts): ECX only, RAX/RCX bits 63:32 ignored. */
export function mwait(c: Cpu): void {
  udChecks(c);
  // Qualification bit 0: the monitoring hardware was armed (§28.2.1).
  if (c.nonRoot) c.vmx!.instructionExit(X_MWAIT, c.monitorArmed ? 1 : 0);
  if (c.r32[1] !== 0) c.gp(0);
  c.monitorArmed = false; // an immediate wake-up (see above)
}

export const MONITOR_ROWS: readonly OpRow[] = [
  // 0F 01 with mod = 11B (group 7 hands these over, decode-table.ts).
  { code: 0x0f01c8, name: 'MONITOR', exec: monitor, exits: [X_MONITOR] },
  { code: 0x0f01c9, name: 'MWAIT', exec: mwait, exits: [X_MWAIT] },
];

registerRows(MONITOR_ROWS);
