// BIOS drive numbers and geometry: floppies 00h-01h, hard disks 80h+, the CD (no-emulation
// El Torito) as E0h. Floppy geometry is inferred from the image size (standard PC formats);
// hard disks use 16 heads x 63 sectors per track.
import type { BlockDevice } from '../platform/block';

export interface Drive {
  readonly kind: 'floppy' | 'hdd' | 'cdrom';
  readonly dev: BlockDevice;
  /** Byte offset of the drive's sector 0 in `dev` (an emulated floppy inside a CD image). */
  readonly offset: number;
  readonly sectorSize: number;
  readonly sectors: number;
  readonly cylinders: number;
  readonly heads: number;
  readonly spt: number;
  /** INT 13h AH=08h drive type for floppies (1 360K, 2 1.2M, 3 720K, 4 1.44M, 5 2.88M). */
  readonly floppyType: number;
}

// [size in bytes, cylinders, heads, sectors per track, CMOS/INT 13h drive type]
const FLOPPY_FORMATS: [number, number, number, number, number][] = [
  [163840, 40, 1, 8, 1], [184320, 40, 1, 9, 1], [327680, 40, 2, 8, 1], [368640, 40, 2, 9, 1],
  [737280, 80, 2, 9, 3], [1228800, 80, 2, 15, 2], [1474560, 80, 2, 18, 4], [1720320, 80, 2, 21, 4],
  [2949120, 80, 2, 36, 5],
];

export function floppyDrive(dev: BlockDevice, offset = 0, size = dev.size - offset): Drive {
  const f = FLOPPY_FORMATS.find((x) => x[0] === size) ?? [size, 80, 2, 18, 4];
  return { kind: 'floppy', dev, offset, sectorSize: 512, sectors: Math.floor(size / 512), cylinders: f[1], heads: f[2], spt: f[3], floppyType: f[4] };
}

export function hardDrive(dev: BlockDevice): Drive {
  const sectors = Math.floor(dev.size / 512);
  const cylinders = Math.max(1, Math.floor(sectors / (16 * 63)));
  return { kind: 'hdd', dev, offset: 0, sectorSize: 512, sectors, cylinders, heads: 16, spt: 63, floppyType: 0 };
}

export function cdDrive(dev: BlockDevice): Drive {
  return { kind: 'cdrom', dev, offset: 0, sectorSize: 2048, sectors: Math.floor(dev.size / 2048), cylinders: 0, heads: 0, spt: 0, floppyType: 0 };
}
