// An external BIOS image on the PC: validation, the ROM at the top of 4 GB and below 1 MB, the
// i440FX PAM registers routing 0xC0000-0xFFFFF between ROM and shadow RAM, and the PIIX4 PM
// I/O block a BIOS relocates. (SeaBIOS itself boots in test/boot/seabios.test.ts.)
import { describe, expect, it } from 'vitest';
import { PcMachine } from '../../src/core/platform/machine';
import { validateBiosRom } from '../../src/core/platform/bios-rom';
import { PAM0, PAM_SEGMENTS } from '../../src/core/platform/devices/i440fx-pam';

/** A ROM of `size` bytes: byte i holds (i * 7 + 3) & 0xff, with a reset vector at the end. */
function makeRom(size: number): Uint8Array {
  const rom = new Uint8Array(size);
  for (let i = 0; i < size; i++) rom[i] = (i * 7 + 3) & 0xff;
  // F000:E000 (nasm -f bin, bits 16):
  //   mov ax, 0xf000 / mov ds, ax / mov al, [0] / out 0xe9, al / mov byte [0], 0x55 /
  //   mov al, [0] / out 0xe9, al / cli / hlt
  rom.set([0xb8, 0x00, 0xf0, 0x8e, 0xd8, 0xa0, 0x00, 0x00, 0xe6, 0xe9, 0xc6, 0x06, 0x00, 0x00, 0x55,
    0xa0, 0x00, 0x00, 0xe6, 0xe9, 0xfa, 0xf4], size - 0x2000);
  rom.set([0xea, 0x00, 0xe0, 0x00, 0xf0], size - 16); // FFFF0: jmp 0xf000:0xe000
  return rom;
}

function machine(rom: Uint8Array) {
  const m = new PcMachine({ memoryBytes: 4 << 20, firmware: { rom } });
  const addr = (dev: number, fn: number, reg: number) => 0x80000000 | (dev << 11) | (fn << 8) | (reg & 0xfc);
  const cfgRead8 = (dev: number, fn: number, reg: number) => { m.io.write(0xcf8, 4, addr(dev, fn, reg)); return m.io.read(0xcfc + (reg & 3), 1); };
  const cfgWrite8 = (dev: number, fn: number, reg: number, v: number) => { m.io.write(0xcf8, 4, addr(dev, fn, reg)); m.io.write(0xcfc + (reg & 3), 1, v); };
  const pam = (reg: number, v: number) => cfgWrite8(0, 0, reg, v);
  return { m, cfgRead8, cfgWrite8, pam };
}

describe('BIOS ROM validation', () => {
  it('refuses empty, odd-sized, oversized and blank images with a clear message', () => {
    expect(() => validateBiosRom(new Uint8Array(0))).toThrow(/BIOS ROM is empty/);
    expect(() => validateBiosRom(new Uint8Array(100_000))).toThrow(/100000 bytes is not a multiple of 64 KB/);
    expect(() => validateBiosRom(new Uint8Array(17 << 20))).toThrow(/at most 16 MB/);
    expect(() => validateBiosRom(new Uint8Array(0x10000))).toThrow(/no code at its reset vector.*0x00/);
    expect(() => validateBiosRom(new Uint8Array(0x20000).fill(0xff))).toThrow(/no code at its reset vector.*0xff/);
    expect(() => validateBiosRom(makeRom(0x20000))).not.toThrow();
    expect(() => new PcMachine({ memoryBytes: 4 << 20, firmware: { rom: new Uint8Array(0x8000) } })).toThrow(/multiple of 64 KB/);
  });
});

