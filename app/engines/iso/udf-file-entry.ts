/**
 * UDF File Entry (ECMA-167 4/14.9, tag 261) and Extended File Entry (4/14.17, tag 266) with their
 * allocation descriptors: short_ad (4/14.14.1), long_ad (4/14.14.2), ext_ad (4/14.14.3), data
 * embedded in the ICB (ICB flags 3), and Allocation Extent Descriptors (4/14.5) continuing the list.
 * Unrecorded/unallocated extents (types 1, 2) read as zeros.
 */
import { u16le, u32le, u64le, u8 } from './bytes.js';
import { IsoError } from './iso-error.js';
import { readAt, type Extent, type IsoSource } from './source.js';
import type { EntryKind } from './tree.js';
import { TAG, checkTag } from './udf-tag.js';

const MAX_AD_CONTINUATIONS = 64;
const MAX_EXTENTS = 100_000;

/** Maps a partition reference number + logical block number to a byte offset in the image. */
export interface UdfResolver {
  readonly blockSize: number;
  byteOffset(partRef: number, lbn: number): number;
}

export interface FileEntry {
  kind: EntryKind;
  size: number;
  mode: number;
  extents: Extent[];
}

/** ECMA-167 4/14.6.6 file types. */
function kindOf(fileType: number): EntryKind {
  if (fileType === 4) return 'directory';
  if (fileType === 5) return 'file';
  if (fileType === 12) return 'symlink';
  return 'other';
}

/** UDF permissions (ECMA-167 4/14.9.5: other bits 0-4, group 5-9, owner 10-14) as POSIX rwx bits. */
function posixMode(perm: number, kind: EntryKind): number {
  // Within each group UDF has execute=1, write=2, read=4: the POSIX weights, so the low 3 bits carry over.
  const m = (((perm >> 10) & 7) << 6) | (((perm >> 5) & 7) << 3) | (perm & 7);
  const type =
    kind === 'directory' ? 0o040000 : kind === 'symlink' ? 0o120000 : kind === 'file' ? 0o100000 : 0;
  return type | m;
}

/** Read the (extended) file entry at partition `partRef`, block `lbn`. */
export async function readFileEntry(
  src: IsoSource,
  vol: UdfResolver,
  partRef: number,
  lbn: number,
): Promise<FileEntry> {
  const at = vol.byteOffset(partRef, lbn);
  const d = await readAt(src, at, vol.blockSize);
  const id = checkTag(d, [TAG.fileEntry, TAG.extendedFileEntry, TAG.indirectEntry], lbn);
  if (id === TAG.indirectEntry) throw new IsoError('unsupported', 'ICB strategy 4096 (indirect entries)');
  const kind = kindOf(u8(d, 16 + 11));
  const adType = u16le(d, 16 + 18) & 7;
  const size = u64le(d, 56);
  const base = id === TAG.fileEntry ? 176 : 216;
  const lEa = u32le(d, id === TAG.fileEntry ? 168 : 208);
  const lAd = u32le(d, id === TAG.fileEntry ? 172 : 212);
  if (base + lEa + lAd > d.length)
    throw new IsoError('bad-record', 'file entry descriptors overrun the block');
  const mode = posixMode(u32le(d, 44), kind);
  const adStart = base + lEa;
  if (adType === 3) {
    // Embedded: the file's bytes are the allocation descriptor area itself (ECMA-167 4/14.6.8).
    if (size > lAd) throw new IsoError('bad-record', `embedded file of ${size} bytes in a ${lAd}-byte area`);
    return { kind, size, mode, extents: size > 0 ? [{ offset: at + adStart, length: size }] : [] };
  }
  const extents: Extent[] = [];
  await collect(src, vol, partRef, adType, d.subarray(adStart, adStart + lAd), extents);
  // Extents are block-rounded; the information length is the file size (ECMA-167 4/14.9.10).
  let left = size;
  const trimmed: Extent[] = [];
  for (const e of extents) {
    if (left <= 0) break;
    const n = Math.min(e.length, left);
    trimmed.push({ ...e, length: n });
    left -= n;
  }
  if (left > 0)
    throw new IsoError('bad-record', `allocation descriptors cover less than the ${size}-byte file`);
  return { kind, size, mode, extents: trimmed };
}

async function collect(
  src: IsoSource,
  vol: UdfResolver,
  partRef: number,
  adType: number,
  area: Uint8Array,
  out: Extent[],
): Promise<void> {
  const seen = new Set<number>();
  let ads: Uint8Array | undefined = area;
  for (let hops = 0; ads; hops++) {
    const size = adType === 0 ? 8 : adType === 1 ? 16 : adType === 2 ? 20 : 0;
    if (size === 0) throw new IsoError('bad-record', `allocation descriptor type ${adType}`);
    let next: { ref: number; lbn: number } | undefined;
    for (let p = 0; p + size <= ads.length; p += size) {
      const raw = u32le(ads, p);
      const type = raw >>> 30;
      const length = raw & 0x3fffffff;
      if (length === 0) break;
      const lbn = adType === 2 ? u32le(ads, p + 12) : u32le(ads, p + 4);
      const ref = adType === 0 ? partRef : u16le(ads, adType === 1 ? p + 8 : p + 16);
      if (type === 3) {
        next = { ref, lbn }; // the list continues in an Allocation Extent Descriptor
        break;
      }
      if (type === 0) out.push({ offset: vol.byteOffset(ref, lbn), length });
      else out.push({ offset: 0, length, sparse: true });
      if (out.length > MAX_EXTENTS) throw new IsoError('too-large', 'file has too many extents');
    }
    ads = undefined;
    if (next) {
      if (hops >= MAX_AD_CONTINUATIONS) throw new IsoError('loop', 'allocation extent chain too long');
      const at = vol.byteOffset(next.ref, next.lbn);
      if (seen.has(at)) throw new IsoError('loop', 'allocation extent chain loops');
      seen.add(at);
      const aed = await readAt(src, at, vol.blockSize);
      checkTag(aed, [TAG.allocationExtent], next.lbn);
      const len = u32le(aed, 20);
      if (24 + len > aed.length)
        throw new IsoError('bad-record', 'allocation extent descriptor overruns its block');
      ads = aed.subarray(24, 24 + len);
      partRef = next.ref;
    }
  }
}
