// IA-32e mode (long mode), phase 1: the long64 guest against QEMU (qemu-system-x86_64, TCG) on
// the serial transcript, the SDM outcomes where QEMU departs, and unit tests of the mode
// transitions (SDM Vol. 3A §9.8.5), CPUID per generation, the >4 GB TLB and 64-bit decoding
// (instruction lengths against ndisasm -b 64).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FAULT } from '../../../src/core/cpu/fault';
import { createCpu } from '../../../src/core/cpu';
import { Cpu } from '../../../src/core/cpu/cpu';
import { CpuidExtEdx, P6_MODEL } from '../../../src/core/cpu/model';
import { Cr0, Cr4, Efer, Seg, Vector } from '../../../src/core/cpu/regs';
import { writeCr0, writeCr4, writeMsr } from '../../../src/core/cpu/ops/system';
import { read32 } from '../../../src/core/cpu/long/mem64';
import { getGpr64, getRip } from '../../../src/core/cpu/long/long-mode';
import { PhysicalMemory } from '../../../src/core/platform/memory';
import { IoBus } from '../../../src/core/platform/io-bus';
import { cpuModelForName } from '../../../src/core/vmx/cpu-model';
import { CODE, assembleLong, longModeCpu, runLongOnVmxlab, runQemu64 } from './support';

function has(cmd: string): boolean {
  const r = spawnSync(cmd, ['--version'], { stdio: 'ignore', timeout: 10_000 });
  return r.error === undefined && r.status === 0;
}
const haveQemu = has('qemu-system-x86_64');
const noQemu = 'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86): QEMU comparison skipped';

function firstDiff(a: string, b: string): string | null {
  if (a === b) return null;
  const x = a.split('\n'), y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i]) return `line ${i + 1}\n  QEMU:   ${x[i] ?? '<end>'}\n  vmxlab: ${y[i] ?? '<end>'}`;
  }
  return null;
}

/** Runs `f` and returns the fault it raised as [vector, error code], or null. */
function fault(f: () => void): [number, number] | null {
  try { f(); return null; } catch (e) {
    if (e !== FAULT) throw e;
    return [FAULT.vector, FAULT.errorCode];
  }
}

describe('long64 guest against QEMU', () => {
  // vmxlab's generation and the QEMU CPU model with the same long-mode facts (1 GB pages or not).
  for (const [gen, qcpu, oneG] of [['skylake', 'Westmere,+pdpe1gb', true], ['westmere', 'Westmere', false]] as const) {
    it(`${gen}: gives QEMU's transcript (-cpu ${qcpu})`, async (ctx) => {
      if (!haveQemu) ctx.skip(noQemu);
      const img = assembleLong('long64.asm');
      const q = await runQemu64(img, qcpu);
      expect(q.timedOut, `QEMU timed out:\n${q.output}`).toBe(false);
      expect(q.output, `QEMU did not finish (exit ${q.status}): ${q.stderr}`).toContain('LONG DONE\n');
      const v = runLongOnVmxlab(img, gen);
      expect(v.stopReason, v.output).toBe('exit-port');
      const d = firstDiff(q.output, v.output);
      expect(d, `vmxlab differs from QEMU at ${d}\nvmxlab transcript:\n${v.output}`).toBeNull();
      // The transcript covers what it should (a guest that skipped checks would still match).
      expect(v.output).toContain(' efer=00000d01');
      expect(v.output).toContain(oneG ? ' 1g=325342414c584d56' : ' 1g=absent');
      expect(v.output).toMatch(/EXC 0e err=00000011 rip=00000000003fc000 .* cr2=00000000003fc000/); // NX fetch
      expect(v.output).toMatch(/cr2=ffff800000200000/);                                               // #PF above 4 GB
      expect(v.output).toMatch(/EXC 0d err=00000000 rip=\S+ cs=00000033 .* ss=0000002b al=00000000\n {2}handler ss=0/);
      expect(v.output).toContain(' compat cs=00000018 dec=00000004 INT40 cs=00000018');
      expect(v.output).toContain(' rsp=000000000008c000 cs=00000008 ss=00000010 u.cs=0000002b u.ss=00000033'); // SYSEXIT/SYSENTER
    }, 120_000);
  }

  it('long64-strict: the SDM outcomes QEMU 7.2 departs from', () => {
    const img = assembleLong('long64.asm', ['-DSTRICT']);
    const v = runLongOnVmxlab(img, 'skylake');
    expect(v.stopReason, v.output).toBe('exit-port');
    const t10 = v.output.split('T10 ')[1].split('T11 ')[0].split('\n').filter((l) => l.includes('EXC'));
    expect(t10.map((l) => l.slice(0, 22))).toEqual([
      '  EXC 0d err=00000000 ', // non-canonical data reference: #GP(0)
      '  EXC 0c err=00000000 ', // through RBP (SS): #SS(0) (SDM Vol. 3A §6.15, Interrupt 12)
      '  EXC 0d err=00000000 ', // JMP to a non-canonical target: #GP(0) on the JMP
      '  EXC 0d err=00000000 ', // WRMSR IA32_FS_BASE non-canonical: #GP(0)
    ]);
    // the JMP's fault reports the JMP itself (RIP below 4 GB), not the target
    expect(t10[2]).toMatch(/rip=00000000000\S+ /);
    expect(t10[2]).not.toContain('rip=0000800000000000');
  }, 60_000);
});

