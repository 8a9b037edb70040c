// The VMX instructions (SDM Vol. 3C §31.3 "VMX Instruction Reference"): each is split into its
// checks (#UD, VM exit in non-root operation, #GP), the operand access, and the operation
// proper, so that the decoded instruction (unit.ts, operands from ModRM) and VmxRoot (root.ts,
// operands from TypeScript) run the same checks and operations. Exceptions leave through the
// CPU's FAULT (c.ud(), c.gp()); the VMsucceed/VMfail conventions (§31.2 "Conventions") are
// applied by `finish`.
import { ARITH_FLAGS, Cr4, Efer, Flag, Seg, SegAttr } from '../cpu/regs';
import { InhibitBy } from '../cpu/cpu';
import type { Cpu } from '../cpu/cpu';
import { FeatureControl, EptCap, VpidCap } from './capabilities';
import { ProcBasedCtls2 } from './controls';
import { eptpProblem, checkControls, checkHostState, entryFailureMessage, EntryCheckFailure } from './entry-checks';
import { VmInstructionError as E } from './errors';
import { ExitReason } from './exit-reasons';
import { FieldWidth, VmcsField, fieldWidth, isHighAccess, isReadOnly } from './fields';
import { VmxFeature } from './features';
import { NO_VMCS, writeLaunchStateClear } from './vmcs';
import { canonicalHalves } from '../cpu/long/long-mode';
import type { VmxUnit } from './unit';
import type { EntryOutcome } from './vm-entry';

/** An instruction's outcome: VM_SUCCEED, VM_FAIL_INVALID, or VMfailValid(n) as n > 0. */
export type VmOutcome = number;
export const VM_SUCCEED = 0;
export const VM_FAIL_INVALID = -1;
/** Internal: the checks passed and the instruction continues (operand access, VM entry). */
const CONTINUE = -2;

/** What VMLAUNCH/VMRESUME ended with. */
export interface LaunchOutcome {
  readonly outcome: VmOutcome;
  /** Set when the checks of §27.2 failed (outcome 7 or 8). */
  readonly failure: EntryCheckFailure | null;
  /** Set when the checks passed and VM entry went on (vm-entry.ts): the guest runs, or a
   *  VM-entry failure loaded the host's state. */
  readonly entered: EntryOutcome | null;
}

// ======================================================================================
// Conventions (§31.2)
// ======================================================================================

/** VMfail(n): VMfailValid(n) with a current VMCS, else VMfailInvalid. */
export function vmfail(u: VmxUnit, n: E): VmOutcome {
  return u.vmcs.valid ? n : VM_FAIL_INVALID;
}

/** Applies an outcome: RFLAGS (CF for VMfailInvalid, ZF for VMfailValid, the other arithmetic
 *  flags cleared) and, for VMfailValid, the VM-instruction error field. */
export function finish(u: VmxUnit, o: VmOutcome): void {
  const c = u.cpu;
  if (o === VM_SUCCEED) c.setArith(ARITH_FLAGS, 0);
  else if (o === VM_FAIL_INVALID) c.setArith(ARITH_FLAGS, Flag.CF);
  else {
    c.setArith(ARITH_FLAGS, Flag.ZF);
    u.vmcs.setLo(VmcsField.VmInstructionError, o);
  }
}

// ======================================================================================
// Checks
// ======================================================================================

/** IA32_EFER.LMA = 1 and CS.L = 0. Never true without long mode, checked as the SDM lists it. */
function compatibilityMode(c: Cpu): boolean {
  return (c.efer & Efer.LMA) !== 0 && (c.segAttr[Seg.CS] & SegAttr.L) === 0;
}

/**
 * The checks every VMX instruction but VMXON and VMCALL starts with: #UD outside VMX operation,
 * in real, virtual-8086 or compatibility mode; a VM exit in VMX non-root operation; #GP(0) at
 * CPL > 0.
 */
export function commonChecks(u: VmxUnit, reason: ExitReason): void {
  const c = u.cpu;
  if (!u.inVmxOperation || !c.protectedMode() || c.v86() || compatibilityMode(c)) c.ud();
  if (u.nonRoot) u.exitOnInstruction(reason);
  if (c.cpl > 0) c.gp(0);
}

/** CR0 and CR4 hold values VMX operation supports (IA32_VMX_CR0/CR4_FIXED0/1, §24.8). */
export function crFixedOk(u: VmxUnit, cr: 0 | 4, v: number): boolean {
  const k = u.caps;
  const f0 = cr === 0 ? k.cr0Fixed0 : k.cr4Fixed0, f1 = cr === 0 ? k.cr0Fixed1 : k.cr4Fixed1;
  return ((v & f0) >>> 0) === f0 && (v & ~f1) === 0;
}

