; hostdiff64: 64-bit mode instruction forms, vmxlab against the host CPU (an x86-64 Linux
; host runs the same body natively). test/cpu/long/hostdiff64.test.ts assembles both builds:
;   nasm -f bin -DHOST hostdiff64.asm     static ELF64 Linux program, output on stdout
;   nasm -f bin -i guests/common/ ...     boot image: boot.inc's protected mode, then IA-32e
;                                         mode (4-level identity map of 0-1 GB), output on COM1
; For each form, CASES cases with operands from xorshift64 (reseeded per form; one case in 8
; takes an edge value for each operand) and random input flags; the results and RFLAGS masked
; to the flags the SDM defines for the form (a flag an instruction leaves unchanged is defined)
; are hashed (FNV-1a over qwords) into one line "<form> <hash>".
; Flag masks (OF=800 SF=80 ZF=40 AF=10 PF=4 CF=1), as guests/cpu-hostdiff/hostdiff.asm:
;   ADD ADC SUB SBB CMP NEG INC DEC XADD CMPXCHG  8D5   AND OR XOR TEST  8C5 (AF undefined)
;   shifts: count 0 8D5, 1 8C5, >1 0C5   rotates: count 0/1 8D5, >1 0D5   SHLD/SHRD as shifts
;   MUL IMUL 801   DIV IDIV 000   BT* 041   BSF/BSR 040 (destination not hashed for source 0)

%ifndef CASES
%define CASES 400
%endif
%define SEED 0x9E3779B97F4A7C15

%ifdef HOST
        bits 64
        org 0x400000
ehdr:   db 0x7F, 'ELF', 2, 1, 1, 0
        times 8 db 0
        dw 2, 0x3E                       ; ET_EXEC, EM_X86_64
        dd 1
        dq host_start, phdr - $$, 0
        dd 0
        dw 64, 56, 1, 0, 0, 0
phdr:   dd 1, 7                          ; PT_LOAD, RWX
        dq 0, $$, $$, file_end - $$, file_end - $$, 0x1000
host_start:
        call body
        mov eax, 60                      ; exit(0)
        xor edi, edi
        syscall
putc64:                                  ; AL
        push rax
        push rcx
        push rdx
        push rsi
        push rdi
        push r11
        mov [rel obuf], al
        mov eax, 1                       ; write(1, obuf, 1)
        mov edi, 1
        lea rsi, [rel obuf]
        mov edx, 1
        syscall
        pop r11
        pop rdi
        pop rsi
        pop rdx
        pop rcx
        pop rax
        ret
obuf:   db 0
%else
%define PANIC_MARKER 'HOSTDIFF64 FAIL'
%include "boot.inc"
        bits 32
PML4    equ 0x100000
stage2_entry:
        mov esp, 0x90000
        call serial_init
        mov edi, PML4
        mov ecx, 0x3000 / 4
        xor eax, eax
        cld
        rep stosd
        mov dword [PML4], PML4 + 0x1007
        mov dword [PML4 + 0x1000], PML4 + 0x2007
        xor ecx, ecx
