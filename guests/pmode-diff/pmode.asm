; pmode-diff: protected mode, paging and exceptions, compared against QEMU on the serial
; transcript (test/diff/qemu.test.ts). Build: nasm -f bin pmode.asm -o pmode.img
;
; Boots through ../common/boot.inc, then installs its own GDT, IDT and TSS and runs checks in
; order; each prints a title line "Tnn <what>" and its results. Exceptions go to one handler
; that prints
;     EXC vv [err=xxxxxxxx] cs=xxxx eip=xxxxxxxx [cr2=xxxxxxxx]
; (err only for vectors that push one, cr2 only for #PF, cs/eip not for #DF, whose saved
; CS:EIP the SDM leaves undefined) and resumes at the point the check registered (TRY).
; Every value printed is architecturally defined: nothing depends on CPUID model numbers,
; timing, BIOS state or memory the guest did not write itself.
;
; Checks where QEMU's TCG is known to differ from hardware are assembled only with -DSTRICT
; (pmode-strict.img, for Bochs or hardware): segment limit and access-type checks on
; ordinary data accesses (T06 and the #SS limit cases of T07; QEMU checks segments only when
; a segment register is loaded) and the error code of a reserved-bit #PF (hardware and
; Bochs report P|RSVD = 9, QEMU 7.2 reports 8), and a MOV to CR4 setting a reserved bit
; (#GP(0); QEMU 7.2 re-executes the MOV forever). The default image, compared with QEMU,
; omits them.
;
; The QEMU reference runs with -cpu pentium3,+nx (see test/diff/qemu.test.ts): a P6 with PSE,
; PAE and NX visible in CPUID, like vmxlab's P6 model.
;
; Physical memory used (all identity mapped while paging is on):
;   0x07C00-     this image              0x8C000  task B stack top
;   0x8D000      ring-3 stack top        0x8F000  ring-0 stack top (TSS.ESP0)
;   0x100000     32-bit page directory   0x101000 page table for 0-4 MB
;   0x104000     PAE PDPT                0x105000 PAE page directory
;   0x106000     PAE page table 0-2 MB   0x3F0000/0x3F1000 remap targets

%define PANIC_MARKER 'PMODE FAIL'
%include "../common/boot.inc"
        bits 32

SEL_CODE0   equ 0x08
SEL_DATA0   equ 0x10
SEL_CODE3   equ 0x18
SEL_DATA3   equ 0x20
SEL_TSSA    equ 0x28
SEL_TSSB    equ 0x30
SEL_NP      equ 0x38        ; data, not present
SEL_SMALL   equ 0x40        ; data at 0x80000, limit 0xFFF
SEL_NPSTK   equ 0x48        ; writable data, not present
SEL_CGATE3  equ 0x50        ; call gate, DPL 3 -> SEL_CODE0:gate_target
SEL_CGATE0  equ 0x58        ; call gate, DPL 0
SEL_TSSBAD  equ 0x60        ; 32-bit TSS with a limit below 67h
SEL_RODATA  equ 0x68        ; read-only data
SEL_LIM64K  equ 0x70        ; data, limit 0xFFFF
SEL_XONLY   equ 0x78        ; execute-only code
SEL_CODE16  equ 0x80        ; 16-bit code, base 0, limit 0xFFFF
SEL_CONF    equ 0x88        ; conforming code, DPL 0
SEL_CGATEP  equ 0x90        ; call gate, DPL 3, 2 parameters -> gate_param_target
SEL_DATA16  equ 0x98        ; data, base 0, limit 0xFFFF, B = 0 (for going back to real mode)
GDT_LIMIT   equ 0xA0 - 1

STACK0_TOP  equ 0x8F000
STACK3_TOP  equ 0x8D000
STACKB_TOP  equ 0x8C000

PD          equ 0x100000
PT0         equ 0x101000
PDPT        equ 0x104000
PAE_PD      equ 0x105000
PAE_PT      equ 0x106000

PG_NOTP     equ 0x3FF000    ; PTE not present
PG_RO_SUP   equ 0x3FE000    ; present, read-only, supervisor
PG_RW_SUP   equ 0x3FD000    ; present, writable, supervisor
PG_AD       equ 0x3FC000    ; user, writable, A/D observed
PG_REMAP    equ 0x3FB000    ; remapped between 0x3F0000 and 0x3F1000
PG_RO_USER  equ 0x3FA000    ; user, read-only
PHYS_A      equ 0x3F0000
PHYS_B      equ 0x3F1000

; ---- printing ------------------------------------------------------------------------
%macro SAY 1+               ; a line of text
        jmp %%a
%%s:    db %1, 10, 0
%%a:    push esi
        mov esi, %%s
        call puts
        pop esi
%endmacro
%macro SAYN 1+              ; text without newline
        jmp %%a
%%s:    db %1, 0
%%a:    push esi
        mov esi, %%s
        call puts
        pop esi
%endmacro
%macro SHOW 2               ; SHOW 'name', value (anything `mov eax, x` accepts)
        push eax
        SAYN ' ', %1, '='
        mov eax, %2
        call puthex32
        pop eax
%endmacro
%macro SHOW16 2
        push eax
        SAYN ' ', %1, '='
        mov eax, %2
        call puthex16
        pop eax
%endmacro

; ---- fault expectations --------------------------------------------------------------
%macro TRY 0
        %push try
        mov [resume_esp], esp
        mov dword [resume_eip], %$resume
%endmacro
%macro ENDTRY 0
        SAY '  no fault'
%$resume:
        %pop
%endmacro

; Enter ring 3 at %1 (IF=0, IOPL=0), user stack STACK3_TOP.
%macro RING3 1
        mov ax, SEL_DATA3 | 3
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        push dword SEL_DATA3 | 3
        push dword STACK3_TOP
        push dword 0x002
        push dword SEL_CODE3 | 3
        push dword %1
        iret
%endmacro

stage2_entry:
        mov esp, STACK0_TOP - 0x1000     ; main kernel stack (TSS.ESP0 is above it)
        call serial_init
        ; fast A20 gate (harmless where there is none: the testbed reads FFh and skips)
        in al, 0x92
        test al, 2
        jnz .a20
        or al, 2
        and al, 0xFE
        out 0x92, al
.a20:
        SAY 'PMODE START'
        call setup_tables
        lgdt [gdt_desc]
        lidt [idt_desc]
        jmp SEL_CODE0:.cs
.cs:    mov ax, SEL_DATA0
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax

; ======================================================================================
T01:    SAY 'T01 LTR, TR busy bit, STR/SLDT/SGDT/SIDT/SMSW'
        mov ax, SEL_TSSA
        ltr ax
        str eax
        SHOW16 'tr', eax
        movzx eax, byte [gdt + SEL_TSSA + 5]
        SHOW16 'tssA.type', eax
        sldt eax
        SHOW16 'ldtr', eax
        sgdt [scratch]
        SHOW16 'gdt.limit', [scratch]
        SHOW 'gdt.base', [scratch + 2]
        sidt [scratch]
        SHOW16 'idt.limit', [scratch]
        smsw eax
        SHOW16 'msw', eax
        call putnl

T02:    SAY 'T02 segment loads set the accessed bit'
        movzx eax, byte [gdt + SEL_SMALL + 5]
        SHOW16 'before', eax
        mov ax, SEL_SMALL
        mov fs, ax
        movzx eax, byte [gdt + SEL_SMALL + 5]
        SHOW16 'after', eax
        mov ax, SEL_DATA0
        mov fs, ax
        call putnl

T03:    SAY 'T03 #DE'
        TRY
        mov eax, 1
        xor edx, edx
        xor ecx, ecx
        div ecx
        ENDTRY
        TRY
        mov ax, 0x8000                   ; idiv overflow: -32768 / -1
        cwd
        mov cx, -1
        idiv cx
        ENDTRY

T04:    SAY 'T04 #UD'
        TRY
        ud2
        ENDTRY
        TRY
        db 0xF0, 0x01, 0xD8              ; lock add eax, ebx (register destination)
        ENDTRY
        TRY
        db 0x0F, 0x0B                    ; ud2 again, via bytes
        ENDTRY
        TRY
        db 0x8C, 0xF8                    ; mov ax, sreg 7 (no such segment register)
        ENDTRY

T05:    SAY 'T05 #GP from segment loads'
        TRY
        mov ax, 0x1F8                    ; beyond the GDT limit
        mov ds, ax
        ENDTRY
        TRY
        mov ax, SEL_TSSA                 ; system descriptor into DS
        mov ds, ax
        ENDTRY
        TRY
        mov ax, SEL_DATA3 | 3            ; SS needs RPL = DPL = CPL
        mov ss, ax
        ENDTRY
        TRY
        mov ax, SEL_CODE0                ; code segment into SS
        mov ss, ax
        ENDTRY
        TRY
        mov ax, SEL_XONLY                ; execute-only code into DS
        mov ds, ax
        ENDTRY
        TRY
        xor eax, eax                     ; null selector into SS
        mov ss, ax
        ENDTRY
        xor eax, eax
        lldt ax                          ; null LDTR: any LDT selector faults
        TRY
        mov ax, 0x0004                   ; TI=1 with a null LDTR
        mov es, ax
        ENDTRY

%ifdef STRICT
T06:    SAY 'T06 #GP(0) from accesses'
        TRY
        mov ax, SEL_RODATA
        mov es, ax
        mov dword [es:0x1000], 1         ; write to a read-only segment
        ENDTRY
        TRY
        mov ax, SEL_LIM64K
        mov fs, ax
        mov eax, [fs:0xFFFE]             ; dword crossing the limit
        ENDTRY
        TRY
        mov ax, SEL_LIM64K
        mov fs, ax
        mov ax, [fs:0xFFFE]              ; word at the limit: fine
        SAY '  fs:fffe ok'
        ENDTRY
        TRY
        xor eax, eax
        mov gs, ax
        mov eax, [gs:0]                  ; access through a null selector
        ENDTRY
        TRY
        mov eax, [cs:exec_only_probe]    ; reading CS is fine: it is readable
        SHOW 'cs-read', eax
        call putnl
        ENDTRY
        TRY
        mov dword [cs:scratch], 0        ; writing through CS is not
        ENDTRY
        mov ax, SEL_DATA0
        mov es, ax
        mov fs, ax
        mov gs, ax

%endif
T07:    SAY 'T07 #NP and #SS'
        TRY
        mov ax, SEL_NP
        mov ds, ax
        ENDTRY
        TRY
        mov ax, SEL_NPSTK
        mov ss, ax
        ENDTRY
%ifdef STRICT
        TRY
        mov ax, SEL_SMALL                ; stack segment at 0x80000, limit 0xFFF
        mov ss, ax
        mov esp, 0x800
        mov eax, [esp + 0x1000]          ; beyond the limit through SS
        ENDTRY
        TRY
        mov ax, SEL_SMALL
        mov ss, ax
        mov esp, 0x800
        mov ebp, 0x2000
        mov eax, [ebp]                   ; EBP-based: SS again
        ENDTRY
%endif
        TRY
        mov ax, SEL_SMALL
        mov ss, ax
        mov esp, 0x800
        mov eax, [ss:0xFFC]              ; inside
        SAY '  ss:ffc ok'
        mov ax, SEL_DATA0
        mov ss, ax
        mov esp, [resume_esp]
        ENDTRY

T08:    SAY 'T08 IDT error codes'
        TRY
        int 0x90                         ; beyond the IDT limit
        ENDTRY
        TRY
        int 0x41                         ; DPL 0 gate from CPL 0: fine, returns
        SAY '  int 41 returned'
        ENDTRY
        TRY
        int 0x42                         ; gate not present
        ENDTRY
        TRY
        int 0x43                         ; not a gate (type 0)
        ENDTRY

T09:    SAY 'T09 LAR LSL VERR VERW'
%macro PROBE 1
        mov eax, 0x12345678
        mov ebx, 0x12345678
        mov cx, %1
        lar eax, cx
        pushfd
        lsl ebx, cx
        pushfd
        SHOW16 'sel', %1
        pop edx
        and edx, 0x40
        SHOW16 'lslzf', edx
        SHOW 'lsl', ebx
        pop edx
        and edx, 0x40
        SHOW16 'larzf', edx
        and eax, 0x00F0FE00              ; (accessed bit masked: QEMU does not set it on CS loads)
        SHOW 'lar', eax
        xor edx, edx
        verr cx
        setz dl
        SHOW16 'r', edx
        verw cx
        setz dl
        SHOW16 'w', edx
        call putnl
%endmacro
        PROBE SEL_CODE0
        PROBE SEL_DATA3 | 3
        PROBE SEL_TSSA
        PROBE SEL_NP
        PROBE SEL_CGATE3
        PROBE SEL_RODATA
        PROBE SEL_XONLY
        PROBE 0x1F8
        PROBE 0

; ======================================================================================
T10:    SAY 'T10 hardware task switch: JMP to a TSS and back'
        call init_tss_b
        mov dword [tss_b + 0x20], task_b_jmp
        jmp SEL_TSSB:0
after_jmp_a:
        SAYN ' back in A'
        str eax
        SHOW16 'tr', eax
        SHOW 'B.eip', [tss_b + 0x20]
        SHOW 'B.eax', [tss_b + 0x28]
        movzx eax, byte [gdt + SEL_TSSA + 5]
        SHOW16 'A.type', eax
        movzx eax, byte [gdt + SEL_TSSB + 5]
        SHOW16 'B.type', eax
        call putnl
        jmp T11

task_b_jmp:
        SAYN ' in task B'
        str eax
        SHOW16 'tr', eax
        pushfd
        pop eax
        and eax, 0x4000
        SHOW16 'nt', eax
        SHOW16 'link', [tss_b]
        SHOW 'A.eip', [tss_a + 0x20]
        SHOW 'esp', esp
        movzx eax, byte [gdt + SEL_TSSA + 5]
        SHOW16 'A.type', eax
        movzx eax, byte [gdt + SEL_TSSB + 5]
        SHOW16 'B.type', eax
        call putnl
        mov eax, 0xB0B0B0B0
        jmp SEL_TSSA:0
        SAY ' task B resumed (wrong)'
        jmp $

T11:    SAY 'T11 task switch by CALL, return by IRET (NT, back link)'
        call init_tss_b
        mov dword [tss_b + 0x20], task_b_call
        call SEL_TSSB:0
        SAYN ' back from call'
        str eax
        SHOW16 'tr', eax
        pushfd
        pop eax
        and eax, 0x4000
        SHOW16 'nt', eax
        movzx eax, byte [gdt + SEL_TSSA + 5]
        SHOW16 'A.type', eax
        movzx eax, byte [gdt + SEL_TSSB + 5]
        SHOW16 'B.type', eax
        SHOW 'B.eflags', [tss_b + 0x24]
        call putnl
        jmp T12

task_b_call:
        SAYN ' in task B'
        pushfd
        pop eax
        and eax, 0x4000
        SHOW16 'nt', eax
        SHOW16 'link', [tss_b]
        movzx eax, byte [gdt + SEL_TSSA + 5]
        SHOW16 'A.type', eax
        movzx eax, byte [gdt + SEL_TSSB + 5]
        SHOW16 'B.type', eax
        call putnl
        iret

T12:    SAY 'T12 task switch faults'
        TRY
        jmp SEL_TSSBAD:0                 ; TSS limit below 67h: #TS
        ENDTRY
        TRY
        jmp SEL_TSSA:0                   ; the busy current task: #GP
        ENDTRY

; ======================================================================================
T13:    SAY 'T13 double fault: #DE through a not-present gate'
        and byte [idt + 0 * 8 + 5], 0x7F
        TRY
        xor ecx, ecx
        div ecx
        ENDTRY
        or byte [idt + 0 * 8 + 5], 0x80

; ======================================================================================
; Paging (32-bit)
; ======================================================================================
T14:    SAY 'T14 32-bit paging on'
        mov eax, PD
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80010000               ; PG | WP
        mov cr0, eax
        jmp .pg
.pg:    mov eax, [PD]
        and eax, 0xFFF
        SHOW16 'pde0', eax
        mov eax, [PT0 + (0x7000 >> 10)]  ; PTE of the page holding stage 2 code
        and eax, 0xFFF
        SHOW16 'pte7', eax
        call putnl

T15:    SAY 'T15 #PF not present, read-only (WP=1/0)'
        TRY
        mov eax, [PG_NOTP + 0x123]
        ENDTRY
        TRY
        mov dword [PG_NOTP + 0x124], 1
        ENDTRY
        TRY
        mov eax, [0x400000 + 0x10]       ; PDE not present
        ENDTRY
        TRY
        mov dword [PG_RO_SUP + 8], 0x5555AAAA
        ENDTRY
        mov eax, cr0
        and eax, ~0x10000                ; WP = 0
        mov cr0, eax
        TRY
        mov dword [PG_RO_SUP + 8], 0x5555AAAA
        SHOW 'wp0 write', [PG_RO_SUP + 8]
        call putnl
        ENDTRY
        mov eax, cr0
        or eax, 0x10000
        mov cr0, eax

T16:    SAY 'T16 accessed and dirty bits'
        and dword [PT0 + (PG_AD >> 10)], ~0x60
        invlpg [PG_AD]
        mov eax, [PT0 + (PG_AD >> 10)]
        and eax, 0xFFF
        SHOW16 'pte', eax
        mov eax, [PG_AD]
        mov eax, [PT0 + (PG_AD >> 10)]
        and eax, 0xFFF
        SHOW16 'read', eax
        mov dword [PG_AD + 4], 7
        mov eax, [PT0 + (PG_AD >> 10)]
        and eax, 0xFFF
        SHOW16 'write', eax
        call putnl

T17:    SAY 'T17 INVLPG and CR3 reload after PTE changes'
        mov dword [PHYS_A], 0xAAAA0001
        mov dword [PHYS_B], 0xBBBB0002
        mov dword [PT0 + (PG_REMAP >> 10)], PHYS_A | 7
        invlpg [PG_REMAP]
        SHOW 'a', [PG_REMAP]
        mov dword [PT0 + (PG_REMAP >> 10)], PHYS_B | 7
        invlpg [PG_REMAP]
        SHOW 'invlpg', [PG_REMAP]
        mov dword [PT0 + (PG_REMAP >> 10)], PHYS_A | 7
        mov eax, cr3
        mov cr3, eax
        SHOW 'cr3', [PG_REMAP]
        mov dword [PT0 + (PG_REMAP >> 10)], 0
        invlpg [PG_REMAP]
        call putnl
        TRY
        mov eax, [PG_REMAP]
        ENDTRY

T18:    SAY 'T18 4 MB pages (CR4.PSE)'
        mov eax, cr4
        or eax, 0x10
        mov cr4, eax
        mov dword [PD + 2 * 4], 0x00000083 ; 0x800000 -> 0, 4 MB, supervisor, writable
        mov dword [PD + 3 * 4], 0x00000085 ; 0xC00000 -> 0, 4 MB, user, read-only
        mov eax, cr3
        mov cr3, eax
        mov dword [pse_probe], 0x12344321
        SHOW 'alias', [0x800000 + pse_probe]
        mov eax, [PD + 2 * 4]
        and eax, 0xFFF
        SHOW16 'pde2', eax
        mov dword [0x800000 + pse_probe], 0x56788765
        SHOW 'write', [pse_probe]
        mov eax, [PD + 2 * 4]
        and eax, 0xFFF
        SHOW16 'pde2', eax
        call putnl
        TRY
        mov dword [0xC00000 + pse_probe], 1  ; read-only 4 MB page, WP=1
        ENDTRY

; ======================================================================================
; Ring 3
; ======================================================================================
T19:    SAY 'T19 ring 3: privileged instructions, I/O, supervisor pages'
        TRY
        RING3 .u_cli
.u_cli: cli
        ENDTRY
        TRY
        RING3 .u_hlt
.u_hlt: hlt
        ENDTRY
        TRY
        RING3 .u_cr
.u_cr:  mov eax, cr0
        ENDTRY
        TRY
        RING3 .u_out
.u_out: out 0x80, al
        ENDTRY
        TRY
        RING3 .u_sup
.u_sup: mov eax, [PG_RW_SUP]
        ENDTRY
        TRY
        RING3 .u_supw
.u_supw: mov dword [PG_RW_SUP], 1
        ENDTRY
        TRY
        RING3 .u_ro
.u_ro:  mov dword [PG_RO_USER], 1
        ENDTRY
        TRY
        RING3 .u_pse
.u_pse: mov eax, [0x800000 + pse_probe]  ; supervisor 4 MB page
        ENDTRY
        TRY
        RING3 .u_int
.u_int: int 0x41                         ; DPL 0 gate from CPL 3
        ENDTRY
        TRY
        RING3 .u_ok
.u_ok:  mov eax, [PG_RO_USER]            ; allowed: user page, read
        mov eax, [0xC00000 + pse_probe]  ; allowed: user 4 MB page, read
        int 0x40                         ; back to ring 0 (resume)
        ENDTRY
        SAY '  ring 3 reads ok'

T20:    SAY 'T20 call gate to ring 0 and back'
        TRY
        RING3 .u_gate
.u_gate:
        call SEL_CGATE3 | 3 : 0
        xor eax, eax
        mov ax, ds
        mov [ss:gate_back_ds], eax       ; DS after the return to ring 3 (nulled)
        mov ax, cs
        mov [ss:gate_back_cs], eax
        int 0x40
        ENDTRY
        SHOW16 'gate.cs', [gate_cs]
        SHOW 'ret.eip', [gate_frame]
        SHOW16 'ret.cs', [gate_frame + 4]
        SHOW 'ret.esp', [gate_frame + 8]
        SHOW16 'ret.ss', [gate_frame + 12]
        SHOW 'esp0', [gate_esp]
        SHOW16 'back.cs', [gate_back_cs]
        SHOW16 'back.ds', [gate_back_ds]
        call putnl
        TRY
        RING3 .u_gate0
.u_gate0:
        call SEL_CGATE0 | 3 : 0          ; DPL 0 call gate from CPL 3
        ENDTRY

; ======================================================================================
; PAE paging with NX
; ======================================================================================
T21:    SAY 'T21 PAE paging with NX'
        mov eax, cr0                     ; paging off to switch modes
        and eax, 0x7FFFFFFF
        mov cr0, eax
        mov eax, 1
        cpuid
        test edx, 1 << 6
        jz .nopae
        mov eax, 0x80000000
        cpuid
        cmp eax, 0x80000001
        jb .nopae
        mov eax, 0x80000001
        cpuid
        test edx, 1 << 20
        jnz .pae
.nopae: SAY '  PAE/NX not reported by CPUID (wrong -cpu for the reference?)'
        jmp T22
.pae:
        mov ecx, 0xC0000080              ; EFER.NXE
        rdmsr
        or eax, 1 << 11
        wrmsr
        mov eax, cr4
        or eax, 0x20                     ; PAE
        mov cr4, eax
        mov eax, PDPT
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        jmp .on
.on:    mov dword [0x1FF000], 0x909090C3 ; a RET in the NX page (the write is allowed)
        SHOW 'read nx page', [0x1FF000]
        SHOW 'alias2m', [0x400000 + pse_probe]
        mov eax, [PAE_PD + 8]
        and eax, 0xFFF
        SHOW16 'pde1', eax
        mov dword [0x3FC000 + 0x40], 0x11223344
        mov eax, [PAE_PD + 8]
        and eax, 0xFFF
        SHOW16 'pde1w', eax
        mov eax, [PAE_PT + (0x1FF000 >> 9)]
        and eax, 0xFFF
        SHOW16 'pte1ff', eax
        SHOW 'pte1ff.hi', [PAE_PT + (0x1FF000 >> 9) + 4]
        call putnl
        TRY
        call 0x1FF000                    ; fetch from an NX page
        ENDTRY
        TRY
        call 0x400000 + nx_ret           ; fetch from an NX 2 MB page
        ENDTRY
        TRY
        call 0x1FE000                    ; fetch from a not-present page
        ENDTRY
        TRY
        mov eax, [0x1FE000]              ; read from a not-present page
        ENDTRY
        TRY
        mov eax, [0xC0000000]            ; PDPTE not present
        ENDTRY
        TRY
        call nx_ret                      ; executable: returns
        SAY '  executable page ok'
        ENDTRY
        mov ecx, 0xC0000080              ; NXE off: bit 63 becomes reserved
        rdmsr
        and eax, ~(1 << 11)
        wrmsr
        mov eax, cr3
        mov cr3, eax
%ifdef STRICT
        TRY
        mov eax, [0x1FF000]              ; reserved bit: #PF P|RSVD (QEMU 7.2 reports RSVD only)
        ENDTRY
%endif
        mov eax, cr0
        and eax, 0x7FFFFFFF
        mov cr0, eax
        mov eax, cr4
        and eax, ~0x20
        mov cr4, eax

; ======================================================================================
; More privilege transitions (paging off from here on)
; ======================================================================================
T22:    SAY 'T22 INT from ring 3 through a DPL 3 trap gate, IRET back to ring 3'
        TRY
        RING3 .u
.u:     mov eax, 0x11111111
        int 0x44
        mov [ss:r3_eax], eax
        pushfd
        pop eax
        mov [ss:r3_flags], eax
        int 0x40
        ENDTRY
        SHOW 'eip', [frame44]
        SHOW16 'cs', [frame44 + 4]
        SHOW 'eflags', [frame44 + 8]
        SHOW 'esp', [frame44 + 12]
        SHOW16 'ss', [frame44 + 16]
        SHOW 'esp0', [frame44 + 20]
        SHOW 'eax', [r3_eax]
        SHOW 'flags3', [r3_flags]
        call putnl

T23:    SAY 'T23 call gate with 2 parameters (copied to the ring 0 stack), RETF 8'
        TRY
        RING3 .u
.u:     push dword 0xAAAA0001
        push dword 0xBBBB0002
        call SEL_CGATEP | 3 : 0
        mov [ss:r3_esp], esp
        int 0x40
        ENDTRY
        SHOW 'eip', [gp_frame]
        SHOW16 'cs', [gp_frame + 4]
        SHOW 'p0', [gp_frame + 8]
        SHOW 'p1', [gp_frame + 12]
        SHOW 'esp3', [gp_frame + 16]
        SHOW16 'ss3', [gp_frame + 20]
        SHOW 'esp0', [gp_frame + 24]
        SHOW 'after', [r3_esp]
        call putnl

T24:    SAY 'T24 conforming code from ring 3, non-conforming DPL 0 code from ring 3'
        TRY
        RING3 .u
.u:     call SEL_CONF | 3 : conf_target
        int 0x40
        ENDTRY
        SHOW16 'conf.cs', [conf_cs]
        SHOW 'conf.ret', [conf_ret]
        call putnl
        TRY
        RING3 .u2
.u2:    call SEL_CODE0 : .x
.x:
        ENDTRY
        TRY
        RING3 .u3
.u3:    jmp SEL_CONF | 3 : .y            ; JMP to conforming code: allowed, CPL stays 3
.y:     xor eax, eax
        mov ax, cs
        mov [ss:conf_cs], eax
        int 0x40
        ENDTRY
        SHOW16 'jmp.cs', [conf_cs]
        call putnl

T25:    SAY 'T25 I/O permission bitmap (ports 0x80 allowed, others denied, IOPL 0)'
        mov edi, tss_a + 0x68
        mov ecx, 129
        mov al, 0xFF
        rep stosb
        mov byte [tss_a + 0x68 + 0x10], 0xFE     ; port 0x80
        mov word [tss_a + 0x66], 0x68
        mov word [gdt + SEL_TSSA], 0x68 + 129 - 1 ; limit
        and byte [gdt + SEL_TSSA + 5], ~0x02      ; not busy, so LTR accepts it again
        mov ax, SEL_TSSA
        ltr ax
        TRY
        RING3 .u1
.u1:    out 0x80, al
        mov dx, 0x80
        in al, dx
        out dx, al
        int 0x40
        ENDTRY
        SAY '  port 80 ok'
        TRY
        RING3 .u2
.u2:    out 0x81, al
        ENDTRY
        TRY
        RING3 .u3
.u3:    mov dx, 0x7F
        out dx, ax                       ; ports 7F and 80: 7F denied
        ENDTRY
        TRY
        RING3 .u4
.u4:    mov dx, 0x400
        out dx, al                       ; beyond the bitmap
        ENDTRY
        TRY
        RING3 .u5
.u5:    mov dx, 0x80
        in eax, dx                       ; 80-83
        ENDTRY

T26:    SAY 'T26 INT3, INTO, BOUND, single step'
        TRY
        int3
        ENDTRY
        TRY
        mov al, 0x7F
        add al, 1
        into
        ENDTRY
        TRY
        mov al, 1
        add al, 1
        into
        SAY '  into without OF'
        ENDTRY
        TRY
        mov eax, 5
        bound eax, [bounds]
        ENDTRY
        TRY
        mov eax, 15
        bound eax, [bounds]
        SAY '  bound inside'
        ENDTRY
        xor eax, eax
        mov dr6, eax
        TRY
        pushfd
        or dword [esp], 0x100
        popfd
        nop                              ; the trap comes after this one
        nop
        ENDTRY
        mov eax, dr6
        and eax, 0xE00F
        SHOW16 'dr6', eax
        call putnl

T27:    SAY 'T27 16-bit code segment, 16-bit interrupt gate, 16-bit IRET'
        mov dword [res16], 0
        mov dword [res16 + 4], 0
        mov dword [res16 + 8], 0
        mov dword [res16 + 12], 0
        mov dword [res16 + 16], 0
        TRY
        jmp SEL_CODE16:code16_entry
back32:
        ENDTRY
        SHOW 'ebx', [res16]
        SHOW 'cx/ret', [res16 + 4]
        SHOW 'ax/ip', [res16 + 8]
        SHOW 'a32', [res16 + 12]
        SHOW 'cs/fl', [res16 + 16]
        call putnl

T28:    SAY 'T28 SYSENTER / SYSEXIT'
        mov eax, 1
        cpuid
        test edx, 1 << 11
        jnz .sep
        SAY '  SEP not reported by CPUID'
        jmp T29
.sep:   mov ecx, 0x174
        xor edx, edx
        mov eax, SEL_CODE0
        wrmsr
        mov ecx, 0x175
        mov eax, STACK0_TOP - 0x100
        wrmsr
        mov ecx, 0x176
        mov eax, sysenter_target
        wrmsr
        TRY
        RING3 .u
.u:     mov ecx, esp
        mov edx, .after
        sysenter
.after: xor eax, eax
        mov ax, cs
        mov [ss:se_cs3], eax
        mov ax, ss
        mov [ss:se_ss3], eax
        mov [ss:se_esp3], esp
        int 0x40
        ENDTRY
        SHOW16 'cs0', [se_cs0]
        SHOW16 'ss0', [se_ss0]
        SHOW 'esp0', [se_esp0]
        SHOW 'fl0', [se_fl0]
        SHOW16 'cs3', [se_cs3]
        SHOW16 'ss3', [se_ss3]
        SHOW 'esp3', [se_esp3]
        call putnl
        TRY
        RING3 .u2
.u2:    sysexit                          ; only at CPL 0
        ENDTRY
        mov ecx, 0x174
        xor eax, eax
        xor edx, edx
        wrmsr
        TRY
        RING3 .u3
.u3:    sysenter                         ; SYSENTER_CS = 0
        ENDTRY

T29:    SAY 'T29 RDTSC at ring 3 with CR4.TSD'
        mov eax, cr4
        or eax, 0x4                      ; TSD
        mov cr4, eax
        TRY
        RING3 .u
.u:     rdtsc
        ENDTRY
        mov eax, cr4
        and eax, ~0x4
        mov cr4, eax
%ifdef STRICT
        TRY
        mov eax, cr4
        or eax, 1 << 15                  ; reserved: #GP(0) (QEMU 7.2 loops on this MOV)
        mov cr4, eax
        ENDTRY
%endif

T31:    SAY 'T31 virtual-8086 mode'
        mov dword [v86_var], 0
        mov dword [v86_var + 4], 0
        mov dword [v86_es], 0xFFFFFFFF
        TRY
        push dword 0                     ; GS
        push dword 0                     ; FS
        push dword 0                     ; DS
        push dword 0                     ; ES
        push dword 0x8000                ; SS
        push dword 0xD000                ; ESP
        push dword 0x00023002            ; EFLAGS: VM, IOPL 3
        push dword 0                     ; CS
        push dword v86_code              ; EIP
        iret
        ENDTRY
        SHOW16 'var', [v86_var]
        SHOW16 'flags', [v86_var + 2]
        SHOW16 'ax', [v86_var + 4]
        SHOW16 'es0', [v86_es]
        call putnl
        SHOW 'eip', [v86_frame]
        SHOW16 'cs', [v86_frame + 4]
        SHOW 'eflags', [v86_frame + 8]
        SHOW 'esp', [v86_frame + 12]
        SHOW16 'ss', [v86_frame + 16]
        SHOW16 'es', [v86_frame + 20]
        SHOW16 'ds', [v86_frame + 24]
        SHOW16 'fs', [v86_frame + 28]
        SHOW16 'gs', [v86_frame + 32]
        call putnl
%macro V86_IOPL0 1                       ; enter v86 (IOPL 0) at %1
        push dword 0
        push dword 0
        push dword 0
        push dword 0
        push dword 0x8000
        push dword 0xD000
        push dword 0x00020002
        push dword 0
        push dword %1
        iret
%endmacro
        TRY
        V86_IOPL0 v86_cli
        ENDTRY
        TRY
        V86_IOPL0 v86_int
        ENDTRY
        TRY
        V86_IOPL0 v86_io
        ENDTRY
        TRY
        V86_IOPL0 v86_pushf
        ENDTRY

T32:    SAY 'T32 real mode: IVT interrupts, #DE, far call, unreal-mode FS and GS'
        mov edi, rm_res
        mov ecx, 8
        call zero_dwords
        xor ecx, ecx                     ; IVT: every vector -> rm_unexpected, then 0 and 50h
.ivt:   mov dword [ecx * 4], rm_unexpected
        inc ecx
        cmp ecx, 256
        jb .ivt
        mov dword [0 * 4], rm_de
        mov dword [0x50 * 4], rm_int50
        mov [saved_esp32], esp
        lidt [rm_idt]
        mov ax, SEL_DATA0                ; FS, GS: flat 4 GB, kept through real mode
        mov fs, ax
        mov gs, ax
        mov ax, SEL_DATA16               ; DS, ES, SS: 64 KB, 16-bit
        mov ds, ax
        mov es, ax
        mov ss, ax
        jmp SEL_CODE16:rm_switch
back_from_rm:
        mov ax, SEL_DATA0
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        mov esp, [saved_esp32]
        lidt [idt_desc]
        SHOW16 'int50.ax', [rm_res]
        SHOW16 'ip', [rm_res + 2]
        SHOW16 'flags', [rm_res + 4]
        SHOW16 'de.ip', [rm_res + 6]
        SHOW16 'de.cs', [rm_res + 8]
        SHOW16 'far', [rm_res + 10]
        call putnl
        SHOW 'fs:2M', [rm_res + 12]
        SHOW 'gs:2M', [rm_res + 16]
        SHOW 'eflags', [rm_res + 20]
        SHOW16 'sp', [rm_res + 24]
        call putnl

T33:    SAY 'T33 self-modifying code'
        ; a) patch an immediate, then call the routine
        mov dword [smc_a + 1], 0x11111111
        call smc_a
        SHOW 'a1', eax
        mov dword [smc_a + 1], 0x22222222
        call smc_a
        SHOW 'a2', eax
        ; b) modify the very next instruction
        mov byte [.nx + 1], 0x42
