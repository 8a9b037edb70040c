// Real mode without unrestricted guest as a virtual-8086 task (issue 6, src/core/vmm/v86.ts): on
// merom the VMM enters the guest's real-mode code in VMX non-root operation with RFLAGS.VM = 1,
// IOPL = 3 and CR4.VME; INT n, CLI/STI, PUSHF/POPF, IRET and port I/O run in the task (I/O as I/O
// exits), privileged instructions #GP(0) there and the VMM runs them in real mode, interrupts are
// delivered by the VMM through the guest's IVT, and real mode that V86 mode cannot express (big
// real mode) is emulated. Exact counts from guests written to produce them, each against the
// bare machine (same transcript, same retired instructions).
import { describe, expect, it } from 'vitest';
import { Flag } from '../../src/core/cpu/regs';
import { PhysicalMemory } from '../../src/core/platform/memory';
import { PfErr, Pte, ShadowMmu } from '../../src/core/vmm/shadow/index';
import { V86_TSS_LIMIT, V86_TSS_PAGES, writeV86Tss } from '../../src/core/vmm/v86';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { VmcsField as V } from '../../src/core/vmx/fields';
import { bootSector } from '../firmware/support';
import { bareRun, HostedPc } from './support';

const GP_EXIT = ExitReason.ExceptionOrNmi;

/** N rounds of INT 16h AH=01h (keystroke status), IN from port 61h and INT 10h teletype, then
 *  'D' on port 0xE9 and CLI; HLT. The round count is the word at `rounds`. */
function biosLoop(n: number): Uint8Array {
  return bootSector(`
  cli
  xor ax, ax
  mov ds, ax
  mov ss, ax
  mov sp, 0x7c00
  sti
  mov cx, [rounds]
l:
  mov ah, 0x01
  int 0x16
  in al, 0x61
  mov ax, 0x0e2e
  mov bx, 7
  int 0x10
  loop l
  mov al, 'D'
  out 0xe9, al
  cli
  hlt
rounds: dw ${n}`);
}

describe('merom: real mode runs as a virtual-8086 task', () => {
  const runs = new Map<number, HostedPc>();
  const hosted = (n: number): HostedPc => {
    let pc = runs.get(n);
    if (pc === undefined) {
      pc = new HostedPc(biosLoop(n), 'merom');
      expect(pc.run(1)).toBe('halted');
      expect(pc.vm.fault, pc.vm.fault?.summary).toBeNull();
      runs.set(n, pc);
    }
    return pc;
  };

  for (const n of [10, 50]) {
    it(`${n} rounds of INT 16h, IN 61h, INT 10h: the bare transcript and retired instructions`, () => {
      const pc = hosted(n), bare = bareRun(biosLoop(n), 'merom');
      expect(bare.stop).toBe('halted');
      expect(pc.serial).toBe(bare.serial);
      expect(pc.serial).toBe('D');
      expect(pc.m.cpu.icount).toBe(bare.icounts[0]);
    }, 60_000);
  }

  it('exact exits for N rounds: 3N + 5 I/O, 6 exceptions (the HLT\'s #GP, 5 shadow fills), 3N + 12 entries into the task', () => {
    for (const n of [10, 50]) {
      const pc = hosted(n), img = biosLoop(n);
      // Per round: the INT 16h stub's OUT to the BIOS service port, IN 61h, the INT 10h stub's
      // OUT; then the POST trap, the INT 19h stub's three calls, and OUT 0xE9.
      expect(pc.count(ExitReason.IoInstruction)).toBe(3 * n + 5);
      const hlt = 0x7c00 + img.indexOf(0xf4);
      expect(pc.count(GP_EXIT, hlt)).toBe(1);
      expect(pc.count(GP_EXIT)).toBe(1 + 5);
      expect(pc.vm.shadowStats!.faultsFixed).toBe(5); // ROM, IVT/BDA, boot sector pages, the VMM's TSS ...
      // The IRQ0 acknowledged on exit at boot; never injected (the guest's IF = 0 at its HLT).
      expect(pc.count(ExitReason.ExternalInterrupt)).toBe(1);
      // Every exit but the last (the HLT the guest ends with) re-enters the task, plus the first entry.
      expect(pc.vm.emulation.v86Entries).toBe(3 * n + 12);
    }
  }, 60_000);

  it('the VMM emulates no instruction of the loop: emulated counts do not grow with N, I/O exits grow by 3 per round', () => {
    const a = hosted(10), b = hosted(50);
    for (const pc of [a, b]) {
      // Nothing in emulation batches: vmxlab's BIOS starts at F000:xxxx with base F0000H, a
      // state V86 mode holds. One instruction run by the VMM: the final HLT (#GP(0) at CPL 3).
      expect(pc.vm.emulation.instructions).toBe(0);
      expect(pc.vm.emulation.batches).toBe(0);
      expect(pc.vm.emulation.stepped).toBe(1);
    }
    // Per round: the INT 16h stub's OUT to the BIOS service port, IN 61h, the INT 10h stub's OUT.
    expect(b.count(ExitReason.IoInstruction) - a.count(ExitReason.IoInstruction)).toBe(3 * 40);
    // The exceptions do not grow either: the HLT's #GP and the shadow fills of the first touches.
    expect(b.count(GP_EXIT)).toBe(a.count(GP_EXIT));
    // Entries into the task: one per exit handled (no exit leaves the task for emulation).
    expect(b.vm.emulation.v86Entries - a.vm.emulation.v86Entries).toBe(3 * 40);
  }, 60_000);

  it('the exits are those of unrestricted guest (westmere), with #GP for HLT and the shadow fills', () => {
    const pc = hosted(10);
    const ug = new HostedPc(biosLoop(10), 'westmere');
    expect(ug.run(1)).toBe('halted');
    expect(ug.serial).toBe(pc.serial);
    expect(pc.count(ExitReason.IoInstruction)).toBe(ug.count(ExitReason.IoInstruction));
    expect(pc.count(ExitReason.Hlt)).toBe(0);
    expect(ug.count(ExitReason.Hlt)).toBe(1);
    expect(pc.count(GP_EXIT)).toBe(1 + pc.vm.shadowStats!.faultsFixed);
  }, 60_000);

  it('after the exit the VMCS holds the guest\'s real-mode state again (RFLAGS without VM and IOPL 3, its segments, TR)', () => {
    const pc = hosted(10), v = pc.vm.root;
    const rflags = v.vmreadValue(V.GuestRflags);
    expect(rflags & (Flag.VM | Flag.IOPL)).toBe(0);
    expect(v.vmreadValue(V.GuestCsAccessRights)).toBe(0x9b);
    expect(v.vmreadValue(V.GuestSsAccessRights)).toBe(0x93);
    expect(v.vmreadValue(V.GuestTrBase)).toBe(0);
    // KVM's exception bitmap with #PF (shadow paging): #DB, #UD, #PF, #AC, #MC; all ones in the task.
    expect(v.vmreadValue(V.ExceptionBitmap) >>> 0).toBe(0x64042);
    expect(v.vmreadValue(V.GuestCr4) & 1).toBe(0); // CR4.VME is the task's
  }, 60_000);
});

