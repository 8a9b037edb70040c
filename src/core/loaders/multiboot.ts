// Multiboot (version 0.6.96, the GNU "Multiboot Specification" for version 1 kernels) loader:
// finds the header, loads an ELF32 kernel's PT_LOAD segments at their physical addresses (or the
// image by the a.out kludge address fields), places an optional module (an initrd), builds the
// Multiboot information structure and enters the kernel in flat 32-bit protected mode as the
// specification's "Machine state" section requires.
//
// Header (spec §3.1.1), 4-byte aligned within the first 8192 bytes:
//   +0 magic 0x1BADB002 | +4 flags | +8 checksum (magic + flags + checksum = 0 mod 2^32)
//   +12 header_addr | +16 load_addr | +20 load_end_addr | +24 bss_end_addr | +28 entry_addr (flags[16])
//   +32 mode_type | +36 width | +40 height | +44 depth (flags[2])
// flags: [0] page-align modules | [1] memory info required | [2] video mode table required
//        | [16] the address fields are valid (a.out kludge) ; bits 0-15 are "required": an
//        unknown one there must make the boot loader refuse the image (§3.1.2).
// Information structure (spec §3.3), offsets: 0 flags | 4 mem_lower | 8 mem_upper | 12 boot_device
//   | 16 cmdline | 20 mods_count | 24 mods_addr | 28..43 syms | 44 mmap_length | 48 mmap_addr
//   | 52 drives_length | 56 drives_addr | 60 config_table | 64 boot_loader_name | 68 apm_table
//   | 72..87 VBE | 88 framebuffer_addr (8) | 96 pitch | 100 width | 104 height | 108 bpp | 109 type
//   | 110 color_info (6). Info flags used: [0] mem_* | [2] cmdline | [3] mods | [6] mmap
//   | [9] boot_loader_name | [12] framebuffer (EGA text: type 2).
// mmap entries (§3.3): +0 size (20, not counting itself) | +4 base_addr (8) | +12 length (8) | +20 type.
// Module entries: +0 mod_start | +4 mod_end | +8 string | +12 reserved (0).
import type { Cpu } from '../cpu/cpu';
import type { PhysicalMemory } from '../platform/memory';
import { ascii, cstring, hex, rd16, rd32, wr32, wr64, wr8 } from './bytes';
import { enterFlat32, writeFlatGdt } from './cpu-entry';
import { type E820Entry, usableEnd } from './e820';
import { ImageFormatError } from './errors';

export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
/** EAX at entry (spec §3.2). */
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
export const MULTIBOOT_SEARCH = 8192;
const SUPPORTED_REQUIRED = 0x7; // flags bits 0, 1, 2
const AOUT_KLUDGE = 1 << 16;

/**
 * The loader's own low-memory area: GDT, information structure, memory map, module list and
 * strings, from LOADER_AREA up to LOADER_AREA_END. The initial ESP (undefined by the spec) is
 * LOADER_AREA, growing down into free conventional memory.
 */
export const LOADER_AREA = 0x8000;
export const LOADER_AREA_END = 0x10000;
const MBI_OFF = 0x20, MBI_SIZE = 116, MMAP_OFF = MBI_OFF + MBI_SIZE;

export interface MultibootHeader {
  /** File offset of the magic. */
  offset: number;
  flags: number;
  headerAddr: number; loadAddr: number; loadEndAddr: number; bssEndAddr: number; entryAddr: number;
}

/** The first valid header (magic and checksum) in the first 8192 bytes, or null. */
export function findMultibootHeader(b: Uint8Array): MultibootHeader | null {
  const end = Math.min(b.length, MULTIBOOT_SEARCH) - 12;
  for (let off = 0; off <= end; off += 4) {
    if (rd32(b, off) !== MULTIBOOT_HEADER_MAGIC) continue;
    const flags = rd32(b, off + 4);
    if (((MULTIBOOT_HEADER_MAGIC + flags + rd32(b, off + 8)) >>> 0) !== 0) continue;
    return {
      offset: off, flags,
      headerAddr: rd32(b, off + 12), loadAddr: rd32(b, off + 16), loadEndAddr: rd32(b, off + 20),
      bssEndAddr: rd32(b, off + 24), entryAddr: rd32(b, off + 28),
    };
  }
  return null;
}

