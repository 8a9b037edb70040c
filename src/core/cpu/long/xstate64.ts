// XGETBV, XSETBV, XSAVE, XRSTOR and GETSEC in 64-bit mode: the 32-bit semantics (ops/xsave.ts,
// ops/getsec.ts) with 64-bit operands.
// - XGETBV: EDX:EAX = XCR0 and bits 63:32 of RAX and RDX cleared; XSETBV and XGETBV use ECX and
//   EDX:EAX only (SDM Vol. 2C XGETBV/XSETBV: "the high-order 32 bits of RCX are ignored").
//   XSETBV exits unconditionally in VMX non-root operation (reason 55, SDM Vol. 3C §26.1.2).
// - XSAVE/XRSTOR m: the area at a 64-bit linear address (64-byte aligned); REX.W selects
//   XSAVE64/XRSTOR64, whose legacy region carries 64-bit FIP/FDP (SDM Vol. 1 §13.4.1, the
//   FXSAVE64 layout of §10.5.1 Table 10-3).
// - GETSEC: reason 11 in VMX non-root operation with CR4.SMXE = 1; CAPABILITIES writes EAX,
//   zero-extended into RAX as every 32-bit register result (SDM Vol. 1 §3.4.1.1).
import type { Cpu } from '../cpu';
import { Cr0, Vector } from '../regs';
import { XSAVE_ALIGN } from '../xstate';
import { needOsxsave, xgetbv, xrstorFrom, xsaveTo, xsetbv } from '../ops/xsave';
import { getsec } from '../ops/getsec';
import { D64, ea } from './decode64';
import { linearBus } from './x87-bus64';

/** 0F 01 D0 XGETBV / D1 XSETBV in 64-bit mode. */
export function xgetbvXsetbv64(c: Cpu, set: boolean): void {
  if (set) { xsetbv(c); return; }
  xgetbv(c);
  c.r32hi[0] = 0; c.r32hi[2] = 0;
}

/** XSAVE/XRSTOR's checks (ops/xsave.ts areaChecks) with the 64-bit linear address: #UD (also
 *  without an FPU), #NM with CR0.TS, then #GP(0) unless 64-byte aligned. Returns the address. */
function area64(c: Cpu): number {
  needOsxsave(c);
  if (c.fpu === null) c.ud();
  if ((c.cr0 & Cr0.TS) !== 0) c.raise(Vector.NM);
  const lin = ea(c);
  if ((lin & (XSAVE_ALIGN - 1)) !== 0) c.gp(0);
  return lin;
}

/** NP [REX.W] 0F AE /4 XSAVE/XSAVE64 m (ModRM already decoded into D64). */
export function xsave64(c: Cpu): void {
  const lin = area64(c);
  xsaveTo(c, linearBus(c), D64.seg, lin, D64.w);
}

/** NP [REX.W] 0F AE /5 XRSTOR/XRSTOR64 m. */
export function xrstor64(c: Cpu): void {
  const lin = area64(c);
  xrstorFrom(c, linearBus(c), D64.seg, lin, D64.w);
}

/** NP 0F 37 GETSEC in 64-bit mode. */
export function getsec64(c: Cpu): void {
  getsec(c);
  c.r32hi[0] = 0;
}
