// Guest-memory access for firmware services. BIOS services run in real mode (or V86 mode);
// addresses are linear. Without paging linear = physical and bulk copies use the RAM views;
// with paging (a V86 caller) every byte goes through the CPU's translation.
import type { Cpu } from '../cpu/cpu';
import { PageKind, type PhysicalMemory } from '../platform/memory';

export class GuestMem {
  constructor(private readonly cpu: Cpu, private readonly mem: PhysicalMemory) {}

  private paged(): boolean { return this.cpu.paging(); }

  r8(lin: number): number { return this.paged() ? this.cpu.readSys8(lin) : this.mem.read8(lin); }
  r16(lin: number): number { return this.paged() ? this.cpu.readSys16(lin) : this.mem.read16(lin); }
  r32(lin: number): number { return (this.paged() ? this.cpu.readSys32(lin) : this.mem.read32(lin)) >>> 0; }
  w8(lin: number, v: number): void { if (this.paged()) this.cpu.writeSys8(lin, v); else this.mem.write8(lin, v); }
  w16(lin: number, v: number): void { if (this.paged()) this.cpu.writeSys16(lin, v); else this.mem.write16(lin, v); }
  w32(lin: number, v: number): void { if (this.paged()) this.cpu.writeSys32(lin, v); else this.mem.write32(lin, v); }

  /** True when [addr, addr+len) is plain RAM (no ROM, MMIO or hole) and paging is off. */
  private plainRam(addr: number, len: number): boolean {
    if (this.paged() || this.mem.a20Mask !== (0xffffffff | 0) && (addr & 0x100000) !== 0) return false;
    if (addr < 0 || addr + len > this.mem.size) return false;
    for (let p = addr >>> 12; p <= (addr + len - 1) >>> 12; p++) if (this.mem.kind[p] !== PageKind.Ram) return false;
    return true;
  }

  /** Copies host bytes into guest memory (ROM pages stay untouched, MMIO sees the writes). */
  copyIn(lin: number, src: Uint8Array): void {
    if (src.length === 0) return;
    if (this.plainRam(lin, src.length)) { this.mem.load(lin, src); return; }
    for (let i = 0; i < src.length; i++) this.w8(lin + i, src[i]);
  }

  /** Copies guest memory out into a new host buffer. */
  copyOut(lin: number, len: number): Uint8Array {
    if (len > 0 && this.plainRam(lin, len)) return this.mem.u8.slice(lin, lin + len);
    const out = new Uint8Array(len);
    for (let i = 0; i < len; i++) out[i] = this.r8(lin + i);
    return out;
  }
}
