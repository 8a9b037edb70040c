; cpu-hostdiff: user-level instruction differential test, vmxlab against the host CPU.
;
; One source, two builds (see build.sh):
;   nasm -f bin -DHOST hostdiff.asm -o hostdiff.elf   static ELF32 Linux program, output on
;                                                    stdout (int 0x80 write/exit)
;   nasm -f bin        hostdiff.asm -o hostdiff.img   boot image (boot.inc): 32-bit protected
;                                                    mode, flat segments, output on COM1
; Both run the same test body: for each instruction form, CASES cases with operands from a
; xorshift32 PRNG (reseeded per form, so one form can be rerun alone), results and EFLAGS
; masked to the flags the SDM defines for that form hashed into one line:
;     <form name> <hash>
; The transcript starts with "HOSTDIFF START cases=N" and ends with "HOSTDIFF DONE forms=N".
;
; Run-time configuration block (found by its signature 'HDCFG!!!', patched by the test):
;     +8  dd cases per form
;     +12 dd verbose form number (1-based; 0xFFFFFFFF = none). When set, only that form runs,
;            and every case prints "in: a b c d m mh f | out: a b c d m mh f" (hex).
;
; EFLAGS masks used below (SDM Vol. 2 "Flags Affected"; bits OF=800 SF=80 ZF=40 AF=10 PF=4
; CF=1; a flag that the instruction leaves unchanged is *defined*: it must equal the input):
;   form                           defined flags         mask   undefined
;   ADD ADC SUB SBB CMP NEG        OF SF ZF AF PF CF     8D5    -
;   INC DEC                        OF SF ZF AF PF, CF=in 8D5    -
;   AND OR XOR TEST                OF=0 SF ZF PF CF=0    8C5    AF
;   NOT BSWAP SETcc CMOVcc MOVSX   all unchanged         8D5    -
;   MOVZX CBW CWDE CWD CDQ LEA
;   shifts SHL SHR SAR, count 0    all unchanged         8D5
;          count 1                 OF SF ZF PF CF        8C5    AF
;          count >1                SF ZF PF CF           0C5    OF AF
;          SHL/SHR count >= size   SF ZF PF              0C4    OF AF CF   (8/16-bit only)
;   ROL ROR RCL RCR, count 0       all unchanged         8D5
;          count 1                 OF CF, SZAP unchanged 8D5    -
;          count >1                CF, SZAP unchanged    0D5    OF
;   SHLD SHRD count 0              all unchanged         8D5
;          count 1                 OF SF ZF PF CF        8C5    AF
;          count >1                SF ZF PF CF           0C5    OF AF
;          16-bit, count > 16      none, result undefined 000
;   MUL IMUL                       OF CF                 801    SF ZF AF PF
;   DIV IDIV                       none                  000    all
;   DAA DAS                        SF ZF AF PF CF        0D5    OF
;   AAA AAS                        AF CF                 011    OF SF ZF PF
;   AAM AAD                        SF ZF PF              0C4    OF AF CF
;   BT BTS BTR BTC                 CF, ZF unchanged      041    OF SF AF PF
;   BSF BSR                        ZF (dest undefined    040    CF OF SF AF PF
;                                  when the source is 0)
;   XADD CMPXCHG                   as ADD / CMP          8D5
;   CMPXCHG8B                      ZF, others unchanged  8D5
;   CMPS SCAS                      as CMP (unchanged     8D5
;                                  when ECX=0 with REP)
;   MOVS STOS LODS                 all unchanged         8D5

%ifndef CASES
%define CASES 2000
%endif
%define SEED 0x2545F491

F_ARITH equ 0x8D5
F_LOGIC equ 0x8C5
F_ALL   equ 0x8D5
F_MUL   equ 0x801

DBUF_SIZE equ 512

%ifdef HOST
; ======================================================================================
; Host build: a static ELF32 executable written directly by nasm (no linker needed).
; ======================================================================================
        bits 32
        org 0x08048000
elf_ehdr:
        db 0x7F, 'ELF', 1, 1, 1, 0       ; ELFCLASS32, little endian, version 1, SYSV
        times 8 db 0
        dw 2                             ; ET_EXEC
        dw 3                             ; EM_386
        dd 1                             ; EV_CURRENT
        dd host_start                    ; e_entry
        dd elf_phdr - $$                 ; e_phoff
        dd 0                             ; e_shoff
        dd 0                             ; e_flags
        dw 52                            ; e_ehsize
        dw 32                            ; e_phentsize
        dw 1                             ; e_phnum
        dw 40                            ; e_shentsize
        dw 0                             ; e_shnum
        dw 0                             ; e_shstrndx
elf_phdr:
        dd 1                             ; PT_LOAD
        dd 0                             ; p_offset
        dd $$                            ; p_vaddr
        dd $$                            ; p_paddr
        dd image_end - $$                ; p_filesz
        dd bss_end - $$                  ; p_memsz
        dd 7                             ; PF_R | PF_W | PF_X
        dd 0x1000                        ; p_align

host_start:
        cld
        call test_main
        call out_flush
        mov eax, 1                       ; exit(0)
        xor ebx, ebx
        int 0x80

OUTBUF_SIZE equ 4096
out_char:                                ; AL
        push edi
        mov edi, [outpos]
        mov [outbuf + edi], al
        inc edi
        mov [outpos], edi
        cmp edi, OUTBUF_SIZE
        jb .r
        call out_flush
.r:     pop edi
        ret

out_flush:
        pushad
        mov esi, outbuf
        mov edi, [outpos]
.w:     test edi, edi
        jz .d
        mov eax, 4                       ; write(1, esi, edi)
        mov ebx, 1
        mov ecx, esi
        mov edx, edi
        int 0x80
        test eax, eax
        jle .d                           ; error: give up (the test sees a short transcript)
        add esi, eax
        sub edi, eax
        jmp .w
.d:     mov dword [outpos], 0
        popad
        ret

%else
; ======================================================================================
; Guest build: boot sector, protected mode, COM1.
; ======================================================================================
%define PANIC_MARKER 'HOSTDIFF FAIL'
%include "../common/boot.inc"
        bits 32
stage2_entry:
        call serial_init
        call panic_idt_install
        call test_main
        xor al, al
        jmp guest_exit

out_char:
        jmp putc

%include "../common/serial.inc"
%include "../common/exit.inc"
%include "../common/panic-idt.inc"
%endif

; ======================================================================================
; Configuration (patched by test/diff/hostdiff.test.ts)
; ======================================================================================
        align 4
cfg_block:
        db 'HDCFG!!!'
cfg_cases:   dd CASES
cfg_verbose: dd 0xFFFFFFFF

; ======================================================================================
; Output helpers (in terms of out_char)
; ======================================================================================
o_str:                                   ; ESI
        push esi
        push eax