describe('IA-32e mode transitions (SDM Vol. 3A §9.8.5, Vol. 2B MOV CR, Vol. 4 IA32_EFER)', () => {
  it('EFER.LME needs Intel 64 in CPUID', () => {
    const p6 = createCpu(new PhysicalMemory(1 << 20), new IoBus(), P6_MODEL);
    expect(writeMsr(p6, 0xc0000080, Efer.LME, 0)).toBe(false);
    const sky = createCpu(new PhysicalMemory(1 << 20), new IoBus(), cpuModelForName('skylake', { longMode: true }));
    expect(writeMsr(sky, 0xc0000080, Efer.LME | Efer.SCE, 0)).toBe(true);
    expect(sky.efer).toBe(Efer.LME | Efer.SCE);
  });

  it('CR0.PG with LME = 1 and CR4.PAE = 0 is #GP(0); with PAE it sets LMA (compatibility mode first)', () => {
    const c = createCpu(new PhysicalMemory(1 << 20), new IoBus(), cpuModelForName('haswell', { longMode: true }));
    c.cr0 |= Cr0.PE; c.modeChanged();
    writeMsr(c, 0xc0000080, Efer.LME, 0);
    expect(fault(() => writeCr0(c, c.cr0 | Cr0.PG))).toEqual([Vector.GP, 0]);
    expect(c.efer & Efer.LMA).toBe(0);
    writeCr4(c, Cr4.PAE);
    writeCr0(c, c.cr0 | Cr0.PG);
    expect(c.efer & Efer.LMA).toBe(Efer.LMA);
    expect(c.mode64).toBe(false); // CS.L = 0: compatibility mode
  });

  it('in 64-bit mode: clearing CR0.PG, CR4.PAE or EFER.LME is refused; from compatibility mode PG can go', () => {
    const { c } = longModeCpu();
    expect(c.mode64).toBe(true);
    expect(fault(() => writeCr4(c, 0))).toEqual([Vector.GP, 0]);
    expect(writeMsr(c, 0xc0000080, Efer.NXE | Efer.SCE, 0)).toBe(false);
    expect(fault(() => writeCr0(c, c.cr0 & ~Cr0.PG))).toEqual([Vector.GP, 0]);
    // compatibility mode (CS.L = 0, a 32-bit code segment)
    c.segAttr[Seg.CS] = 0xc09b; c.updateSegLimits(Seg.CS);
    expect(c.mode64).toBe(false);
    writeCr0(c, c.cr0 & ~Cr0.PG);
    expect(c.efer & Efer.LMA).toBe(0);
  });

  it('CPUID.80000001H:EDX: LM and SYSCALL on every generation (Prescott: Celeron D 336), 1 GB pages from Haswell', () => {
    const bits = (g: string): [boolean, boolean, boolean] => {
      const e = cpuModelForName(g, { longMode: true }).extEdx;
      return [(e & CpuidExtEdx.LM) !== 0, (e & CpuidExtEdx.SYSCALL) !== 0, (e & CpuidExtEdx.PAGE1GB) !== 0];
    };
    for (const g of ['prescott', 'merom', 'penryn', 'nehalem', 'westmere', 'sandy-bridge', 'ivy-bridge']) expect(bits(g), g).toEqual([true, true, false]);
    for (const g of ['haswell', 'broadwell', 'skylake', 'ice-lake']) expect(bits(g), g).toEqual([true, true, true]);
    expect((P6_MODEL.extEdx & CpuidExtEdx.LM) !== 0).toBe(false);
    // On by default; `longMode: false` hides them (vmxlab run --no-long-mode, cpu-model.ts).
    expect(cpuModelForName('skylake').extEdx & (CpuidExtEdx.LM | CpuidExtEdx.SYSCALL | CpuidExtEdx.PAGE1GB)).toBe(CpuidExtEdx.LM | CpuidExtEdx.SYSCALL | CpuidExtEdx.PAGE1GB);
    expect(cpuModelForName('skylake', { longMode: false }).extEdx & (CpuidExtEdx.LM | CpuidExtEdx.SYSCALL | CpuidExtEdx.PAGE1GB)).toBe(0);
  });

  it('a 1 GB page is a reserved-bit #PF without CPUID 1 GB pages (westmere)', () => {
    const { c, m } = longModeCpu('westmere');
    m.write32(0x11000 + 2 * 8, 0x87); // PDPTE[2]: PS = 1 -> linear 0x80000000
    c.tlb.flushAll();
    expect(fault(() => read32(c, 0x80000000))).toEqual([Vector.PF, 9]); // P | RSVD
    const h = longModeCpu('haswell');
    h.m.write32(0x11000 + 2 * 8, 0x87);
    h.m.write32(0x1234, 0x600dcafe);
    h.c.tlb.flushAll();
    expect(read32(h.c, 0x80001234) >>> 0).toBe(0x600dcafe);
  });
});

