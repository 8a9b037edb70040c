// PCI configuration space through configuration mechanism #1 (ports 0xCF8 address, 0xCFC-0xCFF
// data; PCI Local Bus Specification 3.0 §3.2.2.3.2) with the i440FX/PIIX3 functions a PC of
// that class shows: 00:00.0 host bridge, 00:01.0 ISA bridge, 00:01.1 IDE (legacy ports),
// 00:01.3 power management (ACPI PM I/O at PM_BASE). Functions see register offsets only.
import type { IoBus, PortDevice } from '../io-bus';
import { PAM0, pamWritableMask, SMRAM, SMRAM_DEFAULT } from './i440fx-pam';

/** One PCI function: 256 bytes of configuration space and a mask of writable bits. */
export class PciFunction {
  readonly config = new Uint8Array(256);
  readonly writable = new Uint8Array(256);
  /** Told of every configuration write (after it landed), for registers with side effects. */
  onWrite: ((offset: number, size: number) => void) | null = null;
  constructor(readonly name: string, vendor: number, device: number, classCode: number, revision = 0, headerType = 0) {
    const c = this.config;
    c[0] = vendor & 0xff; c[1] = vendor >> 8; c[2] = device & 0xff; c[3] = device >> 8;
    c[8] = revision; c[9] = classCode & 0xff; c[10] = (classCode >> 8) & 0xff; c[11] = (classCode >> 16) & 0xff;
    c[0x0e] = headerType;
    // Command register: I/O, memory, bus master, interrupt disable are writable.
    this.writable[4] = 0x07; this.writable[5] = 0x04;
    // Latency timer, interrupt line.
    this.writable[0x0d] = 0xff; this.writable[0x3c] = 0xff;
  }
  read(off: number, size: number): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.config[(off + i) & 0xff] << (8 * i);
    return v >>> 0;
  }
  write(off: number, size: number, value: number): void {
    for (let i = 0; i < size; i++) {
      const o = (off + i) & 0xff, m = this.writable[o];
      this.config[o] = (this.config[o] & ~m) | ((value >>> (8 * i)) & m);
    }
    if (this.onWrite !== null) this.onWrite(off & 0xff, size);
  }
}

export const PM_BASE = 0x600;
/** PIIX4 PM function registers (PIIX4 datasheet §3.4): PMBA [15:6] base of the 64-byte PM I/O
 *  block, [0] = 1 (I/O space); PMREGMISC [0] PMIOSE, the block decodes when set. */
export const PIIX4_PMBA = 0x40;
export const PIIX4_PMREGMISC = 0x80;
/** Device activity B: [25] APMC_EN, a write to the APM control port (0xB2) raises SMI. */
export const PIIX4_DEVACTB = 0x58;

/** The PM I/O base the PIIX4 PM function decodes now, or -1 when PMIOSE is clear. */
export function pmIoBase(pm: PciFunction): number {
  if ((pm.config[PIIX4_PMREGMISC] & 1) === 0) return -1;
  return (pm.config[PIIX4_PMBA] | (pm.config[PIIX4_PMBA + 1] << 8)) & 0xffc0;
}

/** The configuration mechanism #1 ports and the functions on bus 0. */
export class PciBus implements PortDevice {
  private address = 0;
  private readonly functions = new Map<number, PciFunction>();
  /** Configuration reads/writes seen, for the profiler's breakdown later. */
  accesses = 0;
  /** Reset control register, byte port 0xCF9 inside the CF8-CFF window (82371SB PIIX3
   *  datasheet, RC): [2] RCPU, a 0 -> 1 write resets the CPU | [1] SRST, 1 = hard reset. */
  resetControl = 0;
  /** Told of a reset requested through 0xCF9 (`hard`: SRST was set). */
  onReset: ((hard: boolean) => void) | null = null;

  /** Places `f` at bus 0, device `dev`, function `fn`. */
  add(dev: number, fn: number, f: PciFunction): void {
    const key = (dev << 3) | fn;
    if (this.functions.has(key)) throw new Error(`PCI 00:${dev.toString(16).padStart(2, '0')}.${fn} is taken by ${this.functions.get(key)!.name}`);
    this.functions.set(key, f);
  }

  /** The function at bus 0, device `dev`, function `fn`. */
  get(dev: number, fn: number): PciFunction | undefined { return this.functions.get((dev << 3) | fn); }

