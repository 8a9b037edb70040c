import { describe, expect, it } from 'vitest';
import { IoBus } from '../../src/core/platform/io-bus';
import { PhysicalMemory } from '../../src/core/platform/memory';
import { Dma8237 } from '../../src/core/platform/devices/dma8237';

function setup() {
  const io = new IoBus();
  const mem = new PhysicalMemory(1 << 21);
  const dma = new Dma8237(mem);
  dma.registerPorts(io);
  return { io, mem, dma };
}

/** Programs an 8-bit channel the way a BIOS does: mask, clear flip-flop, mode, address, page, count, unmask. */
function program8(io: IoBus, ch: number, mode: number, phys: number, count: number): void {
  const page = [0x87, 0x83, 0x81, 0x82][ch];
  io.write(0x0a, 1, 4 | ch);
  io.write(0x0c, 1, 0);
  io.write(0x0b, 1, mode | ch);
  io.write(ch * 2, 1, phys & 0xff);
  io.write(ch * 2, 1, (phys >> 8) & 0xff);
  io.write(page, 1, (phys >> 16) & 0xff);
  io.write(ch * 2 + 1, 1, (count - 1) & 0xff);
  io.write(ch * 2 + 1, 1, ((count - 1) >> 8) & 0xff);
  io.write(0x0a, 1, ch);
}

describe('8237A DMA pair', () => {
  it('reads back current address and count low/high through the flip-flop', () => {
    const { io } = setup();
    program8(io, 2, 0x44, 0x12345, 0x200);
    io.write(0x0c, 1, 0);
    expect(io.read(0x04, 1) | (io.read(0x04, 1) << 8)).toBe(0x2345);
    expect(io.read(0x05, 1) | (io.read(0x05, 1) << 8)).toBe(0x1ff);
    expect(io.read(0x81, 1)).toBe(0x01);
  });

  it('moves device bytes to memory, stops at terminal count, sets TC (cleared on read) and masks itself', () => {
    const { io, mem, dma } = setup();
    program8(io, 2, 0x44, 0x20000, 4); // single, write to memory
    const src = new Uint8Array([1, 2, 3, 4, 5, 6]);
    expect(dma.writeToMemory(2, src, 0, 6)).toBe(4);
    expect(dma.lastTransferHitTc).toBe(true);
    expect(Array.from(mem.u8.subarray(0x20000, 0x20006))).toEqual([1, 2, 3, 4, 0, 0]);
    expect(io.read(0x08, 1) & 0x0f).toBe(0x04);
    expect(io.read(0x08, 1) & 0x0f).toBe(0);
    expect(dma.ready(2)).toBe(false); // masked at TC (no auto-init)
    expect(io.read(0x0f, 1) & 0x04).toBe(0x04);
    expect(dma.writeToMemory(2, src, 0, 1)).toBe(0);
  });

  it('wraps an 8-bit channel inside its 64 KB page (the page register does not carry)', () => {
    const { io, mem, dma } = setup();
    program8(io, 1, 0x44, 0x3fffe, 4);
    dma.writeToMemory(1, new Uint8Array([0xa1, 0xa2, 0xa3, 0xa4]), 0, 4);
    expect(mem.u8[0x3fffe]).toBe(0xa1);
    expect(mem.u8[0x3ffff]).toBe(0xa2);
    expect(mem.u8[0x30000]).toBe(0xa3); // not 0x40000
    expect(mem.u8[0x40000]).toBe(0);
  });

  it('auto-initialize reloads the base registers at TC and keeps the channel unmasked', () => {
    const { io, mem, dma } = setup();
    mem.u8.set([9, 8, 7], 0x5000);
    program8(io, 3, 0x58, 0x5000, 2); // single, read from memory, auto-init
    const dst = new Uint8Array(4);
    expect(dma.readFromMemory(3, dst, 0, 4)).toBe(2);
    expect(dma.readFromMemory(3, dst, 2, 2)).toBe(2);
    expect(Array.from(dst)).toEqual([9, 8, 9, 8]);
    expect(dma.ready(3)).toBe(true);
  });

  it('verify transfers count without touching memory; decrement mode walks down', () => {
    const { io, mem, dma } = setup();
    program8(io, 2, 0x40, 0x6000, 2); // verify
    expect(dma.writeToMemory(2, new Uint8Array([5, 5]), 0, 2)).toBe(2);
    expect(mem.u8[0x6000]).toBe(0);
    program8(io, 2, 0x64, 0x6001, 2); // write, decrement
    dma.writeToMemory(2, new Uint8Array([1, 2]), 0, 2);
    expect(mem.u8[0x6001]).toBe(1);
    expect(mem.u8[0x6000]).toBe(2);
  });

  it('16-bit channels count words at word addresses; master clear masks everything', () => {
    const { io, mem, dma } = setup();
    io.write(0xd4, 1, 4 | 1); // mask ch5
    io.write(0xd8, 1, 0); // clear flip-flop
    io.write(0xd6, 1, 0x44 | 1); // ch5 single write
    io.write(0xc4, 1, 0x00); io.write(0xc4, 1, 0x08); // word address 0x0800 -> byte 0x1000
    io.write(0x8b, 1, 0x03); // page: 0x30000 (bit 0 ignored -> 0x20000)
    io.write(0xc6, 1, 1); io.write(0xc6, 1, 0); // 2 words
    io.write(0xd4, 1, 1);
    expect(dma.writeToMemory(5, new Uint8Array([1, 2, 3, 4, 5, 6]), 0, 6)).toBe(4);
    expect(Array.from(mem.u8.subarray(0x21000, 0x21005))).toEqual([1, 2, 3, 4, 0]);
    expect(io.read(0xd0, 1) & 2).toBe(2); // TC for ch5 in DMA2's status
    io.write(0xd4, 1, 1);
    io.write(0x0e, 1, 0); // unmask all on DMA1
    expect(io.read(0x0f, 1) & 0xf).toBe(0);
    io.write(0x0d, 1, 0); // master clear
    expect(io.read(0x0f, 1) & 0xf).toBe(0xf);
    expect(dma.ready(2)).toBe(false);
  });

  it('a disabled controller or a mismatched direction moves nothing into memory', () => {
    const { io, mem, dma } = setup();
    program8(io, 2, 0x48, 0x7000, 4); // read from memory, but the device writes
    expect(dma.writeToMemory(2, new Uint8Array([1, 2]), 0, 2)).toBe(2);
    expect(mem.u8[0x7000]).toBe(0);
    io.write(0x08, 1, 0x04); // controller disable
    expect(dma.writeToMemory(2, new Uint8Array([1]), 0, 1)).toBe(0);
  });
});
