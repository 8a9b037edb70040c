// El Torito bootable CD-ROM parsing ("El Torito" Bootable CD-ROM Format Specification 1.0,
// Phoenix/IBM 1995): the boot record volume descriptor at sector 17, the boot catalog's
// validation entry and initial/default entry.
//
// Boot record volume descriptor (2048-byte sector 17):
//   [0] 0 (boot record) | [1..5] 'CD001' | [6] 1 | [7..38] 'EL TORITO SPECIFICATION' (zero
//   padded) | [0x47..0x4A] LBA of the boot catalog (little-endian)
// Validation entry (catalog bytes 0-31): [0] 01 | [1] platform (0 = 80x86) | [4..27] ID string
//   | [28..29] checksum: the 16 words of the entry sum to 0 | [30] 55 | [31] AA
// Initial/default entry (bytes 32-63): [0] 88h bootable / 00 not | [1] media: 0 no emulation,
//   1 1.2 MB, 2 1.44 MB, 3 2.88 MB floppy, 4 hard disk | [2..3] load segment (0 = 07C0h) |
//   [4] system type | [6..7] sector count (512-byte virtual sectors) | [8..11] load RBA
import type { BlockDevice } from '../platform/block';

export const CD_SECTOR = 2048;

export enum BootMedia { NoEmulation = 0, Floppy12 = 1, Floppy144 = 2, Floppy288 = 3, HardDisk = 4 }

export interface BootEntry {
  media: BootMedia;
  loadSegment: number;
  /** Virtual (512-byte) sectors to load for no-emulation boots. */
  sectorCount: number;
  /** 2048-byte sector where the boot image starts. */
  lba: number;
  catalogLba: number;
}

const BOOT_ID = 'EL TORITO SPECIFICATION';

/** Parses the boot catalog of `cd`; returns the reason as a string when it is not bootable. */
export function parseElTorito(cd: BlockDevice): BootEntry | string {
  const brvd = new Uint8Array(CD_SECTOR);
  if (!cd.read(17 * CD_SECTOR, brvd, 0, CD_SECTOR)) return 'CD image too small for a boot record';
  if (brvd[0] !== 0 || String.fromCharCode(...brvd.subarray(1, 6)) !== 'CD001' || brvd[6] !== 1) return 'no boot record volume descriptor at sector 17';
  const id = String.fromCharCode(...brvd.subarray(7, 7 + BOOT_ID.length));
  if (id !== BOOT_ID || brvd[7 + BOOT_ID.length] !== 0) return 'boot record is not El Torito';
  const catalogLba = (brvd[0x47] | (brvd[0x48] << 8) | (brvd[0x49] << 16) | (brvd[0x4a] << 24)) >>> 0;
  const cat = new Uint8Array(64);
  if (!cd.read(catalogLba * CD_SECTOR, cat, 0, 64)) return 'boot catalog outside the image';
  if (cat[0] !== 1 || cat[30] !== 0x55 || cat[31] !== 0xaa) return 'invalid boot catalog validation entry';
  let sum = 0;
  for (let i = 0; i < 32; i += 2) sum = (sum + (cat[i] | (cat[i + 1] << 8))) & 0xffff;
  if (sum !== 0) return 'boot catalog checksum mismatch';
  if (cat[32] !== 0x88) return 'default boot entry is not bootable';
  const media = cat[33] & 0x0f;
  if (media > BootMedia.HardDisk) return `unknown boot media type ${media}`;
  const seg = cat[34] | (cat[35] << 8);
  return {
    media,
    loadSegment: seg === 0 ? 0x7c0 : seg,
    sectorCount: cat[38] | (cat[39] << 8),
    lba: (cat[40] | (cat[41] << 8) | (cat[42] << 16) | (cat[43] << 24)) >>> 0,
    catalogLba,
  };
}
