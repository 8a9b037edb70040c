// The PC/AT ISA DMA controllers: two Intel 8237A in cascade plus the 74LS612 page registers.
// Source: Intel 8237A datasheet; IBM PC AT Technical Reference (DMA, page registers).
//
//   DMA1 (8-bit, channels 0-3)  ports 0x00-0x0F, one register per port
//   DMA2 (16-bit, channels 4-7) ports 0xC0-0xDF, one register per even port (index = offset >> 1)
//   page registers              ports 0x81-0x8F (0x80 is left to the POST-code port)
//
//   register  read                     write
//   0-7       channel 0-3 current      channel 0-3 base+current address (even) / count (odd),
//             address / count          low byte then high byte through the byte-pointer flip-flop
//   8         status                   command
//   9         -                        request
//   A         -                        single mask bit     [2] set/clear | [1:0] channel
//   B         -                        mode
//   C         -                        clear byte-pointer flip-flop
//   D         temporary (reads 0)      master clear
//   E         -                        clear all mask bits
//   F         all mask bits (chipset)  write all mask bits [3:0]
//
//   command   [7] DACK active high | [6] DREQ active low | [5] extended write | [4] rotating
//             priority | [3] compressed timing | [2] controller disable | [1] ch0 address hold |
//             [0] memory-to-memory
//   mode      [7:6] 00 demand, 01 single, 10 block, 11 cascade | [5] address decrement |
//             [4] auto-initialize | [3:2] 00 verify, 01 write (device -> memory),
//             10 read (memory -> device), 11 illegal | [1:0] channel
//   status    [7:4] request pending ch3-0 | [3:0] terminal count reached ch3-0 (cleared on read)
//
// Page registers (AT): ch0 0x87, ch1 0x83, ch2 0x81, ch3 0x82, ch5 0x8B, ch6 0x89, ch7 0x8A
// (0x8F, ch4's slot, is the refresh page). An 8-bit channel addresses page<<16 | address and
// its 16-bit address wraps inside the 64 KB page (the page register does not increment). A
// 16-bit channel counts words: address (page & 0xFE)<<16 | address<<1, wrapping inside 128 KB.
//
// Devices move data with `writeToMemory` / `readFromMemory`, which transfer until the device's
// buffer is done or the channel reaches terminal count (count wraps from 0 to 0xFFFF). At
// terminal count the status TC bit is set, and the channel either reloads its base registers
// (auto-initialize) or masks itself, as the 8237A does. Memory-to-memory transfers and the
// DREQ/DACK priority logic are not modelled: a device asks, the controller answers at once.
import type { IoBus, PortDevice } from '../io-bus';
import type { PhysicalMemory } from '../memory';

export const DMA_MODE_VERIFY = 0, DMA_MODE_WRITE = 1, DMA_MODE_READ = 2;

/** Page register slot (port - 0x80) for each channel. */
const PAGE_SLOT = [7, 3, 1, 2, 15, 11, 9, 10];

class Channel {
  baseAddr = 0; baseCount = 0; curAddr = 0; curCount = 0; mode = 0;
  get transferType(): number { return (this.mode >> 2) & 3; }
  get autoInit(): boolean { return (this.mode & 0x10) !== 0; }
  get decrement(): boolean { return (this.mode & 0x20) !== 0; }
  get cascade(): boolean { return (this.mode & 0xc0) === 0xc0; }
}

/** One 8237A: four channels, command/status/mask/request, the byte-pointer flip-flop. */
class Controller implements PortDevice {
  readonly ch = [new Channel(), new Channel(), new Channel(), new Channel()];
  command = 0;
  /** [3:0] TC reached, [7:4] software requests. */
  status = 0;
  mask = 0xf;
  flipFlop = false;

  constructor(readonly shift: number) {}

  reset(): void {
    // Master clear: command, status, request and flip-flop cleared, all channels masked.
    this.command = 0; this.status = 0; this.mask = 0xf; this.flipFlop = false;
  }