.nx:    mov al, 0x00
        movzx eax, al
        SHOW 'next', eax
        ; c) REP MOVSB a routine into a buffer, run it, replace it, run again
        mov esi, smc_r1
        mov edi, smc_buf
        mov ecx, smc_r1_end - smc_r1
        rep movsb
        call smc_buf
        SHOW 'c1', eax
        mov esi, smc_r2
        mov edi, smc_buf
        mov ecx, smc_r2_end - smc_r2
        rep movsb
        call smc_buf
        SHOW 'c2', eax
        ; d) in a loop: each pass patches the loop body's immediate
        xor edx, edx
        mov ecx, 5
.lp:    mov [.imm + 1], ecx
.imm:   mov ebx, 0
        add edx, ebx
        loop .lp
        SHOW 'loop', edx
        call putnl
        ; e) with paging: write through a 4 MB alias (0x800000 -> 0), run the identity page
        mov eax, PD
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        jmp .pg
.pg:    mov dword [smc_a + 1], 0x33333333
        call smc_a
        SHOW 'e1', eax
        mov dword [0x800000 + smc_a + 1], 0x44444444
        call smc_a
        SHOW 'alias', eax
        mov eax, cr0
        and eax, 0x7FFFFFFF
        mov cr0, eax
        call putnl

