// Builds a PcMachine from an image and settings, as `vmxlab run` does (src/cli/commands/run.ts):
// detect the format (or take the forced one), then boot disks through vmxlab's BIOS or hand a
// kernel to the firmware's boot override. Errors are plain Errors with the loaders' messages.
import { buildE820 } from '../firmware/e820';
import { loadImage, type ImageKind } from '../loaders/index';
import { PcMachine } from '../platform/machine';
import { hostReservedBytes } from '../vmm/index';
import { cpuModelFor } from '../vmx/cpu-model';
import { findGeneration } from '../vmx/generations';
import type { BootKind, ImagePayload, MachineSettings } from './protocol';

const FORCE: Readonly<Record<BootKind, ImageKind | undefined>> = {
  auto: undefined, floppy: 'floppy', hdd: 'hdd', cdrom: 'cdrom', kernel: 'bzimage', multiboot: 'multiboot', com: 'com',
};

export interface BuiltMachine {
  readonly machine: PcMachine;
  readonly format: string;
  readonly evidence: string;
  readonly summary: string;
}

export function buildMachine(image: ImagePayload, s: MachineSettings): BuiltMachine {
  const gen = findGeneration(s.generation);
  if (gen === undefined) throw new Error(`unknown CPU generation '${s.generation}'`);
  if (image.bytes.length === 0) throw new Error(`${image.name}: the image is empty`);
  const memoryBytes = s.memoryMiB * 1048576;
  const loaded = loadImage(image.bytes, {
    name: image.name, forceFormat: FORCE[s.boot], initrd: image.initrd?.bytes, initrdName: image.initrd?.name,
    cmdline: s.cmdline === '' ? undefined : s.cmdline, memoryBytes, e820: buildE820(memoryBytes),
  });
  // Hosted mode: the VMM's structures live in host memory above the guest's RAM (vmm/layout.ts).
  const hostReserved = s.mode === 'hosted' ? hostReservedBytes(memoryBytes) : 0;
  const common = { cpuModel: cpuModelFor(gen), memoryBytes, ips: s.mips * 1e6, cpus: s.vcpus, biosSerialConsole: true, hostReservedBytes: hostReserved };
  const machine = loaded.kind === 'disk'
    ? new PcMachine({
      ...common, floppies: loaded.floppy ? [loaded.floppy] : [], disks: loaded.hdd ? [loaded.hdd] : [],
      cdrom: loaded.cdrom ?? null, bootOrder: loaded.bootOrder,
    })
    : new PcMachine(common);
  let summary = '';
  if (loaded.kind === 'kernel') {
    const k = loaded;
    machine.firmware!.bootOverride = (cpu) => k.enter(cpu, machine.mem);
    summary = k.summary;
  }
  return { machine, format: loaded.detected.kind, evidence: loaded.detected.evidence, summary };
}
