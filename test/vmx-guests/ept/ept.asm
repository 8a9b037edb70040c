; vmx-ept: extended page tables (SDM Vol. 3C 28.2-28.3) and VPID (28.1): an identity EPT with
; 4 KB, 2 MB and 1 GB pages, EPT violations for read/write/execute and on guest paging-structure
; accesses (exit qualification, Table 27-7; guest-linear and guest-physical addresses), EPT
; misconfigurations (exit 49), INVEPT and INVVPID outcomes, EPT accessed/dirty flags, and a guest
; that rewrites its own page tables without any exit. Needs a CPU model with EPT (else: skip).
%include "../../../guests/common/boot.inc"
        bits 32
%include "../common/defs.inc"
%include "../common/macros.inc"

GUEST_PT1       equ 0x0010B000          ; guest page table for linear 4-8 MB (identity)
EPT_RWX         equ 7
EPT_WB          equ 6 << 3              ; memory type WB in a leaf (bits 5:3)
EPT_LEAF        equ EPT_WB | EPT_RWX
EPT_PS          equ 1 << 7
EPT_A           equ 1 << 8
EPT_D           equ 1 << 9
MAGIC_ADDR      equ 0x00307000          ; holds MAGIC (and is reached through two aliases)
MAGIC           equ 0x600DF00D
; EPT PTE address for a GPA in 0-4 MB
%define EPTE(gpa) (EPT_PT0 + ((gpa) >> 12) * 8)

stage2_entry:
        call host_init
        call guest_idt_install
        PRINTLN 'VMX-EPT START'
        call vmx_caps
        call print_features
        call vmx_enable
        test dword [cap_proc2 + 4], PROC2_EPT
        jnz .have_ept
        PRINTLN '  skip (no EPT on this CPU model)'
        jmp host_exit
.have_ept:
        ; guest page table 1: linear 4-8 MB -> same physical addresses
        mov dword [GUEST_PD + 4], GUEST_PT1 | 3
        mov edi, GUEST_PT1
        mov eax, 0x00400000 | 3
        mov ecx, 1024
.pt1:   mov [edi], eax
        add eax, 0x1000
        add edi, 4
        loop .pt1
        mov dword [MAGIC_ADDR], MAGIC
        mov dword [0x00400000], 0x0BADF00D
        ; executable stub for the execute-violation test: mov eax, 0x1234 / ret
        mov byte [TEST_PAGES + 0x2000], 0xB8
        mov dword [TEST_PAGES + 0x2001], 0x1234
        mov byte [TEST_PAGES + 0x2005], 0xC3
        call ept_build

        SECTION '== P01 identity EPT (4 KB, 2 MB pages): guest runs, only CPUID exits', g_basic
        call ept_enable
        call vm_run

        SECTION '== P02 1 GB EPT page: GPA 40000000 maps to HPA 0', g_1g
        NEED cap_ept, 1 << 17, .p02
        call ept_enable
        call vm_run
.p02:
        SECTION '== P03 EPT violations: read, write, execute (fixed up, INVEPT, resumed)', g_violations
        mov dword [EPTE(TEST_PAGES)], 0                     ; not present
        mov dword [EPTE(TEST_PAGES + 0x1000)], EPT_WB | 1   ; read-only
        mov dword [EPTE(TEST_PAGES + 0x2000)], EPT_WB | 3   ; read/write, no execute
        call ept_enable
        mov dword [exit_hook], hook_ept_fix
        call vm_run

        SECTION '== P04 EPT violation on a guest paging-structure access', g_walk
        and dword [EPTE(GUEST_PT1)], ~EPT_RWX
        call ept_enable
        mov dword [exit_hook], hook_ept_fix
        call vm_run

        SECTION '== P05 EPT violation beyond the mapped guest-physical space', g_unmapped
        call ept_enable
        mov dword [exit_hook], hook_ept_skip
        call vm_run

        SECTION '== P06 EPT misconfigurations: write-only, reserved memory type 2, 7', g_misconfig
        mov dword [EPTE(TEST_PAGES + 0x3000)], EPT_WB | 2           ; W without R
        mov dword [EPTE(TEST_PAGES + 0x4000)], (2 << 3) | EPT_RWX   ; memory type 2
        mov dword [EPTE(TEST_PAGES + 0x5000)], (7 << 3) | EPT_RWX   ; memory type 7
        call ept_enable
        mov dword [exit_hook], hook_ept_fix
        call vm_run

        PRINTLN '== P07 INVEPT from the host'
        mov eax, 1
        invept eax, [invept_desc]
        VMRES 'invept single-context'
        mov eax, 2
        invept eax, [invept_desc]
        VMRES 'invept all-context'
        xor eax, eax
        invept eax, [invept_desc]
        VMRES 'invept type 0'
        mov eax, 3
        invept eax, [invept_desc]
        VMRES 'invept type 3'
        mov eax, 1
        invept eax, [invept_bad_desc]
        VMRES 'invept single-context, invalid EPTP'

        PRINTLN '== P08 invalid EPTP (VMfailValid 7)'
        call vmcs_init_a
        mov eax, EPT_PML4 | (2 << 3) | 6    ; page-walk length 3
        call ept_enable_eptp
        call vm_run
        call vmcs_init_a
        mov eax, EPT_PML4 | (3 << 3) | 1    ; memory type 1 (reserved)
        call ept_enable_eptp
        call vm_run
        call vmcs_init_a
        mov eax, EPT_PML4 | (3 << 3) | 6 | 0x100    ; reserved bit 8
        call ept_enable_eptp
        call vm_run

        SECTION '== P09 EPT accessed and dirty flags', g_ad
        NEED cap_ept, 1 << 21, .p09
        call ept_clear_ad
        mov eax, EPT_PML4 | (3 << 3) | 6 | (1 << 6)
        call ept_enable_eptp
        call vm_run
        PRINTLN '  EPT entries after the guest read 305000 and wrote 306000 (A D):'
        mov esi, EPT_PML4
        PRINT '    pml4[0]'
        call print_ad
        mov esi, EPT_PDPT
        PRINT '    pdpt[0]'
        call print_ad
        mov esi, EPT_PD0 + 8
        PRINT '    pd[1]'
        call print_ad
        mov esi, EPTE(TEST_PAGES + 0x5000)
        PRINT '    pte 305000'
        call print_ad
        mov esi, EPTE(TEST_PAGES + 0x6000)
        PRINT '    pte 306000'
        call print_ad
        mov esi, EPTE(TEST_PAGES + 0x7000)
        PRINT '    pte 307000 (not touched)'
        call print_ad
        mov esi, EPTE(GUEST_PT0)
        PRINT '    pte 108000 (guest page table)'
        call print_ad
