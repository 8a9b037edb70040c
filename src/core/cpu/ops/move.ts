// Opcode rows for data movement, stack and segment-register loads (SDM Vol. 2 MOV, XCHG,
// PUSH/POP, PUSHA/POPA, PUSHF/POPF, LEA, LDS..., ENTER/LEAVE, XLAT, MOVZX/MOVSX).
import { Cpu, InhibitBy, OpHandler } from '../cpu';
import { OpRow, registerRows } from '../decode-table';
import { rowExit } from '../vmx-hooks';
import { ExitReason } from '../../vmx/exit-reasons';
import { ControlField, ProcBasedCtls } from '../../vmx/controls';
import { Flag, Seg, Vector } from '../regs';
import { loadSegment } from '../segmentation';
import { lockCheck } from './alu';

const rows: OpRow[] = [];
const row = (code: number, name: string, exec: OpHandler): void => { rows.push({ code, name, exec }); };

// ---- MOV ----
export function movEbGb(c: Cpu): void { c.decodeModrm(); if (c.lock) c.ud(); c.rmWrite8(c.getReg8(c.modReg)); }
export function movEvGv(c: Cpu): void {
  c.decodeModrm(); if (c.lock) c.ud();
  if (c.os32) c.rmWrite32(c.r32[c.modReg]); else c.rmWrite16(c.r16[c.modReg << 1]);
}
export function movGbEb(c: Cpu): void { c.decodeModrm(); if (c.lock) c.ud(); c.setReg8(c.modReg, c.rmRead8()); }
export function movGvEv(c: Cpu): void {
  c.decodeModrm(); if (c.lock) c.ud();
  if (c.os32) c.r32[c.modReg] = c.rmRead32(); else c.r16[c.modReg << 1] = c.rmRead16();
}
row(0x88, 'MOV Eb,Gb', movEbGb);
row(0x89, 'MOV Ev,Gv', movEvGv);
row(0x8a, 'MOV Gb,Eb', movGbEb);
row(0x8b, 'MOV Gv,Ev', movGvEv);
row(0x8c, 'MOV Ev,Sw', (c) => {
  c.decodeModrm(); if (c.lock) c.ud();
  const s = c.modReg;
  if (s > 5) c.ud();
  const v = c.segSel[s];
  // Register destination with 32-bit operand size is zero-extended (P6 and later).
  if (c.modrm >= 0xc0 && c.os32) c.r32[c.modrm & 7] = v; else c.rmWrite16(v);
});
row(0x8e, 'MOV Sw,Ew', (c) => {
  c.decodeModrm(); if (c.lock) c.ud();
  const s = c.modReg;
  if (s === Seg.CS || s > 5) c.ud();
  loadSegment(c, s, c.rmRead16());
  if (s === Seg.SS) c.inhibitInterrupts(InhibitBy.MovSs);
});
row(0xa0, 'MOV AL,Ob', (c) => { c.decodeMoffs(); c.r8[0] = c.read8(c.eaSeg, c.eaOff); });
row(0xa1, 'MOV eAX,Ov', (c) => { c.decodeMoffs(); if (c.os32) c.r32[0] = c.read32(c.eaSeg, c.eaOff); else c.r16[0] = c.read16(c.eaSeg, c.eaOff); });
row(0xa2, 'MOV Ob,AL', (c) => { c.decodeMoffs(); c.write8(c.eaSeg, c.eaOff, c.r8[0]); });
row(0xa3, 'MOV Ov,eAX', (c) => { c.decodeMoffs(); if (c.os32) c.write32(c.eaSeg, c.eaOff, c.r32[0]); else c.write16(c.eaSeg, c.eaOff, c.r16[0]); });
export function movRbIb(c: Cpu, code: number): void { c.setReg8(code & 7, c.fetch8()); }
export function movRvIv(c: Cpu, code: number): void {
  const r = code & 7;
  if (c.os32) c.r32[r] = c.fetch32(); else c.r16[r << 1] = c.fetch16();
}
for (let r = 0; r < 8; r++) {
  row(0xb0 + r, `MOV r8(${r}),Ib`, movRbIb);
  row(0xb8 + r, `MOV rV(${r}),Iv`, movRvIv);
}
row(0xc6, 'MOV Eb,Ib', (c) => { c.decodeModrm(); if (c.modReg !== 0 || c.lock) c.ud(); c.rmWrite8(c.fetch8()); });
row(0xc7, 'MOV Ev,Iv', (c) => {
  c.decodeModrm(); if (c.modReg !== 0 || c.lock) c.ud();
  if (c.os32) c.rmWrite32(c.fetch32()); else c.rmWrite16(c.fetch16());
});