.l:     mov al, [esi]
        test al, al
        jz .d
        call out_char
        inc esi
        jmp .l
.d:     pop eax
        pop esi
        ret

o_hex:                                   ; EAX
        push ecx
        push eax
        mov ecx, 8
.l:     rol eax, 4
        push eax
        and al, 0x0F
        add al, '0'
        cmp al, '9'
        jbe .p
        add al, 'a' - '0' - 10
.p:     call out_char
        pop eax
        dec ecx
        jnz .l
        pop eax
        pop ecx
        ret

o_dec:                                   ; EAX
        pushad
        mov ebx, 10
        xor ecx, ecx
.d:     xor edx, edx
        div ebx
        push edx
        inc ecx
        test eax, eax
        jnz .d
.p:     pop eax
        add al, '0'
        call out_char
        dec ecx
        jnz .p
        popad
        ret

o_chr:                                   ; AL, preserves EAX
        call out_char
        ret

; ======================================================================================
; PRNG and operand generation
; ======================================================================================
rand:                                    ; EAX = xorshift32
        push edx
        mov eax, [rng]
        mov edx, eax
        shl edx, 13
        xor eax, edx
        mov edx, eax
        shr edx, 17
        xor eax, edx
        mov edx, eax
        shl edx, 5
        xor eax, edx
        mov [rng], eax
        pop edx
        ret

special_vals:
        dd 0, 1, 0xFFFFFFFF, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000
        dd 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFF80, 0xFFFF8000, 0x100, 0x10000, 0x0F0F0F0F

rand_op:                                 ; EAX = an operand with an interesting distribution
        push ebx
        push ecx
        call rand
        mov ebx, eax
        call rand
        mov ecx, ebx
        and ecx, 7
        cmp ecx, 4
        jb .done                         ; 0-3: uniform
        je .small
        cmp ecx, 6
        jb .special
        je .shifted
        ; 7: the previous operand, or it with one bit flipped
        mov eax, [last_op]
        test ebx, 8
        jz .done
        mov ecx, ebx
        shr ecx, 4
        and ecx, 31
        mov ebx, 1
        shl ebx, cl
        xor eax, ebx
        jmp .done
.small: and eax, 0xFF
        test ebx, 8
        jz .done
        neg eax
        jmp .done
.special:
        shr ebx, 3
        and ebx, 15
        mov eax, [special_vals + ebx * 4]
        jmp .done
.shifted:
        mov ecx, ebx
        shr ecx, 3
        and ecx, 31
        shr eax, cl
.done:  mov [last_op], eax
        pop ecx
        pop ebx
        ret

rand_flags:                              ; EAX = random arithmetic flags (IF, DF, TF clear)
        call rand
        and eax, F_ARITH
        or eax, 2
        ret

; Shift/rotate counts: mostly 0-63, sometimes any byte; upper bits of ECX random.
rand_count:
        push ebx
        call rand
        mov ebx, eax
        call rand
        and eax, 0xFFFFFF00
        test ebx, 3
        jz .any
        shr ebx, 2
        and ebx, 63
        or eax, ebx
        jmp .d
.any:   shr ebx, 2
        and ebx, 0xFF
        or eax, ebx
.d:     pop ebx
        ret

; ======================================================================================
; Hashing and the form harness
; ======================================================================================
rec:                                     ; EAX: a result to hash (all registers preserved)
        push edx
        mov edx, [hash]
        add edx, eax
        push eax
        mov eax, edx
        shl eax, 10
        add edx, eax
        mov eax, edx
        shr eax, 6
        xor edx, eax
        pop eax
        mov [hash], edx
        pop edx
        cmp byte [verbose_on], 0
        jne .v
        ret
.v:     call o_hex
        push eax
        mov al, ' '
        call o_chr
        pop eax
        ret

; ESI = form name. Returns CF=1 when this form is to be skipped.
form_begin:
        pushad
        inc dword [form_idx]
        mov [form_name], esi
        mov eax, [cfg_verbose]
        cmp eax, 0xFFFFFFFF
        je .run
        cmp eax, [form_idx]
        je .verbose
        popad
        stc
        ret
.verbose:
        mov byte [verbose_on], 1
        call o_str
        mov al, 10
        call o_chr
.run:
        mov eax, [form_idx]
        mov edx, eax
        shl edx, 16
        xor eax, edx
        xor eax, SEED
        jnz .s
        inc eax
.s:     mov [rng], eax
        call rand
        call rand
        call rand
        mov dword [hash], 0x811C9DC5
        mov eax, [cfg_cases]
        mov [case_left], eax
        ; data buffer for memory, bit-string and string forms
        mov edi, dbuf
        mov ecx, DBUF_SIZE / 4
.f:     call rand
        mov [edi], eax
        add edi, 4
        dec ecx
        jnz .f
        popad
        clc
        ret

case_end:
        cmp byte [verbose_on], 0
        je .r
        push eax
        mov al, 10
        call o_chr
        pop eax
.r:     ret

form_end:
        pushad
        mov edx, [hash]
        mov eax, edx
        shl eax, 3
        add edx, eax
        mov eax, edx
        shr eax, 11
        xor edx, eax
        mov eax, edx
        shl eax, 15
        add edx, eax
        mov byte [verbose_on], 0
        inc dword [forms_run]
        mov esi, [form_name]
        call o_str
        mov al, ' '
        call o_chr
        mov eax, edx
        call o_hex
        mov al, 10
        call o_chr
        popad
        ret

%macro FORM 1
        %push form
        jmp %%code
%%name: db %1, 0
%%code:
        mov esi, %%name
        call form_begin
        jc near %$skip
%$loop:
%endmacro

%macro ENDFORM 0
        call case_end
        dec dword [case_left]
        jnz near %$loop
        call form_end
%$skip:
        %pop
%endmacro

; Standard case: va..vd random operands, vf random flags, mem_op/mem_op_hi random,
; mem_op2 = vb. Result masks all ones, flags mask F_ALL.
gen_std:
        push eax
        call rand_op
        mov [va], eax
        call rand_op
        mov [vb], eax
        mov [mem_op2], eax
        call rand_op
        mov [vc], eax
        call rand_op
        mov [vd], eax
        call rand_op
        mov [mem_op], eax
        call rand
        mov [mem_op_hi], eax
        call rand_flags
        mov [vf], eax
        mov eax, 0xFFFFFFFF
        mov [rmask_a], eax
        mov [rmask_b], eax
        mov [rmask_c], eax
        mov [rmask_d], eax
        mov [rmask_m], eax
        mov dword [cur_fmask], F_ALL
        pop eax
        ret

; Loads EAX..EDX from va..vd and EFLAGS from vf (the instruction under test follows the call).
load_std:
        cmp byte [verbose_on], 0
        je .l
        call print_inputs
        call print_out_sep
