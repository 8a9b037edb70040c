; vmx-long64: a 64-bit test hypervisor (issue 4, IA-32e mode in VMX). From the boot sector's
; 32-bit protected mode it enters IA-32e mode (SDM Vol. 3A 9.8.5: 4-level paging, CR4.PAE,
; IA32_EFER.LME, CR0.PG, a far jump to a 64-bit code segment), does VMXON with 64-bit operands,
; and launches a 64-bit guest ("IA-32e mode guest", "host address-space size", EPT) that causes
; CPUID, OUT, IN, RDMSR, MOV from/to CR3, MOV to CR8, INVLPG, two EPT violations (the final
; access, then a guest paging-structure access through PML4 entry 256) and a guest #PF through
; the exception bitmap, and ends with VMCALL. Every exit prints one line on COM1 with the fields
; the SDM defines for it (Vol. 3C 28.2): reason, the 64-bit guest RIP, the 64-bit exit
; qualification, instruction length, interruption information, guest-linear and
; guest-physical address. Needs Intel 64 and EPT (else prints a skip line).
%include "../../../guests/common/boot.inc"
        bits 32
%include "../common/defs.inc"

L64_PML4        equ 0x00120000          ; host and guest PML4 (identity, PML4E 0 and 256)
L64_PDPT        equ 0x00121000          ; PML4E 0: PDPTE 0 -> L64_PD
L64_PD          equ 0x00122000          ; 0-1 GB in 2 MB pages
L64_PDPT_HI     equ 0x00123000          ; PML4E 256 (FFFF8000_00000000): PDPTE 0 -> L64_PD
TSS64           equ GUEST_TSS
SEL64_CS        equ 0x08
SEL64_DS        equ 0x10
SEL64_TSS       equ 0x18
EPT_UNMAPPED    equ 0x00150000          ; a guest data page EPT leaves unmapped at first

stage2_entry:
        in al, 0x92                     ; fast A20 (as host.inc; bit 0 would reset: keep it clear)
        or al, 2
        and al, 0xFE
        out 0x92, al
        call serial_init
        mov esi, msg_start
        call puts
        ; Intel 64 (CPUID.80000001H:EDX[29]) and VMX (CPUID.1:ECX[5])
        mov eax, 0x80000001
        cpuid
        test edx, 1 << 29
        jnz .lm
        mov esi, msg_no_lm
        call puts
        jmp end32
.lm:    ; 4-level paging structures: zero four pages, then the entries
        mov edi, L64_PML4
        mov ecx, 4 * 1024
        xor eax, eax
        rep stosd
        mov dword [L64_PML4], L64_PDPT | 3
        mov dword [L64_PML4 + 256 * 8], L64_PDPT_HI | 3
        mov dword [L64_PDPT], L64_PD | 3
        mov dword [L64_PDPT_HI], L64_PD | 3
        mov edi, L64_PD
        mov eax, 0x83                   ; present, writable, 2 MB
        mov ecx, 512
.pd:    mov [edi], eax
        add eax, 0x200000
        add edi, 8
        loop .pd
        lgdt [gdt64_ptr]
        mov eax, cr4
        or eax, 1 << 5                  ; PAE
        mov cr4, eax
        mov eax, L64_PML4
        mov cr3, eax
        mov ecx, MSR_EFER
        rdmsr
        or eax, 1 << 8                  ; LME
        wrmsr
        mov eax, cr0
        or eax, 0x80000020              ; PG, NE
        mov cr0, eax
        jmp SEL64_CS:long_entry

end32:  mov dx, 0xF4
        xor al, al
        out dx, al
.h:     hlt
        jmp .h

%include "../../../guests/common/serial.inc"

        bits 64
long_entry:
        mov ax, SEL64_DS
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov fs, ax
        mov gs, ax
        mov rsp, HOST_STACK_TOP
        mov ax, SEL64_TSS
        ltr ax
        lea rsi, [rel msg_long]
        call puts64
        mov eax, 1
        cpuid
        test ecx, 1 << 5
        jz no_vmx
        mov ecx, MSR_VMX_PROCBASED
        rdmsr
        test edx, PROC_SECONDARY
        jz no_ept
        mov ecx, MSR_VMX_PROCBASED2
        rdmsr
        test edx, PROC2_EPT
        jz no_ept
        ; IA32_FEATURE_CONTROL: lock with VMX outside SMX unless the BIOS locked it
        mov ecx, MSR_FEATURE_CONTROL
        rdmsr
        test eax, 1
        jnz .locked
        mov eax, 5
        xor edx, edx
        wrmsr
