// What kind of image a file is, with the evidence, so the CLI can say why it boots it the way
// it does. Checked in this order (first match wins):
//   cdrom      'CD001' at 0x8001 (ISO 9660 primary volume descriptor; hybrid ISOs with an MBR too)
//   bzimage    boot flag 0xAA55 at 0x1FE and 'HdrS' at 0x202 (Linux boot protocol setup header)
//   multiboot  Multiboot v1 header: magic 0x1BADB002 at a 4-byte aligned offset in the first
//              8192 bytes, checksum valid
//   floppy     exactly a standard floppy size (160 KB .. 2.88 MB, DMF 1.68 MB included)
//   hdd        0x55AA at 510, size a multiple of 512, and either > 2.88 MB or a valid MBR
//              partition table; also any other image with a boot signature (a bare boot sector
//              and the sectors after it, as test guests are built), booted as a hard disk
//   com        the name ends in .com (a .COM program has no signature; anything else needs --boot com)
import { hex, rd16, rd32 } from './bytes';
import { ImageFormatError } from './errors';
import { hasIsoSignature, readIsoVolume } from './iso9660';
import { hasBzImageSignature, parseSetupHeader, protocolText } from './bzimage';
import { findMultibootHeader } from './multiboot';

export type ImageKind = 'floppy' | 'hdd' | 'cdrom' | 'bzimage' | 'multiboot' | 'com';
export const IMAGE_KINDS: readonly ImageKind[] = ['floppy', 'hdd', 'cdrom', 'bzimage', 'multiboot', 'com'];

export interface DetectedImage {
  kind: ImageKind;
  /** Why: what was found where, e.g. 'CD001 at 0x8001'. */
  evidence: string;
}

/** Standard floppy image sizes in bytes -> description. */
export const FLOPPY_SIZES: ReadonlyMap<number, string> = new Map([
  [163840, '160 KB 5.25" SS/DD'], [184320, '180 KB 5.25" SS/DD'], [327680, '320 KB 5.25" DS/DD'],
  [368640, '360 KB 5.25" DS/DD'], [737280, '720 KB 3.5" DD'], [1228800, '1.2 MB 5.25" HD'],
  [1474560, '1.44 MB 3.5" HD'], [1720320, '1.68 MB 3.5" DMF'], [2949120, '2.88 MB 3.5" ED'],
]);
const MAX_FLOPPY = 2949120;
export const COM_DETECT_LIMIT = 65280;

export interface PartitionEntry { index: number; bootable: boolean; type: number; lba: number; sectors: number }

/**
 * The four primary entries of an MBR partition table (at 0x1BE, 16 bytes each: [0] status
 * 0x00/0x80 | [4] type | [8:11] first LBA | [12:15] sector count), or null when the table is
 * not plausible: a status byte other than 0x00/0x80, no used entry, or a used entry with zero
 * sectors or starting at LBA 0.
 */
export function readPartitionTable(b: Uint8Array): PartitionEntry[] | null {
  if (b.length < 512 || rd16(b, 510) !== 0xaa55) return null;
  const out: PartitionEntry[] = [];
  for (let i = 0; i < 4; i++) {
    const e = 0x1be + i * 16;
    const status = b[e], type = b[e + 4];
    if (status !== 0 && status !== 0x80) return null;
    if (type === 0) continue;
    const lba = rd32(b, e + 8), sectors = rd32(b, e + 12);
    if (sectors === 0 || lba === 0) return null;
    out.push({ index: i + 1, bootable: status === 0x80, type, lba, sectors });
  }
  return out.length > 0 ? out : null;
}

function describePartitions(p: PartitionEntry[]): string {
  return `MBR partition table (${p.map((e) => `#${e.index} type ${hex(e.type, 2)}${e.bootable ? ' active' : ''} at LBA ${e.lba}`).join(', ')})`;
}

