; vmx-isa: the instructions that newer generations added and their VM exits (SDM Vol. 3C
; 26.1.2-26.1.3, 26.3, 28.2; Vol. 2 instruction pages): RDRAND/RDSEED exiting (57/61, with
; instruction information), "enable INVPCID" (#UD while 0) and INVPCID exiting (58 with INVLPG
; exiting), RDTSCP with IA32_TSC_AUX, the MWAIT exit qualification (bit 0: monitor armed),
; GETSEC with CR4.SMXE = 0 (#UD before the unconditional exit), XSETBV (55, unconditional) and
; PAUSE-loop exiting with PLE_Gap/PLE_Window chosen so that no timing value matters. Each
; section checks CPUID and the capability MSRs and prints "skip" where the model lacks them.
; No random value is printed: only RDRAND/RDSEED's flags.
%include "../../../guests/common/boot.inc"
        bits 32
%include "../common/defs.inc"
%include "../common/macros.inc"

CR4_OSXSAVE     equ 1 << 18
XSAVE_BIT       equ 1 << 26             ; CPUID.1:ECX
RDRAND_BIT      equ 1 << 30             ; CPUID.1:ECX
MONITOR_BIT     equ 1 << 3              ; CPUID.1:ECX
RDTSCP_BIT      equ 1 << 27             ; CPUID.80000001H:EDX
INVPCID_BIT     equ 1 << 10             ; CPUID.(7,0):EBX
RDSEED_BIT      equ 1 << 18             ; CPUID.(7,0):EBX
PROC_TPR_SHADOW equ 1 << 21
PROC2_APIC_ACCESSES equ 1 << 0
F_VIRTUAL_APIC  equ 0x2012
F_APIC_ACCESS   equ 0x2014
VAPIC_PAGE      equ 0x00120000          ; the virtual-APIC page
APIC_PAGE       equ 0x00121000          ; the APIC-access page (guest RAM, identity mapped)

; CPUB 'name', dword, bit: prints " name=0|1"
%macro CPUB 3
        PRINT %1
        mov eax, [%2]
        shr eax, %3
        and eax, 1
        call putdec
%endmacro

stage2_entry:
        call host_init
        call guest_idt_install
        PRINTLN 'VMX-ISA START'
        call vmx_caps
        call read_cpuid
        PRINT 'cpuid:'
        CPUB ' monitor=', cpuid1_ecx, 3
        CPUB ' rdrand=', cpuid1_ecx, 30
        CPUB ' xsave=', cpuid1_ecx, 26
        CPUB ' rdtscp=', cpuid_ext_edx, 27
        CPUB ' invpcid=', cpuid7_ebx, 10
        CPUB ' rdseed=', cpuid7_ebx, 18
        call putnl
        PRINT 'model:'
        CPUB ' secondary=', cap_proc + 4, 31
        CPUB ' rdtscp=', cap_proc2 + 4, 3
        CPUB ' ple=', cap_proc2 + 4, 10
        CPUB ' rdrand-exiting=', cap_proc2 + 4, 11
        CPUB ' invpcid=', cap_proc2 + 4, 12
        CPUB ' rdseed-exiting=', cap_proc2 + 4, 16
        call putnl
        call vmx_enable

        SECTION '== S01 RDRAND exiting (register and operand size in the information)', g_rdrand
        NEED cap_proc2 + 4, PROC2_RDRAND, .s01
        mov eax, PROC2_RDRAND
        call set_proc2
        call vm_run
.s01:
        SECTION '== S02 RDRAND in the guest: CF = 1, other flags 0', g_rdrand_flags
        NEED cpuid1_ecx, RDRAND_BIT, .s02
        call vm_run
.s02:
        SECTION '== S03 RDSEED exiting', g_rdseed
        NEED cap_proc2 + 4, PROC2_RDSEED, .s03
        mov eax, PROC2_RDSEED
        call set_proc2
        call vm_run
.s03:
        SECTION '== S04 INVPCID with "enable INVPCID" = 0: #UD', g_invpcid_ud
        NEED cpuid7_ebx, INVPCID_BIT, .s04
        VW F_EXC_BITMAP, 1 << 6
        mov eax, PROC_INVLPG
        call set_proc
        call vm_run
.s04:
        SECTION '== S05 INVPCID exiting (enable INVPCID and INVLPG exiting)', g_invpcid
        NEED cap_proc2 + 4, PROC2_INVPCID, .s05
        mov eax, PROC_INVLPG
        call set_proc
        mov eax, PROC2_INVPCID
        call set_proc2
        call vm_run
.s05:
        SECTION '== S06 INVPCID enabled, no exiting: types 0-3 run, type 4 is #GP(0)', g_invpcid_run
        NEED cap_proc2 + 4, PROC2_INVPCID, .s06
        VW F_EXC_BITMAP, 1 << 13
        mov eax, PROC2_INVPCID
        call set_proc2
        call vm_run
.s06:
        SECTION '== S07 RDTSCP reads IA32_TSC_AUX', g_rdtscp
        NEED cap_proc2 + 4, PROC2_RDTSCP, .s07
        mov ecx, MSR_TSC_AUX
        mov eax, 0x1234ABCD
        xor edx, edx
        wrmsr
        mov eax, PROC2_RDTSCP
        call set_proc2
        call vm_run
.s07:
        SECTION '== S08 MWAIT exiting: qualification bit 0 = monitor armed', g_mwait
        NEED cpuid1_ecx, MONITOR_BIT, .s08
        mov eax, PROC_MWAIT
        call set_proc
        call vm_run
.s08:
        SECTION '== S09 GETSEC with CR4.SMXE = 0: #UD, not the unconditional exit', g_getsec
        VW F_EXC_BITMAP, 1 << 6
        call vm_run

        SECTION '== S10 XSETBV exits unconditionally (XGETBV does not)', g_xsetbv
        NEED cpuid1_ecx, XSAVE_BIT, .s10
        VR F_GUEST_CR4
        or eax, CR4_OSXSAVE
        VW F_GUEST_CR4, eax
        call vm_run
.s10:
        SECTION '== S11 PAUSE-loop exiting: window 0 exits at the second PAUSE of a loop', g_ple
        NEED cap_proc2 + 4, PROC2_PLE, .s11
        VW F_PLE_GAP, 0x7FFFFFFF
        VW F_PLE_WINDOW, 0
        mov eax, PROC2_PLE
        call set_proc2
        call vm_run
.s11:
        SECTION '== S12 PAUSE-loop exiting: gap 0 makes every PAUSE the first of a loop', g_ple_gap
        NEED cap_proc2 + 4, PROC2_PLE, .s12
        VW F_PLE_GAP, 0
        VW F_PLE_WINDOW, 0
        mov eax, PROC2_PLE
        call set_proc2
        call vm_run
.s12:
        SECTION '== S13 virtualize APIC accesses + TPR shadow: VTPR, exits 43 and 44', g_apic
        NEED cap_proc + 4, PROC_TPR_SHADOW, .s13
        NEED cap_proc2 + 4, PROC2_APIC_ACCESSES, .s13
        call apic_setup
        VW F_TPR_THRESHOLD, 3
        call vm_run
        PRINT '  APIC-access page 080H (untouched): '
        mov eax, [APIC_PAGE + 0x80]
        call puthex32
        call putnl
.s13:
        SECTION '== S14 TPR threshold above VTPR at VM entry: exit 43 first', g_tpr_entry
        NEED cap_proc + 4, PROC_TPR_SHADOW, .s14
        NEED cap_proc2 + 4, PROC2_APIC_ACCESSES, .s14
        call apic_setup
        mov dword [VAPIC_PAGE + 0x80], 0x20
        VW F_TPR_THRESHOLD, 5
        call vm_run
.s14:
        jmp host_exit

; apic_setup: "use TPR shadow" and "virtualize APIC accesses" with VAPIC_PAGE and APIC_PAGE,
; VTPR = 40H, the real APIC_PAGE's VTPR offset = 12345678H, and the hook below
apic_setup:
        mov dword [VAPIC_PAGE + 0x80], 0x40
        mov dword [APIC_PAGE + 0x80], 0x12345678
        VW F_VIRTUAL_APIC, VAPIC_PAGE
        VW F_VIRTUAL_APIC + 1, 0
        VW F_APIC_ACCESS, APIC_PAGE
        VW F_APIC_ACCESS + 1, 0
        mov eax, [cur_proc]
        or eax, PROC_TPR_SHADOW
        call set_proc
        mov eax, PROC2_APIC_ACCESSES
        call set_proc2
        mov dword [exit_hook], hook_apic
        ret

; hook_apic: TPR below threshold (43): lower the threshold to 0 (else the exit would repeat at
; the next VM entry) and resume after the instruction; APIC access (44): resume at the guest's
; GFIX point
hook_apic:
        mov eax, [x_reason]
        cmp eax, 43
        je .tpr
        cmp eax, 44
        jne hook_default
        mov eax, [g_fixup]
        test eax, eax
        jz .stop
        mov dword [g_fixup], 0
        VW F_GUEST_RIP, eax
        xor eax, eax
        ret
.tpr:   VW F_TPR_THRESHOLD, 0
        xor eax, eax
        ret
.stop:  mov eax, 1
        ret

; read_cpuid: CPUID.1:ECX, CPUID.80000001H:EDX and CPUID.(7,0):EBX (0 where the leaf is absent)
read_cpuid:
        pushad
        mov eax, 1
        cpuid
        mov [cpuid1_ecx], ecx
        xor eax, eax
        cpuid
        cmp eax, 7
        jb .no7
        mov eax, 7
        xor ecx, ecx
        cpuid
        mov [cpuid7_ebx], ebx
.no7:   mov eax, 0x80000000
        cpuid
        cmp eax, 0x80000001
        jb .noext
        mov eax, 0x80000001
        cpuid
        mov [cpuid_ext_edx], edx
.noext: popad
        ret

; ---- guests -------------------------------------------------------------------------------
g_rdrand:
        rdrand eax
        rdrand bx
        rdrand edi
        GDONE

; flags: all arithmetic flags set before, then RDRAND: CF = 1, OF SF ZF AF PF = 0
g_rdrand_flags:
        push dword 0x8D4
        popfd
        rdrand eax
        pushfd
        pop edx
        and edx, 0x8D5
        GREPORT 'rdrand flags', edx, 0
        GDONE

g_rdseed:
        rdseed ecx
        rdseed si
        GDONE

g_invpcid_ud:
        mov ecx, 2
        GFIX .a
        invpcid ecx, [inv_desc]
.a:     GDONE

g_invpcid:
        mov ebx, inv_desc - 0x20
        mov esi, 2
        mov edx, 1
        invpcid edx, [ebx + esi * 8 + 0x10]
        mov eax, 3
        invpcid eax, [fs:inv_desc]
        GDONE

g_invpcid_run:
        xor ecx, ecx
        invpcid ecx, [inv_desc]
        inc ecx
        invpcid ecx, [inv_desc]
        inc ecx
        invpcid ecx, [inv_desc]
        inc ecx
        invpcid ecx, [inv_desc]
        GREPORT 'types 0-3 ran', ecx, 0
        inc ecx
        GFIX .a
        invpcid ecx, [inv_desc]
.a:     GDONE

g_rdtscp:
        rdtscp
        GREPORT 'rdtscp ecx', ecx, 0
        GDONE

g_mwait:
        mov eax, io_buf
        xor ecx, ecx
        xor edx, edx
        monitor
        xor eax, eax
        mwait                               ; armed: q = 1
        mwait                               ; the VM exit and entry cleared the monitor: q = 0
        GDONE

g_getsec:
        xor eax, eax                        ; CAPABILITIES
        GFIX .a
        getsec
.a:     GDONE

g_xsetbv:
        xor ecx, ecx
        xgetbv
        GREPORT 'xcr0', eax, edx
        mov eax, 1                          ; x87 only
        xor edx, edx
        xor ecx, ecx
        xsetbv
        GDONE

g_ple:
        pause                               ; the first PAUSE after VM entry starts a loop
        pause                               ; more than 0 ticks after it: exit
        nop
        pause                               ; the exit ended the loop: a new one starts here
        nop
        pause                               ; exit
        GDONE

g_apic:
        mov eax, [APIC_PAGE + 0x80]         ; VTPR from the virtual-APIC page
        GREPORT 'vtpr', eax, 0
        mov dword [APIC_PAGE + 0x80], 0x20  ; VTPR[7:4] = 2 < 3: exit 43 after this MOV
        mov eax, [APIC_PAGE + 0x80]
        GREPORT 'vtpr after the write', eax, 0
        GFIX .a
        mov eax, [APIC_PAGE + 0x300]        ; exit 44: linear read of offset 300H
.a:     GFIX .b
        mov dword [APIC_PAGE + 0xB0], 0     ; exit 44: linear write of offset 0B0H (EOI)
.b:     GFIX .c
        mov [apic_esp], esp
        mov esp, APIC_PAGE + 0x100
        int 0x30                            ; exit 44 during delivery: the EFLAGS push at 0FCH
.c:     mov esp, [apic_esp]                 ; (no instruction fetch from the page: Bochs 2.7 panics,
        GDONE                               ; "prefetch: getHostMemAddr vetoed direct read")

g_tpr_entry:
        GDONE

g_ple_gap:
        mov ecx, 10
.l:     pause
        dec ecx
        jnz .l
        GREPORT 'ten PAUSEs, no exit', ecx, 0
        GDONE

        align 16
inv_desc:       dd 0, 0, 0x00400000, 0      ; PCID 0, linear address 4 MB
cpuid1_ecx:     dd 0
cpuid7_ebx:     dd 0
cpuid_ext_edx:  dd 0
io_buf:         times 16 db 0
apic_esp:       dd 0
test_name:      db 'VMX-ISA', 0

%include "../../../guests/common/serial.inc"
%include "../common/host.inc"
%include "../common/vmx.inc"
%include "../common/guest.inc"
%include "../../../guests/common/boot_end.inc"
