// ACPI tables (ACPI Specification 1.0b/2.0 §5.2): RSDP (revision 0, pointing at an RSDT),
// RSDT, FADT (revision 1, 116 bytes), FACS, a minimal DSDT and a MADT. Enough for an OS to
// find the CPUs, the local APICs, the I/O APIC, the SCI and the PM timer.
import { CHECKSUM_OEM, putStr, put16, put32, checksum } from './table-util';

export const LAPIC_BASE = 0xfee00000;
export const IOAPIC_BASE = 0xfec00000;
/** ACPI PM register blocks (I/O ports). */
export const PM_BASE = 0x600;
export const PM1A_EVT = PM_BASE, PM1A_CNT = PM_BASE + 4, PM_TMR = PM_BASE + 8;
export const SCI_IRQ = 9;

/** The I/O APIC's ID in the MADT and the MP table (the first ID after the CPUs' 0..n-1), which
 *  POST programs into the I/O APIC (apic-setup.ts). */
export function ioApicId(cpuCount: number): number { return cpuCount; }

export interface AcpiTables {
  /** The tables, to be copied to `base`. */
  area: Uint8Array;
  /** The 20-byte RSDP for the BIOS ROM area. */
  rsdp: Uint8Array;
  rsdtAddr: number; fadtAddr: number; madtAddr: number; dsdtAddr: number; facsAddr: number;
}

/** Standard 36-byte table header (§5.2.6); the checksum is filled by `finish`. */
function header(t: Uint8Array, at: number, sig: string, len: number, rev: number): void {
  putStr(t, at, sig, 4); put32(t, at + 4, len); t[at + 8] = rev;
  putStr(t, at + 10, CHECKSUM_OEM, 6); putStr(t, at + 16, 'VMXLAB' + sig, 8);
  put32(t, at + 24, 1); putStr(t, at + 28, 'VMXL', 4); put32(t, at + 32, 1);
}
function finish(t: Uint8Array, at: number, len: number): void { t[at + 9] = 0; t[at + 9] = checksum(t, at, len); }

/**
 * AML for `Name (\_S5, Package () { 0, 0, 0, 0 })` (ACPI 6.5 §20.2.5.2 NameOp 0x08, §20.2.2
 * root-prefixed NameString, §20.2.5.4 PackageOp 0x12 with a one-byte PkgLength counting itself,
 * NumElements, and four ZeroOp elements): SLP_TYPa = SLP_TYPb = 0, as QEMU's PIIX4 DSDT.
 */
export const DSDT_S5_AML = Uint8Array.of(0x08, 0x5c, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00);

