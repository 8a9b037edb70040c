// INT 10h video services for the colour text modes, writing the text buffer at B800:0 and the
// CRTC cursor registers through ports; state lives in the BDA as on a real PC (RBIL INT 10h,
// BDA 0x449-0x466, 0x484-0x48A). Non-text modes are accepted and recorded only.
import { AH, AL, AX, BH, BL, BP, BX, CH, CL, CX, DH, DL, DX, spinAndRetry, type BiosCtx } from './context';
import { BDA, ROM_SEG } from './layout';
import { ROM_OFF } from './rom';
import { programMode3 } from './vga-mode3';
import { Seg } from '../cpu/regs';

const TEXT_BASE = 0xb8000;

export interface VideoOptions {
  /** Mirror teletype output to COM1 (headless runs); default true. */
  mirrorToSerial: boolean;
}

export class Video {
  constructor(private readonly b: BiosCtx, readonly opts: VideoOptions) {}

  private get m() { return this.b.mem; }
  cols(): number { return this.m.read16(BDA.VIDEO_COLS) || 80; }
  rows(): number { return (this.m.read8(BDA.VIDEO_ROWS) || 24) + 1; }
  private pageSize(): number { return this.m.read16(BDA.VIDEO_PAGE_SIZE) || 4096; }
  private cellAddr(page: number, row: number, col: number): number {
    return TEXT_BASE + (page & 7) * this.pageSize() + (row * this.cols() + col) * 2;
  }
  cursor(page: number): { row: number; col: number } {
    const v = this.m.read16(BDA.CURSOR_POS + (page & 7) * 2);
    return { row: v >> 8, col: v & 0xff };
  }

  private crtc(i: number, v: number): void {
    const base = this.m.read16(BDA.CRTC_BASE) || 0x3d4;
    this.b.io.write(base, 1, i); this.b.io.write(base + 1, 1, v & 0xff);
  }

  setCursor(page: number, row: number, col: number): void {
    page &= 7;
    this.m.write16(BDA.CURSOR_POS + page * 2, ((row & 0xff) << 8) | (col & 0xff));
    if (page === this.m.read8(BDA.ACTIVE_PAGE)) {
      const pos = (this.m.read16(BDA.VIDEO_PAGE_START) >> 1) + row * this.cols() + col;
      this.crtc(0x0e, pos >> 8); this.crtc(0x0f, pos);
    }
  }

  /** Sets a text mode: registers, BDA, cleared screen (unless bit 7 of `mode`). */
  setMode(modeByte: number): void {
    const mode = modeByte & 0x7f;
    const m = this.m;
    m.write8(BDA.VIDEO_MODE, mode);
    m.write8(BDA.VIDEO_CTL, (m.read8(BDA.VIDEO_CTL) & 0x7f) | (modeByte & 0x80));
    if (mode > 3 && mode !== 7) return; // graphics modes: recorded only
    programMode3(this.b.io);
    m.write16(BDA.VIDEO_COLS, 80); m.write16(BDA.VIDEO_PAGE_SIZE, 4096); m.write16(BDA.VIDEO_PAGE_START, 0);
    m.write8(BDA.VIDEO_ROWS, 24); m.write16(BDA.CHAR_HEIGHT, 16); m.write8(BDA.ACTIVE_PAGE, 0);
    m.write16(BDA.CRTC_BASE, 0x3d4); m.write8(BDA.VIDEO_MODE_CTL, 0x29); m.write8(BDA.VIDEO_PALETTE, 0x30);
    m.write16(BDA.CURSOR_SHAPE, 0x0d0e); // [15:8] start line 13 | [7:0] end line 14
    for (let p = 0; p < 8; p++) m.write16(BDA.CURSOR_POS + p * 2, 0);
    if ((modeByte & 0x80) === 0) for (let a = TEXT_BASE; a < TEXT_BASE + 0x8000; a += 2) this.b.g.w16(a, 0x0720);
    this.setCursor(0, 0, 0);
  }