.locked:
        mov rax, cr4
        or eax, 1 << 13                 ; VMXE
        mov cr4, rax
        ; regions: zero them, revision identifier from IA32_VMX_BASIC
        mov rdi, VMXON_REGION
        mov ecx, 2 * 1024
        xor eax, eax
        rep stosd
        mov ecx, MSR_VMX_BASIC
        rdmsr
        mov [VMXON_REGION], eax
        mov [VMCS_A], eax
        vmxon [rel vmxon_ptr]
        jbe vmx_failed
        vmclear [rel vmcs_ptr]
        jbe vmx_failed
        vmptrld [rel vmcs_ptr]
        jbe vmx_failed
        lea rsi, [rel msg_vmxon]
        call puts64
        call ept_build
        call vmcs_setup
        lea rsi, [rel msg_launch]
        call puts64
        vmlaunch
        ; VMLAUNCH fell through: VMfailInvalid (CF) or VMfailValid (ZF, error field)
        lea rsi, [rel msg_launch_failed]
        call puts64
        mov edx, F_VM_INSTR_ERROR
        vmread rax, rdx
        call putdec64
        call putnl64
        jmp host_exit

no_vmx: lea rsi, [rel msg_no_vmx]
        call puts64
        jmp host_exit
no_ept: lea rsi, [rel msg_no_ept]
        call puts64
        jmp host_exit
vmx_failed:
        lea rsi, [rel msg_vmx_failed]
        call puts64
        jmp host_exit

; ---- EPT: identity for 0-32 MB, WB; 0-2 MB in 4 KB pages without EPT_UNMAPPED and L64_PDPT_HI
ept_build:
        mov rdi, EPT_PML4
        mov ecx, 4 * 1024
        xor eax, eax
        rep stosd
        mov dword [EPT_PML4], EPT_PDPT | 7
        mov dword [EPT_PDPT], EPT_PD0 | 7
        mov dword [EPT_PD0], EPT_PT0 | 7
        mov rdi, EPT_PD0 + 8
        mov eax, 0x200000 | 0xB7         ; RWX, WB (6 << 3), 2 MB page
        mov ecx, 15
.pd:    mov [rdi], eax
        add eax, 0x200000
        add rdi, 8
        loop .pd
        mov rdi, EPT_PT0
        mov eax, 0x37                   ; RWX, WB
        mov ecx, 512
.pt:    mov [rdi], eax
        add eax, 0x1000
        add rdi, 8
        loop .pt
        mov qword [EPT_PT0 + (EPT_UNMAPPED >> 12) * 8], 0
        mov qword [EPT_PT0 + (L64_PDPT_HI >> 12) * 8], 0
        ret

; adjust_ctl: EAX = wanted bits, ECX = capability MSR -> EAX = (wanted | allowed-0) & allowed-1
adjust_ctl:
        push rbx
        mov ebx, eax
        rdmsr
        or ebx, eax
        and ebx, edx
        mov eax, ebx
        pop rbx
        ret

%macro VW 2
        mov rdx, %1
        mov rax, %2
        call vmw
%endmacro

vmw:    vmwrite rdx, rax
        jbe .f
        ret
.f:     lea rsi, [rel msg_vmwrite_failed]
        call puts64
        mov rax, rdx
        call puthex32_64
        call putnl64
        jmp host_exit

