; paging-stress: a paging-heavy guest for the exit profiler (issue 7) and for comparing EPT
; with shadow paging (issue 6). Build: nasm -f bin [-DPAGES=n] [-DSWITCHES=k] paging-stress.asm
;
; Boots through ../common/boot.inc (32-bit protected mode), opens the A20 gate (port 92h; with
; A20 masked the page tables at 1 MB would alias the IVT), builds two address spaces that share
; an identity map of 0-4 MB (code, data, stack, page tables) and map the same window of N pages at linear 0x40000000 to different frames (space A: physical 0x400000 + 4 KB * i,
; space B: 0x800000 + 4 KB * i), then:
;   1. with paging off, writes one dword into each of B's N frames (physical addresses);
;      MOV CR3 <- A (the first CR3 load), CR0.PG = 1
;   2. touches the N window pages in space A (one dword write each: N fresh pages)
;   3. K switches: for k = 1..K, reads the dword of window page p = 7k mod N, then MOV CR3 <-
;      B when k is odd, A when k is even, reads page p again, mixes both into the checksum and
;      writes the second + k back
;   4. in the space it ended in, for every 4th window page i (i = 0, 4, 8, ...: J = ceil(N/4)
;      pages) reads the page, points its PTE at the other space's frame i, INVLPGs the page
;      and reads it again
; Each page's dword sits at offset 68 * i mod 4096 (rounded down to a dword); the checksum is
; sum = (rol(sum, 5) ^ value) * 01000193h over every value read. A stale TLB entry (a CR3 switch
; or an INVLPG that did not flush) changes what is read and so the checksum: test/profile/
; paging-model.ts computes the checksum for any N and K, with and without those flushes.
; -DNO_INVLPG leaves the INVLPGs out (the checksum then differs: tests show it does).
; -DMAPFILE=F writes a nasm symbol map (the loop labels) to F; the image is the same.
;
; So the guest executes exactly 1 + K MOV-to-CR3 and J INVLPG instructions, no MOV from CR3,
; no CR4 write, and one MOV to CR0 (PG; CR0.NE unchanged; label enable_paging). Under EPT with
; KVM's exit controls no CR3 load or INVLPG exits (the CR0 write does where the VMM's CR0
; guest/host mask owns PG, as KVM's owns every bit but TS); with `--exits cr3-load=on,invlpg=on` there are exactly 1 + K CR-access
; exits (MOV to CR3) and J INVLPG exits, at the labels below (test/profile/paging-stress).
;
; Serial output (COM1), N, K and J first so that transcripts say what was run:
;   PAGING-STRESS START pages=N switches=K invlpg=J
;   PAGING-STRESS checksum=xxxxxxxx
;   PAGING-STRESS DONE
; then exit through port 0xF4 (status 0). N (1..1024) and K are assembly-time defaults,
; patched at run time in the dwords after the signature 'PSCFG!!!' (tests do). N out of range
; prints "PAGING-STRESS FAIL bad pages" and exits with status 2. Checked: QEMU 7.2 (TCG, SeaBIOS,
; floppy) prints the same checksum as vmxlab (694d884c for the built N = 256, K = 64).

%ifndef PAGES
%define PAGES 256
%endif
%ifndef SWITCHES
%define SWITCHES 64
%endif
%ifdef MAPFILE
[map symbols MAPFILE]
%endif
%define PANIC_MARKER 'PAGING-STRESS FAIL'
%include "../common/boot.inc"
        bits 32

PD_A    equ 0x100000        ; page directory of space A
PD_B    equ 0x101000        ; page directory of space B
PT_ID   equ 0x102000        ; identity 0-4 MB, shared by both
PT_A    equ 0x103000        ; the window in space A
PT_B    equ 0x104000        ; the window in space B
WIN     equ 0x40000000
FRAMES_A equ 0x400000
FRAMES_B equ 0x800000
STACK_TOP equ 0x90000
DATA    equ 0x200000        ; variables, away from the code pages (identity mapped)
pages   equ DATA            ; N, checked
invlpgs equ DATA + 4        ; J = ceil(N / 4)
sum     equ DATA + 8        ; the checksum

