// Linux x86 boot protocol loader (Documentation/arch/x86/boot.rst, "THE LINUX/x86 BOOT
// PROTOCOL"): parses the real-mode setup header, places the setup code, the protected-mode
// kernel, the command line and an initrd, fills the header fields a boot loader must write, and
// enters the setup code in real mode as a boot loader does after the BIOS has run POST (the
// setup code itself asks the BIOS for E820, video and the rest).
//
// Setup header fields used (boot.rst, "THE REAL-MODE KERNEL HEADER"; offsets in the image and
// in the real-mode segment alike):
//   0x1F1 setup_sects (1; 0 means 4)   0x1FE boot_flag 0xAA55        0x202 header 'HdrS'
//   0x206 version (2)                   0x210 type_of_loader (1)      0x211 loadflags (1)
//   0x214 code32_start (4)              0x218 ramdisk_image (4)       0x21C ramdisk_size (4)
//   0x224 heap_end_ptr (2)              0x228 cmd_line_ptr (4)        0x22C initrd_addr_max (4, 2.03+)
//   0x230 kernel_alignment (4, 2.05+)   0x234 relocatable_kernel (1, 2.05+)
//   0x238 cmdline_size (4, 2.06+)       0x260 init_size (4, 2.10+)    0x1FA vid_mode (2)
// loadflags: [0] LOADED_HIGH | [5] QUIET_FLAG | [6] KEEP_SEGMENTS | [7] CAN_USE_HEAP
//
// Memory layout ("traditional" layout of boot.rst's "MEMORY LAYOUT", real-mode code at X = 0x90000):
//   X + 0x0000 .. boot sector + setup ((setup_sects + 1) * 512 bytes)
//   .. X + 0xE000  setup heap and stack (heap_end_ptr = 0xE000 - 0x200, SP = 0xE000)
//   X + 0xE000 ..  the command line, below 0xA0000 and below the EBDA
//   0x100000       the protected-mode kernel; the initrd near the top of usable RAM
import type { Cpu } from '../cpu/cpu';
import type { PhysicalMemory } from '../platform/memory';
import { ascii, hex, rd16, rd32, rd8, wr16, wr32, wr8 } from './bytes';
import { enterReal } from './cpu-entry';
import { type E820Entry, usableEnd, usableRegions } from './e820';
import { ImageFormatError } from './errors';

export const LOADED_HIGH = 0x01;
export const CAN_USE_HEAP = 0x80;
export const REAL_MODE_BASE = 0x90000;
export const KERNEL_BASE = 0x100000;
/** Offset of the heap end (and initial SP) in the real-mode segment (boot.rst sample code: 0xE000). */
export const HEAP_END = 0xe000;
/** type_of_loader 0xFF: "undefined" boot loader (boot.rst, type_of_loader). */
export const LOADER_TYPE_UNDEFINED = 0xff;

export interface SetupHeader {
  setupSects: number;
  /** Boot protocol version, e.g. 0x020F for 2.15. */
  version: number;
  loadflags: number;
  code32Start: number;
  initrdAddrMax: number;
  cmdlineSize: number;
  kernelAlignment: number;
  relocatable: boolean;
  /** Bytes of linear memory the kernel needs from its load address (2.10+; 0 when absent). */
  initSize: number;
  /** The kernel version string the header points to, when present. */
  kernelVersion: string;
}

export const protocolText = (v: number): string => `${v >> 8}.${(v & 0xff).toString().padStart(2, '0')}`;

/** True when the image has the boot flag 0xAA55 at 0x1FE and 'HdrS' at 0x202. */
export function hasBzImageSignature(b: Uint8Array): boolean {
  return b.length >= 0x206 && rd16(b, 0x1fe) === 0xaa55 && ascii(b, 0x202, 4) === 'HdrS';
}

