// ACPI soft off end to end: the DSDT's \_S5 names SLP_TYP 0, the FADT points at the PM1 control
// block, and a guest that writes SLP_TYP | SLP_EN there stops the machine with 'poweroff'.
import { expect, it } from 'vitest';
import { PcMachine } from '../../src/core/platform/machine';
import { BlockDevice } from '../../src/core/platform/block';
import { DSDT_S5_AML } from '../../src/core/firmware/acpi';
import { bootSector } from './support';

it('powers off when the guest enters S5 through the FADT PM1a control block', () => {
  const img = new Uint8Array(1474560);
  // The PM1a_CNT_BLK port the FADT gives (the test puts it at 0:0500 after POST), then
  // SLP_TYP = 0 (from \_S5) with SLP_EN.
  img.set(bootSector(`
w: cmp word [0x502], 1
  jne w
  mov dx, [0x500]
  mov ax, 0x2000 | 1
  out dx, ax
  jmp $
`));
  const m = new PcMachine({ memoryBytes: 32 << 20, floppies: [new BlockDevice('fd', img)], bootOrder: ['floppy'], biosSerialConsole: false });
  const acpi = m.firmware!.acpi!;
  const fadt = acpi.fadtAddr, dsdt = acpi.dsdtAddr;
  // Before the boot sector runs (the tables are written at POST): run POST only, then check.
  expect(m.run(1_000_000)).toBe('budget');
  // Physical reads past the A20 gate (the boot sector runs with A20 off; the tables sit at the
  // top of RAM).
  const dv = new DataView(m.mem.u8.buffer, m.mem.u8.byteOffset);
  const pm1aCnt = dv.getUint32(fadt + 64, true);
  m.mem.write16(0x500, pm1aCnt);
  m.mem.write16(0x502, 1);
  const dsdtLen = dv.getUint32(dsdt + 4, true);
  const body = m.mem.u8.slice(dsdt + 36, dsdt + dsdtLen);
  expect(Array.from(body)).toEqual(Array.from(DSDT_S5_AML));
  expect(m.run(500_000_000)).toBe('poweroff');
  expect(m.poweredOff).toBe(true);
});