describe('4-level paging entries (SDM Vol. 3A §4.5.4, Tables 4-15 to 4-20)', () => {
  it('bits 62:52 are ignored; address bits 51:36 and XD without EFER.NXE are reserved (#PF P|RSVD)', () => {
    const { c, m } = longModeCpu();
    const pde = 0x12000 + 4 * 8; // PDE[4]: linear 0x800000 (2 MB page -> 0x800000)
    m.write32(0x800000, 0x5eed);
    m.write32(pde + 4, 0x7ff00000); // bits 62:52 set
    c.tlb.flushAll();
    expect(read32(c, 0x800000)).toBe(0x5eed);
    m.write32(pde + 4, 0x00080000); // bit 51
    c.tlb.flushAll();
    expect(fault(() => read32(c, 0x800000))).toEqual([Vector.PF, 9]);
    m.write32(pde + 4, 0x80000000 | 0); // XD
    c.tlb.flushAll();
    expect(read32(c, 0x800000)).toBe(0x5eed); // NXE = 1 (longModeCpu)
    writeMsr(c, 0xc0000080, Efer.LME | Efer.SCE | Efer.LMA, 0);
    c.tlb.flushAll();
    expect(fault(() => read32(c, 0x800000))).toEqual([Vector.PF, 9]);
  });
});

describe('TLB above 4 GB', () => {
  it('pages with equal low address bits above and below 4 GB do not alias; CR2 keeps bits 63:32', () => {
    const { c, m } = longModeCpu();
    m.write32(0x11000 + 4 * 8, 0x14000 | 7);  // PDPTE[4] -> linear 0x1_00000000
    m.write32(0x14000, 0x15000 | 7);
    m.write32(0x15000 + 8, 0x500000 | 7);     // PTE[1]: 0x1_00001000 -> 0x500000
    m.write32(0x1000, 0x11111111);
    m.write32(0x500000, 0x22222222);
    c.tlb.flushAll();
    for (let k = 0; k < 2; k++) { // twice: the second round hits in the TLB
      expect(read32(c, 0x1000) >>> 0).toBe(0x11111111);
      expect(read32(c, 0x100001000) >>> 0).toBe(0x22222222);
    }
    expect(c.tlb.entry[1] & ~0xfff).toBe(0x1000); // the 32-bit array still maps the low page
    expect(c.tlb.hiTag[1]).toBe(1);
    expect(fault(() => read32(c, 0x100002000))).toEqual([Vector.PF, 0]);
    expect([c.cr2hi, c.cr2 >>> 0]).toEqual([1, 0x2000]);
    c.tlb.flushAll();
    expect(c.tlb.hiTag[1]).toBe(0);
  });
});

