/**
 * A minimal FAT16 "superfloppy" image writer (no partition table: EDK2's FAT driver and GRUB's `fat` module
 * both mount a whole-disk FAT), for the signed chain's RAM-disk image (signed-boot-image.ts). Pure: files in,
 * bytes out. Layout per Microsoft's "FAT: General Overview of On-Disk Format" (FAT32 File System
 * Specification 1.03): boot sector with BPB, two FATs, a fixed root directory of 512 entries, then clusters
 * of 2 sectors (1 KiB). FAT16 is chosen by cluster count (≥ 4085), so the image is at least ~4.2 MiB.
 * Names must be valid 8.3 names (upper-cased here; FAT lookups are case-insensitive).
 */

export interface FatFile {
  /** '/'-separated path, each component an 8.3 name, e.g. `EFI/BOOT/BOOTX64.EFI`. */
  readonly path: string;
  readonly data: Uint8Array;
}

export class FatImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FatImageError';
  }
}

const SECTOR = 512;
const SECTORS_PER_CLUSTER = 2;
const CLUSTER = SECTOR * SECTORS_PER_CLUSTER;
const ROOT_ENTRIES = 512;
const ROOT_SECTORS = (ROOT_ENTRIES * 32) / SECTOR;
/** FAT16 needs at least 4085 clusters (spec: the type is decided by the count alone). */
const MIN_CLUSTERS = 4200;
const MAX_CLUSTERS = 65_000;

interface Dir {
  readonly name: string;
  readonly dirs: Map<string, Dir>;
  readonly files: Map<string, Uint8Array>;
  cluster: number;
}