// IRQ0 while the task spins in a loop: an external-interrupt exit, and the VMM delivers vector 8
// through the IVT. The handler stores the IP, CS and FLAGS it finds on its stack, makes the
// interrupted code return to 'out' and prints them in hex on port 0xE9.
const IRQ_FRAME = bootSector(`
  cli
  xor ax, ax
  mov ds, ax
  mov ss, ax
  mov sp, 0x7000
  mov word [8*4], irq0
  mov word [8*4+2], 0
  push word 0x0202              ; IF = 1, every other flag 0
  popf
spin:
  jmp spin
out:
  cli
  mov si, frame
  mov cx, 3
p:
  lodsw
  call hex4
  loop p
  hlt
hex4:
  mov dx, ax
  mov bx, 4
h:
  rol dx, 4
  mov al, dl
  and al, 15
  add al, '0'
  cmp al, '9'
  jbe d
  add al, 7
d:
  out 0xe9, al
  dec bx
  jnz h
  mov al, ' '
  out 0xe9, al
  ret
irq0:
  push bp
  mov bp, sp
  mov ax, [bp+2]
  mov [frame], ax
  mov ax, [bp+4]
  mov [frame+2], ax
  mov ax, [bp+6]
  mov [frame+4], ax
  mov word [bp+2], out
  mov al, 0x20
  out 0x20, al
  pop bp
  iret
frame: dw 0, 0, 0`);

describe('merom: an interrupt for the V86 task arrives through the guest\'s IVT', () => {
  it('the handler finds IP, CS and FLAGS of the interrupted loop as the 8086 pushes them (IOPL as the guest\'s, 0)', () => {
    const bare = bareRun(IRQ_FRAME, 'merom');
    const spin = 0x7c00 + IRQ_FRAME.indexOf(0xeb); // JMP spin (EB FE)
    expect(bare.serial).toBe(`${spin.toString(16).toUpperCase().padStart(4, '0')} 0000 0202 `);
    const pc = new HostedPc(IRQ_FRAME, 'merom');
    expect(pc.run(1)).toBe('halted');
    expect(pc.vm.fault, pc.vm.fault?.summary).toBeNull();
    expect(pc.serial).toBe(bare.serial);
    expect(pc.m.cpu.icount).toBe(bare.icounts[0]);
    // The PIT's IRQ0 came as an external-interrupt exit from the task's loop.
    expect(pc.count(ExitReason.ExternalInterrupt, spin)).toBe(1);
    expect(pc.vm.emulation.instructions).toBe(0);
  }, 60_000);
});

