// A PAE guest whose page table points above 4 GB (MAXPHYADDR 36): nothing is there, so bare and
// hosted it reads all ones and writes nowhere, and a PDPTE with a reserved bit makes MOV to CR3
// #GP(0) (guests/pae-above4g.asm). Under EPT the access is an EPT violation whose guest-physical
// address has bits 35:32 (the VMM runs the instruction with the CPU core); under shadow paging
// the shadow MMU's walk sees the frame above 4 GB and the VMM does the same.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { asm } from '../firmware/support';
import { bareRun, HostedPc } from './support';

const IMG = asm(readFileSync(join(__dirname, 'guests/pae-above4g.asm'), 'utf8'), join(__dirname, 'guests'));
const OUT = 'FUCGOK\n';
const TRIPLE = asm(readFileSync(join(__dirname, 'guests/idt-unmapped.asm'), 'utf8'), join(__dirname, 'guests'));

describe('PAE paging above 4 GB, bare and hosted', () => {
  it('bare: all ones, low memory unchanged, the reserved PDPTE bit #GP', () => {
    const b = bareRun(IMG, 'haswell');
    expect(b.stop).toBe('halted');
    expect(b.serial).toBe(OUT);
  });
  it('hosted under EPT (haswell): the same, through EPT violations above 4 GB', () => {
    const pc = new HostedPc(IMG, 'haswell');
    expect(pc.run(1)).toBe('halted');
    expect(pc.serial).toBe(OUT);
    expect(pc.count(ExitReason.EptViolation)).toBeGreaterThanOrEqual(2);
    expect(pc.m.cpus[0].icount).toBe(bareRun(IMG, 'haswell').icounts[0]);
  });
  it('hosted under shadow paging (merom): the same', () => {
    const pc = new HostedPc(IMG, 'merom');
    expect(pc.run(1)).toBe('halted');
    expect(pc.serial).toBe(OUT);
  });
});

describe('a fault while delivering #DF is a triple fault, bare and hosted', () => {
  it('bare: shutdown', () => {
    expect(bareRun(TRIPLE, 'haswell').stop).toMatch(/shutdown/);
  });
  for (const gen of ['haswell', 'merom']) {
    it(`hosted on ${gen}: the VM stops with a triple fault`, () => {
      const pc = new HostedPc(TRIPLE, gen);
      expect(pc.run(1)).toBe('guest-fault');
      expect(pc.vm.fault!.summary).toMatch(/triple/);
    });
  }
});
