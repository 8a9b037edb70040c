// VGA text mode: the text buffer at 0xB8000 through MMIO, the CRTC cursor and start address,
// input status 1 retrace bits over virtual time, the attribute controller flip-flop, the DAC
// and the I/O address select.
import { describe, expect, it } from 'vitest';
import { IoBus } from '../../src/core/platform/io-bus';
import { PhysicalMemory } from '../../src/core/platform/memory';
import { VirtualClock } from '../../src/core/platform/clock';
import { CP437_TO_UNICODE, Vga } from '../../src/core/platform/devices/vga';

function setup() {
  const counter = { icount: 0 };
  const clock = new VirtualClock(counter, 1e9); // 1 ns per tick
  const vga = new Vga(clock);
  const io = new IoBus();
  const mem = new PhysicalMemory(1 << 20);
  vga.registerPorts(io);
  vga.registerMmio(mem);
  const inb = (p: number) => io.read(p, 1);
  const outb = (p: number, v: number) => io.write(p, 1, v);
  const puts = (row: number, col: number, s: string, attr = 0x07) => {
    for (let i = 0; i < s.length; i++) mem.write16(0xb8000 + (row * 80 + col + i) * 2, s.charCodeAt(i) | (attr << 8));
  };
  return { counter, clock, vga, io, mem, inb, outb, puts };
}

