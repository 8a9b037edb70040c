// RDRAND/RDSEED, RDTSCP, INVPCID, MONITOR/MWAIT, LAR/LSL/VERR/VERW in 64-bit mode (cpu/long/
// isa64.ts): their 64-bit semantics (SDM Vol. 2 "64-bit mode" paragraphs) and their VM exits
// from 64-bit guests (SDM Vol. 3C §26.1.3; §28.2.5 instruction information: operand size 2 with
// REX.W, address size 2, REX register numbers; Tables 28-9 and 28-12).
import { describe, expect, it } from 'vitest';
import { Seg, Vector } from '../../src/core/cpu/regs';
import { Desc, loadCache, tryFetchDesc } from '../../src/core/cpu/descriptor';
import { getGpr64, setGpr64 } from '../../src/core/cpu/long/long-mode';
import { nextRandom32 } from '../../src/core/cpu/ops/random';
import { ControlField, ProcBasedCtls, ProcBasedCtls2 } from '../../src/core/vmx/controls';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { VmcsField as V } from '../../src/core/vmx/fields';
import { DATA, GDT, PD2M, VmxMachine } from './support';
import { expectExit, Guest, GUEST_CODE } from './guest-support';

const P = ControlField.ProcBased, P2 = ControlField.ProcBased2;
const ZF = 0x40, CF = 1;

function guest64(gen = 'skylake'): Guest {
  const g = new Guest(gen, undefined, { start64: true });
  g.host64();
  g.guest64();
  g.w(V.ExceptionBitmap, (1 << Vector.UD) | (1 << Vector.GP));
  return g;
}
function machine(gen = 'skylake'): VmxMachine { return new VmxMachine(gen, { start64: true }); }

describe('RDRAND/RDSEED in 64-bit mode', () => {
  it('REX.W: a 64-bit value (two draws of the generator), REX.B register; 32-bit zero-extends, 16-bit keeps bits 63:16', () => {
    const m = machine(), c = m.c;
    const ref = machine().c; // the same generator (APIC ID 0, fresh): the expected values
    const a = nextRandom32(ref) >>> 0, b = nextRandom32(ref) >>> 0, e = nextRandom32(ref) >>> 0, f = nextRandom32(ref) >>> 0;
    setGpr64(c, 11, 0xffffffffffffffffn); setGpr64(c, 3, 0x1122334455667788n);
    expect(m.exec('rdrand r9\nrdseed r11d\nrdrand bx', 64)).toBe(null);
    expect(getGpr64(c, 9)).toBe((BigInt(b) << 32n) | BigInt(a));
    expect(getGpr64(c, 11)).toBe(BigInt(e));
    expect(getGpr64(c, 3)).toBe(0x1122334455660000n | BigInt(f & 0xffff));
    expect(m.arith()).toBe(CF);
  });

  it('#UD with an F3 prefix and where CPUID lacks the instruction (RDSEED on Haswell)', () => {
    expect(machine().exec('db 0xf3\nrdrand rax', 64)).toBe(Vector.UD);
    expect(machine('haswell').exec('rdseed rax', 64)).toBe(Vector.UD);
    expect(machine('haswell').exec('rdrand rax', 64)).toBe(null);
  });

  it('exits 57/61 from a 64-bit guest: REX register in [6:3], operand size 2 in [12:11] with REX.W', () => {
    const g = guest64();
    g.ctl(P2, ProcBasedCtls2.RdrandExiting | ProcBasedCtls2.RdseedExiting);
    g.code64('rdrand r9\nrdseed r14d\nrdrand r12w');
    let x = g.exit();
    expectExit(x, ExitReason.Rdrand, GUEST_CODE);
    expect(x.instructionLength).toBe(4);
    expect(x.instructionInfo >>> 0).toBe((9 << 3) | (2 << 11));
    g.skip();
    x = g.exit();
    expectExit(x, ExitReason.Rdseed, GUEST_CODE + 4);
    expect(x.instructionInfo >>> 0).toBe((14 << 3) | (1 << 11));
    g.skip();
    x = g.exit();
    expectExit(x, ExitReason.Rdrand, GUEST_CODE + 8);
    expect(x.instructionLength).toBe(5);
    expect(x.instructionInfo >>> 0).toBe(12 << 3);
  });
});

