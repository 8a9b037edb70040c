// What POST does to the APICs, as a PC BIOS does it (Intel MultiProcessor Specification 1.4
// §3.6.2.2 "Virtual Wire Mode"; SDM Vol. 3A §10.4.7.1 for the reset state it starts from): the
// BSP's local APIC is software-enabled with LINT0 as ExtINT and LINT1 as NMI, so the 8259
// reaches the CPU through the APIC until the OS sets up symmetric I/O mode, and the I/O APIC
// gets the ID the ACPI and MP tables give it. Plain MMIO writes, as BIOS code would issue them
// (they reach the local APIC of the CPU running POST, the BSP).
//
// The APs: a real BIOS wakes them with INIT/SIPI to count and initialise them, then puts them
// back to wait-for-SIPI. vmxlab's BIOS knows the CPU count from the machine, so it leaves the
// APs in wait-for-SIPI from power-on, where the OS's INIT/SIPI/SIPI finds them.
import { IOAPIC_BASE, LAPIC_BASE, ioApicId } from './acpi';

/** Something with physical 32-bit writes (PhysicalMemory). */
export interface PhysWriter { write32(addr: number, v: number): void }

export function setupApicsAtPost(mem: PhysWriter, cpuCount: number): void {
  mem.write32(LAPIC_BASE + 0x0f0, 0x1ff); // SVR: [8] software enable | [7:0] spurious vector FFh
  mem.write32(LAPIC_BASE + 0x350, 0x700); // LVT LINT0: [10:8] ExtINT, unmasked
  mem.write32(LAPIC_BASE + 0x360, 0x400); // LVT LINT1: [10:8] NMI, unmasked
  mem.write32(IOAPIC_BASE + 0x00, 0x00); // IOREGSEL: IOAPICID
  mem.write32(IOAPIC_BASE + 0x10, ioApicId(cpuCount) << 24); // IOWIN: ID [27:24]
}
