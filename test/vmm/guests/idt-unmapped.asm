; A guest whose IDT is on a not-present page: its UD2's #UD delivery page-faults, the #PF's
; delivery page-faults again (#DF), and the #DF's delivery page-faults too: shutdown (SDM Vol. 3A
; §6.15, interrupt 8). Bare, the machine shuts down; hosted, the VM stops with a triple fault,
; whether the CPU sees it (EPT: #PF is the guest's) or the VMM (shadow paging: every #PF exits
; and the VMM reflects it, so it must see the #PF during #DF delivery itself).
; Assemble (in this folder): nasm -f bin -o idt-unmapped.img idt-unmapped.asm
%include "pm32.inc"
  mov edi, 0x10000                 ; page directory at 10000h, page table at 11000h
  mov ecx, 0x2000 / 4
  xor eax, eax
  rep stosd
  mov edi, 0x11000                 ; identity map of 0-4 MB
  mov eax, 0x003
  mov ecx, 1024
.id: stosd
  add eax, 0x1000
  loop .id
  mov dword [0x11000 + 9 * 4], 0   ; page 9000h (the IDT) not present
  mov dword [0x10000], 0x11003
  lidt [idtr]
  mov eax, 0x10000
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  ud2

align 8
gdt: dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
gdtr: dw 23
  dd gdt
idtr: dw 0x7ff
  dd 0x9000
times 510-($-$$) db 0
dw 0xaa55
