// Intel MultiProcessor Specification 1.4 tables (§4): the MP floating pointer structure and the
// MP configuration table with processor, bus, I/O APIC, I/O interrupt and local interrupt
// entries. A fallback for OSes that do not use ACPI; both live in the BIOS ROM.
import { IOAPIC_BASE, LAPIC_BASE, SCI_IRQ, ioApicId as ioApicIdFor } from './acpi';
import { checksum, put16, put32, putStr } from './table-util';
import { LAPIC_VERSION } from '../platform/devices/lapic';
import { IOAPIC_VERSION } from '../platform/devices/ioapic';

export interface MpTables { floating: Uint8Array; config: Uint8Array }

/** `configAddr`: physical address where `config` is placed. `cpuSignature`: CPUID.1 EAX. */
export function buildMp(configAddr: number, cpuCount: number, cpuSignature: number, cpuFeatures: number): MpTables {
  const entries: number[][] = [];
  for (let i = 0; i < cpuCount; i++) {
    // Processor entry (20 bytes): type 0, LAPIC ID, LAPIC version, flags [0] EN | [1] BP,
    // signature, feature flags, 8 reserved.
    const e = new Uint8Array(20);
    e[0] = 0; e[1] = i; e[2] = LAPIC_VERSION & 0xff; e[3] = i === 0 ? 3 : 1;
    put32(e, 4, cpuSignature); put32(e, 8, cpuFeatures);
    entries.push(Array.from(e));
  }
  const bus = new Uint8Array(8); bus[0] = 1; bus[1] = 0; putStr(bus, 2, 'ISA', 6); entries.push(Array.from(bus));
  const ioapicId = ioApicIdFor(cpuCount);
  const io = new Uint8Array(8); io[0] = 2; io[1] = ioapicId; io[2] = IOAPIC_VERSION & 0xff; io[3] = 1; put32(io, 4, IOAPIC_BASE); entries.push(Array.from(io));
  // I/O interrupt entries: type 3, interrupt type 0 (INT), flags (16 bits: [1:0] polarity,
  // [3:2] trigger; 0 = conforms to the bus, ISA: edge, active high), source bus 0, source IRQ,
  // destination I/O APIC, INTIN. ISA IRQ0 is wired to INTIN2; the SCI (IRQ9) is level-triggered,
  // active high, as the MADT's interrupt source override says (flags 0Dh).
  for (let irq = 0; irq < 16; irq++) {
    if (irq === 2) continue;
    const flags = irq === SCI_IRQ ? 0x0d : 0;
    entries.push([3, 0, flags, 0, 0, irq, ioapicId, irq === 0 ? 2 : irq]);
  }
  // Local interrupt entries: type 4: ExtINT on LINT0 and NMI on LINT1 of every local APIC (FFh).
  entries.push([4, 3, 0, 0, 0, 0, 0xff, 0]);
  entries.push([4, 1, 0, 0, 0, 0, 0xff, 1]);

  const len = 44 + entries.reduce((s, e) => s + e.length, 0);
  const c = new Uint8Array(len);
  putStr(c, 0, 'PCMP', 4); put16(c, 4, len); c[6] = 4; // spec revision 1.4
  putStr(c, 8, 'VMXLAB', 8); putStr(c, 16, 'vmxlab PC', 12);
  put16(c, 34, entries.length); put32(c, 36, LAPIC_BASE);
  let p = 44;
  for (const e of entries) { c.set(e, p); p += e.length; }
  c[7] = checksum(c, 0, len);

  // Floating pointer (16 bytes): '_MP_', config table address, length in paragraphs (1),
  // spec revision 4, checksum, feature bytes (0: a configuration table is present; IMCR absent).
  const f = new Uint8Array(16);
  putStr(f, 0, '_MP_', 4); put32(f, 4, configAddr); f[8] = 1; f[9] = 4;
  f[10] = checksum(f, 0, 16);
  return { floating: f, config: c };
}
