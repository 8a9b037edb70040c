// The loaders' entry for the machine and the CLI: detect (or take the forced format of
// `--boot`), then either hand back block devices for the firmware to boot through INT 19h, or
// a kernel whose `enter` the firmware calls at the INT 19h point (its boot override) after POST,
// placing the image in guest memory and setting the CPU state as a boot loader would.
import type { Cpu } from '../cpu/cpu';
import { BlockDevice } from '../platform/block';
import type { PhysicalMemory } from '../platform/memory';
import { applyBzImage, planBzImage, protocolText } from './bzimage';
import { applyCom, planCom } from './com';
import { detectImage, type DetectedImage, type ImageKind } from './detect';
import { defaultE820, type E820Entry } from './e820';
import { applyMultiboot, planMultiboot } from './multiboot';
import { hex } from './bytes';

export type DiskSlot = 'floppy' | 'hdd' | 'cdrom';

export interface LoadOptions {
  /** File name, for detection (.com) and messages. */
  name?: string;
  /** `--boot`: skip detection. */
  forceFormat?: ImageKind;
  /** Initrd (bzImage) or module (Multiboot). */
  initrd?: Uint8Array;
  initrdName?: string;
  /** Kernel command line, or a .COM program's command tail. */
  cmdline?: string;
  /** Guest RAM in bytes. */
  memoryBytes: number;
  /** The firmware's E820 map (default: `defaultE820(memoryBytes)`). */
  e820?: readonly E820Entry[];
}

export interface DiskBoot {
  kind: 'disk';
  detected: DetectedImage;
  floppy?: BlockDevice;
  hdd?: BlockDevice;
  cdrom?: BlockDevice;
  /** Order the firmware tries the drives in. */
  bootOrder: DiskSlot[];
}

export interface KernelBoot {
  kind: 'kernel';
  detected: DetectedImage;
  /** One line on where things went, for the CLI. */
  summary: string;
  /** The boot override: places the image and sets the CPU's entry state (call after POST). */
  enter(cpu: Cpu, mem?: PhysicalMemory): void;
}

export type LoadedImage = DiskBoot | KernelBoot;

function padTo(bytes: Uint8Array, size: number): Uint8Array {
  if (bytes.length >= size) return bytes;
  const out = new Uint8Array(size);
  out.set(bytes);
  return out;
}

/** Detects `bytes` and prepares them for the machine; throws ImageFormatError with a clear message. */
export function loadImage(bytes: Uint8Array, opts: LoadOptions): LoadedImage {
  const detected = detectImage(bytes, opts.name, opts.forceFormat);
  const name = opts.name ?? 'image';
  const e820 = opts.e820 ?? defaultE820(opts.memoryBytes);
  switch (detected.kind) {
    case 'floppy':
      return { kind: 'disk', detected, floppy: new BlockDevice(name, bytes), bootOrder: ['floppy', 'hdd'] };
    case 'hdd':
      return { kind: 'disk', detected, hdd: new BlockDevice(name, padTo(bytes, Math.ceil(bytes.length / 512) * 512)), bootOrder: ['hdd'] };
    case 'cdrom':
      return { kind: 'disk', detected, cdrom: new BlockDevice(name, padTo(bytes, Math.ceil(bytes.length / 2048) * 2048), true), bootOrder: ['cdrom'] };
    case 'bzimage': {
      const plan = planBzImage(bytes, { cmdline: opts.cmdline, initrd: opts.initrd, memoryBytes: opts.memoryBytes, e820 });
      const initrd = plan.initrd === null ? 'no initrd' : `initrd ${plan.initrd.length} bytes at ${hex(plan.initrdAddr)}`;
      return {
        kind: 'kernel', detected,
        summary: `Linux boot protocol ${protocolText(plan.header.version)}: setup at ${hex(plan.setupAddr)}, kernel ${plan.kernel.length} bytes at ${hex(plan.kernelAddr)}, ${initrd}, command line at ${hex(plan.cmdlineAddr)}`,
        enter: (cpu, mem) => applyBzImage(plan, cpu, mem ?? cpu.mem),
      };
    }
    case 'multiboot': {
      const plan = planMultiboot(bytes, { cmdline: opts.cmdline, module: opts.initrd, moduleName: opts.initrdName, memoryBytes: opts.memoryBytes, e820 });
      const segs = plan.segments.map((s) => `${hex(s.addr)}+${hex(s.memSize)}`).join(', ');
      return {
        kind: 'kernel', detected,
        summary: `Multiboot (${plan.method}): segments ${segs}, entry ${hex(plan.entry)}, info at ${hex(plan.infoAddr)}${plan.module === null ? '' : `, module at ${hex(plan.moduleAddr)}`}`,
        enter: (cpu, mem) => applyMultiboot(plan, cpu, mem ?? cpu.mem),
      };
    }
    case 'com': {
      const plan = planCom(bytes, { cmdline: opts.cmdline, name: opts.name, e820 });
      return {
        kind: 'kernel', detected,
        summary: `DOS .COM (minimal DOS API stub, not DOS): program at ${hex(plan.segment, 4)}:0100, stub at ${hex(plan.stubSegment, 4)}:0000`,
        enter: (cpu, mem) => applyCom(plan, cpu, mem ?? cpu.mem),
      };
    }
  }
}

export { detectImage };
export type { ImageKind, DetectedImage };
export { ImageFormatError } from './errors';
export { defaultE820, E820Type, type E820Entry } from './e820';