/** A 64-bit physical address operand: 4 KB aligned and within the pointer width (32 bits
 *  without Intel 64: IA32_VMX_BASIC[48]). */
function pointerOk(u: VmxUnit, lo: number, hi: number): boolean {
  if ((lo & 0xfff) !== 0) return false;
  const w = u.caps.pointerWidth;
  return (w <= 32 ? hi : hi >>> (w - 32)) === 0;
}

// ======================================================================================
// Memory operands (decoded instructions)
// ======================================================================================

/** Offset `k` bytes after the effective address, wrapping in the address size. */
function eaPlus(c: Cpu, k: number): number {
  return c.as32 ? (c.eaOff + k) >>> 0 : (c.eaOff + k) & 0xffff;
}

/** Reads the m64 operand into `out` ([lo, hi]). */
export function readM64(c: Cpu, out: Int32Array): void {
  out[0] = c.read32(c.eaSeg, c.eaOff);
  out[1] = c.read32(c.eaSeg, eaPlus(c, 4));
}

/** Reads the m128 descriptor of INVEPT/INVVPID into `out` (four dwords). */
export function readM128(c: Cpu, out: Int32Array): void {
  for (let i = 0; i < 4; i++) out[i] = c.read32(c.eaSeg, eaPlus(c, i * 4));
}

/** Writes an m64 operand; both halves are checked before either is written. */
export function writeM64(c: Cpu, lo: number, hi: number): void {
  const seg = c.eaSeg, off = c.eaOff, off4 = eaPlus(c, 4);
  if (off4 === off + 4) c.checkWrite(seg, off, 8);
  else { c.checkWrite(seg, off, 4); c.checkWrite(seg, off4, 4); }
  c.write32(seg, off, lo);
  c.write32(seg, off4, hi);
}

// ======================================================================================
// VMXON / VMXOFF
// ======================================================================================

/** VMXON's checks before it reads its operand. Returns CONTINUE, or the outcome when VMXON is
 *  executed in VMX root operation (VMfail(15)). */
export function vmxonChecks(u: VmxUnit): VmOutcome {
  const c = u.cpu;
  if (!c.protectedMode() || (c.cr4 & Cr4.VMXE) === 0 || c.v86() || compatibilityMode(c)) c.ud();
  if (!u.inVmxOperation) {
    const fc = c.msrs.get(0x3a)?.[0] ?? 0;
    if (c.cpl > 0) c.gp(0);
    if (c.mem.a20Mask !== -1) c.gp(0); // A20M: the A20 gate masks addresses
    if (!crFixedOk(u, 0, c.cr0) || !crFixedOk(u, 4, c.cr4)) c.gp(0);
    if ((fc & FeatureControl.Lock) === 0) c.gp(0);
    if ((fc & FeatureControl.VmxOutsideSmx) === 0) c.gp(0); // vmxlab has no SMX: always outside
    return CONTINUE;
  }
  if (u.nonRoot) u.exitOnInstruction(ExitReason.Vmxon);
  if (c.cpl > 0) c.gp(0);
  return vmfail(u, E.VmxonInRoot);
}

/** VMXON with VMXON pointer `lo`/`hi`. */
export function vmxonOperation(u: VmxUnit, lo: number, hi: number): VmOutcome {
  if (!pointerOk(u, lo, hi)) return VM_FAIL_INVALID;
  const rev = u.cpu.mem.read32(lo);
  if ((rev & 0x7fffffff) !== u.caps.revisionId || rev < 0) return VM_FAIL_INVALID;
  u.enterVmxOperation(lo >>> 0);
  return VM_SUCCEED;
}

/** VMXOFF after its checks. Dual-monitor treatment is never active (not modelled), so no
 *  VMfail(23). */
export function vmxoffOperation(u: VmxUnit): VmOutcome {
  u.leaveVmxOperation();
  return VM_SUCCEED;
}

// ======================================================================================
// VMCLEAR / VMPTRLD / VMPTRST
// ======================================================================================

export function vmclearOperation(u: VmxUnit, lo: number, hi: number): VmOutcome {
  if (!pointerOk(u, lo, hi)) return vmfail(u, E.VmclearInvalidAddress);
  if (lo >>> 0 === u.vmxonPtr) return vmfail(u, E.VmclearVmxonPointer);
  const pa = lo >>> 0, mem = u.cpu.mem;
  // The region becomes consistent in memory, launch state clear; the current VMCS is released.
  if (u.vmcs.pa === pa) u.vmcs.release(mem);
  writeLaunchStateClear(mem, pa);
  return VM_SUCCEED;
}

