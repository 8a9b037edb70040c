// The i440FX host bridge's Programmable Attribute Map (PAM0-PAM6, PCI configuration 0x59-0x5F
// of 00:00.0; Intel 82441FX PMC datasheet §3.2, "PAM[6:0]"; RBIL table 01105). Each nibble
// routes one segment of 0xC0000-0xFFFFF between DRAM and the PCI/ISA side (where the BIOS ROM
// answers): reads go to DRAM when RE is set, writes when WE is set. After reset every nibble is
// 0, so the CPU reads the ROM; a BIOS copies itself into the RAM below ("shadowing") and then
// makes it read-only.
//
//   PAM nibble: [3] reserved | [2] reserved on the 82441FX (cacheability is the MTRRs' job)
//               | [1] WE write enable (DRAM) | [0] RE read enable (DRAM)
//   0x59 PAM0: [7:4] F0000-FFFFF | [3:0] reserved
//   0x5A-0x5F PAM1-PAM6: [3:0] C0000 + 32 KB * n, [7:4] C4000 + 32 KB * n (16 KB each)
//
//   RE WE   reads    writes
//    0  0   ROM      dropped (no PCI device claims them)
//    1  0   DRAM     dropped
//    0  1   ROM      DRAM
//    1  1   DRAM     DRAM
//
// PamShadow applies the registers to PhysicalMemory without per-access work: the RAM buffer
// always holds what reads of a segment return (DRAM, or a copy of the ROM view), and the DRAM
// behind a segment that reads the ROM waits in `dram` until RE is set again. Pages are Ram,
// Rom (read-only) or, for the rare write-only case, MMIO that reads the ROM view and writes the
// hidden DRAM. SMRAM (0x72) routing of 0xA0000-0xBFFFF is not modelled (storage only).
import { PageKind, type MmioDevice, type PhysicalMemory } from '../memory';

/** PAM0; PAM1-PAM6 follow at 0x5A-0x5F. */
export const PAM0 = 0x59;
/** SMRAM control: [6] D_OPEN | [5] D_CLS | [4] D_LCK | [3] G_SMRAME | [2:0] C_BASE_SEG (010). */
export const SMRAM = 0x72;
export const SMRAM_DEFAULT = 0x02;

export enum PamBit { ReadEnable = 1, WriteEnable = 2 }

export interface PamSegment { readonly base: number; readonly size: number; readonly reg: number; readonly shift: number }

/** The routed area: 0xC0000-0xFFFFF. */
export const PAM_AREA_BASE = 0xc0000;
export const PAM_AREA_SIZE = 0x40000;

/** The 13 segments, F0000-FFFFF first, then C0000-EFFFF in 16 KB steps. */
export const PAM_SEGMENTS: readonly PamSegment[] = [
  { base: 0xf0000, size: 0x10000, reg: PAM0, shift: 4 },
  ...Array.from({ length: 12 }, (_, i) => ({ base: 0xc0000 + i * 0x4000, size: 0x4000, reg: PAM0 + 1 + (i >> 1), shift: (i & 1) * 4 })),
];

/** Writable bits of the PAM registers (RE and WE of each implemented nibble). */
export function pamWritableMask(reg: number): number { return reg === PAM0 ? 0x30 : 0x33; }

/** RE/WE of `seg` from the host bridge's configuration bytes. */
export function pamBits(config: Uint8Array, seg: PamSegment): number {
  return (config[seg.reg] >> seg.shift) & (PamBit.ReadEnable | PamBit.WriteEnable);
}

export class PamShadow implements MmioDevice {
  /** DRAM of 0xC0000-0xFFFFF for segments whose reads go to the ROM side. */
  private readonly dram = new Uint8Array(PAM_AREA_SIZE);
  /** What the PCI/ISA side answers: the ROM where it is mapped, all ones elsewhere. */
  private readonly romView = new Uint8Array(PAM_AREA_SIZE).fill(0xff);
  /** Per segment: RE/WE currently applied (-1 before the first apply). */
  private readonly applied = new Int8Array(PAM_SEGMENTS.length).fill(-1);
  /** Per segment: the RAM buffer holds the DRAM contents (true) or the ROM view (false). */
  private readonly dramShown = new Uint8Array(PAM_SEGMENTS.length).fill(1);

  /**
   * `rom` is what the ISA side shows just below 1 MB (it ends at 0xFFFFF); `onRemap` runs after
   * page kinds changed (the machine flushes the CPU's TLB there).
   */
  constructor(private readonly mem: PhysicalMemory, rom: Uint8Array, private readonly onRemap: () => void) {
    if (mem.size < 0x100000) throw new Error(`PAM shadowing needs RAM up to 1 MB (RAM is ${mem.size} bytes)`);
    if (rom.length > PAM_AREA_SIZE) throw new Error(`the ROM alias below 1 MB is at most ${PAM_AREA_SIZE} bytes (got ${rom.length})`);
    this.romView.set(rom, PAM_AREA_SIZE - rom.length);
    mem.registerMmio(PAM_AREA_BASE, PAM_AREA_SIZE, 'i440FX PAM write-only shadow (C0000-FFFFF)', this);
  }

  /** Routes every segment as the host bridge's PAM registers in `config` say. */
  apply(config: Uint8Array): void {
    let changed = false;
    for (let s = 0; s < PAM_SEGMENTS.length; s++) {
      const bits = pamBits(config, PAM_SEGMENTS[s]);
      if (bits === this.applied[s]) continue;
      this.route(s, bits);
      changed = true;
    }
    if (changed) this.onRemap();
  }

  private route(s: number, bits: number): void {
    const seg = PAM_SEGMENTS[s], off = seg.base - PAM_AREA_BASE, mem = this.mem;
    const showDram = (bits & PamBit.ReadEnable) !== 0 ? 1 : 0;
    if (showDram !== this.dramShown[s]) {
      if (showDram === 1) mem.load(seg.base, this.dram.subarray(off, off + seg.size));
      else {
        this.dram.set(mem.u8.subarray(seg.base, seg.base + seg.size), off);
        mem.load(seg.base, this.romView.subarray(off, off + seg.size));
      }
      this.dramShown[s] = showDram;
    }
    const kind = bits === (PamBit.ReadEnable | PamBit.WriteEnable) ? PageKind.Ram
      : bits === PamBit.WriteEnable ? PageKind.Mmio : PageKind.Rom;
    mem.setPageKind(seg.base, seg.size, kind);
    this.applied[s] = bits;
  }

  // MMIO: only pages of write-only (RE = 0, WE = 1) segments are MMIO.
  mmioRead(offset: number, size: number): number {
    const v = this.romView;
    let r = 0;
    for (let i = 0; i < size; i++) r |= v[offset + i] << (8 * i);
    return r >>> 0;
  }
  mmioWrite(offset: number, size: number, value: number): void {
    for (let i = 0; i < size; i++) this.dram[offset + i] = value >>> (8 * i);
  }

  /** The DRAM byte at physical `addr` in 0xC0000-0xFFFFF, wherever it is kept now (tests, debugging). */
  dramByte(addr: number): number {
    const off = addr - PAM_AREA_BASE;
    const s = PAM_SEGMENTS.findIndex((g) => addr >= g.base && addr < g.base + g.size);
    if (s < 0) throw new Error(`0x${addr.toString(16)} is outside the PAM area C0000-FFFFF`);
    return this.dramShown[s] === 1 ? this.mem.u8[addr] : this.dram[off];
  }
}
