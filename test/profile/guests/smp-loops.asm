; smp-loops: exits on two vCPUs, for the profiler's per-vCPU tests (test/profile/smp.test.ts).
; Boots through guests/common/boot.inc (32-bit protected mode); the BSP starts CPU 1 (local
; APIC ID 1) with INIT and two Startup IPIs (vector 08h: real-mode code at 8000h, the SDM's
; MP initialization protocol, Vol. 3A §9.4.4), then runs NB CPUID instructions (bsp_loop) while
; the AP runs NA (ap_loop) in real mode, counts itself done and halts (CLI; HLT). The BSP waits
; for that, prints "SMP DONE" on COM1 and leaves through the exit port F4h (status 0).
; Build (from this directory): nasm -f bin -DNB=300 -DNA=200 [-DMAPFILE=x.map] -i../../../guests/common/ smp-loops.asm
%ifndef NB
%define NB 300
%endif
%ifndef NA
%define NA 200
%endif
%ifdef MAPFILE
[map symbols MAPFILE]
%endif
%define PANIC_MARKER 'SMP FAIL'
%include "boot.inc"
        bits 32
stage2_entry:
        jmp main

; ---- the AP's code, at 8000h (the Startup IPI's vector 08h)
        times 0x400 - ($ - $$) db 0
        bits 16
ap_start:
        cli
        xor ax, ax
        mov ds, ax
        mov si, NA
ap_loop:
        xor eax, eax
        cpuid
        dec si
        jnz ap_loop
ap_loop_end:
        lock inc byte [ap_done]
.h:     cli
        hlt
        jmp .h
ap_done: db 0

        bits 32
APIC_ICR_LO equ 0xFEE00300
APIC_ICR_HI equ 0xFEE00310

main:
        mov esp, 0x90000
        call serial_init
        in al, 0x92                     ; fast A20 gate
        test al, 2
        jnz .a20
        or al, 2
        and al, 0xFE
        out 0x92, al
.a20:
        mov dword [APIC_ICR_HI], 1 << 24
        mov dword [APIC_ICR_LO], 0x00004500     ; INIT, level assert, to APIC ID 1
        call delay
        mov dword [APIC_ICR_LO], 0x00004608       ; Startup IPI, vector 08h: ap_start
        call delay
        mov dword [APIC_ICR_LO], 0x00004608       ; the second, as the SDM says
        mov ecx, NB
bsp_loop:
        xor eax, eax
        push ecx
        cpuid
        pop ecx
        dec ecx
        jnz bsp_loop
bsp_loop_end:
.wait:  pause
        cmp byte [ap_done], 1
        jne .wait
        mov esi, s_done
        call puts
        xor al, al
        jmp guest_exit

delay:                                  ; a few thousand instructions
        mov ecx, 2000
.l:     dec ecx
        jnz .l
        ret

s_done: db 'SMP DONE', 10, 0

%include "serial.inc"
%include "panic-idt.inc"
%include "exit.inc"
%include "boot_end.inc"
