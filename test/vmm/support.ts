// Hosted-mode test helpers: a PC (vmxlab's BIOS, one CPU of a generation) with a boot disk,
// run under the VMM (src/core/vmm), with every VM exit the VMX unit reports counted by reason
// and guest RIP (the unit's exit listener: what the CPU did, not what the VMM says it did).
import { BlockDevice } from '../../src/core/platform/block';
import { PcMachine, type MachineStop } from '../../src/core/platform/machine';
import { cpuModelFor, type CpuModelOptions } from '../../src/core/vmx/cpu-model';
import { generation } from '../../src/core/vmx/generations';
import { HostedVm, hostReservedBytes, type HostedOptions, type HostedStop } from '../../src/core/vmm/index';
import type { VmExitRecord } from '../../src/core/vmx/exit-record';

export const MEM = 16 << 20;

/** Pads a boot disk image to whole sectors. */
function padded(disk: Uint8Array): Uint8Array {
  const p = new Uint8Array(Math.ceil(disk.length / 512) * 512);
  p.set(disk);
  return p;
}

/** The same boot disk on the bare machine (no VMM), as HostedPc sets it up: what the guest
 *  printed, each CPU's retired instructions, and why the run (`ticks` of virtual time) stopped. */
export function bareRun(disk: Uint8Array, gen: string, cpus = 1, ticks = 100_000_000, model: CpuModelOptions = {}): { serial: string; icounts: number[]; stop: MachineStop } {
  const m = new PcMachine({
    cpuModel: cpuModelFor(generation(gen), model), memoryBytes: MEM, disks: [new BlockDevice('hd0', padded(disk))], bootOrder: ['hdd'],
    biosSerialConsole: false, cpus,
  });
  let serial = '';
  m.onSerial = (_p, b) => { serial += String.fromCharCode(b); };
  const stop = m.run(ticks);
  return { serial, icounts: m.cpus.map((c) => c.icount), stop };
}

export class HostedPc {
  readonly m: PcMachine;
  readonly vm: HostedVm;
  /** Exits of vCPU 0 by "reason:linear RIP". */
  readonly exits = new Map<string, number>();
  /** Exits of every vCPU by "vcpu:reason:linear RIP". */
  readonly vcpuExits = new Map<string, number>();
  serial = '';

  constructor(disk: Uint8Array, gen: string, opts: Partial<HostedOptions> = {}, cpus = 1) {
    this.m = new PcMachine({
      cpuModel: cpuModelFor(generation(gen)), memoryBytes: MEM, disks: [new BlockDevice('hd0', padded(disk))], bootOrder: ['hdd'],
      biosSerialConsole: false, hostReservedBytes: hostReservedBytes(MEM), cpus,
    });
    this.m.onSerial = (_p, b) => { this.serial += String.fromCharCode(b); };
    this.vm = new HostedVm(this.m, { generation: gen, ...opts });
    this.vm.root.unit.addExitListener((x: VmExitRecord) => {
      const k = `${x.reason}:${((x.guestCsBase + x.guestRip) >>> 0).toString(16)}`;
      this.exits.set(k, (this.exits.get(k) ?? 0) + 1);
    });
    for (const vc of this.vm.vcpus) {
      vc.root.unit.addExitListener((x: VmExitRecord) => {
        const k = `${vc.index}:${x.reason}:${((x.guestCsBase + x.guestRip) >>> 0).toString(16)}`;
        this.vcpuExits.set(k, (this.vcpuExits.get(k) ?? 0) + 1);
      });
    }
  }

  /** Exits of vCPU `vcpu` with basic reason `reason` (at `rip` when given). */
  countOn(vcpu: number, reason: number, rip?: number): number {
    let n = 0;
    for (const [k, v] of this.vcpuExits) {
      const [c, r, a] = k.split(':');
      if (Number(c) === vcpu && Number(r) === reason && (rip === undefined || parseInt(a, 16) === rip)) n += v;
    }
    return n;
  }

  /** Runs up to `seconds` of virtual time (100 MIPS). */
  run(seconds: number): HostedStop {
    return this.vm.run(seconds * 100_000_000);
  }

  /** Exits with basic reason `reason` (at `rip` when given). */
  count(reason: number, rip?: number): number {
    let n = 0;
    for (const [k, v] of this.exits) {
      const [r, a] = k.split(':');
      if (Number(r) === reason && (rip === undefined || parseInt(a, 16) === rip)) n += v;
    }
    return n;
  }
}
