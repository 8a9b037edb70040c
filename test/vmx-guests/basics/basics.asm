; vmx-basics: outcomes of the VMX instructions in root operation (SDM Vol. 3C chapters 23,
; 24.11, 26.1-26.4, 30). Every step prints one line: "<instruction>: ok", "VMfailInvalid",
; "VMfailValid <error number> (<name>)", or the exception (#UD, #GP(error code)) caught by the
; host IDT. See ../README.md for the expected transcripts and where Bochs departs from the SDM.
%include "../../../guests/common/boot.inc"
        bits 32
%include "../common/defs.inc"
%include "../common/macros.inc"

stage2_entry:
        call host_init
        call guest_idt_install
        PRINTLN 'VMX-BASICS START'
        call vmx_caps
        call print_features
        mov eax, 1
        cpuid
        PRINT 'cpuid.1:ecx.vmx='
        mov eax, ecx
        shr eax, 5
        and eax, 1
        call putdec
        call putnl
        call feature_control
        mov eax, [vmcs_rev]
        mov [VMXON_REGION], eax

        PRINTLN '== B01 VMXON with CR4.VMXE = 0 (#UD)'
        TRY .b01
        vmxon [vmxon_ptr]
        VMRES 'vmxon'
.b01:   ENDTRY

        PRINTLN '== B02 VMXON with CR0.NE = 0 (#GP: CR0 fixed bits, 23.8)'
        mov eax, cr4
        or eax, 1 << 13
        mov cr4, eax
        mov eax, cr0
        and eax, ~0x20
        mov cr0, eax
        TRY .b02
        vmxon [vmxon_ptr]
        VMRES 'vmxon'
.b02:   ENDTRY
        call fix_cr0_cr4

        PRINTLN '== B03 VMXON region checks (VMfailInvalid)'
        mov dword [VMXON_REGION], 0x12345      ; wrong revision
        vmxon [vmxon_ptr]
        VMRES 'vmxon wrong revision'
        mov eax, [vmcs_rev]
        mov [VMXON_REGION], eax
        vmxon [ptr_unaligned]
        VMRES 'vmxon unaligned'
        vmxon [ptr_too_wide]
        VMRES 'vmxon beyond physical-address width'

        PRINTLN '== B04 VMXON'
        vmxon [vmxon_ptr]
        VMRES 'vmxon'
        vmxon [vmxon_ptr]
        VMRES 'vmxon again (no current VMCS)'
        call print_vmptrst
        mov ecx, F_GUEST_RIP
        vmread eax, ecx
        VMRES 'vmread (no current VMCS)'
        vmwrite ecx, eax
        VMRES 'vmwrite (no current VMCS)'
        vmlaunch
        VMRES 'vmlaunch (no current VMCS)'
        vmresume
        VMRES 'vmresume (no current VMCS)'
        vmcall
        VMRES 'vmcall (no current VMCS)'
        vmclear [vmxon_ptr]
        VMRES 'vmclear VMXON region (no current VMCS)'

        PRINTLN '== B05 VMCLEAR, VMPTRLD, VMPTRST'
        mov eax, [vmcs_rev]
        mov [VMCS_A], eax
        mov [VMCS_B], eax
        vmclear [ptr_a]
        VMRES 'vmclear A'
        vmptrld [ptr_a]
        VMRES 'vmptrld A'
        call print_vmptrst

        PRINTLN '== B06 errors with a current VMCS (VMfailValid)'
        vmclear [ptr_unaligned]
        VMRES 'vmclear unaligned'
        vmclear [ptr_too_wide]
        VMRES 'vmclear beyond width'
        vmclear [vmxon_ptr]
        VMRES 'vmclear VMXON region'
        vmptrld [ptr_unaligned]
        VMRES 'vmptrld unaligned'
        vmptrld [ptr_too_wide]
        VMRES 'vmptrld beyond width'
        vmptrld [vmxon_ptr]
        VMRES 'vmptrld VMXON region'
        mov dword [SCRATCH_REGION], 0x12345
        vmptrld [ptr_scratch]
        VMRES 'vmptrld wrong revision'
        mov eax, [vmcs_rev]
        or eax, 0x80000000
        mov [SCRATCH_REGION], eax
        vmptrld [ptr_scratch]
        VMRES 'vmptrld shadow-VMCS indicator'
        call print_vmptrst
        vmxon [vmxon_ptr]
        VMRES 'vmxon in root operation'

        PRINTLN '== B07 VMREAD/VMWRITE: unsupported and read-only fields'
        mov ecx, 0x00006FFE                 ; natural-width host field index 0x7FF
        vmread eax, ecx
        VMRES 'vmread 00006ffe'
        mov ecx, 0x00010800                 ; bit 16 set (bits 31:15 reserved)
        vmread eax, ecx
        VMRES 'vmread 00010800'
        mov ecx, 0x00000801                 ; "high" access to a 16-bit field
        vmread eax, ecx
        VMRES 'vmread 00000801'
        mov ecx, 0x00006FFE
        vmwrite ecx, eax
        VMRES 'vmwrite 00006ffe'
        mov ecx, F_EXIT_REASON
        mov eax, 0x1234
        vmwrite ecx, eax
        VMRES 'vmwrite exit reason (read-only)'
        PRINT '  exit reason reads '
        VR F_EXIT_REASON
        call puthex32
        call putnl
        mov ecx, F_GUEST_PHYS_ADDR
        vmwrite ecx, eax
        VMRES 'vmwrite guest-physical address (read-only)'

        PRINTLN '== B08 field widths'
        call vmcs_init_a
        mov ecx, F_GUEST_ES_SEL
        mov eax, 0x12345678
        vmwrite ecx, eax
        VMRES 'vmwrite 16-bit field 12345678'
        call read_print
        mov ecx, F_EXC_BITMAP
        mov eax, 0xFEDCBA98
        vmwrite ecx, eax
        VMRES 'vmwrite 32-bit field fedcba98'
        call read_print
        mov ecx, F_TSC_OFFSET + 1
        mov eax, 0x33334444
        vmwrite ecx, eax
        VMRES 'vmwrite 64-bit high 33334444'
        mov ecx, F_TSC_OFFSET
        mov eax, 0x11112222
        vmwrite ecx, eax
        VMRES 'vmwrite 64-bit full 11112222'
        call read_print
        mov ecx, F_TSC_OFFSET + 1
        call read_print
        mov ecx, F_TSC_OFFSET + 1
        mov eax, 0x55556666
        vmwrite ecx, eax
        VMRES 'vmwrite 64-bit high 55556666'
        mov ecx, F_TSC_OFFSET
        call read_print
        mov ecx, F_TSC_OFFSET + 1
        call read_print
        mov ecx, F_GUEST_CR3
        mov eax, 0x12345678
        vmwrite ecx, eax
        VMRES 'vmwrite natural-width field 12345678'
        call read_print
        mov ecx, F_GUEST_ES_AR
        mov eax, 0x0001C093
        vmwrite ecx, eax
        VMRES 'vmwrite guest ES access rights 0001c093'
        call read_print
        mov dword [mem_value], 0xCAFE0000
        mov ecx, F_GUEST_RSP
        vmwrite ecx, [mem_value]
        VMRES 'vmwrite from memory cafe0000'
        mov dword [mem_value], 0
        vmread [mem_value], ecx
        VMRES 'vmread to memory'
        PRINT '  memory holds '
        mov eax, [mem_value]
        call puthex32
        call putnl

        PRINTLN '== B09 VMLAUNCH with invalid control fields (VMfailValid 7)'
        call vmcs_init_a
        VW F_PIN_CTLS, 0                    ; default1 bits 1, 2, 4 clear (A.3.1)
        call vm_run
        call vmcs_init_a
        VW F_CR3_TARGET_COUNT, 5            ; more than 4 (26.2.1.1)
        call vm_run
        call vmcs_init_a
        VW F_ENTRY_INTR_INFO, INTR_VALID | INTR_NMI | 3   ; NMI type with vector 3 (26.2.1.3)
        call vm_run

        PRINTLN '== B10 VMLAUNCH with invalid host state (VMfailValid 8)'
        call vmcs_init_a
        mov eax, [cur_exit]
        or eax, EXIT_HOST_64                ; host address-space size outside IA-32e (26.2.2)
        VW F_EXIT_CTLS, eax
        call vm_run
        call vmcs_init_a
        mov eax, cr4
        and eax, ~(1 << 13)                 ; host CR4.VMXE = 0 (26.2.2)
        VW F_HOST_CR4, eax
        call vm_run
        call vmcs_init_a
        VW F_HOST_TR_SEL, 0                 ; TR selector 0 (26.2.3)
        call vm_run
        call vmcs_init_a
        VW F_HOST_CS_SEL, SEL_CS32 | 3      ; RPL != 0 (26.2.3)
        call vm_run

        PRINTLN '== B11 VM entry with invalid guest state (exit 33 | 0x80000000)'
        call vmcs_init_a
        VW F_GUEST_RIP, g_simple
        VW F_GUEST_RFLAGS, 0                ; bit 1 must be 1 (26.3.1.4)
        call vm_run
        call vmcs_init_a
        VW F_GUEST_RIP, g_simple
        mov eax, cr0
        and eax, 0x7FFFFFFF                 ; PG = 0 without unrestricted guest (26.3.1.1)
        VW F_GUEST_CR0, eax
        call vm_run
        call vmcs_init_a
        VW F_GUEST_RIP, g_simple
        VW F_GUEST_ACTIVITY, 7              ; not a defined activity state (26.3.1.5)
        call vm_run
        call vmcs_init_a
        VW F_GUEST_RIP, g_simple
        VW F_GUEST_ES_AR + 14, 0x10000      ; TR unusable (26.3.1.2)
        call vm_run
        call vmcs_init_a
        VW F_GUEST_RIP, g_simple
        VW F_GUEST_CS_SEL, SEL_CS32 | 1     ; CS.RPL != SS.RPL (26.3.1.2)
        call vm_run
        call vmcs_init_a
        VW F_GUEST_RIP, g_simple
        VW F_LINK_POINTER, 0x00001000       ; link pointer not all ones (26.3.1.5)
        VW F_LINK_POINTER + 1, 0
        call vm_run

        PRINTLN '== B12 VM entry failing on MSR loading (exit 34 | 0x80000000)'
        call vmcs_init_a
        VW F_GUEST_RIP, g_simple
        mov dword [MSR_AREA], MSR_SYSENTER_CS       ; entry 1: fine
        mov dword [MSR_AREA + 4], 0
        mov dword [MSR_AREA + 8], 0x1234
        mov dword [MSR_AREA + 12], 0
        mov dword [MSR_AREA + 16], MSR_VMX_BASIC    ; entry 2: read-only MSR (26.4)
        mov dword [MSR_AREA + 20], 0
        mov dword [MSR_AREA + 24], 0
        mov dword [MSR_AREA + 28], 0
        VW F_ENTRY_MSR_LOAD, MSR_AREA
        VW F_ENTRY_MSR_LOAD + 1, 0
        VW F_ENTRY_MSR_LOAD_COUNT, 2
        call vm_run

        PRINTLN '== B13 VMLAUNCH right after MOV SS (VMfailValid 26)'
        call vmcs_init_a
        VW F_GUEST_RIP, g_simple
        call launch_after_mov_ss

        PRINTLN '== B14 launch, then VMLAUNCH/VMRESUME against the launch state'
        call vmcs_init_a
        VW F_GUEST_RIP, g_simple
        call vm_run                         ; VMLAUNCH: VMCALL exit, then DONE
        vmcall
        VMRES 'vmcall in root operation (launched VMCS)'
        mov byte [launched], 0
        call vm_run                         ; VMLAUNCH again: error 4
        vmclear [ptr_a]
        VMRES 'vmclear A'
        vmptrld [ptr_a]
        VMRES 'vmptrld A'
        mov byte [launched], 1
        call vm_run                         ; VMRESUME on a clear VMCS: error 5
        mov byte [launched], 0
        VW F_GUEST_RIP, g_simple
        call vm_run                         ; VMLAUNCH: fine again

        PRINTLN '== B15 two VMCSs: contents survive VMCLEAR and VMPTRLD'
        call vmcs_init_a
        VW F_GUEST_RSP, 0xAAAA0000
        mov edi, VMCS_B
        call vmcs_init
        VW F_GUEST_RSP, 0xBBBB0000
        call print_vmptrst
        vmptrld [ptr_a]
        VMRES 'vmptrld A'
        mov ecx, F_GUEST_RSP
        call read_print
        vmclear [ptr_a]
        VMRES 'vmclear A (current)'
        call print_vmptrst
        vmread eax, ecx
        VMRES 'vmread after vmclear of the current VMCS'
        vmptrld [ptr_b]
        VMRES 'vmptrld B'
        call read_print
        vmptrld [ptr_a]
        VMRES 'vmptrld A'
        call read_print

        PRINTLN '== B16 CR4.VMXE and VMXOFF'
        mov eax, cr4
        and eax, ~(1 << 13)
        TRY .b16
        mov cr4, eax                        ; #GP in VMX operation (23.8)
        PRINTLN '  mov cr4 (VMXE = 0): no fault'
.b16:   ENDTRY
        vmxoff
        VMRES 'vmxoff'
        TRY .b16a
        vmxoff
        VMRES 'vmxoff outside VMX operation'
.b16a:  ENDTRY
        TRY .b16b
        vmread eax, ecx
        VMRES 'vmread outside VMX operation'
.b16b:  ENDTRY
        mov eax, cr4
        and eax, ~(1 << 13)
        mov cr4, eax
        PRINTLN '  mov cr4 (VMXE = 0) outside VMX operation: ok'
        jmp host_exit

; vmcs_init_a: vmcs_init on VMCS_A
vmcs_init_a:
        push edi
        mov edi, VMCS_A
        call vmcs_init
        pop edi
        ret

; read_print: ECX = field; prints "  vmread <field> = <value>" or the failure
read_print:
        push eax
        PRINT '  vmread '
        mov eax, ecx
        call puthex32
        vmread eax, ecx
        jbe .f
        PRINT ' = '
        call puthex32
        call putnl
        pop eax
        ret
.f:     VMRES ''
        pop eax
        ret

print_vmptrst:
        push eax
        mov dword [mem_ptr], 0x5A5A5A5A
        mov dword [mem_ptr + 4], 0x5A5A5A5A
        vmptrst [mem_ptr]
        VMRES 'vmptrst'
        PRINT '  current VMCS pointer = '
        mov eax, [mem_ptr + 4]
        call puthex32
        PRINT ':'
        mov eax, [mem_ptr]
        call puthex32
        call putnl
        pop eax
        ret

; launch_after_mov_ss: VMLAUNCH in the MOV SS shadow (26.1: VMfailValid 26)
launch_after_mov_ss:
        pushad
        mov [driver_esp], esp
        mov ax, ss
        mov ss, ax
        vmlaunch
        VMRES 'vmlaunch after mov ss'
        jmp vm_stop

; the guest: one VMCALL exit, then done
g_simple:
        vmcall
        GDONE

        align 8
ptr_a:          dq VMCS_A
ptr_b:          dq VMCS_B
ptr_scratch:    dq SCRATCH_REGION
ptr_unaligned:  dq VMCS_A + 0x10
ptr_too_wide:   dq 0xFFFFF00000000000 | VMCS_A
mem_ptr:        dq 0
mem_value:      dd 0
test_name:      db 'VMX-BASICS', 0

%include "../../../guests/common/serial.inc"
%include "../common/host.inc"
%include "../common/vmx.inc"
%include "../common/guest.inc"
%include "../../../guests/common/boot_end.inc"
