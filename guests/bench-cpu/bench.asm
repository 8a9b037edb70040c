; bench-cpu: the CPU benchmark guest (bench/run.mjs). Build: nasm -f bin [-DITER=n] bench.asm
;
; Boots through ../common/boot.inc, turns on 32-bit paging (identity 0-8 MB, plus a 1 MB work
; window at linear 0x40000000 mapped to physical 0x400000), prints "BENCH START", then runs
; ITER rounds of integer work:
;   crc      table-driven CRC-32 over 16 KB of the work window
;   rw       xorshift32 PRNG driving 8192 random dword read-modify-writes over the 1 MB window
;   sieve    sieve of Eratosthenes up to 8192 (byte flags in the window), counting primes
;   muldiv   4096 rounds of IMUL/MUL/DIV/IDIV mixing
;   calls    recursive Fibonacci(16): CALL/RET/PUSH/POP
;   copy     REP MOVSD of 16 KB and a 2 KB byte loop
; (about 4.6e5 instructions per round) and prints "BENCH checksum=xxxxxxxx" and "BENCH DONE",
; then exits through port 0xF4 (status 0). The checksum depends only on the round count:
; ITER at assembly time, or the dword after the signature 'BNCFG!!!' in the image, which
; bench/run.mjs and the tests patch (--iter).

%ifndef ITER
%define ITER 400
%endif
%define PANIC_MARKER 'BENCH FAIL'
%include "../common/boot.inc"
        bits 32

PD      equ 0x100000
PT_ID   equ 0x101000        ; 2 page tables: identity 0-8 MB
PT_WIN  equ 0x103000        ; the work window
WIN     equ 0x40000000
WIN_PHYS equ 0x400000
WIN_SIZE equ 0x100000
STACK_TOP equ 0x90000
DATA    equ 0x200000       ; variables and the CRC table (identity mapped)

stage2_entry:
        mov esp, STACK_TOP               ; stack and data on pages without code: JITs and
        call serial_init                 ; decode caches must not see self-modifying code
        call panic_idt_install
        ; page directory and tables
        mov edi, PD
        mov ecx, 1024
        xor eax, eax
        rep stosd
        mov dword [PD + 0], PT_ID | 3
        mov dword [PD + 4], (PT_ID + 0x1000) | 3
        mov dword [PD + (WIN >> 22) * 4], PT_WIN | 3
        mov edi, PT_ID
        mov eax, 3
        mov ecx, 2048
.id:    stosd
        add eax, 0x1000
        dec ecx
        jnz .id
        mov edi, PT_WIN
        mov eax, WIN_PHYS | 3
        mov ecx, 1024
.win:   stosd
        add eax, 0x1000
        dec ecx
        jnz .win
        mov eax, PD
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        jmp .pg
.pg:
        ; CRC table
        xor ecx, ecx
.ct:    mov eax, ecx
        mov edx, 8
.cb:    shr eax, 1
        jnc .cn
        xor eax, 0xEDB88320
.cn:    dec edx
        jnz .cb
        mov [crctab + ecx * 4], eax
        inc ecx
        cmp ecx, 256
        jb .ct
        ; initial window contents: a simple pattern
        mov edi, WIN
        mov ecx, WIN_SIZE / 4
        mov eax, 0x01234567
.fill:  stosd
        add eax, 0x9E3779B9
        dec ecx
        jnz .fill
        mov dword [sum], 0
        mov dword [crc], 0xFFFFFFFF
        mov dword [rng], 2463534242
        mov dword [acc], 1
        mov esi, s_start
        call puts
        mov eax, [cfg_iter]
        mov [rounds], eax
        call putdec
        call putnl
.round:
        call k_crc
        call mix
        call k_rw
        call mix
        call k_sieve
        call mix
        call k_muldiv
        call mix
        mov eax, 16
        call fib
        call mix
        call k_copy
        call mix
        dec dword [rounds]
        jnz .round
        mov esi, s_sum
        call puts
        mov eax, [sum]
        call puthex32
        call putnl
        mov esi, s_done
        call puts
        xor al, al
        jmp guest_exit

