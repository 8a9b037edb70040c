; vmx-inject: event injection on VM entry (SDM Vol. 3C 26.2.1.3 checks, 26.5 delivery) into a
; guest whose IDT handlers report vector, error code and return EIP ("guest event"), and the
; IDT-vectoring information of exits that happen while an event is being delivered (27.2.4).
%include "../../../guests/common/boot.inc"
        bits 32
%include "../common/defs.inc"
%include "../common/macros.inc"

NOT_PRESENT     equ 0x003FF000          ; guest page not present in GUEST_PT0
; INJECT info[, error code[, length]]
%macro INJECT 1-3 0, 0
        VW F_ENTRY_INTR_INFO, %1
        VW F_ENTRY_EXC_ERROR, %2
        VW F_ENTRY_INSTR_LEN, %3
%endmacro
; GATE_OFF v / GATE_ON v: clear / set the present bit of guest IDT gate v
%macro GATE_OFF 1
        and byte [guest_idt + (%1) * 8 + 5], 0x7F
%endmacro
%macro GATE_ON 1
        or byte [guest_idt + (%1) * 8 + 5], 0x80
%endmacro

stage2_entry:
        call host_init
        call guest_idt_install
        PRINTLN 'VMX-INJECT START'
        call vmx_caps
        call print_features
        call vmx_enable
        mov dword [GUEST_PT0 + (NOT_PRESENT >> 12) * 4], 0
        mov eax, 0x11223344                 ; CR2 as the guest will see it (not switched)
        mov cr2, eax

        SECTION '== I01 external interrupt 0x30', g_land
        VW F_GUEST_RFLAGS, 0x202
        INJECT INTR_VALID | INTR_EXT | 0x30
        call vm_run
        PRINT '  entry interruption info after the exit: '
        VR F_ENTRY_INTR_INFO                ; 27.2: valid bit cleared by every VM exit
        call puthex32
        call putnl

        SECTION '== I02 external interrupt with RFLAGS.IF = 0 (26.3.1.4)', g_land
        INJECT INTR_VALID | INTR_EXT | 0x30
        call vm_run

        SECTION '== I03 external interrupt in the STI shadow (26.3.1.5)', g_land
        VW F_GUEST_RFLAGS, 0x202
        VW F_GUEST_INTERRUPTIBILITY, 1      ; blocking by STI
        INJECT INTR_VALID | INTR_EXT | 0x30
        call vm_run

        SECTION '== I04 external interrupt into the HLT activity state', g_land
        VW F_GUEST_RFLAGS, 0x202
        VW F_GUEST_ACTIVITY, 1
        INJECT INTR_VALID | INTR_EXT | 0x30
        call vm_run
        PRINT '  guest activity after the exit: '
        VR F_GUEST_ACTIVITY
        call putdec
        call putnl

        SECTION '== I04b #GP injected into the HLT activity state (26.3.1.5)', g_land
        VW F_GUEST_ACTIVITY, 1
        INJECT INTR_VALID | INTR_HW_EXC | INTR_ERRCODE | 13, 0
        call vm_run

        SECTION '== I05 NMI', g_land
        INJECT INTR_VALID | INTR_NMI | 2
        call vm_run
        SECTION '== I06 NMI while blocking by NMI (26.3.1.5)', g_land
        VW F_GUEST_INTERRUPTIBILITY, 1 << 3
        INJECT INTR_VALID | INTR_NMI | 2
        call vm_run

        SECTION '== I06b NMI while blocking by NMI with virtual NMIs (26.3.1.5)', g_land
        NEED cap_pin + 4, PIN_VIRTUAL_NMI, .i06b
        mov eax, PIN_NMI | PIN_VIRTUAL_NMI
        call set_pin
        VW F_GUEST_INTERRUPTIBILITY, 1 << 3
        INJECT INTR_VALID | INTR_NMI | 2
        call vm_run
