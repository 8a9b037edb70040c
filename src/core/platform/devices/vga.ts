// A VGA adapter, modelled for text modes: the 128 KB video memory window at 0xA0000-0xBFFFF,
// the CRT controller, sequencer, graphics controller, attribute controller, DAC and status
// registers, and a text-screen view for the UI and CLI.
//
// Source: IBM VGA Technical Reference (register descriptions; BIOS video parameter table for
// mode 03h, 720x400); FreeVGA "VGA/SVGA Video Programming" register pages (http://www.osdever.net/FreeVGA/vga/vga.htm);
// OSDev wiki "VGA Hardware".
//
// Ports (the CRTC and input status 1 answer at 3Bx or 3Dx as selected by misc output bit 0;
// the other set reads 0xFF):
//   0x3B4/0x3D4 CRTC index, 0x3B5/0x3D5 CRTC data (CR11[7] write-protects CR00-CR07)
//   0x3BA/0x3DA read: input status 1 [3] vertical retrace | [0] display disabled (blanking);
//               resets the attribute controller flip-flop. write: feature control
//   0x3C0 attribute controller index/data by flip-flop: index [5] palette address source
//         (0 = screen blanked) | [4:0] register; read 0x3C0 = index, 0x3C1 = data
//   0x3C2 write misc output [7:6] sync polarity | [3:2] clock | [1] RAM enable | [0] I/O
//         address select (1 = 3Dx); read: input status 0 (returns 0). 0x3CC reads misc output.
//   0x3C3 VGA enable; 0x3C4/0x3C5 sequencer index/data; 0x3CA read feature control
//   0x3C6 DAC pixel mask; 0x3C7 write DAC read index / read DAC state (3 = read, 0 = write);
//   0x3C8 DAC write index; 0x3C9 DAC data (6-bit R, G, B, then the index increments)
//   0x3CE/0x3CF graphics controller index/data; GR06 [3:2] memory map: 0 = A0000 128K,
//         1 = A0000 64K, 2 = B0000 32K, 3 = B8000 32K | [0] graphics mode
//
// Video memory is stored as the CPU sees it through the window (one flat 128 KB byte array,
// indexed by address - 0xA0000); accesses outside the window selected by GR06 read 0xFF and
// are dropped. That gives correct text modes (char/attribute pairs at even/odd addresses),
// mode 7 at 0xB0000, and a correct framebuffer for chain-4 mode 13h. NOT modelled: planar
// memory (sequencer map mask, read map select, odd/even and chain-4 plane addressing), the
// graphics controller write modes, latches, set/reset, rotate, bit mask and read modes, fonts
// in plane 2 (the text view uses CP437 code points), split screen, panning, the vertical
// retrace interrupt and any rendering of graphics modes.
//
// Display timing runs on virtual time with fixed values: a 60 Hz frame of 449 lines with 400
// visible lines and vertical retrace on lines 412-413; each line is 80% display, 20% blanking.
import type { IoBus } from '../io-bus';
import type { MmioDevice, PhysicalMemory } from '../memory';
import type { VirtualClock } from '../clock';

export const VGA_WINDOW_BASE = 0xa0000;
export const VGA_WINDOW_SIZE = 0x20000;

const FRAME_NS = 1e9 / 60;
const FRAME_LINES = 449, VISIBLE_LINES = 400, VRETRACE_FIRST = 412, VRETRACE_END = 414;
const LINE_NS = FRAME_NS / FRAME_LINES;
const LINE_DISPLAY_NS = LINE_NS * 0.8;

// CP437 to Unicode (IBM PC character set). 0x00 shows as a space.
const CP437 =
  ' ☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼' +
  ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~⌂' +
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»' +
  '░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀' +
  'αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';
export const CP437_TO_UNICODE: readonly string[] = Array.from(CP437);
if (CP437_TO_UNICODE.length !== 256) throw new Error('CP437 table must have 256 entries');