TEND:   SAY 'PMODE DONE'
        xor al, al
        jmp guest_exit

bounds: dd 10, 20

smc_a:  mov eax, 0
        ret
smc_r1: mov eax, 0x0000C1C1
        ret
smc_r1_end:
smc_r2: xor eax, eax
        dec eax
        shl eax, 8
        ret
smc_r2_end:
rm_idt: dw 0x3FF
        dd 0

int44_handler:                           ; DPL 3 trap gate: record the frame, IRET
        push eax
        mov eax, [esp + 4]
        mov [frame44], eax
        mov eax, [esp + 8]
        mov [frame44 + 4], eax
        mov eax, [esp + 12]
        mov [frame44 + 8], eax
        mov eax, [esp + 16]
        mov [frame44 + 12], eax
        mov eax, [esp + 20]
        mov [frame44 + 16], eax
        lea eax, [esp + 4]
        mov [frame44 + 20], eax
        pop eax
        mov eax, 0x22222222
        iret

gate_param_target:                       ; ring 0 via SEL_CGATEP
        push eax
        push ecx
        xor ecx, ecx
.c:     mov eax, [esp + 8 + ecx * 4]
        mov [gp_frame + ecx * 4], eax
        inc ecx
        cmp ecx, 6
        jb .c
        lea eax, [esp + 8]
        mov [gp_frame + 24], eax
        pop ecx
        pop eax
        retf 8

