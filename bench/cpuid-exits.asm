; CPUID N times in real mode (every CPUID exits in hosted mode), then CPUID DONE on port 0E9h.
; nasm -f bin -D N=1000000 -o cpuid-exits.img bench/cpuid-exits.asm (BENCHMARKS.md: per-exit cost)
%ifndef N
%define N 1000000
%endif
bits 16
org 0x7c00
  cli
  mov edi, N
.l:
  xor eax, eax
  cpuid
  dec edi
  jnz .l
  mov si, msg
.p: lodsb
  test al, al
  jz .h
  out 0xe9, al
  jmp .p
.h: hlt
  jmp .h
msg: db 'CPUID DONE', 10, 0
times 510-($-$$) db 0
dw 0xaa55