describe('RDTSCP in 64-bit mode', () => {
  it('clears bits 63:32 of RAX, RDX, RCX; ECX = IA32_TSC_AUX', () => {
    const m = machine(), c = m.c;
    c.msrs.set(0xc0000103, [0x1234, 0]);
    for (const r of [0, 1, 2]) setGpr64(c, r, 0xffffffffffffffffn);
    expect(m.exec('rdtscp', 64)).toBe(null);
    expect(getGpr64(c, 1)).toBe(0x1234n);
    expect(c.r32hi[0] | c.r32hi[2]).toBe(0);
  });

  it('exit 51 from a 64-bit guest with "enable RDTSCP" and "RDTSC exiting"; #UD without "enable RDTSCP"', () => {
    const g = guest64();
    g.ctl(P, g.rd(V.ProcBasedControls) | ProcBasedCtls.RdtscExiting);
    g.ctl(P2, ProcBasedCtls2.EnableRdtscp);
    g.code64('nop\nrdtscp');
    const x = g.exit();
    expectExit(x, ExitReason.Rdtscp, GUEST_CODE + 1);
    expect(x.instructionLength).toBe(3);
    const h = guest64();
    h.ctl(P, h.rd(V.ProcBasedControls) | ProcBasedCtls.RdtscExiting);
    h.code64('rdtscp');
    const y = h.exit();
    expectExit(y, ExitReason.ExceptionOrNmi, GUEST_CODE);
    expect(y.interruptionInfo & 0xff).toBe(Vector.UD);
  });
});

describe('INVPCID in 64-bit mode', () => {
  /** Writes the 16-byte descriptor at DATA: PCID, reserved, 64-bit linear address. */
  function desc(m: VmxMachine, pcid: number, addr: bigint, reserved = 0): void {
    m.mem.write32(DATA, pcid); m.mem.write32(DATA + 4, reserved);
    m.mem.write32(DATA + 8, Number(addr & 0xffffffffn) | 0); m.mem.write32(DATA + 12, Number(addr >> 32n) | 0);
  }

  it('type 0 drops the translation of the (64-bit) address: a changed 2 MB mapping takes effect', () => {
    const m = machine(), c = m.c;
    m.mem.write32(0x400000, 0x11111111); m.mem.write32(0x600000, 0x22222222);
    expect(m.exec('mov eax, [0x400000]', 64)).toBe(null);
    expect(c.r32[0]).toBe(0x11111111);
    m.mem.write32(PD2M + 2 * 8, 0x600000 | 0x87); // PDE 2 now maps 0x400000 to 0x600000
    expect(m.exec('mov eax, [0x400000]', 64)).toBe(null);
    expect(c.r32[0], 'the stale translation is still cached').toBe(0x11111111);
    desc(m, 0, 0x400000n);
    expect(m.exec(`xor ecx, ecx\nmov r8, ${DATA}\ninvpcid rcx, [r8]\nmov eax, [0x400000]`, 64)).toBe(null);
    expect(c.r32[0]).toBe(0x22222222);
  });

  it('#GP(0): a non-canonical type-0 address, a type above 3 in bits 63:32, reserved bits, a PCID with type 0', () => {
    const m = machine();
    desc(m, 0, 0xffff800000001000n);
    expect(m.exec(`xor ecx, ecx\nmov r8, ${DATA}\ninvpcid rcx, [r8]`, 64)).toBe(null);
    desc(m, 0, 0x0000800000001000n);
    expect(m.exec(`xor ecx, ecx\nmov r8, ${DATA}\ninvpcid rcx, [r8]`, 64)).toBe(Vector.GP);
    // type 1 ignores the address
    expect(m.exec(`mov ecx, 1\nmov r8, ${DATA}\ninvpcid rcx, [r8]`, 64)).toBe(null);
    expect(m.exec(`mov rcx, 0x100000000\nmov r8, ${DATA}\ninvpcid rcx, [r8]`, 64)).toBe(Vector.GP);
    desc(m, 0, 0n, 1);
    expect(m.exec(`mov ecx, 2\nmov r8, ${DATA}\ninvpcid rcx, [r8]`, 64)).toBe(Vector.GP);
    desc(m, 5, 0n);
    expect(m.exec(`xor ecx, ecx\nmov r8, ${DATA}\ninvpcid rcx, [r8]`, 64)).toBe(Vector.GP);
    expect(m.exec(`mov ecx, 3\nmov r8, ${DATA}\ninvpcid rcx, [r8]`, 64)).toBe(null);
  });

  it('exit 58 from a 64-bit guest: Table 28-9 with address size 2 and REX registers, qualification = displacement', () => {
    const g = guest64();
    g.ctl(P, g.rd(V.ProcBasedControls) | ProcBasedCtls.InvlpgExiting);
    g.ctl(P2, ProcBasedCtls2.EnableInvpcid);
    g.code64('invpcid r10, [r9+r11*2-0x20]');
    const x = g.exit();
    expectExit(x, ExitReason.Invpcid, GUEST_CODE);
    expect(x.instructionLength).toBe(8); // 66 REX 0F 38 82 ModRM SIB disp8
    expect(g.r.vmreadLong(V.ExitQualification).value).toBe(0xffffffffffffffe0n); // -0x20 sign-extended
    // scale 1 (x2), address size 2, DS (3), index R11, base R9, reg2 R10
    expect(x.instructionInfo >>> 0).toBe((1 | (2 << 7) | (3 << 15) | (11 << 18) | (9 << 23) | (10 << 28)) >>> 0);
  });
});

