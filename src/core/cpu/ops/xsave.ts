// The XSAVE feature set's instructions (SDM Vol. 1 ch. 13; Vol. 2C XGETBV, XSETBV, XSAVE,
// XRSTOR), on the state xstate.ts describes (XCR0 supports x87 only):
//   0F 01 D0    XGETBV   EDX:EAX = XCR[ECX]; only XCR0 exists (no XGETBV with ECX = 1).
//   0F 01 D1    XSETBV   XCR[ECX] = EDX:EAX; CPL 0.
//   NP 0F AE /4 XSAVE m  saves the components RFBM = XCR0 & EDX:EAX selects, standard format.
//   NP 0F AE /5 XRSTOR m loads them, initializing those the image's XSTATE_BV marks as unused.
// All are #UD without CPUID.1:ECX.XSAVE, with CR4.OSXSAVE = 0 (which needs it: cr4ValidBits) or
// with LOCK. In VMX non-root operation XSETBV exits unconditionally (reason 55, SDM Vol. 3C
// §26.1.2) once the #UD checks pass; XGETBV, XSAVE and XRSTOR never exit. 64-bit mode:
// long/xstate64.ts runs the same functions (exported here) with 64-bit addresses.
import type { Cpu } from '../cpu';
import type { X87Bus } from '../fpu/fpu';
import { OpRow, registerRows } from '../decode-table';
import { Cr0, Cr4, Vector } from '../regs';
import { rowExit } from '../vmx-hooks';
import { ExitReason } from '../../vmx/exit-reasons';
import { XCR0_SUPPORTED, XSAVE_ALIGN, XSAVE_LEGACY_BYTES, XSAVE_HEADER_BYTES, Xcr0, hasXsave } from '../xstate';

export const X_XSETBV = rowExit(ExitReason.Xsetbv);

/** #UD unless the XSAVE feature set is enabled (CPUID.1:ECX.XSAVE and CR4.OSXSAVE) and no LOCK. */
export function needOsxsave(c: Cpu): void {
  if (!hasXsave(c.model) || (c.cr4 & Cr4.OSXSAVE) === 0 || c.lock) c.ud();
}

/** Whether EDX:EAX = hi:lo is a value XCR0 may take (SDM Vol. 2C XSETBV, Vol. 1 §13.3): only
 *  supported bits, bit 0 (x87) set, AVX (bit 2) only with SSE (bit 1). */
export function xcr0Valid(lo: number, hi: number): boolean {
  if (hi !== 0 || (lo & ~XCR0_SUPPORTED) !== 0) return false;
  if ((lo & Xcr0.X87) === 0) return false;
  return (lo & (Xcr0.SSE | Xcr0.AVX)) !== Xcr0.AVX;
}

/** 0F 01 D0 XGETBV: #GP(0) for an XCR other than 0 (SDM Vol. 2C XGETBV; ECX = 1 needs
 *  CPUID.(EAX=0DH,ECX=1):EAX[2], which is 0). Any privilege level, no VM exit. */
export function xgetbv(c: Cpu): void {
  needOsxsave(c);
  if (c.r32[1] !== 0) c.gp(0);
  c.r32[0] = c.xcr0; c.r32[2] = 0;
}

/** 0F 01 D1 XSETBV. Not recognized in virtual-8086 mode (#GP(0), SDM Vol. 2C XSETBV
 *  "Virtual-8086 Mode Exceptions"). In VMX non-root operation the exit comes next, before the
 *  CPL and value checks (Bochs 2.7 orders it so, and KVM's handle_xsetbv makes those checks
 *  itself: kvm_set_xcr injects #GP(0) at CPL > 0). */
export function xsetbv(c: Cpu): void {
  needOsxsave(c);
  if (c.v86()) c.gp(0);
  if (c.nonRoot) c.vmx!.instructionExit(X_XSETBV, 0);
  if (c.protectedMode() && c.cpl !== 0) c.gp(0);
  if (c.r32[1] !== 0 || !xcr0Valid(c.r32[0], c.r32[2])) c.gp(0);
  c.xcr0 = c.r32[0] >>> 0;
}

/** XSAVE/XRSTOR's common checks (SDM Vol. 2C XSAVE "Protected Mode Exceptions"): #UD, then #NM
 *  with CR0.TS, then #GP(0) unless the area is 64-byte aligned "regardless of segment" (the
 *  linear address, as Bochs checks it). Register operands never come here: with mod = 11B the
 *  /digits are other instructions (fences, Table A-6) that this SSE-less CPU lacks (#UD). */
