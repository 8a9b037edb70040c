// Linux boot protocol loader: header parsing, placement, fields written back, entry state, and
// a synthetic setup stub that runs from 9020:0000 and prints the command line it was given.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { applyBzImage, parseSetupHeader, planBzImage } from '../../src/core/loaders/bzimage';
import { defaultE820 } from '../../src/core/loaders/e820';
import { ImageFormatError } from '../../src/core/loaders/errors';
import { loadImage } from '../../src/core/loaders/index';
import { Seg } from '../../src/core/cpu/regs';
import { bareMachine, syntheticBzImage } from './support';

const MEM = 64 << 20;
const e820 = defaultE820(MEM);

describe('bzImage setup header', () => {
  it('parses the fields of the setup header', () => {
    const h = parseSetupHeader(syntheticBzImage());
    expect(h).toMatchObject({ setupSects: 4, version: 0x20f, loadflags: 1, code32Start: 0x100000, initrdAddrMax: 0x7fffffff, cmdlineSize: 255, relocatable: true, initSize: 0x300000 });
    expect(h.kernelVersion).toMatch(/^6\.1\.0-vmxlab/);
  });

  it('refuses kernels older than protocol 2.02, zImages and truncated files with clear messages', () => {
    expect(() => planBzImage(syntheticBzImage(0x201), { memoryBytes: MEM, e820 })).toThrow(/kernel too old: boot protocol 2\.01/);
    expect(() => planBzImage(syntheticBzImage(0x20f, 0), { memoryBytes: MEM, e820 })).toThrow(/LOADED_HIGH/);
    const img = syntheticBzImage();
    expect(() => planBzImage(img.subarray(0, 0x230), { memoryBytes: MEM, e820 })).toThrow(/truncated kernel header/);
    expect(() => planBzImage(img.subarray(0, 2560), { memoryBytes: MEM, e820 })).toThrow(/truncated kernel: setup_sects = 4 needs 2560 bytes/);
  });

  it('refuses a command line longer than cmdline_size and an initrd that does not fit', () => {
    expect(() => planBzImage(syntheticBzImage(), { cmdline: 'x'.repeat(256), memoryBytes: MEM, e820 })).toThrow(/cmdline_size = 255/);
    let e: unknown = null;
    try { planBzImage(syntheticBzImage(), { initrd: new Uint8Array(62 << 20), memoryBytes: MEM, e820 }); } catch (x) { e = x; }
    expect(e).toBeInstanceOf(ImageFormatError);
    expect((e as Error).message).toMatch(/initrd too large for memory: 65011712 bytes/);
  });
});