describe('64-bit decoding', () => {
  // Encodings with REX, RIP-relative and SIB forms, legacy prefixes before REX; each must take
  // the length ndisasm -b 64 gives it (none of them branches).
  const ENCODINGS = [
    '4801d8', '4c030424', '4180c705', '4088f7', '488b0510000000', '488d0df0ffffff', '48b88877665544332211',
    '4863c1', '4898', '4899', '4a8b04e500000300', '438b442500', '6641c7063412', '48c7c0ffffffff',
    '4869c000010000', '48c1e004', '480fafc1', '480fb6c1', '480fbfc1', '480fa3c8', '480fbae005', '480fc8',
    'f348ab', '4887d9', '4991', '48f7d8', '66488bc1', '67488b03', '64488b042500000000', '0f1f440000',
    '480f44c1', '41ffc0', '49ffc8', '4d85c0', '48c7042588770000ffffffff',
  ];

  it('instruction lengths equal ndisasm -b 64', (ctx) => {
    if (!has('ndisasm') && spawnSync('ndisasm', ['-v']).status !== 0) ctx.skip('ndisasm is not installed (nasm package)');
    const tmp = mkdtempSync(join(tmpdir(), 'vmxlab-nd-'));
    let lens: number[];
    try {
      const f = join(tmp, 'code.bin');
      writeFileSync(f, Buffer.from(ENCODINGS.join(''), 'hex'));
      const r = spawnSync('ndisasm', ['-b', '64', f], { encoding: 'utf8' });
      // "OFFSET  HEX  TEXT" lines (long encodings continue on "-HEX" lines): lengths from offsets
      const offs = r.stdout.split('\n').filter((l) => /^[0-9A-F]{8}\s/.test(l)).map((l) => parseInt(l.slice(0, 8), 16));
      const total = ENCODINGS.join('').length / 2;
      lens = offs.map((o, i) => (i + 1 < offs.length ? offs[i + 1] : total) - o);
    } finally { rmSync(tmp, { recursive: true, force: true }); }
    expect(lens.length).toBe(ENCODINGS.length);
    for (let i = 0; i < ENCODINGS.length; i++) {
      const { c, m } = longModeCpu();
      const bytes = Buffer.from(ENCODINGS[i], 'hex');
      for (let k = 0; k < bytes.length; k++) m.write8(CODE + k, bytes[k]);
      for (let r = 0; r < 16; r++) { c.r32[r] = 0x30000; c.r32hi[r] = 0; }
      c.r32[1] = 0; c.r32[12] = 0x10; c.r32[4] = 0x80000;
      c.step();
      expect(`${ENCODINGS[i]}: ${c.eip - CODE}`).toBe(`${ENCODINGS[i]}: ${lens[i]}`);
    }
  });

  it('RIP-relative operands count from the next instruction; 32-bit results zero-extend', () => {
    const { c, m } = longModeCpu();
    const code = Buffer.from('488b0540000000' + '488d0df0ffffff' + '89c0' + '48b88877665544332211', 'hex');
    code.forEach((b, k) => m.write8(CODE + k, b));
    m.write32(CODE + 7 + 0x40, 0x89abcdef); m.write32(CODE + 7 + 0x44, 0x01234567);
    c.step();
    expect(getGpr64(c, 0)).toBe(0x0123456789abcdefn);
    c.step();
    expect(getGpr64(c, 1)).toBe(BigInt(CODE + 14 - 0x10));
    c.step(); // mov eax, eax
    expect(getGpr64(c, 0)).toBe(0x89abcdefn);
    c.step();
    expect(getGpr64(c, 0)).toBe(0x1122334455667788n);
    expect(getRip(c)).toBe(BigInt(CODE + code.length));
  });

  it('a CPU without long mode keeps 32-bit decoding (REX bytes are INC/DEC)', () => {
    const m = new PhysicalMemory(1 << 20);
    const c: Cpu = createCpu(m, new IoBus(), P6_MODEL, { decodeCache: false });
    c.cr0 |= Cr0.PE; c.modeChanged();
    c.segBase[Seg.CS] = 0; c.segAttr[Seg.CS] = 0xc09b | 0x2000; c.updateSegLimits(Seg.CS); // L set, but no LMA
    c.eip = 0x1000; m.write8(0x1000, 0x48); // DEC EAX
    c.r32[0] = 5;
    c.step();
    expect(c.mode64).toBe(false);
    expect(c.r32[0]).toBe(4);
  });
});