conf_target:                             ; conforming code, runs at CPL 3
        xor eax, eax
        mov ax, cs
        mov [ss:conf_cs], eax
        mov eax, [esp]
        mov [ss:conf_ret], eax
        retf

sysenter_target:
        mov [se_esp0], esp
        xor eax, eax
        mov ax, cs
        mov [se_cs0], eax
        mov ax, ss
        mov [se_ss0], eax
        pushfd
        pop eax
        mov [se_fl0], eax
        sysexit

v86_int_handler:                         ; INT 46h from v86 mode (DPL 3 interrupt gate)
        xor eax, eax
        mov ax, es
        mov [ss:v86_es], eax             ; data segments are null on entry from v86
        mov ax, SEL_DATA0
        mov ds, ax
        xor ecx, ecx
.c:     mov eax, [esp + ecx * 4]
        mov [v86_frame + ecx * 4], eax
        inc ecx
        cmp ecx, 9
        jb .c
        mov ax, 0x4646
        iret

        bits 16
code16_entry:                            ; CS = SEL_CODE16, SS = flat 32-bit
        mov ax, 0x1234
        push ax
        push dword 0x55667788
        pop ebx
        pop cx
        mov [res16], ebx
        mov [res16 + 4], cx
        call sub16
        int 0x45
        mov [res16 + 8], ax
        mov eax, 0x89ABCDEF
        mov esi, res16 + 12
        mov [esi], eax                   ; 32-bit address and operand in 16-bit code
        jmp dword SEL_CODE0:back32
