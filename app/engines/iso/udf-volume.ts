/**
 * UDF volume structure (ECMA-167 part 3, OSTA UDF 2.60 §2.2): Anchor Volume Descriptor Pointer at
 * sector 256 (3/10.2, UDF §2.2.3), the main Volume Descriptor Sequence (Partition Descriptors,
 * Logical Volume Descriptor with its partition maps and File Set Descriptor address), and the File
 * Set Descriptor (4/14.1) naming the root directory ICB. Partition maps: type 1, sparable (read as
 * type 1: a pressed or image disc has no remapped packets) and the UDF 2.50 metadata partition.
 */
import { u16le, u32le, u8, slice, equalsAscii } from './bytes.js';
import { IsoError } from './iso-error.js';
import { readAt, type Extent, type IsoSource } from './source.js';
import { readFileEntry, type UdfResolver } from './udf-file-entry.js';
import { TAG, checkTag, dstring, isTag } from './udf-tag.js';

const SECTOR = 2048;
const ANCHOR_SECTOR = 256;
const MAX_VDS_DESCRIPTORS = 256;

interface PartitionMap {
  kind: 'physical' | 'metadata';
  partitionNumber: number;
  /** Metadata partition: the metadata file's extents in the physical partition. */
  metaExtents?: Extent[];
}

export interface UdfVolume extends UdfResolver {
  label: string;
  /** Root directory ICB: partition reference and block. */
  root: { partRef: number; lbn: number };
}

/** True when sector 256 holds a valid Anchor Volume Descriptor Pointer. */
export async function hasUdfAnchor(src: IsoSource): Promise<boolean> {
  if ((ANCHOR_SECTOR + 1) * SECTOR > src.size) return false;
  return isTag(await readAt(src, ANCHOR_SECTOR * SECTOR, SECTOR), [TAG.anchor], ANCHOR_SECTOR);
}