export interface LoadSegment {
  addr: number;
  data: Uint8Array;
  /** Bytes in memory; the part beyond `data` is zeroed (.bss). */
  memSize: number;
}

export interface MultibootOptions {
  cmdline?: string;
  /** One module, e.g. an initrd. */
  module?: Uint8Array;
  /** The module's string in the module list (default 'initrd'). */
  moduleName?: string;
  memoryBytes: number;
  e820: readonly E820Entry[];
}

export interface MultibootPlan {
  header: MultibootHeader;
  /** 'elf' or 'a.out kludge'. */
  method: string;
  segments: LoadSegment[];
  entry: number;
  moduleAddr: number;
  module: Uint8Array | null;
  /** Contents of [LOADER_AREA, LOADER_AREA + area.length). */
  area: Uint8Array;
  infoAddr: number;
  gdtAddr: number;
  /** Fields written, for tests and the CLI's description. */
  memLower: number;
  memUpper: number;
}

function elfSegments(b: Uint8Array): { segments: LoadSegment[]; entry: number } {
  if (b.length < 52) throw new ImageFormatError(`truncated ELF header: the file is ${b.length} bytes, an ELF32 header is 52`);
  if (b[4] !== 1) throw new ImageFormatError(`ELF class ${b[4]}: a Multiboot v1 kernel must be ELF32 (class 1) or use the a.out kludge (header flags bit 16)`);
  if (b[5] !== 1) throw new ImageFormatError('ELF data encoding is not little-endian');
  if (rd16(b, 18) !== 3) throw new ImageFormatError(`ELF machine ${rd16(b, 18)} is not EM_386 (3)`);
  const entry = rd32(b, 24), phoff = rd32(b, 28), phentsize = rd16(b, 42), phnum = rd16(b, 44);
  if (phnum === 0 || phentsize < 32) throw new ImageFormatError('ELF kernel has no program headers');
  if (phoff + phnum * phentsize > b.length) throw new ImageFormatError(`truncated ELF kernel: program headers end at ${hex(phoff + phnum * phentsize)}, the file is ${b.length} bytes`);
  const segments: LoadSegment[] = [];
  let physEntry = entry;
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    if (rd32(b, p) !== 1) continue; // PT_LOAD
    const offset = rd32(b, p + 4), vaddr = rd32(b, p + 8), paddr = rd32(b, p + 12);
    const filesz = rd32(b, p + 16), memsz = rd32(b, p + 20);
    if (memsz === 0) continue;
    if (offset + filesz > b.length) throw new ImageFormatError(`truncated ELF kernel: segment ${i} needs file bytes up to ${hex(offset + filesz)}, the file is ${b.length} bytes`);
    segments.push({ addr: paddr, data: b.subarray(offset, offset + filesz), memSize: Math.max(memsz, filesz) });
    // A higher-half kernel links at virtual addresses but loads at physical ones: enter at the
    // physical address of the entry point (paging is off at entry).
    if (entry >= vaddr && entry < vaddr + memsz) physEntry = (entry - vaddr + paddr) >>> 0;
  }
  if (segments.length === 0) throw new ImageFormatError('ELF kernel has no loadable (PT_LOAD) segment');
  return { segments, entry: physEntry };
}