export function vmptrldOperation(u: VmxUnit, lo: number, hi: number): VmOutcome {
  if (!pointerOk(u, lo, hi)) return vmfail(u, E.VmptrldInvalidAddress);
  const pa = lo >>> 0, mem = u.cpu.mem;
  if (pa === u.vmxonPtr) return vmfail(u, E.VmptrldVmxonPointer);
  const rev = mem.read32(pa);
  // A shadow-VMCS indicator of 1 is accepted only with VMCS shadowing (not modelled).
  if ((rev & 0x7fffffff) !== u.caps.revisionId || rev < 0) return vmfail(u, E.VmptrldIncorrectRevision);
  if (u.vmcs.pa !== pa) {
    u.vmcs.flush(mem);
    u.vmcs.load(mem, pa);
  }
  return VM_SUCCEED;
}

/** The current-VMCS pointer as VMPTRST stores it: [lo, hi], FFFFFFFF_FFFFFFFF without one. */
export function currentPointer(u: VmxUnit, out: Int32Array): void {
  if (u.vmcs.pa === NO_VMCS) { out[0] = -1; out[1] = -1; } else { out[0] = u.vmcs.pa; out[1] = 0; }
}

// ======================================================================================
// VMREAD / VMWRITE (operand size 32 outside 64-bit mode)
// ======================================================================================

/** The field encoding names a component this processor supports (§31.3 VMREAD: bits 31:15
 *  and 12 must be 0, the high access type only for 64-bit fields). */
export function fieldSupported(u: VmxUnit, enc: number): boolean {
  return (enc >>> 0) <= 0x7fff && u.caps.fieldExists[enc] === 1;
}

/** VMREAD of a supported field: the 32-bit operand's value. Fields narrower than the operand
 *  are zero-extended; 64-bit and natural-width fields give their low 32 bits (the high access
 *  type the upper 32). */
export function readField(u: VmxUnit, enc: number): number {
  if (isHighAccess(enc)) return u.vmcs.hi(enc);
  const lo = u.vmcs.lo(enc);
  return fieldWidth(enc) === FieldWidth.Bits16 ? lo & 0xffff : lo;
}

/** VMWRITE of a supported field with a 32-bit operand: narrower fields drop the high bits;
 *  wider fields get their upper bits cleared; the high access type writes the upper 32 only. */
export function writeField(u: VmxUnit, enc: number, v: number): void {
  const s = u.vmcs;
  if (isHighAccess(enc)) { s.setHi(enc, v); return; }
  switch (fieldWidth(enc)) {
    case FieldWidth.Bits16: s.setLo(enc, v & 0xffff); return;
    case FieldWidth.Bits32: s.setLo(enc, v); return;
    default: s.setLo(enc, v); s.setHi(enc, 0); return; // 64-bit and natural width
  }
}

/** VMREAD after the checks: VMfailInvalid without a current VMCS, error 12 for unsupported
 *  components; the value goes to `out[0]`. */
export function vmreadOperation(u: VmxUnit, enc: number, out: Int32Array): VmOutcome {
  if (!u.vmcs.valid) return VM_FAIL_INVALID;
  if (!fieldSupported(u, enc)) return E.UnsupportedVmcsComponent;
  out[0] = readField(u, enc);
  return VM_SUCCEED;
}

/** VMWRITE's part before it reads its source operand (Bochs reads it after this point). */
export function vmwritePrelude(u: VmxUnit): VmOutcome {
  return u.vmcs.valid ? CONTINUE : VM_FAIL_INVALID;
}

export function vmwriteOperation(u: VmxUnit, enc: number, v: number): VmOutcome {
  if (!fieldSupported(u, enc)) return E.UnsupportedVmcsComponent;
  if (isReadOnly(enc) && !u.caps.features.has(VmxFeature.VmwriteAnyField)) return E.VmwriteReadOnlyComponent;
  writeField(u, enc, v);
  return VM_SUCCEED;
}

// ======================================================================================
// VMLAUNCH / VMRESUME / VMCALL
// ======================================================================================

/** VMLAUNCH (launch) or VMRESUME after the common checks: launch state, events blocked by
 *  MOV SS, then the checks on controls and host state (§27.2), then guest entry. */