.l:     mov eax, [va]
        mov ebx, [vb]
        mov ecx, [vc]
        mov edx, [vd]
        mov esi, ecx                     ; deterministic ESI/EDI/EBP for the LEA forms
        xor esi, ebx
        mov edi, edx
        xor edi, eax
        lea ebp, [eax + ebx]
        push dword [vf]
        popfd
        ret

print_inputs:
        pushad
        mov esi, s_in
        call o_str
        mov eax, [va]
        call o_hex_sp
        mov eax, [vb]
        call o_hex_sp
        mov eax, [vc]
        call o_hex_sp
        mov eax, [vd]
        call o_hex_sp
        mov eax, [mem_op]
        call o_hex_sp
        mov eax, [mem_op_hi]
        call o_hex_sp
        mov eax, [vf]
        call o_hex_sp
        popad
        ret
print_out_sep:
        push esi
        mov esi, s_out
        call o_str
        pop esi
        ret
o_hex_sp:
        call o_hex
        push eax
        mov al, ' '
        call o_chr
        pop eax
        ret
s_in:   db 'in: ', 0
s_out:  db '| out: ', 0

; After `pushfd`: records EAX..EDX, mem_op, mem_op_hi (each masked) and the masked flags.
save_std:
        mov [ra], eax
        mov [rb], ebx
        mov [rc], ecx
        mov [rd], edx
        mov eax, [esp + 4]
        and eax, [cur_fmask]
        mov [rf], eax
        mov eax, [ra]
        and eax, [rmask_a]
        call rec
        mov eax, [rb]
        and eax, [rmask_b]
        call rec
        mov eax, [rc]
        and eax, [rmask_c]
        call rec
        mov eax, [rd]
        and eax, [rmask_d]
        call rec
        mov eax, [mem_op]
        and eax, [rmask_m]
        call rec
        mov eax, [mem_op_hi]
        call rec
        mov eax, [rf]
        call rec
        ret 4

; T name, flagmask, instruction [, instruction...]: a standard case per instruction list.
%macro T 3-*
        FORM %1
        call gen_std
        mov dword [cur_fmask], %2
        call load_std
 %rep %0 - 2
        %rotate 1
        %2
 %endrep
        pushfd
        call save_std
        ENDFORM
%endmacro

; ======================================================================================
; Special generators
; ======================================================================================

; Shift/rotate flag and result masks. EAX = kind (0 SHL, 1 SHR, 2 SAR, 3 ROL/ROR/RCL/RCR,
; 4 SHLD/SHRD), EDX = operand size in bits, count in CL of [vc].
SK_SHL equ 0
SK_SHR equ 1
SK_SAR equ 2
SK_ROT equ 3
SK_DBL equ 4
shift_masks:
        push ecx
        mov ecx, [vc]
        and ecx, 31
        mov dword [cur_fmask], F_ALL
        jz .done                         ; count 0: nothing changes
        cmp eax, SK_ROT
        je .rot
        ja .dbl
        mov dword [cur_fmask], 0x0C5     ; SF ZF PF CF
        cmp ecx, 1
        jne .s1
        or dword [cur_fmask], 0x800
.s1:    cmp eax, SK_SAR
        je .done
        cmp ecx, edx
        jb .done
        and dword [cur_fmask], ~1        ; SHL/SHR count >= size: CF undefined
        jmp .done
.rot:   mov dword [cur_fmask], 0x0D5
        cmp ecx, 1
        jne .done
        or dword [cur_fmask], 0x800
        jmp .done
.dbl:   cmp ecx, edx
        jbe .dok
        mov dword [cur_fmask], 0         ; 16-bit SHLD/SHRD count > 16: all undefined
        mov dword [rmask_a], 0xFFFF0000
        mov dword [rmask_m], 0xFFFF0000
        jmp .done
.dok:   mov dword [cur_fmask], 0x0C5
        cmp ecx, 1
        jne .done
        or dword [cur_fmask], 0x800
.done:  pop ecx
        ret

; Shift form with count in CL: SHCL name, kind, size, instruction
%macro SHCL 4
        FORM %1
        call gen_std
        call rand_count
        mov [vc], eax
        mov eax, %2
        mov edx, %3
        call shift_masks
        call load_std
        %4
        pushfd
        call save_std
        ENDFORM
%endmacro

; Shift form with a constant count: SHK name, kind, size, count, instruction
%macro SHK 5
        FORM %1
        call gen_std
        mov eax, [vc]
        and eax, 0xFFFFFF00
        or eax, %4
        mov [vc], eax
        mov eax, %2
        mov edx, %3
        call shift_masks
        call load_std
        %5
        pushfd
        call save_std
        ENDFORM
%endmacro

; 64-bit mask of n bits: ECX = n (0-63) -> EDX:EAX
mask64:
        cmp ecx, 32
        jae .hi
        xor edx, edx
        mov eax, 1
        shl eax, cl
        dec eax
        ret
.hi:    sub ecx, 32
        mov edx, 1
        shl edx, cl
        dec edx
        mov eax, 0xFFFFFFFF
        add ecx, 32
        ret

; DIV/IDIV operands that cannot raise #DE. [div_size] = 8/16/32, [div_signed] = 0/1.
; Divisor d (the low div_size bits of vb / mem_op2): nonzero. With 2^k <= |d|, the dividend
; V has fewer than size+k bits (unsigned) or |V| fewer than size-1+k bits (signed), so the
; quotient fits. V goes to AX (8), DX:AX (16) or EDX:EAX (32).
gen_div:
        pushad
        ; divisor, sign- or zero-extended from div_size bits
        call rand_op
        mov ecx, 32
        sub ecx, [div_size]
        shl eax, cl
        cmp dword [div_signed], 0
        je .u
        sar eax, cl
        jmp .x
.u:     shr eax, cl
.x:     test eax, eax
        jnz .nz
        inc eax
.nz:    mov [dval], eax
        mov ebx, eax
        cmp dword [div_signed], 0
        je .abs
        test ebx, ebx
        jns .abs
        neg ebx
.abs:   xor edx, edx                     ; k = floor(log2 |d|)
.lg:    shr ebx, 1
        jz .lgd
        inc edx
        jmp .lg
.lgd:   mov ecx, [div_size]
        add ecx, edx
        sub ecx, [div_signed]            ; bits available to the dividend
        mov esi, ecx
        call rand                        ; n = rand & 63, at most the limit
        mov ecx, eax
        and ecx, 63
        cmp ecx, esi
        jbe .n
        mov ecx, esi
.n:     call mask64
        mov esi, eax
        mov edi, edx
        call rand
        and esi, eax
        call rand
        and edi, eax                     ; V = EDI:ESI
        cmp dword [div_signed], 0
        je .place
        call rand
        test eax, 1
        jz .place
        neg esi                          ; V = -V
        adc edi, 0
        neg edi
