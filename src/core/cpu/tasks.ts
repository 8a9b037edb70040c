// Hardware task switching (SDM Vol. 3A ch. 7): JMP/CALL to a TSS or task gate, interrupts and
// exceptions through task gates, IRET with NT=1. 32-bit (104-byte) and 16-bit (44-byte) TSS
// formats, busy bits, back link, NT, CR3 and LDT loads, CR0.TS.
import type { Cpu } from './cpu';
import { Cr0, Flag, Seg, Vector } from './regs';
import {
  Desc, EXT, SysType, fetchGdtDesc, loadCache, loadNull, loadV86, notPresent, selErr, setAccessed, setBusy,
  tryFetchDesc,
} from './descriptor';

/** What started the switch: JMP (no nesting), CALL or an interrupt (nesting), IRET (un-nesting). */
export const enum TaskSource { Jmp = 0, Call = 1, Iret = 2 }

// Incoming task state: 0 EIP, 1 EFLAGS, 2-9 EAX..EDI, 10-15 ES CS SS DS FS GS, 16 LDT, 17 CR3.
const NEW = new Int32Array(18);
const OLD = new Desc();
const X = new Desc();
const T = new Desc();

/**
 * Switches to the task whose TSS descriptor (from the GDT) is `d` with selector `sel`. The
 * caller has done the privilege and presence checks of its instruction (SDM §7.3 steps 1-2).
 * Faults before the commit point leave the old task intact; after it (segment loads of the new
 * task) they are taken in the new task, so `c.instrStart` is moved to the new EIP.
 */
export function taskSwitch(c: Cpu, sel: number, d: Desc, src: TaskSource, viaIdtGate = false): void {
  const new32 = (d.type & 8) !== 0;
  // Minimum TSS limits: 67h for 32-bit, 2Bh for 16-bit (SDM §7.2.2).
  if (d.limit < (new32 ? 0x67 : 0x2b)) c.raiseErr(Vector.TS, selErr(sel));
  // VMX non-root operation: every task switch is a VM exit once the gate and the TSS descriptor
  // (type, P, S, limit) passed their checks (SDM Vol. 3C §26.4.2). Exit-qualification source
  // (§28.2.1, Table 28-2): 0 CALL, 1 IRET, 2 JMP, 3 task gate in the IDT.
  if (c.nonRoot) c.vmx!.taskSwitch(sel, viaIdtGate ? 3 : src === TaskSource.Jmp ? 2 : src === TaskSource.Iret ? 1 : 0);
  const nb = d.base;
  if (new32) {
    NEW[17] = c.readSys32(nb + 0x1c);
    NEW[0] = c.readSys32(nb + 0x20);
    NEW[1] = c.readSys32(nb + 0x24);
    for (let i = 0; i < 8; i++) NEW[2 + i] = c.readSys32(nb + 0x28 + 4 * i);
    for (let i = 0; i < 6; i++) NEW[10 + i] = c.readSys16(nb + 0x48 + 4 * i);
    NEW[16] = c.readSys16(nb + 0x60);
  } else {
    // 16-bit TSS: upper halves of the GPRs become FFFFh, of EFLAGS and EIP zero, FS/GS null
    // (what Pentium-class processors do; the SDM leaves them undefined).
    NEW[0] = c.readSys16(nb + 0x0e);
    NEW[1] = c.readSys16(nb + 0x10);
    for (let i = 0; i < 8; i++) NEW[2 + i] = 0xffff0000 | c.readSys16(nb + 0x12 + 2 * i);
    for (let i = 0; i < 4; i++) NEW[10 + i] = c.readSys16(nb + 0x22 + 2 * i);
    NEW[14] = 0; NEW[15] = 0;
    NEW[16] = c.readSys16(nb + 0x2a);
    NEW[17] = 0;
  }

  // The outgoing TSS must be writable before anything changes.
  const oldSel = c.segSel[Seg.TR], ob = c.segBase[Seg.TR];
  const old32 = (c.segAttr[Seg.TR] & 8) !== 0;
  const tok = c.tlb.beginSys();
  try {
    c.tlb.probeWrite(ob + (old32 ? 0x20 : 0x0e));
    c.tlb.probeWrite(ob + (old32 ? 0x5f : 0x29));
    if (src === TaskSource.Call) { c.tlb.probeWrite(nb); c.tlb.probeWrite(nb + 1); }
  } finally {
    c.tlb.endSys(tok);
  }

  // JMP and IRET leave the old task: clear its busy bit (SDM §7.3 step 7).
  if (src !== TaskSource.Call && tryFetchDesc(c, oldSel & 0xfff8, OLD)) {
    const t = OLD.sysType;
    if (t === SysType.Tss16Busy || t === SysType.Tss32Busy) setBusy(c, OLD, false);
  }
  // Save the outgoing state; IRET stores NT=0 in the image (step 8).
  let fl = c.getFlags();
  if (src === TaskSource.Iret) fl &= ~Flag.NT;
  if (old32) {
    c.writeSys32(ob + 0x20, c.eip);
    c.writeSys32(ob + 0x24, fl);
    for (let i = 0; i < 8; i++) c.writeSys32(ob + 0x28 + 4 * i, c.r32[i]);
    for (let i = 0; i < 6; i++) c.writeSys16(ob + 0x48 + 4 * i, c.segSel[i]);
  } else {
    c.writeSys16(ob + 0x0e, c.eip);
    c.writeSys16(ob + 0x10, fl);
    for (let i = 0; i < 8; i++) c.writeSys16(ob + 0x12 + 2 * i, c.r32[i]);
    for (let i = 0; i < 4; i++) c.writeSys16(ob + 0x22 + 2 * i, c.segSel[i]);
  }
  // CALL and interrupts nest: back link to the old task, NT set (step 9).
  if (src === TaskSource.Call) {
    c.writeSys16(nb, oldSel);
    NEW[1] |= Flag.NT;
  }
  if (src !== TaskSource.Iret) setBusy(c, d, true);
  loadCache(c, Seg.TR, sel, d);
  c.cr0 |= Cr0.TS;

  // ---- Commit point: the new task's state is loaded; later faults belong to it.
  if (new32 && c.paging()) { c.cr3 = NEW[17]; c.tlb.flushNonGlobal(); }
  c.setFlags(NEW[1], -1);
  for (let i = 0; i < 8; i++) c.r32[i] = NEW[2 + i];
  c.eip = NEW[0] >>> 0;
  c.instrStart = c.eip;
  // Local breakpoint enables are per task (SDM Vol. 3B §17.2.4).
  c.dr[7] &= ~0x155;
  const vm = (c.flags & Flag.VM) !== 0;
  // Selectors first with invalid caches, then descriptors (step 11), so a fault while loading
  // them shows the new task's selectors.
  for (let s = 0; s < 6; s++) {
    c.segSel[s] = NEW[10 + s];
    if (s !== Seg.CS) { c.segAttr[s] = 0x10000; c.updateSegLimits(s); }
  }
  c.segSel[Seg.LDTR] = NEW[16];
  c.segAttr[Seg.LDTR] = 0x10000;
  const cpl = vm ? 3 : NEW[11] & 3;
  c.setCpl(cpl);
  loadTaskLdt(c, NEW[16]);
  if (vm) {
    for (let s = 0; s < 6; s++) loadV86(c, s, NEW[10 + s]);
  } else {
    loadTaskSeg(c, Seg.CS, NEW[11], cpl);
    loadTaskSeg(c, Seg.SS, NEW[12], cpl);
    loadTaskSeg(c, Seg.ES, NEW[10], cpl);
    loadTaskSeg(c, Seg.DS, NEW[13], cpl);
    loadTaskSeg(c, Seg.FS, NEW[14], cpl);
    loadTaskSeg(c, Seg.GS, NEW[15], cpl);
  }
  c.modeChanged();
  if (c.eip > c.segLimit[Seg.CS]) c.gp(EXT.v);
}