  /** Scrolls a window of `page` up (n > 0) or down (n < 0); n = 0 clears it. */
  scroll(page: number, n: number, attr: number, top: number, left: number, bottom: number, right: number, down: boolean): void {
    const cols = this.cols(), rows = this.rows();
    if (right >= cols) right = cols - 1;
    if (bottom >= rows) bottom = rows - 1;
    if (top > bottom || left > right) return;
    const height = bottom - top + 1;
    if (n === 0 || n > height) n = height;
    const g = this.b.g, blank = ((attr & 0xff) << 8) | 0x20;
    for (let i = 0; i < height; i++) {
      const row = down ? bottom - i : top + i;
      const src = down ? row - n : row + n;
      for (let col = left; col <= right; col++) {
        const inside = down ? src >= top : src <= bottom;
        g.w16(this.cellAddr(page, row, col), inside ? g.r16(this.cellAddr(page, src, col)) : blank);
      }
    }
  }

  /** Teletype output of one character on `page` (CR, LF, BS, BEL handled; scrolls). */
  teletype(ch: number, page: number, attr: number | null): void {
    let { row, col } = this.cursor(page);
    const cols = this.cols(), rows = this.rows();
    switch (ch) {
      case 0x0d: col = 0; break;
      case 0x0a: row++; break;
      case 0x08: if (col > 0) col--; break;
      case 0x07: break; // BEL: no speaker beep here
      default: {
        const a = this.cellAddr(page, row, col);
        if (attr === null) this.b.g.w8(a, ch);
        else this.b.g.w16(a, ((attr & 0xff) << 8) | ch);
        if (++col >= cols) { col = 0; row++; }
      }
    }
    if (row >= rows) {
      // Scroll up with the attribute of the character at the cursor (IBM BIOS behaviour).
      const fill = this.b.g.r8(this.cellAddr(page, rows - 1, 0) + 1);
      this.scroll(page, 1, fill, 0, 0, rows - 1, cols - 1, false);
      row = rows - 1;
    }
    this.setCursor(page, row, col);
    if (this.opts.mirrorToSerial) this.serialOut(ch);
  }

  /** Bytes COM1's transmit FIFO can still take since it was last seen empty (16550A: 16). */
  private serialCredit = 0;

  /** True when COM1 can take a byte now (or there is no COM1): LSR [5] THR/FIFO empty. */
  serialReady(): boolean {
    const base = this.m.read16(BDA.COM1);
    if (base === 0 || this.serialCredit > 0) return true;
    if ((this.b.io.read(base + 5, 1) & 0x20) !== 0) this.serialCredit = 16;
    return this.serialCredit > 0;
  }

  /** Writes a byte to COM1 if the FIFO has room; never waits (TS cannot let time pass). */
  serialOut(ch: number): boolean {
    const base = this.m.read16(BDA.COM1);
    if (base === 0) return true;
    if (!this.serialReady()) return false;
    this.b.io.write(base, 1, ch);
    this.serialCredit--;
    return true;
  }

  print(s: string): void {
    for (let i = 0; i < s.length; i++) this.teletype(s.charCodeAt(i), this.m.read8(BDA.ACTIVE_PAGE), null);
  }

