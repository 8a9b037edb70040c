// The parallel printer port: data latch, status with an always-ready printer, STROBE falling
// edge prints the latched byte, ACK raises IRQ7 only when the control register enables it,
// /INIT low resets the printer, the status register ignores writes.
import { expect, it } from 'vitest';
import { IoBus } from '../../src/core/platform/io-bus';
import { IrqLine } from '../../src/core/platform/irq';
import { ParallelPort } from '../../src/core/platform/devices/parallel';

it('prints on the STROBE falling edge and raises the IRQ on ACK when enabled', () => {
  const edges: boolean[] = [];
  const io = new IoBus();
  const lpt = new ParallelPort(new IrqLine({ setIrq: (_n, l) => edges.push(l) }, 7));
  lpt.registerPorts(io, 0x378);
  const out: number[] = [];
  lpt.onPrint = (b) => out.push(b);
  expect(io.nameOf(0x37a)).toBe('LPT1 parallel port');
  expect(io.read(0x379, 1)).toBe(0xdf); // not busy, no ACK, no paper end, selected, no error
  io.write(0x378, 1, 0x41);
  expect(io.read(0x378, 1)).toBe(0x41);
  io.write(0x37a, 1, 0x0d); // strobe asserted: nothing yet
  expect(out).toEqual([]);
  io.write(0x37a, 1, 0x0c); // released: printed, IRQ disabled
  expect(out).toEqual([0x41]);
  expect(edges).toEqual([]);
  io.write(0x37a, 1, 0x1d); io.write(0x37a, 1, 0x1c); // with IRQ enable
  expect(out).toEqual([0x41, 0x41]);
  expect(edges).toEqual([true, false]);
  expect(io.read(0x37a, 1)).toBe(0xfc);
  io.write(0x379, 1, 0); // read-only
  expect(io.read(0x379, 1)).toBe(0xdf);
  expect(lpt.resets).toBe(0);
  io.write(0x37a, 1, 0x08); io.write(0x37a, 1, 0x0c);
  expect(lpt.resets).toBe(1);
  expect(out.length).toBe(2);
});
