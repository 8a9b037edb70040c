// Hosted-mode test helpers: a PC (vmxlab's BIOS, one CPU of a generation) with a boot disk,
// run under the VMM (src/core/vmm), with every VM exit the VMX unit reports counted by reason
// and guest RIP (the unit's exit listener: what the CPU did, not what the VMM says it did).
import { BlockDevice } from '../../src/core/platform/block';
import { PcMachine } from '../../src/core/platform/machine';
import { cpuModelFor } from '../../src/core/vmx/cpu-model';
import { generation } from '../../src/core/vmx/generations';
import { HostedVm, hostReservedBytes, type HostedOptions, type HostedStop } from '../../src/core/vmm/index';
import type { VmExitRecord } from '../../src/core/vmx/exit-record';

export const MEM = 16 << 20;

export class HostedPc {
  readonly m: PcMachine;
  readonly vm: HostedVm;
  /** Exits of vCPU 0 by "reason:linear RIP". */
  readonly exits = new Map<string, number>();
  /** Exits of every vCPU by "vcpu:reason:linear RIP". */
  readonly vcpuExits = new Map<string, number>();
  serial = '';

  constructor(disk: Uint8Array, gen: string, opts: Partial<HostedOptions> = {}, cpus = 1) {
    const padded = new Uint8Array(Math.ceil(disk.length / 512) * 512);
    padded.set(disk);
    this.m = new PcMachine({
      cpuModel: cpuModelFor(generation(gen)), memoryBytes: MEM, disks: [new BlockDevice('hd0', padded)], bootOrder: ['hdd'],
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
