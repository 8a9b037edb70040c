// CPU hand-off states of the loaders: real mode with chosen segments (Linux setup code, DOS
// .COM programs) and flat 32-bit protected mode with a GDT of our own (Multiboot). Descriptor
// caches are set to exactly what loading the selectors would produce, so a guest that reloads
// a segment register from the GDT sees no change.
import type { Cpu } from '../cpu/cpu';
import { Cr0, Seg } from '../cpu/regs';
import type { PhysicalMemory } from '../platform/memory';
import { wr32 } from './bytes';

const DATA_SEGS = [Seg.DS, Seg.ES, Seg.FS, Seg.GS, Seg.SS] as const;

function leaveProtectedMode(cpu: Cpu): void {
  cpu.cr0 &= ~(Cr0.PE | Cr0.PG);
  cpu.tlb.flushAll();
  cpu.modeChanged();
}

/** Real mode: CS:IP = cs:ip, the other segment registers = ds, SS:SP = ss:sp, EFLAGS = flags. */
export function enterReal(cpu: Cpu, s: { cs: number; ip: number; ds: number; ss: number; sp: number; flags: number }): void {
  leaveProtectedMode(cpu);
  for (const seg of DATA_SEGS) cpu.setSegReal(seg, s.ds, 0xffff, 0x93);
  cpu.setSegReal(Seg.SS, s.ss, 0xffff, 0x93);
  cpu.setSegReal(Seg.CS, s.cs, 0xffff, 0x9b);
  cpu.eip = s.ip;
  cpu.r32[4] = s.sp;
  cpu.setFlags(s.flags | 2, ~0);
  cpu.inhibitUntil = -1;
  cpu.halted = false;
}

/** GDT built by `writeFlatGdt`: null, then flat code at 0x08 and flat data at 0x10. */
export const FLAT_CODE_SEL = 0x08;
export const FLAT_DATA_SEL = 0x10;
export const FLAT_GDT_BYTES = 24;

// Descriptor layout (SDM Vol. 3A §3.4.5): [15:0] limit 15:0 | [39:16] base 23:0 | [47:40] access
// | [51:48] limit 19:16 | [55:52] G D/B L AVL | [63:56] base 31:24.
// 0x00CF9B000000FFFF: base 0, limit 0xFFFFF pages, present ring-0 code execute/read (accessed), 32-bit.
// 0x00CF93000000FFFF: the same as read/write data (accessed): the caches below match them exactly.
/** Writes a three-entry GDT at `addr`. */
export function writeFlatGdt(mem: PhysicalMemory, addr: number): void {
  const g = new Uint8Array(FLAT_GDT_BYTES);
  wr32(g, 8, 0x0000ffff); wr32(g, 12, 0x00cf9b00);
  wr32(g, 16, 0x0000ffff); wr32(g, 20, 0x00cf9300);
  mem.load(addr, g);
}

/**
 * Flat 32-bit protected mode, paging off, A20 on, IF = 0, with GDTR = the table at `gdt` and
 * the descriptor caches as loaded from it (accessed bit set, as the CPU would after a load).
 */
export function enterFlat32(cpu: Cpu, gdt: number, eip: number): void {
  cpu.mem.a20Mask = 0xffffffff | 0;
  cpu.gdtrBase = gdt;
  cpu.gdtrLimit = FLAT_GDT_BYTES - 1;
  cpu.cr0 = (cpu.cr0 | Cr0.PE) & ~Cr0.PG;
  cpu.tlb.flushAll();
  cpu.setFlags(0x0002, ~0); // IF = 0, VM = 0
  cpu.setCpl(0);
  const code = 0x9b | 0x4000 | 0x8000; // P, DPL 0, S, code execute/read accessed; D = 1, G = 1
  const data = 0x93 | 0x4000 | 0x8000; // P, DPL 0, S, data read/write accessed; B = 1, G = 1
  for (const seg of DATA_SEGS) setCache(cpu, seg, FLAT_DATA_SEL, data);
  setCache(cpu, Seg.CS, FLAT_CODE_SEL, code);
  cpu.modeChanged();
  cpu.eip = eip >>> 0;
  cpu.inhibitUntil = -1;
  cpu.halted = false;
}

function setCache(cpu: Cpu, seg: number, sel: number, attr: number): void {
  cpu.segSel[seg] = sel;
  cpu.segBase[seg] = 0;
  cpu.segLimit[seg] = 0xffffffff;
  cpu.segAttr[seg] = attr;
  cpu.updateSegLimits(seg);
}
