; pit-idle: an interrupt-driven real-mode guest. It hooks IRQ0 (INT 08h), programs PIT
; channel 0 for 100 Hz (divisor 11932), unmasks IRQ0 and idles in a STI/HLT loop; the handler
; counts ticks and sends EOI. After 100 ticks (one second of guest time) it prints the count
; and how many HLTs woke up, then exits. Rung 1 of the boot ladder (PIT + HLT idle loop).
        bits 16
        org 0x7c00
start:  cli
        xor ax, ax
        mov ds, ax
        mov ss, ax
        mov sp, 0x7c00
        mov word [8*4], irq0    ; INT 08h -> our handler
        mov word [8*4+2], 0
        mov al, 0x34            ; channel 0, lo/hi, mode 2
        out 0x43, al
        mov ax, 11932           ; 1193182 / 100
        out 0x40, al
        mov al, ah
        out 0x40, al
        in al, 0x21
        and al, 0xfe            ; unmask IRQ0
        out 0x21, al
        sti
.idle:  hlt
        inc word [wakeups]
        cmp word [ticks], 100
        jb .idle
        cli
        mov si, s_ticks
        call puts
        mov ax, [ticks]
        call putdec
        mov si, s_wake
        call puts
        mov ax, [wakeups]
        call putdec
        mov si, s_done
        call puts
        mov dx, 0xf4
        xor al, al
        out dx, al
.h:     hlt
        jmp .h

irq0:   push ax
        inc word [cs:ticks]
        mov al, 0x20
        out 0x20, al
        pop ax
        iret

puts:   lodsb
        test al, al
        jz .d
        call putc
        jmp puts
.d:     ret
putc:   push dx
        push ax
        mov dx, 0x3fd
.w:     in al, dx
        test al, 0x20
        jz .w
        pop ax
        mov dx, 0x3f8
        out dx, al
        pop dx
        ret
putdec: mov cx, 0
        mov bx, 10
.l:     xor dx, dx
        div bx
        push dx
        inc cx
        test ax, ax
        jnz .l
.p:     pop ax
        add al, '0'
        call putc
        loop .p
        ret

s_ticks: db 'PIT ticks ', 0
s_wake:  db ', HLT wakeups ', 0
s_done:  db 13, 10, 'PIT IDLE DONE', 13, 10, 0
ticks:   dw 0
wakeups: dw 0
        times 510-($-$$) db 0
        dw 0xaa55