  ioRead(offset: number): number {
    if ((offset & ((1 << this.shift) - 1)) !== 0) return 0xff;
    const reg = offset >> this.shift;
    if (reg < 8) {
      const c = this.ch[reg >> 1];
      const v = (reg & 1) === 0 ? c.curAddr : c.curCount;
      const hi = this.flipFlop;
      this.flipFlop = !hi;
      return hi ? (v >> 8) & 0xff : v & 0xff;
    }
    switch (reg) {
      case 8: { const s = this.status; this.status &= 0xf0; return s; }
      case 0xf: return 0xf0 | this.mask;
      default: return 0; // temporary register and write-only ports
    }
  }

  ioWrite(offset: number, _size: number, value: number): void {
    if ((offset & ((1 << this.shift) - 1)) !== 0) return;
    const reg = offset >> this.shift;
    value &= 0xff;
    if (reg < 8) {
      const c = this.ch[reg >> 1];
      const hi = this.flipFlop;
      this.flipFlop = !hi;
      if ((reg & 1) === 0) {
        c.baseAddr = hi ? (c.baseAddr & 0xff) | (value << 8) : (c.baseAddr & 0xff00) | value;
        c.curAddr = c.baseAddr;
      } else {
        c.baseCount = hi ? (c.baseCount & 0xff) | (value << 8) : (c.baseCount & 0xff00) | value;
        c.curCount = c.baseCount;
      }
      return;
    }
    switch (reg) {
      case 8: this.command = value; break;
      case 9: { // request register: [2] set | [1:0] channel
        const bit = 0x10 << (value & 3);
        this.status = (value & 4) !== 0 ? this.status | bit : this.status & ~bit;
        break;
      }
      case 0xa: {
        const bit = 1 << (value & 3);
        this.mask = (value & 4) !== 0 ? this.mask | bit : this.mask & ~bit;
        break;
      }
      case 0xb: this.ch[value & 3].mode = value; break;
      case 0xc: this.flipFlop = false; break;
      case 0xd: this.reset(); break;
      case 0xe: this.mask = 0; break;
      case 0xf: this.mask = value & 0xf; break;
    }
  }
}

/** Page registers at 0x81-0x8F (offset 0 = port 0x81). */
class PageRegisters implements PortDevice {
  readonly regs = new Uint8Array(16);
  ioRead(offset: number): number { return this.regs[offset + 1]; }
  ioWrite(offset: number, _size: number, value: number): void { this.regs[offset + 1] = value & 0xff; }
}

export interface DmaChannelState {
  channel: number; baseAddr: number; baseCount: number; curAddr: number; curCount: number;
  page: number; mode: number; masked: boolean; tc: boolean; physAddr: number;
}

export class Dma8237 {
  readonly dma1 = new Controller(0);
  readonly dma2 = new Controller(1);
  readonly pages = new PageRegisters();

  constructor(private readonly mem: PhysicalMemory) {}

  /** Claims 0x00-0x0F, 0xC0-0xDF and 0x81-0x8F. */
  registerPorts(io: IoBus): void {
    io.register(0x00, 16, 'DMA1 8237A (ch 0-3)', this.dma1);
    io.register(0xc0, 32, 'DMA2 8237A (ch 4-7)', this.dma2);
    io.register(0x81, 15, 'DMA page registers', this.pages);
  }

  reset(): void {
    for (const k of [this.dma1, this.dma2]) for (const c of k.ch) { c.baseAddr = c.baseCount = c.curAddr = c.curCount = c.mode = 0; }
    this.dma1.reset();
    this.dma2.reset();
    this.pages.regs.fill(0);
  }

  private ctl(channel: number): Controller { return channel < 4 ? this.dma1 : this.dma2; }

  /** True when `channel` would answer a DREQ (unmasked, controller enabled, not cascade). */
  ready(channel: number): boolean {
    const k = this.ctl(channel), c = k.ch[channel & 3];
    return (k.mask & (1 << (channel & 3))) === 0 && (k.command & 4) === 0 && !c.cascade;
  }

  /** Programmed transfer type of `channel` (DMA_MODE_VERIFY / _WRITE / _READ, 3 = illegal). */
  transferType(channel: number): number { return this.ctl(channel).ch[channel & 3].transferType; }

