// Instructions of the generation that 64-bit mode runs with 64-bit operands or addresses (SDM
// Vol. 2 RDRAND, RDSEED, RDTSCP, INVPCID, MONITOR, MWAIT, LAR, LSL, VERR, VERW, each "64-bit
// mode" paragraph): the semantics are the 32-bit rows' (ops/random.ts, rdtscp.ts, invpcid.ts,
// monitor.ts, system.ts), the operands come from D64 (REX registers, 64-bit addresses), and the
// VM exits of VMX non-root operation take their instruction information from D64 too
// (vmx/nonroot-instructions.ts: operand size 2 with REX.W, address size 2, REX register numbers;
// SDM Vol. 3C §28.2.5 Tables 28-9 and 28-12).
import type { Cpu } from '../cpu';
import { Cpuid1Ecx, Cpuid7Ebx } from '../model';
import { ARITH_FLAGS, Flag, Seg } from '../regs';
import { Desc, tryFetchDesc } from '../descriptor';
import { nextRandom32, X_RDRAND, X_RDSEED } from '../ops/random';
import { rdtscp } from '../ops/rdtscp';
import { X_INVPCID } from '../ops/invpcid';
import { mwait, udChecks, X_MONITOR } from '../ops/monitor';
import { ProcBasedCtls2 } from '../../vmx/controls';
import { D64, Sz, ea, linOf, rmLin, rmRead, setR } from './decode64';
import { read32 } from './mem64';
import { queryAccessRights } from '../ops/access-rights';
import { CANON } from './long-mode';
import { invalidatePage64 } from './system-ops64';

const TWO32 = 4294967296;

// ---- RDRAND / RDSEED (0F C7 /6, /7 with mod = 11B) -----------------------------------------------

/** RDRAND/RDSEED r16/r32/r64 (REX.B extends the register, REX.W makes it 64-bit): CF = 1, OF SF
 *  ZF AF PF = 0. F2/F3 forms do not exist here (#UD). `seed`: RDSEED. */
export function random64(c: Cpu, seed: boolean): void {
  const d = D64;
  const has = seed ? ((c.model.leaf7Ebx ?? 0) & Cpuid7Ebx.RDSEED) !== 0 : (c.model.leaf1Ecx & Cpuid1Ecx.RDRAND) !== 0;
  if (!has || d.lock || d.rep !== 0) c.ud();
  if (c.nonRoot) c.vmx!.registerInstructionExit(seed ? X_RDSEED : X_RDRAND, d.rm, d.os !== Sz.W);
  const lo = nextRandom32(c);
  if (d.os === Sz.Q) { const hi = nextRandom32(c); c.r32[d.rm] = lo; c.r32hi[d.rm] = hi; }
  else setR(c, d.rm, d.os, BigInt(lo >>> 0));
  c.setArith(ARITH_FLAGS, Flag.CF);
}

// ---- RDTSCP (0F 01 F9) ------------------------------------------------------------------------------

/** RDTSCP: EDX:EAX = TSC, ECX = IA32_TSC_AUX[31:0], each zero-extended into bits 63:32 (SDM Vol.
 *  2B RDTSCP "In 64-bit mode ... the high-order 32 bits of RAX, RDX, and RCX are cleared"). */
export function rdtscp64(c: Cpu): void {
  rdtscp(c);
  c.r32hi[0] = 0; c.r32hi[1] = 0; c.r32hi[2] = 0;
}

// ---- INVPCID (66 0F 38 82 /r) -------------------------------------------------------------------------

/** INVPCID r64, m128 (the register is 64-bit in 64-bit mode whatever REX.W says). The 128-bit
 *  descriptor: PCID [11:0], reserved [63:12], linear address [127:64], which for type 0 must be
 *  canonical (#GP(0)). PCIDs are not modelled (CR4.PCIDE stays 0), so PCIDs must be 0 for types
 *  0 and 1 (ops/invpcid.ts). */
