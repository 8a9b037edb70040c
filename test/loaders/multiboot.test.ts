// Multiboot v1: an ELF32 kernel built with nasm + ld and an a.out-kludge kernel run on a bare
// CPU after `enter`; they check EAX, read the information structure and report on port 0xE9.
import { describe, expect, it } from 'vitest';
import { Seg } from '../../src/core/cpu/regs';
import { defaultE820 } from '../../src/core/loaders/e820';
import { loadImage } from '../../src/core/loaders/index';
import { applyMultiboot, findMultibootHeader, LOADER_AREA, planMultiboot } from '../../src/core/loaders/multiboot';
import { bareMachine, nasm } from './support';

const MEM = 32 << 20;
const e820 = defaultE820(MEM);

// Prints mem_upper in decimal, ' ', the command line, then checks .bss is zero, reloads the
// segment registers from the loader's GDT (the caches must match it) and writes '!' + exit 0.
const KERNEL_BODY = `
start:
  cmp eax, 0x2BADB002
  jne bad
  mov ecx, cr0
  test ecx, 1
  jz bad
  test dword [ebx], 1        ; mem_lower/mem_upper valid
  jz bad
  mov eax, [ebx + 8]         ; mem_upper (KB)
  call print_dec
  mov al, ' '
  out 0xe9, al
  mov esi, [ebx + 16]        ; cmdline
.c: lodsb
  test al, al
  jz .cd
  out 0xe9, al
  jmp .c
.cd:
  cmp dword [bssvar], 0
  jne bad
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov ss, ax
  jmp 0x08:.next
.next:
  mov al, '!'
  out 0xe9, al
  mov al, 0
  out 0xf4, al
  hlt
bad:
  mov al, 'X'
  out 0xe9, al
  mov al, 1
  out 0xf4, al
  hlt
print_dec:
  mov ecx, 10
  xor edi, edi
.l: xor edx, edx
  div ecx
  push edx
  inc edi
  test eax, eax
  jnz .l
.p: pop eax
  add al, '0'
  out 0xe9, al
  dec edi
  jnz .p
  ret
`;

function elfKernel(): Uint8Array {
  return nasm(`bits 32
section .text
align 4
  dd 0x1BADB002, 0x00000003, -(0x1BADB002 + 3)
global start
${KERNEL_BODY}
section .bss
bssvar: resd 1
`, 'elf');
}

function aoutKernel(): Uint8Array {
  return nasm(`bits 32
org 0x200000
hdr:
  dd 0x1BADB002, 0x00010002, -(0x1BADB002 + 0x00010002)
  dd hdr, hdr, load_end, bss_end, start
${KERNEL_BODY}
load_end:
bssvar equ load_end
bss_end equ load_end + 0x2000
`);
}

describe('Multiboot header', () => {
  it('finds the header with a valid checksum and rejects a bad checksum', () => {
    const k = elfKernel();
    const h = findMultibootHeader(k);
    expect(h).not.toBeNull();
    expect(h!.flags).toBe(3);
    expect(h!.offset % 4).toBe(0);
    const bad = k.slice();
    bad[h!.offset + 8] ^= 1;
    expect(findMultibootHeader(bad)).toBeNull();
    expect(() => planMultiboot(bad, { memoryBytes: MEM, e820 })).toThrow(/no Multiboot header/);
  });

  it('refuses required flag bits it does not implement', () => {
    const img = nasm(`bits 32
dd 0x1BADB002, 0x00000010, -(0x1BADB002 + 0x10)
`);
    expect(() => planMultiboot(img, { memoryBytes: MEM, e820 })).toThrow(/required bits 0x10 unknown/);
  });
});

