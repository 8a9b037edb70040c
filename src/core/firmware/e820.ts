// The INT 15h E820h system memory map (ACPI spec §15 "System Address Map Interfaces").
import { EBDA_BASE, ROM_BASE } from './layout';

export enum E820Type { Ram = 1, Reserved = 2, Acpi = 3, Nvs = 4 }
export interface E820Entry { base: number; length: number; type: E820Type }

/** Bytes reserved at the top of RAM for the ACPI tables. */
export const ACPI_AREA = 0x10000;

/** RAM below the EBDA, EBDA and BIOS ROM reserved, RAM above 1 MB up to the ACPI tables. */
export function buildE820(memoryBytes: number): E820Entry[] {
  const acpiBase = memoryBytes - ACPI_AREA;
  return [
    { base: 0, length: EBDA_BASE, type: E820Type.Ram },
    { base: EBDA_BASE, length: 0xa0000 - EBDA_BASE, type: E820Type.Reserved },
    { base: ROM_BASE, length: 0x10000, type: E820Type.Reserved },
    { base: 0x100000, length: acpiBase - 0x100000, type: E820Type.Ram },
    { base: acpiBase, length: ACPI_AREA, type: E820Type.Acpi },
    { base: 0xfec00000, length: 0x1000, type: E820Type.Reserved }, // I/O APIC
    { base: 0xfee00000, length: 0x1000, type: E820Type.Reserved }, // local APIC
  ];
}