// Big real mode: LGDT and the PE switch from the task (#GP: run by the VMM), DS loaded with a
// 4 GB descriptor, back to real mode: V86 mode cannot hold DS's limit, so the VMM emulates the
// loop that adds 3 a hundred times at 2 MB; a second round trip loads DS with a 64 KB descriptor,
// and the real-mode load of DS that follows makes the state a V86 task's again.
const UNREAL = bootSector(`
  cli
  xor ax, ax
  mov ds, ax
  mov ss, ax
  mov sp, 0x7000
  lgdt [gdtr]
  mov eax, cr0
  or al, 1
  mov cr0, eax
  jmp 0x08:pm
pm:
  mov ax, 0x10
  mov ds, ax
  mov eax, cr0
  and al, 0xfe
  mov cr0, eax
  jmp 0:rm
rm:
  mov esi, 0x200000
  mov dword [esi], 0
  mov cx, 100
l1:
  add dword [esi], 3
  loop l1
  mov eax, [esi]
  out 0xe9, al
  shr eax, 8
  out 0xe9, al
  mov eax, cr0
  or al, 1
  mov cr0, eax
  jmp 0x08:pm2
pm2:
  mov ax, 0x18
  mov ds, ax
  mov eax, cr0
  and al, 0xfe
  mov cr0, eax
  jmp 0:rm2
rm2:
  xor ax, ax
  mov ds, ax
  mov al, 'V'
  out 0xe9, al
  hlt
align 8
gdt: dq 0
  dq 0x00009a000000ffff       ; 08: 16-bit code, base 0, 64 KB
  dq 0x00cf92000000ffff       ; 10: data, base 0, 4 GB
  dq 0x000092000000ffff       ; 18: data, base 0, 64 KB
gdtr: dw 31
  dd gdt`);

describe('merom: big real mode falls back to emulation, then the V86 task again', () => {
  it('the bare transcript and retired instructions; exactly the big-real-mode stretches emulated', () => {
    const bare = bareRun(UNREAL, 'merom');
    expect(bare.serial).toBe('\x2c\x01V'); // 300, then 'V'
    const pc = new HostedPc(UNREAL, 'merom');
    expect(pc.run(1)).toBe('halted');
    expect(pc.vm.fault, pc.vm.fault?.summary).toBeNull();
    expect(pc.serial).toBe(bare.serial);
    expect(pc.m.cpu.icount).toBe(bare.icounts[0]);
    // Run one at a time by the VMM after #GP in the task: LGDT, MOV EAX,CR0, MOV CR0,EAX (PE = 1),
    // and the final HLT.
    expect(pc.vm.emulation.stepped).toBe(4);
    // Batch 1, after the MOV CR0 that clears PE: JMP 0:rm, 3 MOVs, 100 x (ADD, LOOP), MOV, OUT,
    // SHR, OUT, MOV EAX,CR0, OR, MOV CR0,EAX (PE = 1: enterable) = 211. Batch 2: JMP 0:rm2
    // (DS still holds selector 18H with base 0), XOR, MOV DS (a V86 task again) = 3.
    expect(pc.vm.emulation).toMatchObject({ instructions: 211 + 3, batches: 2 });
    expect(pc.count(ExitReason.CrAccess)).toBe(2); // the two MOV CR0 that clear PE, in protected mode
    const v86Out = 0x7c00 + UNREAL.lastIndexOf(0xe6); // the last OUT 0xE9 ('V'), run in the task
    expect(pc.count(ExitReason.IoInstruction, v86Out)).toBe(1);
  }, 60_000);
});

// The guest's own exceptions in the task: INT3 (a software exception: it goes through the IDT
// in V86 mode, so it exits and the VMM delivers vector 3 through the IVT, after the INT3) and a
// divide error (a fault: the VMM runs the DIV again in real mode, whose #DE goes through the
// IVT). Each handler prints its letter and the IP it finds on its stack.
const EXCEPTIONS = bootSector(`
  cli
  xor ax, ax
  mov ds, ax
  mov ss, ax
  mov sp, 0x7000
  mov word [0*4], de
  mov word [0*4+2], 0
  mov word [3*4], bp3
  mov word [3*4+2], 0
  int3
  xor cx, cx
div0:
  div cx
  mov al, 'E'
  out 0xe9, al
  hlt
bp3:
  mov al, 'B'
  jmp show
de:
  mov al, 'Z'
  mov bp, sp
  add word [bp], 2              ; past DIV CX (F7 F1)
show:
  out 0xe9, al
  mov bp, sp
  mov ax, [bp]
  out 0xe9, al
  iret`);

