; INVPCID under shadow paging: the guest maps linear 400000h through page directory entry 1,
; reads it, points that PDE at another page table (a PDE change needs an invalidation before the
; new mapping is sure to be used: SDM Vol. 3A §4.10.4.1), invalidates with INVPCID of type 0,
; 1, 2, 3 in turn and reads again: each read must see the new table's page. The byte read is
; printed on the debug port 0E9h ("ABCDE"), then "OK" and the guest halts.
; Assemble (in this folder): nasm -f bin -o invpcid.img invpcid.asm
%include "pm32.inc"
%include "report.inc"
  ; page directory at 10000h; PT 0 at 11000h maps 0-4 MB identity; PTs 1-5 at 12000h-16000h
  ; each map 400000h to a data page 20000h + k*1000h holding the letter 'A' + k
  mov edi, 0x10000
  mov ecx, 0x7000 / 4
  xor eax, eax
  rep stosd
  mov edi, 0x11000
  mov eax, 0x003
  mov ecx, 1024
.id: stosd
  add eax, 0x1000
  loop .id
  xor ebx, ebx
.pts:
  mov eax, ebx
  shl eax, 12
  lea edx, [eax + 0x20003]         ; PTE 0 of table k -> data page k
  mov [eax + 0x12000], edx
  lea edx, [ebx + 'A']
  mov [eax + 0x20000], dl
  inc ebx
  cmp ebx, 5
  jb .pts
  mov dword [0x10000], 0x11003
  mov dword [0x10004], 0x12003
  mov eax, 0x10000
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  mov al, [0x400000]
  out 0xe9, al
  xor ebx, ebx                     ; INVPCID type
.next:
  lea eax, [ebx + 0x13]            ; PDE 1 -> page table 1 + type
  shl eax, 12
  or eax, 3
  mov [0x10004], eax
%ifndef NOINV
  invpcid ebx, [desc]
%endif
  mov al, [0x400000]
  out 0xe9, al
  inc ebx
  cmp ebx, 4
  jb .next
  OK_HALT
align 16
desc: dq 0, 0x400000                ; PCID 0, linear address 400000h
gdt: dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
gdtr: dw 23
  dd gdt
times 510-($-$$) db 0
dw 0xaa55