export function buildAcpi(base: number, cpuCount: number): AcpiTables {
  const t = new Uint8Array(0x10000);
  const facs = 0x000, dsdt = 0x040, fadt = 0x080, rsdt = 0x100, madt = 0x140;

  // FACS (§5.2.9): 64 bytes, 64-byte aligned, no checksum.
  putStr(t, facs, 'FACS', 4); put32(t, facs + 4, 64);

  // DSDT: one object, \_S5 (ACPI 6.5 §7.4.2.6), the SLP_TYP values for soft off that the PM1
  // control register (platform/devices/acpi-pm1.ts) acts on, so an OS can power the machine off.
  t.set(DSDT_S5_AML, dsdt + 36);
  header(t, dsdt, 'DSDT', 36 + DSDT_S5_AML.length, 1); finish(t, dsdt, 36 + DSDT_S5_AML.length);

  // FADT revision 1 (§5.2.8, 116 bytes).
  header(t, fadt, 'FACP', 116, 1);
  put32(t, fadt + 36, base + facs); // FIRMWARE_CTRL
  put32(t, fadt + 40, base + dsdt); // DSDT
  t[fadt + 44] = 1; // INT_MODEL (1.0): multiple APIC
  put16(t, fadt + 46, SCI_IRQ); // SCI_INT
  put32(t, fadt + 48, 0); // SMI_CMD = 0: no SMM, the hardware is always in ACPI mode
  put32(t, fadt + 56, PM1A_EVT); // PM1a_EVT_BLK
  put32(t, fadt + 64, PM1A_CNT); // PM1a_CNT_BLK
  put32(t, fadt + 76, PM_TMR); // PM_TMR_BLK
  t[fadt + 88] = 4; // PM1_EVT_LEN
  t[fadt + 89] = 2; // PM1_CNT_LEN
  t[fadt + 91] = 4; // PM_TMR_LEN
  put16(t, fadt + 96, 101); // P_LVL2_LAT > 100: C2 not supported
  put16(t, fadt + 98, 1001); // P_LVL3_LAT > 1000: C3 not supported
  t[fadt + 108] = 0x32; // CENTURY: CMOS register 32h
  put16(t, fadt + 109, 0x0003); // IAPC_BOOT_ARCH: [0] legacy devices | [1] 8042 present
  // Flags: [0] WBINVD | [4] PWR_BUTTON as control method/none | [5] SLP_BUTTON likewise.
  // [8] TMR_VAL_EXT = 0: 24-bit PM timer.
  put32(t, fadt + 112, 0x00000031);
  finish(t, fadt, 116);

  // MADT (§5.2.10 "Multiple APIC Description Table").
  let p = madt + 44;
  for (let i = 0; i < cpuCount; i++) {
    // Processor Local APIC: type 0, length 8, ACPI processor ID, APIC ID, flags [0] enabled.
    t[p] = 0; t[p + 1] = 8; t[p + 2] = i; t[p + 3] = i; put32(t, p + 4, 1); p += 8;
  }
  // I/O APIC: type 1, length 12, ID, reserved, address, GSI base.
  t[p] = 1; t[p + 1] = 12; t[p + 2] = ioApicId(cpuCount); t[p + 3] = 0; put32(t, p + 4, IOAPIC_BASE); put32(t, p + 8, 0); p += 12;
  // Interrupt Source Overrides: type 2, length 10, bus 0 (ISA), source IRQ, GSI, flags.
  t[p] = 2; t[p + 1] = 10; t[p + 2] = 0; t[p + 3] = 0; put32(t, p + 4, 2); put16(t, p + 8, 0); p += 10; // IRQ0 -> GSI2
  // SCI: level triggered, active high: flags [1:0] polarity 01 | [3:2] trigger 11 = 0x000D.
  t[p] = 2; t[p + 1] = 10; t[p + 2] = 0; t[p + 3] = SCI_IRQ; put32(t, p + 4, SCI_IRQ); put16(t, p + 8, 0x000d); p += 10;
  // Local APIC NMI (§5.2.12.7): type 4, length 6, processor UID FFh (all), flags 0, LINT1 (as
  // the MP table's local interrupt entry and the BIOS's virtual-wire setup have it).
  t[p] = 4; t[p + 1] = 6; t[p + 2] = 0xff; put16(t, p + 3, 0); t[p + 5] = 1; p += 6;
  const madtLen = p - madt;
  header(t, madt, 'APIC', madtLen, 1);
  put32(t, madt + 36, LAPIC_BASE);
  put32(t, madt + 40, 1); // flags [0] PCAT_COMPAT: dual 8259s present
  finish(t, madt, madtLen);

  // RSDT (§5.2.7): FADT and MADT.
  header(t, rsdt, 'RSDT', 44, 1);
  put32(t, rsdt + 36, base + fadt); put32(t, rsdt + 40, base + madt);
  finish(t, rsdt, 44);

  // RSDP (§5.2.4.3) revision 0: 'RSD PTR ', checksum over 20 bytes, OEM ID, rev, RSDT.
  const rsdp = new Uint8Array(20);
  putStr(rsdp, 0, 'RSD PTR ', 8); putStr(rsdp, 9, CHECKSUM_OEM, 6); rsdp[15] = 0; put32(rsdp, 16, base + rsdt);
  rsdp[8] = checksum(rsdp, 0, 20);

  return {
    area: t.subarray(0, p), rsdp,
    rsdtAddr: base + rsdt, fadtAddr: base + fadt, madtAddr: base + madt, dsdtAddr: base + dsdt, facsAddr: base + facs,
  };
}
