// Shared helpers for the loader tests: nasm/ld builds in a temp dir and a bare machine (CPU,
// RAM, port bus) with a capture device on 0xE9 and an exit device on 0xF4.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCpu } from '../../src/core/cpu/index';
import type { Cpu } from '../../src/core/cpu/cpu';
import { IoBus, type PortDevice } from '../../src/core/platform/io-bus';
import { PhysicalMemory } from '../../src/core/platform/memory';

/** Assembles `src` with nasm (`-f bin` unless `elf` links it with ld at -Ttext=0x100000). */
export function nasm(src: string, mode: 'bin' | 'elf' = 'bin'): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'vmxlab-loaders-'));
  try {
    writeFileSync(join(dir, 'a.asm'), src);
    if (mode === 'bin') {
      execFileSync('nasm', ['-f', 'bin', '-o', join(dir, 'a.bin'), join(dir, 'a.asm')]);
      return new Uint8Array(readFileSync(join(dir, 'a.bin')));
    }
    execFileSync('nasm', ['-f', 'elf32', '-o', join(dir, 'a.o'), join(dir, 'a.asm')]);
    execFileSync('ld', ['-m', 'elf_i386', '-Ttext=0x100000', '-e', 'start', '-o', join(dir, 'a.elf'), join(dir, 'a.o')]);
    return new Uint8Array(readFileSync(join(dir, 'a.elf')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Bare {
  cpu: Cpu;
  mem: PhysicalMemory;
  io: IoBus;
  out: () => string;
  exitCode: () => number | null;
  /** Runs until the exit port is written, HLT, or `max` instructions. */
  run: (max?: number) => void;
}

export function bareMachine(memoryBytes = 32 << 20, extra?: (io: IoBus) => void): Bare {
  const mem = new PhysicalMemory(memoryBytes);
  const io = new IoBus();
  const cpu = createCpu(mem, io);
  let text = '';
  let exit: number | null = null;
  const capture: PortDevice = { ioRead: () => 0xe9, ioWrite: (_o, _s, v) => { text += String.fromCharCode(v & 0xff); } };
  const exitDev: PortDevice = {
    ioRead: () => 0,
    ioWrite: (_o, _s, v) => { exit = v; cpu.stopRequested = true; cpu.eventPending = true; },
  };
  io.register(0xe9, 1, 'test capture 0xE9', capture);
  io.register(0xf4, 4, 'test exit port', exitDev);
  extra?.(io);
  return {
    cpu, mem, io,
    out: () => text,
    exitCode: () => exit,
    run: (max = 1_000_000) => {
      const end = cpu.icount + max;
      while (cpu.icount < end && exit === null && !cpu.halted && !cpu.shutdown) cpu.run(Math.min(10_000, end - cpu.icount));
      cpu.stopRequested = false;
    },
  };
}

/** A bzImage with protocol `version`, 4 setup sectors and a 100000-byte "kernel". */
export function syntheticBzImage(version = 0x20f, loadflags = 1): Uint8Array {
  return nasm(`bits 16
org 0
times 0x1f1 db 0
db 4                      ; setup_sects
dw 0                      ; root_flags
dd 0                      ; syssize
dw 0, 0, 0                ; ram_size, vid_mode, root_dev
dw 0xAA55                 ; boot_flag
jmp short start           ; 0x200
db 'HdrS'
dw ${version}
dd 0                      ; realmode_swtch
dw 0x1000                 ; start_sys_seg
dw kver - 0x200           ; kernel_version
type_of_loader: db 0
loadflags: db ${loadflags}
dw 0x8000                 ; setup_move_size
dd 0x100000               ; code32_start
dd 0, 0, 0                ; ramdisk_image, ramdisk_size, bootsect_kludge
dw 0                      ; heap_end_ptr
db 0, 0                   ; ext_loader_ver, ext_loader_type
cmd_line_ptr: dd 0
dd 0x7fffffff             ; initrd_addr_max
dd 0x200000               ; kernel_alignment
db 1, 21                  ; relocatable_kernel, min_alignment
dw 0                      ; xloadflags
dd 255                    ; cmdline_size
times 0x260-($-$$) db 0
dd 0x300000               ; init_size
start:                    ; CS = 9020h, DS = 9000h: data offsets are file offsets
  mov al, [type_of_loader]
  out 0xe9, al
  mov si, [cmd_line_ptr]  ; linear 0x9E000 = 9000:E000
.l: lodsb
  test al, al
  jz .d
  out 0xe9, al
  jmp .l
.d: mov al, 7
  out 0xf4, al
  hlt
kver: db '6.1.0-vmxlab (test@example) #1', 0
times 2560-($-$$) db 0
db 'KERNEL'
times 100000-6 db 0x90
`);
}

/** A small ISO 9660 image: /README.TXT and /BOOT/KERNEL.BIN, PVD at sector 16, terminator at 17. */
export function syntheticIso(readme: string, kernel: Uint8Array): Uint8Array {
  const S = 2048;
  const img = new Uint8Array(S * 22);
  const w16 = (o: number, v: number): void => { img[o] = v & 0xff; img[o + 1] = v >>> 8; };
  const w32 = (o: number, v: number): void => { w16(o, v & 0xffff); w16(o + 2, v >>> 16); };
  const both32 = (o: number, v: number): void => { w32(o, v); img[o + 4] = v >>> 24; img[o + 5] = (v >>> 16) & 0xff; img[o + 6] = (v >>> 8) & 0xff; img[o + 7] = v & 0xff; };
  const text = (o: number, s: string): void => { for (let i = 0; i < s.length; i++) img[o + i] = s.charCodeAt(i); };
  const rec = (o: number, name: string | number, lba: number, size: number, dir: boolean): number => {
    const nameLen = typeof name === 'number' ? 1 : name.length;
    const len = 33 + nameLen + ((33 + nameLen) % 2);
    img[o] = len; both32(o + 2, lba); both32(o + 10, size); img[o + 25] = dir ? 2 : 0; img[o + 32] = nameLen;
    if (typeof name === 'number') img[o + 33] = name; else text(o + 33, name);
    return o + len;
  };
  const pvd = 16 * S;
  img[pvd] = 1; text(pvd + 1, 'CD001'); img[pvd + 6] = 1;
  text(pvd + 40, 'VMXLAB_TEST'.padEnd(32, ' '));
  both32(pvd + 80, 22); w16(pvd + 128, S);
  rec(pvd + 156, 0, 18, S, true);
  img[17 * S] = 255; text(17 * S + 1, 'CD001'); img[17 * S + 6] = 1;
  let o = 18 * S;
  o = rec(o, 0, 18, S, true); o = rec(o, 1, 18, S, true);
  o = rec(o, 'BOOT', 19, S, true); rec(o, 'README.TXT;1', 20, readme.length, false);
  o = 19 * S;
  o = rec(o, 0, 19, S, true); o = rec(o, 1, 18, S, true); rec(o, 'KERNEL.BIN;1', 21, kernel.length, false);
  text(20 * S, readme);
  img.set(kernel.subarray(0, S), 21 * S);
  return img;
}
