// XSETBV in a hosted guest (exit 55, unconditional once CR4.OSXSAVE lets it past #UD: SDM Vol.
// 3C §26.1.2): the VMM checks it as KVM's handle_xsetbv does (src/core/vmm/xcr.ts) and loads the
// guest's XCR0 or injects #GP(0). The guest (guests/xsetbv.asm) prints what CPUID says about
// XSAVE with its CR4, what XGETBV reads back, and a 'G' with the error code for each #GP: the
// bare run (the CPU executing XSETBV itself) and the hosted run must print the same. Also SMX:
// the VMM hides it from the guest's CPUID and refuses CR4.SMXE (guests/smx.asm), so GETSEC's
// unconditional exit (11) never comes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BlockDevice } from '../../src/core/platform/block';
import { PcMachine } from '../../src/core/platform/machine';
import { cpuModelFor } from '../../src/core/vmx/cpu-model';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { generation } from '../../src/core/vmx/generations';
import { HostedVm, hostReservedBytes } from '../../src/core/vmm/index';
import { asm } from '../firmware/support';
import { bareRun, HostedPc, MEM } from './support';

const IMG = asm(readFileSync(join(__dirname, 'guests/xsetbv.asm'), 'utf8'), join(__dirname, 'guests'));
// OSXSAVE 1, XCR0 support 1, area size 240H, XGETBV after the valid XSETBV 1, two #GP(0).
const OUT = 'O1 X1 S2 4 0 V1 G0 G0 OK\n';

describe('XSETBV exits (reason 55) in a hosted guest', () => {
  it('bare: the CPU itself loads XCR0 = 1 and raises #GP(0) for XCR0 = 3 and for ECX = 1', () => {
    const b = bareRun(IMG, 'haswell');
    expect(b.stop).toBe('halted');
    expect(b.serial).toBe(OUT);
  });

  it('hosted: three exits, the valid value loaded and skipped, #GP(0) injected for the others', () => {
    const pc = new HostedPc(IMG, 'haswell');
    expect(pc.run(1)).toBe('halted');
    expect(pc.serial).toBe(OUT);
    expect(pc.count(ExitReason.Xsetbv)).toBe(3);
    expect(pc.vm.vcpus[0].cpu.xcr0).toBe(1);
  });

  it('hosted on Penryn (XSAVE, no EPT: shadow paging) prints the same', () => {
    const pc = new HostedPc(IMG, 'penryn');
    expect(pc.run(1)).toBe('halted');
    expect(pc.serial).toBe(OUT);
    expect(pc.count(ExitReason.Xsetbv)).toBe(3);
  });
});

describe('SMX is never offered to a hosted guest (KVM does not)', () => {
  const IMG_SMX = asm(readFileSync(join(__dirname, 'guests/smx.asm'), 'utf8'), join(__dirname, 'guests'));
  const machine = (): PcMachine => new PcMachine({
    cpuModel: cpuModelFor(generation('haswell'), { smx: true }), memoryBytes: MEM,
    disks: [new BlockDevice('hd0', padded(IMG_SMX))], bootOrder: ['hdd'], biosSerialConsole: false,
    hostReservedBytes: hostReservedBytes(MEM),
  });

  it('bare on a CPU with SMX: CPUID.1:ECX.SMX = 1, CR4.SMXE sets, GETSEC[CAPABILITIES] = 0', () => {
    const m = machine();
    let out = '';
    m.onSerial = (_p, b) => { out += String.fromCharCode(b); };
    expect(m.run(100_000_000)).toBe('halted');
    expect(out).toBe('M1 C0 OK\n');
  });

  it('hosted on the same CPU: CPUID hides SMX, MOV to CR4 with SMXE gets #GP(0), no GETSEC exit', () => {
    const m = machine();
    let out = '';
    m.onSerial = (_p, b) => { out += String.fromCharCode(b); };
    const vm = new HostedVm(m, { generation: 'haswell' });
    let getsec = 0;
    vm.root.unit.addExitListener((x) => { if (x.reason === ExitReason.Getsec) getsec++; });
    expect(vm.run(100_000_000)).toBe('halted');
    expect(out).toBe('M0 G0 OK\n');
    expect(getsec).toBe(0);
  });
});

function padded(disk: Uint8Array): Uint8Array {
  const p = new Uint8Array(Math.ceil(disk.length / 512) * 512);
  p.set(disk);
  return p;
}