function aoutSegments(b: Uint8Array, h: MultibootHeader): { segments: LoadSegment[]; entry: number } {
  if (h.loadAddr > h.headerAddr) throw new ImageFormatError(`Multiboot a.out kludge: load_addr ${hex(h.loadAddr)} is above header_addr ${hex(h.headerAddr)}`);
  const fileStart = h.offset - (h.headerAddr - h.loadAddr);
  if (fileStart < 0) throw new ImageFormatError(`Multiboot a.out kludge: header_addr - load_addr = ${hex(h.headerAddr - h.loadAddr)} points before the start of the file`);
  const loadEnd = h.loadEndAddr === 0 ? h.loadAddr + (b.length - fileStart) : h.loadEndAddr;
  if (loadEnd < h.loadAddr) throw new ImageFormatError(`Multiboot a.out kludge: load_end_addr ${hex(h.loadEndAddr)} is below load_addr`);
  const size = loadEnd - h.loadAddr;
  if (fileStart + size > b.length) throw new ImageFormatError(`truncated kernel: the a.out kludge loads ${size} bytes from file offset ${hex(fileStart)}, the file is ${b.length} bytes`);
  const bssEnd = h.bssEndAddr === 0 ? loadEnd : Math.max(h.bssEndAddr, loadEnd);
  return { segments: [{ addr: h.loadAddr, data: b.subarray(fileStart, fileStart + size), memSize: bssEnd - h.loadAddr }], entry: h.entryAddr };
}

