// Fixed addresses of vmxlab's BIOS: the service port, the ROM segment, the BIOS data area
// (BDA) fields and the EBDA. BDA offsets follow the IBM PC AT Technical Reference and the
// OSDev wiki "BIOS Data Area" / Ralf Brown's Interrupt List MEMORY.LST.

/** The 'vmxlab firmware service' port: the ROM stubs do `out 0xE0, al` to trap into TypeScript.
 *  0xE0 is unused on a PC/AT (not PIC, PIT, 8042, CMOS, DMA page, POST, A20 gate, FPU or 0xE9). */
export const SERVICE_PORT = 0xe0;
export const SERVICE_PORT_NAME = 'vmxlab BIOS service';
/** The IoBus name of the firmware service port (for the exit profiler). */
export function biosServicePortName(): string { return SERVICE_PORT_NAME; }

export const ROM_BASE = 0xf0000;
export const ROM_SIZE = 0x10000;
export const ROM_SEG = 0xf000;

/** EBDA: 1 KB at 9FC0:0 (below the 640 KB line). */
export const EBDA_SEG = 0x9fc0;
export const EBDA_BASE = 0x9fc00;
export const BASE_MEM_KB = 639;

/** Where the boot sector goes and the boot-time stack top. */
export const BOOT_ADDR = 0x7c00;

/** BDA fields (absolute addresses). */
export const BDA = {
  COM1: 0x400, COM2: 0x402, LPT1: 0x408, EBDA_SEG: 0x40e,
  EQUIPMENT: 0x410, MEM_KB: 0x413,
  KBD_FLAGS0: 0x417, KBD_FLAGS1: 0x418, KBD_HEAD: 0x41a, KBD_TAIL: 0x41c,
  FLOPPY_STATUS: 0x441,
  VIDEO_MODE: 0x449, VIDEO_COLS: 0x44a, VIDEO_PAGE_SIZE: 0x44c, VIDEO_PAGE_START: 0x44e,
  CURSOR_POS: 0x450, CURSOR_SHAPE: 0x460, ACTIVE_PAGE: 0x462, CRTC_BASE: 0x463,
  VIDEO_MODE_CTL: 0x465, VIDEO_PALETTE: 0x466, SHUTDOWN_VECTOR: 0x467,
  TICKS: 0x46c, MIDNIGHT: 0x470, RESET_FLAG: 0x472,
  HD_STATUS: 0x474, HD_COUNT: 0x475,
  KBD_START: 0x480, KBD_END: 0x482, VIDEO_ROWS: 0x484, CHAR_HEIGHT: 0x485,
  VIDEO_CTL: 0x487, VIDEO_SWITCHES: 0x488, VGA_FLAGS: 0x489, DCC_INDEX: 0x48a,
  KBD_FLAGS3: 0x496,
} as const;

/** Ticks per day of the 18.2 Hz timer (1,573,040 = 0x1800B0). */
export const TICKS_PER_DAY = 0x1800b0;

/** Physical address of a real-mode seg:off pair. */
export function realAddr(seg: number, off: number): number { return ((seg & 0xffff) << 4) + (off & 0xffff); }
