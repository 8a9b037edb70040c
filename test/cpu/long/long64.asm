; long64: IA-32e mode (long mode) compared against QEMU on the serial transcript
; (test/cpu/long/long-mode.test.ts assembles it at test time:
;   nasm -f bin -i guests/common/ test/cpu/long/long64.asm -o long64.img).
;
; Boots through guests/common/boot.inc into 32-bit protected mode, builds 4-level page tables,
; enables PAE, IA32_EFER.LME/NXE/SCE and paging (compatibility mode), far-jumps to a 64-bit
; code segment and runs checks; each prints "Tnn <what>" and its values. Exceptions go to one
; 64-bit handler that prints
;     EXC vv err=xxxxxxxx rip=<16 hex> cs=xxxx fl=xxxx rsp=<16 hex> ss=xxxx al=x [cr2=<16 hex>]
; (al = the frame's end modulo 16, which §6.14.2 makes 0) and resumes where the check said (TRY).
; Only architecturally defined values are printed: flags are masked to those the instruction
; defines; CPUID is printed only for the LM bit.
;
; Physical memory (identity mapped 0-1 GB by 2 MB pages, 0x200000-0x3FFFFF by 4 KB pages):
;   0x100000 PML4   0x101000 PDPT (0-512 GB)   0x102000 PD (0-1 GB)   0x103000 PT 2-4 MB
;   0x104000 PDPT for 0xFFFF8000_00000000      0x105000 its PD (2 MB page -> 0x400000)
;   0x106000 PDPT for 0x80_00000000 (one 1 GB page -> 0, when CPUID reports 1 GB pages)
;   0x108000 IDT (256 x 16 bytes)   0x109000 TSS   stacks: 0x90000 kernel, 0x8F000 RSP0,
;   0x8E000 IST1, 0x8D000 user
;   0x3FF000 not present   0x3FE000 supervisor-only   0x3FD000 read-only user   0x3FC000 NX

%define PANIC_MARKER 'LONG FAIL'
%include "boot.inc"
        bits 32

PML4        equ 0x100000
PDPT0       equ 0x101000
PD0         equ 0x102000
PT_TEST     equ 0x103000
PDPT_HI     equ 0x104000
PD_HI       equ 0x105000
PDPT_1G     equ 0x106000
IDT64       equ 0x108000
TSS64       equ 0x109000
KSTACK      equ 0x90000
RSP0_TOP    equ 0x8F000
IST1_TOP    equ 0x8E000
USTACK      equ 0x8D000

SEL_CODE64  equ 0x08
SEL_DATA    equ 0x10
SEL_CODE32  equ 0x18
SEL_UCODE32 equ 0x20
SEL_UDATA   equ 0x28
SEL_UCODE64 equ 0x30
SEL_TSS     equ 0x38

; ---- 32-bit printing (compatibility mode and before) -------------------------------
%macro SAY32 1+
        jmp %%a
%%s:    db %1, 10, 0
%%a:    push esi
        mov esi, %%s
        call puts
        pop esi
%endmacro

stage2_entry:
        mov esp, KSTACK
        call serial_init
        SAY32 'LONG START'
        ; zero the paging structures, IDT and TSS
        mov edi, PML4
        mov ecx, (TSS64 + 0x1000 - PML4) / 4
        xor eax, eax
        cld
        rep stosd
        mov dword [PML4], PDPT0 | 7
        mov dword [PML4 + 8], PDPT_1G | 7              ; PML4[1]: 0x80_00000000
        mov dword [PML4 + 256 * 8], PDPT_HI | 7        ; PML4[256]: 0xFFFF8000_00000000
        mov dword [PDPT0], PD0 | 7
        mov dword [PDPT_HI], PD_HI | 7
        mov dword [PD_HI], 0x400000 | 0x87             ; 2 MB page, user, writable
        mov dword [PDPT_1G], 0x87                      ; 1 GB page at 0
        ; PD0: 2 MB identity pages except 2-4 MB
        xor ecx, ecx
.pd:    mov eax, ecx
        shl eax, 21
        or eax, 0x87
        mov [PD0 + ecx * 8], eax
        inc ecx
        cmp ecx, 512
        jb .pd
        mov dword [PD0 + 8], PT_TEST | 7
        xor ecx, ecx
.pt:    mov eax, ecx
        shl eax, 12
        add eax, 0x200000 | 7
        mov [PT_TEST + ecx * 8], eax
        inc ecx
        cmp ecx, 512
        jb .pt
        mov dword [PT_TEST + 511 * 8], 0               ; 0x3FF000 not present
        mov dword [PT_TEST + 510 * 8], 0x3FE000 | 3     ; supervisor, writable
        mov dword [PT_TEST + 509 * 8], 0x3FD000 | 5     ; user, read-only
        mov dword [PT_TEST + 508 * 8 + 4], 0x80000000  ; 0x3FC000: XD
        ; TSS: RSP0, IST1
        mov dword [TSS64 + 4], RSP0_TOP
        mov dword [TSS64 + 0x24], IST1_TOP
        mov word [TSS64 + 0x66], 104
        ; enter IA-32e mode (SDM Vol. 3A §9.8.5)
        lgdt [gdt64_desc]
        mov eax, cr4
        or eax, 0x20                                   ; PAE
        mov cr4, eax
        mov eax, PML4
        mov cr3, eax
        mov ecx, 0xC0000080
        rdmsr
        or eax, 0x901                                  ; LME | NXE | SCE
        wrmsr
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax                                   ; LMA = 1: compatibility mode
        SAY32 'T01 compatibility mode after CR0.PG'
        mov ecx, 0xC0000080
        rdmsr
        push eax
        mov esi, t01_efer
        call puts
        pop eax
        call puthex32
        call putnl
        jmp SEL_CODE64:long_entry

t01_efer: db ' efer=', 0

%include "serial.inc"
%include "exit.inc"

; ---- 64-bit code ------------------------------------------------------------------------
        bits 64

%macro SAY 1+
        jmp %%a
%%s:    db %1, 10, 0
%%a:    push rsi
        lea rsi, [rel %%s]
        call puts64
        pop rsi
%endmacro
%macro SAYN 1+
        jmp %%a
%%s:    db %1, 0
%%a:    push rsi
        lea rsi, [rel %%s]
        call puts64
        pop rsi
%endmacro
%macro SHOW 2                   ; SHOW 'name', value (mov rax, value)
        push rax
        SAYN ' ', %1, '='
        mov rax, %2
        call puthex64
        pop rax
%endmacro
%macro SHOW32 2
        push rax
        SAYN ' ', %1, '='
        mov eax, %2
        call puthex32_64
        pop rax
%endmacro
%macro FLAGS 1                  ; print RFLAGS & %1
        push rax
        pushfq
        SAYN ' fl='
        mov rax, [rsp]
        and rax, %1
        call puthex32_64
        popfq
        pop rax
%endmacro
%macro NL 0
        call putnl64
%endmacro
%macro TRY 0
        %push try
        mov [rel resume_rsp], rsp
        push rax
        lea rax, [rel %$resume]
        mov [rel resume_rip], rax
        pop rax
%endmacro
%macro ENDTRY 0
        SAY '  no fault'
%$resume:
        %pop
%endmacro

ARITH equ 0x8C5                 ; OF SF ZF PF CF

long_entry:
        mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov fs, ax
        mov gs, ax
        mov rsp, KSTACK
        call build_idt
        lidt [rel idt_desc]
        mov ax, SEL_TSS
        ltr ax
        SAY 'T02 64-bit mode'
        mov eax, 0x80000001
        cpuid
        shr edx, 29
        and edx, 1
        SHOW32 'lm', edx
        mov ax, cs
        movzx eax, ax
        SHOW32 'cs', eax
        str ax
        movzx eax, ax
        SHOW32 'tr', eax
        NL

T03:    SAY 'T03 64-bit ALU and flags'
        mov rax, 0x7fffffffffffffff
        add rax, 1
        FLAGS ARITH
        SHOW 'add', rax
        NL
        mov rax, 0xffffffff
        add rax, 1
        FLAGS ARITH
        SHOW 'add32c', rax
        mov eax, 0xffffffff
        add eax, 1
        FLAGS ARITH
        SHOW 'eadd', rax
        NL
        mov rbx, 0x0000000100000000
        mov rax, 0
        sub rax, rbx
        FLAGS ARITH
        SHOW 'sub', rax
        stc
        mov rcx, 0x123456789abcdef0
        adc rcx, rcx
        FLAGS ARITH
        SHOW 'adc', rcx
        NL
        stc
        mov rdx, 0
        sbb rdx, 0
        FLAGS ARITH
        SHOW 'sbb', rdx
        mov rax, 0xf0f0f0f0f0f0f0f0
        and rax, -16
        xor rax, 0x0ff
        or rax, 0x70000000
        FLAGS 0x8c5
        SHOW 'logic', rax
        NL
        mov rax, 0x8000000000000000
        neg rax
        FLAGS ARITH
        SHOW 'neg', rax
        mov rax, -1
        inc rax
        FLAGS 0x8c4
        SHOW 'inc', rax
        mov rax, 0x8000000000000000
        cmp rax, 1
        FLAGS ARITH
        dec rax
        SHOW 'dec', rax
        NL
        mov r8, 0x1111111111111111
        mov r15, 0x2222222222222222
        add r8, r15
        lea r9, [r8 + r15 * 4 + 0x10]
        SHOW 'r8', r8
        SHOW 'r9', r9
        mov r10d, -1
        SHOW 'r10', r10
        NL

T04:    SAY 'T04 registers: REX bytes, MOVSXD, CDQE, CQO, MOVZX/MOVSX'
        mov rax, 0x1122334455667788
        mov rsi, 0x99aabbccddeeff5a
        mov rdi, 0x0102030405060708
        mov rbp, 0x1020304050607080
        mov bl, ah                      ; no REX: AH
        movzx ebx, bl
        SHOW 'ah', rbx
        mov r12b, sil                   ; REX: SIL
        movzx r12, r12b
        SHOW 'sil', r12
        mov dil, bpl
        SHOW 'rdi', rdi
        xor r11d, r11d
        dec r11
        mov r11w, 0x5555
        SHOW 'r11', r11
        NL
        mov eax, 0x80000000
        movsxd rcx, eax
        SHOW 'movsxd', rcx
        cdqe
        SHOW 'cdqe', rax
        cqo
        SHOW 'cqo', rdx
        mov ax, 0x8001
        cwde
        SHOW 'cwde', rax
        NL
        mov rcx, 0x0123456789abcdef
        movzx r13, cx
        movsx r14, cx
        movsx r15, cl
        SHOW 'movzx', r13
        SHOW 'movsx16', r14
        SHOW 'movsx8', r15
        NL
        mov rax, 0x123456789abcdef0
        mov r8, rax
        bswap r8
        SHOW 'bswap', r8
        bswap eax
        SHOW 'bswap32', rax
        xchg rax, r8
        SHOW 'xchg', rax
        NL

T05:    SAY 'T05 MUL IMUL DIV IDIV 64-bit'
        mov rax, 0xfedcba9876543210
        mov rbx, 0x123456789
        mul rbx
        FLAGS 0x801
        SHOW 'mul.lo', rax
        SHOW 'mul.hi', rdx
        NL
        mov rax, -5
        mov rbx, 0x7fffffffffffffff
        imul rbx
        FLAGS 0x801
        SHOW 'imul.lo', rax
        SHOW 'imul.hi', rdx
        NL
        mov rcx, 0x100000000
        imul rcx, rcx, 3
        FLAGS 0x801
        SHOW 'imul3', rcx
        imul rcx, rcx
        FLAGS 0x801
        SHOW 'imul2', rcx
        NL
        mov rdx, 0x12345
        mov rax, 0x6789abcdef012345
        mov rbx, 0x1000000007
        div rbx
        SHOW 'div.q', rax
        SHOW 'div.r', rdx
        NL
        mov rax, -1000000000000
        cqo
        mov rbx, 7
        idiv rbx
        SHOW 'idiv.q', rax
        SHOW 'idiv.r', rdx
        NL
        TRY
        mov rdx, 1
        xor eax, eax
        mov rbx, 1
        div rbx                         ; quotient 2^64: #DE
        ENDTRY

T06:    SAY 'T06 shifts, rotates, bit ops, SETcc/CMOVcc, XADD, CMPXCHG'
        mov rax, 0x8000000000000001
        shl rax, 1
        FLAGS 0x8c5
        SHOW 'shl1', rax
        mov rax, 0x8000000000000001
        sar rax, 63
        FLAGS 0x0c5
        SHOW 'sar63', rax
        NL
        mov rax, 0x8000000000000001
        shr rax, 1
        FLAGS 0x8c5
        SHOW 'shr1', rax
        mov rax, 0x8000000000000001
        rol rax, 4
        FLAGS 0x001
        SHOW 'rol4', rax
        mov cl, 68                      ; masked to 4
        mov rax, 0x8000000000000001
        ror rax, cl
        FLAGS 0x001
        SHOW 'ror', rax
        NL
        clc
        mov rax, 0x8000000000000000
        rcl rax, 1
        FLAGS 0x801
        SHOW 'rcl', rax
        stc
        mov rax, 0
        rcr rax, 1
        SHOW 'rcr', rax
        NL
        mov rax, 0x00000000ffffffff
        mov rbx, 0xf000000000000000
        shld rax, rbx, 8
        SHOW 'shld', rax
        shrd rax, rbx, 12
        SHOW 'shrd', rax
        NL
        mov rax, 0x10
        bt rax, 4
        FLAGS 0x001
        mov rbx, 0x100000000
        bts rax, 40
        SHOW 'bts', rax
        btr rax, 4
        btc rax, 63
        SHOW 'btr/btc', rax
        mov rcx, 70                     ; register offset into memory: beyond the qword
        mov qword [rel bitbuf], 0
        mov qword [rel bitbuf + 8], 0
        bts qword [rel bitbuf], rcx
        SHOW 'btsmem', [rel bitbuf + 8]
        NL
        mov rax, 0x0010000000000000
        bsf rbx, rax
        bsr rcx, rax
        SHOW 'bsf', rbx
        SHOW 'bsr', rcx
        xor edx, edx
        bsf rdx, rdx
        FLAGS 0x040
        NL
        mov rax, 5
        cmp rax, 7
        setl r9b
        setb sil
        movzx r9d, r9b
        movzx esi, sil
        SHOW 'setl', r9
        SHOW 'setb', rsi
        mov rbx, 0xffffffffffffffff
        mov ecx, 1
        cmovge rcx, rbx
        SHOW 'cmovge', rcx
        cmovl ecx, ebx                  ; 32-bit: moved and zero-extended
        SHOW 'cmovl32', rcx
        mov rcx, rbx
        cmovge ecx, eax                 ; not moved: still zero-extended
        SHOW 'cmov32n', rcx
        NL
        mov rax, 0x7fffffffffffffff
        mov rbx, 1
        xadd rax, rbx
        FLAGS ARITH
        SHOW 'xadd', rax
        SHOW 'old', rbx
        mov qword [rel bitbuf], 42
        mov rax, 42
        mov rcx, 0x5a5a5a5a5a5a5a5a
        lock cmpxchg [rel bitbuf], rcx
        FLAGS 0x040
        SHOW 'cmpxchg', [rel bitbuf]
        NL

T07:    SAY 'T07 RIP-relative, SIB with R12/R13, moffs, high-half addresses'
        lea rax, [rel rip_target]
        mov rbx, rip_target
        sub rax, rbx
        SHOW 'lea-rel', rax
        mov rax, [rel rip_data]
        SHOW 'rel', rax
        mov r12, rip_data - 8
        mov r13, 1
        mov rax, [r12 + r13 * 8]
        SHOW 'r12+r13', rax
        mov rax, [r13 + r12 + 7]
        SHOW 'r13+r12', rax
        mov al, [abs qword rip_data]    ; moffs64 (a64)
        movzx eax, al
        SHOW 'moffs', rax
        NL
        mov rbx, 0xffff800000000000
        mov rax, 0xdeadbeefcafef00d
        mov [rbx + 0x100], rax
        mov rax, [0x400100]              ; the same physical memory through the identity map
        SHOW 'alias', rax
        mov dword [0x400200], 0x13572468
        mov eax, [rbx + 0x200]
        SHOW 'hi-read', rax
        mov rsi, 0xffff800000000ffc      ; a qword across two pages above 4 GB (same 2 MB page)
        mov qword [rsi], -2
        mov rax, [0x400ffc]
        SHOW 'cross', rax
        NL
        mov eax, 0x80000001
        cpuid
        bt edx, 26
        jnc .no1g
        mov rax, 0x8000000000 + 0x7e00  ; 1 GB page -> 0: the stage-2 signature
        mov rax, [rax]
        SHOW '1g', rax
        NL
        jmp .done1g
.no1g:  SAY ' 1g=absent'
.done1g:

T08:    SAY 'T08 stack: PUSH/POP, CALL/RET, PUSHFQ/POPFQ, LEAVE, PUSH imm'
        mov rbp, rsp
        push qword -3
        push 0x7fffffff
        push r14
        pop rax
        pop rbx
        pop rcx
        SHOW 'r14', rax
        SHOW 'imm32', rbx
        SHOW 'imm8', rcx
        NL
        mov rbx, rsp
        call .sub
        sub rbx, rax
        SHOW 'call-depth', rbx
        mov rax, rsp
        push word 0x1234                ; 66: a 2-byte push
        sub rax, rsp
        SHOW 'push16', rax
        pop ax
        pushfq
        pop rax
        and rax, 0x202
        SHOW 'pushfq', rax
        push qword 0x8d5
        popfq
        FLAGS 0x8d5
        push qword 2
        popfq
        NL
        push rbp
        mov rbp, rsp
        sub rsp, 0x40
        leave
        pop rbp
        cmp rbp, rsp
        sete al
        movzx eax, al
        SHOW 'leave', rax
        mov rcx, 3
        xor eax, eax
.loop:  add eax, 5
        loop .loop
        SHOW 'loop', rax
        xor ecx, ecx
        jrcxz .jz
        SAY ' jrcxz not taken'
.jz:    lea rax, [rel .tbl]
        mov rbx, 1
        call [rax + rbx * 8]
        NL
        jmp T09
.sub:   mov rax, rsp
        ret
.ind0:  SAY ' ind0'
        ret
.ind1:  SAYN ' ind1'
        ret
        align 8
.tbl:   dq .ind0, .ind1

T09:    SAY 'T09 string instructions with RCX/RSI/RDI'
        lea rdi, [rel strbuf]
        mov rax, 0x4142434445464748
        mov rcx, 4
        rep stosq
        lea rsi, [rel strbuf]
        lea rdi, [rel strbuf + 32]
        mov rcx, 32
        rep movsb
        SHOW 'rcx', rcx
        lea rax, [rel strbuf + 64]
        sub rax, rdi
        SHOW 'rdi', rax
        mov rax, [rel strbuf + 56]
        SHOW 'copy', rax
        lea rsi, [rel strbuf]
        lea rdi, [rel strbuf + 32]
        mov byte [rel strbuf + 40], 0
        mov rcx, 32
        repe cmpsb
        FLAGS 0x0c5
        SHOW 'cmps-left', rcx
        NL
        lea rdi, [rel strbuf]
        mov al, 0x45
        mov rcx, 16
        repne scasb
        SHOW 'scas-left', rcx
        std
        lea rsi, [rel strbuf + 8]
        lodsq
        cld
        SHOW 'lodsq', rax
        lea rax, [rel strbuf]
        sub rsi, rax
        SHOW 'rsi', rsi
        NL

T10:    SAY 'T10 non-canonical addresses: #GP(0), #SS(0)'
        TRY
        mov rax, 0x0000800000000000
        mov rbx, [rax]
        ENDTRY
%ifdef STRICT
        ; Where QEMU 7.2's TCG departs from the SDM (so only in long64-strict, checked against
        ; the SDM's outcomes in long-mode.test.ts): a non-canonical stack reference is #SS(0)
        ; (QEMU: #GP), a near jump to a non-canonical target faults on the JMP (QEMU: on the
        ; target, as AMD), WRMSR of a non-canonical IA32_FS_BASE is #GP(0) (QEMU: accepted).
        TRY
        mov rbp, 0xffff7ffffffffff0
        mov rbx, [rbp + 8]
        ENDTRY
        TRY
        mov rax, 0x0000800000000000
        jmp rax
        ENDTRY
        TRY
        mov ecx, 0xC0000100             ; IA32_FS_BASE
        mov edx, 0x00008000
        xor eax, eax
        wrmsr
        ENDTRY
%endif

T11:    SAY 'T11 #PF error codes with 4-level tables'
        TRY
        mov rax, [0x3FF008]             ; not present, read
        ENDTRY
        TRY
        mov qword [0x3FF010], 1         ; not present, write
        ENDTRY
        TRY
        mov rax, 0xffff800000200000     ; PD entry not present above 4 GB
        mov rax, [rax]
        ENDTRY
        mov rax, 0x3FC000               ; NX page: write a RET there, then call it
        mov byte [rax], 0xc3
        TRY
        call rax
        ENDTRY
        mov rax, cr0
        bts rax, 16                     ; CR0.WP
        mov cr0, rax
        TRY
        mov qword [0x3FD000], 1         ; read-only, supervisor write with WP
        ENDTRY
        mov rax, cr0
        btr rax, 16
        mov cr0, rax
        mov qword [0x3FD000], 7         ; WP = 0: supervisor writes ignore R/W
        SHOW 'wp0-write', [0x3FD000]
        NL

T12:    SAY 'T12 instructions invalid in 64-bit mode: #UD'
        TRY
        db 0x06                         ; PUSH ES
        ENDTRY
        TRY
        db 0x60                         ; PUSHA
        ENDTRY
        TRY
        db 0xd4, 0x0a                   ; AAM
        ENDTRY
        TRY
        db 0xce                         ; INTO
        ENDTRY
        TRY
        db 0xc5, 0xc0                   ; LDS with a register: VEX in 64-bit mode, #UD here
        ENDTRY
        TRY
        db 0x9a, 0, 0, 0, 0, 0x08, 0    ; CALL far ptr16:32
        ENDTRY

T13:    SAY 'T13 control registers and MSRs'
        mov rax, cr4
        SHOW 'cr4', rax
        mov rax, cr3
        SHOW 'cr3', rax
        mov rax, 5
        mov cr8, rax
        mov rbx, cr8
        SHOW 'cr8', rbx
        NL
        ; (the #GP rules of CR0.PG, CR4.PAE and EFER.LME in IA-32e mode are unit-tested against
        ; the SDM in long-mode.test.ts: QEMU 7.2 does not enforce all of them)
        mov ecx, 0xC0000101             ; GS base
        mov eax, gsdata
        xor edx, edx
        wrmsr
        mov ecx, 0xC0000102             ; KERNEL_GS_BASE
        mov eax, gsdata + 8
        xor edx, edx
        wrmsr
        mov rax, [gs:0]
        SHOW 'gs:0', rax
        swapgs
        mov rax, [gs:0]
        SHOW 'swapgs', rax
        swapgs
        mov ecx, 0xC0000102
        rdmsr
        SHOW32 'kgs', eax
        mov ecx, 0xC0000100
        mov eax, gsdata + 8
        xor edx, edx
        wrmsr
        mov rax, [fs:0]
        SHOW 'fs:0', rax
        NL
        sgdt [rel scratch]
        SHOW 'gdt.base', [rel scratch + 2]
        movzx eax, word [rel scratch]
        SHOW 'gdt.limit', rax
        sidt [rel scratch]
        SHOW 'idt.base', [rel scratch + 2]
        NL

T14:    SAY 'T14 INT n in 64-bit mode (same level, IST)'
        mov [rel int_rsp], rsp
        int 0x40
        int 0x41
        NL

T15:    SAY 'T15 SYSCALL/SYSRET round trip, ring 3 fault through TSS.RSP0'
        mov ecx, 0xC0000081             ; STAR: SYSCALL CS 08h, SYSRET base 20h
        xor eax, eax
        mov edx, (SEL_UCODE32 << 16) | SEL_CODE64
        wrmsr
        mov ecx, 0xC0000082             ; LSTAR
        lea rax, [rel syscall_entry]
        mov rdx, rax
        shr rdx, 32
        wrmsr
        mov ecx, 0xC0000084             ; FMASK: TF IF DF
        mov eax, 0x700
        xor edx, edx
        wrmsr
        mov [rel kstack_save], rsp
        mov rsp, USTACK
        lea rcx, [rel user_entry]
        mov r11, 0x402                  ; DF set, to see FMASK clear it
        o64 sysret
after_user:
        NL

T16:    SAY 'T16 SYSEXIT to 64-bit ring 3 (REX.W) and SYSENTER back in IA-32e mode'
        mov ecx, 0x174                  ; IA32_SYSENTER_CS
        mov eax, SEL_CODE64
        xor edx, edx
        wrmsr
        mov ecx, 0x175                  ; IA32_SYSENTER_ESP
        mov eax, 0x8C000
        wrmsr
        mov ecx, 0x176                  ; IA32_SYSENTER_EIP
        lea rax, [rel sysenter_entry]
        mov rdx, rax
        shr rdx, 32
        wrmsr
        mov [rel kstack_save], rsp
        lea rdx, [rel se_user]
        mov rcx, USTACK - 0x100
        o64 sysexit
se_user:
        mov ax, cs
        mov [rel u_cs], ax
        mov ax, ss
        mov [rel u_ss], ax
        mov [rel u_rsp], rsp
        sysenter
sysenter_entry:
        mov rax, rsp
        mov rsp, [rel kstack_save]
        SHOW 'rsp', rax
        mov ax, cs
        movzx eax, ax
        SHOW32 'cs', eax
        mov ax, ss
        movzx eax, ax
        SHOW32 'ss', eax
        SHOW32 'u.cs', [rel u_cs]
        SHOW32 'u.ss', [rel u_ss]
        SHOW 'u.rsp', [rel u_rsp]
        NL

T17:    SAY 'T17 far return to compatibility mode and back'
        mov [rel int_rsp], rsp
        push qword SEL_CODE32
        lea rax, [rel compat_code]
        push rax
        o64 retf
back64:
        mov ax, cs
        movzx eax, ax
        SHOW32 'cs', eax
        NL
        SAY 'LONG DONE'
        mov al, 0
        mov dx, 0xF4
        out dx, al
.h:     hlt
        jmp .h

        bits 32
compat_code:                            ; CS = 18h: 32-bit code in IA-32e mode
        mov ax, cs
        movzx eax, ax
        push eax
        mov esi, t16_cs
        call puts
        pop eax
        call puthex32
        mov eax, 5
        db 0x48                         ; DEC EAX (a REX prefix only in 64-bit mode)
        push eax
        mov esi, t16_dec
        call puts
        pop eax
        call puthex32
        int 0x40                        ; delivered through the 64-bit IDT, IRETQ back here
        call putnl
        jmp SEL_CODE64:back64
t16_cs:  db ' compat cs=', 0
t16_dec: db ' dec=', 0
        bits 64

; ---- ring 3 ----------------------------------------------------------------------------
user_entry:
        mov ax, cs
        mov [rel u_cs], ax
        mov ax, ss
        mov [rel u_ss], ax
        pushfq
        pop rax
        mov [rel u_fl], rax
        mov rbx, 0x1122334455667788
        syscall
user_second:
        cli                             ; IOPL 0: #GP(0) from ring 3
        jmp user_second

syscall_entry:                          ; CPL 0, RSP is the user's
        mov [rel u_rsp], rsp
        mov rsp, [rel kstack_save]
        push r11
        push rcx
        mov ax, cs
        movzx eax, ax
        SHOW32 'cs', eax
        mov ax, ss
        movzx eax, ax
        SHOW32 'ss', eax
        SHOW32 'u.cs', [rel u_cs]
        SHOW32 'u.ss', [rel u_ss]
        mov rax, [rel u_fl]
        and rax, 0x3700
        SHOW 'u.fl', rax
        NL
        pop rcx
        lea rax, [rel user_second]
        sub rcx, rax
        SHOW 'rcx', rcx
        pop r11
        and r11, 0x3fd7
        SHOW 'r11', r11
        pushfq
        pop rax
        and rax, 0x700
        SHOW 'fl', rax
        SHOW 'rbx', rbx
        SHOW 'ursp', [rel u_rsp]
        NL
        ; back to ring 3 at user_second (whose CLI faults into the IDT's #GP handler)
        TRY
        lea rcx, [rel user_second]
        mov r11, 0x002
        mov rsp, [rel u_rsp]
        o64 sysret
        ENDTRY
        jmp after_user

; ---- IDT and handlers ---------------------------------------------------------------------
build_idt:
        lea rsi, [rel exc_stubs]
        mov rdi, IDT64
        xor ecx, ecx
.l:     mov rax, rsi
        call set_gate
        add rsi, STUB_SIZE
        add rdi, 16
        inc ecx
        cmp ecx, 32
        jb .l
        lea rax, [rel int40]
        mov rdi, IDT64 + 0x40 * 16
        call set_gate
        lea rax, [rel int41]
        mov rdi, IDT64 + 0x41 * 16
        call set_gate
        mov byte [rdi + 4], 1           ; IST1
        mov byte [rdi + 5], 0xEE        ; DPL 3 (reachable by INT from ring 3), interrupt gate
        ret
set_gate:                               ; RAX = handler, RDI = gate
        mov [rdi], ax
        mov word [rdi + 2], SEL_CODE64
        mov word [rdi + 4], 0x8E00      ; present, DPL 0, 64-bit interrupt gate
        shr rax, 16
        mov [rdi + 6], ax
        shr rax, 16
        mov [rdi + 8], eax
        mov dword [rdi + 12], 0
        ret

STUB_SIZE equ 16
        align 16
exc_stubs:
%assign v 0
%rep 32
        align 16
%if v == 8 || (v >= 10 && v <= 14) || v == 17
        push qword v
        jmp exc_common
%else
        push qword 0
        push qword v
        jmp exc_common
%endif
%assign v v + 1
%endrep

exc_common:                             ; [rsp] vector, [rsp+8] error, then RIP CS RFLAGS RSP SS
        mov rbp, rsp
        SAYN '  EXC '
        mov rax, [rbp]
        call puthex8_64
        SHOW32 'err', [rbp + 8]
        SHOW 'rip', [rbp + 16]
        SHOW32 'cs', [rbp + 24]
        mov rax, [rbp + 32]
        and rax, 0x3741
        SHOW32 'fl', eax
        SHOW 'rsp', [rbp + 40]
        SHOW32 'ss', [rbp + 48]
        lea rax, [rbp + 56]
        and eax, 15
        SHOW32 'al', eax
        cmp qword [rbp], 14
        jne .n
        mov rax, cr2
        SHOW 'cr2', rax
.n:     NL
        mov ax, ss
        movzx eax, ax
        test eax, eax                   ; a privilege change left a null SS
        jnz .r
        SAY '  handler ss=0'
.r:     mov ax, SEL_DATA
        mov ss, ax
        mov rsp, [rel resume_rsp]
        jmp [rel resume_rip]

int40:
        push rbp
        push rax
        mov rbp, rsp
        SAYN ' INT40'
        SHOW32 'cs', [rbp + 24]
        lea rax, [rbp + 56]
        and eax, 15
        SHOW32 'al', eax
        mov rax, [rel int_rsp]
        sub rax, rbp
        SHOW32 'depth', eax
        pop rax
        pop rbp
        iretq
int41:                                  ; through IST1
        SAYN ' INT41'
        mov rax, IST1_TOP
        sub rax, rsp
        SHOW32 'ist-depth', eax
        mov rax, [rsp + 24]
        cmp rax, [rel int_rsp]
        sete al
        movzx eax, al
        SHOW32 'saved-rsp-ok', eax
        iretq

; ---- 64-bit printing -------------------------------------------------------------------
putc64:                                 ; AL
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
puts64:                                 ; RSI
        push rsi
        push rax
.l:     mov al, [rsi]
        test al, al
        jz .d
        call putc64
        inc rsi
        jmp .l
.d:     pop rax
        pop rsi
        ret
puthex64:                               ; RAX, 16 digits
        push rcx
        push rax
        mov ecx, 16
.l:     rol rax, 4
        push rax
        and al, 0x0F
        add al, '0'
        cmp al, '9'
        jbe .p
        add al, 'a' - '0' - 10
.p:     call putc64
        pop rax
        dec ecx
        jnz .l
        pop rax
        pop rcx
        ret
puthex32_64:                            ; EAX, 8 digits
        push rax
        shl rax, 32
        push rcx
        mov ecx, 8
.l:     rol rax, 4
        push rax
        and al, 0x0F
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
puthex8_64:                             ; AL, 2 digits
        push rax
        shl rax, 56
        push rcx
        mov ecx, 2
.l:     rol rax, 4
        push rax
        and al, 0x0F
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
putnl64:
        push rax
        mov al, 10
        call putc64
        pop rax
        ret

; ---- data ------------------------------------------------------------------------------
        align 8
gdt64:
        dq 0
        dq 0x00AF9A000000FFFF           ; 08: 64-bit code, DPL 0
        dq 0x00CF92000000FFFF           ; 10: data, DPL 0
        dq 0x00CF9A000000FFFF           ; 18: 32-bit code, DPL 0 (compatibility mode)
        dq 0x00CFFA000000FFFF           ; 20: 32-bit code, DPL 3 (SYSRET to compatibility mode)
        dq 0x00CFF2000000FFFF           ; 28: data, DPL 3
        dq 0x00AFFA000000FFFF           ; 30: 64-bit code, DPL 3
        dw 103, TSS64 & 0xFFFF          ; 38: 64-bit TSS (16 bytes)
        db (TSS64 >> 16) & 0xFF, 0x89, 0, TSS64 >> 24
        dd 0, 0
gdt64_end:
gdt64_desc:
        dw gdt64_end - gdt64 - 1
        dq gdt64
idt_desc:
        dw 256 * 16 - 1
        dq IDT64
        align 8
rip_target:
rip_data:   dq 0x0f1e2d3c4b5a6978, 0x8796a5b4c3d2e1f0
gsdata:     dq 0x6767676767676767, 0x4b4b4b4b4b4b4b4b
resume_rsp: dq 0
resume_rip: dq 0
kstack_save: dq 0
int_rsp:    dq 0
u_rsp:      dq 0
u_fl:       dq 0
u_cs:       dq 0
u_ss:       dq 0
bitbuf:     dq 0, 0
scratch:    times 16 db 0
strbuf:     times 80 db 0

%include "boot_end.inc"