/** Parses the setup header of a bzImage; throws ImageFormatError on a truncated header. */
export function parseSetupHeader(b: Uint8Array): SetupHeader {
  if (!hasBzImageSignature(b)) throw new ImageFormatError("not a Linux kernel: no boot flag 0xAA55 at 0x1FE and 'HdrS' at 0x202");
  if (b.length < 0x240) throw new ImageFormatError(`truncated kernel header: the file is ${b.length} bytes, the setup header needs 0x240`);
  const version = rd16(b, 0x206);
  let setupSects = rd8(b, 0x1f1);
  if (setupSects === 0) setupSects = 4;
  const vOff = rd16(b, 0x20e);
  let kernelVersion = '';
  if (vOff !== 0 && vOff + 0x200 < b.length) {
    const s = ascii(b, vOff + 0x200, 128);
    kernelVersion = s.slice(0, s.indexOf('\0') >= 0 ? s.indexOf('\0') : s.length);
  }
  return {
    setupSects,
    version,
    loadflags: rd8(b, 0x211),
    code32Start: rd32(b, 0x214),
    initrdAddrMax: version >= 0x203 ? rd32(b, 0x22c) : 0x37ffffff,
    cmdlineSize: version >= 0x206 ? rd32(b, 0x238) : 255,
    kernelAlignment: version >= 0x205 ? rd32(b, 0x230) : 0,
    relocatable: version >= 0x205 && rd8(b, 0x234) !== 0,
    initSize: version >= 0x20a ? rd32(b, 0x260) : 0,
    kernelVersion,
  };
}

export interface BzImageOptions {
  cmdline?: string;
  initrd?: Uint8Array;
  /** Guest RAM size in bytes. */
  memoryBytes: number;
  /** The firmware's memory map; usable RAM bounds the command line and the initrd. */
  e820: readonly E820Entry[];
}

/** Where everything goes; computed without touching guest memory, applied by `applyBzImage`. */
export interface BzImagePlan {
  header: SetupHeader;
  /** The real-mode part (boot sector + setup), header fields already filled in. */
  setup: Uint8Array;
  setupAddr: number;
  kernel: Uint8Array;
  kernelAddr: number;
  cmdline: Uint8Array;
  cmdlineAddr: number;
  initrd: Uint8Array | null;
  initrdAddr: number;
  heapEndPtr: number;
}

