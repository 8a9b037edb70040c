// The port-I/O bus: each device claims a named port range and sees offsets into it.
// Unclaimed reads return all ones (as on a PC's ISA bus); overlapping claims are refused.

export interface PortDevice {
  /** `offset` is relative to the claimed base; `size` is 1, 2 or 4 bytes. */
  ioRead(offset: number, size: number): number;
  ioWrite(offset: number, size: number, value: number): void;
}

export interface PortRange { readonly base: number; readonly count: number; readonly name: string; readonly device: PortDevice }

export class IoBus {
  /** Per port: index+1 into `ranges`, 0 when unclaimed. */
  private readonly owner = new Uint16Array(0x10000);
  readonly ranges: PortRange[] = [];

  register(base: number, count: number, name: string, device: PortDevice): void {
    if (base < 0 || count <= 0 || base + count > 0x10000) throw new Error(`I/O range ${name} 0x${base.toString(16)}+${count} is outside the 64K port space`);
    for (let p = base; p < base + count; p++) {
      const o = this.owner[p];
      if (o !== 0) throw new Error(`I/O range ${name} at 0x${base.toString(16)} overlaps ${this.ranges[o - 1].name} at port 0x${p.toString(16)}`);
    }
    this.ranges.push({ base, count, name, device });
    this.owner.fill(this.ranges.length, base, base + count);
  }

  /**
   * Moves the range `device` registered to `base` (relocatable PCI I/O such as the PIIX4 PM
   * block), or unmaps it when `base` is negative (decode disabled). A guest may program an
   * overlapping base; what real chipsets then decode is undefined, here the moved range stays
   * unmapped and the result is false.
   */
  relocate(device: PortDevice, base: number): boolean {
    const i = this.ranges.findIndex((r) => r.device === device);
    if (i < 0) throw new Error('relocate: the device has no I/O range');
    const r = this.ranges[i];
    if (r.base === base) return true;
    if (r.base >= 0) this.owner.fill(0, r.base, r.base + r.count);
    let ok = base >= 0 && base + r.count <= 0x10000;
    for (let p = base; ok && p < base + r.count; p++) if (this.owner[p] !== 0) ok = false;
    if (ok) this.owner.fill(i + 1, base, base + r.count);
    this.ranges[i] = { base: ok ? base : -1, count: r.count, name: r.name, device };
    return ok || base < 0;
  }

  /** The readable name of the range holding `port`, or undefined when unclaimed. */
  nameOf(port: number): string | undefined {
    const o = this.owner[port & 0xffff];
    return o === 0 ? undefined : this.ranges[o - 1].name;
  }

  read(port: number, size: number): number {
    port &= 0xffff;
    const o = this.owner[port];
    if (o === 0) {
      // Compose wide accesses from narrow ones so a device on the next port still answers.
      if (size === 1) return 0xff;
      return size === 2 ? this.read(port, 1) | (this.read(port + 1, 1) << 8)
        : (this.read(port, 2) | (this.read(port + 2, 2) << 16)) >>> 0;
    }
    const r = this.ranges[o - 1];
    const mask = size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
    return (r.device.ioRead(port - r.base, size) & mask) >>> 0;
  }

  write(port: number, size: number, value: number): void {
    port &= 0xffff;
    const o = this.owner[port];
    if (o === 0) {
      if (size === 1) return;
      if (size === 2) { this.write(port, 1, value & 0xff); this.write(port + 1, 1, (value >>> 8) & 0xff); return; }
      this.write(port, 2, value & 0xffff); this.write(port + 2, 2, value >>> 16); return;
    }
    const r = this.ranges[o - 1];
    r.device.ioWrite(port - r.base, size, value);
  }
}