  registerPorts(io: IoBus): void { io.register(0xcf8, 8, 'PCI configuration (CF8/CFC)', this); }

  private target(): PciFunction | undefined {
    if ((this.address & 0x80000000) === 0) return undefined;
    const bus = (this.address >>> 16) & 0xff;
    if (bus !== 0) return undefined;
    return this.functions.get((this.address >>> 8) & 0xff);
  }

  ioRead(offset: number, size: number): number {
    if (offset < 4) {
      if (offset === 0 && size === 4) return this.address >>> 0;
      if (offset === 1 && size === 1) return this.resetControl;
      return 0xffffffff; // byte/word reads of CF8 are not the config address (PC chipsets)
    }
    this.accesses++;
    const f = this.target();
    if (f === undefined) return 0xffffffff; // no device: master abort reads all ones
    return f.read((this.address & 0xfc) + (offset - 4), size);
  }

  ioWrite(offset: number, size: number, value: number): void {
    if (offset < 4) {
      if (offset === 0 && size === 4) this.address = value & 0x80fffffc;
      else if (offset === 1 && size === 1) {
        // RCPU reads back 0: the reset it starts clears it.
        this.resetControl = value & 0x0a;
        if ((value & 4) !== 0) this.onReset?.((value & 2) !== 0);
      }
      return;
    }
    this.accesses++;
    const f = this.target();
    if (f !== undefined) f.write((this.address & 0xfc) + (offset - 4), size, value);
  }
}

/** The i440FX/PIIX3 set: host bridge, ISA bridge, IDE (legacy mode) and PIIX4-style PM. */
export function createPiixBus(): PciBus {
  const bus = new PciBus();
  const host = new PciFunction('i440FX host bridge', 0x8086, 0x1237, 0x060000, 0x02);
  // PAM0-PAM6 (reset 0: reads of C0000-FFFFF go to the ROM side) and SMRAM control, stored
  // here; a machine booting an external BIOS routes memory by them (i440fx-pam.ts).
  for (let r = PAM0; r < PAM0 + 7; r++) host.writable[r] = pamWritableMask(r);
  host.config[SMRAM] = SMRAM_DEFAULT; host.writable[SMRAM] = 0x78;
  bus.add(0, 0, host);
  const isa = new PciFunction('PIIX3 ISA bridge', 0x8086, 0x7000, 0x060100, 0x00, 0x80);
  // PIRQ route control (0x60-0x63): writable; default IRQs 11, 10, 11, 10 as many BIOSes set.
  for (let i = 0x60; i < 0x64; i++) isa.writable[i] = 0x8f;
  isa.config.set([11, 10, 11, 10], 0x60);
  bus.add(1, 0, isa);
  const ide = new PciFunction('PIIX3 IDE', 0x8086, 0x7010, 0x010180);
  // IDE timing registers (0x40-0x43) writable; legacy ports, no BARs in compatibility mode.
  for (let i = 0x40; i < 0x44; i++) ide.writable[i] = 0xff;
  ide.config.set([0x00, 0x80, 0x00, 0x80], 0x40); // both channels decode enabled
  bus.add(1, 1, ide);
  const pm = new PciFunction('PIIX4 power management', 0x8086, 0x7113, 0x068000, 0x03);
  // PMBA (0x40) holds the PM I/O base; PMREGMISC (0x80) bit 0 enables it. Both are writable
  // (a BIOS places the block itself; see pmIoBase).
  pm.config[PIIX4_PMBA] = (PM_BASE & 0xff) | 1; pm.config[PIIX4_PMBA + 1] = PM_BASE >> 8; pm.config[PIIX4_PMREGMISC] = 1;
  pm.writable[PIIX4_PMBA] = 0xc0; pm.writable[PIIX4_PMBA + 1] = 0xff; pm.writable[PIIX4_PMREGMISC] = 0x01;
  pm.config[0x3d] = 1; pm.config[0x3c] = 9; // INTA, SCI on IRQ 9
  // DEVACTB (0x58) [25] APMC_EN reads set: the CPU has no SMM, so no SMI handler may be
  // installed through the APM control port 0xB2. QEMU marks a machine without SMM the same way
  // (hw/acpi/piix4.c, "Mark SMM as already inited"); SeaBIOS then skips its SMM setup.
  pm.config[PIIX4_DEVACTB + 3] = 0x02;
  bus.add(1, 3, pm);
  return bus;
}
