; What a guest of the hosted VMM sees of Intel 64: the VMM's host is 32-bit, so it hides LM,
; 1-GByte pages and SYSCALL (src/core/vmm/host-width.ts). Prints on the debug port 0E9h:
;   CPUID.80000001H:EDX   'L'/'l' LM [29], 'P'/'p' 1-GByte pages [26], 'S'/'s' SYSCALL [11]
;   then for each MSR access '.' if it completes, 'G' if it raised #GP(0):
;   WRMSR IA32_EFER = LME (100H), WRMSR IA32_EFER = NXE (800H), RDMSR IA32_LSTAR (C0000082H),
;   WRMSR IA32_EFER = SCE (1), RDMSR IA32_KERNEL_GS_BASE (C0000102H), WRMSR IA32_EFER = 0
; then a newline, and halts.
; Assemble (in this folder): nasm -f bin -o no-long-mode.img no-long-mode.asm
%include "pm32.inc"
  mov eax, gp                      ; IDT entry 13: 32-bit interrupt gate to gp
  mov [idt + 13 * 8], ax
  shr eax, 16
  mov [idt + 13 * 8 + 6], ax
  mov word [idt + 13 * 8 + 2], 0x08
  mov word [idt + 13 * 8 + 4], 0x8e00
  lidt [idtr]
  mov eax, 0x80000001
  cpuid
  mov ebx, 29
  mov cl, 'L'
  call flag
  mov ebx, 26
  mov cl, 'P'
  call flag
  mov ebx, 11
  mov cl, 'S'
  call flag
  ; each access is 2 bytes and the report after it 4 (mov al, '.'; out 0e9h, al): the #GP
  ; handler skips both and prints 'G'
  mov ecx, 0xc0000080
  xor edx, edx
  mov eax, 0x100
  wrmsr
  mov al, '.'
  out 0xe9, al
  mov eax, 0x800
  wrmsr
  mov al, '.'
  out 0xe9, al
  mov ecx, 0xc0000082
  rdmsr
  mov al, '.'
  out 0xe9, al
  mov ecx, 0xc0000080
  xor edx, edx
  mov eax, 1
  wrmsr
  mov al, '.'
  out 0xe9, al
  mov ecx, 0xc0000102
  rdmsr
  mov al, '.'
  out 0xe9, al
  mov ecx, 0xc0000080
  xor edx, edx
  xor eax, eax
  wrmsr
  mov al, '.'
  out 0xe9, al
  mov al, 10
  out 0xe9, al
  cli
  hlt

; prints CL if EDX bit EBX is set, else CL in lower case
flag:
  bt edx, ebx
  jc .set
  or cl, 0x20
.set:
  mov al, cl
  out 0xe9, al
  ret

gp:
  add esp, 4                       ; error code
  add dword [esp], 6               ; past the MSR instruction and its report
  mov al, 'G'
  out 0xe9, al
  iret

align 8
gdt: dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
gdtr: dw 23
  dd gdt
idtr: dw 14 * 8 - 1
  dd idt
times 510-($-$$) db 0
dw 0xaa55
idt equ 0x8000