function areaChecks(c: Cpu): void {
  needOsxsave(c);
  if ((c.cr0 & Cr0.TS) !== 0) c.raise(Vector.NM);
  if (((c.segBase[c.eaSeg] + c.eaOff) & (XSAVE_ALIGN - 1)) !== 0) c.gp(0);
}

/** NP 0F AE /4 XSAVE (SDM Vol. 1 §13.7, Vol. 2C XSAVE): for each component i of RFBM = XCR0 &
 *  EDX:EAX, the component's state into its place and XSTATE_BV[i] = XINUSE[i] (x87 is always
 *  taken as in use, which §13.6 allows: XINUSE[i] may be 1 in the initial configuration); the
 *  other XSTATE_BV bits and the rest of the header stay as they are. */
function xsave(c: Cpu): void {
  areaChecks(c);
  xsaveTo(c, c, c.eaSeg, c.eaOff, false);
}

/** XSAVE's stores once the checks passed, at seg:off through `bus` (64-bit mode: a linear
 *  address, long/xstate64.ts); `wide`: XSAVE64, the 64-bit FIP/FDP of saveX87Legacy. */
export function xsaveTo(c: Cpu, bus: X87Bus, seg: number, off: number, wide: boolean): void {
  const hdr = off + XSAVE_LEGACY_BYTES;
  const rfbm = c.xcr0 & c.r32[0]; // XCR0[63:32] is 0: EDX selects nothing
  if ((rfbm & Xcr0.X87) === 0) return; // nothing to save, the header is not written
  bus.checkWrite(seg, off, 160); bus.checkWrite(seg, hdr, 8);
  c.fpu!.saveX87Legacy(c, seg, off, bus, wide);
  bus.write32(seg, hdr, bus.read32(seg, hdr) | Xcr0.X87);
}

/** NP 0F AE /5 XRSTOR, standard form (SDM Vol. 1 §13.8, Vol. 2C XRSTOR): #GP(0) if XSTATE_BV
 *  sets a bit XCR0 does not, or bytes 23:8 of the header (XCOMP_BV, whose bit 63 would ask for the
 *  compacted form that needs XSAVEC, and the next 8 bytes) are not zero; then for each component
 *  i of RFBM, its state from memory when XSTATE_BV[i] = 1, else its initial configuration. */
function xrstor(c: Cpu): void {
  areaChecks(c);
  xrstorFrom(c, c, c.eaSeg, c.eaOff, false);
}

/** XRSTOR's loads once the checks passed (`bus`, `wide` as for xsaveTo). */
export function xrstorFrom(c: Cpu, bus: X87Bus, seg: number, off: number, wide: boolean): void {
  const hdr = off + XSAVE_LEGACY_BYTES;
  bus.checkRead(seg, hdr, XSAVE_HEADER_BYTES);
  const bvLo = bus.read32(seg, hdr) >>> 0, bvHi = bus.read32(seg, hdr + 4);
  if ((bvLo & ~c.xcr0) !== 0 || bvHi !== 0) c.gp(0);
  for (let o = 8; o < 24; o += 4) if (bus.read32(seg, hdr + o) !== 0) c.gp(0);
  const rfbm = c.xcr0 & c.r32[0];
  if ((rfbm & Xcr0.X87) === 0) return;
  if ((bvLo & Xcr0.X87) === 0) { c.fpu!.initX87(); return; }
  // Fault (if at all) before any state changes: the x87 part spans at most two pages.
  bus.checkRead(seg, off, 160); bus.read8(seg, off); bus.read8(seg, off + 159);
  c.fpu!.restoreX87Legacy(c, seg, off, bus, wide);
}

/** XSAVE, XRSTOR need the x87 unit the CPU was created with. */
function withFpu(f: (c: Cpu) => void): (c: Cpu) => void {
  return (c) => { if (c.fpu === null) c.ud(); f(c); };
}

export const XSAVE_ROWS: readonly OpRow[] = [
  // 0F 01 with mod = 11B (group 7 hands them over, decode-table.ts).
  { code: 0x0f01d0, name: 'XGETBV', exec: xgetbv },
  { code: 0x0f01d1, name: 'XSETBV', exec: xsetbv, exits: [X_XSETBV] },
  // Group 15 memory forms (fpu/fxsave.ts's 0F AE row hands them over).
  { code: 0x0fae, reg: 4, name: 'XSAVE M', exec: withFpu(xsave) },
  { code: 0x0fae, reg: 5, name: 'XRSTOR M', exec: withFpu(xrstor) },
];

registerRows(XSAVE_ROWS);