describe('MONITOR/MWAIT in 64-bit mode', () => {
  it('MONITOR takes RAX whole: a non-canonical RAX is #GP(0), a high canonical one arms the monitor', () => {
    const m = machine(), c = m.c;
    expect(m.exec('mov rax, 0x0000800000000000\nxor ecx, ecx\nmonitor', 64)).toBe(Vector.GP);
    expect(c.monitorArmed).toBe(false);
    expect(m.exec('mov rax, 0xffff800000200000\nxor ecx, ecx\nmonitor', 64)).toBe(null);
    expect(c.monitorArmed).toBe(true);
    expect(m.exec('mov rax, 0xffff800000200000\nmov ecx, 1\nmonitor', 64)).toBe(Vector.GP);
    // A linear address with no translation: #PF (the PML4 entry 1 is not present).
    expect(m.exec('mov rax, 0x0000008000000000\nxor ecx, ecx\nmonitor', 64)).toBe(Vector.PF);
    expect(m.exec('xor ecx, ecx\nmwait', 64)).toBe(null);
    expect(c.monitorArmed).toBe(false);
  });

  it('exits 39 and 36 from a 64-bit guest: length 3, MWAIT qualification bit 0 = armed', () => {
    const g = guest64();
    g.ctl(P, g.rd(V.ProcBasedControls) | ProcBasedCtls.MonitorExiting);
    g.code64('mov rax, 0x0000800000000000\nmonitor');
    const x = g.exit();
    expectExit(x, ExitReason.Monitor, GUEST_CODE + 10);
    expect(x.instructionLength).toBe(3);
    const h = guest64();
    h.ctl(P, h.rd(V.ProcBasedControls) | ProcBasedCtls.MwaitExiting);
    h.code64('mov rax, 0xffff800000200000\nxor ecx, ecx\nmonitor\nmwait');
    const y = h.exit();
    expectExit(y, ExitReason.Mwait, GUEST_CODE + 15);
    expect(y.qualification).toBe(1);
    expect(y.instructionLength).toBe(3);
  });
});

