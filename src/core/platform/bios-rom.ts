// A firmware image from outside (SeaBIOS, for one) in place of vmxlab's BIOS. Mapped as on an
// i440FX PC (and as QEMU's "pc" machine does): the whole ROM ends at 4 GB, so the reset vector
// at FFFFFFF0h (CS base FFFF0000h after RESET, SDM Vol. 3A §9.1.4) fetches its last 16 bytes,
// and its last 128 KB (all of it if smaller) also answer just below 1 MB, in 0xE0000-0xFFFFF,
// where the i440FX PAM registers (devices/i440fx-pam.ts) switch between ROM and shadow RAM.
// The core never reads files: the caller hands the ROM bytes in.
//
// Such a BIOS configures itself the way it would on QEMU's "pc" machine without fw_cfg: RAM
// size, floppy types and boot order from CMOS, devices by PCI enumeration. Its debug output
// goes to port 0x402 (QEMU's debugcon, which reads back 0xE9 so the BIOS knows it is there).
import type { MmioDevice, PhysicalMemory } from './memory';
import type { IoBus } from './io-bus';
import type { PciBus } from './devices/pci';
import type { Cmos } from './devices/cmos';
import { DebugConsolePort } from './devices/debug-ports';
import { PamShadow, PAM0 } from './devices/i440fx-pam';

export const ROM_MIN = 0x10000;
export const ROM_MAX = 0x1000000;
/** At most this much of the ROM is visible below 1 MB (0xE0000-0xFFFFF). */
export const ISA_BIOS_MAX = 0x20000;

/** Checks a firmware image; throws an Error saying what is wrong with it. */
export function validateBiosRom(rom: Uint8Array): void {
  const n = rom.length;
  if (n === 0) throw new Error('BIOS ROM is empty');
  if (n % ROM_MIN !== 0) throw new Error(`BIOS ROM size ${n} bytes is not a multiple of 64 KB`);
  if (n > ROM_MAX) throw new Error(`BIOS ROM is ${n} bytes; at most ${ROM_MAX >> 20} MB fits below 4 GB`);
  // The reset vector (last 16 bytes) must hold something: all-zero or all-ones there is an
  // erased or truncated image, and the CPU would run off into garbage.
  const tail = rom.subarray(n - 16);
  if (tail.every((b) => b === 0) || tail.every((b) => b === 0xff)) {
    throw new Error(`BIOS ROM has no code at its reset vector (the last 16 bytes are all 0x${tail[0].toString(16).padStart(2, '0')})`);
  }
}

/** The ROM at the top of 4 GB: an MMIO range (RAM never reaches there), writes ignored. */
export class BiosRomHigh implements MmioDevice {
  readonly base: number;
  readonly rom: Uint8Array;
  constructor(rom: Uint8Array) {
    validateBiosRom(rom);
    this.rom = rom.slice(); // the machine's own copy: the caller's buffer may change
    this.base = 0x100000000 - rom.length;
  }
  register(mem: PhysicalMemory): void { mem.registerMmio(this.base, this.rom.length, 'BIOS ROM (top of 4 GB)', this); }
  mmioRead(offset: number, size: number): number {
    const r = this.rom;
    if (size === 1) return r[offset];
    if (size === 2) return r[offset] | (r[offset + 1] << 8);
    return (r[offset] | (r[offset + 1] << 8) | (r[offset + 2] << 16) | (r[offset + 3] << 24)) >>> 0;
  }
  mmioWrite(): void { /* flash is read-only here */ }
  /** The part of the ROM that also appears below 1 MB. */
  isaAlias(): Uint8Array { return this.rom.subarray(Math.max(0, this.rom.length - ISA_BIOS_MAX)); }
}

/** Boot devices in the order the external BIOS should try them. */
export type BiosBootDevice = 'floppy' | 'hdd' | 'cdrom';

// CMOS boot order as QEMU's pc machine writes it and SeaBIOS reads it (QEMU hw/i386/pc.c,
// SeaBIOS src/boot.c): 0x3D [3:0] first device, [7:4] second; 0x38 [7:4] third, [0] 1 = do
// not check the floppy boot signature. Device codes: 1 floppy, 2 hard disk, 3 CD-ROM.
const CMOS_BOOT_ORDER12 = 0x3d;
const CMOS_BOOT_ORDER3 = 0x38;
const BOOT_CODE: Record<BiosBootDevice, number> = { floppy: 1, hdd: 2, cdrom: 3 };
// CMOS 0x5F: number of CPUs - 1 (QEMU's pc machine; SeaBIOS waits for that many CPUs to answer
// its INIT-SIPI-SIPI when fw_cfg does not give the count).
const CMOS_SMP_COUNT = 0x5f;

export interface ExternalBiosParts {
  mem: PhysicalMemory;
  io: IoBus;
  pci: PciBus;
  cmos: Cmos;
  bootOrder: readonly BiosBootDevice[];
  /** CPUs in the machine (1-255). */
  cpuCount: number;
  /** Called after memory routing changed (flush the CPU's TLB and fetch window). */
  onRemap: () => void;
}

/** An external BIOS installed in a machine: ROM at the top of 4 GB, PAM shadowing below 1 MB. */
export class ExternalBios {
  readonly high: BiosRomHigh;
  readonly pam: PamShadow;
  /** QEMU debugcon at 0x402, where SeaBIOS writes its log. */
  readonly debugcon: DebugConsolePort;
  /** Bytes the BIOS wrote to its debug port. */
  onLog: ((byte: number) => void) | null = null;

  constructor(rom: Uint8Array, p: ExternalBiosParts) {
    this.high = new BiosRomHigh(rom);
    this.high.register(p.mem);
    this.pam = new PamShadow(p.mem, this.high.isaAlias(), p.onRemap);
    const host = p.pci.get(0, 0);
    if (host === undefined) throw new Error('external BIOS: no host bridge at PCI 00:00.0 for the PAM registers');
    this.pam.apply(host.config);
    // Only PAM writes route memory; SMRAM control (0x72) is stored but routes nothing.
    host.onWrite = (off, size) => { if (off < PAM0 + 7 && off + size > PAM0) this.pam.apply(host.config); };
    this.debugcon = new DebugConsolePort((b) => this.onLog?.(b));
    p.io.register(0x402, 1, 'QEMU debugcon (0x402)', this.debugcon);
    const codes = p.bootOrder.map((d) => BOOT_CODE[d]);
    p.cmos.ram[CMOS_BOOT_ORDER12] = (codes[0] ?? 0) | ((codes[1] ?? 0) << 4);
    p.cmos.ram[CMOS_BOOT_ORDER3] = (codes[2] ?? 0) << 4; // [0] = 0: check the floppy signature
    p.cmos.ram[CMOS_SMP_COUNT] = p.cpuCount - 1;
  }
}