// Mode 03h register values, IBM VGA BIOS video parameter table (80x25, 9x16 cell, 720x400);
// the cursor location (CR0E/CR0F) is set to 0 here instead of the table's leftover value.
const MODE3_MISC = 0x67;
const MODE3_SEQ = [0x03, 0x00, 0x03, 0x00, 0x02];
// prettier-ignore
const MODE3_CRTC = [
  0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00,
  0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff,
];
const MODE3_GC = [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff];
// prettier-ignore
const MODE3_AC = [
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
  0x0c, 0x00, 0x0f, 0x08, 0x00,
];

/** Window [lo, hi) of the flat VRAM array decoded for GR06 memory map select 0-3. */
const MAP_LO = [0x00000, 0x00000, 0x10000, 0x18000];
const MAP_HI = [0x20000, 0x10000, 0x18000, 0x20000];

export interface VgaCells {
  cols: number; rows: number;
  /** Character codes (CP437), row-major. */
  chars: Uint8Array;
  /** Attribute bytes: [7] blink or bright background | [6:4] background | [3:0] foreground. */
  attrs: Uint8Array;
  /** Attribute bit 7 means blink (AR10[3]) rather than a bright background. */
  blink: boolean;
}

export interface VgaCursor { row: number; col: number; visible: boolean; startLine: number; endLine: number }

export class Vga implements MmioDevice {
  /** Video memory as seen through 0xA0000-0xBFFFF. */
  readonly vram = new Uint8Array(VGA_WINDOW_SIZE);
  /** Bumped by every change that can alter the picture (VRAM, registers, DAC). */
  changes = 0;

  private readonly crtc = new Uint8Array(64);
  private crtcIndex = 0;
  private readonly seq = new Uint8Array(8);
  private seqIndex = 0;
  private readonly gc = new Uint8Array(16);
  private gcIndex = 0;
  private readonly attr = new Uint8Array(32);
  private attrIndex = 0;
  /** false: next 0x3C0 write is an index; true: data. */
  private attrData = false;
  private misc = 0;
  private featureCtl = 0;
  private vgaEnable = 1;
  private dacMask = 0xff;
  private dacReadIndex = 0;
  private dacWriteIndex = 0;
  private dacComponent = 0;
  private dacReading = false;
  /** 256 entries of 6-bit R, G, B. */
  readonly dac = new Uint8Array(768);
  private winLo = 0;
  private winHi = VGA_WINDOW_SIZE;

  constructor(private readonly clock: VirtualClock) { this.reset(); }

  registerMmio(mem: PhysicalMemory): void { mem.registerMmio(VGA_WINDOW_BASE, VGA_WINDOW_SIZE, 'VGA video memory', this); }

  registerPorts(io: IoBus): void {
    const range = (base: number, count: number, name: string): void => {
      io.register(base, count, name, {
        ioRead: (off, size) => {
          let v = 0;
          for (let i = 0; i < size; i++) v |= (off + i < count ? this.portRead(base + off + i) : 0xff) << (8 * i);
          return v >>> 0;
        },
        ioWrite: (off, size, value) => {
          for (let i = 0; i < size && off + i < count; i++) this.portWrite(base + off + i, (value >>> (8 * i)) & 0xff);
        },
      });
    };
    range(0x3b4, 2, 'VGA CRTC (mono)');
    range(0x3ba, 1, 'VGA input status 1 (mono)');
    range(0x3c0, 16, 'VGA');
    range(0x3d4, 2, 'VGA CRTC');
    range(0x3da, 1, 'VGA input status 1');
  }

  /** Power-on state as the VGA BIOS leaves it: mode 3, blank screen. */
  reset(): void {
    this.crtc.fill(0); this.seq.fill(0); this.gc.fill(0); this.attr.fill(0); this.dac.fill(0);
    this.crtcIndex = this.seqIndex = this.gcIndex = this.attrIndex = 0;
    this.attrData = false; this.featureCtl = 0; this.vgaEnable = 1; this.dacMask = 0xff;
    this.dacReadIndex = this.dacWriteIndex = this.dacComponent = 0; this.dacReading = false;
    this.vram.fill(0);
    this.setMode3();
  }

  // ---- video memory ----