// ---- MOVZX / MOVSX ----
row(0x0fb6, 'MOVZX Gv,Eb', (c) => { c.decodeModrm(); if (c.lock) c.ud(); c.setRegV(c.modReg, c.rmRead8()); });
row(0x0fb7, 'MOVZX Gv,Ew', (c) => { c.decodeModrm(); if (c.lock) c.ud(); c.setRegV(c.modReg, c.rmRead16()); });
row(0x0fbe, 'MOVSX Gv,Eb', (c) => { c.decodeModrm(); if (c.lock) c.ud(); c.setRegV(c.modReg, (c.rmRead8() << 24) >> 24); });
row(0x0fbf, 'MOVSX Gv,Ew', (c) => { c.decodeModrm(); if (c.lock) c.ud(); c.setRegV(c.modReg, (c.rmRead16() << 16) >> 16); });

// ---- XCHG ----
row(0x86, 'XCHG Eb,Gb', (c) => {
  c.decodeModrm(); lockCheck(c);
  const a = c.rmRead8(); c.rmWrite8(c.getReg8(c.modReg)); c.setReg8(c.modReg, a);
});
row(0x87, 'XCHG Ev,Gv', (c) => {
  c.decodeModrm(); lockCheck(c);
  const a = c.rmReadV(); c.rmWriteV(c.getRegV(c.modReg)); c.setRegV(c.modReg, a);
});
// PAUSE is F3 90 (SDM Vol. 2B): "PAUSE exiting", or PAUSE-loop exiting at CPL 0 (Vol. 3C §26.1.3).
const X_PAUSE = rowExit(ExitReason.Pause, ControlField.ProcBased, ProcBasedCtls.PauseExiting,
  'or, at CPL 0, "PAUSE-loop exiting" (secondary) when a loop of PAUSEs spaced by at most PLE_Gap outlasts PLE_Window');
rows.push({ code: 0x90, name: 'NOP / PAUSE', exec: (c) => {
  if (c.lock) c.ud();
  if (c.rep === 0xf3) {
    if (c.nonRoot) c.vmx!.pause();
    if (c.yieldOnPause) { c.stopRequested = true; c.eventPending = true; } // a spin-wait hands over the turn (smp.ts)
  }
}, exits: [X_PAUSE] });
for (let r = 1; r < 8; r++) {
  row(0x90 + r, `XCHG eAX,r${r}`, (c) => {
    if (c.os32) { const t = c.r32[0]; c.r32[0] = c.r32[r]; c.r32[r] = t; }
    else { const t = c.r16[0]; c.r16[0] = c.r16[r << 1]; c.r16[r << 1] = t; }
  });
}

// ---- LEA ----
export function lea(c: Cpu): void {
  c.decodeModrm();
  if (c.modrm >= 0xc0 || c.lock) c.ud();
  c.setRegV(c.modReg, c.eaOff);
}
row(0x8d, 'LEA Gv,M', lea);

// ---- PUSH / POP ----
export function pushReg(c: Cpu, code: number): void {
  const r = code & 7;
  if (c.os32) c.push32(c.r32[r]); else c.push16(c.r16[r << 1]);
}
export function popReg(c: Cpu, code: number): void {
  const r = code & 7;
  if (c.os32) { const v = c.pop32(); c.r32[r] = v; } else { const v = c.pop16(); c.r16[r << 1] = v; }
}
for (let r = 0; r < 8; r++) {
  row(0x50 + r, `PUSH r${r}`, pushReg);
  row(0x58 + r, `POP r${r}`, popReg);
}
row(0x68, 'PUSH Iv', (c) => { c.pushV(c.fetchImmV()); });
row(0x6a, 'PUSH Ib', (c) => { c.pushV((c.fetch8() << 24) >> 24); });
row(0x8f, 'POP Ev', (c) => {
  // The effective address is computed after ESP is incremented (SDM POP).
  const oldSp = c.r32[4];
  const v = c.popV();
  try {
    c.decodeModrm();
    if (c.modReg !== 0 || c.lock) c.ud();
    c.rmWriteV(v);
  } catch (e) { c.r32[4] = oldSp; throw e; }
});