export function invpcid64(c: Cpu): void {
  const d = D64;
  if (((c.model.leaf7Ebx ?? 0) & Cpuid7Ebx.INVPCID) === 0 || d.lock || d.mod === 3 || d.rep !== 0) c.ud();
  if (c.nonRoot && !c.vmx!.secondaryControl(ProcBasedCtls2.EnableInvpcid)) c.ud();
  if (c.cpl !== 0) c.gp(0);
  // "INVLPG exiting" with "enable INVPCID": before the operand is read (§26.1.1, §26.1.3).
  if (c.nonRoot) c.vmx!.memoryOperandExit(X_INVPCID);
  const typeHi = c.r32hi[d.reg], type = c.r32[d.reg] >>> 0;
  const lin = ea(c);
  const pcid = read32(c, lin), reserved = read32(c, lin + 4);
  const addrLo = read32(c, lin + 8) >>> 0, addrHi = read32(c, lin + 12);
  if (typeHi !== 0 || type > 3 || (pcid & ~0xfff) !== 0 || reserved !== 0) c.gp(0);
  switch (type) {
    case 0: {
      const a = addrHi * TWO32 + addrLo; // signed: bits 63:32 as a signed dword
      if (!(a >= -CANON && a < CANON)) c.gp(0);
      if (pcid !== 0) c.gp(0);
      invalidatePage64(c, a);
      return;
    }
    case 1: if (pcid !== 0) c.gp(0); c.tlb.flushNonGlobal(); return;
    case 2: c.tlb.flushCurrent(); return; // the current VPID's space (SDM Vol. 3C §29.4.3.1)
    default: c.tlb.flushNonGlobal(); return;
  }
}

// ---- MONITOR / MWAIT (0F 01 C8, C9) --------------------------------------------------------------

/** MONITOR: the address is RAX (EAX with 67H) in DS or an FS/GS override; it must be canonical
 *  (#GP(0)) and is translated as a load (#PF). ECX != 0: #GP(0). */
export function monitor64(c: Cpu): void {
  udChecks(c);
  if (c.nonRoot) c.vmx!.instructionExit(X_MONITOR, 0);
  const off = D64.a64 ? c.r32hi[0] * TWO32 + (c.r32[0] >>> 0) : c.r32[0] >>> 0;
  const lin = linOf(c, D64.segOvr >= 0 ? D64.segOvr : Seg.DS, off);
  if (c.r32[1] !== 0) c.gp(0);
  if (lin >= 0 && lin < TWO32) c.tlb.translate(lin | 0, false);
  else c.tlb.translate64(lin >>> 0 | 0, Math.floor(lin / TWO32) | 0, false, false);
  c.monitorArmed = true;
}

/** MWAIT: as in every mode (ECX only; bits 63:32 of RAX and RCX are ignored). */
export function mwait64(c: Cpu): void { mwait(c); }

// ---- LAR / LSL / VERR / VERW ---------------------------------------------------------------------

const DS = new Desc();
function setZf(c: Cpu, ok: boolean): void {
  c.flushFlags();
  c.setArith(Flag.ZF, ok ? Flag.ZF : 0);
}

/** 0F 02 LAR Gv,Ew / 0F 03 LSL Gv,Ew: the selector from r/m16 (a register's bits 15:0), the
 *  result zero-extended to 32 or 64 bits (16-bit destinations keep bits 63:16). The destination
 *  is not written when ZF = 0. */
export function larLsl64(c: Cpu, lsl: boolean): void {
  const d = D64;
  const sel = Number(rmRead(c, Sz.W, rmLin(c)));
  const ok = queryAccessRights(c, sel, DS, lsl);
  if (ok) {
    const v = lsl ? DS.limit >>> 0 : d.os === Sz.W ? DS.hi & 0xff00 : DS.hi & 0x00f0ff00;
    setR(c, d.reg, d.os, BigInt(v >>> 0) & (d.os === Sz.W ? 0xffffn : 0xffffffffn));
  }
  setZf(c, ok);
}

/** 0F 00 /4 VERR, /5 VERW: code and data segments only (system descriptors give ZF = 0), as in
 *  protected mode. */
export function verify64(c: Cpu, write: boolean): void {
  const sel = Number(rmRead(c, Sz.W, rmLin(c)));
  let ok = false;
  if ((sel & 0xfffc) !== 0 && tryFetchDesc(c, sel, DS) && DS.s) {
    const dplOk = DS.dpl >= c.cpl && DS.dpl >= (sel & 3);
    if (write) ok = DS.writableData && dplOk;
    else ok = (DS.isData || DS.readableCode) && (DS.conforming || dplOk);
  }
  setZf(c, ok);
}