describe('LAR/LSL/VERR/VERW in 64-bit mode (16-byte system descriptors)', () => {
  // GDT entries 9-10: a 64-bit TSS (16 bytes); 11-12 an LDT; 13-14 a 64-bit call gate; 15 a
  // 16-bit TSS (a reserved type in IA-32e mode); 16-17: a 64-bit TSS whose upper half has type 1.
  const TSS64 = 0x48, LDT = 0x58, GATE = 0x68, TSS16 = 0x78, BADTSS = 0x80;
  function gdt(m: VmxMachine): void {
    const put = (sel: number, lo: number, hi: number, lo2 = 0, hi2 = 0): void => {
      m.mem.write32(GDT + sel, lo); m.mem.write32(GDT + sel + 4, hi); m.mem.write32(GDT + sel + 8, lo2); m.mem.write32(GDT + sel + 12, hi2);
    };
    put(TSS64, 0x30000067, 0x00008900, 0xffff8000);
    put(LDT, 0x4000001f, 0x00008200);
    put(GATE, 0x00401000, 0x0000ec00 | 0, 0xffff8000);
    put(TSS16, 0x5000002b, 0x00008100, 0, 0);
    put(BADTSS, 0x60000fff, 0x00808900, 0, 0x100);
    m.c.gdtrLimit = BADTSS + 15;
  }

  it('LAR: 64-bit TSS and call gate valid, LDT and 16-bit TSS not; the upper half must be type 0', () => {
    const m = machine(), c = m.c;
    gdt(m);
    const lar = (sel: number): [number, bigint] => {
      setGpr64(c, 0, 0xaaaaaaaaaaaaaaaan);
      expect(m.exec(`mov ebx, ${sel}\nlar rax, bx`, 64)).toBe(null);
      return [c.getFlags() & ZF, getGpr64(c, 0)];
    };
    expect(lar(TSS64)).toEqual([ZF, 0x8900n]);
    expect(lar(GATE)).toEqual([ZF, 0xec00n]);
    expect(lar(LDT)).toEqual([0, 0xaaaaaaaaaaaaaaaan]);
    expect(lar(TSS16)).toEqual([0, 0xaaaaaaaaaaaaaaaan]);
    expect(lar(BADTSS)).toEqual([0, 0xaaaaaaaaaaaaaaaan]);
    expect(lar(0x08)[0]).toBe(ZF); // a code segment
    // The upper half beyond the GDT limit: not valid.
    c.gdtrLimit = TSS64 + 8 + 7 - 1;
    expect(lar(TSS64)).toEqual([0, 0xaaaaaaaaaaaaaaaan]);
  });

  it('LSL: LDT and 64-bit TSS valid (limit zero-extended, page granular expanded), the call gate not', () => {
    const m = machine(), c = m.c;
    gdt(m);
    const lsl = (sel: number): [number, bigint] => {
      setGpr64(c, 2, -1n & 0xffffffffffffffffn);
      expect(m.exec(`mov ebx, ${sel}\nlsl rdx, bx`, 64)).toBe(null);
      return [c.getFlags() & ZF, getGpr64(c, 2)];
    };
    expect(lsl(TSS64)).toEqual([ZF, 0x67n]);
    expect(lsl(LDT)).toEqual([ZF, 0x1fn]);
    expect(lsl(GATE)).toEqual([0, 0xffffffffffffffffn]);
    expect(lsl(BADTSS)[0]).toBe(0);
    expect(lsl(0x10)).toEqual([ZF, 0xffffffffn]); // flat data, G = 1
  });

  it('compatibility mode takes the IA-32e types and 16-byte descriptors too (EFER.LMA = 1, CS.L = 0)', () => {
    const m = machine(), c = m.c;
    gdt(m);
    const d = new Desc(), saved = c.segSel[Seg.CS];
    tryFetchDesc(c, 0x08, d); loadCache(c, Seg.CS, 0x08, d); // 32-bit code: compatibility mode
    expect(c.mode64).toBe(false);
    const q = (insn: string, sel: number): [number, number] => {
      c.r32[0] = 0xaaaaaaaa | 0;
      expect(m.exec(`mov ebx, ${sel}\n${insn} eax, bx`, 32)).toBe(null);
      return [c.getFlags() & ZF, c.r32[0] >>> 0];
    };
    try {
      expect(q('lar', TSS64)).toEqual([ZF, 0x8900]);
      expect(q('lar', TSS16)).toEqual([0, 0xaaaaaaaa]); // a reserved type in IA-32e mode
      expect(q('lar', LDT)).toEqual([0, 0xaaaaaaaa]);
      expect(q('lar', BADTSS)).toEqual([0, 0xaaaaaaaa]); // upper half not type 0
      expect(q('lsl', LDT)).toEqual([ZF, 0x1f]);
      expect(q('lsl', GATE)).toEqual([0, 0xaaaaaaaa]);
    } finally { tryFetchDesc(c, saved, d); loadCache(c, Seg.CS, saved, d); }
    // Legacy protected mode (no IA-32e): the 16-bit TSS and the LDT are LAR's again.
    const p = new VmxMachine('skylake');
    p.mem.write32(GDT + 0x78, 0x5000002b); p.mem.write32(GDT + 0x7c, 0x00008100);
    p.mem.write32(GDT + 0x58, 0x4000001f); p.mem.write32(GDT + 0x5c, 0x00008200);
    p.c.gdtrLimit = Math.max(p.c.gdtrLimit, 0x7f);
    for (const [sel, ar] of [[0x78, 0x8100], [0x58, 0x8200]]) {
      expect(p.exec(`mov ebx, ${sel}\nlar eax, bx`)).toBe(null);
      expect([p.c.getFlags() & ZF, p.c.r32[0] >>> 0]).toEqual([ZF, ar]);
    }
  });

  it('VERR/VERW: code and data only, DPL against CPL and RPL', () => {
    const m = machine(), c = m.c;
    gdt(m);
    const v = (insn: string, sel: number): number => {
      expect(m.exec(`mov ebx, ${sel}\n${insn} bx`, 64)).toBe(null);
      return c.getFlags() & ZF;
    };
    expect(v('verr', 0x40)).toBe(ZF); // readable 64-bit code
    expect(v('verw', 0x40)).toBe(0);
    expect(v('verw', 0x10)).toBe(ZF);
    expect(v('verw', 0x23)).toBe(ZF); // DPL 3 data, RPL 3
    expect(v('verr', TSS64)).toBe(0);
    expect(c.segSel[Seg.CS]).toBe(0x40);
  });
});