stage2_entry:
        mov esp, STACK_TOP
        call serial_init
        ; fast A20 gate (vmxlab's BIOS leaves A20 masked; the testbed has no gate and reads FFh)
        in al, 0x92
        test al, 2
        jnz .a20
        or al, 2
        and al, 0xFE
        out 0x92, al
.a20:
        call panic_idt_install
        mov eax, [cfg_pages]
        test eax, eax
        jz bad_pages
        cmp eax, 1024
        ja bad_pages
        mov [pages], eax
        add eax, 3
        shr eax, 2
        mov [invlpgs], eax
        mov esi, s_start
        call puts
        mov eax, [pages]
        call putdec
        mov esi, s_switches
        call puts
        mov eax, [cfg_switches]
        call putdec
        mov esi, s_invlpg
        call puts
        mov eax, [invlpgs]
        call putdec
        call putnl

        ; page directories and tables (5 pages from PD_A)
        mov edi, PD_A
        mov ecx, 5 * 1024
        xor eax, eax
        rep stosd
        mov dword [PD_A], PT_ID | 3
        mov dword [PD_B], PT_ID | 3
        mov dword [PD_A + (WIN >> 22) * 4], PT_A | 3
        mov dword [PD_B + (WIN >> 22) * 4], PT_B | 3
        mov edi, PT_ID
        mov eax, 3
        mov ecx, 1024
.id:    stosd
        add eax, 0x1000
        dec ecx
        jnz .id
        xor ecx, ecx
.win:   mov eax, ecx
        shl eax, 12
        lea edx, [eax + FRAMES_A + 3]
        mov [PT_A + ecx * 4], edx
        lea edx, [eax + FRAMES_B + 3]
        mov [PT_B + ecx * 4], edx
        inc ecx
        cmp ecx, [pages]
        jb .win

        ; 1. B's frames, by physical address (paging is off)
        xor ecx, ecx
.initb: call slot                       ; EBX = page offset of dword i, EAX = pattern
        xor eax, 0xB0B0B0B0
        mov edx, ecx
        shl edx, 12
        mov [FRAMES_B + edx + ebx], eax
        inc ecx
        cmp ecx, [pages]
        jb .initb
        mov dword [sum], 0x811C9DC5
        mov eax, PD_A
first_cr3:
        mov cr3, eax                    ; CR3 load 1 of 1 + K
        mov eax, cr0
        or eax, 0x80000000
enable_paging:
        mov cr0, eax                    ; exits where the VMM owns CR0.PG (its CR0 guest/host mask)
        jmp .pg
.pg:
        ; 2. N fresh pages in space A
        xor ecx, ecx
touch_loop:
        call slot
        mov edx, ecx
        shl edx, 12
        mov [WIN + edx + ebx], eax
        inc ecx
        cmp ecx, [pages]
        jb touch_loop
touch_loop_end:

        ; 3. K switches between the spaces
        mov ecx, 1
        cmp ecx, [cfg_switches]
        ja switch_loop_end
switch_loop:
        mov eax, ecx
        imul eax, eax, 7
        xor edx, edx
        div dword [pages]               ; EDX = p = 7k mod N
        push ecx
        mov ecx, edx
        call slot
        shl edx, 12
        lea edi, [WIN + edx + ebx]
        pop ecx
        mov eax, [edi]                  ; page p in the space we leave (now in the TLB)
        call mix
        mov eax, PD_A
        test ecx, 1
        jz .even
        mov eax, PD_B
.even:
switch_cr3:
        mov cr3, eax                    ; CR3 loads 2 .. 1 + K
        mov eax, [edi]                  ; page p in the space we entered
        call mix
        add eax, ecx
        mov [edi], eax
        inc ecx
        cmp ecx, [cfg_switches]
        jbe switch_loop
switch_loop_end:

        ; 4. remap every 4th page to the other space's frame, INVLPG, read
        mov esi, PT_A                   ; the PTEs of the space we are in: A after an even K
        mov edi, FRAMES_B
        test dword [cfg_switches], 1
        jz .inA
        mov esi, PT_B
        mov edi, FRAMES_A
.inA:   xor ecx, ecx
invlpg_loop:
        call slot
        mov edx, ecx
        shl edx, 12
        mov eax, [WIN + edx + ebx]      ; the old frame (now in the TLB)
        call mix
        lea eax, [edi + edx + 3]
        mov [esi + ecx * 4], eax
%ifndef NO_INVLPG
        invlpg [WIN + edx]
%endif
        mov eax, [WIN + edx + ebx]      ; the other space's frame
        call mix
        add ecx, 4
        cmp ecx, [pages]
        jb invlpg_loop
invlpg_loop_end:

        mov esi, s_sum
        call puts
        mov eax, [sum]
        call puthex32
        call putnl
        mov esi, s_done
        call puts
        xor al, al
        jmp guest_exit

bad_pages:
        mov esi, s_bad
        call puts
        mov al, 2
        jmp guest_exit

slot:                                   ; ECX = page i -> EBX = offset of its dword, EAX = A's pattern
        imul ebx, ecx, 68
        and ebx, 0xFFC
        imul eax, ecx, 0x9E3779B1
        add eax, 0x01234567
        ret

mix:                                    ; sum = (rol(sum, 5) ^ EAX) * 01000193h (FNV prime)
        push edx
        mov edx, [sum]
        rol edx, 5
        xor edx, eax
        imul edx, edx, 0x01000193
        mov [sum], edx
        pop edx
        ret

; Run-time configuration (tests patch N and K in the image):
        align 4
cfg_block:    db 'PSCFG!!!'
cfg_pages:    dd PAGES
cfg_switches: dd SWITCHES

s_start:    db 'PAGING-STRESS START pages=', 0
s_switches: db ' switches=', 0
s_invlpg:   db ' invlpg=', 0
s_sum:      db 'PAGING-STRESS checksum=', 0
s_done:     db 'PAGING-STRESS DONE', 10, 0
s_bad:      db 'PAGING-STRESS FAIL bad pages (1 to 1024)', 10, 0

%include "../common/serial.inc"
%include "../common/panic-idt.inc"
%include "../common/exit.inc"
%include "../common/boot_end.inc"