/** Pushes a segment selector: a 16-bit store even with a 32-bit operand size (recent cores). */
function pushSeg(c: Cpu, s: number): void {
  if (c.os32) {
    const sp = (c.sp - 4) & (c.stack32 ? -1 : 0xffff);
    c.write16(Seg.SS, sp, c.segSel[s]);
    c.sp = sp;
  } else c.push16(c.segSel[s]);
}
function popSeg(c: Cpu, s: number): void {
  const v = c.os32 ? c.peek32(0) & 0xffff : c.peek16(0);
  loadSegment(c, s, v);
  c.sp = c.sp + (c.os32 ? 4 : 2);
  if (s === Seg.SS) c.inhibitInterrupts(InhibitBy.MovSs);
}
row(0x06, 'PUSH ES', (c) => pushSeg(c, Seg.ES));
row(0x0e, 'PUSH CS', (c) => pushSeg(c, Seg.CS));
row(0x16, 'PUSH SS', (c) => pushSeg(c, Seg.SS));
row(0x1e, 'PUSH DS', (c) => pushSeg(c, Seg.DS));
row(0x07, 'POP ES', (c) => popSeg(c, Seg.ES));
row(0x17, 'POP SS', (c) => popSeg(c, Seg.SS));
row(0x1f, 'POP DS', (c) => popSeg(c, Seg.DS));
row(0x0fa0, 'PUSH FS', (c) => pushSeg(c, Seg.FS));
row(0x0fa1, 'POP FS', (c) => popSeg(c, Seg.FS));
row(0x0fa8, 'PUSH GS', (c) => pushSeg(c, Seg.GS));
row(0x0fa9, 'POP GS', (c) => popSeg(c, Seg.GS));

// PUSHA/POPA: each slot is checked like a PUSH/POP (a 16-bit SP wraps within the segment,
// SDM real-address-mode exceptions); on a fault SP is restored so the instruction restarts.
row(0x60, 'PUSHA/PUSHAD', (c) => {
  const oldSp = c.r32[4];
  const sp0 = c.os32 ? c.r32[4] : c.r16[8];
  try {
    for (let r = 0; r < 8; r++) c.pushV(r === 4 ? sp0 : (c.os32 ? c.r32[r] : c.r16[r << 1]));
  } catch (e) { c.r32[4] = oldSp; throw e; }
});
row(0x61, 'POPA/POPAD', (c) => {
  const oldSp = c.r32[4];
  const vals = popaBuf;
  try {
    for (let r = 7; r >= 0; r--) vals[r] = c.popV();
  } catch (e) { c.r32[4] = oldSp; throw e; }
  for (let r = 7; r >= 0; r--) if (r !== 4) c.setRegV(r, vals[r]);
});
const popaBuf = new Int32Array(8);

// ---- PUSHF / POPF (SDM Vol. 2B; IOPL rules in Vol. 3A §20.2.7 for V86 mode) ----
row(0x9c, 'PUSHF/PUSHFD', (c) => {
  if (c.v86() && ((c.flags >> 12) & 3) < 3) c.gp(0);
  const f = c.getFlags() & ~(Flag.VM | Flag.RF);
  if (c.os32) c.push32(f); else c.push16(f);
});
row(0x9d, 'POPF/POPFD', (c) => {
  const iopl = (c.flags >> 12) & 3;
  if (c.v86() && iopl < 3) c.gp(0);
  const v = c.os32 ? c.pop32() : c.pop16();
  popFlags(c, v, c.os32);
});

