// Interrupt and exception delivery (SDM Vol. 3A ch. 6; Vol. 2A INT n "Operation"): the real-mode
// IVT, protected-mode IDT gates (interrupt, trap, task), stack switches through the TSS,
// interrupts out of virtual-8086 mode (with CR4.VME redirection), and the double-fault rules.
import { Cpu, InterruptKind } from './cpu';
import { Cr4, Efer, Flag, Seg, Vector, VECTOR_NAMES } from './regs';
import { FaultClass, faultClass } from './fault';
import { Desc, EXT, SysType, fetchDesc, fetchGdtDesc, loadCache, loadNull, loadReal, loadV86, notPresent, selErr, setAccessed } from './descriptor';
import {
  FRAME, S, checkInnerStack, ioPermission, pushFrame, pushFrameTo, readTssStack, setSp, tssStackPtr, tssStackSel,
} from './segmentation';
import { TaskSource, taskSwitch } from './tasks';
import { deliverLong } from './long/system64';

const G = new Desc();
const D = new Desc();
const T = new Desc();

/** Installs interrupt delivery and the I/O permission check on a Cpu. */
export function installInterrupts(c: Cpu): void {
  c.deliver = deliver;
  c.ioPermission = ioPermission;
}

/**
 * Delivers `vector`. For kind Exception, a fault raised while another exception is being
 * delivered follows SDM Vol. 3A §6.15 Table 6-5: benign -> delivered serially; contributory
 * after contributory, or contributory/#PF after #PF -> #DF(0); anything during #DF -> shutdown.
 * Faults during delivery propagate (as FAULT) to `Cpu.exception`, which calls back here.
 */
export function deliver(c: Cpu, vector: number, kind: number, errorCode: number, hasErrorCode: boolean): void {
  // VMX non-root operation: an exception whose bit is set in the exception bitmap is a VM exit
  // before anything else (SDM Vol. 3C §26.2; during delivery of an earlier event the IDT-vectoring
  // information records that one, §28.2.4); every event is recorded as the one being delivered.
  if (c.nonRoot) c.vmx!.eventDelivery(vector, kind, errorCode, hasErrorCode);
  if (kind === InterruptKind.Exception || kind === InterruptKind.PrivilegedSoftwareException) {
    const first = c.delivering;
    if (first >= 0) {
      const a = faultClass(first), b = faultClass(vector);
      if (a === FaultClass.DoubleFault) {
        c.delivering = -1;
        if (c.nonRoot) c.vmx!.tripleFault(); // VM exit with reason 2 instead of shutdown
        c.triple(`triple fault: ${VECTOR_NAMES[vector] ?? `vector ${vector}`}` +
          `${hasErrorCode ? `(0x${(errorCode >>> 0).toString(16)})` : ''} while delivering #DF`);
        return;
      }
      if ((a === FaultClass.Contributory && b === FaultClass.Contributory) ||
          (a === FaultClass.PageFault && b !== FaultClass.Benign)) {
        vector = Vector.DF; errorCode = 0; hasErrorCode = true;
        if (c.nonRoot) c.vmx!.doubleFault();
      }
    }
    c.delivering = vector;
  } else {
    c.delivering = -1;
  }
  // EXT: the event is not the program's own INT n / INT3 / INTO (SDM §6.13).
  EXT.v = kind === InterruptKind.Software || kind === InterruptKind.SoftwareException ? 0 : 1;
  try {
    if (!c.protectedMode()) deliverReal(c, vector);
    else if ((c.efer & Efer.LMA) !== 0) deliverLong(c, vector, kind, errorCode, hasErrorCode); // IA-32e mode, §6.14
    else deliverProtected(c, vector, kind, errorCode, hasErrorCode);
  } finally {
    EXT.v = 0;
  }
  c.delivering = -1;
  if (c.nonRoot) c.vmx!.eventDelivered();
}