describe('Multiboot entry', () => {
  it('runs an ELF kernel: EAX magic, mem_upper, cmdline, zeroed .bss, consistent GDT', () => {
    const r = loadImage(elfKernel(), { name: 'kernel.elf', cmdline: 'hello mb', memoryBytes: MEM });
    expect(r.kind).toBe('kernel');
    if (r.kind !== 'kernel') return;
    expect(r.detected.kind).toBe('multiboot');
    const m = bareMachine(MEM);
    m.mem.u8.fill(0xcc, 0x100000, 0x110000); // .bss must be cleared by the loader
    r.enter(m.cpu);
    const c = m.cpu;
    expect(c.r32[0] >>> 0).toBe(0x2badb002);
    expect(c.cr0 & 0x80000001).toBe(1);
    expect(c.getFlags() & 0x200).toBe(0);
    expect(c.code32).toBe(true);
    expect([c.segSel[Seg.CS], c.segSel[Seg.DS], c.segSel[Seg.SS]]).toEqual([0x08, 0x10, 0x10]);
    m.run(100_000);
    expect(m.out()).toBe(`${(MEM - 0x100000) / 1024} hello mb!`);
    expect(m.exitCode()).toBe(0);
  });

  it('runs an a.out-kludge kernel loaded at load_addr with bss_end_addr zeroed', () => {
    const img = aoutKernel();
    const plan = planMultiboot(img, { cmdline: 'aout', memoryBytes: MEM, e820 });
    expect(plan.method).toBe('a.out kludge');
    expect(plan.segments[0].addr).toBe(0x200000);
    const m = bareMachine(MEM);
    m.mem.u8.fill(0xcc, 0x200000, 0x210000);
    applyMultiboot(plan, m.cpu);
    m.run(100_000);
    expect(m.out()).toBe(`${(MEM - 0x100000) / 1024} aout!`);
  });

  it('fills the information structure: memory, mmap, module, loader name', () => {
    const module = new Uint8Array(5000).fill(0x5a);
    const plan = planMultiboot(elfKernel(), { cmdline: 'x', module, moduleName: 'initrd.img', memoryBytes: MEM, e820 });
    const m = bareMachine(MEM);
    applyMultiboot(plan, m.cpu);
    const rd = (a: number): number => m.mem.read32(a) >>> 0;
    const str = (a: number): string => { let s = ''; while (m.mem.u8[a] !== 0) s += String.fromCharCode(m.mem.u8[a++]); return s; };
    const mbi = m.cpu.r32[3] >>> 0;
    expect(mbi).toBeGreaterThanOrEqual(LOADER_AREA);
    const flags = rd(mbi);
    expect(flags & 0x24d).toBe(0x24d); // mem, cmdline, mods, mmap, boot_loader_name
    expect(rd(mbi + 4)).toBe(639);
    expect(rd(mbi + 8)).toBe(31744);
    expect(str(rd(mbi + 64))).toBe('vmxlab');
    expect(rd(mbi + 20)).toBe(1);
    const mod = rd(mbi + 24);
    const start = rd(mod), end = rd(mod + 4);
    expect(start % 4096).toBe(0);
    expect(end - start).toBe(5000);
    expect(m.mem.u8[start]).toBe(0x5a);
    expect(str(rd(mod + 8))).toBe('initrd.img');
    const mmapLen = rd(mbi + 44), mmap = rd(mbi + 48);
    expect(mmapLen).toBe(e820.length * 24);
    const entries = [];
    for (let p = mmap; p < mmap + mmapLen; p += rd(p) + 4) entries.push([rd(p + 4), rd(p + 12), rd(p + 20)]);
    expect(entries).toEqual(e820.map((e) => [e.base, e.length, e.type]));
    // GDT at GDTR matches the descriptor caches.
    expect(m.cpu.gdtrBase).toBe(LOADER_AREA);
    expect(rd(LOADER_AREA + 8)).toBe(0x0000ffff);
    expect(rd(LOADER_AREA + 12)).toBe(0x00cf9b00);
  });

  it('reports a truncated ELF and a module too large for memory', () => {
    const k = elfKernel();
    expect(() => planMultiboot(k.subarray(0, 0x1010), { memoryBytes: MEM, e820 })).toThrow(/truncated ELF kernel/);
    expect(() => planMultiboot(k, { module: new Uint8Array(31 << 20), memoryBytes: MEM, e820 })).toThrow(/module of \d+ bytes does not fit/);
  });
});