.place: mov eax, [div_size]
        cmp eax, 8
        je .p8
        cmp eax, 16
        je .p16
        mov [va], esi
        mov [vd], edi
        mov eax, [dval]
        mov [vb], eax
        mov [mem_op2], eax
        jmp .done
.p16:   mov eax, [va]
        mov ax, si
        mov [va], eax
        shr esi, 16
        mov eax, [vd]
        mov ax, si
        mov [vd], eax
        mov eax, [vb]
        mov ebx, [dval]
        mov ax, bx
        mov [vb], eax
        mov [mem_op2], eax
        jmp .done
.p8:    mov eax, [va]
        mov ax, si
        mov [va], eax
        mov eax, [vb]
        mov ebx, [dval]
        mov al, bl
        mov [vb], eax
        mov [mem_op2], eax
.done:  popad
        ret

; DIVF name, size, signed, instruction
%macro DIVF 4
        FORM %1
        call gen_std
        mov dword [div_size], %2
        mov dword [div_signed], %3
        call gen_div
        mov dword [cur_fmask], 0
        call load_std
        %4
        pushfd
        call save_std
        ENDFORM
%endmacro

; 50%: make the accumulator equal to the destination (CMPXCHG). EAX = address of the
; destination value, EBX = bytes to copy (1, 2, 4, 8: 8 copies mem_op:mem_op_hi to va:vd).
cx_equalize:
        push eax
        call rand
        test eax, 0x100
        pop eax
        jz .r
        push ecx
        push edx
        mov ecx, [eax]
        mov edx, [va]
        cmp ebx, 1
        jne .w
        mov dl, cl
        jmp .s
.w:     cmp ebx, 2
        jne .d
        mov dx, cx
        jmp .s
.d:     mov edx, ecx
        cmp ebx, 8
        jne .s
        mov ecx, [eax + 4]
        mov [vd], ecx
.s:     mov [va], edx
        pop edx
        pop ecx
.r:     ret

; Bit-string offsets for memory BT*: vb = -256..255 (bits around dbuf_mid).
gen_btoff:
        push eax
        call rand
        and eax, 0x1FF
        sub eax, 256
        mov [vb], eax
        pop eax
        ret

; Checksum of the 64 bytes around dbuf_mid, hashed.
rec_btregion:
        pushad
        mov esi, dbuf + DBUF_SIZE / 2 - 32
        mov ecx, 16
        call region_sum
        call rec
        popad
        ret

; EAX = checksum of ECX dwords at ESI
region_sum:
        push ebx
        xor eax, eax
.l:     rol eax, 5
        mov ebx, [esi]
        xor eax, ebx
        add eax, ecx
        add esi, 4
        dec ecx
        jnz .l
        pop ebx
        ret

; BSF/BSR: 1/8 cases with a zero source; then the destination is undefined.
; EAX = operand size (16/32); the source is vb (and mem_op2).
bs_fix:
        push eax
        call rand
        test eax, 0x700
        pop eax
        jnz .chk
        cmp eax, 16
        jne .z32
        and dword [vb], 0xFFFF0000
        jmp .zs
.z32:   mov dword [vb], 0
.zs:    push eax
        mov eax, [vb]
        mov [mem_op2], eax
        pop eax
.chk:   cmp eax, 16
        jne .c32
        test word [vb], 0xFFFF
        jnz .r
        mov dword [rmask_a], 0xFFFF0000
        ret
.c32:   cmp dword [vb], 0
        jne .r
        mov dword [rmask_a], 0
.r:     ret

; ---- string forms ------------------------------------------------------------------
; dbuf refilled per case? No: filled once per form (form_begin); the string ops keep
; modifying it, and the checksum of the whole buffer is hashed after each case.
; ESI/EDI start in dbuf[128, 384), ECX = 0-31, DF random.
gen_str:
        push eax
        push ebx
        call rand
        mov ebx, eax
        and ebx, 0xFF
        add ebx, 128
        mov [vsi], ebx
        mov ebx, eax
        shr ebx, 8
        and ebx, 0xFF
        add ebx, 128
        mov [vdi], ebx
        mov ebx, eax
        shr ebx, 16
        and ebx, 31
        test eax, 7 << 21                ; 1/8 of the cases: ECX = 0
        jnz .c
        xor ebx, ebx
.c:     mov [vcnt], ebx
        shr eax, 24
        and eax, 1
        shl eax, 10                      ; DF
        or [vf], eax
        pop ebx
        pop eax
        ret

; small-alphabet buffer for CMPS/SCAS: mostly zero bytes, some ones
str_smallalpha:
        pushad
        mov edi, dbuf
        mov ecx, DBUF_SIZE
.l:     call rand
        test al, 7
        mov al, 0
        jnz .s
        mov al, 1
.s:     mov [edi], al
        inc edi
        dec ecx
        jnz .l
        popad
        ret

load_str:
        cmp byte [verbose_on], 0
        je .l
        call print_inputs
        push eax
        mov eax, [vsi]
        call o_hex_sp
        mov eax, [vdi]
        call o_hex_sp
        mov eax, [vcnt]
        call o_hex_sp
        call print_out_sep
        pop eax
.l:     mov eax, [va]
        mov edx, [vd]
        mov ebx, [vb]
        mov ecx, [vcnt]
        mov esi, [vsi]
        add esi, dbuf
        mov edi, [vdi]
        add edi, dbuf
        push dword [vf]
        popfd
        ret

; After pushfd: records ESI/EDI (relative to dbuf), ECX, EAX, EDX, masked flags, buffer sum.
save_str:
        cld
        mov [ra], eax
        mov eax, [esp + 4]
        and eax, [cur_fmask]
        mov [rf], eax
        mov eax, [ra]
        call rec
        mov eax, edx
        call rec
        mov eax, ecx
        call rec
        mov eax, esi
        sub eax, dbuf
        call rec
        mov eax, edi
        sub eax, dbuf
        call rec
        mov eax, [rf]
        call rec
        push esi
        push ecx
        mov esi, dbuf
        mov ecx, DBUF_SIZE / 4
        call region_sum
        call rec
        pop ecx
        pop esi
        ret 4

; STR name, alphabet (0 random, 1 small), acc (0 random, 1 = 0/1 value), instruction
%macro STR 4
        FORM %1
 %if %2
        mov eax, [cfg_cases]             ; first case of the form: small-alphabet buffer
        cmp [case_left], eax
        jne %%nofill
        call str_smallalpha
%%nofill:
 %endif
        call gen_std
        call gen_str
 %if %3
        call rand
        and eax, 0x00010001
        mov [va], eax
 %endif
        call load_str
        %4
        pushfd
        call save_str
        ENDFORM
%endmacro

; ======================================================================================
; The test body
; ======================================================================================
s_start: db 'HOSTDIFF START cases=', 0
s_done:  db 'HOSTDIFF DONE forms=', 0

