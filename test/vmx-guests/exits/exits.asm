; vmx-exits: a 32-bit protected-mode guest causing VM exits, one section per cause (SDM Vol.
; 3C 25.1-25.5, 27.2, Appendix C). Each exit prints one line (common/vmx.inc print_exit); the
; default host action skips the exiting instruction (instruction exits) or resumes at the
; guest's GFIX point (faults). Guest values are printed through the REPT hypercall.
%include "../../../guests/common/boot.inc"
        bits 32
%include "../common/defs.inc"
%include "../common/macros.inc"

NOT_PRESENT     equ 0x003FF000          ; guest page not present in GUEST_PT0
READ_ONLY       equ 0x003FE000          ; guest page mapped read-only

stage2_entry:
        call host_init
        call guest_idt_install
        PRINTLN 'VMX-EXITS START'
        call vmx_caps
        mov eax, 1                          ; CPUID.1:ECX (MONITOR/MWAIT support, bit 3)
        cpuid
        mov [cpuid1_ecx], ecx
        call print_features
        call vmx_enable
        mov dword [GUEST_PT0 + (NOT_PRESENT >> 12) * 4], 0
        and dword [GUEST_PT0 + (READ_ONLY >> 12) * 4], ~2

        SECTION '== E01 CPUID (unconditional)', g_cpuid
        call vm_run

        SECTION '== E02 HLT exiting', g_hlt
        mov eax, PROC_HLT
        call set_proc
        call vm_run

        SECTION '== E03 INVLPG exiting (qualification = linear address)', g_invlpg
        mov eax, PROC_INVLPG
        call set_proc
        call vm_run

        SECTION '== E04 RDTSC and RDPMC exiting', g_rdtsc
        mov eax, PROC_RDTSC | PROC_RDPMC
        call set_proc
        call vm_run

        SECTION '== E05 CR3-load and CR3-store exiting', g_cr3
        mov eax, PROC_CR3_LOAD | PROC_CR3_STORE
        call set_proc
        call vm_run
        SECTION '== E06 CR3-target value (no exit for a listed CR3)', g_cr3_target
        mov eax, PROC_CR3_LOAD
        call set_proc
        VW F_CR3_TARGET_COUNT, 1
        VW F_CR3_TARGET0, GUEST_PD
        call vm_run

        SECTION '== E07 CR0/CR4 guest/host masks and read shadows', g_crmask
        VW F_CR0_MASK, 0x8                  ; TS owned by the host
        mov eax, cr0
        or eax, 0x8
        VW F_CR0_SHADOW, eax                ; the guest sees TS = 1
        VW F_CR4_MASK, 1 << 13              ; VMXE owned by the host
        mov eax, cr4
        and eax, ~(1 << 13)
        VW F_CR4_SHADOW, eax                ; the guest sees VMXE = 0
        call vm_run
        PRINT '  guest cr0='
        VR F_GUEST_CR0
        call puthex32
        PRINT ' cr4='
        VR F_GUEST_CR4
        call puthex32
        call putnl

        SECTION '== E08 MOV-DR exiting', g_movdr
        mov eax, PROC_MOV_DR
        call set_proc
        call vm_run

        SECTION '== E09 unconditional I/O exiting', g_io
        mov eax, PROC_UNCOND_IO
        call set_proc
        call vm_run

        SECTION '== E10 I/O bitmaps (0x81, 0x8000 set)', g_iobitmap
        mov edi, IO_BITMAP_A
        mov ecx, 2
        call zero_pages
        mov eax, 0x81                       ; (BTS with a register offset: an immediate
        bts [IO_BITMAP_A], eax              ; offset is taken modulo 32)
        mov eax, 0x8000 - 0x8000
        bts [IO_BITMAP_B], eax
        mov eax, PROC_IO_BITMAPS | PROC_UNCOND_IO
        call set_proc
        call vm_run

        SECTION '== E11 RDMSR/WRMSR without MSR bitmaps', g_msr
        call vm_run
        SECTION '== E12 MSR bitmaps (write 0x174, read 0xc0000080 set)', g_msrbitmap
        mov edi, MSR_BITMAP
        mov ecx, 1
        call zero_pages
        mov eax, 0x174
        bts [MSR_BITMAP + 0x800], eax       ; write bitmap for low MSRs (24.6.9)
        mov eax, 0x080
        bts [MSR_BITMAP + 0x400], eax       ; read bitmap for high MSRs
        mov eax, PROC_MSR_BITMAPS
        call set_proc
        call vm_run

        SECTION '== E13 VMCALL and the VMX instructions in VMX non-root operation', g_vmxinsn
        VW F_EXC_BITMAP, 1 << 6             ; #UD (INVEPT/INVVPID without EPT/VPID)
        call vm_run

        SECTION '== E14 INVD (unconditional) and WBINVD exiting', g_invd
        mov eax, PROC2_WBINVD
        call set_proc2
        call vm_run

        SECTION '== E15 PAUSE exiting', g_pause
        mov eax, PROC_PAUSE
        call set_proc
        call vm_run

        ; MONITOR and MWAIT exist only when CPUID.1:ECX.MONITOR[3] = 1 (#UD otherwise, and
        ; that #UD comes before the VM exit: SDM Vol. 3C 26.1.1)
        SECTION '== E15b MONITOR and MWAIT exiting', g_monitor
        NEED cpuid1_ecx, 1 << 3, .e15b
        mov eax, PROC_MONITOR | PROC_MWAIT
        call set_proc
        call vm_run
.e15b:

        SECTION '== E16 RDTSCP: #UD unless enabled, then RDTSC exiting', g_rdtscp
        VW F_EXC_BITMAP, 1 << 6
        mov eax, PROC_RDTSC
        call set_proc
        call vm_run
        SECTION '== E17 RDTSCP enabled', g_rdtscp
        NEED cap_proc2 + 4, PROC2_RDTSCP, .e17
        VW F_EXC_BITMAP, 1 << 6
        mov eax, PROC_RDTSC
        call set_proc
        mov eax, PROC2_RDTSCP
        call set_proc2
        call vm_run
.e17:
        SECTION '== E18 descriptor-table exiting', g_desc
        NEED cap_proc2 + 4, PROC2_DESC_TABLE, .e18
        mov eax, PROC2_DESC_TABLE
        call set_proc2
        call vm_run
.e18:
        SECTION '== E19 exceptions through the exception bitmap', g_exc
        VW F_EXC_BITMAP, (1 << 0) | (1 << 1) | (1 << 3) | (1 << 6) | (1 << 13) | (1 << 14)
        mov eax, cr0
        or eax, 1 << 16                     ; WP: supervisor writes to read-only pages fault
        VW F_GUEST_CR0, eax
        call vm_run

        SECTION '== E20 #PF error-code mask/match: only present-page faults exit', g_pfec
        VW F_EXC_BITMAP, 1 << 14
        VW F_PF_MASK, 1
        VW F_PF_MATCH, 1
        mov eax, cr0
        or eax, 1 << 16
        VW F_GUEST_CR0, eax
        call vm_run
        SECTION '== E21 #PF error-code mask/match inverted by bit 14 = 0', g_pfec
        VW F_EXC_BITMAP, 0
        VW F_PF_MASK, 1
        VW F_PF_MATCH, 1
        mov eax, cr0
        or eax, 1 << 16
        VW F_GUEST_CR0, eax
        call vm_run

        SECTION '== E22 triple fault (IDT limit 0, then #UD)', g_triple
        call vm_run

        SECTION '== E23 task switch (JMP and CALL to a TSS)', g_task
        call vm_run

        SECTION '== E24 interrupt-window exiting (IF = 1 at entry, then after STI)', g_intwin
        VW F_GUEST_RFLAGS, 0x202
        mov eax, PROC_INT_WINDOW
        call set_proc
        mov dword [exit_hook], hook_window
        mov dword [report_hook], arm_int_window
        call vm_run

        SECTION '== E25 NMI-window exiting (at entry, then after IRET unblocks virtual NMIs)', g_nmiwin
        NEED cap_pin + 4, PIN_VIRTUAL_NMI, .e25
        mov eax, PIN_NMI | PIN_VIRTUAL_NMI
        call set_pin
        mov eax, PROC_NMI_WINDOW
        call set_proc
        mov dword [exit_hook], hook_window
        mov dword [report_hook], arm_nmi_window
        call vm_run
.e25:
        SECTION '== E26 monitor trap flag (three instructions)', g_mtf
        NEED cap_proc + 4, PROC_MTF, .e26
        PRINT '  guest code at '                ; the MTF exits' RIPs are this + 1, 2, 7
        mov eax, g_mtf
        call puthex32
        call putnl
        mov eax, PROC_MTF
        call set_proc
        mov dword [exit_hook], hook_mtf
        mov dword [mtf_left], 3
        call vm_run
.e26:

        SECTION '== E27 VMX-preemption timer: value 0 exits before the first instruction', g_cpuid
        NEED cap_pin + 4, PIN_PREEMPT_TIMER, .e27
        mov eax, PIN_PREEMPT_TIMER
        call set_pin
        VW F_PREEMPT_TIMER, 0
        mov dword [exit_hook], hook_window
        call vm_run
        SECTION '== E28 VMX-preemption timer: a large value does not fire during a short guest', g_cpuid
        mov eax, PIN_PREEMPT_TIMER
        call set_pin
        VW F_PREEMPT_TIMER, 0xFFFFFFFF
        call vm_run
.e27:
        SECTION '== E29 external interrupt (PIT IRQ 0 pending at entry)', g_cpuid
        call irq0_pending
        mov eax, PIN_EXT_INT
        call set_pin
        VW F_GUEST_RFLAGS, 0x202
        mov dword [exit_hook], hook_extint
        call vm_run
        SECTION '== E30 external interrupt with acknowledge interrupt on exit', g_cpuid
        mov eax, PIN_EXT_INT
        call set_pin
        mov eax, EXIT_ACK_INT
        call set_exit
        VW F_GUEST_RFLAGS, 0x202
        mov dword [exit_hook], hook_extint
        call vm_run
        mov al, 0x20                        ; EOI for the acknowledged IRQ 0
        out 0x20, al
        mov al, 0xFF                        ; mask everything again
        out 0x21, al

        jmp host_exit

; ---- host hooks ---------------------------------------------------------------------------
; hook_window: interrupt/NMI window and preemption-timer exits turn their control off and
; resume (no instruction to skip); everything else as hook_default.
hook_window:
        mov eax, [x_reason]
        cmp eax, 7
        je .iw
        cmp eax, 8
        je .nw
        cmp eax, 52
        je .pt
        jmp hook_default
.iw:    mov eax, [cur_proc]
        and eax, ~PROC_INT_WINDOW
        call set_proc
        xor eax, eax
        ret
.nw:    mov eax, [cur_proc]
        and eax, ~PROC_NMI_WINDOW
        call set_proc
        xor eax, eax
        ret
.pt:    mov eax, [cur_pin]
        and eax, ~PIN_PREEMPT_TIMER
        call set_pin
        xor eax, eax
        ret
; report hooks: the guest asks for the window again after it has blocked it (CLI, or
; virtual-NMI blocking set here), so the second window exit comes from its own STI / IRET
arm_int_window:
        mov eax, [cur_proc]
        or eax, PROC_INT_WINDOW
        call set_proc
        ret
arm_nmi_window:
        mov eax, [cur_proc]
        or eax, PROC_NMI_WINDOW
        call set_proc
        VW F_GUEST_INTERRUPTIBILITY, 1 << 3     ; blocking by NMI (virtual-NMI blocking, 24.4.2)
        ret

mtf_left: dd 0
hook_mtf:
        cmp dword [x_reason], 37
        jne hook_default
        dec dword [mtf_left]
        jnz .r
        mov eax, [cur_proc]
        and eax, ~PROC_MTF
        call set_proc
.r:     xor eax, eax
        ret

; hook_extint: prints the guest's activity and interruptibility state, then stops
hook_extint:
        cmp dword [x_reason], 1
        jne hook_default
        PRINT '  guest activity='
        VR F_GUEST_ACTIVITY
        call putdec
        PRINT ' interruptibility='
        VR F_GUEST_INTERRUPTIBILITY
        call putdec
        call putnl
        mov eax, 1
        ret

; irq0_pending: initialize the PICs (master vectors 0x20-0x27, whatever the firmware chose),
; unmask only IRQ 0, reprogram PIT channel 0 (mode 2) and wait (interrupts stay disabled in
; root operation) until IRQ 0 is pending in the master's IRR, so that the external interrupt
; is there before the guest's first instruction whatever the emulator's timing.
irq0_pending:
        push eax
        mov al, 0x11                        ; ICW1: edge, cascade, ICW4
        out 0x20, al
        out 0xA0, al
        mov al, 0x20                        ; ICW2: vector bases
        out 0x21, al
        mov al, 0x28
        out 0xA1, al
        mov al, 0x04                        ; ICW3: slave on IRQ 2
        out 0x21, al
        mov al, 0x02
        out 0xA1, al
        mov al, 0x01                        ; ICW4: 8086 mode
        out 0x21, al
        out 0xA1, al
        mov al, 0xFF
        out 0xA1, al
        mov al, 0xFE
        out 0x21, al
        mov al, 0x34                        ; channel 0, lobyte/hibyte, mode 2
        out 0x43, al
        mov al, 0x00
        out 0x40, al
        mov al, 0x10                        ; divisor 0x1000
        out 0x40, al
.w:     mov al, 0x0A                        ; OCW3: read IRR
        out 0x20, al
        in al, 0x20
        test al, 1
        jz .w
        pop eax
        ret

; ---- guests -------------------------------------------------------------------------------
g_cpuid:
        xor eax, eax
        cpuid
        mov eax, 1
        cpuid
        GDONE

g_hlt:
        hlt
        GDONE

g_invlpg:
        invlpg [0x12345678]
        mov ebx, 0x1000
        mov esi, 0x20
        invlpg [ebx + esi * 2 + 0x10]
        GDONE

g_rdtsc:
        rdtsc
        xor ecx, ecx
        rdpmc
        GDONE

g_cr3:
        mov eax, cr3                        ; store: exit
        mov ebx, GUEST_PD
        mov cr3, ebx                        ; load: exit
        mov ecx, cr3
        GDONE

g_cr3_target:
        mov eax, cr3                        ; no store exiting: no exit
        GREPORT 'cr3', eax, 0
        mov ebx, GUEST_PD
        mov cr3, ebx                        ; CR3-target 0: no exit
        mov ecx, HOST_PD
        mov cr3, ecx                        ; not a target: exit (skipped: CR3 unchanged)
        mov eax, cr3
        GREPORT 'cr3', eax, 0
        GDONE

g_crmask:
        mov eax, cr0
        GREPORT 'mov from cr0 (shadow TS)', eax, 0
        smsw eax
        GREPORT 'smsw', eax, 0
        mov eax, cr4
        GREPORT 'mov from cr4 (shadow VMXE)', eax, 0
        mov eax, cr0
        or eax, 0x8
        mov cr0, eax                        ; TS = shadow: no exit
        and eax, ~0x8
        mov cr0, eax                        ; TS != shadow: exit
        clts                                ; clears a host-owned bit whose shadow is 1: exit
        mov eax, 0x0001
        lmsw ax                             ; TS (bit 3) 0 != shadow: exit
        mov ebx, cr4
        or ebx, 1 << 13
        mov cr4, ebx                        ; VMXE != shadow: exit
        and ebx, ~(1 << 13)
        mov cr4, ebx                        ; VMXE = shadow: no exit, real VMXE stays 1
        GDONE

g_movdr:
        mov eax, dr7
        mov ebx, 0x1000
        mov dr0, ebx
        mov ecx, dr6
        mov dr7, eax
        GDONE

g_io:
        mov al, 0x55
        out 0x80, al
        mov dx, 0x3F8
        in al, dx
        in ax, dx
        out dx, eax
        in eax, 0x71
        mov esi, io_buf
        mov ecx, 4
        mov dx, 0x80
        rep outsb
        mov edi, io_buf
        insw
        fs outsd
        a16 outsb
        GDONE

g_iobitmap:
        mov al, 0x55
        out 0x80, al                        ; bit clear: no exit
        out 0x81, al                        ; bit set: exit
        mov dx, 0x7FFF
        out dx, ax                          ; ports 7fff and 8000 (bitmap B): exit
        mov dx, 0x7FFE
        out dx, ax                          ; 7ffe, 7fff: no exit
        mov dx, 0xFFFF
        in ax, dx                           ; ffff and 0000: wraps around (25.1.3)
        GDONE

g_msr:
        mov ecx, MSR_SYSENTER_CS
        rdmsr
        xor eax, eax
        xor edx, edx
        wrmsr
        mov ecx, MSR_EFER
        rdmsr
        GDONE

g_msrbitmap:
        mov ecx, MSR_SYSENTER_CS
        rdmsr                               ; read bit clear: no exit
        GREPORT 'rdmsr 174', eax, edx
        mov eax, 0x10
        xor edx, edx
        wrmsr                               ; write bit set: exit
        mov ecx, MSR_SYSENTER_CS + 1
        xor eax, eax
        wrmsr                               ; 0x175 write bit clear: no exit
        rdmsr
        GREPORT 'rdmsr 175', eax, edx
        mov ecx, MSR_EFER
        rdmsr                               ; read-high bit set: exit
        mov ecx, 0x40000000
        rdmsr                               ; outside both ranges: exit
        GDONE

g_vmxinsn:
        xor eax, eax
        vmcall
        mov ebx, vmx_scratch
        vmclear [vmx_scratch]
        vmptrld [ebx + 8]
        vmptrst [ebx]
        mov ecx, F_GUEST_RIP
        vmread eax, ecx
        vmread [ebx + 0x10], ecx
        vmwrite ecx, eax
        vmwrite ecx, [ebx + esi * 4 + 0x20]
        vmlaunch
        vmresume
        vmxoff
        vmxon [ebx]
        mov eax, 1
        GFIX .a
        invept eax, [ebx]
.a:     GFIX .b
        invvpid eax, [ebx + 0x10]
.b:     GDONE

g_invd:
        invd
        wbinvd
        GDONE

g_pause:
        pause
        GDONE

g_monitor:
        mov eax, io_buf
        xor ecx, ecx
        xor edx, edx
        monitor
        xor eax, eax
        mwait
        GDONE

g_rdtscp:
        GFIX .a
        rdtscp
.a:     rdtsc
        GDONE

g_desc:
        mov ebx, desc_scratch
        mov esi, 2
        sgdt [ebx + esi * 4 + 0x10]
        sidt [ebx]
        lgdt [host_gdt_desc]
        lidt [ebx + 0x20]
        sldt eax
        str word [ebx + 0x30]
        xor eax, eax
        lldt ax
        mov ax, SEL_TSS2
        ltr ax
        GDONE

g_exc:
        GFIX .a
        ud2                                 ; #UD: exit (fault, no length)
.a:     int3                                ; #BP: software exception, exit with length 1
        GFIX .b
        mov ax, 0x1234
        mov ds, ax                          ; #GP(1230)
.b:     mov ax, SEL_DS32
        mov ds, ax
        GFIX .c
        mov eax, [NOT_PRESENT + 0x10]       ; #PF(0), exit qualification = CR2 value
.c:     GFIX .d
        mov dword [READ_ONLY + 0x20], 1     ; #PF(3)
.d:     GFIX .e
        xor edx, edx
        xor ecx, ecx
        div ecx                             ; #DE
.e:     int1                                ; privileged software exception (#DB), length 1
        mov al, 0x7F
        add al, 1
        into                                ; #OF, not in the bitmap: guest IDT
        int 0x80                            ; software interrupt: guest IDT, never an exit
        GDONE

g_pfec:
        GFIX .a
        mov eax, [NOT_PRESENT + 0x10]       ; error code 0: P = 0
.a:     GFIX .b
        mov dword [READ_ONLY + 0x20], 1     ; error code 3: P = 1
.b:     GDONE

g_triple:
        lidt [zero_idt_desc]
        ud2

g_task:
        jmp SEL_TSS2:0
        call SEL_TSS2:0
        GDONE

g_intwin:
        nop                                 ; the first window exit comes before this
        cli
        GREPORT 'cli, arm window', 0, 0
        nop
        sti
        nop                                 ; STI blocking: the exit comes after this one
        nop
        GDONE

g_nmiwin:
        nop                                 ; the first window exit comes before this
        GREPORT 'arm window with virtual-NMI blocking', 0, 0
        nop
        pushfd
        push cs
        push .after
        iretd                               ; unblocks virtual NMIs: exit before .after
.after: nop
        GDONE

g_mtf:
        nop
        inc eax
        mov ebx, 5
        nop
        GDONE

        align 8
zero_idt_desc:
        dw 0
        dd 0
cpuid1_ecx:     dd 0
vmx_scratch:    times 64 db 0
desc_scratch:   times 64 db 0
io_buf:         times 16 db 0
test_name:      db 'VMX-EXITS', 0

%include "../../../guests/common/serial.inc"
%include "../common/host.inc"
%include "../common/vmx.inc"
%include "../common/guest.inc"
%include "../../../guests/common/boot_end.inc"