sub16:  pop dx
        push dx
        mov [res16 + 6], dx              ; the 16-bit return address
        ret
int45_16:                                ; 16-bit interrupt gate
        mov ebp, esp
        mov ax, [ebp]
        mov [res16 + 10], ax             ; IP
        mov ax, [ebp + 2]
        mov [res16 + 16], ax             ; CS
        mov ax, [ebp + 4]
        mov [res16 + 18], ax             ; FLAGS
        mov ax, 0x4545
        iret

v86_code:                                ; virtual-8086 mode, IOPL 3, CS = DS = 0
        mov ax, 0x1234
        mov [v86_var], ax
        pushf
        pop ax
        mov [v86_var + 2], ax
        int 0x46
        mov [v86_var + 4], ax
        cli
        int 0x40
v86_cli: cli                             ; IOPL 0: #GP
v86_int: int 0x46                        ; IOPL 0, no VME: #GP
v86_io: out 0x80, al                     ; I/O bitmap: allowed
        out 0x81, al                     ; denied
v86_pushf:
        pushf                            ; IOPL 0: #GP

rm_switch:                               ; 16-bit protected mode: leave it
        mov eax, cr0
        and eax, ~1
        mov cr0, eax
        jmp 0x0000:rm_main
rm_main:                                 ; real mode, CS = DS = ES = SS = 0
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7000
        mov ax, 0x5050
        int 0x50
        mov [rm_res], ax
        xor dx, dx
        mov ax, 1
        xor cx, cx
        div cx                           ; #DE through IVT vector 0 (the handler skips it)
        call 0x0000:rm_far
        mov esi, 0x200000
        mov dword [fs:esi], 0xCAFEBABE   ; unreal mode: FS keeps its 4 GB limit
        mov eax, [fs:esi]
        mov [rm_res + 12], eax
        xor ax, ax
        mov gs, ax                       ; a real-mode load changes the base only: GS
        mov dword [gs:esi + 4], 0x0BADF00D ; keeps the 4 GB limit it had in protected mode
        mov eax, [gs:esi + 4]
        mov [rm_res + 16], eax
        pushfd
        pop eax
        mov [rm_res + 20], eax
        mov [rm_res + 24], sp
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp dword SEL_CODE0:back_from_rm

