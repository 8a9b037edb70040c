// INT 1Ah AX=B1xxh PCI BIOS (PCI BIOS Specification 2.1 §3), via configuration mechanism #1:
// CONFIG_ADDRESS at 0CF8h ([31] enable | [23:16] bus | [15:11] device | [10:8] function |
// [7:2] register), CONFIG_DATA at 0CFCh-0CFFh.
import { AL, BH, BL, BX, CL, CX, DI, DX, ECX, EDI, EDX, SI, fail, ok, type BiosCtx } from './context';

const LAST_BUS = 0;

export class PciBios {
  constructor(private readonly b: BiosCtx) {}

  read(bus: number, devfn: number, reg: number, size: number): number {
    this.b.io.write(0xcf8, 4, (0x80000000 | (bus << 16) | (devfn << 8) | (reg & 0xfc)) >>> 0);
    return this.b.io.read(0xcfc + (reg & 3), size);
  }
  write(bus: number, devfn: number, reg: number, size: number, v: number): void {
    this.b.io.write(0xcf8, 4, (0x80000000 | (bus << 16) | (devfn << 8) | (reg & 0xfc)) >>> 0);
    this.b.io.write(0xcfc + (reg & 3), size, v);
  }

  /** Calls `fn` for every present function; stops when it returns true. */
  private scan(fn: (bus: number, devfn: number) => boolean): boolean {
    for (let bus = 0; bus <= LAST_BUS; bus++) {
      for (let devfn = 0; devfn < 256; devfn++) {
        const id = this.read(bus, devfn, 0, 4) >>> 0;
        if ((id & 0xffff) === 0xffff) { if ((devfn & 7) === 0) devfn += 7; continue; }
        if (fn(bus, devfn)) return true;
        // Single-function device (header type [7] clear): skip functions 1-7.
        if ((devfn & 7) === 0 && (this.read(bus, devfn, 0x0e, 1) & 0x80) === 0) devfn += 7;
      }
    }
    return false;
  }

  service(): void {
    const b = this.b, c = b.cpu, r8 = c.r8;
    const bus = r8[BH], devfn = r8[BL], reg = c.r16[DI] & 0xff;
    switch (r8[AL]) {
      case 0x01: // installation check
        c.r32[EDX] = 0x20494350; // 'PCI '
        r8[AL] = 0x01; // [0] configuration mechanism #1
        c.r16[BX] = 0x0210; // interface version 2.10
        r8[CL] = LAST_BUS;
        c.r32[EDI] = 0; // EDI: no protected-mode entry point
        ok(b); return;
      case 0x02: case 0x03: {
        let index = c.r16[SI];
        const want = r8[AL] === 0x02 ? ((c.r16[CX] << 16) | c.r16[DX]) >>> 0 : (c.r32[ECX] >>> 0) & 0xffffff;
        const found = this.scan((bs, df) => {
          const v = r8[AL] === 0x02 ? this.read(bs, df, 0, 4) >>> 0 : this.read(bs, df, 8, 4) >>> 8;
          if (v !== want || index-- > 0) return false;
          r8[BH] = bs; r8[BL] = df; return true;
        });
        if (found) ok(b); else fail(b, 0x86); // device not found
        return;
      }
      case 0x08: r8[CL] = this.read(bus, devfn, reg, 1); ok(b); return;
      case 0x09: if (reg & 1) { fail(b, 0x87); return; } c.r16[CX] = this.read(bus, devfn, reg, 2); ok(b); return;
      case 0x0a: if (reg & 3) { fail(b, 0x87); return; } c.r32[ECX] = this.read(bus, devfn, reg, 4); ok(b); return;
      case 0x0b: this.write(bus, devfn, reg, 1, r8[CL]); ok(b); return;
      case 0x0c: if (reg & 1) { fail(b, 0x87); return; } this.write(bus, devfn, reg, 2, c.r16[CX]); ok(b); return;
      case 0x0d: if (reg & 3) { fail(b, 0x87); return; } this.write(bus, devfn, reg, 4, c.r32[ECX] >>> 0); ok(b); return;
      default: fail(b, 0x81); // function not supported
    }
  }
}
