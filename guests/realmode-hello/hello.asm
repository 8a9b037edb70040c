; realmode-hello: a real-mode boot sector that uses BIOS services only (INT 10h teletype,
; INT 12h, INT 13h AH=08h, INT 1Ah) and prints what they return. Rung 1 of the boot ladder:
; it boots on vmxlab's BIOS and on SeaBIOS (QEMU) alike.
        bits 16
        org 0x7c00
start:  cli
        xor ax, ax
        mov ds, ax
        mov ss, ax
        mov sp, 0x7c00
        sti
        mov [drive], dl
        mov si, s_hello
        call puts
        int 0x12                ; conventional memory in KB
        push ax
        mov si, s_mem
        call puts
        pop ax
        call putdec
        mov si, s_kb
        call puts
        mov ah, 0x08            ; drive parameters of the boot drive
        mov dl, [drive]
        push es
        int 0x13
        pop es
        mov si, s_drv
        call puts
        mov al, 'f'
        jc .nodrv
        mov al, 'o'
.nodrv: call putc
        mov si, s_done
        call puts
        mov dx, 0xf4            ; isa-debug-exit: code 0
        xor al, al
        out dx, al
        cli
.h:     hlt
        jmp .h

; puts: DS:SI zero-terminated, to the screen through INT 10h teletype only (a BIOS with a
; serial console, as vmxlab's, mirrors it to COM1)
puts:   lodsb
        test al, al
        jz .d
        call putc
        jmp puts
.d:     ret
putc:   push ax
        push bx
        mov ah, 0x0e
        mov bx, 7
        int 0x10
        pop bx
        pop ax
        ret
; putdec: AX as unsigned decimal
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

s_hello: db 'REALMODE HELLO', 13, 10, 0
s_mem:   db 'base memory ', 0
s_kb:    db ' KB', 13, 10, 0
s_drv:   db 'boot drive parameters: ', 0
s_done:  db 13, 10, 'REALMODE DONE', 13, 10, 0
drive:   db 0
        times 510-($-$$) db 0
        dw 0xaa55
