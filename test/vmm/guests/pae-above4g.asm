; PAE paging with a page above 4 GB (a PTE's bits 35:32, MAXPHYADDR 36: SDM Vol. 3A §4.4.2):
; no memory is there, so a read gives all ones and a write changes nothing, bare and hosted alike.
; Prints on the debug port 0E9h: 'F' if the read at linear 200000H (physical 1_0000_0000H) gave
; FFFFFFFFH, 'U' if the write there left physical 0 unchanged, 'C' if linear 201000H (physical
; 5000H) reads 5A5A5A5AH, then 'G' if MOV to CR3 with a PDPTE setting bit 40 (reserved) raised
; #GP(0) (the handler resumes after the 3-byte MOV), then "OK".
; Assemble (in this folder): nasm -f bin -o pae-above4g.img pae-above4g.asm
%include "pm32.inc"
%include "report.inc"
  mov eax, gp                      ; IDT entry 13: 32-bit interrupt gate to gp
  mov [idt + 13 * 8], ax
  shr eax, 16
  mov [idt + 13 * 8 + 6], ax
  mov word [idt + 13 * 8 + 2], 0x08
  mov word [idt + 13 * 8 + 4], 0x8e00
  lidt [idtr]
  ; PDPT at 10000h (two copies: 10000h valid, 10020h with a reserved bit), PD at 11000h, PT at
  ; 12000h
  mov edi, 0x10000
  mov ecx, 0x3000 / 4
  xor eax, eax
  rep stosd
  mov dword [0x10000], 0x11001     ; PDPTE 0 -> PD
  mov dword [0x10020], 0x11001
  mov dword [0x10024], 0x100       ; bit 40: reserved with MAXPHYADDR 36
  mov dword [0x11000], 0x000083    ; PDE 0: 2 MB page at 0 (identity)
  mov dword [0x11008], 0x12003     ; PDE 1 -> PT: linear 200000H-3FFFFFH
  mov dword [0x12000], 0x00000003  ; PTE 0 -> physical 1_0000_0000H
  mov dword [0x12004], 0x1
  mov dword [0x12008], 0x5003      ; PTE 1 -> physical 5000H
  mov dword [0x5000], 0x5a5a5a5a
  mov dword [0x0], 0x600df00d
  mov eax, cr4
  or eax, 0x20                     ; PAE
  mov cr4, eax
  mov eax, 0x10000
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  mov al, 'F'
  cmp dword [0x200000], 0xffffffff
  je .f
  mov al, 'f'
.f: out 0xe9, al
  mov dword [0x200000], 0x12345678
  mov al, 'U'
  cmp dword [0x0], 0x600df00d
  je .u
  mov al, 'u'
.u: out 0xe9, al
  mov al, 'C'
  cmp dword [0x201000], 0x5a5a5a5a
  je .c
  mov al, 'c'
.c: out 0xe9, al
  mov eax, 0x10020
  mov cr3, eax                     ; #GP(0): the handler prints 'G'
  OK_HALT

gp:
  add esp, 4                       ; error code
  add dword [esp], 3               ; past the MOV to CR3
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
