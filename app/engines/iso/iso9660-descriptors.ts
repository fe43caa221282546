/**
 * ISO 9660 volume descriptor set (ECMA-119 §8): from logical sector 16, 2048-byte descriptors with
 * standard identifier "CD001" until the Volume Descriptor Set Terminator (type 255).
 */
import { ascii, both16, both32, equalsAscii, slice, u8, u32le, ucs2be } from './bytes.js';
import { IsoError } from './iso-error.js';
import { readAt, type IsoSource } from './source.js';

export const SECTOR = 2048;
/** ECMA-119 §6.2.1: the system area is sectors 0-15; descriptors start at 16. */
const FIRST_VD = 16;
/** A sane bound on the descriptor set (real images have 3-6). */
const MAX_VDS = 64;

/** The fields of a primary or supplementary descriptor the reader uses. */
export interface VolumeInfo {
  /** Volume identifier (Joliet: decoded from UCS-2). */
  label: string;
  blockSize: number;
  volumeBlocks: number;
  /** The root directory record (34 bytes, ECMA-119 §8.4.18). */
  rootRecord: Uint8Array;
}

export interface VolumeDescriptors {
  primary?: VolumeInfo;
  /** A supplementary descriptor whose escape sequence names UCS-2 level 1-3 (Joliet). */
  joliet?: VolumeInfo;
  /** El Torito boot record: the boot catalog's sector (El Torito 1.0 §2.0). */
  bootCatalogSector?: number;
  /** Sector after the terminator: where the UDF volume recognition sequence may begin. */
  endSector: number;
}

/** Joliet escape sequences "%/@", "%/C", "%/E" (UCS-2 levels 1, 2, 3) at offset 88. */
function isJoliet(vd: Uint8Array): boolean {
  const esc = slice(vd, 88, 32);
  for (let i = 0; i + 2 < esc.length; i++) {
    if (esc[i] === 0x25 && esc[i + 1] === 0x2f && [0x40, 0x43, 0x45].includes(esc[i + 2] as number))
      return true;
  }
  return false;
}

function volumeInfo(vd: Uint8Array, joliet: boolean): VolumeInfo {
  const blockSize = both16(vd, 128);
  // ECMA-119 §6.1.2: a power of two, 512 up to the sector size.
  if (![512, 1024, 2048].includes(blockSize)) {
    throw new IsoError('bad-descriptor', `logical block size ${blockSize} is not 512, 1024 or 2048`);
  }
  const rootRecord = slice(vd, 156, 34);
  if (u8(rootRecord, 0) < 34)
    throw new IsoError('bad-descriptor', 'root directory record shorter than 34 bytes');
  return {
    label: joliet ? ucs2be(vd, 40, 32).replace(/[\s\0]+$/, '') : ascii(vd, 40, 32),
    blockSize,
    volumeBlocks: both32(vd, 80),
    rootRecord,
  };
}

/** Read the descriptor set; an image with no "CD001" at sector 16 returns no primary (maybe UDF-only). */
export async function readVolumeDescriptors(src: IsoSource): Promise<VolumeDescriptors> {
  const out: VolumeDescriptors = { endSector: FIRST_VD };
  for (let i = 0; i < MAX_VDS; i++) {
    const sector = FIRST_VD + i;
    if ((sector + 1) * SECTOR > src.size) break;
    const vd = await readAt(src, sector * SECTOR, SECTOR);
    out.endSector = sector + 1;
    if (!equalsAscii(vd, 1, 'CD001')) {
      // Not an ISO 9660 descriptor (a UDF "BEA01"/"NSR0x" or nothing): the set ends here.
      out.endSector = sector;
      break;
    }
    const type = u8(vd, 0);
    if (type === 255) break;
    if (type === 1 && !out.primary) out.primary = volumeInfo(vd, false);
    else if (type === 2 && !out.joliet && isJoliet(vd)) out.joliet = volumeInfo(vd, true);
    else if (
      type === 0 &&
      out.bootCatalogSector === undefined &&
      equalsAscii(vd, 7, 'EL TORITO SPECIFICATION')
    ) {
      // El Torito 1.0 Figure 7: boot catalog pointer, absolute sector, little-endian dword at 0x47.
      out.bootCatalogSector = u32le(vd, 0x47);
    }
  }
  return out;
}