vmcs_setup:
        ; ---- controls (the non-TRUE capability MSRs: CR3-load/store exiting are default1)
        xor eax, eax
        mov ecx, MSR_VMX_PINBASED
        call adjust_ctl
        VW F_PIN_CTLS, rax
        mov eax, PROC_INVLPG | PROC_CR3_LOAD | PROC_CR3_STORE | (1 << 19) | PROC_UNCOND_IO | PROC_SECONDARY
        mov ecx, MSR_VMX_PROCBASED
        call adjust_ctl
        VW F_PROC_CTLS, rax
        mov eax, PROC2_EPT
        mov ecx, MSR_VMX_PROCBASED2
        call adjust_ctl
        VW F_PROC_CTLS2, rax
        mov eax, EXIT_HOST_64
        mov ecx, MSR_VMX_EXIT
        call adjust_ctl
        VW F_EXIT_CTLS, rax
        mov eax, ENTRY_IA32E
        mov ecx, MSR_VMX_ENTRY
        call adjust_ctl
        VW F_ENTRY_CTLS, rax
        VW F_EXC_BITMAP, 1 << 14
        VW F_PF_MASK, 0
        VW F_PF_MATCH, 0
        VW F_CR3_TARGET_COUNT, 0
        VW F_LINK_POINTER, -1
        VW F_EPTP, EPT_PML4 | (3 << 3) | 6
        ; ---- host state: 64-bit mode
        mov rax, cr0
        VW F_HOST_CR0, rax
        mov rax, cr3
        VW F_HOST_CR3, rax
        mov rax, cr4
        VW F_HOST_CR4, rax
        VW F_HOST_ES_SEL, SEL64_DS
        VW F_HOST_CS_SEL, SEL64_CS
        VW F_HOST_SS_SEL, SEL64_DS
        VW F_HOST_DS_SEL, SEL64_DS
        VW F_HOST_FS_SEL, SEL64_DS
        VW F_HOST_GS_SEL, SEL64_DS
        VW F_HOST_TR_SEL, SEL64_TSS
        VW F_HOST_FS_BASE, 0
        VW F_HOST_GS_BASE, 0
        VW F_HOST_TR_BASE, TSS64
        VW F_HOST_GDTR_BASE, gdt64
        VW F_HOST_IDTR_BASE, 0
        VW F_HOST_SYSENTER_CS, 0
        VW F_HOST_SYSENTER_ESP, 0
        VW F_HOST_SYSENTER_EIP, 0
        VW F_HOST_RSP, HOST_STACK_TOP
        VW F_HOST_RIP, vm_exit_entry
        ; ---- guest state: 64-bit mode on the same paging structures
        mov rax, cr0
        VW F_GUEST_CR0, rax
        mov rax, cr3
        VW F_GUEST_CR3, rax
        mov rax, cr4
        VW F_GUEST_CR4, rax
        VW F_GUEST_DR7, 0x400
        VW F_GUEST_DEBUGCTL, 0
        xor ebx, ebx                    ; segment index 0-7: ES CS SS DS FS GS LDTR TR
.seg:   lea rdx, [rbx * 2 + F_GUEST_ES_SEL]
        mov eax, SEL64_DS
        cmp ebx, 1
        jne .s1
        mov eax, SEL64_CS
.s1:    cmp ebx, 6
        jne .s2
        xor eax, eax
.s2:    cmp ebx, 7
        jne .s3
        mov eax, SEL64_TSS
.s3:    call vmw
        lea rdx, [rbx * 2 + F_GUEST_ES_BASE]
        xor eax, eax
        cmp ebx, 7
        jne .b1
        mov eax, TSS64
.b1:    call vmw
        lea rdx, [rbx * 2 + F_GUEST_ES_LIMIT]
        mov eax, 0xFFFFFFFF
        cmp ebx, 7
        jne .l1
        mov eax, 0x67
.l1:    call vmw
        lea rdx, [rbx * 2 + F_GUEST_ES_AR]
        mov eax, 0xC093                 ; data: read/write accessed, DB, G
        cmp ebx, 1
        jne .a1
        mov eax, 0xA09B                 ; code: L = 1, D = 0, G
.a1:    cmp ebx, 6
        jne .a2
        mov eax, 0x10000                ; LDTR unusable
.a2:    cmp ebx, 7
        jne .a3
        mov eax, 0x8B                   ; busy 64-bit TSS
.a3:    call vmw
        inc ebx
        cmp ebx, 8
        jb .seg
        VW F_GUEST_GDTR_BASE, gdt64
        VW F_GUEST_GDTR_LIMIT, gdt64_end - gdt64 - 1
        VW F_GUEST_IDTR_BASE, 0
        VW F_GUEST_IDTR_LIMIT, 0xFFF
        VW F_GUEST_RSP, GUEST_STACK_TOP
        VW F_GUEST_RIP, guest_code
        VW F_GUEST_RFLAGS, 2
        VW F_GUEST_ACTIVITY, 0
        VW F_GUEST_INTERRUPTIBILITY, 0
        VW F_GUEST_PENDING_DBG, 0
        VW F_GUEST_SYSENTER_CS, 0
        VW F_GUEST_SYSENTER_ESP, 0
        VW F_GUEST_SYSENTER_EIP, 0
        ret

