// Protected-mode system architecture: segment loads, far transfers, call gates, interrupts and
// exceptions (stack switches, V86), task switches, double/triple faults, the I/O bitmap and the
// system instructions. Machines are built by hand: GDT/IDT/TSS bytes written into RAM, code
// assembled with nasm.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../src/core/cpu/ops/alu';
import '../../src/core/cpu/ops/move';
import '../../src/core/cpu/ops/control';
import '../../src/core/cpu/ops/string';
import '../../src/core/cpu/ops/system';
import { Cpu, InterruptKind, StopReason } from '../../src/core/cpu/cpu';
import { FAULT } from '../../src/core/cpu/fault';
import { Cr0, Cr4, Flag, Seg, Vector } from '../../src/core/cpu/regs';
import { installInterrupts } from '../../src/core/cpu/interrupts';
import { Desc, loadCache, tryFetchDesc } from '../../src/core/cpu/descriptor';
import { loadSegment, farJump } from '../../src/core/cpu/segmentation';
import { PhysicalMemory } from '../../src/core/platform/memory';
import { IoBus } from '../../src/core/platform/io-bus';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function asm(src: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'vmxlab-pmode-'));
  try {
    writeFileSync(join(dir, 'a.asm'), src);
    execFileSync('nasm', ['-f', 'bin', '-o', join(dir, 'a.bin'), join(dir, 'a.asm')]);
    return new Uint8Array(readFileSync(join(dir, 'a.bin')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const GDT = 0x1000, IDT = 0x2000, TSS_A = 0x3000, TSS_B = 0x4000, LDT = 0x5000, TSS16 = 0x6000;
const STACK0 = 0x90000, STACK3 = 0x70000;

// GDT selectors
const CODE0 = 0x08, DATA0 = 0x10, CODE3 = 0x18, DATA3 = 0x20, TSSA = 0x28, CALLGATE = 0x30;
const NOTPRESENT = 0x38, DATA0B = 0x40, TSSB = 0x48, LDTSEL = 0x50, XONLY = 0x58, CONFORM = 0x60;
const TSS16SEL = 0x68, TASKGATE = 0x70;

class Machine {
  readonly mem = new PhysicalMemory(1 << 22);
  readonly io = new IoBus();
  readonly c = new Cpu(this.mem, this.io);
  readonly dv = new DataView(this.mem.buffer);
  constructor() { installInterrupts(this.c); }

  w8(a: number, v: number): void { this.dv.setUint8(a, v); }
  w16(a: number, v: number): void { this.dv.setUint16(a, v, true); }
  w32(a: number, v: number): void { this.dv.setUint32(a, v >>> 0, true); }
  r8(a: number): number { return this.dv.getUint8(a); }
  r16(a: number): number { return this.dv.getUint16(a, true); }
  r32(a: number): number { return this.dv.getUint32(a, true); }

  /** Code/data/system descriptor: access byte and flags nibble (G, D/B, L, AVL). */
  desc(table: number, index: number, base: number, limit: number, access: number, flags: number): void {
    const lo = (limit & 0xffff) | ((base & 0xffff) << 16);
    const hi = ((base >>> 16) & 0xff) | (access << 8) | (((limit >>> 16) & 0xf) << 16) | (flags << 20) | (base & 0xff000000);
    this.w32(table + index * 8, lo);
    this.w32(table + index * 8 + 4, hi);
  }
  gate(table: number, index: number, sel: number, off: number, access: number, params = 0): void {
    this.w32(table + index * 8, (off & 0xffff) | (sel << 16));
    this.w32(table + index * 8 + 4, (off & 0xffff0000) | (access << 8) | params);
  }
  code(addr: number, src: string, bits = 32): number {
    const b = asm(`bits ${bits}\norg 0x${addr.toString(16)}\n${src}\n`);
    this.mem.u8.set(b, addr);
    return b.length;
  }
  /** Loads a segment cache straight from the GDT/LDT (test setup, no checks). */
  load(seg: number, sel: number): void {
    const d = new Desc();
    if (!tryFetchDesc(this.c, sel, d)) throw new Error(`bad test selector ${sel}`);
    loadCache(this.c, seg, sel, d);
    if (seg === Seg.CS) this.c.setCpl(sel & 3);
  }
  /** Ring 0 or ring 3 flat context at `eip`. */
  ring(r: 0 | 3, eip: number): void {
    const c = this.c;
    this.load(Seg.CS, r === 0 ? CODE0 : CODE3 | 3);
    const ds = r === 0 ? DATA0 : DATA3 | 3;
    this.load(Seg.SS, ds);
    for (const s of [Seg.DS, Seg.ES, Seg.FS, Seg.GS]) this.load(s, ds);
    c.r32[4] = r === 0 ? STACK0 : STACK3;
    c.eip = eip;
  }
  run(n = 1000): StopReason { this.c.halted = false; return this.c.run(n); }
  stack(k: number): number { return this.r32(this.c.segBase[Seg.SS] + this.c.r32[4] + 4 * k); }
}

/** A protected-mode machine: flat ring 0/3 segments, TSS A loaded, LDT with three entries. */
function pm(): Machine {
  const m = new Machine();
  const c = m.c;
  m.desc(GDT, 1, 0, 0xfffff, 0x9a, 0xc);
  m.desc(GDT, 2, 0, 0xfffff, 0x92, 0xc);
  m.desc(GDT, 3, 0, 0xfffff, 0xfa, 0xc);
  m.desc(GDT, 4, 0, 0xfffff, 0xf2, 0xc);
  m.desc(GDT, 5, TSS_A, 0x78, 0x89, 0); // 32-bit TSS, I/O bitmap for ports 0-127
  m.gate(GDT, 6, CODE0, 0x30000, 0xec, 2); // 32-bit call gate, DPL 3, 2 parameters
  m.desc(GDT, 7, 0, 0xfffff, 0x12, 0xc); // not-present data
  m.desc(GDT, 8, 0, 0xffff, 0x92, 0x0); // DPL 0 data, 64 KB
  m.desc(GDT, 9, TSS_B, 0x67, 0x89, 0);
  m.desc(GDT, 10, LDT, 0x17, 0x82, 0);
  m.desc(GDT, 11, 0, 0xfffff, 0x98, 0xc); // execute-only code
  m.desc(GDT, 12, 0, 0xfffff, 0x9e, 0xc); // conforming readable code, DPL 0
  m.desc(GDT, 13, TSS16, 0x2b, 0x81, 0); // 16-bit TSS
  m.gate(GDT, 14, TSSB, 0, 0x85); // task gate DPL 0 -> TSS B
  m.desc(LDT, 0, 0, 0xfffff, 0xf2, 0xc); // LDT 0x04: DPL 3 data
  m.desc(LDT, 1, 0, 0xfffff, 0x72, 0xc); // LDT 0x0C: not present
  m.desc(LDT, 2, 0, 0xfffff, 0x9a, 0xc); // LDT 0x14: code
  c.gdtrBase = GDT; c.gdtrLimit = 16 * 8 - 1;
  c.idtrBase = IDT; c.idtrLimit = 256 * 8 - 1;
  c.cr0 |= Cr0.PE;
  c.modeChanged();
  m.ring(0, 0x10000);
  // TSS A: ring 0 stack, I/O map base 0x68, bitmap all allowed, then the terminating FFh
  m.w32(TSS_A + 4, STACK0); m.w32(TSS_A + 8, DATA0);
  m.w16(TSS_A + 0x66, 0x68);
  m.w8(TSS_A + 0x78, 0xff);
  m.load(Seg.TR, TSSA);
  m.w8(GDT + TSSA + 5, 0x8b); c.segAttr[Seg.TR] |= 2; // busy
  c.segSel[Seg.LDTR] = 0; c.segAttr[Seg.LDTR] = 0x10000;
  return m;
}

function fault(fn: () => void): { vector: number; code: number } {
  try { fn(); } catch (e) {
    if (e !== FAULT) throw e;
    return { vector: FAULT.vector, code: FAULT.hasErrorCode ? FAULT.errorCode : -1 };
  }
  throw new Error('expected a fault');
}

// ---------------------------------------------------------------------------------------------
// Segment loads
// ---------------------------------------------------------------------------------------------

describe('segment register loads', () => {
  it('loads data segments and sets the accessed bit', () => {
    const m = pm(), c = m.c;
    expect(m.r8(GDT + DATA0B + 5)).toBe(0x92);
    loadSegment(c, Seg.DS, DATA0B);
    expect(m.r8(GDT + DATA0B + 5)).toBe(0x93);
    expect(c.segSel[Seg.DS]).toBe(DATA0B);
    expect(c.segLimit[Seg.DS]).toBe(0xffff);
    expect(c.segAttr[Seg.DS] & 0xff).toBe(0x93);
    loadSegment(c, Seg.ES, CONFORM | 3); // conforming readable code: no DPL check
    expect(c.segSel[Seg.ES]).toBe(CONFORM | 3);
  });

  it('raises the SDM error codes', () => {
    const m = pm(), c = m.c;
    expect(fault(() => loadSegment(c, Seg.DS, 0x80))).toEqual({ vector: Vector.GP, code: 0x80 }); // beyond GDT limit
    expect(fault(() => loadSegment(c, Seg.DS, 0x0f))).toEqual({ vector: Vector.GP, code: 0x0c }); // TI=1, no LDT
    expect(fault(() => loadSegment(c, Seg.DS, DATA0B | 3))).toEqual({ vector: Vector.GP, code: DATA0B }); // RPL > DPL
    expect(fault(() => loadSegment(c, Seg.DS, XONLY))).toEqual({ vector: Vector.GP, code: XONLY }); // execute-only
    expect(fault(() => loadSegment(c, Seg.DS, TSSA))).toEqual({ vector: Vector.GP, code: TSSA }); // system
    expect(fault(() => loadSegment(c, Seg.DS, NOTPRESENT))).toEqual({ vector: Vector.NP, code: NOTPRESENT });
    expect(fault(() => loadSegment(c, Seg.SS, 0))).toEqual({ vector: Vector.GP, code: 0 });
    expect(fault(() => loadSegment(c, Seg.SS, DATA3 | 3))).toEqual({ vector: Vector.GP, code: DATA3 }); // RPL != CPL
    expect(fault(() => loadSegment(c, Seg.SS, DATA3))).toEqual({ vector: Vector.GP, code: DATA3 }); // DPL != CPL
    expect(fault(() => loadSegment(c, Seg.SS, CODE0))).toEqual({ vector: Vector.GP, code: CODE0 });
    expect(fault(() => loadSegment(c, Seg.SS, NOTPRESENT))).toEqual({ vector: Vector.SS, code: NOTPRESENT });
    // LDT selectors keep TI in the error code
    c.gdtrLimit = 16 * 8 - 1;
    m.load(Seg.LDTR, LDTSEL);
    loadSegment(c, Seg.FS, 0x07);
    expect(c.segSel[Seg.FS]).toBe(7);
    expect(fault(() => loadSegment(c, Seg.FS, 0x0f))).toEqual({ vector: Vector.NP, code: 0x0c });
    expect(fault(() => loadSegment(c, Seg.FS, 0x1f))).toEqual({ vector: Vector.GP, code: 0x1c }); // beyond LDT limit
    // at CPL 3 a DPL 0 data segment is out of reach
    m.ring(3, 0x20000);
    expect(fault(() => loadSegment(c, Seg.DS, DATA0B | 3))).toEqual({ vector: Vector.GP, code: DATA0B });
    expect(fault(() => loadSegment(c, Seg.SS, DATA0))).toEqual({ vector: Vector.GP, code: DATA0 });
  });

  it('null selectors make DS unusable; using it faults #GP(0)', () => {
    const m = pm(), c = m.c;
    m.code(0x10000, 'xor eax, eax\nmov ds, ax\nmov ebx, [0x100]');
    c.step(); c.step();
    expect(c.segSel[Seg.DS]).toBe(0);
    expect(c.segAttr[Seg.DS] & 0x10000).toBe(0x10000);
    expect(fault(() => c.step())).toEqual({ vector: Vector.GP, code: 0 });
  });

  it('MOV DS with a not-present selector faults before changing DS', () => {
    const m = pm(), c = m.c;
    m.code(0x10000, `mov ax, ${NOTPRESENT}\nmov ds, ax`);
    c.step();
    expect(fault(() => c.step())).toEqual({ vector: Vector.NP, code: NOTPRESENT });
    expect(c.segSel[Seg.DS]).toBe(DATA0);
  });

  it('real and V86 mode loads set base = selector << 4', () => {
    const m = new Machine(), c = m.c;
    c.segLimit[Seg.DS] = 0xffffffff; // "unreal" limit survives a real-mode load
    loadSegment(c, Seg.DS, 0x1234);
    expect(c.segBase[Seg.DS]).toBe(0x12340);
    expect(c.segLimit[Seg.DS]).toBe(0xffffffff);
  });
});

// ---------------------------------------------------------------------------------------------
// Far transfers and call gates
// ---------------------------------------------------------------------------------------------

describe('far transfers', () => {
  it('far JMP checks code segment privilege', () => {
    const m = pm(), c = m.c;
    expect(fault(() => farJump(c, CODE3 | 3, 0))).toEqual({ vector: Vector.GP, code: CODE3 }); // DPL != CPL
    expect(fault(() => farJump(c, DATA0, 0))).toEqual({ vector: Vector.GP, code: DATA0 });
    expect(fault(() => farJump(c, 0, 0))).toEqual({ vector: Vector.GP, code: 0 });
    farJump(c, CONFORM, 0x1234);
    expect(c.segSel[Seg.CS]).toBe(CONFORM);
    expect(c.eip).toBe(0x1234);
  });

  it('CALL through a call gate to ring 0 copies parameters and switches stacks; RETF 8 returns', () => {
    const m = pm(), c = m.c;
    m.code(0x20000, `
      push dword 0x11111111
      push dword 0x22222222
      call ${CALLGATE | 3}:0
      mov ebx, 0xaaaa
      jmp $`);
    m.code(0x30000, `
      hlt
      mov ax, ${DATA0}
      mov ds, ax
      retf 8`);
    m.ring(3, 0x20000);
    expect(m.run()).toBe(StopReason.Halted);
    expect(c.cpl).toBe(0);
    expect(c.segSel[Seg.CS]).toBe(CODE0);
    expect(c.segSel[Seg.SS]).toBe(DATA0);
    expect(c.r32[4] >>> 0).toBe(STACK0 - 24);
    expect(m.stack(0)).toBe(0x20000 + 5 + 5 + 7); // return EIP after the CALL
    expect(m.stack(1)).toBe(CODE3 | 3);
    expect(m.stack(2)).toBe(0x22222222);
    expect(m.stack(3)).toBe(0x11111111);
    expect(m.stack(4)).toBe(STACK3 - 8);
    expect(m.stack(5)).toBe(DATA3 | 3);
    m.run(4);
    expect(c.cpl).toBe(3);
    expect(c.segSel[Seg.CS]).toBe(CODE3 | 3);
    expect(c.segSel[Seg.SS]).toBe(DATA3 | 3);
    expect(c.r32[4] >>> 0).toBe(STACK3);
    expect(c.r32[3]).toBe(0xaaaa);
    expect(c.segSel[Seg.DS]).toBe(0); // DPL 0 data nulled on the return to ring 3
  });

  it('call gate: #TS for a bad ring 0 stack in the TSS, #GP for gate DPL < CPL', () => {
    const m = pm(), c = m.c;
    m.code(0x20000, `call ${CALLGATE | 3}:0`);
    m.ring(3, 0x20000);
    m.w32(TSS_A + 8, DATA3); // SS0 with DPL 3
    expect(fault(() => c.step())).toEqual({ vector: Vector.TS, code: DATA3 });
    m.w32(TSS_A + 8, 0);
    c.eip = 0x20000;
    expect(fault(() => c.step())).toEqual({ vector: Vector.TS, code: 0 });
    m.w32(TSS_A + 8, DATA0);
    m.gate(GDT, 6, CODE0, 0x30000, 0x8c, 2); // gate DPL 0
    c.eip = 0x20000;
    expect(fault(() => c.step())).toEqual({ vector: Vector.GP, code: CALLGATE });
  });

  it('far CALL/RETF in real mode push and pop CS:IP', () => {
    const m = new Machine(), c = m.c;
    c.setSegReal(Seg.CS, 0, 0xffff, 0x9b);
    c.setSegReal(Seg.SS, 0, 0xffff, 0x93);
    c.r32[4] = 0x7000; c.eip = 0x7c00;
    m.code(0x7c00, 'call 0x0900:0x0010\nhlt', 16);
    m.code(0x9010, 'mov ax, 0x55\nretf', 16);
    expect(m.run()).toBe(StopReason.Halted);
    expect(c.r16[0]).toBe(0x55);
    expect(c.segSel[Seg.CS]).toBe(0);
    expect(c.r32[4]).toBe(0x7000);
  });
});

// ---------------------------------------------------------------------------------------------
// Interrupts and exceptions
// ---------------------------------------------------------------------------------------------

describe('interrupt delivery', () => {
  it('INT from ring 3 through a trap gate switches to the TSS stack; IRET returns', () => {
    const m = pm(), c = m.c;
    m.gate(IDT, 0x80, CODE0, 0x30000, 0xef); // 32-bit trap gate, DPL 3
    m.code(0x30000, 'hlt\niretd');
    m.code(0x20000, 'int 0x80\nmov ecx, 0x1234\njmp $');
    m.ring(3, 0x20000);
    c.setFlags(Flag.IF, Flag.IF);
    expect(m.run()).toBe(StopReason.Halted);
    expect(c.cpl).toBe(0);
    expect(c.r32[4] >>> 0).toBe(STACK0 - 20);
    expect(m.stack(0)).toBe(0x20002);
    expect(m.stack(1)).toBe(CODE3 | 3);
    expect(m.stack(2) & (Flag.IF | 2)).toBe(Flag.IF | 2);
    expect(m.stack(3)).toBe(STACK3);
    expect(m.stack(4)).toBe(DATA3 | 3);
    expect(c.getFlags() & Flag.IF).toBe(Flag.IF); // trap gate keeps IF
    m.run(3);
    expect(c.cpl).toBe(3);
    expect(c.r32[1]).toBe(0x1234);
    expect(c.r32[4] >>> 0).toBe(STACK3);
  });

  it('interrupt gates clear IF; an exception from ring 3 pushes its error code', () => {
    const m = pm(), c = m.c;
    m.gate(IDT, Vector.GP, CODE0, 0x30000, 0x8e); // 32-bit interrupt gate, DPL 0
    m.code(0x30000, 'hlt');
    m.code(0x20000, 'int 0x40'); // gate 0x40 is empty: #GP(0x40*8+2)
    m.ring(3, 0x20000);
    c.setFlags(Flag.IF, Flag.IF);
    expect(m.run()).toBe(StopReason.Halted);
    expect(c.getFlags() & Flag.IF).toBe(0);
    expect(c.r32[4] >>> 0).toBe(STACK0 - 24);
    expect(m.stack(0)).toBe(0x40 * 8 + 2);
    expect(m.stack(1)).toBe(0x20000); // fault: EIP of the INT
    m.gate(IDT, 0x41, CODE0, 0x30000, 0x8e); // DPL 0: not reachable by INT from ring 3
    m.ring(3, 0x20000);
    m.code(0x20000, 'int 0x41');
    expect(fault(() => c.step())).toEqual({ vector: Vector.GP, code: 0x41 * 8 + 2 });
  });

  it('IRETD to virtual-8086 mode and a #GP out of it to ring 0', () => {
    const m = pm(), c = m.c;
    m.gate(IDT, Vector.GP, CODE0, 0x30000, 0x8e);
    m.code(0x30000, 'hlt\nadd esp, 4\nadd dword [esp], 2\niretd');
    m.code(0x10000, `
      push dword 0
      push dword 0
      push dword 0x2000
      push dword 0x3000
      push dword 0x5000
      push dword 0x0100
      push dword ${0x20002 | Flag.IF}
      push dword 0x2800
      push dword 0
      iretd`);
    m.code(0x28000, 'mov ax, 5\nint 0x21\nmov bx, 7\njmp $', 16);
    m.ring(0, 0x10000);
    for (let i = 0; i < 10; i++) c.step();
    expect(c.v86()).toBe(true);
    expect(c.cpl).toBe(3);
    expect(c.segBase[Seg.CS]).toBe(0x28000);
    expect(c.segBase[Seg.SS]).toBe(0x50000);
    expect(c.segBase[Seg.DS]).toBe(0x20000);
    expect(c.segAttr[Seg.DS]).toBe(0xf3);
    expect(c.segLimit[Seg.SS]).toBe(0xffff);
    expect(c.eip).toBe(0);
    expect(c.code32).toBe(false);
    // INT n with IOPL 0 in V86 mode: #GP(0) to the ring 0 handler
    expect(m.run()).toBe(StopReason.Halted);
    expect(c.v86()).toBe(false);
    expect(c.cpl).toBe(0);
    expect(c.r32[4] >>> 0).toBe(STACK0 - 40);
    const frame = Array.from({ length: 10 }, (_, k) => m.stack(k));
    expect(frame.slice(0, 3)).toEqual([0, 3, 0x2800]);
    expect(frame[3] & Flag.VM).toBe(Flag.VM);
    expect(frame.slice(4)).toEqual([0x100, 0x5000, 0x3000, 0x2000, 0, 0]);
    for (const s of [Seg.ES, Seg.DS, Seg.FS, Seg.GS]) expect(c.segSel[s]).toBe(0);
    // back to V86 mode after the INT
    m.run(5);
    expect(c.v86()).toBe(true);
    expect(c.r16[6]).toBe(7);
    expect(c.segSel[Seg.DS]).toBe(0x2000);
  });

  it('INT n in V86 mode with IOPL 3 goes through a DPL 3 gate to ring 0', () => {
    const m = pm(), c = m.c;
    m.gate(IDT, 0x21, CODE0, 0x30000, 0xee);
    m.code(0x30000, 'hlt');
    m.code(0x10000, 'int 0x21', 16);
    c.setFlags(Flag.VM | Flag.IOPL, Flag.VM | Flag.IOPL);
    c.setCpl(3);
    for (let s = 0; s < 6; s++) { c.segSel[s] = 0x1000; c.segBase[s] = 0x10000; c.segLimit[s] = 0xffff; c.segAttr[s] = 0xf3; }
    c.modeChanged();
    c.r32[4] = 0x800; c.eip = 0;
    expect(m.run()).toBe(StopReason.Halted);
    expect(c.cpl).toBe(0);
    expect(m.stack(0)).toBe(2);
    expect(m.stack(8)).toBe(0x1000); // GS
  });

  it('CR4.VME redirects INT n through the V86 task\'s own vector table', () => {
    const m = pm(), c = m.c;
    m.w16(TSS_A + 0x66, 0x68 + 32); // redirection bitmap at 0x68 (all zero: redirect everything)
    m.desc(GDT, 5, TSS_A, 0x98, 0x8b, 0);
    m.load(Seg.TR, TSSA);
    m.w16(0x21 * 4, 0x0040); m.w16(0x21 * 4 + 2, 0x2000);
    c.cr4 |= Cr4.VME;
    c.setFlags(Flag.VM | Flag.VIF, Flag.VM | Flag.IOPL | Flag.IF | Flag.VIF);
    c.setCpl(3);
    for (let s = 0; s < 6; s++) { c.segSel[s] = 0x1000; c.segBase[s] = 0x10000; c.segLimit[s] = 0xffff; c.segAttr[s] = 0xf3; }
    c.modeChanged();
    c.r32[4] = 0x800; c.eip = 2; // as if after "int 0x21"
    c.deliver(c, 0x21, InterruptKind.Software, 0, false);
    expect(c.v86()).toBe(true);
    expect(c.segSel[Seg.CS]).toBe(0x2000);
    expect(c.eip).toBe(0x40);
    expect(c.r32[4]).toBe(0x800 - 6);
    const fl = m.r16(0x10000 + 0x800 - 2);
    expect(fl & Flag.IOPL).toBe(Flag.IOPL); // pushed image shows IOPL 3
    expect(fl & Flag.IF).toBe(Flag.IF); // IF = VIF
    expect(c.getFlags() & Flag.VIF).toBe(0);
  });

  it('real mode: INT pushes FLAGS/CS/IP through the IVT, IRET returns', () => {
    const m = new Machine(), c = m.c;
    c.setSegReal(Seg.CS, 0, 0xffff, 0x9b);
    c.setSegReal(Seg.SS, 0, 0xffff, 0x93);
    c.idtrBase = 0; c.idtrLimit = 0x3ff;
    m.w16(0x10 * 4, 0x0000); m.w16(0x10 * 4 + 2, 0x0800);
    m.code(0x8000, 'mov dx, sp\nmov si, [ss:0x6ffa]\niret', 16);
    m.code(0x7c00, 'int 0x10\nhlt', 16);
    c.r32[4] = 0x7000; c.eip = 0x7c00;
    c.setFlags(Flag.IF | Flag.TF, Flag.IF);
    expect(m.run()).toBe(StopReason.Halted);
    expect(c.r16[4]).toBe(0x7000 - 6);
    expect(c.r16[12]).toBe(0x7c02); // pushed IP
    expect(c.r32[4]).toBe(0x7000);
    expect(c.getFlags() & Flag.IF).toBe(Flag.IF);
  });
});

// ---------------------------------------------------------------------------------------------
// Task switching
// ---------------------------------------------------------------------------------------------

function taskB(m: Machine, eip: number): void {
  m.w32(TSS_B + 0x20, eip);
  m.w32(TSS_B + 0x24, 0x2);
  m.w32(TSS_B + 0x28, 0xbbbb); // EAX
  m.w32(TSS_B + 0x38, 0x60000); // ESP
  m.w16(TSS_B + 0x48, DATA0); m.w16(TSS_B + 0x4c, CODE0); m.w16(TSS_B + 0x50, DATA0);
  m.w16(TSS_B + 0x54, DATA0); m.w16(TSS_B + 0x58, 0); m.w16(TSS_B + 0x5c, 0);
  m.w16(TSS_B + 0x60, LDTSEL);
}

describe('task switches', () => {
  it('CALL to a TSS nests (busy, back link, NT); IRET returns to the caller', () => {
    const m = pm(), c = m.c;
    taskB(m, 0x31000);
    m.code(0x31000, 'mov eax, 0xb\nhlt\niretd');
    m.code(0x10000, `call ${TSSB}:0\nmov ebx, 0xa\nhlt`);
    c.r32[0] = 0xaaaa;
    expect(m.run()).toBe(StopReason.Halted);
    expect(c.segSel[Seg.TR]).toBe(TSSB);
    expect(c.r32[0]).toBe(0xb);
    expect(c.getFlags() & Flag.NT).toBe(Flag.NT);
    expect(m.r16(TSS_B)).toBe(TSSA); // back link
    expect(m.r8(GDT + TSSA + 5)).toBe(0x8b); // both busy
    expect(m.r8(GDT + TSSB + 5)).toBe(0x8b);
    expect(c.segSel[Seg.LDTR]).toBe(LDTSEL);
    expect(c.cr0 & Cr0.TS).toBe(Cr0.TS);
    expect(m.r32(TSS_A + 0x20)).toBe(0x10007); // A's EIP after the CALL
    expect(m.r32(TSS_A + 0x28)).toBe(0xaaaa);
    expect(c.r32[4]).toBe(0x60000);
    expect(m.run()).toBe(StopReason.Halted);
    expect(c.segSel[Seg.TR]).toBe(TSSA);
    expect(c.r32[0]).toBe(0xaaaa);
    expect(c.r32[3]).toBe(0xa);
    expect(c.getFlags() & Flag.NT).toBe(0);
    expect(m.r8(GDT + TSSB + 5)).toBe(0x89); // B available again
    expect(m.r32(TSS_B + 0x28)).toBe(0xb); // B's state saved
    expect(m.r32(TSS_B + 0x24) & Flag.NT).toBe(0); // saved with NT cleared
    expect(c.segSel[Seg.LDTR]).toBe(0);
  });

  it('JMP to a TSS does not nest; a busy TSS is refused', () => {
    const m = pm(), c = m.c;
    taskB(m, 0x31000);
    m.code(0x31000, 'hlt');
    m.code(0x10000, `jmp ${TSSB}:0`);
    expect(m.run()).toBe(StopReason.Halted);
    expect(c.segSel[Seg.TR]).toBe(TSSB);
    expect(c.getFlags() & Flag.NT).toBe(0);
    expect(m.r8(GDT + TSSA + 5)).toBe(0x89);
    expect(m.r8(GDT + TSSB + 5)).toBe(0x8b);
    expect(fault(() => farJump(c, TSSB, 0))).toEqual({ vector: Vector.GP, code: TSSB });
  });

  it('JMP to a 16-bit TSS loads the 16-bit state', () => {
    const m = pm(), c = m.c;
    m.w16(TSS16 + 0x0e, 0x1000); // IP
    m.w16(TSS16 + 0x10, 0x0002); // FLAGS
    m.w16(TSS16 + 0x12, 0x1234); // AX
    m.w16(TSS16 + 0x1a, 0x8000); // SP
    m.w16(TSS16 + 0x22, DATA0); m.w16(TSS16 + 0x24, CODE0); m.w16(TSS16 + 0x26, DATA0); m.w16(TSS16 + 0x28, DATA0);
    m.code(0x10000, `jmp ${TSS16SEL}:0`);
    c.step();
    expect(c.segSel[Seg.TR]).toBe(TSS16SEL);
    expect(c.eip).toBe(0x1000);
    expect(c.r32[0] >>> 0).toBe(0xffff1234);
    expect(c.r16[8]).toBe(0x8000);
    expect(c.segSel[Seg.FS]).toBe(0);
    expect(m.r8(GDT + TSS16SEL + 5)).toBe(0x83);
    expect(m.r32(TSS_A + 0x20)).toBe(0x10007);
  });

  it('CALL through a task gate; the gate DPL is checked against CPL', () => {
    const m = pm(), c = m.c;
    taskB(m, 0x31000);
    m.code(0x31000, 'hlt');
    m.code(0x10000, `call ${TASKGATE}:0`);
    expect(m.run()).toBe(StopReason.Halted);
    expect(c.segSel[Seg.TR]).toBe(TSSB);
    expect(m.r16(TSS_B)).toBe(TSSA);
    const m3 = pm();
    m3.ring(3, 0x20000);
    m3.code(0x20000, `jmp ${TASKGATE | 3}:0`);
    expect(fault(() => m3.c.step())).toEqual({ vector: Vector.GP, code: TASKGATE });
  });

  it('an exception through a task gate pushes its error code on the new task\'s stack', () => {
    const m = pm(), c = m.c;
    taskB(m, 0x31000);
    m.code(0x31000, 'hlt');
    m.gate(IDT, Vector.GP, TSSB, 0, 0x85);
    m.code(0x10000, `mov ax, ${XONLY}\nmov ds, ax`);
    expect(m.run()).toBe(StopReason.Halted);
    expect(c.segSel[Seg.TR]).toBe(TSSB);
    expect(c.r32[4]).toBe(0x60000 - 4);
    expect(m.r32(0x60000 - 4)).toBe(XONLY);
    expect(m.r32(TSS_A + 0x20)).toBe(0x10004); // faulting instruction
    expect(m.r16(TSS_B)).toBe(TSSA);
  });

  it('a bad segment in the new TSS is #TS in the new task', () => {
    const m = pm(), c = m.c;
    taskB(m, 0x31000);
    m.w16(TSS_B + 0x50, DATA3); // SS with DPL 3 for CPL 0
    m.code(0x10000, `jmp ${TSSB}:0`);
    expect(fault(() => c.step())).toEqual({ vector: Vector.TS, code: DATA3 });
    expect(c.segSel[Seg.TR]).toBe(TSSB);
    expect(c.instrStart).toBe(0x31000);
  });
});

// ---------------------------------------------------------------------------------------------
// Double and triple faults
// ---------------------------------------------------------------------------------------------

describe('double and triple faults', () => {
  it('#GP while delivering #NP becomes #DF(0)', () => {
    const m = pm(), c = m.c;
    m.gate(IDT, Vector.NP, 0x80, 0x30000, 0x8e); // target selector beyond the GDT
    m.gate(IDT, Vector.DF, CODE0, 0x30100, 0x8e);
    m.code(0x30100, 'hlt');
    m.code(0x10000, `mov ax, ${NOTPRESENT}\nmov ds, ax`);
    expect(m.run()).toBe(StopReason.Halted);
    expect(c.eip).toBe(0x30101);
    expect(m.stack(0)).toBe(0);
    expect(m.stack(1)).toBe(0x10004);
    expect(c.delivering).toBe(-1);
  });

  it('a benign exception followed by #GP is delivered serially', () => {
    const m = pm();
    m.gate(IDT, Vector.UD, 0x80, 0x30000, 0x8e);
    m.gate(IDT, Vector.GP, CODE0, 0x30100, 0x8e);
    m.code(0x30100, 'hlt');
    m.code(0x10000, 'ud2');
    expect(m.run()).toBe(StopReason.Halted);
    expect(m.stack(0)).toBe(0x81); // selector 0x80 with EXT
    expect(m.stack(1)).toBe(0x10000);
  });

  it('a fault while delivering #DF shuts down without throwing', () => {
    const m = pm(), c = m.c;
    c.idtrLimit = 0;
    m.code(0x10000, 'ud2');
    expect(m.run(100)).toBe(StopReason.Shutdown);
    expect(c.shutdown).toBe(true);
    expect(c.shutdownReason).toMatch(/triple fault: #GP.*while delivering #DF/);
    expect(c.delivering).toBe(-1);
  });

  it('real mode: an interrupt beyond the IVT limit ends in shutdown', () => {
    const m = new Machine(), c = m.c;
    c.setSegReal(Seg.CS, 0, 0xffff, 0x9b);
    c.idtrBase = 0; c.idtrLimit = 0;
    m.code(0x7c00, 'int 0x10', 16);
    c.eip = 0x7c00; c.r32[4] = 0x7000;
    expect(m.run(100)).toBe(StopReason.Shutdown);
  });
});

// ---------------------------------------------------------------------------------------------
// I/O permission bitmap
// ---------------------------------------------------------------------------------------------

describe('I/O permission bitmap', () => {
  it('allows and denies ports at CPL > IOPL', () => {
    const m = pm(), c = m.c;
    m.w8(TSS_A + 0x68 + (0x41 >> 3), 1 << (0x41 & 7));
    m.ring(3, 0x20000);
    expect(c.ioIn(0x40, 1)).toBe(0xff);
    expect(fault(() => c.ioIn(0x41, 1))).toEqual({ vector: Vector.GP, code: 0 });
    expect(fault(() => c.ioIn(0x40, 2))).toEqual({ vector: Vector.GP, code: 0 });
    expect(c.ioIn(0x7f, 1)).toBe(0xff);
    expect(fault(() => c.ioIn(0x80, 1))).toEqual({ vector: Vector.GP, code: 0 }); // beyond the TSS
    m.code(0x20000, 'mov dx, 0x41\nin al, dx');
    c.step();
    expect(fault(() => c.step())).toEqual({ vector: Vector.GP, code: 0 });
    c.setFlags(Flag.IOPL, Flag.IOPL); // IOPL 3: no bitmap check
    expect(c.ioIn(0x41, 1)).toBe(0xff);
  });

  it('a 16-bit TSS has no bitmap', () => {
    const m = pm(), c = m.c;
    m.load(Seg.TR, TSS16SEL);
    m.ring(3, 0x20000);
    expect(fault(() => c.ioIn(0x40, 1))).toEqual({ vector: Vector.GP, code: 0 });
  });
});

// ---------------------------------------------------------------------------------------------
// System instructions
// ---------------------------------------------------------------------------------------------

describe('system instructions', () => {
  it('LAR, LSL, VERR and VERW report through ZF', () => {
    const m = pm(), c = m.c;
    m.code(0x10000, `
      mov ax, ${DATA0B}
      lar ebx, ax
      lsl ecx, ax
      verr ax
      verw ax
      mov ax, ${CODE0}
      verw ax
      mov ax, ${XONLY}
      verr ax
      mov ax, ${CALLGATE}
      lar edx, ax
      lsl esi, ax
      xor ax, ax
      lar edi, ax`);
    c.step();
    c.step(); expect(c.zf()).toBe(true); expect(c.r32[3]).toBe(0x00009200);
    c.step(); expect(c.zf()).toBe(true); expect(c.r32[1]).toBe(0xffff);
    c.step(); expect(c.zf()).toBe(true);
    c.step(); expect(c.zf()).toBe(true);
    c.step(); c.step(); expect(c.zf()).toBe(false);
    c.step(); c.step(); expect(c.zf()).toBe(false);
    c.step(); c.step(); expect(c.zf()).toBe(true); expect(c.r32[2]).toBe(0xec00);
    c.step(); expect(c.zf()).toBe(false);
    c.step(); c.step(); expect(c.zf()).toBe(false);
    // At CPL 3 a DPL 0 segment is invisible; conforming code is readable
    m.ring(3, 0x20000);
    m.code(0x20000, `mov ax, ${DATA0B}\nverr ax\nmov ax, ${CONFORM}\nverr ax\nlsl eax, ax`);
    c.step(); c.step(); expect(c.zf()).toBe(false);
    c.step(); c.step(); expect(c.zf()).toBe(true);
    c.step(); expect(c.zf()).toBe(true); expect(c.r32[0] >>> 0).toBe(0xffffffff);
  });

  it('LTR marks the TSS busy, LLDT loads the LDT; SLDT/STR read them; #UD in real mode', () => {
    const m = pm(), c = m.c;
    m.code(0x10000, `mov ax, ${TSSB}\nltr ax\nmov ax, ${LDTSEL}\nlldt ax\nsldt ebx\nstr ecx\nltr ax`);
    for (let i = 0; i < 6; i++) c.step();
    expect(m.r8(GDT + TSSB + 5)).toBe(0x8b);
    expect(c.segBase[Seg.LDTR]).toBe(LDT);
    expect(c.r32[3]).toBe(LDTSEL);
    expect(c.r32[1]).toBe(TSSB);
    expect(fault(() => c.step())).toEqual({ vector: Vector.GP, code: LDTSEL }); // LTR with an LDT
    const r = new Machine();
    r.code(0xfff0, 'sldt ax', 16);
    r.c.setSegReal(Seg.CS, 0, 0xffff, 0x9b); r.c.eip = 0xfff0;
    expect(fault(() => r.c.step())).toEqual({ vector: Vector.UD, code: -1 });
  });

  it('SGDT/SIDT/LGDT with 16-bit operand size keep a 24-bit base', () => {
    const m = new Machine(), c = m.c;
    c.setSegReal(Seg.CS, 0, 0xffff, 0x9b);
    m.w16(0x500, 0x27); m.w32(0x502, 0x12345678);
    m.code(0x7c00, 'lgdt [0x500]\nsgdt [0x600]\no32 lidt [0x500]\no32 sidt [0x610]', 16);
    c.eip = 0x7c00;
    for (let i = 0; i < 4; i++) c.step();
    expect(c.gdtrBase).toBe(0x345678);
    expect(c.gdtrLimit).toBe(0x27);
    expect(m.r32(0x602)).toBe(0x345678);
    expect(c.idtrBase).toBe(0x12345678);
    expect(m.r32(0x612)).toBe(0x12345678);
  });

  it('MOV CR0 with PG and not PE is #GP(0); CR4 rejects unsupported bits; ring 3 cannot', () => {
    const m = pm(), c = m.c;
    m.code(0x10000, `
      mov eax, cr0
      and eax, ~1
      or eax, 0x80000000
      mov cr0, eax
      mov eax, 0x400
      mov cr4, eax
      mov eax, 0x10
      mov cr4, eax`);
    c.step(); c.step(); c.step();
    expect(fault(() => c.step())).toEqual({ vector: Vector.GP, code: 0 });
    c.eip = c.instrStart + 3; // skip the faulting MOV CR0
    c.step();
    expect(fault(() => c.step())).toEqual({ vector: Vector.GP, code: 0 }); // OSXMMEXCPT needs SSE
    c.eip = c.instrStart + 3;
    c.step(); c.step();
    expect(c.cr4).toBe(Cr4.PSE);
    c.cr4 = 0;
    m.code(0x10000, 'mov eax, 0x200\nmov cr4, eax'); // OSFXSR is valid with CPUID FXSR
    c.eip = 0x10000;
    c.step(); c.step();
    expect(c.cr4).toBe(Cr4.OSFXSR);
    m.ring(3, 0x20000);
    m.code(0x20000, 'mov eax, cr0');
    expect(fault(() => c.step())).toEqual({ vector: Vector.GP, code: 0 });
  });

  it('enables paging through CR0 and CR3', () => {
    const m = pm(), c = m.c;
    // identity map the first 4 MB with one PSE page
    m.w32(0x100000, 0x87);
    m.w32(0x200000, 0xdeadbeef);
    m.code(0x10000, `
      mov eax, cr4
      or eax, 0x10
      mov cr4, eax
      mov eax, 0x100000
      mov cr3, eax
      mov eax, cr0
      or eax, 0x80000000
      mov cr0, eax
      mov ebx, [0x200000]
      hlt`);
    expect(m.run()).toBe(StopReason.Halted);
    expect(c.paging()).toBe(true);
    expect(c.r32[3] >>> 0).toBe(0xdeadbeef);
  });

  it('MOV DR: DR4/DR5 alias DR6/DR7, #UD with CR4.DE, #DB with DR7.GD', () => {
    const m = pm(), c = m.c;
    m.code(0x10000, 'mov eax, dr5\nmov eax, dr4\nmov dr0, eax');
    c.step();
    expect(c.r32[0]).toBe(0x400);
    c.cr4 |= Cr4.DE;
    expect(fault(() => c.step())).toEqual({ vector: Vector.UD, code: -1 });
    c.eip = 0x10006;
    c.dr[7] |= 0x2000;
    expect(fault(() => c.step())).toEqual({ vector: Vector.DB, code: -1 });
    expect(c.dr[6] & 0x2000).toBe(0x2000);
    expect(c.dr[7] & 0x2000).toBe(0);
  });

  it('RDMSR/WRMSR: SYSENTER MSRs, APIC base, TSC, unknown MSR #GP', () => {
    const m = pm(), c = m.c;
    m.code(0x10000, `
      mov ecx, 0x1b
      rdmsr
      mov ecx, 0x174
      mov eax, 0x08
      xor edx, edx
      wrmsr
      mov ecx, 0x10
      mov eax, 1000
      wrmsr
      rdtsc
      mov ecx, 0x12345
      rdmsr`);
    c.step(); c.step();
    expect(c.r32[0] >>> 0).toBe(0xfee00900);
    for (let i = 0; i < 4; i++) c.step();
    expect(c.sysenterCs).toBe(8);
    for (let i = 0; i < 4; i++) c.step();
    expect(c.r32[0]).toBe(1000); // step() does not count retired instructions
    c.step();
    expect(fault(() => c.step())).toEqual({ vector: Vector.GP, code: 0 });
    m.ring(3, 0x20000);
    m.code(0x20000, 'rdtsc\nrdmsr');
    c.step();
    expect(fault(() => c.step())).toEqual({ vector: Vector.GP, code: 0 });
    c.cr4 |= Cr4.TSD;
    c.eip = 0x20000;
    expect(fault(() => c.step())).toEqual({ vector: Vector.GP, code: 0 });
  });

  it('CPUID returns the vendor string', () => {
    const m = pm(), c = m.c;
    m.code(0x10000, 'xor eax, eax\ncpuid');
    c.step(); c.step();
    const s = (v: number) => String.fromCharCode(v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff);
    expect(s(c.r32[3]) + s(c.r32[2]) + s(c.r32[1])).toBe('GenuineIntel');
    expect(c.r32[0]).toBe(1);
  });

  it('SYSENTER and SYSEXIT switch between flat ring 0 and ring 3', () => {
    const m = pm(), c = m.c;
    c.sysenterCs = CODE0; c.sysenterEsp = 0x88000; c.sysenterEip = 0x30000;
    m.code(0x30000, 'mov edx, 0x20010\nmov ecx, 0x6f000\nsysexit');
    m.code(0x20000, 'sysenter');
    m.ring(3, 0x20000);
    c.step();
    expect(c.cpl).toBe(0);
    expect(c.segSel[Seg.CS]).toBe(CODE0);
    expect(c.segSel[Seg.SS]).toBe(DATA0);
    expect(c.r32[4]).toBe(0x88000);
    expect(c.eip).toBe(0x30000);
    c.step(); c.step(); c.step();
    expect(c.cpl).toBe(3);
    expect(c.segSel[Seg.CS]).toBe(CODE3 | 3);
    expect(c.segSel[Seg.SS]).toBe(DATA3 | 3);
    expect(c.eip).toBe(0x20010);
    expect(c.r32[4]).toBe(0x6f000);
  });

  it('ARPL adjusts RPL; #UD in real mode', () => {
    const m = pm(), c = m.c;
    m.code(0x10000, 'mov ax, 0x10\nmov bx, 0x3\narpl ax, bx\narpl ax, bx');
    c.step(); c.step(); c.step();
    expect(c.r16[0]).toBe(0x13);
    expect(c.zf()).toBe(true);
    c.step();
    expect(c.zf()).toBe(false);
  });

  it('CLTS, LMSW and SMSW', () => {
    const m = pm(), c = m.c;
    c.cr0 |= Cr0.TS;
    m.code(0x10000, 'clts\nsmsw eax\nxor bx, bx\nlmsw bx');
    c.step();
    expect(c.cr0 & Cr0.TS).toBe(0);
    c.step();
    expect(c.r32[0]).toBe(c.cr0);
    c.step(); c.step();
    expect(c.protectedMode()).toBe(true); // LMSW cannot clear PE
  });
});