describe('64-bit interrupt delivery (SDM Vol. 3A §6.14) and the 64-bit state API', () => {
  /** An IDT at 0x40000 with a 64-bit interrupt gate for `vector` -> 0x8:`target`, IST `ist`, DPL 0;
   *  a GDT at 0x41000 (08: 64-bit code DPL 0, 10: data DPL 0, 18: 64-bit code DPL 3, 20: data DPL 3); a TSS at
   *  0x42000 with RSP0 = 0x70008 and IST1 = 0x60000. */
  function tables(c: Cpu, m: PhysicalMemory, vector: number, target: number, ist: number): void {
    const g = 0x41000;
    m.write32(g + 8, 0x0000ffff); m.write32(g + 12, 0x00af9a00);
    m.write32(g + 0x10, 0x0000ffff); m.write32(g + 0x14, 0x00cf9200);
    m.write32(g + 0x18, 0x0000ffff); m.write32(g + 0x1c, 0x00affa00);
    m.write32(g + 0x20, 0x0000ffff); m.write32(g + 0x24, 0x00cff200);
    c.gdtrBase = g; c.gdtrLimit = 0x2f;
    const e = 0x40000 + vector * 16;
    m.write32(e, (8 << 16) | (target & 0xffff));
    m.write32(e + 4, (target & 0xffff0000) | 0x8e00 | ist);
    m.write32(e + 8, 0); m.write32(e + 12, 0);
    c.idtrBase = 0x40000; c.idtrLimit = 0xfff;
    m.write32(0x42000 + 4, 0x70008); m.write32(0x42000 + 0x24, 0x60000);
    c.segBase[Seg.TR] = 0x42000; c.segLimit[Seg.TR] = 0x67; c.segAttr[Seg.TR] = 0x8b;
  }
  const q = (m: PhysicalMemory, a: number): bigint => (BigInt(m.read32(a + 4) >>> 0) << 32n) | BigInt(m.read32(a) >>> 0);

  it('an external interrupt from ring 3: RSP0 aligned to 16, SS:RSP RFLAGS CS RIP pushed, null SS of the new CPL', async () => {
    const { c, m } = longModeCpu();
    const { InterruptKind } = await import('../../../src/core/cpu/cpu');
    tables(c, m, 0x30, 0x25000, 0);
    // ring 3, 64-bit code 1B, stack 23:0x5fff3 (unaligned), RIP 0x1_2345 (no instruction needed)
    c.segSel[Seg.CS] = 0x1b; c.segAttr[Seg.CS] = 0xa0fb; c.updateSegLimits(Seg.CS); c.setCpl(3);
    c.segSel[Seg.SS] = 0x23; c.segAttr[Seg.SS] = 0xc0f3; c.updateSegLimits(Seg.SS);
    c.r32[4] = 0x5fff3; c.r32hi[4] = 0;
    c.eip = 0x12345;
    c.flags |= 0x200; // IF
    c.interruptNow(0x30, InterruptKind.External);
    expect([c.cpl, c.segSel[Seg.CS], c.segSel[Seg.SS], c.mode64]).toEqual([0, 8, 0, true]);
    expect(getRip(c)).toBe(0x25000n);
    const rsp = Number(getGpr64(c, 4));
    expect(rsp).toBe(0x70000 - 40); // RSP0 0x70008 aligned down to 0x70000, five qwords
    expect([q(m, rsp), q(m, rsp + 8), q(m, rsp + 16) & 0x200n, q(m, rsp + 24), q(m, rsp + 32)])
      .toEqual([0x12345n, 0x1bn, 0x200n, 0x5fff3n, 0x23n]);
    expect(c.flags & 0x200).toBe(0); // interrupt gate: IF cleared
  });

  it('a fault through IST1 pushes the error code; IRETQ returns to the same level', async () => {
    const { c, m } = longModeCpu();
    tables(c, m, Vector.GP, CODE + 0x100, 1);
    m.write8(CODE + 0x100, 0x48); m.write8(CODE + 0x101, 0x83); m.write8(CODE + 0x102, 0xc4); m.write8(CODE + 0x103, 0x08); // add rsp, 8
    m.write8(CODE + 0x104, 0x48); m.write8(CODE + 0x105, 0xcf); // iretq
    // mov rax, [0x0000800000000000] (moffs64, non-canonical) at CODE
    const code = [0x48, 0xa1, 0, 0, 0, 0, 0, 0x80, 0, 0];
    code.forEach((b, k) => m.write8(CODE + k, b));
    c.run(1);
    expect(getRip(c)).toBe(BigInt(CODE + 0x100));
    const rsp = Number(getGpr64(c, 4));
    expect(rsp).toBe(0x60000 - 48);
    expect([q(m, rsp), q(m, rsp + 8), q(m, rsp + 16), q(m, rsp + 40)]).toEqual([0n, BigInt(CODE), 8n, 0x10n]);
    c.run(2); // add rsp, 8; iretq: back at the faulting MOV
    expect(getRip(c)).toBe(BigInt(CODE));
    expect(Number(getGpr64(c, 4))).toBe(0x80000);
  });

  it('the 64-bit state API: RIP, segment bases, EFER loads as VM entry/exit do', async () => {
    const { c } = longModeCpu();
    const api = await import('../../../src/core/cpu/long/long-mode');
    api.setRip(c, 0xffff800000001000n);
    expect(api.getRip(c)).toBe(0xffff800000001000n);
    expect(c.eip).toBe(-0x800000000000 + 0x1000);
    api.setSegBase64(c, Seg.FS, 0xffff888812345678n);
    expect([c.segBase[Seg.FS] >>> 0, c.segBaseHi[Seg.FS] >>> 0]).toEqual([0x12345678, 0xffff8888]);
    expect(api.getSegBase64(c, Seg.FS)).toBe(0xffff888812345678n);
    api.setGpr64(c, 13, 0x8000000000000001n);
    expect(api.getGpr64(c, 13)).toBe(0x8000000000000001n);
    api.loadEfer(c, 0);
    expect(c.mode64).toBe(false);
    api.loadEfer(c, Efer.LME | Efer.LMA);
    expect(c.mode64).toBe(true);
  });
});

