// The decoded-instruction cache must never change what a guest computes: self-modifying code
// runs its new bytes, stores beside code leave the cache alone, and a whole guest gives the
// same output and instruction count with the cache on and off.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createCpu } from '../../src/core/cpu/index';
import { Testbed } from '../../src/core/platform/testbed';

const dir = mkdtempSync(join(tmpdir(), 'vmxlab-dc-'));
function asm(src: string): Uint8Array {
  const f = join(dir, `t${Math.random().toString(36).slice(2)}.asm`);
  writeFileSync(f, src);
  execFileSync('nasm', ['-f', 'bin', '-o', `${f}.img`, f]);
  return new Uint8Array(readFileSync(`${f}.img`));
}

/** A boot sector that enters flat 32-bit protected mode and runs `body` at 0x8000. */
function pmGuest(body: string): Uint8Array {
  return asm(`bits 16
org 0x7c00
  cli
  xor ax, ax
  mov ds, ax
  lgdt [gdtr]
  mov eax, cr0
  or eax, 1
  mov cr0, eax
  jmp 0x08:pm
bits 32
pm:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov esp, 0x90000
  jmp 0x8000
gdt: dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
gdtr: dw 23
  dd gdt
times 0x400-($-$$) db 0
bits 32
${body}
`);
}

function run(img: Uint8Array, decodeCache: boolean): Testbed {
  const tb = new Testbed({ memoryBytes: 16 << 20, createCpu: (m, io) => createCpu(m, io, undefined, { decodeCache }) });
  // pmGuest images are longer than one sector and have no 55AA; load them directly.
  tb.load(0x7c00, img);
  tb.cpu.eip = 0x7c00;
  tb.cpu.setSegReal(1, 0, 0xffff, 0x9b);
  return tb;
}

describe('decoded-instruction cache', () => {
  it('executes rewritten instruction bytes (self-modifying code in the same page)', () => {
    const img = pmGuest(`
  mov ecx, 3
  xor ebx, ebx
again:
patch: mov eax, 1          ; B8 imm32: the immediate is rewritten below
  add ebx, eax
  inc dword [patch + 1]    ; next time round: mov eax, 2, then 3
  dec ecx
  jnz again
  mov eax, ebx
  out 0xf4, al
`);
    for (const dc of [true, false]) {
      const tb = run(img, dc);
      const r = tb.runUntil({ maxInstructions: 10_000 });
      expect(r.stopReason).toBe('exit-port');
      expect(r.exitCode, `decode cache ${dc}`).toBe(1 + 2 + 3);
      if (dc) expect(tb.cpu.dcache!.invalidated).toBeGreaterThanOrEqual(3);
    }
  });

  it('keeps the cache when a store hits data next to code in the same page', () => {
    const img = pmGuest(`
  mov ecx, 1000
loop:
  add dword [data], 1
  dec ecx
  jnz loop
  mov eax, [data]
  out 0xf4, al
  hlt
data: dd 0
`);
    const tb = run(img, true);
    const r = tb.runUntil({ maxInstructions: 100_000 });
    expect(r.exitCode).toBe(1000 & 0xff);
    expect(tb.cpu.dcache!.invalidated).toBe(0);
    expect(tb.cpu.dcache!.compiled).toBeGreaterThan(3);
  });

  it('runs the same physical code correctly through two linear addresses (paging alias)', () => {
    // A subroutine at physical 0x9000 is called first through its identity address, then,
    // with paging on, through the alias 0x40009000: decoded branches must not carry the first
    // linear address along (Linux runs early code at physical and later at virtual addresses).
    const img = pmGuest(`
  call 0x9000              ; identity: EAX = 1 + 2
  mov ebx, eax
  ; page directory at 0x20000: PDE 0 -> PT 0x21000 (identity 4 MB), PDE 256 -> same PT
  mov edi, 0x21000
  mov eax, 3
  mov ecx, 1024
.pt: stosd
  add eax, 0x1000
  loop .pt
  mov dword [0x20000], 0x21003
  mov dword [0x20000 + 256*4], 0x21003
  mov eax, 0x20000
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  jmp 0x40000000 + hi      ; continue through the alias
hi:
  add esp, 0x40000000
  mov dword [0x40020000], 0 ; drop the identity mapping, as Linux does after boot
  mov eax, cr3
  mov cr3, eax
  mov eax, 0x40009000
  call eax                 ; the alias: same bytes, other linear address
  add eax, ebx
  out 0xf4, al             ; 3 + 3
  hlt
times 0x9000 - 0x7c00 - ($ - $$) db 0
sub:
  mov eax, 1
  jmp .skip
  mov eax, 100
.skip:
  call .two
  ret
.two:
  add eax, 2
  ret
`);
    const tb = run(img, true);
    const r = tb.runUntil({ maxInstructions: 100_000 });
    expect(r.stopReason).toBe('exit-port');
    expect(r.exitCode).toBe(6);
  });

  it('gives the bench guest the same checksum and instruction count with the cache on and off', () => {
    const image = new Uint8Array(readFileSync(resolve(__dirname, '../../guests/bench-cpu/bench.img')));
    const cfg = Buffer.from(image).indexOf('BNCFG!!!');
    expect(cfg).toBeGreaterThan(0);
    new DataView(image.buffer).setUint32(cfg + 8, 3, true); // 3 rounds
    const out: string[] = [], counts: number[] = [];
    for (const dc of [true, false]) {
      const tb = new Testbed({ createCpu: (m, io) => createCpu(m, io, undefined, { decodeCache: dc }) });
      tb.loadBootSector(image);
      const r = tb.runUntil({ maxInstructions: 50_000_000 });
      expect(r.stopReason).toBe('exit-port');
      out.push(r.output); counts.push(r.instructions);
    }
    expect(out[0]).toMatch(/BENCH checksum=[0-9a-f]{8}/);
    expect(out[0]).toBe(out[1]);
    expect(counts[0]).toBe(counts[1]);
  });
});