test_main:
        mov dword [outpos], 0
        mov dword [form_idx], 0
        mov dword [forms_run], 0
        mov byte [verbose_on], 0
        mov dword [last_op], 0
        mov esi, s_start
        call o_str
        mov eax, [cfg_cases]
        call o_dec
        mov al, 10
        call o_chr

; ---- two-operand ALU ----------------------------------------------------------------
%macro ALU 2 ; mnemonic, flag mask
        T  {%str(%1 r8,r8)},    %2, {%1 al, bh}
        T  {%str(%1 r8h,r8)},   %2, {%1 ch, dl}
        T  {%str(%1 r16,r16)},  %2, {%1 ax, bx}
        T  {%str(%1 r32,r32)},  %2, {%1 eax, ebx}
        T  {%str(%1 m8,r8)},    %2, {%1 byte [mem_op], bl}
        T  {%str(%1 m32,r32)},  %2, {%1 [mem_op], ecx}
        T  {%str(%1 r16,m16)},  %2, {%1 dx, [mem_op2]}
        T  {%str(%1 r32,m32)},  %2, {%1 edx, [mem_op2]}
        T  {%str(%1 al,imm8)},  %2, {%1 al, 0x81}
        T  {%str(%1 eax,imm32)},%2, {%1 eax, 0x7FFFFFFF}
        T  {%str(%1 r8,imm8)},  %2, {%1 cl, 0x7F}
        T  {%str(%1 r16,imm16)},%2, {%1 dx, 0x8001}
        T  {%str(%1 r32,imm8s)},%2, {%1 ebx, byte -2}
        T  {%str(%1 m16,imm8s)},%2, {%1 word [mem_op], byte 1}
        T  {%str(%1 m32,imm32)},%2, {%1 dword [mem_op], 0x80000000}
%endmacro
        ALU add, F_ARITH
        ALU adc, F_ARITH
        ALU sub, F_ARITH
        ALU sbb, F_ARITH
        ALU and, F_LOGIC
        ALU or,  F_LOGIC
        ALU xor, F_LOGIC
        ALU cmp, F_ARITH
        T  "test r8,r8",     F_LOGIC, {test al, bh}
        T  "test r16,r16",   F_LOGIC, {test ax, bx}
        T  "test r32,r32",   F_LOGIC, {test eax, ebx}
        T  "test m32,r32",   F_LOGIC, {test [mem_op], ecx}
        T  "test al,imm8",   F_LOGIC, {test al, 0x81}
        T  "test eax,imm32", F_LOGIC, {test eax, 0x80000001}
        T  "test m8,imm8",   F_LOGIC, {test byte [mem_op], 0x40}
        T  "test r16,imm16", F_LOGIC, {test dx, 0x8001}

; ---- one-operand ALU ----------------------------------------------------------------
%macro UNARY 2
        T  {%str(%1 r8)},   %2, {%1 bl}
        T  {%str(%1 r8h)},  %2, {%1 ah}
        T  {%str(%1 r16)},  %2, {%1 cx}
        T  {%str(%1 r32)},  %2, {%1 edx}
        T  {%str(%1 m8)},   %2, {%1 byte [mem_op]}
        T  {%str(%1 m16)},  %2, {%1 word [mem_op]}
        T  {%str(%1 m32)},  %2, {%1 dword [mem_op]}
%endmacro
        UNARY inc, F_ARITH
        UNARY dec, F_ARITH
        UNARY neg, F_ARITH
        UNARY not, F_ALL
        T  "inc r32 (FF /0)", F_ARITH, {db 0xFF, 0xC0}
        T  "dec r16 (FF /1)", F_ARITH, {db 0x66, 0xFF, 0xCB}

; ---- shifts and rotates -------------------------------------------------------------
%macro SHIFTS 2 ; mnemonic, kind
        SHCL {%str(%1 r8,cl)},   %2, 8,  {%1 al, cl}
        SHCL {%str(%1 r8h,cl)},  %2, 8,  {%1 bh, cl}
        SHCL {%str(%1 r16,cl)},  %2, 16, {%1 dx, cl}
        SHCL {%str(%1 r32,cl)},  %2, 32, {%1 ebx, cl}
        SHCL {%str(%1 m32,cl)},  %2, 32, {%1 dword [mem_op], cl}
        SHCL {%str(%1 m8,cl)},   %2, 8,  {%1 byte [mem_op], cl}
        SHK  {%str(%1 r8,1)},    %2, 8,  1, {%1 al, 1}
        SHK  {%str(%1 r16,1)},   %2, 16, 1, {%1 bx, 1}
        SHK  {%str(%1 r32,1)},   %2, 32, 1, {%1 edx, 1}
        SHK  {%str(%1 m16,1)},   %2, 16, 1, {%1 word [mem_op], 1}
        SHK  {%str(%1 r8,imm 3)},   %2, 8,  3, {%1 al, 3}
        SHK  {%str(%1 r8,imm 9)},   %2, 8,  9, {%1 dl, 9}
        SHK  {%str(%1 r16,imm 15)}, %2, 16, 15, {%1 ax, 15}
        SHK  {%str(%1 r16,imm 17)}, %2, 16, 17, {%1 bx, 17}
        SHK  {%str(%1 r32,imm 31)}, %2, 32, 31, {%1 eax, 31}
        SHK  {%str(%1 r32,imm 0)},  %2, 32, 0, {%1 ecx, 0}
        SHK  {%str(%1 m32,imm 7)},  %2, 32, 7, {%1 dword [mem_op], 7}
%endmacro
        SHIFTS shl, SK_SHL
        SHIFTS shr, SK_SHR
        SHIFTS sar, SK_SAR
        SHIFTS rol, SK_ROT
        SHIFTS ror, SK_ROT
        SHIFTS rcl, SK_ROT
        SHIFTS rcr, SK_ROT
        SHCL "shld r32,r32,cl", SK_DBL, 32, {shld eax, ebx, cl}
        SHCL "shrd r32,r32,cl", SK_DBL, 32, {shrd eax, ebx, cl}
        SHCL "shld r16,r16,cl", SK_DBL, 16, {shld ax, bx, cl}
        SHCL "shrd r16,r16,cl", SK_DBL, 16, {shrd ax, bx, cl}
        SHCL "shld m32,r32,cl", SK_DBL, 32, {shld [mem_op], edx, cl}
        SHCL "shrd m16,r16,cl", SK_DBL, 16, {shrd [mem_op], dx, cl}
        SHK  "shld r32,r32,1",  SK_DBL, 32, 1, {shld eax, ebx, 1}
        SHK  "shrd r32,r32,13", SK_DBL, 32, 13, {shrd eax, ebx, 13}
        SHK  "shld r16,r16,9",  SK_DBL, 16, 9, {shld ax, bx, 9}
        SHK  "shrd r16,r16,16", SK_DBL, 16, 16, {shrd ax, bx, 16}
        SHK  "shld r32,r32,32", SK_DBL, 32, 32, {shld eax, ebx, 32}