describe('external BIOS mapping', () => {
  it('maps the whole ROM at the top of 4 GB, read-only', () => {
    const rom = makeRom(0x40000);
    const { m } = machine(rom);
    expect(m.mem.read8(0xfffc0000)).toBe(rom[0]);
    expect(m.mem.read32(0xfffffff0) >>> 0).toBe((rom[0x3fff0] | (rom[0x3fff1] << 8) | (rom[0x3fff2] << 16) | (rom[0x3fff3] << 24)) >>> 0);
    expect(m.mem.read16(0xfffdfffe)).toBe(rom[0x1fffe] | (rom[0x1ffff] << 8));
    m.mem.write32(0xfffc0000, 0);
    expect(m.mem.read8(0xfffc0000)).toBe(rom[0]);
    expect(m.mem.mmioNameOf(0xfffc0000 as never)).toBe('BIOS ROM (top of 4 GB)');
    expect(m.mem.mmioNameOf(0xfffbf000 as never)).toBeUndefined();
  });

  it('shows the last 128 KB below 1 MB after reset (PAM all 0), writes dropped', () => {
    const rom = makeRom(0x40000);
    const { m, cfgRead8 } = machine(rom);
    for (let r = PAM0; r < PAM0 + 7; r++) expect(cfgRead8(0, 0, r)).toBe(0);
    expect(m.mem.read8(0xe0000)).toBe(rom[0x20000]);
    expect(m.mem.read8(0xfffff)).toBe(rom[0x3ffff]);
    expect(m.mem.read8(0xdffff)).toBe(0xff); // below the alias: nothing on the ISA side
    m.mem.write8(0xf0000, rom[0x30000] ^ 0xff);
    expect(m.mem.read8(0xf0000)).toBe(rom[0x30000]);
    const small = machine(makeRom(0x10000)).m; // a 64 KB ROM fills F0000-FFFFF only
    expect(small.mem.read8(0xf0000)).toBe(3);
    expect(small.mem.read8(0xeffff)).toBe(0xff);
  });

  it('starts the CPU at the reset vector through the top of 4 GB and runs on in the F segment', () => {
    const rom = makeRom(0x20000);
    const { m } = machine(rom);
    const e9: number[] = [];
    m.onSerial = (port, b) => { if (port === 'e9') e9.push(b); };
    expect((m.cpu.segBase[1] >>> 0).toString(16)).toBe('ffff0000');
    expect(m.run(10_000)).toBe('halted');
    // Both reads of F000:0000 see the ROM: the write in between was dropped (PAM0 = 0).
    expect(e9).toEqual([rom[0x10000], rom[0x10000]]);
  });
});