/** Real-address mode: IVT entry at IDTR.base + 4n, push FLAGS, CS, IP (SDM §20.1.4). */
function deliverReal(c: Cpu, vector: number): void {
  const off = vector << 2;
  // Beyond the IDT limit: #GP, which escalates to #DF and shutdown if the IDT is too short.
  if (off + 3 > c.idtrLimit) c.gp(0);
  const ip = c.readLin16(c.idtrBase + off);
  const cs = c.readLin16(c.idtrBase + off + 2);
  FRAME[0] = c.getFlags(); FRAME[1] = c.segSel[Seg.CS]; FRAME[2] = c.eip;
  const sp = pushFrame(c, 3, 2, 0);
  setSp(c, sp, c.stack32);
  c.setFlags(0, Flag.IF | Flag.TF | Flag.AC);
  loadReal(c, Seg.CS, cs);
  c.eip = ip;
}

/** Protected mode and virtual-8086 mode delivery through the IDT (SDM §6.12, INT n). */
function deliverProtected(c: Cpu, vector: number, kind: number, errorCode: number, hasErr: boolean): void {
  const soft = kind === InterruptKind.Software || kind === InterruptKind.SoftwareException;
  const v86 = c.v86();
  if (v86 && kind === InterruptKind.Software) {
    // INT n in V86 mode is IOPL-sensitive; with CR4.VME the redirection bitmap decides
    // (SDM §20.3.3, Table 20-2). INT3/INTO are not IOPL-sensitive.
    const iopl = (c.flags >> 12) & 3;
    if ((c.cr4 & Cr4.VME) !== 0) {
      if (!redirected(c, vector)) { v86Redirect(c, vector, iopl); return; }
      if (iopl < 3) c.gp(0);
    } else if (iopl < 3) c.gp(0);
  }
  const idtErr = vector * 8 + 2 + EXT.v;
  if (vector * 8 + 7 > c.idtrLimit) c.gp(idtErr);
  const addr = c.idtrBase + vector * 8;
  G.lo = c.readSys32(addr);
  G.hi = c.readSys32(addr + 4);
  const t = G.sysType;
  if (t !== SysType.TaskGate && t !== SysType.IntGate16 && t !== SysType.TrapGate16 &&
      t !== SysType.IntGate32 && t !== SysType.TrapGate32) c.gp(idtErr);
  // Software interrupts may only use gates with DPL >= CPL (SDM §6.12.1.1).
  if (soft && G.dpl < c.cpl) c.gp(idtErr);
  if (!G.present) c.raiseErr(Vector.NP, idtErr);
  if (t === SysType.TaskGate) { taskGate(c, errorCode, hasErr); return; }

  const tsel = G.gateSel;
  if ((tsel & 0xfffc) === 0) c.gp(EXT.v);
  fetchDesc(c, tsel, D, Vector.GP);
  if (!D.isCode || D.dpl > c.cpl) c.gp(selErr(tsel));
  if (!D.present) notPresent(c, tsel, false);
  const gate32 = (t & 8) !== 0;
  const size = gate32 ? 4 : 2;
  const off = gate32 ? G.gateOffset : G.gateOffset & 0xffff;
  // Interrupt gates clear IF; both clear TF, NT, RF and VM (SDM §6.12.1.3).
  const clear = Flag.TF | Flag.NT | Flag.RF | Flag.VM | (t & 1 ? 0 : Flag.IF);
  const eflags = c.getFlags();

  if (!D.conforming && D.dpl < c.cpl) {
    // Inner privilege: stack from the TSS; from V86 mode only to ring 0.
    if (v86 && D.dpl !== 0) c.gp(selErr(tsel));
    const dpl = D.dpl;
    readTssStack(c, dpl);
    const ss = tssStackSel(), esp = tssStackPtr();
    checkInnerStack(c, ss, dpl);
    if (off > D.limit) c.gp(EXT.v);
    let n = 0;
    if (v86) {
      FRAME[n++] = c.segSel[Seg.GS]; FRAME[n++] = c.segSel[Seg.FS];
      FRAME[n++] = c.segSel[Seg.DS]; FRAME[n++] = c.segSel[Seg.ES];
    }
    FRAME[n++] = c.segSel[Seg.SS]; FRAME[n++] = c.r32[4];
    FRAME[n++] = eflags; FRAME[n++] = c.segSel[Seg.CS]; FRAME[n++] = c.eip;
    if (hasErr) FRAME[n++] = errorCode;
    const nsp = pushFrameTo(c, S, esp, n, size, selErr(ss));
    setAccessed(c, S);
    setAccessed(c, D);
    c.setFlags(0, clear);
    loadCache(c, Seg.SS, ss, S);
    setSp(c, nsp, S.big);
    loadCs(c, tsel, dpl);
    if (v86) {
      loadNull(c, Seg.ES, 0); loadNull(c, Seg.DS, 0); loadNull(c, Seg.FS, 0); loadNull(c, Seg.GS, 0);
      c.modeChanged();
    }
    c.eip = off;
    return;
  }
  // Same privilege (conforming target, or DPL = CPL); never from V86 mode.
  if (v86) c.gp(selErr(tsel));
  if (off > D.limit) c.gp(EXT.v);
  let n = 0;
  FRAME[n++] = eflags; FRAME[n++] = c.segSel[Seg.CS]; FRAME[n++] = c.eip;
  if (hasErr) FRAME[n++] = errorCode;
  const nsp = pushFrame(c, n, size, EXT.v);
  setAccessed(c, D);
  setSp(c, nsp, c.stack32);
  c.setFlags(0, clear);
  loadCs(c, tsel, c.cpl);
  c.eip = off;
}