.pd:    mov eax, ecx
        shl eax, 21
        or eax, 0x87
        mov [PML4 + 0x2000 + ecx * 8], eax
        inc ecx
        cmp ecx, 512
        jb .pd
        lgdt [gdt64_desc]
        mov eax, cr4
        or eax, 0x40020                  ; PAE, OSXSAVE (the x87 forms' XSAVE64)
        mov cr4, eax
        mov eax, PML4
        mov cr3, eax
        mov ecx, 0xC0000080
        rdmsr
        or eax, 0x100
        wrmsr
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        jmp 0x08:long_entry
        align 8
gdt64:  dq 0, 0x00AF9A000000FFFF, 0x00CF92000000FFFF
gdt64_desc:
        dw 23
        dq gdt64
%include "serial.inc"
%include "exit.inc"
        bits 64
long_entry:
        mov ax, 0x10
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov rsp, 0x90000
        call body
        xor eax, eax
        mov dx, 0xF4
        out dx, al
.h:     hlt
        jmp .h
putc64:
        push rdx
        push rax
        mov dx, 0x3FD
.w:     in al, dx
        test al, 0x20
        jz .w
        pop rax
        mov dx, 0x3F8
        out dx, al
        pop rdx
        ret
%endif

; ======================================================================================
; The test body (64-bit, position-independent data through RIP-relative addressing)
; ======================================================================================
puts64:                                  ; RSI
        push rax
        push rsi
.l:     mov al, [rsi]
        test al, al
        jz .d
        call putc64
        inc rsi
        jmp .l
.d:     pop rsi
        pop rax
        ret
puthex64:                                ; RAX
        push rax
        push rcx
        mov ecx, 16
.l:     rol rax, 4
        push rax
        and al, 15
        add al, '0'
        cmp al, '9'
        jbe .p
        add al, 'a' - '0' - 10
.p:     call putc64
        pop rax
        dec ecx
        jnz .l
        pop rcx
        pop rax
        ret

rnd:                                     ; RAX = next xorshift64 value
        mov rax, [rel rng]
        push rdx
        mov rdx, rax
        shl rdx, 13
        xor rax, rdx
        mov rdx, rax
        shr rdx, 7
        xor rax, rdx
        mov rdx, rax
        shl rdx, 17
        xor rax, rdx
        pop rdx
        mov [rel rng], rax
        ret
operand:                                 ; RAX = random operand, one in 8 an edge value
        call rnd
        test al, 0x70
        jnz .r
        push rbx
        shr rax, 8
        and eax, 7
        lea rbx, [rel edges]
        mov rax, [rbx + rax * 8]
        pop rbx
        ret
.r:     call rnd
        ret
edges:  dq 0, 1, -1, 0x8000000000000000, 0x7fffffffffffffff, 0x80000000, 0xffffffff, 63

mix:                                     ; hash ^= RAX; hash *= FNV prime
        push rdx
        xor rax, [rel hash]
        mov rdx, 0x100000001b3
        imul rax, rdx
        mov [rel hash], rax
        pop rdx
        ret

;   FORM name, mask / body / ENDFORM: the body sees RAX, RBX, RDX, R8 (operands), RCX (count)
; and the input flags; it leaves results in RAX, RDX and R8; RFLAGS & mask is hashed after it.
%macro FORM 2
        %push form
        jmp %$run
%$name: db %1, 0
%$case: mov dword [rel fmask], %2
%endmacro
%macro ENDFORM 0
        ret
%$run:  lea rax, [rel %$case]
        lea rsi, [rel %$name]
        call run_form
        %pop
%endmacro
%macro F1 3                     ; a one-instruction form
        FORM %1, %2
        %3
        ENDFORM
%endmacro

; run_form: RAX = case routine, RSI = name
run_form:
        push rax
        mov [rel fname], rsi
        mov rax, SEED
        xor rax, [rel formno]
        mov [rel rng], rax
        inc qword [rel formno]
        mov qword [rel hash], 0
        mov qword [rel left], CASES
.case:  call operand
        mov [rel in_a], rax
        call operand
        mov [rel in_b], rax
        call operand
        mov [rel in_d], rax
        call rnd
        mov [rel in_c], rax
        call rnd
        and eax, 0x8D5
        or eax, 2
        mov [rel in_f], rax
        mov rax, [rsp]
        mov [rel casefn], rax
        mov rbx, [rel in_b]
        mov rdx, [rel in_d]
        mov r8, [rel in_c]
        mov rcx, [rel in_c]
        push qword [rel in_f]
        mov rax, [rel in_a]
        popfq
        call [rel casefn]
        pushfq
        mov [rel out_a], rax
        mov [rel out_d], rdx
        pop rax
        and eax, [rel fmask]
        call mix
        mov rax, [rel out_a]
        call mix
        mov rax, [rel out_d]
        call mix
        mov rax, r8
        call mix
        dec qword [rel left]
        jnz .case
        mov rsi, [rel fname]
        call puts64
        mov al, ' '
        call putc64
        mov rax, [rel hash]
        call puthex64
        mov al, 10
        call putc64
        pop rax
        ret

body:
        lea rsi, [rel m_start]
        call puts64
        F1 'add64', 0x8D5, {add rax, rbx}
        F1 'adc64', 0x8D5, {adc rax, rbx}
        F1 'sub64', 0x8D5, {sub rax, rbx}
        F1 'sbb64', 0x8D5, {sbb rax, rbx}
        F1 'cmp64', 0x8D5, {cmp rax, rbx}
        F1 'neg64', 0x8D5, {neg rax}
        F1 'inc64', 0x8D5, {inc rax}
        F1 'dec64', 0x8D5, {dec rdx}
        F1 'and64', 0x8C5, {and rax, rbx}
        F1 'or64', 0x8C5, {or rax, rbx}
        F1 'xor64', 0x8C5, {xor rax, rbx}
        F1 'test64', 0x8C5, {test rax, rbx}
        F1 'not64', 0x8D5, {not rax}
        F1 'add32', 0x8D5, {add eax, ebx}
        F1 'sub32', 0x8D5, {sub eax, ebx}
        F1 'add16', 0x8D5, {add ax, bx}
        FORM 'add8rex', 0x8D5
        mov rsi, rbx
        mov rdi, rdx
        add sil, dil
        mov rdx, rsi
        ENDFORM
        F1 'addimm', 0x8D5, {add rax, -0x12345678}
        F1 'andimm8', 0x8C5, {and rdx, -16}
        FORM 'xadd64', 0x8D5
        xadd rax, rbx
        mov rdx, rbx
        ENDFORM
        FORM 'cmpxchg64', 0x8D5
        mov r8, rdx
        test bl, 1
        jz %$n
        mov rax, rdx
%$n:    cmpxchg r8, rbx
        ENDFORM
        F1 'imul2', 0x801, {imul rax, rbx}
        F1 'imul3', 0x801, {imul rax, rbx, 0x7654321}
        F1 'imul1', 0x801, {imul rbx}
        F1 'mul1', 0x801, {mul rbx}
        F1 'imul32', 0x801, {imul eax, ebx}
        FORM 'div64', 0x000
        bts rbx, 63
        shr rdx, 1
        div rbx
        ENDFORM
        FORM 'idiv64', 0x000
        or rbx, 1
        cmp rbx, -1
        jne %$ok
        mov rbx, 3
%$ok:   cqo
        idiv rbx
        ENDFORM
        FORM 'shl64', 0
        call shiftmask
        shl rax, cl
        ENDFORM
        FORM 'shr64', 0
        call shiftmask
        shr rax, cl
        ENDFORM
        FORM 'sar64', 0
        call shiftmask
        sar rax, cl
        ENDFORM
        FORM 'shl32', 0
        call shiftmask32
        shl eax, cl
        ENDFORM
        FORM 'rol64', 0
        call rotmask
        rol rax, cl
        ENDFORM
        FORM 'ror64', 0
        call rotmask
        ror rax, cl
        ENDFORM
        FORM 'rcl64', 0
        call rotmask
        rcl rax, cl
        ENDFORM
        FORM 'rcr64', 0
        call rotmask
        rcr rax, cl
        ENDFORM
        F1 'shl1', 0x8C5, {shl rax, 1}
        F1 'sar1', 0x8C5, {sar rax, 1}
        F1 'rol1', 0x8D5, {rol rax, 1}
        F1 'rcr1', 0x8D5, {rcr rax, 1}
        FORM 'shld64', 0
        call shiftmask
        shld rax, rbx, cl
        ENDFORM
        FORM 'shrd64', 0
        call shiftmask
        shrd rax, rbx, cl
        ENDFORM
        F1 'bt64', 0x041, {bt rax, rbx}
        F1 'bts64', 0x041, {bts rax, rbx}
        F1 'btr64', 0x041, {btr rax, rbx}
        F1 'btc64', 0x041, {btc rax, rbx}
        F1 'btsimm', 0x041, {bts rax, 45}
        FORM 'bsf64', 0x040
        mov rdx, -1
        bsf rdx, rbx
        jnz %$k
        xor edx, edx
%$k:    mov rax, rdx
        ENDFORM
        FORM 'bsr64', 0x040
        mov rdx, -1
        bsr rdx, rbx
        jnz %$k
        xor edx, edx
%$k:    mov rax, rdx
        ENDFORM
        F1 'bswap64', 0x8D5, {bswap rax}
        F1 'movsxd', 0x8D5, {movsxd rax, ebx}
        F1 'movsx8', 0x8D5, {movsx rax, bl}
        F1 'movzx16', 0x8D5, {movzx rax, bx}
        F1 'cdqe', 0x8D5, {cdqe}
        F1 'cqo', 0x8D5, {cqo}
        F1 'cmovl', 0x8D5, {cmovl rax, rbx}
        F1 'cmova32', 0x8D5, {cmova eax, ebx}
        FORM 'setcc', 0x8D5
        setg dl
        seto dh
        setp r8b
        ENDFORM
        F1 'lea', 0x8D5, {lea rax, [rax + rbx * 8 - 0x80]}
        F1 'lea32', 0x8D5, {lea eax, [rax + rbx * 4 + 7]}
        FORM 'addmem', 0x8D5
        mov [rel memv], rax
        add [rel memv], rbx
        mov rax, [rel memv]
        ENDFORM
        FORM 'shlmem', 0
        call shiftmask
        mov [rel memv], rax
        shl qword [rel memv], cl
        mov rax, [rel memv]
        ENDFORM
        FORM 'negmem8', 0x8D5
        mov [rel memv], rax
        neg byte [rel memv + 3]
        mov rax, [rel memv]
        ENDFORM
        FORM 'cmpxchgmem', 0x8D5
        mov [rel memv], rdx
        lock cmpxchg [rel memv], rbx
        mov rdx, [rel memv]
        ENDFORM
        FORM 'btsmem', 0x041
        lea rsi, [rel bitarea + 16]
        mov [rsi - 16], rax
        mov [rsi - 8], rdx
        mov [rsi], rdx
        mov [rsi + 8], rax
        movsx rbx, bl
        sar rbx, 1
        bts [rsi], rbx
        mov rax, [rsi - 16]
        mov rdx, [rsi - 8]
        mov r8, [rsi]
        xor r8, [rsi + 8]
        ENDFORM
        F1 'mul8', 0x801, {mul bl}
        F1 'imul16', 0x801, {imul bx}
        FORM 'div8', 0x000
        or bl, 0x80
        and ah, 0x7f
        div bl
        ENDFORM
        FORM 'div32', 0x000
        bts ebx, 31
        shr edx, 1
        div ebx
        ENDFORM
        FORM 'pushpop', 0x8D5
        push rax
        push word 0x1234
        push rbx
        pop rdx
        pop r8w
        pop rax
        ENDFORM
        FORM 'movsb', 0x8D5
        and ecx, 15
        lea rsi, [rel sbuf]
        lea rdi, [rel sbuf + 16]
        mov [rsi], rax
        mov [rsi + 8], rbx
        mov [rdi], rdx
        mov [rdi + 8], rdx
        rep movsb
        mov rax, [rel sbuf + 16]
        mov rdx, [rel sbuf + 24]
        mov r8, rcx
        ENDFORM
        FORM 'scasb', 0x8D5
        mov [rel sbuf], rbx
        lea rdi, [rel sbuf]
        mov ecx, 8
        repne scasb
        mov rdx, rcx
        lea rsi, [rel sbuf]
        sub rdi, rsi
        mov r8, rdi
        ENDFORM
        FORM 'cmpsq', 0x8D5
        mov [rel sbuf], rax
        mov [rel sbuf + 8], rbx
        lea rsi, [rel sbuf]
        lea rdi, [rel sbuf + 8]
        cmpsq
        pushfq
        lea rdi, [rel sbuf]
        sub rsi, rdi
        mov rdx, rsi
        mov eax, 0
        popfq
        ENDFORM
        FORM 'cmpxchg8b', 0x8D5
        lea rsi, [rel bitarea]
        mov [rsi], rdx
        test bl, 1
        jz %$n
        mov rax, rdx
        mov edx, [rsi + 4]
%$n:    mov rcx, rbx
        not rcx
        cmpxchg8b [rsi]
        mov r8, [rsi]
        ENDFORM
        FORM 'cmpxchg16b', 0x8D5
        lea rsi, [rel bitarea]
        mov [rsi], rdx
        mov [rsi + 8], rax
        test bl, 1
        jz %$n
        xchg rax, rdx
%$n:    mov rcx, rbx
        not rcx
        cmpxchg16b [rsi]
        mov r8, [rsi]
        xor r8, [rsi + 8]
        ENDFORM
        FORM 'enter', 0x000
        mov r9, rsp
        mov rbp, rsp
        sub rbp, 0x40
        mov [rbp - 8], rax
        enter 0x18, 2
        mov rax, r9
        sub rax, rsp
        mov rdx, r9
        sub rdx, rbp
        mov r8, [rsp + 0x20]
        mov rsp, r9
        ENDFORM
        ; RDRAND/RDSEED/RDTSCP (isa64.ts): the values differ, so what is hashed is the flags
        ; (RDSEED's CF may be 0 on the host when its entropy runs short: CF not hashed) and the
        ; destination bits the operand size keeps or clears.
        FORM 'rdrand16', 0
        rdrand ax
        pushfq
        pop r8
        and r8d, 0x8D5
        shr rax, 16
        xor edx, edx
        ENDFORM
        FORM 'rdrand32', 0
        rdrand edx
        pushfq
        pop r8
        and r8d, 0x8D5
        shr rdx, 32
        ENDFORM
        FORM 'rdrand64rex', 0
        rdrand r9
        pushfq
        pop r8
        and r8d, 0x8D5
        xor eax, eax
        xor edx, edx
        ENDFORM
        FORM 'rdseed16', 0
        rdseed ax
        pushfq
        pop r8
        and r8d, 0x8D4
        shr rax, 16
        xor edx, edx
        ENDFORM
        FORM 'rdseed32', 0
        rdseed eax
        pushfq
        pop r8
        and r8d, 0x8D4
        shr rax, 32
        xor edx, edx
        ENDFORM
        FORM 'rdtscp', 0
        mov rcx, rax
        rdtscp
        shr rax, 32
        shr rdx, 32
        shr rcx, 32
        mov r8, rcx
        ENDFORM
        ; LAR/LSL of a null selector: ZF = 0, the destination unchanged (also its bits 63:32).
        FORM 'larnull', 0x040
        and ebx, 3
        lar rax, bx
        ENDFORM
        FORM 'lslnull', 0x040
        and ebx, 3
        lsl edx, ebx
        ENDFORM
        FORM 'verrnull', 0x040
        and ebx, 3
        verr bx
        ENDFORM
%include "hostdiff64-x87.inc"
        lea rsi, [rel m_done]
        call puts64
        ret

; shift forms: flag mask by the masked count (0: everything unchanged, 1: OF defined, else not)
shiftmask32:
        pushfq
        push rcx
        and ecx, 31
        jmp shiftmask.m
shiftmask:
        pushfq
        push rcx
        and ecx, 63
.m:
        mov dword [rel fmask], 0x8D5
        jz .d
        mov dword [rel fmask], 0x8C5
        cmp ecx, 1
        je .d
        mov dword [rel fmask], 0x0C5
.d:     pop rcx
        popfq
        ret
rotmask:
        pushfq
        push rcx
        and ecx, 63
        mov dword [rel fmask], 0x8D5
        cmp ecx, 1
        jbe .d
        mov dword [rel fmask], 0x0D5
.d:     pop rcx
        popfq
        ret

m_start: db 'HOSTDIFF64 START', 10, 0
m_done:  db 'HOSTDIFF64 DONE', 10, 0
        align 8
rng:    dq 0
hash:   dq 0
formno: dq 0
left:   dq 0
fmask:  dq 0
casefn: dq 0
fname:  dq 0
memv:   dq 0
        align 16
bitarea: dq 0, 0, 0, 0
sbuf:   times 32 db 0
in_a:   dq 0
in_b:   dq 0
in_c:   dq 0
in_d:   dq 0
in_f:   dq 0
out_a:  dq 0
out_d:  dq 0

%ifdef HOST
file_end:
%else
%include "boot_end.inc"
%endif