.p09:
        SECTION '== P10 guest rewrites its own page table under EPT: no exit', g_remap
        call ept_enable
        call vm_run

        SECTION '== P11 VPID: entry with VPID 0 (VMfailValid 7), then VPID 1', g_basic
        NEED cap_proc2 + 4, PROC2_VPID, .p11
        call ept_enable
        mov eax, PROC2_EPT | PROC2_VPID
        call set_proc2
        VW F_VPID, 0
        call vm_run
        VW F_VPID, 1
        call vm_run
        PRINTLN '== P12 INVVPID from the host'
        xor eax, eax
        invvpid eax, [invvpid_desc]
        VMRES 'invvpid individual-address'
        mov eax, 1
        invvpid eax, [invvpid_desc]
        VMRES 'invvpid single-context'
        mov eax, 2
        invvpid eax, [invvpid_desc]
        VMRES 'invvpid all-context'
        mov eax, 3
        invvpid eax, [invvpid_desc]
        VMRES 'invvpid single-context-retaining-globals'
        mov eax, 4
        invvpid eax, [invvpid_desc]
        VMRES 'invvpid type 4'
        mov eax, 1
        invvpid eax, [invvpid_vpid0]
        VMRES 'invvpid single-context, VPID 0'
.p11:
        jmp host_exit

; ---- EPT construction ----------------------------------------------------------------------
; ept_build: PML4[0] -> PDPT; PDPT[0] -> PD0 (GPA 0-1 GB: 2 MB pages, except 0-4 MB in 4 KB
; pages through PT0/PT1); PDPT[1]: a 1 GB page GPA 40000000 -> HPA 0 when supported.
ept_build:
        pushad
        mov edi, EPT_PML4
        mov ecx, 5
        call zero_pages
        mov dword [EPT_PML4], EPT_PDPT | EPT_RWX
        mov dword [EPT_PDPT], EPT_PD0 | EPT_RWX
        test dword [cap_ept], 1 << 17
        jz .no1g
        mov dword [EPT_PDPT + 8], 0 | EPT_PS | EPT_LEAF
.no1g:  mov edi, EPT_PD0
        mov eax, EPT_PS | EPT_LEAF
        mov ecx, 512
.pd:    mov [edi], eax
        add eax, 0x200000
        add edi, 8
        loop .pd
        mov dword [EPT_PD0], EPT_PT0 | EPT_RWX
        mov dword [EPT_PD0 + 8], EPT_PT1 | EPT_RWX
        mov edi, EPT_PT0                    ; PT0 and PT1 are adjacent: 1024 entries
        mov eax, EPT_LEAF
        mov ecx, 1024
.pt:    mov [edi], eax
        add eax, 0x1000
        add edi, 8
        loop .pt
        popad
        ret

; ept_enable: EPT with the default EPTP (WB, 4-level walk) in the current VMCS
ept_enable:
        push eax
        mov eax, EPT_PML4 | (3 << 3) | 6
        call ept_enable_eptp
        pop eax
        ret
; ept_enable_eptp: EAX = EPTP
ept_enable_eptp:
        push eax
        VW F_EPTP, eax
        VW F_EPTP + 1, 0
        mov eax, PROC2_EPT
        call set_proc2
        pop eax
        ret

