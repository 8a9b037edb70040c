// INT 11h (equipment), 12h (base memory), 15h (system services). RBIL INT 15h; ACPI spec §15 for E820h.
import { AH, AL, AX, BX, CX, DX, EAX, EBX, ECX, EDX, DI, SI, fail, ok, setCF, waitAndRetry, type BiosCtx } from './context';
import { BDA, EBDA_SEG, ROM_SEG, TICKS_PER_DAY } from './layout';
import { ROM_OFF } from './rom';
import type { E820Entry } from './e820';
import { Seg } from '../cpu/regs';

const SMAP = 0x534d4150; // 'SMAP'
/** Nanoseconds per 18.2 Hz tick (65536 / 1193182 Hz). */
const NS_PER_TICK = 65536e9 / 1193182;

export interface SystemConfig {
  e820: E820Entry[];
  /** End of usable RAM above 1 MB (the ACPI area starts here). */
  ramTop: number;
  /** Optional virtual clock for INT 15h AH=86h; without it the BDA tick count is used. */
  clock?: { nowNs(): number };
}

export class SystemServices {
  /** Pending INT 15h AH=86h wait: deadline in ns (clock) or ticks (BDA), or null. */
  private waitDeadline: number | null = null;

  constructor(private readonly b: BiosCtx, private readonly cfg: SystemConfig) {}

  int11(): void { this.b.cpu.r16[AX] = this.b.mem.read16(BDA.EQUIPMENT); }
  int12(): void { this.b.cpu.r16[AX] = this.b.mem.read16(BDA.MEM_KB); }

  private ticks(): number { return this.b.mem.read32(BDA.TICKS) >>> 0; }

  int15(): void {
    const b = this.b, c = b.cpu, r8 = c.r8;
    switch (r8[AH]) {
      case 0x24: this.a20(); return;
      case 0x4f: setCF(b, true); return; // keyboard intercept: keep the scancode
      case 0x86: this.wait(); return;
      case 0x87: this.moveBlock(); return;
      case 0x88: {
        const kb = Math.floor((this.cfg.ramTop - 0x100000) / 1024);
        c.r16[AX] = Math.min(kb, 0xfc00); setCF(b, false);
        return;
      }
      case 0x90: case 0x91: ok(b); return; // device busy / post: nothing to do
      case 0xc0:
        c.setSegReal(Seg.ES, ROM_SEG, 0xffff, 0x93); c.r16[BX] = ROM_OFF.CONFIG_TABLE; ok(b);
        return;
      case 0xc1: c.setSegReal(Seg.ES, EBDA_SEG, 0xffff, 0x93); setCF(b, false); return;
      case 0xe8:
        if (r8[AL] === 0x01) { this.e801(); return; }
        if (r8[AL] === 0x20 && (c.r32[EDX] >>> 0) === SMAP) { this.e820(); return; }
        fail(b, 0x86); return;
      default: fail(b, 0x86); // function not supported (also AH=53h APM, C2h mouse)
    }
  }

  /** AH=24h: A20 through the fast A20 gate (port 92h [1]; [0] would reset the machine). */
  private a20(): void {
    const b = this.b, c = b.cpu, r8 = c.r8, io = b.io;
    switch (r8[AL]) {
      case 0x00: io.write(0x92, 1, io.read(0x92, 1) & ~0x03); ok(b); return;
      case 0x01: io.write(0x92, 1, (io.read(0x92, 1) | 0x02) & ~0x01); ok(b); return;
      case 0x02: r8[AL] = (io.read(0x92, 1) >> 1) & 1; ok(b); return;
      case 0x03: c.r16[BX] = 0x0002; ok(b); return; // supported: port 92h only
      default: fail(b, 0x86);
    }
  }

  /** AH=86h: wait CX:DX microseconds; the stub halts between checks. */
  private wait(): void {
    const b = this.b, c = b.cpu;
    const us = c.r16[CX] * 65536 + c.r16[DX];
    const clock = this.cfg.clock;
    if (this.waitDeadline === null) {
      this.waitDeadline = clock ? clock.nowNs() + us * 1000 : this.ticks() + Math.ceil((us * 1000) / NS_PER_TICK);
    }
    let done: boolean;
    if (clock) done = clock.nowNs() >= this.waitDeadline;
    else {
      const left = this.waitDeadline - this.ticks();
      done = left <= 0 || left > TICKS_PER_DAY / 2; // also after midnight wrapped the count
    }
    if (!done) { waitAndRetry(b); return; }
    this.waitDeadline = null;
    ok(b);
  }

  /**
   * AH=87h: copy CX words between the source (GDT entry 2, ES:SI+10h) and destination (entry 3,
   * ES:SI+18h) descriptors. A real BIOS switches to protected mode; here the copy is done
   * directly on physical memory (A20 and paging do not apply, as in the BIOS's own PM code).
   */
  private moveBlock(): void {
    const b = this.b, c = b.cpu, g = b.g, m = b.mem;
    const gdt = (c.segBase[Seg.ES] + c.r16[SI]) >>> 0;
    const base = (d: number): number => (g.r16(d + 2) | (g.r8(d + 4) << 16) | (g.r8(d + 7) << 24)) >>> 0;
    const src = base(gdt + 0x10), dst = base(gdt + 0x18);
    const bytes = c.r16[CX] * 2;
    const mask = m.a20Mask;
    m.a20Mask = 0xffffffff | 0;
    for (let i = 0; i < bytes; i++) m.write8(dst + i, m.read8(src + i));
    m.a20Mask = mask;
    ok(b);
  }

  private e801(): void {
    const b = this.b, c = b.cpu;
    const top = this.cfg.ramTop;
    const low = Math.min(Math.max(0, top - 0x100000), 15 * 1024 * 1024) / 1024;
    const high = top > 0x1000000 ? Math.floor((top - 0x1000000) / 65536) : 0;
    c.r16[AX] = low; c.r16[CX] = low; c.r16[BX] = high; c.r16[DX] = high;
    setCF(b, false);
  }

  /** E820h: EBX = continuation (entry index), ES:DI = 20-byte buffer. */
  private e820(): void {
    const b = this.b, c = b.cpu, g = b.g;
    const i = c.r32[EBX] >>> 0, map = this.cfg.e820;
    if (i >= map.length || (c.r32[ECX] >>> 0) < 20) { fail(b, 0x86); return; }
    const e = map[i];
    const p = (c.segBase[Seg.ES] + c.r16[DI]) >>> 0;
    g.w32(p, e.base % 0x100000000); g.w32(p + 4, Math.floor(e.base / 0x100000000));
    g.w32(p + 8, e.length % 0x100000000); g.w32(p + 12, Math.floor(e.length / 0x100000000));
    g.w32(p + 16, e.type);
    c.r32[EAX] = SMAP; c.r32[ECX] = 20;
    c.r32[EBX] = i + 1 < map.length ? i + 1 : 0;
    setCF(b, false);
  }
}
