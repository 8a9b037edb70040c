// PCI configuration space through configuration mechanism #1 (ports 0xCF8 address, 0xCFC-0xCFF
// data; PCI Local Bus Specification 3.0 §3.2.2.3.2) with the i440FX/PIIX3 functions a PC of
// that class shows: 00:00.0 host bridge, 00:01.0 ISA bridge, 00:01.1 IDE (legacy ports),
// 00:01.3 power management (ACPI PM I/O at PM_BASE). Functions see register offsets only.
import type { IoBus, PortDevice } from '../io-bus';

/** One PCI function: 256 bytes of configuration space and a mask of writable bits. */
export class PciFunction {
  readonly config = new Uint8Array(256);
  readonly writable = new Uint8Array(256);
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
  }
}

export const PM_BASE = 0x600;

/** The configuration mechanism #1 ports and the functions on bus 0. */
export class PciBus implements PortDevice {
  private address = 0;
  private readonly functions = new Map<number, PciFunction>();
  /** Configuration reads/writes seen, for the profiler's breakdown later. */
  accesses = 0;

  /** Places `f` at bus 0, device `dev`, function `fn`. */
  add(dev: number, fn: number, f: PciFunction): void {
    const key = (dev << 3) | fn;
    if (this.functions.has(key)) throw new Error(`PCI 00:${dev.toString(16).padStart(2, '0')}.${fn} is taken by ${this.functions.get(key)!.name}`);
    this.functions.set(key, f);
  }

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
  bus.add(0, 0, new PciFunction('i440FX host bridge', 0x8086, 0x1237, 0x060000, 0x02));
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
  // PMBA (0x40) holds the PM I/O base; PMREGMISC (0x80) bit 0 enables it.
  pm.config[0x40] = (PM_BASE & 0xff) | 1; pm.config[0x41] = PM_BASE >> 8; pm.config[0x80] = 1;
  pm.config[0x3d] = 1; pm.config[0x3c] = 9; // INTA, SCI on IRQ 9
  bus.add(1, 3, pm);
  return bus;
}