describe('random 64-bit code', () => {
  it('random streams in 64-bit mode end in exceptions or shutdown, never a host exception', async () => {
    const { StopReason } = await import('../../../src/core/cpu/cpu');
    let faults = 0, steps = 0;
    for (let seed = 1; seed <= 150; seed++) {
      const { c, m } = longModeCpu();
      let x = (seed * 2654435761) | 0 || 1;
      const rnd = (): number => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return x >>> 0; };
      for (let i = CODE; i < CODE + 0x10000; i += 4) m.write32(i, rnd());
      // A 64-bit IDT whose gates all lead to a HLT, so faults are counted and execution goes on
      // elsewhere; registers random (addresses often non-canonical or beyond RAM).
      m.write32(0x41008, 0x0000ffff); m.write32(0x4100c, 0x00af9a00);
      c.gdtrBase = 0x41000; c.gdtrLimit = 0x17;
      for (let v = 0; v < 256; v++) {
        m.write32(0x40000 + v * 16, (8 << 16) | 0x3000); m.write32(0x40004 + v * 16, 0x8e00);
        m.write32(0x40008 + v * 16, 0); m.write32(0x4000c + v * 16, 0);
      }
      m.write8(0x3000, 0xf4);
      c.idtrBase = 0x40000; c.idtrLimit = 0xfff;
      for (let r = 0; r < 16; r++) { c.r32[r] = rnd(); c.r32hi[r] = (rnd() & 1) !== 0 ? 0 : rnd(); }
      const deliver = c.deliver;
      c.deliver = (cc, v, k, e, h) => { faults++; deliver(cc, v, k, e, h); };
      // 40 entry points per stream: after each fault (handler HLT) start somewhere else.
      for (let k = 0; k < 40 && !c.shutdown; k++) {
        c.r32[4] = 0x80000; c.r32hi[4] = 0;
        c.eip = CODE + (rnd() & 0xffff);
        c.halted = false;
        let r = StopReason.Budget as number;
        expect(() => { r = c.run(2_000); }).not.toThrow();
        if (r === StopReason.Shutdown) expect(c.shutdownReason).toMatch(/fault|#/);
      }
      steps += c.icount;
    }
    expect(faults).toBeGreaterThan(3000);
    expect(steps).toBeGreaterThan(20_000);
  }, 60_000);
});