describe('merom: the guest\'s exceptions in the V86 task go through its IVT', () => {
  it('INT3 is reflected by the VMM, DIV by zero is run again in real mode: the bare transcript', () => {
    const bare = bareRun(EXCEPTIONS, 'merom');
    const after3 = (0x7c00 + EXCEPTIONS.indexOf(0xcc) + 1) & 0xff, div = (0x7c00 + EXCEPTIONS.indexOf(0xf7) + 2) & 0xff;
    expect(bare.serial).toBe(`B${String.fromCharCode(after3)}Z${String.fromCharCode(div)}E`);
    const pc = new HostedPc(EXCEPTIONS, 'merom');
    expect(pc.run(1)).toBe('halted');
    expect(pc.vm.fault, pc.vm.fault?.summary).toBeNull();
    expect(pc.serial).toBe(bare.serial);
    expect(pc.m.cpu.icount).toBe(bare.icounts[0]);
    const int3 = 0x7c00 + EXCEPTIONS.indexOf(0xcc), divAt = 0x7c00 + EXCEPTIONS.indexOf(0xf7);
    expect(pc.count(ExitReason.ExceptionOrNmi, int3)).toBe(1);
    expect(pc.count(ExitReason.ExceptionOrNmi, divAt)).toBe(1);
    // Run by the VMM: the DIV and the final HLT; INT3 is delivered, not emulated.
    expect(pc.vm.emulation.stepped).toBe(2);
  }, 60_000);
});

// A departure V86 mode brings, as under KVM: PUSHF in the task shows IOPL = 3 (the guest's is 0).
const PUSHF = bootSector(`
  pushf
  pop ax
  mov al, ah
  out 0xe9, al
  cli
  hlt`);

describe('merom: what V86 mode shows differently (documented departure)', () => {
  it('PUSHF pushes IOPL = 3 where bare real mode pushes the guest\'s IOPL 0', () => {
    const bare = bareRun(PUSHF, 'merom');
    const pc = new HostedPc(PUSHF, 'merom');
    expect(pc.run(1)).toBe('halted');
    expect(bare.serial.charCodeAt(0) & 0x30).toBe(0);
    expect(pc.serial.charCodeAt(0)).toBe(bare.serial.charCodeAt(0) | 0x30);
  }, 60_000);
});

describe('the VMM\'s V86 TSS', () => {
  it('redirection and I/O bitmaps all zero, the I/O map base after the redirection bitmap, the byte of ones at the limit', () => {
    const mem = new PhysicalMemory(1 << 20), at = 0x10000;
    mem.write8(at + 0x200, 0x55); // garbage the writer must clear
    writeV86Tss(mem, at);
    expect(mem.read16(at + 0x66)).toBe(0x88);
    for (let i = 0x68; i < V86_TSS_LIMIT; i++) expect(mem.read8(at + i)).toBe(0);
    expect(mem.read8(at + V86_TSS_LIMIT)).toBe(0xff);
    expect(V86_TSS_LIMIT).toBeLessThan(V86_TSS_PAGES * 4096);
  });

  it('the identity shadow maps it for supervisor reads only (read-only, U/S = 0); user or write accesses stay the VMM\'s', () => {
    const RAM = 1 << 20, tss = 2 << 20;
    const mem = new PhysicalMemory(4 << 20);
    const mmu = new ShadowMmu(mem, { base: RAM, pages: 8 }, RAM, { vmmPages: { base: tss, pages: V86_TSS_PAGES } });
    const root = mmu.activate(0, 0, 0);
    expect(mmu.pageFault(tss + 0x1066, 0).kind).toBe('fixed'); // a supervisor read of page 1
    const pde = mem.read32(root + (tss >>> 22) * 4);
    const pte = mem.read32((pde & ~0xfff) + (((tss + 0x1000) >>> 12) & 0x3ff) * 4);
    expect(pte & ~0xfff).toBe(tss + 0x1000);
    expect(pte & (Pte.P | Pte.RW | Pte.US)).toBe(Pte.P);
    expect(mmu.pageFault(tss + 0x10, PfErr.U).kind).toBe('mmio'); // the V86 task (CPL 3)
    expect(mmu.pageFault(tss + 0x10, PfErr.W).kind).toBe('mmio');
    expect(mmu.pageFault(tss + V86_TSS_PAGES * 4096, 0).kind).toBe('mmio'); // past it
  });
});
