// `vmxlab run --gen`: the generation decides CPUID identity and VMX; bad names are refused with
// the list of valid ones; the BIOS locks IA32_FEATURE_CONTROL with VMX enabled at POST.
import { describe, expect, it } from 'vitest';
import { cli, nasm } from '../support/cli';

// Prints "sig=XXXXXXXX vmx=N fc=N\n" on port 0xE9 (CPUID.1 EAX, CPUID.1:ECX[5], IA32_FEATURE_CONTROL
// if CPUID says VMX) and leaves through the exit port.
const PROBE = `bits 16
org 0x7c00
  mov si, s1
  call puts
  mov eax, 1
  cpuid
  mov ebp, ecx
  call hex32
  mov si, s2
  call puts
  mov al, '0'
  test ebp, 1 << 5
  jz .novmx
  mov al, '1'
.novmx: out 0xe9, al
  test ebp, 1 << 5
  jz .done
  mov si, s3
  call puts
  mov ecx, 0x3a
  rdmsr
  add al, '0'
  out 0xe9, al
.done: mov al, 10
  out 0xe9, al
  mov al, 0
  out 0xf4, al
  cli
  hlt
hex32: mov cx, 8
.h: rol eax, 4
  push eax
  and al, 15
  add al, '0'
  cmp al, '9'
  jbe .d
  add al, 7
.d: out 0xe9, al
  pop eax
  loop .h
  ret
puts: lodsb
  test al, al
  jz .r
  out 0xe9, al
  jmp puts
.r: ret
s1: db 'sig=', 0
s2: db ' vmx=', 0
s3: db ' fc=', 0
times 510-($-$$) db 0
dw 0xaa55
`;

describe('vmxlab run --gen', () => {
  it('refuses an unknown generation, listing the valid names', async () => {
    const r = await cli('run', '--gen', 'pentium-m', 'x.img');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--gen: unknown CPU generation 'pentium-m'; one of prescott, merom, penryn, nehalem, westmere, sandy-bridge, ivy-bridge, haswell, broadwell, skylake, ice-lake/);
  });

  it('sets CPUID identity and VMX on the testbed', async () => {
    const img = nasm(PROBE);
    const p = await cli('run', '--machine', 'testbed', '--gen', 'prescott', '-q', img);
    expect(p.out).toBe('sig=00000F41 vmx=0\n');
    const h = await cli('run', '--machine', 'testbed', '--gen', 'haswell', '-q', img);
    expect(h.out).toBe('sig=000306C3 vmx=1 fc=0\n'); // no BIOS on the testbed: IA32_FEATURE_CONTROL stays 0
  });

  it('on the PC the BIOS locks IA32_FEATURE_CONTROL with VMX outside SMX enabled (5); the default is skylake', async () => {
    const img = nasm(PROBE);
    const r = await cli('run', '--mode', 'bare', '--no-bios-serial', '-q', '--max-seconds', '5', img);
    expect(r.out).toContain('sig=00050654 vmx=1 fc=5\n');
    const n = await cli('run', '--mode', 'bare', '--gen', 'nehalem', '--no-bios-serial', '-q', '--max-seconds', '5', img);
    expect(n.out).toContain('sig=000106E5 vmx=1 fc=5\n');
  });
});
