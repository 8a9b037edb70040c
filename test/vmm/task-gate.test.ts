// Task switches through IDT task gates in hosted mode (issue 5): task switches always exit in
// VMX non-root operation (SDM Vol. 3C §26.4.2: exit qualification source 3 for an IDT task
// gate, the event in the IDT-vectoring information); the VMM emulates them with the core's
// task-switch code. The guest delivers INT 40h and a #GP (with its error code) through task
// gates to handler tasks, which print and IRET back (the #GP handler first moves the
// interrupted task's saved EIP past the faulting instruction): the same transcript as bare.
import { describe, expect, it } from 'vitest';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { bootSector } from '../firmware/support';
import { bareRun, HostedPc } from './support';

// GDT: 08 code, 10 data, 18 main TSS (at 0x9000), 20 INT 40h task's TSS (0x9100), 28 #GP
// task's TSS (0x9200). IDT (at 0x9400): vector 0Dh and 40h are task gates.
const GUEST = bootSector(`
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
  mov esp, 0x8000
  ; the two handler TSSs: CR3 0 (no paging), EIP, EFLAGS 2, ESP, segments
  mov edi, 0x9100
  mov ebx, int40_task
  mov ecx, 0x7800
  call fill_tss
  mov edi, 0x9200
  mov ebx, gp_task
  mov ecx, 0x7400
  call fill_tss
  ; IDT: task gates (type 5, present) for 0Dh -> 28h and 40h -> 20h
  mov dword [0x9400 + 0x0d*8], 0x00280000
  mov dword [0x9400 + 0x0d*8 + 4], 0x00008500
  mov dword [0x9400 + 0x40*8], 0x00200000
  mov dword [0x9400 + 0x40*8 + 4], 0x00008500
  lidt [idtr]
  mov ax, 0x18
  ltr ax
  mov al, 'a'
  out 0xe9, al
  int 0x40
  mov al, 'c'
  out 0xe9, al
  mov ax, 0x1234
  mov ds, ax                 ; #GP(1234h): through the task gate; the handler skips this
  mov al, 'e'
  out 0xe9, al
  mov al, 10
  out 0xe9, al
  cli
  hlt

fill_tss:                    ; edi = TSS, ebx = EIP, ecx = ESP
  mov edx, ecx
  push edi
  mov ecx, 0x68/4
  xor eax, eax
  rep stosd
  pop edi
  mov [edi + 0x20], ebx      ; EIP
  mov dword [edi + 0x24], 2  ; EFLAGS
  mov [edi + 0x38], edx      ; ESP
  mov dword [edi + 0x48], 0x10 ; ES
  mov dword [edi + 0x4c], 0x08 ; CS
  mov dword [edi + 0x50], 0x10 ; SS
  mov dword [edi + 0x54], 0x10 ; DS
  mov dword [edi + 0x58], 0x10 ; FS
  mov dword [edi + 0x5c], 0x10 ; GS
  ret

int40_task:
  mov al, 'b'
  out 0xe9, al
  iret
  jmp int40_task             ; the task resumes here when entered again

gp_task:
  pop eax                    ; the error code
  shr eax, 4                 ; 0x1234 -> 0x123: print its low hex digit ('3')
  and al, 15
  add al, '0'
  out 0xe9, al
  mov al, 'd'
  out 0xe9, al
  add dword [0x9000 + 0x20], 2   ; the main task's saved EIP: past MOV DS, AX (8E D8)
  iret
  jmp gp_task

align 8
gdt: dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
  dq 0x0000890090000067, 0x0000890091000067, 0x0000890092000067
gdtr: dw 6*8-1
  dd gdt
idtr: dw 0x41*8-1
  dd 0x9400
`);

function bare(): string {
  const r = bareRun(GUEST, 'haswell', 1, 50_000_000);
  expect(r.stop).toBe('halted');
  return r.serial;
}

describe('hosted mode: task switches through IDT task gates', () => {
  it('INT 40h and #GP(1234h) reach their handler tasks, IRET returns: the bare transcript', () => {
    const want = bare();
    expect(want).toBe('abc3de\n');
    const pc = new HostedPc(GUEST, 'haswell');
    expect(pc.run(0.5)).toBe('halted');
    expect(pc.vm.fault, pc.vm.fault?.summary).toBeNull();
    expect(pc.serial).toBe(want);
    // Four task switches: INT 40h in, IRET out, #GP in, IRET out.
    expect(pc.count(ExitReason.TaskSwitch)).toBe(4);
  });
});