describe('i440FX PAM shadowing', () => {
  it('routes reads and writes of each segment as RE/WE say, keeping the DRAM behind the ROM', () => {
    const rom = makeRom(0x20000);
    const { m, pam, cfgRead8 } = machine(rom);
    const ext = m.externalBios!;
    // RE|WE on the F segment: the (zeroed) DRAM below the ROM appears and takes writes.
    pam(PAM0, 0x30);
    expect(cfgRead8(0, 0, PAM0)).toBe(0x30);
    expect(m.mem.read8(0xf0000)).toBe(0);
    // Shadow the ROM the way a BIOS does: copy from the top-of-4GB alias, then make it read-only.
    for (let a = 0xf0000; a < 0x100000; a += 4) m.mem.write32(a, m.mem.read32(0xfffe0000 + (a - 0xe0000)));
    expect(m.mem.read8(0xf1234)).toBe(rom[0x11234]);
    pam(PAM0, 0x10);
    m.mem.write8(0xf1234, 0);
    expect(m.mem.read8(0xf1234)).toBe(rom[0x11234]); // read-only shadow: the write was dropped
    // Back to ROM reads: the ROM shows, the shadow copy waits in DRAM.
    m.mem.write8(0xf2000, 0xaa); // dropped while RE=1/WE=0
    pam(PAM0, 0x30);
    m.mem.write8(0xf2000, 0xaa);
    pam(PAM0, 0x00);
    expect(m.mem.read8(0xf2000)).toBe(rom[0x12000]);
    expect(ext.pam.dramByte(0xf2000)).toBe(0xaa);
    pam(PAM0, 0x10);
    expect(m.mem.read8(0xf2000)).toBe(0xaa);
    // The reserved low nibble of PAM0 does not stick.
    pam(PAM0, 0x0f);
    expect(cfgRead8(0, 0, PAM0)).toBe(0x00);
  });

  it('write-only segments read the ROM and write the DRAM; the 16 KB segments are independent', () => {
    const rom = makeRom(0x20000);
    const { m, pam } = machine(rom);
    pam(0x5e, 0x02); // PAM5 low nibble: E0000-E3FFF write-only; E4000-E7FFF stays ROM
    m.mem.write16(0xe0010, 0xbeef);
    expect(m.mem.read16(0xe0010)).toBe(rom[0x10] | (rom[0x11] << 8));
    m.mem.write8(0xe4000, 0x11);
    expect(m.mem.read8(0xe4000)).toBe(rom[0x4000]);
    pam(0x5e, 0x33);
    expect(m.mem.read16(0xe0010)).toBe(0xbeef);
    expect(m.mem.read8(0xe4000)).toBe(0); // the ROM-side write never reached the DRAM
    expect(PAM_SEGMENTS.map((s) => s.base.toString(16))).toEqual(
      ['f0000', 'c0000', 'c4000', 'c8000', 'cc000', 'd0000', 'd4000', 'd8000', 'dc000', 'e0000', 'e4000', 'e8000', 'ec000']);
  });

  it('takes write permission away from the CPU\'s TLB when a PAM write makes the shadow read-only', () => {
    const { m } = machine(makeRom(0x20000));
    // At 0000:1000 (nasm -f bin, bits 16): mov ax, 0xf000 / mov ds, ax / mov dx, 0xcf8 /
    // mov eax, 0x80000058 / out dx, eax / mov dx, 0xcfd / mov al, 0x30 / out dx, al (PAM0 = RE|WE) /
    // mov byte [0], 0x77 / mov al, 0x10 / out dx, al (PAM0 = RE) / mov byte [0], 0x99 /
    // mov al, [0] / out 0xe9, al / cli / hlt
    m.mem.load(0x1000, Uint8Array.from([0xb8, 0x00, 0xf0, 0x8e, 0xd8, 0xba, 0xf8, 0x0c, 0x66, 0xb8, 0x58, 0x00,
      0x00, 0x80, 0x66, 0xef, 0xba, 0xfd, 0x0c, 0xb0, 0x30, 0xee, 0xc6, 0x06, 0x00, 0x00, 0x77, 0xb0, 0x10, 0xee,
      0xc6, 0x06, 0x00, 0x00, 0x99, 0xa0, 0x00, 0x00, 0xe6, 0xe9, 0xfa, 0xf4]));
    m.cpu.setSegReal(1, 0, 0xffff, 0x9b); m.cpu.eip = 0x1000; m.cpu.invalidateFetch();
    const e9: number[] = [];
    m.onSerial = (port, b) => { if (port === 'e9') e9.push(b); };
    expect(m.run(10_000)).toBe('halted');
    expect(e9).toEqual([0x77]); // the second store hit read-only shadow RAM
    expect(m.mem.read8(0xf0000)).toBe(0x77);
  });

  it('runs the patched shadow copy after a CPU reset', () => {
    const rom = makeRom(0x20000);
    const { m, pam } = machine(rom);
    expect(m.run(10_000)).toBe('halted');
    // Shadow to RAM and patch the first OUT's port: the CPU must fetch the RAM copy now.
    pam(PAM0, 0x30);
    for (let a = 0xf0000; a < 0x100000; a++) m.mem.write8(a, rom[a - 0xe0000]);
    m.mem.write8(0xfe009, 0x80); // out 0xe9 -> out 0x80 (POST code port)
    pam(PAM0, 0x10);
    const e9: number[] = [];
    m.onSerial = (port, b) => { if (port === 'e9') e9.push(b); };
    m.cpu.reset();
    expect(m.run(10_000)).toBe('halted');
    expect(m.post.last).toBe(rom[0x10000]);
    expect(e9).toEqual([rom[0x10000]]);
  });
});

