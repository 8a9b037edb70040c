// ACPI and MP tables as an OS finds them: RSDP scan of E0000-FFFFF on 16-byte boundaries,
// checksums, MADT processor entries, I/O APIC and IRQ0 override; the MP floating pointer.
import { describe, expect, it } from 'vitest';
import { TestMachine } from './support';

function sum(u8: Uint8Array, at: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i++) s = (s + u8[at + i]) & 0xff;
  return s;
}
const sig = (u8: Uint8Array, at: number, n = 4): string => String.fromCharCode(...u8.subarray(at, at + n));

describe('ACPI and MP tables', () => {
  const m = new TestMachine({ bootOrder: [], cpuCount: 4, memoryBytes: 32 * 1024 * 1024 });
  m.run(); // POST, then 'No bootable device'
  const u8 = m.mem.u8, r32 = (a: number): number => m.mem.read32(a) >>> 0;

  it('has a valid RSDP, RSDT, FADT, DSDT and MADT listing every CPU', () => {
    let rsdp = -1;
    for (let a = 0xe0000; a < 0x100000; a += 16) if (sig(u8, a, 8) === 'RSD PTR ') { rsdp = a; break; }
    expect(rsdp).toBeGreaterThanOrEqual(0xf0000);
    expect(sum(u8, rsdp, 20)).toBe(0);
    const rsdt = r32(rsdp + 16);
    expect(sig(u8, rsdt)).toBe('RSDT');
    const rsdtLen = r32(rsdt + 4);
    expect(sum(u8, rsdt, rsdtLen)).toBe(0);
    const tables = new Map<string, number>();
    for (let p = rsdt + 36; p < rsdt + rsdtLen; p += 4) tables.set(sig(u8, r32(p)), r32(p));
    expect([...tables.keys()].sort()).toEqual(['APIC', 'FACP']);
    for (const a of tables.values()) expect(sum(u8, a, r32(a + 4))).toBe(0);
    // Tables live in the E820 ACPI area at the top of RAM.
    expect(rsdt).toBeGreaterThanOrEqual(32 * 1024 * 1024 - 0x10000);

    const fadt = tables.get('FACP')!;
    expect(r32(fadt + 4)).toBe(116);
    const dsdt = r32(fadt + 40);
    expect(sig(u8, dsdt)).toBe('DSDT');
    expect(sum(u8, dsdt, r32(dsdt + 4))).toBe(0);
    expect(sig(u8, r32(fadt + 36))).toBe('FACS');
    expect(r32(fadt + 36) % 64).toBe(0);
    expect(m.mem.read16(fadt + 46)).toBe(9); // SCI
    expect(r32(fadt + 76)).toBe(0x608); // PM timer

    const madt = tables.get('APIC')!;
    expect(r32(madt + 36)).toBe(0xfee00000);
    const cpus: number[] = []; let ioapic = 0; const overrides: [number, number][] = []; const lapicNmi: [number, number][] = [];
    for (let p = madt + 44; p < madt + r32(madt + 4); p += u8[p + 1]) {
      if (u8[p] === 0) { expect(r32(p + 4) & 1).toBe(1); cpus.push(u8[p + 3]); }
      if (u8[p] === 1) { ioapic = r32(p + 4); expect(r32(p + 8)).toBe(0); expect(u8[p + 2]).toBe(4); } // I/O APIC ID after the 4 CPUs
      if (u8[p] === 2) overrides.push([u8[p + 3], r32(p + 4)]);
      if (u8[p] === 4) lapicNmi.push([u8[p + 2], u8[p + 5]]);
    }
    expect(lapicNmi).toEqual([[0xff, 1]]); // NMI on LINT1 of every processor
    expect(cpus).toEqual([0, 1, 2, 3]);
    expect(ioapic).toBe(0xfec00000);
    expect(overrides).toContainEqual([0, 2]);
  });

  it('has an MP floating pointer and configuration table with N processors', () => {
    let fp = -1;
    for (let a = 0xf0000; a < 0x100000; a += 16) if (sig(u8, a) === '_MP_') { fp = a; break; }
    expect(fp).toBeGreaterThan(0);
    expect(sum(u8, fp, 16)).toBe(0);
    const cfg = r32(fp + 4);
    expect(sig(u8, cfg)).toBe('PCMP');
    const len = m.mem.read16(cfg + 4);
    expect(sum(u8, cfg, len)).toBe(0);
    let p = cfg + 44, cpus = 0, bsp = 0;
    const ints = new Map<number, [number, number, number]>(); // ISA IRQ -> [flags, I/O APIC ID, INTIN]
    for (let i = 0; i < m.mem.read16(cfg + 34); i++) {
      if (u8[p] === 3) ints.set(u8[p + 5], [m.mem.read16(p + 2), u8[p + 6], u8[p + 7]]);
      if (u8[p] === 0) { cpus++; if (u8[p + 3] & 2) bsp++; p += 20; } else p += 8;
    }
    expect(p).toBe(cfg + len);
    // As the MADT has it: IRQ0 on INTIN2, the SCI (IRQ9) level-triggered active high, the
    // other ISA IRQs on their own pins, conforming (edge, active high).
    expect(ints.get(0)).toEqual([0, 4, 2]);
    expect(ints.get(9)).toEqual([0x0d, 4, 9]);
    expect(ints.get(4)).toEqual([0, 4, 4]);
    expect(ints.has(2)).toBe(false);
    expect(cpus).toBe(4);
    expect(bsp).toBe(1);
  });

  it('marks the ACPI area in E820 and reserves the ROM', () => {
    const e = m.fw.e820;
    expect(e.find((x) => x.type === 3)).toEqual({ base: 32 * 1024 * 1024 - 0x10000, length: 0x10000, type: 3 });
    expect(e.find((x) => x.base === 0xf0000)?.type).toBe(2);
  });
});