rm_far: mov word [rm_res + 10], 0xFA11
        retf

rm_int50:
        push bp
        mov bp, sp
        mov ax, [bp + 2]
        mov [rm_res + 2], ax             ; return IP
        mov ax, [bp + 6]
        mov [rm_res + 4], ax             ; FLAGS
        pop bp
        mov ax, 0x1234
        iret

rm_de:  push bp
        mov bp, sp
        mov ax, [bp + 2]
        mov [rm_res + 6], ax             ; IP of the DIV
        mov ax, [bp + 4]
        mov [rm_res + 8], ax             ; CS
        add word [bp + 2], 2             ; skip DIV CX
        pop bp
        iret

rm_unexpected:                           ; any other vector in real mode: give up loudly
        mov dx, 0x3F8
        mov al, '!'
        out dx, al
        mov al, 10
        out dx, al
        mov al, 5
        out 0xF4, al
.h:     hlt
        jmp .h
        bits 32

nx_ret: ret
exec_only_probe: dd 0xC0DEC0DE

; ======================================================================================
; Call gate target (ring 0)
; ======================================================================================
gate_target:
        mov [gate_esp], esp
        mov eax, cs
        mov [gate_cs], eax
        mov eax, [esp]
        mov [gate_frame], eax
        mov eax, [esp + 4]
        mov [gate_frame + 4], eax
        mov eax, [esp + 8]
        mov [gate_frame + 8], eax
        mov eax, [esp + 12]
        mov [gate_frame + 12], eax
        mov ax, SEL_DATA0
        mov ds, ax                       ; DPL 0 data: nulled on the return to ring 3
        retf