  mmioRead(offset: number, size: number): number {
    if (offset < this.winLo || offset >= this.winHi) return size === 4 ? -1 : size === 2 ? 0xffff : 0xff;
    const m = this.vram;
    if (size === 1) return m[offset];
    if (size === 2) return m[offset] | (m[offset + 1] << 8);
    return m[offset] | (m[offset + 1] << 8) | (m[offset + 2] << 16) | (m[offset + 3] << 24);
  }

  mmioWrite(offset: number, size: number, value: number): void {
    if (offset < this.winLo || offset >= this.winHi) return;
    const m = this.vram;
    if (size === 1) { if (m[offset] !== (value & 0xff)) { m[offset] = value; this.changes++; } return; }
    m[offset] = value; m[offset + 1] = value >>> 8;
    if (size === 4) { m[offset + 2] = value >>> 16; m[offset + 3] = value >>> 24; }
    this.changes++;
  }

  // ---- registers ----

  private get colorIo(): boolean { return (this.misc & 1) !== 0; }

  portRead(port: number): number {
    switch (port) {
      case 0x3b4: return this.colorIo ? 0xff : this.crtcIndex;
      case 0x3b5: return this.colorIo ? 0xff : this.crtc[this.crtcIndex];
      case 0x3d4: return this.colorIo ? this.crtcIndex : 0xff;
      case 0x3d5: return this.colorIo ? this.crtc[this.crtcIndex] : 0xff;
      case 0x3ba: return this.colorIo ? 0xff : this.inputStatus1();
      case 0x3da: return this.colorIo ? this.inputStatus1() : 0xff;
      case 0x3c0: return this.attrIndex;
      case 0x3c1: return this.attr[this.attrIndex & 0x1f];
      case 0x3c2: return 0x00; // input status 0: no switch sense, no CRT interrupt
      case 0x3c3: return this.vgaEnable;
      case 0x3c4: return this.seqIndex;
      case 0x3c5: return this.seq[this.seqIndex];
      case 0x3c6: return this.dacMask;
      case 0x3c7: return this.dacReading ? 3 : 0;
      case 0x3c8: return this.dacWriteIndex;
      case 0x3c9: {
        const v = this.dac[this.dacReadIndex * 3 + this.dacComponent];
        if (++this.dacComponent === 3) { this.dacComponent = 0; this.dacReadIndex = (this.dacReadIndex + 1) & 0xff; }
        return v;
      }
      case 0x3ca: return this.featureCtl;
      case 0x3cc: return this.misc;
      case 0x3ce: return this.gcIndex;
      case 0x3cf: return this.gc[this.gcIndex];
      default: return 0xff;
    }
  }

  portWrite(port: number, v: number): void {
    v &= 0xff;
    switch (port) {
      case 0x3b4: if (!this.colorIo) this.crtcIndex = v & 0x3f; return;
      case 0x3b5: if (!this.colorIo) this.writeCrtc(v); return;
      case 0x3d4: if (this.colorIo) this.crtcIndex = v & 0x3f; return;
      case 0x3d5: if (this.colorIo) this.writeCrtc(v); return;
      case 0x3ba: if (!this.colorIo) this.featureCtl = v; return;
      case 0x3da: if (this.colorIo) this.featureCtl = v; return;
      case 0x3c0:
        if (!this.attrData) this.attrIndex = v & 0x3f;
        else if ((this.attrIndex & 0x1f) <= 0x14) this.attr[this.attrIndex & 0x1f] = v;
        this.attrData = !this.attrData;
        this.changes++;
        return;
      case 0x3c2: this.misc = v; this.changes++; return;
      case 0x3c3: this.vgaEnable = v & 1; return;
      case 0x3c4: this.seqIndex = v & 7; return;
      case 0x3c5: this.seq[this.seqIndex] = v; this.changes++; return;
      case 0x3c6: this.dacMask = v; this.changes++; return;
      case 0x3c7: this.dacReadIndex = v; this.dacComponent = 0; this.dacReading = true; return;
      case 0x3c8: this.dacWriteIndex = v; this.dacComponent = 0; this.dacReading = false; return;
      case 0x3c9:
        this.dac[this.dacWriteIndex * 3 + this.dacComponent] = v & 0x3f;
        if (++this.dacComponent === 3) { this.dacComponent = 0; this.dacWriteIndex = (this.dacWriteIndex + 1) & 0xff; }
        this.changes++;
        return;
      case 0x3ce: this.gcIndex = v & 0x0f; return;
      case 0x3cf:
        this.gc[this.gcIndex] = v;
        if (this.gcIndex === 6) { const map = (v >>> 2) & 3; this.winLo = MAP_LO[map]; this.winHi = MAP_HI[map]; }
        this.changes++;
        return;
    }
  }