; ---- multiply and divide ------------------------------------------------------------
        T  "mul r8",           F_MUL, {mul bl}
        T  "mul r8h",          F_MUL, {mul ch}
        T  "mul r16",          F_MUL, {mul bx}
        T  "mul r32",          F_MUL, {mul ebx}
        T  "mul m32",          F_MUL, {mul dword [mem_op2]}
        T  "mul m16",          F_MUL, {mul word [mem_op2]}
        T  "imul r8",          F_MUL, {imul bl}
        T  "imul r16",         F_MUL, {imul bx}
        T  "imul r32",         F_MUL, {imul ebx}
        T  "imul m8",          F_MUL, {imul byte [mem_op2]}
        T  "imul m32",         F_MUL, {imul dword [mem_op2]}
        T  "imul r16,r16",     F_MUL, {imul ax, bx}
        T  "imul r32,r32",     F_MUL, {imul eax, ebx}
        T  "imul r32,m32",     F_MUL, {imul ecx, [mem_op2]}
        T  "imul r16,m16",     F_MUL, {imul dx, [mem_op2]}
        T  "imul r32,r32,imm8",  F_MUL, {imul eax, ebx, byte -7}
        T  "imul r32,r32,imm32", F_MUL, {imul eax, ebx, 0x12345}
        T  "imul r16,r16,imm8",  F_MUL, {imul ax, bx, byte 100}
        T  "imul r16,r16,imm16", F_MUL, {imul cx, dx, 0x7123}
        T  "imul r32,m32,imm32", F_MUL, {imul edx, [mem_op2], 0x80000001}
        DIVF "div r8",   8,  0, {div bl}
        DIVF "div r16",  16, 0, {div bx}
        DIVF "div r32",  32, 0, {div ebx}
        DIVF "div m32",  32, 0, {div dword [mem_op2]}
        DIVF "div m8",   8,  0, {div byte [mem_op2]}
        DIVF "idiv r8",  8,  1, {idiv bl}
        DIVF "idiv r16", 16, 1, {idiv bx}
        DIVF "idiv r32", 32, 1, {idiv ebx}
        DIVF "idiv m32", 32, 1, {idiv dword [mem_op2]}
        DIVF "idiv m16", 16, 1, {idiv word [mem_op2]}

; ---- decimal arithmetic -------------------------------------------------------------
        T  "daa",       0x0D5, {daa}
        T  "das",       0x0D5, {das}
        T  "aaa",       0x011, {aaa}
        T  "aas",       0x011, {aas}
        T  "aam",       0x0C4, {aam}
        T  "aam 16",    0x0C4, {aam 16}
        T  "aam 7",     0x0C4, {aam 7}
        T  "aad",       0x0C4, {aad}
        T  "aad 16",    0x0C4, {aad 16}
        T  "aad 0",     0x0C4, {aad 0}

; ---- bit operations -----------------------------------------------------------------
%macro BITS 1
        T  {%str(%1 r32,r32)},   0x041, {%1 eax, ebx}
        T  {%str(%1 r16,r16)},   0x041, {%1 ax, bx}
        T  {%str(%1 r32,imm8)},  0x041, {%1 edx, 37}
        T  {%str(%1 r16,imm8)},  0x041, {%1 cx, 19}
        FORM {%str(%1 m32,r32)}
        call gen_std
        call gen_btoff
        mov dword [cur_fmask], 0x041
        call load_std
        %1 [dbuf + DBUF_SIZE / 2], ebx
        pushfd
        call save_std
        call rec_btregion
        ENDFORM
        FORM {%str(%1 m16,r16)}
        call gen_std
        call gen_btoff
        mov dword [cur_fmask], 0x041
        call load_std
        %1 [dbuf + DBUF_SIZE / 2], bx
        pushfd
        call save_std
        call rec_btregion
        ENDFORM
        T  {%str(%1 m32,imm8)},  0x041, {%1 dword [mem_op], 45}
        T  {%str(%1 m16,imm8)},  0x041, {%1 word [mem_op], 14}
%endmacro
        BITS bt
        BITS bts
        BITS btr
        BITS btc

%macro BSX 3 ; name, size, instruction
        FORM %1
        call gen_std
        mov eax, %2
        call bs_fix
        mov dword [cur_fmask], 0x040
        call load_std
        %3
        pushfd
        call save_std
        ENDFORM
%endmacro
        BSX "bsf r32,r32", 32, {bsf eax, ebx}
        BSX "bsr r32,r32", 32, {bsr eax, ebx}
        BSX "bsf r16,r16", 16, {bsf ax, bx}
        BSX "bsr r16,r16", 16, {bsr ax, bx}
        BSX "bsf r32,m32", 32, {bsf eax, [mem_op2]}
        BSX "bsr r16,m16", 16, {bsr ax, [mem_op2]}

        T  "bswap",       F_ALL, {bswap eax}, {bswap ecx}

; ---- exchange and compare -----------------------------------------------------------
        T  "xadd r8,r8",     F_ARITH, {xadd al, bh}
        T  "xadd r16,r16",   F_ARITH, {xadd ax, bx}
        T  "xadd r32,r32",   F_ARITH, {xadd eax, ebx}
        T  "xadd r32,same",  F_ARITH, {xadd ecx, ecx}
        T  "xadd m32,r32",   F_ARITH, {xadd [mem_op], ebx}
        T  "lock xadd m16,r16", F_ARITH, {lock xadd [mem_op], dx}

%macro CMPX 4 ; name, dest address expr, bytes, instruction
        FORM %1
        call gen_std
        mov eax, %2
        mov ebx, %3
        call cx_equalize
        mov dword [cur_fmask], F_ARITH
        call load_std
        %4
        pushfd
        call save_std
        ENDFORM
%endmacro
        CMPX "cmpxchg r8,r8",    vb + 0, 1, {cmpxchg bl, cl}
        CMPX "cmpxchg r16,r16",  vb + 0, 2, {cmpxchg bx, cx}
        CMPX "cmpxchg r32,r32",  vb + 0, 4, {cmpxchg ebx, ecx}
        CMPX "cmpxchg m32,r32",  mem_op, 4, {cmpxchg [mem_op], ecx}
        CMPX "lock cmpxchg m8,r8",  mem_op, 1, {lock cmpxchg [mem_op], dl}
        CMPX "cmpxchg m16,r16",  mem_op, 2, {cmpxchg [mem_op], bx}
        CMPX "cmpxchg8b",        mem_op, 8, {cmpxchg8b [mem_op]}
        CMPX "lock cmpxchg8b",   mem_op, 8, {lock cmpxchg8b [mem_op]}