/** Validates a bzImage against the protocol and memory and computes its placement. */
export function planBzImage(image: Uint8Array, opts: BzImageOptions): BzImagePlan {
  const h = parseSetupHeader(image);
  const v = protocolText(h.version);
  if (h.version < 0x202) {
    throw new ImageFormatError(`kernel too old: boot protocol ${v}; vmxlab loads protocol 2.02 or later (kernels from 2.4.0 on)`);
  }
  if ((h.loadflags & LOADED_HIGH) === 0) {
    throw new ImageFormatError(`not a bzImage: loadflags ${hex(h.loadflags, 2)} lack LOADED_HIGH; zImage kernels loaded at 0x10000 are not supported`);
  }
  const setupLen = (h.setupSects + 1) * 512;
  if (image.length <= setupLen) {
    throw new ImageFormatError(`truncated kernel: setup_sects = ${h.setupSects} needs ${setupLen} bytes of setup code and a protected-mode kernel after it, the file is ${image.length} bytes`);
  }
  if (setupLen > HEAP_END - 0x200) throw new ImageFormatError(`setup code of ${setupLen} bytes does not fit below the setup heap at ${hex(HEAP_END)}`);

  // Command line: from X + HEAP_END up to the end of conventional memory (below the EBDA).
  const cmdText = opts.cmdline ?? '';
  if (cmdText.length > h.cmdlineSize) {
    throw new ImageFormatError(`kernel command line is ${cmdText.length} bytes; this kernel accepts at most cmdline_size = ${h.cmdlineSize}`);
  }
  const cmdlineAddr = REAL_MODE_BASE + HEAP_END;
  const lowTop = Math.min(0xa0000, usableEnd(opts.e820, 0));
  if (cmdlineAddr + cmdText.length + 1 > lowTop) {
    throw new ImageFormatError(`the real-mode kernel at ${hex(REAL_MODE_BASE)} and its ${cmdText.length + 1}-byte command line do not fit below ${hex(lowTop)} (end of conventional memory)`);
  }
  const cmdline = new Uint8Array(cmdText.length + 1);
  for (let i = 0; i < cmdText.length; i++) cmdline[i] = cmdText.charCodeAt(i) & 0xff;

  const kernel = image.subarray(setupLen);
  const kernelNeeds = Math.max(kernel.length, h.initSize);
  const kernelEnd = KERNEL_BASE + kernelNeeds;
  if (usableEnd(opts.e820, KERNEL_BASE) < kernelEnd || opts.memoryBytes < kernelEnd) {
    throw new ImageFormatError(`the kernel needs ${kernelNeeds} bytes from ${hex(KERNEL_BASE)} (${kernel.length} bytes of image${h.initSize > kernel.length ? `, init_size ${h.initSize}` : ''}); usable RAM from 1 MB ends at ${hex(usableEnd(opts.e820, KERNEL_BASE))}`);
  }

  // Initrd: as high as possible below min(initrd_addr_max + 1, top of usable RAM), 4 KB aligned,
  // in one usable region and above the kernel's init_size area (boot.rst, initrd_addr_max).
  let initrd: Uint8Array | null = null, initrdAddr = 0;
  if (opts.initrd !== undefined && opts.initrd.length > 0) {
    initrd = opts.initrd;
    const limit = Math.min(h.initrdAddrMax + 1, opts.memoryBytes, 0x100000000);
    const regions = usableRegions(opts.e820).reverse();
    for (const r of regions) {
      const top = Math.min(r.end, limit);
      const at = Math.floor((top - initrd.length) / 4096) * 4096;
      if (at >= Math.max(r.base, alignUp(kernelEnd, 4096))) { initrdAddr = at; break; }
    }
    if (initrdAddr === 0) {
      throw new ImageFormatError(`initrd too large for memory: ${initrd.length} bytes do not fit between the kernel's end (${hex(kernelEnd)}) and ${hex(limit)} (min of initrd_addr_max ${hex(h.initrdAddrMax)} + 1 and usable RAM); give the machine more memory`);
    }
  }

  // Header fields a boot loader writes (boot.rst, "DETAILS OF HEADER FIELDS").
  const setup = image.slice(0, setupLen);
  const heapEndPtr = HEAP_END - 0x200;
  wr16(setup, 0x1fa, 0xffff); // vid_mode: "normal" (obligatory to fill)
  wr8(setup, 0x210, LOADER_TYPE_UNDEFINED); // type_of_loader
  wr8(setup, 0x211, (h.loadflags | CAN_USE_HEAP) & ~0x60); // CAN_USE_HEAP; no QUIET, no KEEP_SEGMENTS
  wr16(setup, 0x224, heapEndPtr); // heap_end_ptr
  wr32(setup, 0x218, initrd === null ? 0 : initrdAddr); // ramdisk_image
  wr32(setup, 0x21c, initrd === null ? 0 : initrd.length); // ramdisk_size
  wr32(setup, 0x228, cmdlineAddr); // cmd_line_ptr
  // code32_start stays as the kernel has it: the kernel is loaded at the standard 0x100000.
  return { header: h, setup, setupAddr: REAL_MODE_BASE, kernel, kernelAddr: KERNEL_BASE, cmdline, cmdlineAddr, initrd, initrdAddr, heapEndPtr };
}

function alignUp(v: number, a: number): number { return Math.ceil(v / a) * a; }

/** Copies the plan into guest memory and sets the boot loader's hand-off state. */
export function applyBzImage(plan: BzImagePlan, cpu: Cpu, mem: PhysicalMemory = cpu.mem): void {
  // Clear the real-mode area first: setup code expects its heap/bss to start out clean.
  mem.load(plan.setupAddr, new Uint8Array(HEAP_END));
  mem.load(plan.setupAddr, plan.setup);
  mem.load(plan.cmdlineAddr, plan.cmdline);
  mem.load(plan.kernelAddr, plan.kernel);
  if (plan.initrd !== null) mem.load(plan.initrdAddr, plan.initrd);
  enterRealModeKernel(cpu, plan.setupAddr >>> 4, HEAP_END);
}

/** boot.rst "RUNNING THE KERNEL": CS = seg + 0x20, IP = 0, DS=ES=FS=GS=SS = seg, SP = heap end, CLI. */
export function enterRealModeKernel(cpu: Cpu, seg: number, sp: number): void {
  enterReal(cpu, { cs: seg + 0x20, ip: 0, ds: seg, ss: seg, sp, flags: 0 });
}