function loadCs(c: Cpu, sel: number, cpl: number): void {
  c.segSel[Seg.CS] = (sel & 0xfffc) | cpl;
  c.segBase[Seg.CS] = D.base;
  c.segLimit[Seg.CS] = D.limit;
  c.segAttr[Seg.CS] = D.attr;
  if (c.cpl !== cpl) c.setCpl(cpl);
  c.updateSegLimits(Seg.CS);
}

/** Interrupt/exception through a task gate: task switch, then the error code on the new stack. */
function taskGate(c: Cpu, errorCode: number, hasErr: boolean): void {
  const tss = G.gateSel;
  fetchGdtDesc(c, tss, T, Vector.GP);
  if (T.sysType !== SysType.Tss16Avail && T.sysType !== SysType.Tss32Avail) c.gp(selErr(tss));
  if (!T.present) notPresent(c, tss, false);
  taskSwitch(c, tss, T, TaskSource.Call, true);
  if (hasErr) {
    FRAME[0] = errorCode;
    const sp = pushFrame(c, 1, (T.type & 8) !== 0 ? 4 : 2, EXT.v);
    setSp(c, sp, c.stack32);
  }
}

/** CR4.VME: bit n of the redirection bitmap (32 bytes below the I/O map base) set? */
function redirected(c: Cpu, vector: number): boolean {
  const attr = c.segAttr[Seg.TR], type = attr & 0xf;
  if ((attr & 0x10000) !== 0 || (type !== SysType.Tss32Avail && type !== SysType.Tss32Busy)) c.gp(0);
  const base = c.segBase[Seg.TR];
  const off = c.readSys16(base + 0x66) - 32 + (vector >>> 3);
  if (off < 0 || off > c.segLimit[Seg.TR]) c.gp(0);
  return ((c.readSys8(base + off) >> (vector & 7)) & 1) !== 0;
}

/** VME redirection: the V86 task's own IVT at linear 0, as 8086 INT (SDM §20.3.3.5, method 5). */
function v86Redirect(c: Cpu, vector: number, iopl: number): void {
  const ip = c.readLin16(vector << 2);
  const cs = c.readLin16((vector << 2) + 2);
  let fl = c.getFlags() & 0xffff;
  // With IOPL < 3 the pushed image shows IOPL = 3 and IF = VIF.
  if (iopl < 3) fl = (fl & ~Flag.IF) | ((c.flags & Flag.VIF) !== 0 ? Flag.IF : 0) | Flag.IOPL;
  FRAME[0] = fl; FRAME[1] = c.segSel[Seg.CS]; FRAME[2] = c.eip;
  const sp = pushFrame(c, 3, 2, 0);
  setSp(c, sp, c.stack32);
  c.setFlags(0, Flag.TF | (iopl === 3 ? Flag.IF : Flag.VIF));
  loadV86(c, Seg.CS, cs);
  c.eip = ip;
}