; ---- condition codes ----------------------------------------------------------------
        T  "setcc", F_ALL, {seto al}, {setno ah}, {setb bl}, {setnb bh}, {setz cl}, {setnz ch}, \
                    {setbe dl}, {setnbe dh}, {sets byte [mem_op]}, {setns byte [mem_op + 1]}, \
                    {setp byte [mem_op + 2]}, {setnp byte [mem_op + 3]}, {setl byte [mem_op_hi]}, \
                    {setnl byte [mem_op_hi + 1]}, {setle byte [mem_op_hi + 2]}, {setnle byte [mem_op_hi + 3]}
        T  "cmovcc r32 0-3",   F_ALL, {cmovo eax, ebx}, {cmovno ecx, edx}, {cmovb edx, [mem_op2]}, {cmovnb ebx, [mem_op]}
        T  "cmovcc r32 4-7",   F_ALL, {cmovz eax, ebx}, {cmovnz ecx, edx}, {cmovbe edx, [mem_op2]}, {cmovnbe ebx, [mem_op]}
        T  "cmovcc r32 8-11",  F_ALL, {cmovs eax, ebx}, {cmovns ecx, edx}, {cmovp edx, [mem_op2]}, {cmovnp ebx, [mem_op]}
        T  "cmovcc r32 12-15", F_ALL, {cmovl eax, ebx}, {cmovnl ecx, edx}, {cmovle edx, [mem_op2]}, {cmovnle ebx, [mem_op]}
        T  "cmovcc r16 0-3",   F_ALL, {cmovo ax, bx}, {cmovno cx, dx}, {cmovb dx, [mem_op2]}, {cmovnb bx, [mem_op]}
        T  "cmovcc r16 4-7",   F_ALL, {cmovz ax, bx}, {cmovnz cx, dx}, {cmovbe dx, [mem_op2]}, {cmovnbe bx, [mem_op]}
        T  "cmovcc r16 8-11",  F_ALL, {cmovs ax, bx}, {cmovns cx, dx}, {cmovp dx, [mem_op2]}, {cmovnp bx, [mem_op]}
        T  "cmovcc r16 12-15", F_ALL, {cmovl ax, bx}, {cmovnl cx, dx}, {cmovle dx, [mem_op2]}, {cmovnle bx, [mem_op]}

; ---- moves with extension, conversions, LEA -----------------------------------------
        T  "movsx r32,r8",  F_ALL, {movsx eax, bh}, {movsx ecx, dl}
        T  "movsx r32,r16", F_ALL, {movsx eax, bx}, {movsx edx, word [mem_op2]}
        T  "movsx r16,r8",  F_ALL, {movsx ax, bl}, {movsx cx, byte [mem_op2 + 1]}
        T  "movzx r32,r8",  F_ALL, {movzx eax, bh}, {movzx ecx, dl}
        T  "movzx r32,r16", F_ALL, {movzx eax, bx}, {movzx edx, word [mem_op2 + 2]}
        T  "movzx r16,r8",  F_ALL, {movzx ax, bl}, {movzx cx, byte [mem_op2 + 3]}
        T  "cbw",  F_ALL, {cbw}
        T  "cwde", F_ALL, {cwde}
        T  "cwd",  F_ALL, {cwd}
        T  "cdq",  F_ALL, {cdq}
        T  "lea 32", F_ALL, {lea eax, [ebx + ecx * 8 - 0x55]}, {lea edx, [edx + edx * 2 + 0x12345678]}
        T  "lea 16", F_ALL, {lea ax, [ebx + ecx * 4 + 7]}, {lea ecx, [bx + si + 5]}, {lea edx, [bp + di - 3]}

; ---- string instructions ------------------------------------------------------------
        STR "rep movsb",   0, 0, {rep movsb}
        STR "rep movsw",   0, 0, {rep movsw}
        STR "rep movsd",   0, 0, {rep movsd}
        STR "movsb",       0, 0, {movsb}
        STR "rep stosb",   0, 0, {rep stosb}
        STR "rep stosd",   0, 0, {rep stosd}
        STR "stosw",       0, 0, {stosw}
        STR "lodsb",       0, 0, {lodsb}
        STR "lodsw",       0, 0, {lodsw}
        STR "lodsd",       0, 0, {lodsd}
        STR "rep lodsb",   0, 0, {rep lodsb}
        STR "repe cmpsb",  1, 0, {repe cmpsb}
        STR "repne cmpsb", 1, 0, {repne cmpsb}
        STR "repe cmpsd",  1, 0, {repe cmpsd}
        STR "cmpsw",       1, 0, {cmpsw}
        STR "repe scasb",  1, 1, {repe scasb}
        STR "repne scasw", 1, 1, {repne scasw}
        STR "repne scasb", 1, 1, {repne scasb}
        STR "scasd",       1, 1, {scasd}

; ---- control transfer, stack, exchange and flag instructions ---------------------------
%macro JONE 3 ; cc, short|near, index
        mov byte [jres + %3], 0
        j%1 %2 %%t
        jmp short %%n
%%t:    mov byte [jres + %3], 1
%%n:
%endmacro
%macro JCCALL 1 ; short|near
 %assign ji 0
 %rep 16
  %if ji == 0
        JONE o, %1, ji
  %elif ji == 1
        JONE no, %1, ji
  %elif ji == 2
        JONE b, %1, ji
  %elif ji == 3
        JONE nb, %1, ji
  %elif ji == 4
        JONE z, %1, ji
  %elif ji == 5
        JONE nz, %1, ji
  %elif ji == 6
        JONE be, %1, ji
  %elif ji == 7
        JONE nbe, %1, ji
  %elif ji == 8
        JONE s, %1, ji
  %elif ji == 9
        JONE ns, %1, ji
  %elif ji == 10
        JONE p, %1, ji
  %elif ji == 11
        JONE np, %1, ji
  %elif ji == 12
        JONE l, %1, ji
  %elif ji == 13
        JONE nl, %1, ji
  %elif ji == 14
        JONE le, %1, ji
  %else
        JONE nle, %1, ji
  %endif
  %assign ji ji + 1
 %endrep
%endmacro
%macro JFORM 2 ; name, short|near
        FORM %1
        call gen_std
        call load_std
        JCCALL %2
        pushfd
        mov eax, [jres]
        mov ebx, [jres + 4]
        mov ecx, [jres + 8]
        mov edx, [jres + 12]
        call save_std
        ENDFORM
%endmacro
        JFORM "jcc rel8", short
        JFORM "jcc rel32", near

        FORM "loop"
        call gen_std
        mov eax, [vc]
        and eax, 15
        inc eax
        mov [vc], eax
        call load_std