; ---- VM exits: print, then act (skip the instruction, map the EPT page, or leave the #PF)
%macro VRD 1
        mov edx, %1
        vmread rax, rdx
%endmacro

vm_exit_entry:
        VRD F_EXIT_REASON
        mov r12, rax
        lea rsi, [rel msg_exit]
        call puts64
        mov rax, r12
        call putdec64
        lea rsi, [rel msg_rip]
        call puts64
        VRD F_GUEST_RIP
        call puthex64
        movzx eax, r12w
        cmp eax, 0
        je .exc
        cmp eax, 48
        je .ept
        cmp eax, 28
        je .qlen
        cmp eax, 14
        je .qlen
        cmp eax, 30
        je .qlen
        ; CPUID, RDMSR, VMCALL and the rest: instruction length only
        call put_len
        jmp .act
.qlen:  call put_qual
        call put_len
        jmp .act
.exc:   lea rsi, [rel msg_int]
        call puts64
        VRD F_EXIT_INTR_INFO
        call puthex32_64
        lea rsi, [rel msg_err]
        call puts64
        VRD F_EXIT_INTR_ERROR
        call puthex32_64
        call put_qual
        jmp .act
.ept:   lea rsi, [rel msg_q]
        call puts64
        VRD F_EXIT_QUAL
        and eax, 0x11FF                 ; bits 8:0 and 12 (9-11 need EPT_VPID_CAP[22])
        call puthex64
        lea rsi, [rel msg_gla]
        call puts64
        VRD F_GUEST_LINEAR
        call puthex64
        lea rsi, [rel msg_gpa]
        call puts64
        VRD F_GUEST_PHYS_ADDR
        call puthex64
.act:   call putnl64
        movzx eax, r12w
        cmp eax, 18
        je .done
        cmp eax, 48
        je .map
        cmp eax, 0
        je .pf
        cmp eax, 2
        je .done                        ; triple fault: nothing to resume
        ; skip the instruction
        VRD F_GUEST_RIP
        mov rbx, rax
        VRD F_EXIT_INSTR_LEN
        add rax, rbx
        VW F_GUEST_RIP, rax
        jmp .resume
.map:   VRD F_GUEST_PHYS_ADDR
        shr rax, 12
        mov rbx, rax
        shl rax, 12
        or rax, 0x37
        mov [EPT_PT0 + rbx * 8], rax
        lea rsi, [rel msg_mapped]
        call puts64
        jmp .resume
.pf:    VW F_GUEST_RIP, pf_resume
.resume:
        vmresume
        lea rsi, [rel msg_resume_failed]
        call puts64
        jmp host_exit
.done:  lea rsi, [rel msg_done]
        call puts64
        jmp host_exit

put_qual:
        lea rsi, [rel msg_q]
        call puts64
        VRD F_EXIT_QUAL
        jmp puthex64
put_len:
        lea rsi, [rel msg_len]
        call puts64
        VRD F_EXIT_INSTR_LEN
        jmp putdec64

; ---- the guest (64-bit mode)
guest_code:
        xor eax, eax
        cpuid                           ; exit 10
        mov al, 0x55
        out 0x80, al                    ; exit 30
        in al, 0x80                     ; exit 30
        mov ecx, MSR_EFER
        rdmsr                           ; exit 31
        mov r9, cr3                     ; exit 28 (CR3-store exiting)
        mov cr3, r9                     ; exit 28 (CR3-load exiting)
        xor r10d, r10d
        mov cr8, r10                    ; exit 28 (CR8-load exiting)
        mov rbx, 0xFFFF800000123000
        invlpg [rbx]                    ; exit 14, the whole address
        mov rbx, EPT_UNMAPPED + 8
        mov rax, [rbx]                  ; exit 48 (the final access), then again after the map
        mov rbx, 0xFFFF800000001000
        mov rax, [rbx]                  ; exit 48 (the PDPT through PML4E 256)
        mov rbx, 0x40000000
        mov rax, [rbx]                  ; #PF (PDPTE 1 not present): exit 0
pf_resume:
        vmcall                          ; exit 18: done
        hlt

host_exit:
        lea rsi, [rel msg_end]
        call puts64
        mov dx, COM1 + 5
.tx:    in al, dx
        test al, 0x40
        jz .tx
        mov dx, 0xF4
        xor al, al
        out dx, al
        mov dx, 0x8900
        lea rsi, [rel msg_shutdown]
.sd:    lodsb
        test al, al
        jz .h
        out dx, al
        jmp .sd
.h:     hlt
        jmp .h

; ---- 64-bit serial output
putc64: push rdx
        push rax
        mov dx, COM1 + 5
.w:     in al, dx
        test al, 0x20
        jz .w
        pop rax
        mov dx, COM1
        out dx, al
        pop rdx
        ret
puts64: push rax
.l:     lodsb
        test al, al
        jz .e
        call putc64
        jmp .l
.e:     pop rax
        ret
putnl64:
        push rax
        mov al, 10
        call putc64
        pop rax
        ret
; puthex64: RAX as 16 hex digits; puthex32_64: EAX as 8
puthex64:
        push rcx
        mov ecx, 16
        jmp puthex_n
puthex32_64:
        push rcx
        mov ecx, 8
        shl rax, 32
puthex_n: push rbx
        mov rbx, rax
.d:     rol rbx, 4
        mov eax, ebx
        and eax, 15
        add al, '0'
        cmp al, '9'
        jbe .o
        add al, 'a' - '0' - 10
.o:     call putc64
        loop .d
        pop rbx
        pop rcx
        ret
; putdec64: EAX unsigned decimal
putdec64:
        push rbx
        push rdx
        push rcx
        mov ebx, 10
        xor ecx, ecx
.div:   xor edx, edx
        div ebx
        push rdx
        inc ecx
        test eax, eax
        jnz .div
.out:   pop rax
        add al, '0'
        call putc64
        loop .out
        pop rcx
        pop rdx
        pop rbx
        ret

; ---- data
        align 8
gdt64:  dq 0
        dq 0x00AF9A000000FFFF           ; 08: 64-bit code, DPL 0
        dq 0x00CF92000000FFFF           ; 10: data
        dw 0x67, TSS64 & 0xFFFF         ; 18: available 64-bit TSS (16 bytes)
        db (TSS64 >> 16) & 0xFF, 0x89, 0, (TSS64 >> 24) & 0xFF
        dd 0, 0
gdt64_end:
gdt64_ptr:
        dw gdt64_end - gdt64 - 1
        dd gdt64
        align 8
vmxon_ptr:      dq VMXON_REGION
vmcs_ptr:       dq VMCS_A

msg_start:      db 'VMX-LONG64 START', 10, 0
msg_no_lm:      db '  skip (no Intel 64 on this CPU model)', 10, 'END VMX-LONG64', 10, 0
msg_long:       db '  64-bit mode', 10, 0
msg_no_vmx:     db '  skip (no VMX)', 10, 0
msg_no_ept:     db '  skip (no EPT on this CPU model)', 10, 0
msg_vmx_failed: db '  VMXON/VMCLEAR/VMPTRLD failed', 10, 0
msg_vmxon:      db '  vmxon, vmclear, vmptrld: ok', 10, 0
msg_launch:     db '  vmlaunch: 64-bit host, IA-32e mode guest, EPT', 10, 0
msg_launch_failed: db '  vmlaunch failed, error ', 0
msg_resume_failed: db '  vmresume failed', 10, 0
msg_vmwrite_failed: db '  vmwrite failed: field ', 0
msg_exit:       db '  exit ', 0
msg_rip:        db ' rip=', 0
msg_q:          db ' q=', 0
msg_len:        db ' len=', 0
msg_int:        db ' int=', 0
msg_err:        db ' err=', 0
msg_gla:        db ' gla=', 0
msg_gpa:        db ' gpa=', 0
msg_mapped:     db '  ept: mapped the page', 10, 0
msg_done:       db '  done', 10, 0
msg_end:        db 'END VMX-LONG64', 10, 0
msg_shutdown:   db 'Shutdown', 0

%include "../../../guests/common/boot_end.inc"