  /** INT 10h. */
  service(): void {
    const c = this.b.cpu, r8 = c.r8, m = this.m;
    switch (r8[AH]) {
      case 0x00: this.setMode(r8[AL]); r8[AL] = 0x30; break; // AL = 30h: text mode set (as VGA BIOSes report)
      case 0x01: { // cursor shape: CH start (bit 5 = hidden), CL end
        m.write16(BDA.CURSOR_SHAPE, c.r16[CX]);
        this.crtc(0x0a, r8[CH] & 0x3f); this.crtc(0x0b, r8[CL] & 0x1f);
        break;
      }
      case 0x02: this.setCursor(r8[BH], r8[DH], r8[DL]); break;
      case 0x03: {
        const { row, col } = this.cursor(r8[BH]);
        c.r16[DX] = (row << 8) | col; c.r16[CX] = m.read16(BDA.CURSOR_SHAPE);
        break;
      }
      case 0x05: {
        const p = r8[AL] & 7;
        m.write8(BDA.ACTIVE_PAGE, p);
        m.write16(BDA.VIDEO_PAGE_START, p * this.pageSize());
        const start = (p * this.pageSize()) >> 1;
        this.crtc(0x0c, start >> 8); this.crtc(0x0d, start);
        const cur = this.cursor(p); this.setCursor(p, cur.row, cur.col);
        break;
      }
      case 0x06: case 0x07:
        this.scroll(m.read8(BDA.ACTIVE_PAGE), r8[AL], r8[BH], r8[CH], r8[CL], r8[DH], r8[DL], r8[AH] === 0x07);
        break;
      case 0x08: {
        const { row, col } = this.cursor(r8[BH]);
        c.r16[AX] = this.b.g.r16(this.cellAddr(r8[BH], row, col));
        break;
      }
      case 0x09: case 0x0a: {
        const page = r8[BH], { row, col } = this.cursor(page);
        const total = this.cols() * this.rows();
        let pos = row * this.cols() + col;
        for (let n = c.r16[CX]; n > 0 && pos < total; n--, pos++) {
          const a = TEXT_BASE + (page & 7) * this.pageSize() + pos * 2;
          if (r8[AH] === 0x09) this.b.g.w16(a, (r8[BL] << 8) | r8[AL]); else this.b.g.w8(a, r8[AL]);
        }
        break;
      }
      case 0x0e:
        // COM1 busy: retry the call (the stub loops back to its OUT) so guest time passes.
        if (this.opts.mirrorToSerial && !this.serialReady()) { spinAndRetry(this.b); return; }
        this.teletype(r8[AL], m.read8(BDA.ACTIVE_PAGE), null);
        break;
      case 0x0f: r8[AL] = m.read8(BDA.VIDEO_MODE) | (m.read8(BDA.VIDEO_CTL) & 0x80); r8[AH] = this.cols(); r8[BH] = m.read8(BDA.ACTIVE_PAGE); break;
      case 0x10: break; // palette: accepted
      case 0x11: this.fontInfo(); break;
      case 0x12:
        if (r8[BL] === 0x10) { c.r16[BX] = 0x0003; c.r16[CX] = 0x0009; } // colour, 256 KB, switches 9
        break;
      case 0x13: this.writeString(); break;
      case 0x1a:
        if (r8[AL] === 0x00) { r8[AL] = 0x1a; c.r16[BX] = 0x0008; } // VGA with colour analog display
        break;
      default: break;
    }
  }

  private fontInfo(): void {
    const c = this.b.cpu, r8 = c.r8;
    if (r8[AL] !== 0x30) return;
    // BH: 0 INT 1Fh, 1 INT 43h, 2/5 8x14, 3 8x8, 4 8x8 top half, 6/7 8x16.
    let off: number = ROM_OFF.FONT16;
    switch (r8[BH]) {
      case 0: off = ROM_OFF.FONT8 + 0x400; break;
      case 1: case 3: off = ROM_OFF.FONT8; break;
      case 4: off = ROM_OFF.FONT8 + 0x400; break;
      default: break;
    }
    c.setSegReal(Seg.ES, ROM_SEG, 0xffff, 0x93);
    c.r16[BP] = off;
    c.r16[CX] = this.m.read16(BDA.CHAR_HEIGHT) || 16;
    r8[DL] = this.rows() - 1;
  }

  private writeString(): void {
    const c = this.b.cpu, r8 = c.r8;
    const mode = r8[AL], page = r8[BH];
    const save = this.cursor(page);
    this.setCursor(page, r8[DH], r8[DL]);
    let p = (c.segBase[Seg.ES] + c.r16[BP]) >>> 0;
    for (let n = c.r16[CX]; n > 0; n--) {
      const ch = this.b.g.r8(p++);
      let attr = r8[BL];
      if ((mode & 2) !== 0) attr = this.b.g.r8(p++);
      if (ch === 0x0d || ch === 0x0a || ch === 0x08 || ch === 0x07) this.teletype(ch, page, null);
      else this.teletype(ch, page, attr);
    }
    if ((mode & 1) === 0) this.setCursor(page, save.row, save.col);
  }
}