describe('VGA text mode', () => {
  it('shows the text buffer at 0xB8000 as 25 lines of 80 characters', () => {
    const { vga, mem, puts } = setup();
    const screen0 = vga.textScreen();
    expect(screen0.length).toBe(25);
    expect(screen0.every((l) => l === ' '.repeat(80))).toBe(true);
    expect(mem.read16(0xb8000)).toBe(0x0720); // cleared by the mode set
    const before = vga.changes;
    puts(0, 0, 'Hello, VGA');
    puts(24, 70, 'bottom');
    mem.write8(0xb8000 + 2 * 20, 0xc9); // CP437 box corner
    mem.write8(0xb8000 + 2 * 21, 0x01);
    expect(vga.changes).toBeGreaterThan(before);
    const s = vga.textScreen();
    expect(s[0].startsWith('Hello, VGA')).toBe(true);
    expect(s[0].slice(20, 22)).toBe('╔☺');
    expect(s[24].slice(70, 76)).toBe('bottom');
    const c = vga.cells();
    expect([c.cols, c.rows, c.chars[0], c.attrs[0], c.blink]).toEqual([80, 25, 0x48, 0x07, true]);
    expect(mem.read32(0xb8000)).toBe(0x07650748); // reads come back from video memory
    const n = vga.changes;
    mem.write8(0xb8000, 0x48); // same byte: no change
    expect(vga.changes).toBe(n);
    expect(CP437_TO_UNICODE[0xb0] + CP437_TO_UNICODE[0xe1] + CP437_TO_UNICODE[0xfe]).toBe('░ß■');
  });

  it('follows the CRTC start address and cursor location registers', () => {
    const { vga, outb, inb, io, puts } = setup();
    expect(vga.cursor()).toEqual({ row: 0, col: 0, visible: true, startLine: 13, endLine: 14 });
    // The BIOS-style cursor update: index/data pairs, also as 16-bit OUTs.
    const pos = 5 * 80 + 17;
    outb(0x3d4, 0x0e); outb(0x3d5, pos >> 8);
    outb(0x3d4, 0x0f); outb(0x3d5, pos & 0xff);
    expect(vga.cursor()).toMatchObject({ row: 5, col: 17, visible: true });
    io.write(0x3d4, 2, 0x0f | ((6 * 80) & 0xff) << 8);
    io.write(0x3d4, 2, 0x0e | ((6 * 80) >> 8) << 8);
    expect(vga.cursor()).toMatchObject({ row: 6, col: 0 });
    outb(0x3d4, 0x0e); expect(inb(0x3d5)).toBe(1); // 480 = 0x1E0
    // Cursor disable (CR0A bit 5).
    outb(0x3d4, 0x0a); outb(0x3d5, 0x20);
    expect(vga.cursor().visible).toBe(false);
    outb(0x3d5, 0x0d);
    expect(vga.cursor().visible).toBe(true);
    // Scrolling by start address: one line down.
    puts(1, 0, 'second line');
    outb(0x3d4, 0x0c); outb(0x3d5, 0);
    outb(0x3d4, 0x0d); outb(0x3d5, 80);
    expect(vga.textScreen()[0].startsWith('second line')).toBe(true);
    expect(vga.cursor()).toMatchObject({ row: 5, col: 0 });
  });

  it('write-protects CR00-CR07 while CR11 bit 7 is set', () => {
    const { outb, inb } = setup();
    outb(0x3d4, 0x01); outb(0x3d5, 0x27);
    expect(inb(0x3d5)).toBe(0x4f); // protected after the mode set (CR11 = 0x8E)
    outb(0x3d4, 0x11); outb(0x3d5, 0x0e);
    outb(0x3d4, 0x01); outb(0x3d5, 0x27);
    expect(inb(0x3d5)).toBe(0x27);
  });

  it('toggles vertical retrace and display enable in input status 1 over virtual time (60 Hz)', () => {
    const { counter, inb } = setup();
    const frame = 1e9 / 60, line = frame / 449;
    const sample = (t: number) => { counter.icount = Math.floor(t); return inb(0x3da) & 0x09; };
    expect(sample(10)).toBe(0x00); // start of a visible line
    expect(sample(line * 0.9)).toBe(0x01); // horizontal blanking
    expect(sample(line * 405 + 1)).toBe(0x01); // vertical blanking, no retrace
    expect(sample(line * 412.5)).toBe(0x09); // vertical retrace
    expect(sample(line * 420)).toBe(0x01);
    expect(sample(frame + line * 412.5)).toBe(0x09); // next frame
    // A "wait for retrace" loop as guests write it sees it start and end within one frame.
    counter.icount = 0;
    let starts = 0, prev = 0;
    for (let t = 0; t < 2 * frame; t += 1000) {
      counter.icount = t;
      const vr = inb(0x3da) & 8;
      if (vr && !prev) starts++;
      prev = vr;
    }
    expect(starts).toBe(2);
    // Mono address: 0x3BA floats while the colour I/O address is selected.
    expect(inb(0x3ba)).toBe(0xff);
  });

  it('attribute controller: index/data flip-flop reset by reading 0x3DA', () => {
    const { inb, outb, vga } = setup();
    inb(0x3da);
    outb(0x3c0, 0x01); outb(0x3c0, 0x3f); // palette 1 = 0x3F
    expect(inb(0x3c0)).toBe(0x01); // index read back (PAS clear: screen blanked)
    expect(inb(0x3c1)).toBe(0x3f);
    expect(vga.state().screenOn).toBe(false);
    outb(0x3c0, 0x20); // flip-flop at index: PAS on
    expect(vga.state().screenOn).toBe(true);
    outb(0x3c0, 0x12); // a data write to register 0 (flip-flop was at data)
    inb(0x3da);
    outb(0x3c0, 0x20 | 0x00);
    expect(inb(0x3c1)).toBe(0x12);
    inb(0x3da);
    outb(0x3c0, 0x20 | 0x10); outb(0x3c0, 0x04); // mode control: blink off
    expect(vga.cells().blink).toBe(false);
  });

  it('DAC read/write indices and the text colour view', () => {
    const { inb, outb, vga } = setup();
    expect(inb(0x3c7) & 3).toBe(0);
    outb(0x3c7, 0x14); // read brown (attribute 6 -> palette 0x14)
    expect(inb(0x3c7) & 3).toBe(3);
    expect([inb(0x3c9), inb(0x3c9), inb(0x3c9)]).toEqual([0x2a, 0x15, 0x00]);
    expect([inb(0x3c9), inb(0x3c9), inb(0x3c9)]).toEqual([0x2a, 0x15, 0x2a]); // 0x15 (R + g + B) follows
    const colors = vga.textColors();
    expect(colors[0]).toBe(0x000000); expect(colors[6]).toBe(0xaa5500); expect(colors[15]).toBe(0xffffff);
    outb(0x3c8, 0x3f); outb(0x3c9, 0x3f); outb(0x3c9, 0); outb(0x3c9, 0);
    expect(inb(0x3c8)).toBe(0x40);
    expect(vga.textColors()[15]).toBe(0xff0000);
  });

  it('decodes only the memory window GR06 selects; misc bit 0 selects 3Bx vs 3Dx', () => {
    const { vga, mem, inb, outb } = setup();
    mem.write8(0xa0000, 0x11);
    expect(mem.read8(0xa0000)).toBe(0xff); // mode 3 decodes 0xB8000-0xBFFFF only
    outb(0x3ce, 6); outb(0x3cf, 0x05); // graphics, A0000 64K (mode 13h)
    mem.write8(0xa0000 + 320 * 10 + 5, 0x2c);
    expect(vga.vram[320 * 10 + 5]).toBe(0x2c);
    expect(vga.isText()).toBe(false);
    expect(vga.cursor().visible).toBe(false);
    // Monochrome: misc bit 0 = 0 moves the CRTC to 3B4/3B5, text to 0xB0000 with GR06 map 2.
    outb(0x3c2, 0x66);
    outb(0x3ce, 6); outb(0x3cf, 0x0a);
    expect(inb(0x3d5)).toBe(0xff);
    outb(0x3b4, 0x0f); outb(0x3b5, 3);
    mem.write16(0xb0000, 0x0741);
    expect(vga.textScreen()[0].slice(0, 1)).toBe('A');
    expect(vga.cursor()).toMatchObject({ row: 0, col: 3 });
    expect(inb(0x3ba) & 0xf6).toBe(0); // status answers at 3BA now
    expect(inb(0x3cc)).toBe(0x66);
    vga.reset();
    expect(inb(0x3cc)).toBe(0x67);
    expect(vga.textScreen()[0]).toBe(' '.repeat(80));
  });
});