/** `NAME    EXT` as 11 bytes; throws on a name that is not 8.3. */
function shortName(name: string): Buffer {
  const upper = name.toUpperCase();
  const m = /^([A-Z0-9_~!#$%&'()@^`{}-]{1,8})(?:\.([A-Z0-9_~!#$%&'()@^`{}-]{1,3}))?$/.exec(upper);
  if (!m) throw new FatImageError(`not an 8.3 name: ${name}`);
  return Buffer.from((m[1] ?? '').padEnd(8, ' ') + (m[2] ?? '').padEnd(3, ' '), 'latin1');
}

const clustersFor = (bytes: number): number => Math.max(1, Math.ceil(bytes / CLUSTER));

/** Directory entries a directory needs: its children, plus `.` and `..` for a subdirectory. */
function entryCount(d: Dir, root: boolean): number {
  return d.dirs.size + d.files.size + (root ? 0 : 2);
}

export function buildFatImage(files: readonly FatFile[], label = 'PXEDESK'): Buffer {
  const root: Dir = { name: '', dirs: new Map(), files: new Map(), cluster: 0 };
  for (const f of files) {
    const parts = f.path.split('/').filter(Boolean);
    const leaf = parts.pop();
    if (!leaf) throw new FatImageError(`empty path`);
    let d = root;
    for (const p of parts) {
      const key = p.toUpperCase();
      let next = d.dirs.get(key);
      if (!next) d.dirs.set(key, (next = { name: key, dirs: new Map(), files: new Map(), cluster: 0 }));
      d = next;
    }
    d.files.set(leaf.toUpperCase(), f.data);
  }
  if (entryCount(root, true) + 1 > ROOT_ENTRIES) throw new FatImageError('too many root entries');

  // Allocate clusters: directories first (each in one run), then files, in tree order.
  let next = 2;
  const fileRuns: { data: Uint8Array; first: number; count: number }[] = [];
  const dirRuns: { dir: Dir; count: number }[] = [];
  const fileFirst = new Map<Uint8Array, number>();
  const walk = (d: Dir, isRoot: boolean): void => {
    if (!isRoot) {
      const count = clustersFor(entryCount(d, false) * 32);
      d.cluster = next;
      dirRuns.push({ dir: d, count });
      next += count;
    }
    for (const [, data] of d.files) {
      if (data.length === 0) continue;
      const count = clustersFor(data.length);
      fileRuns.push({ data, first: next, count });
      fileFirst.set(data, next);
      next += count;
    }
    for (const [, sub] of d.dirs) walk(sub, false);
  };
  walk(root, true);
  const used = next - 2;
  const clusters = Math.max(MIN_CLUSTERS, used + 16);
  if (clusters > MAX_CLUSTERS) throw new FatImageError('image too large for FAT16 with 1 KiB clusters');
  const fatSectors = Math.ceil(((clusters + 2) * 2) / SECTOR);
  const reserved = 1;
  const totalSectors = reserved + 2 * fatSectors + ROOT_SECTORS + clusters * SECTORS_PER_CLUSTER;
  const img = Buffer.alloc(totalSectors * SECTOR);

  // Boot sector and BPB.
  img.set([0xeb, 0x3c, 0x90], 0);
  img.write('PXEDESK ', 3, 'latin1');
  img.writeUInt16LE(SECTOR, 11);
  img.writeUInt8(SECTORS_PER_CLUSTER, 13);
  img.writeUInt16LE(reserved, 14);
  img.writeUInt8(2, 16);
  img.writeUInt16LE(ROOT_ENTRIES, 17);
  if (totalSectors < 0x10000) img.writeUInt16LE(totalSectors, 19);
  else img.writeUInt32LE(totalSectors, 32);
  img.writeUInt8(0xf8, 21);
  img.writeUInt16LE(fatSectors, 22);
  img.writeUInt16LE(32, 24);
  img.writeUInt16LE(64, 26);
  img.writeUInt8(0x80, 36);
  img.writeUInt8(0x29, 38);
  img.writeUInt32LE(0x50584544, 39);
  img.write(label.toUpperCase().slice(0, 11).padEnd(11, ' '), 43, 'latin1');
  img.write('FAT16   ', 54, 'latin1');
  img.writeUInt16LE(0xaa55, 510);

  // FAT: media + end-of-chain in entries 0 and 1, then one chain per run.
  const fat = Buffer.alloc(fatSectors * SECTOR);
  fat.writeUInt16LE(0xfff8, 0);
  fat.writeUInt16LE(0xffff, 2);
  const chain = (first: number, count: number): void => {
    for (let i = 0; i < count; i++)
      fat.writeUInt16LE(i === count - 1 ? 0xffff : first + i + 1, (first + i) * 2);
  };
  for (const r of dirRuns) chain(r.dir.cluster, r.count);
  for (const r of fileRuns) chain(r.first, r.count);
  fat.copy(img, reserved * SECTOR);
  fat.copy(img, (reserved + fatSectors) * SECTOR);

  const rootOffset = (reserved + 2 * fatSectors) * SECTOR;
  const dataOffset = rootOffset + ROOT_SECTORS * SECTOR;
  const clusterOffset = (c: number): number => dataOffset + (c - 2) * CLUSTER;
  // 2020-01-01 00:00 in FAT's packed date (fixed: byte-identical images for the same files).
  const DATE = ((2020 - 1980) << 9) | (1 << 5) | 1;
  const entry = (at: number, name: Buffer, attr: number, cluster: number, size: number): void => {
    name.copy(img, at);
    img.writeUInt8(attr, at + 11);
    img.writeUInt16LE(DATE, at + 16);
    img.writeUInt16LE(DATE, at + 18);
    img.writeUInt16LE(DATE, at + 24);
    img.writeUInt16LE(cluster, at + 26);
    img.writeUInt32LE(size, at + 28);
  };
  const writeDir = (d: Dir, at: number, parent: number | undefined): void => {
    let i = 0;
    if (parent !== undefined) {
      entry(at, Buffer.from('.          ', 'latin1'), 0x10, d.cluster, 0);
      entry(at + 32, Buffer.from('..         ', 'latin1'), 0x10, parent, 0);
      i = 2;
    }
    for (const [name, sub] of d.dirs) entry(at + 32 * i++, shortName(name), 0x10, sub.cluster, 0);
    for (const [name, data] of d.files)
      entry(at + 32 * i++, shortName(name), 0x20, fileFirst.get(data) ?? 0, data.length);
    for (const [, sub] of d.dirs) writeDir(sub, clusterOffset(sub.cluster), d === root ? 0 : d.cluster);
  };
  // Volume label entry first in the root (as mkfs.fat writes it).
  entry(rootOffset, Buffer.from(label.toUpperCase().slice(0, 11).padEnd(11, ' '), 'latin1'), 0x08, 0, 0);
  writeDir(root, rootOffset + 32, undefined);
  for (const r of fileRuns) img.set(r.data, clusterOffset(r.first));
  return img;
}