  private writeCrtc(v: number): void {
    const i = this.crtcIndex;
    if ((this.crtc[0x11] & 0x80) !== 0 && i <= 7) {
      if (i !== 7) return;
      v = (this.crtc[7] & ~0x10) | (v & 0x10); // CR07 bit 4 (line compare bit 8) stays writable
    }
    this.crtc[i] = v;
    this.changes++;
  }

  /** Input status 1 from virtual time; reading it resets the attribute flip-flop. */
  private inputStatus1(): number {
    this.attrData = false;
    const t = this.clock.nowNs() % FRAME_NS;
    const line = Math.floor(t / LINE_NS);
    let v = 0;
    if (line >= VRETRACE_FIRST && line < VRETRACE_END) v |= 0x08;
    if (line >= VISIBLE_LINES || t - line * LINE_NS >= LINE_DISPLAY_NS) v |= 0x01;
    return v;
  }

  // ---- mode set ----

  /**
   * Programs the standard mode 03h (80x25 colour text at 0xB8000) through the registers, as
   * INT 10h AH=00h does, loads the 64 EGA colours into the DAC and clears the screen to
   * white-on-black spaces.
   */
  setMode3(): void {
    const w = (p: number, v: number): void => this.portWrite(p, v);
    w(0x3c2, MODE3_MISC);
    w(0x3c4, 0); w(0x3c5, 0x01); // synchronous reset while reprogramming
    for (let i = 1; i < MODE3_SEQ.length; i++) { w(0x3c4, i); w(0x3c5, MODE3_SEQ[i]); }
    w(0x3c4, 0); w(0x3c5, MODE3_SEQ[0]);
    w(0x3d4, 0x11); w(0x3d5, 0x00); // unlock CR00-CR07
    for (let i = 0; i < MODE3_CRTC.length; i++) { w(0x3d4, i); w(0x3d5, MODE3_CRTC[i]); }
    for (let i = 0; i < MODE3_GC.length; i++) { w(0x3ce, i); w(0x3cf, MODE3_GC[i]); }
    this.portRead(0x3da); // reset the attribute flip-flop
    for (let i = 0; i < MODE3_AC.length; i++) { w(0x3c0, i); w(0x3c0, MODE3_AC[i]); }
    w(0x3c0, 0x20); // palette address source: screen on
    // The 64 EGA colours: bits [5:3] = secondary r g b (1/3 intensity), [2:0] = primary R G B (2/3).
    w(0x3c6, 0xff); w(0x3c8, 0);
    for (let i = 0; i < 256; i++) {
      const c = i & 0x3f, lvl = (hi: number, lo: number): number => ((c >> hi) & 1) * 0x2a + ((c >> lo) & 1) * 0x15;
      w(0x3c9, i < 64 ? lvl(2, 5) : 0); w(0x3c9, i < 64 ? lvl(1, 4) : 0); w(0x3c9, i < 64 ? lvl(0, 3) : 0);
    }
    for (let o = 0x18000; o < 0x20000; o += 2) { this.vram[o] = 0x20; this.vram[o + 1] = 0x07; }
    this.changes++;
  }

  // ---- views ----

  /** True when the graphics controller selects a text (alphanumeric) mode. */
  isText(): boolean { return (this.gc[6] & 1) === 0; }

  private geometry(): { cols: number; rows: number; stride: number; start: number; base: number } {
    const c = this.crtc;
    let cols = c[0x01] + 1;
    const vde = c[0x12] | ((c[0x07] & 0x02) << 7) | ((c[0x07] & 0x40) << 3);
    let cell = (c[0x09] & 0x1f) + 1;
    if ((c[0x09] & 0x80) !== 0) cell *= 2; // double scan
    let rows = Math.floor((vde + 1) / cell);
    if (cols < 2 || cols > 132 || rows < 1 || rows > 100) { cols = 80; rows = 25; } // unprogrammed CRTC
    const stride = c[0x13] !== 0 ? c[0x13] * 2 : cols;
    const map = (this.gc[6] >>> 2) & 3;
    return { cols, rows, stride, start: (c[0x0c] << 8) | c[0x0d], base: map >= 2 ? MAP_LO[map] : 0 };
  }

