; exit-loops: one loop per exit kind, each executing its exiting instructions exactly N times
; (N = -DN=..., default 1000; the HLT loop NH times, default 50), for the profiler's exact-count
; tests (test/profile/exit-counts.test.ts). A boot sector in real mode, booted by vmxlab's BIOS.
;
;   cpuid_loop   N x CPUID (leaf 0)
;   io_loop      N x OUT DX, AL and N x IN AL, DX to port 3FFh (COM1's scratch register, so
;                every IN reads back what the OUT wrote; a mismatch prints 'E')
;   msr_loop     N x RDMSR and N x WRMSR of IA32_MTRR_PHYSBASE0 (200h; not in KVM's MSR
;                bitmap pass list, so both exit), writing back what was read
;   mmio_loop    N x a word write to the VGA text buffer at B8000h (MMIO under the VMM's EPT
;                map: one EPT violation and one monitor-trap-flag exit each)
;   hlt_loop     NH x HLT, each woken by IRQ 0 (the PIT reprogrammed to about 1 kHz, the other
;                IRQs masked; the BIOS's INT 08h handler takes them)
; The PIC is masked (and IF clear) outside the HLT loop, so no interrupt lands in the other
; loops. At the end it prints "LOOPS OK\n" (or "LOOPS E\n") on port E9h and leaves through the
; exit port F4h (status 0). Build: nasm -f bin -DN=1000 -DNH=50 [-DMAPFILE=x.map] exit-loops.asm
%ifndef N
%define N 1000
%endif
%ifndef NH
%define NH 50
%endif
%ifdef MAPFILE
[map symbols MAPFILE]
%endif
        bits 16
        org 0x7c00
start:
        cli
        xor ax, ax
        mov ds, ax
        mov ss, ax
        mov sp, 0x7c00
        mov al, 0xff
        out 0x21, al                    ; mask every IRQ of the master PIC
        mov bp, 'O'                     ; result: 'O' or 'E'

cpuid_loop:
        mov si, N
.l:     xor eax, eax
        cpuid
        dec si
        jnz .l
cpuid_loop_end:

io_loop:
        mov si, N
        mov dx, 0x3ff
.l:     mov ax, si
        out dx, al
        in al, dx
        cmp ax, si                      ; AH still holds SI's high byte
        je .ok
        mov bp, 'E'
.ok:    dec si
        jnz .l
io_loop_end:

msr_loop:
        mov si, N
        mov ecx, 0x200
.l:     rdmsr
        wrmsr
        dec si
        jnz .l
msr_loop_end:

mmio_loop:
        mov si, N
        mov ax, 0xb800
        mov es, ax
        xor di, di
.l:     mov word [es:di], 0x0741        ; 'A' on the VGA text screen (MMIO: EPT violation + MTF)
        dec si
        jnz .l
mmio_loop_end:

        ; PIT channel 0, mode 2, divisor 1193 (1.0002 kHz); unmask IRQ 0 only
        mov al, 0x34
        out 0x43, al
        mov al, 1193 & 0xff
        out 0x40, al
        mov al, 1193 >> 8
        out 0x40, al
        mov al, 0xfe
        out 0x21, al
        sti
hlt_loop:
        mov si, NH
.l:     hlt
        dec si
        jnz .l
hlt_loop_end:
        cli
        mov al, 0xff
        out 0x21, al

        mov al, 'L'
        out 0xe9, al
        mov ax, bp
        out 0xe9, al
        mov al, 10
        out 0xe9, al
        xor al, al
exit_out:
        out 0xf4, al                    ; exit port: status 0
.h:     hlt
        jmp .h

        times 510-($-$$) db 0
        dw 0xaa55
