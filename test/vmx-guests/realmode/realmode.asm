; vmx-realmode: a real-mode guest under "unrestricted guest" + EPT (SDM Vol. 3C 25.6, 26.3.1.1
; and 26.3.1.2 with unrestricted guest): I/O exits (unconditional I/O exiting), CPUID, an INT
; through the guest's own IVT, string I/O with 16-bit addressing, a CR0.PE guest/host mask, and
; the guest switching itself to protected mode without any exit. Needs a CPU model with
; unrestricted guest (else: skip).
%include "../../../guests/common/boot.inc"
        bits 32
%include "../common/defs.inc"
%include "../common/macros.inc"

GUEST_IVT       equ 0x1000              ; the guest's IDTR base (real-mode IVT, 256 vectors)
REAL_SP         equ 0x5000

stage2_entry:
        call host_init
        call guest_idt_install
        PRINTLN 'VMX-REALMODE START'
        call vmx_caps
        call print_features
        call vmx_enable
        test dword [cap_proc2 + 4], PROC2_UNRESTRICTED
        jnz .ok
        PRINTLN '  skip (no unrestricted guest on this CPU model)'
        jmp host_exit
.ok:    call ept_identity
        mov edi, GUEST_IVT
        mov ecx, 1
        call zero_pages
        mov word [GUEST_IVT + 0x40 * 4], r_int40      ; 0000:r_int40
        mov word [GUEST_IVT + 0x40 * 4 + 2], 0

        SECTION '== R01 real-mode guest: OUT, IN, CPUID, INT 40h, OUTSB (a16)', r_main
        call real_mode_state
        mov eax, PROC_UNCOND_IO
        call set_proc
        call vm_run

        SECTION '== R02 CR0.PE owned by the host: MOV to CR0 exits, reads see the shadow', r_cr0
        call real_mode_state
        VW F_CR0_MASK, 0x80000001           ; PG and PE
        VR F_GUEST_CR0
        VW F_CR0_SHADOW, eax
        call vm_run

        SECTION '== R03 the guest enters protected mode by itself (no exit), then CPUID', r_topm
        call real_mode_state
        call vm_run
        PRINT '  guest cr0='
        VR F_GUEST_CR0
        call puthex32
        PRINT ' cs='
        VR F_GUEST_CS_SEL
        call puthex32
        PRINT ' cs.ar='
        VR F_GUEST_ES_AR + 2
        call puthex32
        call putnl

        jmp host_exit

; real_mode_state: the current VMCS gets a real-mode guest (CR0.PE = PG = 0, 64 KB segments
; with base = selector * 16, IVT at GUEST_IVT) with EPT and unrestricted guest
real_mode_state:
        push eax
        mov eax, cr0
        and eax, 0x60000030                 ; CD NW NE ET as the host has them; PE = PG = 0
        or eax, [cap_cr0_fixed0]
        and eax, ~0x80000001                ; fixed-0 PE/PG do not apply (26.3.1.1)
        VW F_GUEST_CR0, eax
        VW F_CR0_SHADOW, eax
        mov eax, [cap_cr4_fixed0]
        VW F_GUEST_CR4, eax                 ; VMXE only
        VW F_CR4_SHADOW, eax
        VW F_GUEST_CR3, 0
        VW F_GUEST_RSP, REAL_SP
%assign s 0
%rep 6
        VW F_GUEST_ES_SEL + 2 * s, 0
        VW F_GUEST_ES_BASE + 2 * s, 0
        VW F_GUEST_ES_LIMIT + 2 * s, 0xFFFF
 %if s == 1
        VW F_GUEST_ES_AR + 2 * s, 0x9B      ; 16-bit code, accessed
 %else
        VW F_GUEST_ES_AR + 2 * s, 0x93
 %endif
%assign s s + 1
%endrep
        VW F_GUEST_IDTR_BASE, GUEST_IVT
        VW F_GUEST_IDTR_LIMIT, 0x3FF
        VW F_EPTP, EPT_PML4 | (3 << 3) | 6
        VW F_EPTP + 1, 0
        mov eax, PROC2_EPT | PROC2_UNRESTRICTED
        call set_proc2
        pop eax
        ret

; ept_identity: GPA 0-1 GB -> HPA, 2 MB pages, RWX, WB
ept_identity:
        pushad
        mov edi, EPT_PML4
        mov ecx, 3
        call zero_pages
        mov dword [EPT_PML4], EPT_PDPT | 7
        mov dword [EPT_PDPT], EPT_PD0 | 7
        mov edi, EPT_PD0
        mov eax, (1 << 7) | (6 << 3) | 7
        mov ecx, 512
.l:     mov [edi], eax
        add eax, 0x200000
        add edi, 8
        loop .l
        popad
        ret

; ---- real-mode guests ---------------------------------------------------------------------
        bits 16
r_main:
        mov al, 0x12
        out 0x80, al
        mov dx, 0x3F8
        in al, dx
        xor eax, eax
        cpuid
        int 0x40
        mov si, io_buf
        mov cx, 2
        mov dx, 0x80
        rep outsb
        GDONE
r_int40:
        mov al, 0x40
        out 0x81, al
        iret

r_cr0:
        mov eax, cr0
        GREPORT 'cr0', eax, 0
        or al, 1
        mov cr0, eax                        ; PE differs from the shadow: exit (skipped)
        mov eax, cr0
        GREPORT 'cr0', eax, 0
        GDONE

r_topm:
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp dword SEL_CS32:.pm
        bits 32
.pm:    mov ax, SEL_DS32
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov esp, GUEST_STACK_TOP
        xor eax, eax
        cpuid
        GDONE

io_buf:         db 'ab'
test_name:      db 'VMX-REALMODE', 0

%include "../../../guests/common/serial.inc"
%include "../common/host.inc"
%include "../common/vmx.inc"
%include "../common/guest.inc"
%include "../../../guests/common/boot_end.inc"