  /** Characters and attributes of the visible text screen. */
  cells(): VgaCells {
    const { cols, rows, stride, start, base } = this.geometry();
    const chars = new Uint8Array(cols * rows), attrs = new Uint8Array(cols * rows);
    for (let r = 0; r < rows; r++) {
      for (let col = 0; col < cols; col++) {
        const a = base + (((start + r * stride + col) * 2) & 0x7fff);
        chars[r * cols + col] = this.vram[a];
        attrs[r * cols + col] = this.vram[a + 1];
      }
    }
    return { cols, rows, chars, attrs, blink: (this.attr[0x10] & 0x08) !== 0 };
  }

  /** The text screen as lines of Unicode text (CP437 mapped), trailing spaces kept. */
  textScreen(): string[] {
    const { cols, rows, chars } = this.cells();
    const lines: string[] = [];
    for (let r = 0; r < rows; r++) {
      let s = '';
      for (let c = 0; c < cols; c++) s += CP437_TO_UNICODE[chars[r * cols + c]];
      lines.push(s);
    }
    return lines;
  }

  /** Hardware cursor position relative to the screen start (CR0E/CR0F vs CR0C/CR0D). */
  cursor(): VgaCursor {
    const { cols, rows, stride, start } = this.geometry();
    const c = this.crtc;
    const rel = (((c[0x0e] << 8) | c[0x0f]) - start) & 0xffff;
    const row = Math.floor(rel / stride), col = rel % stride;
    const startLine = c[0x0a] & 0x1f, endLine = c[0x0b] & 0x1f;
    const visible = (c[0x0a] & 0x20) === 0 && startLine <= endLine && row < rows && col < cols && this.isText();
    return { row, col, visible, startLine, endLine };
  }

  /** 0xRRGGBB for the 16 text attribute colours through the attribute controller and DAC. */
  textColors(): Uint32Array {
    const out = new Uint32Array(16);
    const ar10 = this.attr[0x10], ar14 = this.attr[0x14];
    for (let i = 0; i < 16; i++) {
      const p = this.attr[i] & 0x3f;
      let idx = ((ar14 & 0x0c) << 4) | ((ar10 & 0x80) !== 0 ? ((ar14 & 3) << 4) | (p & 0x0f) : p);
      idx &= this.dacMask;
      const to8 = (v: number): number => (v << 2) | (v >> 4);
      out[i] = (to8(this.dac[idx * 3]) << 16) | (to8(this.dac[idx * 3 + 1]) << 8) | to8(this.dac[idx * 3 + 2]);
    }
    return out;
  }

  state(): Record<string, unknown> {
    const hex = (a: Uint8Array, n: number): string => Array.from(a.subarray(0, n), (b) => b.toString(16).padStart(2, '0')).join(' ');
    return {
      misc: this.misc, ioBase: this.colorIo ? 0x3d0 : 0x3b0, text: this.isText(),
      screenOn: (this.attrIndex & 0x20) !== 0 && (this.seq[1] & 0x20) === 0,
      crtcIndex: this.crtcIndex, crtc: hex(this.crtc, 0x19), seqIndex: this.seqIndex, seq: hex(this.seq, 5),
      gcIndex: this.gcIndex, gc: hex(this.gc, 9), attrIndex: this.attrIndex, attrFlipFlop: this.attrData ? 'data' : 'index',
      attr: hex(this.attr, 0x15), dacMask: this.dacMask, dacReadIndex: this.dacReadIndex, dacWriteIndex: this.dacWriteIndex,
      window: [VGA_WINDOW_BASE + this.winLo, VGA_WINDOW_BASE + this.winHi - 1], cursor: this.cursor(), changes: this.changes,
    };
  }
}