  /** Bytes left before terminal count (count + 1 units). */
  remaining(channel: number): number {
    const c = this.ctl(channel).ch[channel & 3];
    return (c.curCount + 1) << (channel < 4 ? 0 : 1);
  }

  /** Device -> memory (a DMA "write" transfer): moves up to `len` bytes of `src` from `off`.
   * Returns the bytes taken; fewer than `len` when terminal count ends the transfer. */
  writeToMemory(channel: number, src: Uint8Array, off: number, len: number): number {
    return this.transfer(channel, src, off, len, true);
  }

  /** Memory -> device (a DMA "read" transfer): fills up to `len` bytes of `dst` from `off`. */
  readFromMemory(channel: number, dst: Uint8Array, off: number, len: number): number {
    return this.transfer(channel, dst, off, len, false);
  }

  /** True when the most recent `writeToMemory`/`readFromMemory` call ended at terminal count. */
  lastTransferHitTc = false;

  private transfer(channel: number, buf: Uint8Array, off: number, len: number, toMemory: boolean): number {
    this.lastTransferHitTc = false;
    if (channel < 0 || channel > 7 || channel === 4 || !this.ready(channel)) return 0;
    const k = this.ctl(channel), idx = channel & 3, c = k.ch[idx];
    const wide = channel >= 4;
    const page = this.pages.regs[PAGE_SLOT[channel]];
    const type = c.transferType;
    // The device's direction must match the programmed one; otherwise the bus cycle moves
    // nothing useful (memory is not written, the device reads a floating bus).
    const memWrite = toMemory && type === DMA_MODE_WRITE;
    const memRead = !toMemory && type === DMA_MODE_READ;
    const mem = this.mem;
    let done = 0;
    while (done < len) {
      const phys = wide ? ((page & 0xfe) << 16) | (c.curAddr << 1) : (page << 16) | c.curAddr;
      if (wide) {
        if (memWrite) { mem.write8(phys, buf[off + done]); if (done + 1 < len) mem.write8(phys + 1, buf[off + done + 1]); }
        if (!toMemory) {
          const lo = memRead ? mem.read8(phys) : 0xff, hi = memRead ? mem.read8(phys + 1) : 0xff;
          buf[off + done] = lo;
          if (done + 1 < len) buf[off + done + 1] = hi;
        }
        done += 2;
      } else {
        if (memWrite) mem.write8(phys, buf[off + done]);
        else if (!toMemory) buf[off + done] = memRead ? mem.read8(phys) : 0xff;
        done += 1;
      }
      c.curAddr = (c.decrement ? c.curAddr - 1 : c.curAddr + 1) & 0xffff;
      c.curCount = (c.curCount - 1) & 0xffff;
      if (c.curCount === 0xffff) { // terminal count
        k.status |= 1 << idx;
        k.status &= ~(0x10 << idx);
        this.lastTransferHitTc = true;
        if (c.autoInit) { c.curAddr = c.baseAddr; c.curCount = c.baseCount; } else k.mask |= 1 << idx;
        break;
      }
    }
    return done > len ? len : done;
  }

  state(): { dma1: { command: number; status: number; mask: number }; dma2: { command: number; status: number; mask: number }; channels: DmaChannelState[] } {
    const channels: DmaChannelState[] = [];
    for (let n = 0; n < 8; n++) {
      const k = this.ctl(n), c = k.ch[n & 3], page = this.pages.regs[PAGE_SLOT[n]];
      channels.push({
        channel: n, baseAddr: c.baseAddr, baseCount: c.baseCount, curAddr: c.curAddr, curCount: c.curCount,
        page, mode: c.mode, masked: (k.mask & (1 << (n & 3))) !== 0, tc: (k.status & (1 << (n & 3))) !== 0,
        physAddr: n < 4 ? (page << 16) | c.curAddr : ((page & 0xfe) << 16) | (c.curAddr << 1),
      });
    }
    const s = (k: Controller) => ({ command: k.command, status: k.status, mask: k.mask });
    return { dma1: s(this.dma1), dma2: s(this.dma2), channels };
  }
}
