// RDTSCP (0F 01 F9; SDM Vol. 2B RDTSCP): EDX:EAX = the TSC, ECX = IA32_TSC_AUX[31:0]. It exists
// when CPUID.80000001H:EDX.RDTSCP[27] = 1 (#UD otherwise); CR4.TSD restricts it to CPL 0. In
// VMX non-root operation it is #UD unless "enable RDTSCP" is 1 (SDM Vol. 3C §26.3), then exits
// with reason 51 when "RDTSC exiting" is 1 (§26.1.3), else reads the TSC with the TSC offset.
import type { Cpu } from '../cpu';
import { OpRow, registerRows } from '../decode-table';
import { CpuidExtEdx } from '../model';
import { Cr4 } from '../regs';
import { rowExit } from '../vmx-hooks';
import { ExitReason } from '../../vmx/exit-reasons';
import { ControlField, ProcBasedCtls, ProcBasedCtls2 } from '../../vmx/controls';

/** IA32_TSC_AUX (SDM Vol. 4 Table 2-2): exists with RDTSCP; bits 63:32 reserved. */
export const MSR_TSC_AUX = 0xc0000103;

const X_RDTSCP = rowExit(ExitReason.Rdtscp, ControlField.ProcBased, ProcBasedCtls.RdtscExiting,
  'only with "enable RDTSCP" = 1 (secondary control): with it 0, RDTSCP is #UD in VMX non-root operation');

/** Whether the model has RDTSCP (and IA32_TSC_AUX). */
export function hasRdtscp(c: Cpu): boolean {
  return (c.model.extEdx & CpuidExtEdx.RDTSCP) !== 0;
}

/** Also the 64-bit row (long/isa64.ts), which clears bits 63:32 of RAX, RDX, RCX after it. */
export function rdtscp(c: Cpu): void {
  if (!hasRdtscp(c) || c.lock) c.ud();
  if (c.nonRoot && !c.vmx!.secondaryControl(ProcBasedCtls2.EnableRdtscp)) c.ud();
  if ((c.cr4 & Cr4.TSD) !== 0 && c.protectedMode() && (c.cpl !== 0 || c.v86())) c.gp(0);
  if (c.nonRoot) c.vmx!.instructionExit(X_RDTSCP, 0);
  const t = c.nonRoot ? c.vmx!.guestTsc() : c.tsc();
  c.r32[0] = t % 4294967296 | 0;
  c.r32[2] = Math.floor(t / 4294967296) | 0;
  const aux = c.msrs.get(MSR_TSC_AUX);
  c.r32[1] = aux !== undefined ? aux[0] : 0;
}

export const RDTSCP_ROWS: readonly OpRow[] = [
  // 0F 01 with mod = 11B (group 7 hands it over, decode-table.ts).
  { code: 0x0f01f9, name: 'RDTSCP', exec: rdtscp, exits: [X_RDTSCP] },
];

registerRows(RDTSCP_ROWS);