/** Classifies an image; throws ImageFormatError saying what was checked when nothing matches. */
export function detectImage(bytes: Uint8Array, nameHint?: string, forceFormat?: ImageKind): DetectedImage {
  if (bytes.length === 0) throw new ImageFormatError(`empty file${nameHint ? ` (${nameHint})` : ''}: nothing to boot`);
  if (forceFormat !== undefined) {
    if (!IMAGE_KINDS.includes(forceFormat)) throw new ImageFormatError(`unknown format ${forceFormat}; expected one of ${IMAGE_KINDS.join(', ')}`);
    return { kind: forceFormat, evidence: `forced by --boot ${forceFormat}` };
  }
  if (hasIsoSignature(bytes)) {
    let extra = '';
    try {
      const v = readIsoVolume(bytes);
      extra = `, volume '${v.volumeId}', ${v.elTorito ? 'El Torito boot record' : 'no El Torito boot record'}`;
    } catch (e) {
      if (!(e instanceof ImageFormatError)) throw e;
      extra = ` (${e.message})`;
    }
    return { kind: 'cdrom', evidence: `CD001 at 0x8001${extra}` };
  }
  if (hasBzImageSignature(bytes)) {
    const h = parseSetupHeader(bytes); // throws on a truncated header
    const setupLen = (h.setupSects + 1) * 512;
    if (bytes.length <= setupLen) {
      throw new ImageFormatError(`truncated kernel: 'HdrS' header says ${h.setupSects} setup sectors (${setupLen} bytes) but the file is ${bytes.length} bytes`);
    }
    return {
      kind: 'bzimage',
      evidence: `HdrS magic at 0x202, protocol ${protocolText(h.version)}, setup_sects ${h.setupSects}, loadflags ${hex(h.loadflags, 2)}${h.kernelVersion ? `, version '${h.kernelVersion}'` : ''}`,
    };
  }
  const mb = findMultibootHeader(bytes);
  if (mb !== null) {
    return { kind: 'multiboot', evidence: `multiboot header at offset ${hex(mb.offset)}, flags ${hex(mb.flags, 8)}` };
  }
  const floppy = FLOPPY_SIZES.get(bytes.length);
  if (floppy !== undefined) return { kind: 'floppy', evidence: `floppy size ${bytes.length} (${floppy})` };
  const bootSig = bytes.length >= 512 && rd16(bytes, 510) === 0xaa55;
  if (bootSig) {
    const parts = readPartitionTable(bytes);
    if (bytes.length % 512 === 0 && parts !== null) return { kind: 'hdd', evidence: describePartitions(parts) };
    if (bytes.length % 512 === 0 && bytes.length > MAX_FLOPPY) {
      return { kind: 'hdd', evidence: `boot signature 55AA at 0x1FE, ${bytes.length} bytes (> 2.88 MB, no partition table)` };
    }
    if (!nameHint?.toLowerCase().endsWith('.com')) {
      return { kind: 'hdd', evidence: `boot signature 55AA at 0x1FE, ${bytes.length} bytes: not a floppy size and no partition table; booted as a hard disk (padded to whole sectors)` };
    }
  }
  const name = nameHint?.toLowerCase() ?? '';
  if (name.endsWith('.com')) {
    if (bytes.length >= COM_DETECT_LIMIT) throw new ImageFormatError(`${nameHint} is ${bytes.length} bytes: too large for a DOS .COM program (< ${COM_DETECT_LIMIT} bytes)`);
    return { kind: 'com', evidence: `name ends in .com, ${bytes.length} bytes` };
  }
  throw new ImageFormatError(
    `unknown image format (${bytes.length} bytes): no 'CD001' at 0x8001 (ISO 9660), no 'HdrS' at 0x202 with 0xAA55 at 0x1FE (Linux bzImage), ` +
    `no Multiboot header in the first 8192 bytes, not a floppy size, no 55AA boot signature at 0x1FE (disk image), ` +
    `and the name does not end in .com (DOS programs have no signature to recognize); use --boot to force a format`,
  );
}