; ======================================================================================
; Exceptions
; ======================================================================================
%macro EXC_STUB 1
%%s:
 %if %1 == 8 || (%1 >= 10 && %1 <= 14) || %1 == 17
 %else
        push byte 0
 %endif
        push dword %1
        jmp exc_common
        times 16 - ($ - %%s) nop
%endmacro
        align 16
exc_stubs:
%assign v 0
%rep 32
        EXC_STUB v
%assign v v + 1
%endrep

exc_common:
        mov ax, SEL_DATA0
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov eax, [esp]
        mov [exc_vec], eax
        mov eax, [esp + 4]
        mov [exc_err], eax
        mov eax, [esp + 8]
        mov [exc_eip], eax
        mov eax, [esp + 12]
        mov [exc_cs], eax
        SAYN '  EXC '
        mov eax, [exc_vec]
        call puthex8
        cmp eax, 8
        je .err
        cmp eax, 17
        je .err
        cmp eax, 10
        jb .noerr
        cmp eax, 14
        ja .noerr
.err:   SHOW 'err', [exc_err]
.noerr: cmp dword [exc_vec], 8
        je .nl
        SHOW16 'cs', [exc_cs]
        SHOW 'eip', [exc_eip]
        cmp dword [exc_vec], 14
        jne .nl
        mov eax, cr2
        SHOW 'cr2', eax
.nl:    call putnl
resume:
        mov ax, SEL_DATA0
        mov ds, ax                       ; (DS may be null after a return to ring 3)
        mov ss, ax
        mov esp, [resume_esp]
        mov es, ax
        mov fs, ax
        mov gs, ax
        jmp [resume_eip]

int40_handler:                           ; DPL 3: back to ring 0 at the resume point
        jmp resume

int41_handler:
        iret

puthex16:
        push eax
        push ecx
        mov ecx, 4
        shl eax, 16
.l:     rol eax, 4
        push eax
        and al, 0x0F
        add al, '0'
        cmp al, '9'
        jbe .p
        add al, 'a' - '0' - 10
.p:     call putc
        pop eax
        dec ecx
        jnz .l
        pop ecx
        pop eax
        ret

; ======================================================================================
; Table setup
; ======================================================================================
; EDI = address, ECX = dwords
zero_dwords:
        push eax
        push edi
        push ecx
        xor eax, eax
        rep stosd
        pop ecx
        pop edi
        pop eax
        ret

; IDT gate: EAX = handler, EBX = vector, EDX = type/attr byte (8E interrupt gate DPL0 etc.)
set_gate:
        push edi
        lea edi, [idt + ebx * 8]
        mov [edi], ax
        mov word [edi + 2], SEL_CODE0
        mov byte [edi + 4], 0
        mov [edi + 5], dl
        push eax
        shr eax, 16
        mov [edi + 6], ax
        pop eax
        pop edi
        ret

init_tss_b:
        mov edi, tss_b
        mov ecx, 104 / 4
        call zero_dwords
        mov eax, cr3
        mov [tss_b + 0x1C], eax
        mov dword [tss_b + 0x24], 0x00000002  ; EFLAGS
        mov dword [tss_b + 0x38], STACKB_TOP  ; ESP
        mov dword [tss_b + 0x48], SEL_DATA0   ; ES
        mov dword [tss_b + 0x4C], SEL_CODE0   ; CS
        mov dword [tss_b + 0x50], SEL_DATA0   ; SS
        mov dword [tss_b + 0x54], SEL_DATA0   ; DS
        mov dword [tss_b + 0x58], SEL_DATA0   ; FS
        mov dword [tss_b + 0x5C], SEL_DATA0   ; GS
        mov word [tss_b + 0x66], 104          ; no I/O bitmap
        ; clear a busy bit left from before
        and byte [gdt + SEL_TSSB + 5], ~0x02
        ret

; Descriptor: EDI = GDT slot address, EAX = base, EBX = limit (20 bits), ECX = access byte,
; EDX = flags nibble (G D/B L AVL << 4 in bits 7:4).
set_desc:
        push eax
        mov [edi], bx
        mov [edi + 2], ax
        shr eax, 16
        mov [edi + 4], al
        mov [edi + 5], cl
        shr ebx, 16
        and bl, 0x0F
        or bl, dl
        mov [edi + 6], bl
        mov [edi + 7], ah
        pop eax
        ret

%macro DESC 5 ; selector, base, limit, access, flags
        lea edi, [gdt + %1]
        mov eax, %2
        mov ebx, %3
        mov ecx, %4
        mov edx, %5
        call set_desc
%endmacro

