; SMP bring-up under a VMM: the BSP (vCPU 0) enters flat protected mode and starts every AP
; with INIT-SIPI-SIPI broadcast through its local APIC (SDM Vol. 3A §8.4.4.1, the MP
; initialization protocol); each AP switches to protected mode, runs CPUID LOOPS times, records
; its initial APIC ID (CPUID.1:EBX[31:24]) and the one its local APIC reports, counts itself in
; and halts for good. The BSP runs the same CPUID loop, waits for the APs, prints one line per
; CPU in APIC-ID order (so the transcript does not depend on how the CPUs interleave) and halts.
; Output goes to the debug port 0E9h.  Assemble: nasm -f bin -D NAP=3 -o smp.img smp-cpuid.asm
; (-D NOPAUSE: the BSP waits without PAUSE, so only a scheduler's tick can end its turn;
; -D SPIN=n: every CPU first runs a loop of n iterations.)
%ifndef NAP
%define NAP 1
%endif
%define LOOPS 100
%define APIC 0xfee00000
bits 16
org 0x7c00
start:
  cli
  xor ax, ax
  mov ds, ax
  mov es, ax
  mov si, trampoline               ; the SIPI vector (08h) names page 8000h
  mov di, 0x8000
  mov cx, trampoline_end - trampoline
  rep movsb
  lgdt [gdtr]
  mov eax, cr0
  or al, 1
  mov cr0, eax
  jmp dword 0x08:bsp32

trampoline:                        ; runs at 0800:0000 in each AP (real mode)
  cli
  xor ax, ax
  mov ds, ax
  lgdt [gdtr]
  mov eax, cr0
  or al, 1
  mov cr0, eax
  jmp dword 0x08:ap32
trampoline_end:

bits 32
bsp32:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov esp, 0x7000
  ; INIT (level assert), then two Startup IPIs with vector 08h, to all but self
  mov dword [APIC + 0x300], 0x000c4500
  mov ecx, 1000
.d1: loop .d1
  mov dword [APIC + 0x300], 0x000c4608
  mov ecx, 1000
.d2: loop .d2
  mov dword [APIC + 0x300], 0x000c4608
  call work
.wait:
%ifndef NOPAUSE
  pause                            ; hands the turn to the CPU it waits for
%endif
  cmp dword [count], NAP
  jb .wait
  ; one line per APIC ID 0..NAP: "cpu <id>: apic <id>"
  xor ebx, ebx
.line:
  mov esi, msg_cpu
  call puts
  mov al, bl
  add al, '0'
  out 0xe9, al
  mov esi, msg_apic
  call puts
  mov al, [seen + ebx]
  out 0xe9, al
  mov al, 10
  out 0xe9, al
  inc ebx
  cmp ebx, NAP
  jbe .line
  mov esi, msg_done
  call puts
  cli
  hlt

ap32:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov eax, 1
  lock xadd [ticket], eax          ; a stack per AP
  shl eax, 8
  mov esp, 0x6000
  sub esp, eax
  call work
  lock inc dword [count]
  cli
  hlt

; CPUID LOOPS times, then seen[initial APIC ID] = '0' + the local APIC's ID (they must agree)
work:
%ifdef SPIN
  mov ecx, SPIN                    ; a busy loop longer than a scheduler's turn
.s: loop .s
%endif
  mov edi, LOOPS
.l:
  xor eax, eax
  cpuid
  dec edi
  jnz .l
  mov eax, 1
  cpuid
  shr ebx, 24
  mov eax, [APIC + 0x20]
  shr eax, 24
  add al, '0'
  mov [seen + ebx], al
  ret

puts:
  lodsb
  test al, al
  jz .e
  out 0xe9, al
  jmp puts
.e: ret

msg_cpu: db 'cpu ', 0
msg_apic: db ': apic ', 0
msg_done: db 'SMP DONE', 10, 0
align 4
count: dd 0
ticket: dd 0
seen: times 8 db '?'
align 8
gdt: dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
gdtr: dw 23
  dd gdt
times 510-($-$$) db 0
dw 0xaa55