s_start: db 'BENCH START iter=', 0

; Run-time configuration (bench/run.mjs and the tests patch the round count in the image):
        align 4
cfg_block:  db 'BNCFG!!!'
cfg_iter:   dd ITER
s_sum:   db 'BENCH checksum=', 0
s_done:  db 'BENCH DONE', 10, 0

mix:                                    ; sum = rol(sum, 5) ^ EAX
        mov edx, [sum]
        rol edx, 5
        xor edx, eax
        mov [sum], edx
        ret

k_crc:
        mov esi, WIN
        mov ecx, 16384
        mov eax, [crc]
.l:     movzx ebx, byte [esi]
        xor bl, al
        shr eax, 8
        xor eax, [crctab + ebx * 4]
        inc esi
        dec ecx
        jnz .l
        mov [crc], eax
        ret

k_rw:
        mov eax, [rng]
        mov ecx, 8192
        xor edi, edi
.l:     mov edx, eax
        shl edx, 13
        xor eax, edx
        mov edx, eax
        shr edx, 17
        xor eax, edx
        mov edx, eax
        shl edx, 5
        xor eax, edx
        mov ebx, eax
        and ebx, WIN_SIZE - 4
        mov edx, [WIN + ebx]
        add edx, eax
        mov [WIN + ebx], edx
        xor edi, edx
        dec ecx
        jnz .l
        mov [rng], eax
        mov eax, edi
        ret

SIEVE_N  equ 8192
SIEVE_AT equ WIN + 0x80000
k_sieve:
        mov edi, SIEVE_AT
        mov ecx, SIEVE_N / 4
        mov eax, 0x01010101
.i:     mov [edi], eax
        add edi, 4
        dec ecx
        jnz .i
        mov ecx, 2
.outer: mov eax, ecx
        imul eax, ecx
        cmp eax, SIEVE_N
        jae .count
        cmp byte [SIEVE_AT + ecx], 0
        je .next
.inner: mov byte [SIEVE_AT + eax], 0
        add eax, ecx
        cmp eax, SIEVE_N
        jb .inner
.next:  inc ecx
        jmp .outer
.count: xor eax, eax
        mov ecx, 2
.c:     movzx edx, byte [SIEVE_AT + ecx]
        add eax, edx
        inc ecx
        cmp ecx, SIEVE_N
        jb .c
        ret

k_muldiv:
        mov eax, [acc]
        mov ecx, 4096
        mov esi, 0
.l:     imul eax, eax, 0x01000193
        add eax, ecx
        mov ebx, eax
        mul ebx                         ; EDX:EAX = a * a
        add esi, edx
        mov eax, ebx
        mov edi, ecx
        or edi, 3
        xor edx, edx
        div edi
        add esi, edx
        mov eax, ebx
        cdq
        idiv edi
        add eax, esi
        dec ecx
        jnz .l
        mov [acc], eax
        ret

fib:                                    ; EAX = fib(EAX), recursive
        cmp eax, 2
        jb .r
        push ebx
        push eax
        dec eax
        call fib
        mov ebx, eax
        pop eax
        sub eax, 2
        call fib
        add eax, ebx
        pop ebx
.r:     ret

k_copy:
        mov esi, WIN + 0x10000
        mov edi, WIN + 0x20000
        mov ecx, 4096
        rep movsd
        mov esi, WIN + 0x20100
        mov edi, WIN + 0x30000
        mov ecx, 2048
        xor eax, eax
.l:     mov dl, [esi]
        add dl, cl
        mov [edi], dl
        add al, dl
        rol eax, 1
        inc esi
        inc edi
        dec ecx
        jnz .l
        xor eax, [WIN + 0x20000 + 0x1234]
        ret

%include "../common/serial.inc"
%include "../common/exit.inc"
%include "../common/panic-idt.inc"
%include "../common/boot_end.inc"

        absolute DATA
sum:    resd 1
crc:    resd 1
rng:    resd 1
acc:    resd 1
rounds: resd 1
        alignb 16
crctab: resd 256