export async function readUdfVolume(src: IsoSource): Promise<UdfVolume> {
  const avdp = await readAt(src, ANCHOR_SECTOR * SECTOR, SECTOR);
  checkTag(avdp, [TAG.anchor], ANCHOR_SECTOR);
  const vdsLength = u32le(avdp, 16);
  const vdsStart = u32le(avdp, 20);
  const count = Math.min(Math.floor(vdsLength / SECTOR), MAX_VDS_DESCRIPTORS);
  const partitions = new Map<number, { start: number; length: number }>();
  let lvd: Uint8Array | undefined;
  let pvdLabel = '';
  for (let i = 0; i < count; i++) {
    const sector = vdsStart + i;
    const d = await readAt(src, sector * SECTOR, SECTOR);
    // An unrecognised descriptor (implementation use, unallocated space) is skipped; a bad tag ends the sequence.
    if (!isTag(d, [1, 3, 4, 5, 6, 7, 8], sector)) break;
    const id = u16le(d, 0);
    if (id === TAG.terminating) break;
    if (id === TAG.volumePointer)
      throw new IsoError('unsupported', 'volume descriptor pointer (continued sequence)');
    if (id === TAG.primaryVolume && !pvdLabel) pvdLabel = dstring(slice(d, 24, 32));
    if (id === TAG.partition) {
      const number = u16le(d, 22);
      if (!partitions.has(number)) partitions.set(number, { start: u32le(d, 188), length: u32le(d, 192) });
    }
    if (id === TAG.logicalVolume && !lvd) lvd = d;
  }
  if (!lvd) throw new IsoError('bad-descriptor', 'UDF volume has no logical volume descriptor');
  const blockSize = u32le(lvd, 212);
  if (blockSize !== SECTOR) throw new IsoError('unsupported', `UDF logical block size ${blockSize}`);
  const maps = parseMaps(lvd);
  const physical = (m: PartitionMap): { start: number; length: number } => {
    const p = partitions.get(m.partitionNumber);
    if (!p) throw new IsoError('bad-descriptor', `partition ${m.partitionNumber} has no descriptor`);
    return p;
  };
  const resolver: UdfVolume = {
    blockSize,
    label: dstring(slice(lvd, 84, 128)) || pvdLabel,
    root: { partRef: 0, lbn: 0 },
    byteOffset(partRef, lbn) {
      const m = maps[partRef];
      if (!m) throw new IsoError('extent-out-of-range', `partition reference ${partRef}`);
      if (m.kind === 'metadata') {
        // UDF 2.60 §2.2.13: metadata partition blocks are offsets into the metadata file.
        if (!m.metaExtents)
          throw new IsoError('bad-descriptor', 'metadata partition used before its file was read');
        let pos = lbn * blockSize;
        for (const e of m.metaExtents) {
          if (pos < e.length && !e.sparse) return e.offset + pos;
          pos -= e.length;
        }
        throw new IsoError('extent-out-of-range', `metadata block ${lbn} outside the metadata file`);
      }
      const p = physical(m);
      if (lbn >= p.length)
        throw new IsoError('extent-out-of-range', `block ${lbn} past partition length ${p.length}`);
      const offset = (p.start + lbn) * blockSize;
      if (offset + blockSize > src.size)
        throw new IsoError('extent-out-of-range', `block ${lbn} past the image end`);
      return offset;
    },
  };
  for (const m of maps) {
    if (m.kind !== 'metadata') continue;
    const ref = maps.findIndex((x) => x.kind === 'physical' && x.partitionNumber === m.partitionNumber);
    if (ref < 0) throw new IsoError('bad-descriptor', 'metadata partition without its physical partition');
    const fileLbn = u32le(lvd, m.metaLocationOffset);
    m.metaExtents = (await readFileEntry(src, resolver, ref, fileLbn)).extents;
  }
  // LVD logical volume contents use (3/10.6.7, UDF §2.2.4.4): long_ad of the File Set Descriptor.
  const fsdLbn = u32le(lvd, 252);
  const fsdRef = u16le(lvd, 256);
  const fsd = await readAt(src, resolver.byteOffset(fsdRef, fsdLbn), blockSize);
  checkTag(fsd, [TAG.fileSet], fsdLbn);
  // FSD root directory ICB: long_ad at 400 (4/14.1).
  resolver.root = { lbn: u32le(fsd, 404), partRef: u16le(fsd, 408) };
  return resolver;
}

function parseMaps(lvd: Uint8Array): (PartitionMap & { metaLocationOffset: number })[] {
  const tableLength = u32le(lvd, 264);
  const n = u32le(lvd, 268);
  if (n > 64 || 440 + tableLength > lvd.length)
    throw new IsoError('bad-descriptor', 'partition map table too large');
  const maps: (PartitionMap & { metaLocationOffset: number })[] = [];
  let p = 440;
  for (let i = 0; i < n; i++) {
    const type = u8(lvd, p);
    const len = u8(lvd, p + 1);
    if (len < 6 || p + len > 440 + tableLength)
      throw new IsoError('bad-descriptor', `partition map ${i} length ${len}`);
    if (type === 1) {
      maps.push({ kind: 'physical', partitionNumber: u16le(lvd, p + 4), metaLocationOffset: 0 });
    } else if (type === 2 && len >= 64) {
      // Type 2 maps are named by their entity identifier (UDF 2.60 §2.2.8-2.2.10).
      const number = u16le(lvd, p + 38);
      if (equalsAscii(lvd, p + 5, '*UDF Metadata Partition')) {
        maps.push({ kind: 'metadata', partitionNumber: number, metaLocationOffset: p + 40 });
      } else if (equalsAscii(lvd, p + 5, '*UDF Sparable Partition')) {
        maps.push({ kind: 'physical', partitionNumber: number, metaLocationOffset: 0 });
      } else {
        throw new IsoError('unsupported', 'UDF virtual (VAT) partitions are not read');
      }
    } else {
      throw new IsoError('bad-descriptor', `partition map type ${type}`);
    }
    p += len;
  }
  return maps;
}
