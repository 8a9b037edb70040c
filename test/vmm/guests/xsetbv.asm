; XSETBV in a hosted guest (exit 55, unconditional: SDM Vol. 3C §26.1.2). The guest enables
; CR4.OSXSAVE, reads CPUID.1:ECX.OSXSAVE and CPUID.(0DH,0) EAX/EBX, XGETBV (no exit), then
; XSETBV three times: XCR0 = 1 (valid: the VMM loads it and skips the instruction), XCR0 = 3
; (SSE is not supported: #GP(0)) and ECX = 1 (no such XCR: #GP(0)). A #GP handler prints 'G' and
; resumes after the 3-byte XSETBV. Output on the debug port 0E9h: "O1 X1 S240 G0 V1 G0 G0 OK".
; Assemble (in this folder): nasm -f bin -o xsetbv.img xsetbv.asm
%include "pm32.inc"
%include "report.inc"
  lidt [idtr]
  mov eax, cr4
  or eax, 1 << 18                  ; CR4.OSXSAVE
  mov cr4, eax
  mov eax, 1
  cpuid
  mov al, 'O'
  out 0xe9, al
  mov eax, ecx
  shr eax, 27                      ; CPUID.1:ECX.OSXSAVE
  and eax, 1
  call digit
  mov eax, 0xd
  xor ecx, ecx
  cpuid
  mov esi, eax
  mov al, 'X'
  out 0xe9, al
  mov eax, esi
  call digit                       ; EAX: supported XCR0 bits (1)
  mov al, 'S'
  out 0xe9, al
  mov eax, ebx                     ; EBX: area size 576 = 240h
  shr eax, 8
  call digit
  mov eax, ebx
  shr eax, 4
  call digit
  mov eax, ebx
  call digit
  xor ecx, ecx
  mov eax, 1
  xor edx, edx
  xsetbv                           ; valid
  mov al, 'V'
  out 0xe9, al
  xor ecx, ecx
  xgetbv
  call digit
  mov eax, 3
  xor edx, edx
  xsetbv                           ; SSE unsupported: #GP(0)
  mov ecx, 1
  mov eax, 1
  xsetbv                           ; XCR1 does not exist: #GP(0)
  OK_HALT

DIGIT_ROUTINE

; #GP handler: 'G', the error code, then resume after the faulting XSETBV (3 bytes)
%include "gp-tail.inc"