/** LDTR of the incoming task: null allowed; else a present LDT descriptor in the GDT, #TS(sel). */
function loadTaskLdt(c: Cpu, sel: number): void {
  if ((sel & 0xfffc) === 0) { loadNull(c, Seg.LDTR, sel); return; }
  if ((sel & 4) !== 0 || !tryFetchDesc(c, sel, X) || X.sysType !== SysType.Ldt || !X.present) {
    c.raiseErr(Vector.TS, selErr(sel));
  }
  loadCache(c, Seg.LDTR, sel, X);
}

/** Segment register of the incoming task (SDM §7.3 Table 7-1): #TS(sel), #NP / #SS(sel). */
function loadTaskSeg(c: Cpu, seg: number, sel: number, cpl: number): void {
  const rpl = sel & 3;
  if ((sel & 0xfffc) === 0) {
    if (seg === Seg.CS || seg === Seg.SS) c.raiseErr(Vector.TS, EXT.v);
    loadNull(c, seg, sel);
    return;
  }
  if (!tryFetchDesc(c, sel, X)) c.raiseErr(Vector.TS, selErr(sel));
  if (seg === Seg.CS) {
    if (!X.isCode || (X.conforming ? X.dpl > rpl : X.dpl !== rpl)) c.raiseErr(Vector.TS, selErr(sel));
    if (!X.present) notPresent(c, sel, false);
  } else if (seg === Seg.SS) {
    if (!X.writableData || X.dpl !== cpl || rpl !== cpl) c.raiseErr(Vector.TS, selErr(sel));
    if (!X.present) notPresent(c, sel, true);
  } else {
    if (!X.isData && !X.readableCode) c.raiseErr(Vector.TS, selErr(sel));
    if (!X.conforming && (X.dpl < cpl || X.dpl < rpl)) c.raiseErr(Vector.TS, selErr(sel));
    if (!X.present) notPresent(c, sel, false);
  }
  setAccessed(c, X);
  loadCache(c, seg, sel, X);
}

/** IRET with NT=1: return to the task in the back link (SDM Vol. 2A IRET "TASK-RETURN"). */
export function taskReturn(c: Cpu): void {
  const link = c.readSys16(c.segBase[Seg.TR]);
  fetchGdtDesc(c, link, T, Vector.TS);
  if (T.sysType !== SysType.Tss16Busy && T.sysType !== SysType.Tss32Busy) c.raiseErr(Vector.TS, selErr(link));
  if (!T.present) notPresent(c, link, false);
  taskSwitch(c, link, T, TaskSource.Iret);
}
