// ISO 9660 (ECMA-119) read-only parsing: volume descriptors, the primary volume descriptor and
// directory records, enough to list directories and read files by path. El Torito boot
// catalogue parsing belongs to the firmware (src/core/firmware), not here.
//
// Volume descriptor set (ECMA-119 §8): 2048-byte sectors from sector 16, each
//   [0] type (0 boot record, 1 primary, 2 supplementary, 255 terminator) | [1:5] 'CD001' | [6] version 1
// Primary volume descriptor (§8.4): [40:71] volume identifier | [80:87] volume space size (both-endian)
//   | [128:131] logical block size (both-endian 16) | [156:189] root directory record
// Directory record (§9.1): [0] length | [1] extended attribute length | [2:9] extent LBA (both-endian)
//   | [10:17] data length (both-endian) | [18:24] date | [25] flags (bit 1 directory) | [32] name length
//   | [33...] name ("NAME.EXT;1"; 0x00 = this directory, 0x01 = parent)
import { ascii, rd16, rd32 } from './bytes';
import { ImageFormatError } from './errors';

export const ISO_SECTOR = 2048;
export const ISO_PVD_OFFSET = 16 * ISO_SECTOR;

export interface IsoEntry {
  /** Name without the ';1' version suffix and without a trailing '.' (as `ls` shows it). */
  name: string;
  isDir: boolean;
  /** First logical block of the extent. */
  lba: number;
  size: number;
}

export interface IsoVolume {
  volumeId: string;
  /** Volume size in logical blocks. */
  blocks: number;
  blockSize: number;
  root: IsoEntry;
  /** True when a boot record volume descriptor says 'EL TORITO SPECIFICATION'. */
  elTorito: boolean;
}

/** True when the image has 'CD001' at 0x8001 (the first volume descriptor's identifier). */
export function hasIsoSignature(b: Uint8Array): boolean {
  return b.length >= ISO_PVD_OFFSET + 6 && ascii(b, ISO_PVD_OFFSET + 1, 5) === 'CD001';
}

function record(b: Uint8Array, off: number): IsoEntry {
  const nameLen = b[off + 32];
  let name = ascii(b, off + 33, nameLen);
  if (nameLen === 1 && (b[off + 33] === 0 || b[off + 33] === 1)) name = b[off + 33] === 0 ? '.' : '..';
  else {
    const semi = name.indexOf(';');
    if (semi >= 0) name = name.slice(0, semi);
    if (name.endsWith('.')) name = name.slice(0, -1);
  }
  return { name, isDir: (b[off + 25] & 2) !== 0, lba: rd32(b, off + 2), size: rd32(b, off + 10) };
}

/** Reads the volume descriptor set; throws ImageFormatError when there is no primary descriptor. */
export function readIsoVolume(b: Uint8Array): IsoVolume {
  if (!hasIsoSignature(b)) throw new ImageFormatError(`not an ISO 9660 image: no 'CD001' at 0x8001`);
  let pvd = -1, elTorito = false;
  for (let s = 16; (s + 1) * ISO_SECTOR <= b.length; s++) {
    const off = s * ISO_SECTOR;
    if (ascii(b, off + 1, 5) !== 'CD001') break;
    const type = b[off];
    if (type === 0 && ascii(b, off + 7, 23) === 'EL TORITO SPECIFICATION') elTorito = true;
    if (type === 1 && pvd < 0) pvd = off;
    if (type === 255) break;
  }
  if (pvd < 0) throw new ImageFormatError('ISO 9660 image has no primary volume descriptor before the set terminator');
  const blockSize = rd16(b, pvd + 128);
  if (blockSize !== 512 && blockSize !== 1024 && blockSize !== 2048) {
    throw new ImageFormatError(`ISO 9660 primary volume descriptor has logical block size ${blockSize} (expected 512, 1024 or 2048)`);
  }
  return {
    volumeId: ascii(b, pvd + 40, 32).trimEnd(),
    blocks: rd32(b, pvd + 80),
    blockSize,
    root: record(b, pvd + 156),
    elTorito,
  };
}

/** Entries of a directory extent ('.' and '..' left out). */
export function listIsoDir(b: Uint8Array, vol: IsoVolume, dir: IsoEntry): IsoEntry[] {
  if (!dir.isDir) throw new ImageFormatError(`${dir.name} is not a directory`);
  const out: IsoEntry[] = [];
  const start = dir.lba * vol.blockSize, end = Math.min(start + dir.size, b.length);
  let off = start;
  while (off < end) {
    const len = b[off];
    if (len === 0) { // records never cross a sector boundary: the rest of this sector is padding
      off = (Math.floor((off - start) / ISO_SECTOR) + 1) * ISO_SECTOR + start;
      continue;
    }
    if (len < 34 || off + len > end) break;
    const e = record(b, off);
    if (e.name !== '.' && e.name !== '..') out.push(e);
    off += len;
  }
  return out;
}

/** Finds a path like '/isolinux/isolinux.bin' (case-insensitive, as ISO level-1 names are upper case). */
export function findIsoEntry(b: Uint8Array, vol: IsoVolume, path: string): IsoEntry | null {
  let cur = vol.root;
  for (const part of path.split('/').filter((p) => p.length > 0)) {
    if (!cur.isDir) return null;
    const next = listIsoDir(b, vol, cur).find((e) => e.name.toLowerCase() === part.toLowerCase());
    if (next === undefined) return null;
    cur = next;
  }
  return cur;
}

/** The bytes of a file (a view into `b`); throws when the path is missing or a directory. */
export function readIsoFile(b: Uint8Array, vol: IsoVolume, path: string): Uint8Array {
  const e = findIsoEntry(b, vol, path);
  if (e === null) throw new ImageFormatError(`ISO 9660: no such file ${path}`);
  if (e.isDir) throw new ImageFormatError(`ISO 9660: ${path} is a directory`);
  const start = e.lba * vol.blockSize;
  if (start + e.size > b.length) throw new ImageFormatError(`ISO 9660: ${path} extends past the end of the image (truncated image?)`);
  return b.subarray(start, start + e.size);
}
