/**
 * El Torito boot catalog ("El Torito" Bootable CD-ROM Format Specification 1.0, Phoenix/IBM 1995):
 * validation entry (§2.1, checksum and 55 AA key), initial/default entry (§2.2), section headers
 * (§2.3, platform 0x00 x86 BIOS, 0xEF UEFI per UEFI 2.x §13.3.2.1) and section entries (§2.4).
 * A catalog is read up to MAX_CATALOG_SECTORS; section entry extensions (0x44) are skipped.
 */
import { ascii, u16le, u32le, u8 } from './bytes.js';
import { SECTOR } from './iso9660-descriptors.js';
import { IsoError } from './iso-error.js';
import { readAt, type Extent, type IsoSource } from './source.js';

const ENTRY = 32;
const MAX_CATALOG_SECTORS = 4;

export type Platform = 'bios' | 'uefi' | 'powerpc' | 'mac' | 'other';
export type MediaType =
  'no-emulation' | 'floppy-1.2m' | 'floppy-1.44m' | 'floppy-2.88m' | 'hard-disk' | 'unknown';

export interface BootEntry {
  platform: Platform;
  platformId: number;
  bootable: boolean;
  media: MediaType;
  /** Load RBA: the image's first 2048-byte sector. */
  loadRba: number;
  /** Sector count field: 512-byte virtual sectors loaded by a BIOS (often 4 for no-emulation, 0/1 for UEFI). */
  sectorCount: number;
  /** Where the boot image lies in the ISO, its length from the FAT boot sector when there is one (UEFI). */
  image: Extent;
  /** Section header's ID string (e.g. "UEFI"), when the entry sits in a section. */
  sectionId?: string;
}

export interface ElTorito {
  catalogSector: number;
  entries: BootEntry[];
  /** The first bootable UEFI entry's image: the FAT "efiboot.img" holding EFI/BOOT/BOOTX64.EFI. */
  uefiImage?: Extent;
  /** The first bootable BIOS entry. */
  bios?: BootEntry;
}

function platformOf(id: number): Platform {
  if (id === 0x00) return 'bios';
  if (id === 0xef) return 'uefi';
  if (id === 0x01) return 'powerpc';
  if (id === 0x02) return 'mac';
  return 'other';
}

const MEDIA: MediaType[] = ['no-emulation', 'floppy-1.2m', 'floppy-1.44m', 'floppy-2.88m', 'hard-disk'];

/**
 * The image's length: sectorCount*512 is what a BIOS loads, not the image size (it is 16-bit and
 * mkisofs-style tools write 1 or 4 for large UEFI images). For a UEFI (non-BIOS) no-emulation
 * entry a FAT boot sector at the load RBA gives the real size; emulated floppies have fixed sizes;
 * else the sector count stands.
 */
async function imageExtent(
  src: IsoSource,
  rba: number,
  sectorCount: number,
  media: MediaType,
  platformId: number,
): Promise<Extent> {
  const offset = rba * SECTOR;
  const floppy = { 'floppy-1.2m': 1_228_800, 'floppy-1.44m': 1_474_560, 'floppy-2.88m': 2_949_120 } as Record<
    string,
    number
  >;
  let length = floppy[media] ?? sectorCount * 512;
  // Only a non-BIOS no-emulation image is a whole file system the firmware opens; a BIOS loads its count.
  if (platformId !== 0x00 && media === 'no-emulation' && offset + 512 <= src.size) {
    const bs = await readAt(src, offset, 512);
    const bytesPerSector = u16le(bs, 11);
    const total = u16le(bs, 19) || u32le(bs, 32);
    if (
      bs[510] === 0x55 &&
      bs[511] === 0xaa &&
      [512, 1024, 2048, 4096].includes(bytesPerSector) &&
      total > 0
    ) {
      length = Math.max(length, total * bytesPerSector);
    }
  }
  // Never past the image end: a lying count must not make a caller read outside the ISO.
  length = Math.max(0, Math.min(length, src.size - offset));
  return { offset, length };
}

async function entry(
  src: IsoSource,
  e: Uint8Array,
  platformId: number,
  sectionId?: string,
): Promise<BootEntry> {
  const media = MEDIA[u8(e, 1) & 0x0f] ?? 'unknown';
  const loadRba = u32le(e, 8);
  const sectorCount = u16le(e, 6);
  const out: BootEntry = {
    platform: platformOf(platformId),
    platformId,
    bootable: u8(e, 0) === 0x88,
    media,
    loadRba,
    sectorCount,
    image: await imageExtent(src, loadRba, sectorCount, media, platformId),
  };
  if (sectionId !== undefined) out.sectionId = sectionId;
  return out;
}

/** Read the boot catalog at `catalogSector` (from the boot record volume descriptor). */
export async function readElTorito(src: IsoSource, catalogSector: number): Promise<ElTorito> {
  const at = catalogSector * SECTOR;
  if (at + SECTOR > src.size)
    throw new IsoError('extent-out-of-range', `boot catalog sector ${catalogSector} outside the image`);
  const sectors = Math.min(MAX_CATALOG_SECTORS, Math.floor((src.size - at) / SECTOR));
  const cat = await readAt(src, at, sectors * SECTOR);
  // §2.1 validation entry: header 01, key 55 AA, and the 16-bit words sum to zero.
  if (u8(cat, 0) !== 0x01 || u8(cat, 30) !== 0x55 || u8(cat, 31) !== 0xaa) {
    throw new IsoError('bad-descriptor', 'boot catalog validation entry missing');
  }
  let sum = 0;
  for (let i = 0; i < ENTRY; i += 2) sum = (sum + u16le(cat, i)) & 0xffff;
  if (sum !== 0) throw new IsoError('bad-descriptor', 'boot catalog validation entry checksum');
  const entries: BootEntry[] = [await entry(src, cat.subarray(ENTRY, 2 * ENTRY), u8(cat, 1))];
  let p = 2 * ENTRY;
  // §2.3: section headers 0x90 (more follow) / 0x91 (last), each followed by its section entries.
  while (p + ENTRY <= cat.length) {
    const hdr = u8(cat, p);
    if (hdr !== 0x90 && hdr !== 0x91) break;
    const platformId = u8(cat, p + 1);
    const count = u16le(cat, p + 2);
    const id = ascii(cat, p + 4, 28);
    p += ENTRY;
    for (let n = 0; n < count && p + ENTRY <= cat.length; n++) {
      const e = cat.subarray(p, p + ENTRY);
      p += ENTRY;
      if (u8(e, 0) !== 0x88 && u8(e, 0) !== 0x00) break;
      entries.push(await entry(src, e, platformId, id));
      // §2.5: extension records (0x44) follow an entry while bit 5 says "more"; skip them.
      while (p + ENTRY <= cat.length && u8(cat, p) === 0x44) p += ENTRY;
    }
    if (hdr === 0x91) break;
  }
  const result: ElTorito = { catalogSector, entries };
  const uefi = entries.find((e) => e.platform === 'uefi' && e.bootable);
  if (uefi) result.uefiImage = uefi.image;
  const bios = entries.find((e) => e.platform === 'bios' && e.bootable);
  if (bios) result.bios = bios;
  return result;
}