.loop1: add eax, ebx
        loop .loop1
        pushfd
        call save_std
        ENDFORM

        FORM "loope"
        call gen_std
        mov eax, [vc]
        and eax, 31
        inc eax
        mov [vc], eax
        call load_std
.loop2: inc eax
        test ebx, ecx
        loope .loop2
        pushfd
        call save_std
        ENDFORM

        FORM "loopne"
        call gen_std
        mov eax, [vc]
        and eax, 31
        inc eax
        mov [vc], eax
        call load_std
.loop3: inc eax
        test ebx, ecx
        loopne .loop3
        pushfd
        call save_std
        ENDFORM

        FORM "jecxz/jcxz"
        call gen_std
        call rand
        test eax, 3
        jnz .jz1
        and dword [vc], 0xFFFF0000       ; CX = 0
        test eax, 4
        jnz .jz1
        mov dword [vc], 0                ; ECX = 0
.jz1:   call load_std
        mov eax, 0
        mov edx, 0
        jecxz .jz2
        mov eax, 1
.jz2:   a16 jcxz .jz3
        mov edx, 1
.jz3:   pushfd
        call save_std
        ENDFORM

        T  "xchg", F_ALL, {xchg eax, ebx}, {xchg cl, dh}, {xchg [mem_op], edx}, {xchg dx, [mem_op2]}, {xchg ecx, eax}
        T  "xchg same", F_ALL, {xchg ebx, ebx}, {xchg ah, al}, {xchg cx, cx}
        T  "lahf", F_ALL, {lahf}
        T  "sahf", F_ALL, {sahf}
        T  "cmc stc clc", F_ALL, {cmc}, {setc bl}, {stc}, {setc bh}, {clc}, {setc cl}, {cmc}
        T  "bt+setcc chain", F_ALL, {bt eax, 7}, {setc dl}, {bt ebx, ecx}, {setc dh}

        FORM "xlat"
        call gen_std
        call load_std
        mov ebx, dbuf
        xlatb
        pushfd
        mov ebx, [vb]
        call save_std
        ENDFORM

        FORM "push pop"
        call gen_std
        mov [saved_esp], esp
        call load_std
        mov esp, dbuf + DBUF_SIZE / 2 + 24
        push eax
        push bx
        push dword -3
        push word 0x1234
        push dword [mem_op]
        pop cx
        pop edx
        push cx
        pop dword [mem_op]
        pop word [mem_op + 2]
        pushfd
        pop dword [tmpf]
        mov dword [esp - 4], 0           ; the raw EFLAGS image (IF differs host/guest)
        mov eax, esp
        sub eax, dbuf
        mov esp, [saved_esp]
        push dword [tmpf]
        call save_std
        call rec_btregion
        ENDFORM

        FORM "pushad popad"
        call gen_std
        mov [saved_esp], esp
        call load_std
        mov esp, dbuf + DBUF_SIZE / 2 + 32
        pushad
        mov dword [esp + 12], 0          ; the pushed ESP is an address: blank it
        not dword [esp + 16]             ; (flags are captured below, after POPAD)
        popad
        pushfd
        pop dword [tmpf]
        mov dword [esp - 4], 0           ; the raw EFLAGS image (IF differs host/guest)
        mov eax, esp
        sub eax, dbuf
        mov esp, [saved_esp]
        push dword [tmpf]
        call save_std
        call rec_btregion
        ENDFORM

        FORM "pushaw popaw"
        call gen_std
        mov [saved_esp], esp
        call load_std
        mov esp, dbuf + DBUF_SIZE / 2 + 16
        pushaw
        mov word [esp + 6], 0
        not word [esp + 8]
        popaw
        pushfd
        pop dword [tmpf]
        mov dword [esp - 4], 0           ; the raw EFLAGS image (IF differs host/guest)
        mov eax, esp
        sub eax, dbuf
        mov esp, [saved_esp]
        push dword [tmpf]
        call save_std
        call rec_btregion
        ENDFORM

%macro ENTERF 3 ; name, size, level
        FORM %1
        call gen_std
        mov [saved_esp], esp
        call load_std
        mov esp, dbuf + 300
        mov ebp, dbuf + 400
        enter %2, %3
        pushfd
        pop dword [tmpf]
        mov dword [esp - 4], 0           ; the raw EFLAGS image (IF differs host/guest)
        mov eax, esp
        sub eax, dbuf
        mov ebx, ebp
        sub ebx, dbuf
        mov ecx, [ebp]
        sub ecx, dbuf                    ; the saved EBP
        mov edx, [ebp - 4 * %3]
        sub edx, dbuf                    ; the frame temp (level > 0)
        mov [mem_op], edx
        mov edx, 0
        mov dword [mem_op_hi], 0
 %if %3 >= 2
        mov edx, [ebp - 4]               ; copied from the old frame
 %endif
 %if %3 >= 3
        mov esi, [ebp - 8]
        mov [mem_op_hi], esi
 %endif
        leave
        mov esi, esp
        sub esi, dbuf
        mov edi, ebp
        sub edi, dbuf
        mov esp, [saved_esp]
        mov eax, esi
        call rec
        mov eax, edi
        call rec
        push dword [tmpf]
        call save_std
        ENDFORM
%endmacro
        ENTERF "enter 0", 16, 0
        ENTERF "enter 1", 8, 1
        ENTERF "enter 3", 12, 3

        mov esi, s_done
        call o_str
        mov eax, [forms_run]
        call o_dec
        mov al, 10
        call o_chr
        ret

%ifdef HOST
        align 4
image_end:
%else
%include "../common/boot_end.inc"
%endif

; ======================================================================================
; Uninitialised data (not in the image; every byte is written before it is read)
; ======================================================================================
        absolute image_end
        alignb 16
rng:        resd 1
hash:       resd 1
last_op:    resd 1
form_idx:   resd 1
forms_run:  resd 1
form_name:  resd 1
case_left:  resd 1
verbose_on: resd 1
outpos:     resd 1
va:         resd 1
vb:         resd 1
vc:         resd 1
vd:         resd 1
vf:         resd 1
vsi:        resd 1
vdi:        resd 1
vcnt:       resd 1
ra:         resd 1
rb:         resd 1
rc:         resd 1
rd:         resd 1
rf:         resd 1
rmask_a:    resd 1
rmask_b:    resd 1
rmask_c:    resd 1
rmask_d:    resd 1
rmask_m:    resd 1
cur_fmask:  resd 1
div_size:   resd 1
div_signed: resd 1
dval:       resd 1
saved_esp:  resd 1
tmpf:       resd 1
jres:       resd 4
        alignb 16
mem_op:     resd 1
mem_op_hi:  resd 1
mem_op2:    resd 1
        resd 1
        alignb 16
dbuf:       resb DBUF_SIZE
%ifdef HOST
outbuf:     resb OUTBUF_SIZE
%endif
bss_end:
