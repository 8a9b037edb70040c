// Several CPUs on the PC: INIT/SIPI bring-up from wait-for-SIPI, per-CPU local APIC MMIO,
// CPUID's APIC ID and APIC bit, IA32_APIC_BASE, an IPI waking a halted CPU, and the virtual
// time of the round-robin schedule (the sum of all CPUs' instructions, monotonic from one CPU
// to the next as the TSC shows, deterministic).
import { describe, expect, it } from 'vitest';
import { PcMachine } from '../../src/core/platform/machine';
import { Seg } from '../../src/core/cpu/regs';
import { LapicReg } from '../../src/core/platform/devices/lapic';
import { SMP_QUANTUM } from '../../src/core/platform/smp';
import { asm } from '../firmware/support';

/** Flat 32-bit protected mode from real mode (CS:IP = 0800:0000 = 8000h), then `body`. */
function pmodeCode(body: string): Uint8Array {
  return asm(`bits 16
org 0x8000
  cli
  xor ax, ax
  mov ds, ax
  lgdt [gdtr]
  mov eax, cr0
  or al, 1
  mov cr0, eax
  jmp dword 0x08:pm
bits 32
pm:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov ss, ax
${body}
align 8
gdt: dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
gdtr: dw 23
  dd gdt
`);
}

/** INIT then Startup (vector 08h: 0800:0000) to APIC `id`, as the BSP's driver would send them. */
function initSipi(m: PcMachine, id: number): void {
  const a = m.lapics[0];
  a.writeRegister(LapicReg.IcrHigh, id << 24);
  a.writeRegister(LapicReg.IcrLow, 0xc500); // INIT, level assert
  a.writeRegister(LapicReg.IcrLow, 0x8500); // INIT level de-assert
  a.writeRegister(LapicReg.IcrLow, 0x0608); // Startup, vector 08h
}

function startBsp(m: PcMachine, code: Uint8Array): void {
  m.mem.load(0x8000, code);
  const c = m.cpu;
  c.setSegReal(Seg.CS, 0x0800, 0xffff, 0x9b);
  c.eip = 0;
}

describe('SMP on the PC', () => {
  it('parks the APs in wait-for-SIPI; INIT/SIPI start them; each CPU reaches its own local APIC', () => {
    const m = new PcMachine({ memoryBytes: 4 << 20, firmware: 'none', cpus: 3 });
    expect(m.cpus.map((c) => c.waitForSipi)).toEqual([false, true, true]);
    // Every CPU: APIC ID from the local APIC page, CPUID.1 EBX/EDX and IA32_APIC_BASE into a
    // slot indexed by that ID, then counts itself in and halts for good.
    startBsp(m, pmodeCode(`
  mov eax, [0xfee00020]
  shr eax, 24
  imul edi, eax, 16
  add edi, 0x1000
  mov [edi], eax
  mov eax, 1
  cpuid
  mov [edi + 4], ebx
  mov [edi + 8], edx
  mov ecx, 0x1b
  rdmsr
  mov [edi + 12], eax
  lock inc dword [0x2000]
  cli
  hlt`));
    expect(m.run(1_000_000)).toBe('halted');
    expect(m.mem.read32(0x2000)).toBe(1); // only the BSP ran
    initSipi(m, 1);
    expect(m.cpus[1].waitForSipi).toBe(false);
    expect(m.cpus[2].waitForSipi).toBe(true);
    initSipi(m, 2);
    expect(m.run(1_000_000)).toBe('halted');
    expect(m.mem.read32(0x2000)).toBe(3);
    for (let id = 0; id < 3; id++) {
      const slot = 0x1000 + id * 16;
      expect(m.mem.read32(slot)).toBe(id); // the APIC page answered with this CPU's APIC
      expect(m.mem.read32(slot + 4) >>> 24).toBe(id); // CPUID.1:EBX[31:24] initial APIC ID
      expect(m.mem.read32(slot + 8) & (1 << 9)).toBe(1 << 9); // CPUID.1:EDX.APIC
      expect(m.mem.read32(slot + 12) >>> 0).toBe(id === 0 ? 0xfee00900 : 0xfee00800); // BSP bit on CPU 0 only
    }
  });

  it('clears CPUID.1:EDX.APIC when IA32_APIC_BASE disables the local APIC', () => {
    const m = new PcMachine({ memoryBytes: 4 << 20, firmware: 'none', cpus: 2 });
    m.mem.load(0x8000, pmodeCode(`
  mov ecx, 0x1b
  rdmsr
  and eax, ~0x800
  wrmsr
  mov eax, 1
  cpuid
  mov [0x1000], edx
  mov eax, [0xfee00020]
  mov [0x1004], eax
  cli
  hlt`));
    m.mem.load(0x7000, asm('bits 16\ncli\nhlt')); // the BSP idles for good
    m.cpu.setSegReal(Seg.CS, 0x0700, 0xffff, 0x9b);
    m.cpu.eip = 0;
    initSipi(m, 1);
    expect(m.run(1_000_000)).toBe('halted');
    expect(m.mem.read32(0x1000) & (1 << 9)).toBe(0);
    expect(m.mem.read32(0x1004)).toBe(-1); // nothing answers at the APIC page any more
    expect(m.lapics[1].hwEnabled).toBe(false);
    expect(m.lapics[0].hwEnabled).toBe(true);
  });

  it('wakes a halted AP with a fixed IPI; a busy BSP alone makes the time (no idle skipped)', () => {
    const m = new PcMachine({ memoryBytes: 4 << 20, firmware: 'none', cpus: 2 });
    // BSP: counts forever. AP: real mode, IVT[40h] -> a handler that counts, then sti/hlt.
    startBsp(m, asm('bits 16\norg 0x8000\nxor ax, ax\nmov ds, ax\nl: inc dword [0x3000]\njmp l'));
    m.mem.load(0x9000, asm(`bits 16
org 0x9000
  xor ax, ax
  mov ds, ax
  mov word [0x40 * 4], handler
  mov word [0x40 * 4 + 2], 0
  mov dword [0x3100], 1
idle:
  sti
  hlt
  jmp idle
handler:
  inc dword [0x3104]
  iret`));
    const a = m.lapics[0];
    a.writeRegister(LapicReg.IcrHigh, 1 << 24);
    a.writeRegister(LapicReg.IcrLow, 0xc500);
    a.writeRegister(LapicReg.IcrLow, 0x0609); // Startup at 0900:0000
    m.lapics[1].writeRegister(LapicReg.Svr, 0x1ff); // what the AP's OS would do
    expect(m.run(200_000)).toBe('budget');
    expect(m.mem.read32(0x3100)).toBe(1);
    expect(m.cpus[1].halted).toBe(true);
    const apBefore = m.cpus[1].icount;
    a.writeRegister(LapicReg.IcrLow, 0x0040); // fixed IPI, vector 40h, to APIC 1
    expect(m.run(200_000)).toBe('budget');
    expect(m.mem.read32(0x3104)).toBe(1);
    expect(m.cpus[1].halted).toBe(true);
    expect(m.cpus[1].icount - apBefore).toBeLessThan(10); // handler, iret, jmp, sti, hlt
    expect(m.clock.ticks()).toBe(m.instructions()); // nothing idle: time is the instructions of both
    expect(m.clock.ticks()).toBe(400_000);
  });

  for (const pause of [true, false]) {
    it(`hands a lock released and retaken in a tight loop to the waiting CPU (${pause ? 'PAUSE yields the turn' : 'no PAUSE: slice lengths vary'})`, () => {
      // SeaBIOS's CPU count in miniature: the BSP holds a lock and releases it for a moment in
      // every round of an 8-instruction loop (a divisor of the quantum) until the AP, spinning
      // on the lock, has taken it once. Every phase of the loop against the slice boundaries.
      for (let phase = 0; phase < 8; phase++) {
        const m = new PcMachine({ memoryBytes: 4 << 20, firmware: 'none', cpus: 2 });
        const relax = pause ? 'pause' : 'nop';
        startBsp(m, asm(`bits 16
  xor ax, ax
  mov ds, ax
  mov word [0x500], 1
  times ${phase} nop
round:
  cmp word [0x502], 1
  je done
  mov word [0x500], 0
  ${relax}
  nop
spin:
  lock bts word [0x500], 0
  jc spin
  jmp round
done:
  cli
  hlt`));
        m.mem.load(0x9000, asm(`bits 16
  xor ax, ax
  mov ds, ax
spin:
  ${relax}
  lock bts word [0x500], 0
  jc spin
  mov word [0x502], 1
  mov word [0x500], 0
  cli
  hlt`));
        const a = m.lapics[0];
        a.writeRegister(LapicReg.IcrHigh, 1 << 24);
        a.writeRegister(LapicReg.IcrLow, 0xc500);
        a.writeRegister(LapicReg.IcrLow, 0x0609);
        expect(m.run(2_000_000)).toBe('halted');
        expect(m.mem.read16(0x502)).toBe(1);
        if (pause) expect(m.instructions()).toBeLessThan(1000); // handed over at the first PAUSE
      }
    });
  }

  it('keeps the TSC monotonic from one CPU to the next, interleaves fairly and deterministically', () => {
    const run = (): { iters: number[]; warps: number; icounts: number[]; ticks: number } => {
      const m = new PcMachine({ memoryBytes: 4 << 20, firmware: 'none', cpus: 2 });
      // Both CPUs: under a spinlock, read the TSC, compare with the last value any CPU saw,
      // count a warp if it went backwards, store it (Linux's check_tsc_warp in miniature).
      const code = pmodeCode(`
  mov eax, [0xfee00020]
  shr eax, 24
  lea esi, [0x4010 + eax * 4]
again:
  lock bts dword [0x4000], 0
  jc again
  rdtsc
  cmp edx, [0x4024]
  jb warp
  ja ok
  cmp eax, [0x4020]
  jae ok
warp:
  inc dword [0x4030]
ok:
  mov [0x4020], eax
  mov [0x4024], edx
  mov dword [0x4000], 0
  inc dword [esi]
  jmp again`);
      startBsp(m, code);
      initSipi(m, 1);
      m.run(2_000_000);
      return { iters: [m.mem.read32(0x4010), m.mem.read32(0x4014)], warps: m.mem.read32(0x4030), icounts: m.cpus.map((c) => c.icount), ticks: m.clock.ticks() };
    };
    const r = run();
    expect(r.warps).toBe(0);
    expect(r.iters[0]).toBeGreaterThan(1000);
    expect(r.iters[1]).toBeGreaterThan(1000);
    expect(Math.abs(r.icounts[0] - r.icounts[1])).toBeLessThanOrEqual(2 * SMP_QUANTUM);
    expect(r.ticks).toBe(r.icounts[0] + r.icounts[1]);
    expect(run()).toEqual(r); // the same interleaving every time
  });
});