describe('bzImage placement and entry', () => {
  it('writes the header fields back, places kernel, command line and initrd, and enters at 9020:0000', () => {
    const initrd = new Uint8Array(10000).map((_, i) => (i * 7) & 0xff);
    const plan = planBzImage(syntheticBzImage(), { cmdline: 'console=ttyS0 root=/dev/ram0', initrd, memoryBytes: MEM, e820 });
    // Initrd: top of RAM (64 MB), 4 KB aligned, below initrd_addr_max.
    expect(plan.initrdAddr).toBe(Math.floor((MEM - 10000) / 4096) * 4096);
    const m = bareMachine(MEM);
    m.mem.u8.fill(0xcc, 0x90000, 0xa0000); // stale data the loader must clear
    applyBzImage(plan, m.cpu);
    const u8 = m.mem.u8, rd32 = (a: number): number => m.mem.read32(a) >>> 0;
    expect(u8[0x90000 + 0x210]).toBe(0xff); // type_of_loader
    expect(u8[0x90000 + 0x211]).toBe(0x81); // LOADED_HIGH | CAN_USE_HEAP
    expect(m.mem.read16(0x90000 + 0x224)).toBe(0xe000 - 0x200); // heap_end_ptr
    expect(rd32(0x90000 + 0x228)).toBe(0x9e000); // cmd_line_ptr
    expect(rd32(0x90000 + 0x218)).toBe(plan.initrdAddr); // ramdisk_image
    expect(rd32(0x90000 + 0x21c)).toBe(10000); // ramdisk_size
    expect(m.mem.read16(0x90000 + 0x1fa)).toBe(0xffff); // vid_mode normal
    expect(String.fromCharCode(...u8.subarray(0x9e000, 0x9e000 + 28))).toBe('console=ttyS0 root=/dev/ram0');
    expect(u8[0x9e000 + 28]).toBe(0);
    expect(String.fromCharCode(...u8.subarray(0x100000, 0x100006))).toBe('KERNEL');
    expect(u8[0x100000 + 99999]).toBe(0x90);
    expect(u8.subarray(plan.initrdAddr, plan.initrdAddr + 10000)).toEqual(initrd);
    expect(u8[0x90000 + 0x3000]).toBe(0); // heap area cleared
    const c = m.cpu;
    expect([c.segSel[Seg.CS], c.eip, c.segSel[Seg.DS], c.segSel[Seg.ES], c.segSel[Seg.SS], c.segSel[Seg.FS], c.segSel[Seg.GS]])
      .toEqual([0x9020, 0, 0x9000, 0x9000, 0x9000, 0x9000, 0x9000]);
    expect(c.r16[4 * 2]).toBe(0xe000); // SP = heap end
    expect(c.getFlags() & 0x200).toBe(0); // IF = 0
    m.run(10_000);
    expect(m.out()).toBe('\xffconsole=ttyS0 root=/dev/ram0');
    expect(m.exitCode()).toBe(7);
  });

  it('keeps the initrd below initrd_addr_max + 1 and inside usable E820 RAM', () => {
    const img = syntheticBzImage();
    img[0x22c] = 0xff; img[0x22d] = 0xff; img[0x22e] = 0xff; img[0x22f] = 0x01; // initrd_addr_max = 0x01FFFFFF
    const plan = planBzImage(img, { initrd: new Uint8Array(5000), memoryBytes: MEM, e820 });
    expect(plan.initrdAddr).toBe(0x2000000 - 8192);
    // An E820 hole at the top: RAM ends at 48 MB (e.g. ACPI tables above).
    const holey = [...defaultE820(48 << 20), { base: 48 << 20, length: 16 << 20, type: 2 }];
    const p2 = planBzImage(syntheticBzImage(), { initrd: new Uint8Array(5000), memoryBytes: MEM, e820: holey });
    expect(p2.initrdAddr).toBe((48 << 20) - 8192);
  });

  it('loadImage gives a kernel boot whose enter() is the boot override', () => {
    const r = loadImage(syntheticBzImage(), { name: 'vmlinuz', cmdline: 'quiet', memoryBytes: MEM });
    expect(r.kind).toBe('kernel');
    if (r.kind !== 'kernel') return;
    expect(r.detected.evidence).toMatch(/HdrS magic at 0x202, protocol 2\.15/);
    expect(r.summary).toMatch(/setup at 0x90000, kernel 100000 bytes at 0x100000/);
    const m = bareMachine(MEM);
    r.enter(m.cpu);
    m.run(10_000);
    expect(m.out()).toBe('\xffquiet');
  });
});

describe('Debian kernels (skipped when the packages are not installed)', () => {
  const files = [
    ['/boot/memtest86+ia32.bin', 'memtest86+'],
    ['/usr/lib/ipxe/ipxe.lkrn', 'ipxe'],
  ] as const;
  for (const [path, pkg] of files) {
    it.skipIf(!existsSync(path))(`${path} (package ${pkg}) plans and loads as a bzImage`, () => {
      const img = new Uint8Array(readFileSync(path));
      const r = loadImage(img, { name: path, cmdline: 'console=ttyS0', initrd: new Uint8Array(4096), memoryBytes: MEM });
      expect(r.detected.kind).toBe('bzimage');
      const plan = planBzImage(img, { cmdline: 'console=ttyS0', memoryBytes: MEM, e820 });
      const m = bareMachine(MEM);
      applyBzImage(plan, m.cpu);
      expect(m.mem.u8[0x90000 + 0x210]).toBe(0xff);
      expect(m.mem.read32(0x90000 + 0x228)).toBe(0x9e000);
      const setupLen = (plan.header.setupSects + 1) * 512;
      expect(m.mem.u8.subarray(0x100000, 0x100000 + 64)).toEqual(img.subarray(setupLen, setupLen + 64));
    });
    if (!existsSync(path)) it(`notes that ${path} is absent`, () => { console.log(`skipped: ${path} not present (apt-get install ${pkg})`); });
  }
});