describe('PIIX4 power management I/O block', () => {
  it('moves the PM timer when PMBA is reprogrammed and stops decoding when PMIOSE is clear', () => {
    const { m, cfgRead8, cfgWrite8 } = machine(makeRom(0x20000));
    expect(m.io.nameOf(0x608)).toBe('ACPI PM timer');
    cfgWrite8(1, 3, 0x41, 0xb0); // PMBA = 0xB000 | 1 (as SeaBIOS programs it without fw_cfg)
    expect(cfgRead8(1, 3, 0x40)).toBe(0x01); // [0] reads 1: I/O space
    expect(m.io.nameOf(0x608)).toBeUndefined();
    expect(m.io.read(0x608, 4)).toBe(0xffffffff);
    expect(m.io.nameOf(0xb008)).toBe('ACPI PM timer');
    const t0 = m.io.read(0xb008, 4);
    m.mem.write16(0x1000, 0xfeeb); // jmp $ at 0000:1000, so 20 ms of virtual time pass
    m.cpu.setSegReal(1, 0, 0xffff, 0x9b); m.cpu.eip = 0x1000; m.cpu.invalidateFetch();
    expect(m.run(2_000_000)).toBe('budget');
    expect(m.io.read(0xb008, 4) - t0).toBeGreaterThan(35_000);
    cfgWrite8(1, 3, 0x80, 0); // PMIOSE off
    expect(m.io.nameOf(0xb008)).toBeUndefined();
    cfgWrite8(1, 3, 0x80, 1);
    expect(m.io.nameOf(0xb008)).toBe('ACPI PM timer');
    // A base on top of another device: the block stays unmapped rather than stealing ports.
    cfgWrite8(1, 3, 0x41, 0x03); cfgWrite8(1, 3, 0x40, 0xc1); // 0x3C0: PM timer at 0x3C8, the VGA's
    expect(m.io.nameOf(0x3c8)).not.toBe('ACPI PM timer');
    expect(m.io.nameOf(0xb008)).toBeUndefined();
  });

  it('reports SMM as set up already (APMC_EN), since the CPU has no SMM', () => {
    const { cfgRead8 } = machine(makeRom(0x20000));
    expect(cfgRead8(1, 3, 0x5b) & 0x02).toBe(0x02);
  });
});

describe('reset control register (0xCF9)', () => {
  it('restarts the CPU at the ROM\'s reset vector, A20 on, shadow RAM kept', () => {
    const rom = makeRom(0x20000);
    const { m, pam } = machine(rom);
    expect(m.run(10_000)).toBe('halted');
    pam(PAM0, 0x30); // shadow the F segment, with one byte changed
    for (let a = 0xf0000; a < 0x100000; a++) m.mem.write8(a, rom[a - 0xe0000]);
    m.mem.write8(0xf0000, 0x5a);
    m.io.write(0x92, 1, 0); m.kbc.ioWrite(4, 1, 0xdd); // A20 off through both gates
    expect(m.mem.a20Mask).toBe(0xffefffff | 0);
    m.io.write(0xcf9, 1, 0x02); // SRST: hard reset selected, nothing happens yet
    expect(m.io.read(0xcf9, 1)).toBe(0x02);
    expect(m.resetRequested).toBe(false);
    m.io.write(0xcf9, 1, 0x06); // RCPU 0 -> 1
    expect(m.resetRequested).toBe(true);
    expect(m.io.read(0xcf9, 1)).toBe(0x02); // RCPU reads back 0
    expect(m.mem.a20Mask).toBe(0xffffffff | 0);
    expect((m.cpu.segBase[1] >>> 0).toString(16)).toBe('ffff0000');
    expect(m.cpu.eip).toBe(0xfff0);
    expect(m.mem.read8(0xf0000)).toBe(0x5a); // PAM and shadow RAM survive (warm reset)
    const e9: number[] = [];
    m.onSerial = (port, b) => { if (port === 'e9') e9.push(b); };
    expect(m.run(10_000)).toBe('halted');
    // The code ran again from the RAM shadow, and PAM0 = 0x30 (kept) let its store land there.
    expect(e9).toEqual([0x5a, 0x55]);
  });
});