/** Loads EFLAGS from a POPF/IRET-style value under the current privilege (SDM POPF). */
export function popFlags(c: Cpu, v: number, size32: boolean): void {
  let mask = Flag.CF | Flag.PF | Flag.AF | Flag.ZF | Flag.SF | Flag.TF | Flag.DF | Flag.OF | Flag.NT;
  if (size32) mask |= Flag.AC | Flag.ID;
  const iopl = (c.flags >> 12) & 3;
  if (!c.protectedMode()) mask |= Flag.IF | Flag.IOPL;
  else if (c.v86()) mask |= Flag.IF;
  else {
    if (c.cpl === 0) mask |= Flag.IOPL;
    if (c.cpl <= iopl) mask |= Flag.IF;
  }
  c.setFlags(v, mask);
}

row(0x9e, 'SAHF', (c) => {
  const ah = c.r8[1];
  c.setArith(Flag.CF | Flag.PF | Flag.AF | Flag.ZF | Flag.SF, ah);
});
row(0x9f, 'LAHF', (c) => { c.r8[1] = c.getFlags() & 0xff; });

// ---- ENTER / LEAVE ----
row(0xc8, 'ENTER Iw,Ib', (c) => {
  const size = c.fetch16(), level = c.fetch8() & 31;
  const n = c.os32 ? 4 : 2, mask = c.stack32 ? -1 : 0xffff;
  const bp = c.stack32 ? c.r32[5] : c.r16[10];
  // Probe the whole frame first so a fault leaves ESP/EBP unchanged.
  c.checkWrite(Seg.SS, (c.sp - n * (level + 1)) & mask, n * (level + 1));
  c.pushV(bp);
  const frame = c.sp;
  if (level > 0) {
    let p = bp;
    for (let i = 1; i < level; i++) {
      p = (p - n) & mask;
      c.pushV(c.os32 ? c.read32(Seg.SS, p) : c.read16(Seg.SS, p));
    }
    c.pushV(frame);
  }
  const newSp = (c.sp - size) & mask;
  c.checkWrite(Seg.SS, newSp, 1);
  if (c.os32) c.r32[5] = frame; else c.r16[10] = frame;
  c.sp = newSp;
});
row(0xc9, 'LEAVE', (c) => {
  const bp = c.stack32 ? c.r32[5] >>> 0 : c.r16[10];
  const v = c.os32 ? c.read32(Seg.SS, bp) : c.read16(Seg.SS, bp);
  c.sp = bp + (c.os32 ? 4 : 2);
  if (c.os32) c.r32[5] = v; else c.r16[10] = v;
});

// ---- XLAT ----
row(0xd7, 'XLAT', (c) => {
  const seg = c.segOvr >= 0 ? c.segOvr : Seg.DS;
  const off = c.as32 ? (c.r32[3] + c.r8[0]) >>> 0 : (c.r16[6] + c.r8[0]) & 0xffff;
  c.r8[0] = c.read8(seg, off);
});

// ---- Far pointer loads: LES, LDS, LSS, LFS, LGS ----
function loadFarPtr(s: number): OpHandler {
  return (c) => {
    c.decodeModrm();
    if (c.modrm >= 0xc0 || c.lock) c.ud();
    const off = c.os32 ? c.read32(c.eaSeg, c.eaOff) : c.read16(c.eaSeg, c.eaOff);
    const sel = c.read16(c.eaSeg, (c.eaOff + (c.os32 ? 4 : 2)) >>> 0);
    loadSegment(c, s, sel);
    c.setRegV(c.modReg, off);
    if (s === Seg.SS) c.inhibitInterrupts(InhibitBy.MovSs);
  };
}
row(0xc4, 'LES Gv,Mp', loadFarPtr(Seg.ES));
row(0xc5, 'LDS Gv,Mp', loadFarPtr(Seg.DS));
row(0x0fb2, 'LSS Gv,Mp', loadFarPtr(Seg.SS));
row(0x0fb4, 'LFS Gv,Mp', loadFarPtr(Seg.FS));
row(0x0fb5, 'LGS Gv,Mp', loadFarPtr(Seg.GS));

void Vector;
registerRows(rows);