; ept_restore: every PT0/PT1 entry back to an identity RWX WB leaf (keeps A/D clear)
ept_restore:
        pushad
        mov edi, EPT_PT0
        mov eax, EPT_LEAF
        mov ecx, 1024
.l:     mov [edi], eax
        add eax, 0x1000
        add edi, 8
        loop .l
        popad
        ret

ept_clear_ad:
        pushad
        call ept_restore
        and dword [EPT_PML4], ~(EPT_A | EPT_D)
        and dword [EPT_PDPT], ~(EPT_A | EPT_D)
        and dword [EPT_PD0], ~(EPT_A | EPT_D)
        and dword [EPT_PD0 + 8], ~(EPT_A | EPT_D)
        popad
        ret

; print_ad: ESI = EPT entry; prints " A D" as 0/1 and a newline
print_ad:
        push eax
        call putsp
        mov eax, [esi]
        shr eax, 8
        and eax, 1
        call putdec
        call putsp
        mov eax, [esi]
        shr eax, 9
        and eax, 1
        call putdec
        call putnl
        pop eax
        ret

invept_all:
        push eax
        mov eax, 2
        invept eax, [invept_desc]
        pop eax
        ret

; hook_ept_fix: EPT violation or misconfiguration on a GPA below 4 MB: make its EPT entry an
; identity RWX WB leaf again, INVEPT, resume at the same instruction (the guest repeats the
; access); anything else stops
hook_ept_fix:
        mov eax, [x_reason]
        cmp eax, 48
        je .fix
        cmp eax, 49
        jne hook_default
.fix:   mov eax, [x_gpa]
        cmp dword [x_gpa + 4], 0
        jne .stop
        cmp eax, 0x400000
        jae .stop
        shr eax, 12
        lea edi, [EPT_PT0 + eax * 8]
        shl eax, 12
        or eax, EPT_LEAF
        mov [edi], eax
        call invept_all
        xor eax, eax
        ret
.stop:  mov eax, 1
        ret
; hook_ept_skip: an EPT violation resumes at the guest's GFIX point
hook_ept_skip:
        cmp dword [x_reason], 48
        jne hook_default
        mov eax, [g_fixup]
        test eax, eax
        jz .stop
        mov dword [g_fixup], 0
        VW F_GUEST_RIP, eax
        xor eax, eax
        ret
.stop:  mov eax, 1
        ret

vmcs_init_a:
        push edi
        mov edi, VMCS_A
        call vmcs_init
        pop edi
        VW F_GUEST_RIP, g_basic
        ret

; ---- guests -------------------------------------------------------------------------------
g_basic:
        mov eax, [MAGIC_ADDR]
        mov dword [TEST_PAGES + 0x10], eax
        xor eax, eax
        cpuid
        GDONE

g_1g:
        mov eax, [0x40000000 + MAGIC_ADDR]
        GREPORT 'read 40307000', eax, 0
        mov dword [0x40000000 + MAGIC_ADDR + 4], 0x12345678
        mov eax, [MAGIC_ADDR + 4]
        GREPORT 'read 307004 after writing 40307004', eax, 0
        GDONE

g_violations:
        mov eax, [TEST_PAGES + 0x10]            ; not present: read violation
        GREPORT 'read 300010', eax, 0
        mov dword [TEST_PAGES + 0x1020], 0x55   ; read-only: write violation
        mov eax, [TEST_PAGES + 0x1020]
        GREPORT 'read 301020', eax, 0
        call TEST_PAGES + 0x2000                ; not executable: fetch violation
        GREPORT 'stub returned', eax, 0
        GDONE

g_walk:
        mov eax, [0x00400010]                   ; the walk reads GUEST_PT1: violation
        GREPORT 'read 400010', eax, 0
        GDONE

g_unmapped:
        GFIX .a
        mov eax, [0x80000000]
.a:     GDONE

g_misconfig:
        mov eax, [TEST_PAGES + 0x3000]
        mov eax, [TEST_PAGES + 0x4000]
        mov eax, [TEST_PAGES + 0x5000]
        GDONE

g_ad:
        mov eax, [TEST_PAGES + 0x5000]
        mov dword [TEST_PAGES + 0x6000], eax
        GDONE

g_remap:
        mov eax, [0x00400000]
        GREPORT 'read 400000', eax, 0
        mov dword [GUEST_PT1], MAGIC_ADDR | 3   ; linear 400000 -> 307000
        invlpg [0x00400000]
        mov eax, [0x00400000]
        GREPORT 'read 400000 after remap', eax, 0
        mov dword [GUEST_PT1], 0x00400000 | 3
        invlpg [0x00400000]
        GDONE

        align 16
invept_desc:     dq EPT_PML4 | (3 << 3) | 6, 0
invept_bad_desc: dq EPT_PML4 | (1 << 3) | 6, 0
invvpid_desc:    dq 1, 0x1000
invvpid_vpid0:   dq 0, 0
test_name:      db 'VMX-EPT', 0

%include "../../../guests/common/serial.inc"
%include "../common/host.inc"
%include "../common/vmx.inc"
%include "../common/guest.inc"
%include "../../../guests/common/boot_end.inc"
