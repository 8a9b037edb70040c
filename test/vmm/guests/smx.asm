; SMX as a guest sees it: prints "M" and CPUID.1:ECX.SMX, then sets CR4.SMXE ('G' and the error
; code if that raises #GP: the handler resumes after the 3-byte MOV to CR4), then, with CR4.SMXE
; set, GETSEC[CAPABILITIES] and "C" with EAX; then "OK". On a CPU with SMX: "M1 C0 OK"; under the
; hosted VMM, which never offers SMX (as KVM): "M0 G0 OK".
; Assemble (in this folder): nasm -f bin -o smx.img smx.asm
%include "pm32.inc"
%include "report.inc"
  lidt [idtr]
  mov eax, 1
  cpuid
  mov al, 'M'
  out 0xe9, al
  mov eax, ecx
  shr eax, 6                       ; CPUID.1:ECX.SMX
  and eax, 1
  call digit
  mov eax, cr4
  or eax, 1 << 14                  ; CR4.SMXE
  mov cr4, eax
  mov eax, cr4
  test eax, 1 << 14
  jz .done
  xor eax, eax
  xor ebx, ebx
  getsec                           ; CAPABILITIES
  mov esi, eax
  mov al, 'C'
  out 0xe9, al
  mov eax, esi
  call digit
.done:
  OK_HALT

DIGIT_ROUTINE

; #GP handler: 'G', the error code, then resume after the faulting MOV to CR4 (3 bytes)
%include "gp-tail.inc"