setup_tables:
        ; ---- GDT
        mov edi, gdt
        mov ecx, (GDT_LIMIT + 1) / 4
        call zero_dwords
        DESC SEL_CODE0,  0, 0xFFFFF, 0x9A, 0xC0
        DESC SEL_DATA0,  0, 0xFFFFF, 0x92, 0xC0
        DESC SEL_CODE3,  0, 0xFFFFF, 0xFA, 0xC0
        DESC SEL_DATA3,  0, 0xFFFFF, 0xF2, 0xC0
        DESC SEL_TSSA,   tss_a, 103, 0x89, 0x00
        DESC SEL_TSSB,   tss_b, 103, 0x89, 0x00
        DESC SEL_NP,     0, 0xFFFFF, 0x12, 0xC0  ; P = 0
        DESC SEL_SMALL,  0x80000, 0xFFF, 0x92, 0x40
        DESC SEL_NPSTK,  0, 0xFFFFF, 0x12, 0xC0  ; P = 0
        DESC SEL_TSSBAD, tss_b, 0x20, 0x89, 0x00
        DESC SEL_RODATA, 0, 0xFFFFF, 0x90, 0xC0
        DESC SEL_LIM64K, 0, 0xFFFF, 0x92, 0x40
        DESC SEL_XONLY,  0, 0xFFFFF, 0x98, 0xC0
        DESC SEL_CODE16, 0, 0xFFFF, 0x9A, 0x00
        DESC SEL_CONF,   0, 0xFFFFF, 0x9E, 0xC0
        DESC SEL_DATA16, 0, 0xFFFF, 0x92, 0x00
        mov eax, gate_param_target
        mov word [gdt + SEL_CGATEP], ax
        mov word [gdt + SEL_CGATEP + 2], SEL_CODE0
        mov word [gdt + SEL_CGATEP + 4], 0xEC02     ; 2 dword parameters
        shr eax, 16
        mov word [gdt + SEL_CGATEP + 6], ax
        ; call gates: offset 15:0 | selector, P DPL type C | offset 31:16
        mov eax, gate_target
        mov word [gdt + SEL_CGATE3], ax
        mov word [gdt + SEL_CGATE3 + 2], SEL_CODE0
        mov word [gdt + SEL_CGATE3 + 4], 0xEC00
        shr eax, 16
        mov word [gdt + SEL_CGATE3 + 6], ax
        mov eax, gate_target
        mov word [gdt + SEL_CGATE0], ax
        mov word [gdt + SEL_CGATE0 + 2], SEL_CODE0
        mov word [gdt + SEL_CGATE0 + 4], 0x8C00
        shr eax, 16
        mov word [gdt + SEL_CGATE0 + 6], ax
        ; ---- TSS A (the boot task): ring-0 stack for privilege changes, no I/O bitmap
        mov edi, tss_a
        mov ecx, 104 / 4
        call zero_dwords
        mov dword [tss_a + 4], STACK0_TOP
        mov dword [tss_a + 8], SEL_DATA0
        mov dword [tss_a + 0x1C], PD
        mov word [tss_a + 0x66], 104
        ; ---- IDT: 0x44 vectors
        mov edi, idt
        mov ecx, IDT_ENTRIES * 2
        call zero_dwords
        xor ebx, ebx
        mov eax, exc_stubs
        mov edx, 0x8E
.g:     call set_gate
        add eax, 16
        inc ebx
        cmp ebx, 32
        jb .g
        mov eax, int40_handler
        mov ebx, 0x40
        mov edx, 0xEE                    ; interrupt gate, DPL 3
        call set_gate
        mov eax, int41_handler
        mov ebx, 0x41
        mov edx, 0x8E
        call set_gate
        mov eax, int41_handler
        mov ebx, 0x42
        mov edx, 0x0E                    ; not present
        call set_gate
        mov ebx, 0x43
        mov edx, 0x80                    ; present, type 0: not a gate
        call set_gate
        mov eax, int44_handler
        mov ebx, 0x44
        mov edx, 0xEF                    ; trap gate, DPL 3
        call set_gate
        mov eax, int45_16
        mov ebx, 0x45
        mov edx, 0x86                    ; 16-bit interrupt gate
        call set_gate
        mov word [idt + 0x45 * 8 + 2], SEL_CODE16
        mov eax, v86_int_handler
        mov ebx, 0x46
        mov edx, 0xEE                    ; interrupt gate, DPL 3
        call set_gate
        ; ---- 32-bit paging: PD, PT0 identity 0-4 MB, user, writable
        mov edi, PD
        mov ecx, 1024
        call zero_dwords
        mov dword [PD], PT0 | 7
        mov edi, PT0
        xor eax, eax
        mov ecx, 1024
.pt:    mov edx, eax
        or edx, 7
        mov [edi], edx
        add eax, 0x1000
        add edi, 4
        dec ecx
        jnz .pt
        mov dword [PT0 + (PG_NOTP >> 10)], 0
        mov dword [PT0 + (PG_RO_SUP >> 10)], PG_RO_SUP | 1
        mov dword [PT0 + (PG_RW_SUP >> 10)], PG_RW_SUP | 3
        mov dword [PT0 + (PG_RO_USER >> 10)], PG_RO_USER | 5
        ; ---- PAE: PDPT[0] -> PD; PD[0] -> PT (0-2 MB, 4 KB pages), PD[1] 2 MB page at
        ; 0x200000, PD[2] 2 MB NX page at 0x400000 -> 0; PT: page 0x1FF000 NX, 0x1FE000 absent
        mov edi, PDPT
        mov ecx, 8
        call zero_dwords
        mov dword [PDPT], PAE_PD | 1
        mov edi, PAE_PD
        mov ecx, 1024
        call zero_dwords
        mov dword [PAE_PD], PAE_PT | 7
        mov dword [PAE_PD + 8], 0x200000 | 0x87
        mov dword [PAE_PD + 16], 0x000000 | 0x87
        mov dword [PAE_PD + 20], 0x80000000
        mov edi, PAE_PT
        xor eax, eax
        mov ecx, 512
.pae:   mov edx, eax
        or edx, 7
        mov [edi], edx
        mov dword [edi + 4], 0
        add eax, 0x1000
        add edi, 8
        dec ecx
        jnz .pae
        mov dword [PAE_PT + (0x1FF000 >> 9) + 4], 0x80000000
        mov dword [PAE_PT + (0x1FE000 >> 9)], 0
        ret

%include "../common/serial.inc"
%include "../common/exit.inc"

        align 8
gdt_desc:
        dw GDT_LIMIT
        dd gdt
IDT_ENTRIES equ 0x48
idt_desc:
        dw IDT_ENTRIES * 8 - 1
        dd idt
pse_probe: dd 0

%include "../common/boot_end.inc"

        absolute image_end
        alignb 16
gdt:        resb GDT_LIMIT + 1
idt:        resb IDT_ENTRIES * 8
tss_a:      resb 256
tss_b:      resb 104
resume_esp: resd 1
resume_eip: resd 1
scratch:    resd 4
gate_esp:   resd 1
gate_cs:    resd 1
gate_frame: resd 4
gate_back_cs: resd 1
gate_back_ds: resd 1
frame44:    resd 6
r3_eax:     resd 1
r3_flags:   resd 1
r3_esp:     resd 1
gp_frame:   resd 7
conf_cs:    resd 1
conf_ret:   resd 1
res16:      resd 5
se_cs0:     resd 1
se_ss0:     resd 1
se_esp0:    resd 1
se_fl0:     resd 1
se_cs3:     resd 1
se_ss3:     resd 1
se_esp3:    resd 1
v86_var:    resd 2
rm_res:     resd 8
smc_buf:    resb 32
saved_esp32: resd 1
v86_es:     resd 1
v86_frame:  resd 9
exc_vec:    resd 1
exc_err:    resd 1
exc_eip:    resd 1
exc_cs:     resd 1