.i06b:
        SECTION '== I07 hardware exception #GP with error code 1234', g_land
        INJECT INTR_VALID | INTR_HW_EXC | INTR_ERRCODE | 13, 0x1234
        call vm_run
        SECTION '== I08 hardware exception #PF (CR2 is not written by injection)', g_land
        INJECT INTR_VALID | INTR_HW_EXC | INTR_ERRCODE | 14, 0x2
        call vm_run
        SECTION '== I09 hardware exception #UD (no error code)', g_land
        INJECT INTR_VALID | INTR_HW_EXC | 6
        call vm_run

        SECTION '== I10 software interrupt 0x80, length 2', g_land
        INJECT INTR_VALID | INTR_SW_INT | 0x80, 0, 2
        call vm_run
        SECTION '== I11 privileged software exception 1 (INT1), length 1', g_land
        INJECT INTR_VALID | INTR_PRIV_SW_EXC | 1, 0, 1
        call vm_run
        SECTION '== I12 software exception #BP, length 1', g_land
        INJECT INTR_VALID | INTR_SW_EXC | 3, 0, 1
        call vm_run
        SECTION '== I13 software exception #OF, length 1', g_land
        INJECT INTR_VALID | INTR_SW_EXC | 4, 0, 1
        call vm_run

        PRINTLN '== I14 invalid injections (VMfailValid 7, 26.2.1.3)'
        call invalid_injection_init
        INJECT INTR_VALID | (1 << 8) | 0x30         ; reserved type 1
        call vm_run
        call invalid_injection_init
        INJECT INTR_VALID | INTR_HW_EXC | 32        ; hardware exception vector > 31
        call vm_run
        call invalid_injection_init
        INJECT INTR_VALID | INTR_HW_EXC | INTR_ERRCODE | 6, 0     ; #UD has no error code
        call vm_run
        call invalid_injection_init
        INJECT INTR_VALID | INTR_HW_EXC | 13        ; #GP without its error code
        call vm_run
        call invalid_injection_init
        INJECT INTR_VALID | INTR_HW_EXC | INTR_ERRCODE | 13, 0x10000  ; error code bits 31:16
        call vm_run
        call invalid_injection_init
        INJECT INTR_VALID | INTR_SW_INT | 0x80, 0, 0  ; length 0 (allowed only with MISC[30])
        call vm_run
        call invalid_injection_init
        INJECT INTR_VALID | INTR_SW_INT | 0x80, 0, 16 ; length 16
        call vm_run
        call invalid_injection_init
        INJECT INTR_VALID | INTR_EXT | 0x30 | (1 << 12)   ; reserved bits 30:12
        call vm_run

        SECTION '== I15 injected interrupt through a not-present gate (#NP exits)', g_land
        GATE_OFF 0x31
        VW F_GUEST_RFLAGS, 0x202
        VW F_EXC_BITMAP, 1 << 11
        INJECT INTR_VALID | INTR_EXT | 0x31
        mov dword [g_fixup], g_land
        call vm_run
        GATE_ON 0x31

        SECTION '== I16 INT 0x32 through a not-present gate, then re-injected', g_int32
        GATE_OFF 0x32
        VW F_EXC_BITMAP, 1 << 11
        mov dword [exit_hook], hook_reinject
        call vm_run
        GATE_ON 0x32

        SECTION '== I17 #PF while pushing the frame of INT 0x33', g_int33
        VW F_EXC_BITMAP, 1 << 14
        call vm_run

        SECTION '== I18 #PF while delivering an injected #GP(1234)', g_land
        VW F_GUEST_RSP, NOT_PRESENT + 0x100
        VW F_EXC_BITMAP, 1 << 14
        INJECT INTR_VALID | INTR_HW_EXC | INTR_ERRCODE | 13, 0x1234
        mov dword [g_fixup], g_land
        call vm_run

        SECTION '== I19 #NP while delivering an injected #GP (gate not present)', g_land
        GATE_OFF 13
        VW F_EXC_BITMAP, (1 << 8) | (1 << 11)
        INJECT INTR_VALID | INTR_HW_EXC | INTR_ERRCODE | 13, 0x1234
        mov dword [g_fixup], g_land
        call vm_run
        SECTION '== I20 the same with only #DF intercepted: not during delivery (27.2.4)', g_land
        VW F_EXC_BITMAP, 1 << 8
        INJECT INTR_VALID | INTR_HW_EXC | INTR_ERRCODE | 13, 0x1234
        mov dword [g_fixup], g_land
        call vm_run
        GATE_ON 13

        jmp host_exit

; invalid_injection_init: fresh VMCS for an injection that VM entry must refuse
invalid_injection_init:
        push edi
        mov edi, VMCS_A
        call vmcs_init
        pop edi
        VW F_GUEST_RIP, g_land
        VW F_GUEST_RFLAGS, 0x202
        ret

; hook_reinject: an exit during delivery of a software interrupt: make the gate present and
; re-inject the event from the IDT-vectoring information with the exit's instruction length,
; as a hypervisor does (27.2.4, 26.5.1); the guest RIP stays on the INT instruction.
hook_reinject:
        cmp dword [x_reason], 0
        jne hook_default
        mov eax, [x_idt]
        test eax, eax
        jns hook_default
        GATE_ON 0x32
        and eax, ~(1 << 12)                 ; bit 12 is undefined in IDT-vectoring info
        PRINTLN '  re-inject the IDT-vectoring event'
        VW F_ENTRY_INTR_INFO, eax
        VW F_ENTRY_INSTR_LEN, [x_len]
        mov dword [exit_hook], hook_default
        xor eax, eax
        ret

; ---- guests -------------------------------------------------------------------------------
; g_land: where injected events return (a NOP sled, so entry + length is code too)
g_land:
        nop
        nop
        nop
        nop
        GDONE

g_int32:
        int 0x32
        GDONE

g_int33:
        mov esp, NOT_PRESENT + 0x100
        int 0x33
        mov esp, GUEST_STACK_TOP
        GDONE

test_name:      db 'VMX-INJECT', 0

%include "../../../guests/common/serial.inc"
%include "../common/host.inc"
%include "../common/vmx.inc"
%include "../common/guest.inc"
%include "../../../guests/common/boot_end.inc"