/** Validates a Multiboot kernel and computes where everything goes. */
export function planMultiboot(image: Uint8Array, opts: MultibootOptions): MultibootPlan {
  const header = findMultibootHeader(image);
  if (header === null) throw new ImageFormatError(`no Multiboot header: magic ${hex(MULTIBOOT_HEADER_MAGIC)} with a valid checksum not found at a 4-byte aligned offset in the first ${MULTIBOOT_SEARCH} bytes`);
  const unknown = header.flags & 0xffff & ~SUPPORTED_REQUIRED;
  if (unknown !== 0) throw new ImageFormatError(`Multiboot header requires features vmxlab does not provide: flags ${hex(header.flags, 8)} (required bits ${hex(unknown)} unknown)`);
  const isElf = ascii(image, 0, 4) === '\x7fELF';
  let method: string, r: { segments: LoadSegment[]; entry: number };
  if ((header.flags & AOUT_KLUDGE) !== 0) { method = 'a.out kludge'; r = aoutSegments(image, header); }
  else if (isElf) { method = 'ELF'; r = elfSegments(image); }
  else throw new ImageFormatError('Multiboot kernel is neither ELF nor sets the a.out kludge (header flags bit 16) to give load addresses');

  const ramTop = Math.min(opts.memoryBytes, usableEnd(opts.e820, 0x100000));
  let kernelEnd = 0;
  for (const s of r.segments) {
    const end = s.addr + s.memSize;
    if (end > opts.memoryBytes) throw new ImageFormatError(`kernel segment at ${hex(s.addr)} (${s.memSize} bytes) does not fit in ${opts.memoryBytes >> 20} MB of RAM`);
    if (s.addr < LOADER_AREA_END && end > LOADER_AREA) throw new ImageFormatError(`kernel segment ${hex(s.addr)}-${hex(end)} overlaps the loader's area ${hex(LOADER_AREA)}-${hex(LOADER_AREA_END)}`);
    kernelEnd = Math.max(kernelEnd, end);
  }

  let module: Uint8Array | null = null, moduleAddr = 0;
  if (opts.module !== undefined) {
    module = opts.module;
    moduleAddr = Math.ceil(Math.max(kernelEnd, 0x100000) / 4096) * 4096;
    if (moduleAddr + module.length > ramTop) throw new ImageFormatError(`module of ${module.length} bytes does not fit in memory after the kernel (from ${hex(moduleAddr)} to ${hex(ramTop)}); give the machine more memory`);
  }

  // The loader area: GDT, info structure, mmap, module list, strings.
  const memLower = Math.floor(Math.min(usableEnd(opts.e820, 0), 0xa0000) / 1024);
  const upperEnd = usableEnd(opts.e820, 0x100000);
  const memUpper = Math.floor(Math.max(0, upperEnd - 0x100000) / 1024);
  const parts: Uint8Array[] = [];
  let cursor = MMAP_OFF;
  const place = (bytes: Uint8Array, align = 4): number => {
    cursor = Math.ceil(cursor / align) * align;
    const at = cursor;
    parts.push(bytes); placed.push(at);
    cursor += bytes.length;
    return LOADER_AREA + at;
  };
  const placed: number[] = [];
  const mmap = new Uint8Array(opts.e820.length * 24);
  opts.e820.forEach((e, i) => { wr32(mmap, i * 24, 20); wr64(mmap, i * 24 + 4, e.base); wr64(mmap, i * 24 + 12, e.length); wr32(mmap, i * 24 + 20, e.type); });
  const mmapAddr = place(mmap);
  const cmdlineAddr = place(cstring(opts.cmdline ?? ''), 1);
  const nameAddr = place(cstring('vmxlab'), 1);
  let modsAddr = 0;
  if (module !== null) {
    const strAddr = place(cstring(opts.moduleName ?? 'initrd'), 1);
    const mods = new Uint8Array(16);
    wr32(mods, 0, moduleAddr); wr32(mods, 4, moduleAddr + module.length); wr32(mods, 8, strAddr);
    modsAddr = place(mods);
  }
  if (cursor > LOADER_AREA_END - LOADER_AREA) throw new ImageFormatError(`Multiboot information (${cursor} bytes with the command line and memory map) does not fit in the loader area of ${LOADER_AREA_END - LOADER_AREA} bytes`);
  const area = new Uint8Array(cursor);
  parts.forEach((p, i) => area.set(p, placed[i]));
  const mbi = MBI_OFF;
  let flags = (1 << 0) | (1 << 2) | (1 << 6) | (1 << 9) | (1 << 12);
  wr32(area, mbi + 4, memLower);
  wr32(area, mbi + 8, memUpper);
  wr32(area, mbi + 16, cmdlineAddr);
  if (module !== null) { flags |= 1 << 3; wr32(area, mbi + 20, 1); wr32(area, mbi + 24, modsAddr); }
  wr32(area, mbi + 44, mmap.length);
  wr32(area, mbi + 48, mmapAddr);
  wr32(area, mbi + 64, nameAddr);
  // Framebuffer: the BIOS left the VGA in 80x25 text mode (type 2 = EGA text; bpp 16, pitch 160).
  wr64(area, mbi + 88, 0xb8000); wr32(area, mbi + 96, 160); wr32(area, mbi + 100, 80); wr32(area, mbi + 104, 25);
  wr8(area, mbi + 108, 16); wr8(area, mbi + 109, 2);
  wr32(area, mbi + 0, flags);
  return {
    header, method, segments: r.segments, entry: r.entry, module, moduleAddr, area,
    infoAddr: LOADER_AREA + MBI_OFF, gdtAddr: LOADER_AREA, memLower, memUpper,
  };
}

/** Loads the plan into guest memory and enters the kernel (spec §3.2 "Machine state"). */
export function applyMultiboot(plan: MultibootPlan, cpu: Cpu, mem: PhysicalMemory = cpu.mem): void {
  for (const s of plan.segments) {
    mem.load(s.addr, s.data);
    if (s.memSize > s.data.length) mem.load(s.addr + s.data.length, new Uint8Array(s.memSize - s.data.length));
  }
  if (plan.module !== null) mem.load(plan.moduleAddr, plan.module);
  mem.load(LOADER_AREA, plan.area);
  writeFlatGdt(mem, plan.gdtAddr);
  enterFlat32(cpu, plan.gdtAddr, plan.entry);
  cpu.r32.fill(0, 0, 8);
  cpu.r32[0] = MULTIBOOT_BOOTLOADER_MAGIC | 0; // EAX
  cpu.r32[3] = plan.infoAddr; // EBX
  cpu.r32[4] = LOADER_AREA; // ESP: undefined by the spec; free conventional memory below the area
}