export function launchOperation(u: VmxUnit, launch: boolean, inInstruction: boolean): LaunchOutcome {
  const c = u.cpu, s = u.vmcs;
  u.lastEntryFailure = null;
  if (!s.valid) return { outcome: VM_FAIL_INVALID, failure: null, entered: null };
  if (c.icount < c.inhibitUntil && c.inhibitBy === InhibitBy.MovSs) {
    return { outcome: E.EntryEventsBlockedByMovSs, failure: null, entered: null };
  }
  if (launch && s.launched) return { outcome: E.VmlaunchNonClearVmcs, failure: null, entered: null };
  if (!launch && !s.launched) return { outcome: E.VmresumeNonLaunchedVmcs, failure: null, entered: null };
  const mem = c.mem;
  const failure = checkControls(s, u.caps, (pa) => mem.read8(pa)) ?? checkHostState(s, u.caps, (c.efer & Efer.LMA) !== 0);
  if (failure !== null) {
    u.lastEntryFailure = entryFailureMessage(launch ? 'VMLAUNCH' : 'VMRESUME', failure);
    return { outcome: failure.error, failure, entered: null };
  }
  return { outcome: VM_SUCCEED, failure: null, entered: u.enterGuest(launch, inInstruction) };
}

/** VMCALL in VMX root operation (§31.3 VMCALL): its own check order; without the dual-monitor
 *  treatment of SMIs and SMM (not modelled) it is VMfail(1). */
export function vmcallInRoot(u: VmxUnit): VmOutcome {
  const c = u.cpu;
  if (!u.inVmxOperation) c.ud();
  if (u.nonRoot) u.exitOnInstruction(ExitReason.Vmcall);
  if (c.v86() || compatibilityMode(c)) c.ud();
  if (c.cpl > 0) c.gp(0);
  return vmfail(u, E.VmcallInRoot);
}

// ======================================================================================
// INVEPT / INVVPID
// ======================================================================================

/** #UD unless the processor has the instruction (§31.3 INVEPT/INVVPID "Protected Mode
 *  Exceptions"), then the common checks. */
export function inveptChecks(u: VmxUnit): void {
  if ((u.caps.proc2.mayBe1 & ProcBasedCtls2.EnableEpt) === 0 || (u.caps.eptCap & EptCap.Invept) === 0) u.cpu.ud();
  commonChecks(u, ExitReason.Invept);
}
export function invvpidChecks(u: VmxUnit): void {
  if ((u.caps.proc2.mayBe1 & ProcBasedCtls2.EnableVpid) === 0 || (u.caps.vpidCap & VpidCap.Invvpid) === 0) u.cpu.ud();
  commonChecks(u, ExitReason.Invvpid);
}

/** INVEPT type supported (EPT_VPID_CAP bits 25, 26)? */
export function inveptTypeSupported(u: VmxUnit, type: number): boolean {
  return (type === 1 && (u.caps.eptCap & EptCap.InveptSingleContext) !== 0) ||
    (type === 2 && (u.caps.eptCap & EptCap.InveptAllContext) !== 0);
}
/** INVVPID type supported (EPT_VPID_CAP bits 40-43)? */
export function invvpidTypeSupported(u: VmxUnit, type: number): boolean {
  return type >>> 0 <= 3 && (u.caps.vpidCap & (VpidCap.IndividualAddress << type)) !== 0;
}

/** INVEPT with a supported type and descriptor `d` (dwords: EPTP lo, hi, reserved, reserved). */
export function inveptOperation(u: VmxUnit, type: number, d: Int32Array): VmOutcome {
  if (type === 1 && eptpProblem(u.caps, d[0] >>> 0, d[1] >>> 0) !== null) return vmfail(u, E.InvalidInveptInvvpidOperand);
  u.invalidateEpt(type, d[0] >>> 0, d[1] >>> 0);
  return VM_SUCCEED;
}

/** INVVPID with a supported type and descriptor `d` ([15:0] VPID, [63:16] reserved, [127:64]
 *  linear address). */
export function invvpidOperation(u: VmxUnit, type: number, d: Int32Array): VmOutcome {
  const vpid = d[0] & 0xffff;
  if ((d[0] >>> 16) !== 0 || d[1] !== 0) return vmfail(u, E.InvalidInveptInvvpidOperand);
  if (type !== 2 && vpid === 0) return vmfail(u, E.InvalidInveptInvvpidOperand);
  // Individual address: the address must be canonical; with 32-bit linear addresses (no
  // Intel 64) that means bits 127:96 are 0.
  if (type === 0 && !(u.caps.isa.longMode ? canonicalHalves(d[2], d[3]) : d[3] === 0)) return vmfail(u, E.InvalidInveptInvvpidOperand);
  // An address above 4 GB: the TLB's part for those pages is not tagged by VPID (paging.ts),
  // so all of it goes (invalidating more than asked is allowed, §29.4.3.1).
  if (type === 0 && d[3] !== 0) u.cpu.tlb.flushHi();
  u.invalidateVpid(type, vpid, d[2] >>> 0);
  return VM_SUCCEED;
}

