/**
 * A minimal FAT12/16/32 reader for El Torito UEFI boot images ("efiboot.img", "efi.img"): the
 * firmware boots EFI/BOOT/BOOTX64.EFI from this FAT file system (UEFI 2.x §13.3.1.2), not from the
 * ISO 9660 tree. Layout per Microsoft's "FAT: General Overview of On-Disk Format" (FAT type from the
 * cluster count, 8.3 names with VFAT long-name entries). Cluster chains are bounded by the cluster
 * count (a looping chain throws 'loop').
 */
import { ascii, u16le, u32le, u8 } from './bytes.js';
import { IsoError } from './iso-error.js';
import { readAt, type Extent, type IsoSource } from './source.js';
import type { FsTree, TreeNode } from './tree.js';
import { makeView, type FsView } from './view.js';

const MAX_FAT_BYTES = 16 * 1024 * 1024;
const MAX_FAT_DIR = 4 * 1024 * 1024;

interface Bpb {
  type: 12 | 16 | 32;
  bytesPerSector: number;
  clusterBytes: number;
  fatOffset: number;
  fatBytes: number;
  rootOffset: number;
  rootBytes: number;
  rootCluster: number;
  dataOffset: number;
  clusters: number;
}

function parseBpb(bs: Uint8Array, size: number): Bpb {
  const bytesPerSector = u16le(bs, 11);
  const spc = u8(bs, 13);
  const reserved = u16le(bs, 14);
  const fats = u8(bs, 16);
  const rootEntries = u16le(bs, 17);
  const total = u16le(bs, 19) || u32le(bs, 32);
  const fatSectors = u16le(bs, 22) || u32le(bs, 36);
  if (
    ![512, 1024, 2048, 4096].includes(bytesPerSector) ||
    spc === 0 ||
    (spc & (spc - 1)) !== 0 ||
    reserved === 0 ||
    fats === 0 ||
    fatSectors === 0
  ) {
    throw new IsoError('bad-descriptor', 'not a FAT boot sector');
  }
  const rootSectors = Math.ceil((rootEntries * 32) / bytesPerSector);
  const firstData = reserved + fats * fatSectors + rootSectors;
  if (firstData >= total || total * bytesPerSector > size) {
    throw new IsoError(
      'extent-out-of-range',
      `FAT volume of ${total} sectors does not fit its ${size}-byte image`,
    );
  }
  const clusters = Math.floor((total - firstData) / spc);
  const type = clusters < 4085 ? 12 : clusters < 65525 ? 16 : 32;
  return {
    type,
    bytesPerSector,
    clusterBytes: spc * bytesPerSector,
    fatOffset: reserved * bytesPerSector,
    fatBytes: fatSectors * bytesPerSector,
    rootOffset: (reserved + fats * fatSectors) * bytesPerSector,
    rootBytes: rootSectors * bytesPerSector,
    rootCluster: type === 32 ? u32le(bs, 44) : 0,
    dataOffset: firstData * bytesPerSector,
    clusters,
  };
}

class FatTree implements FsTree {
  readonly kind = 'fat';
  root: TreeNode = { name: '', kind: 'directory', size: 0, extents: [] };
  private fat: Uint8Array | undefined;

  constructor(
    private readonly src: IsoSource,
    private readonly bpb: Bpb,
    readonly label: string,
  ) {}

  async init(): Promise<void> {
    const b = this.bpb;
    if (b.fatBytes > MAX_FAT_BYTES) throw new IsoError('too-large', 'FAT larger than 16 MiB');
    this.fat = await readAt(this.src, b.fatOffset, b.fatBytes);
    if (b.type === 32) {
      const extents = this.chain(b.rootCluster, undefined);
      this.root = { name: '', kind: 'directory', size: sum(extents), extents };
    } else {
      this.root = {
        name: '',
        kind: 'directory',
        size: b.rootBytes,
        extents: [{ offset: b.rootOffset, length: b.rootBytes }],
      };
    }
  }

  private next(c: number): number {
    const fat = this.fat as Uint8Array;
    const t = this.bpb.type;
    if (t === 12) {
      const v = u16le(fat, c + (c >> 1));
      const n = c & 1 ? v >> 4 : v & 0xfff;
      return n >= 0xff8 ? -1 : n;
    }
    if (t === 16) {
      const n = u16le(fat, c * 2);
      return n >= 0xfff8 ? -1 : n;
    }
    const n = u32le(fat, c * 4) & 0x0fffffff;
    return n >= 0x0ffffff8 ? -1 : n;
  }

  /** The byte ranges of a cluster chain, merged where clusters are consecutive; trimmed to `size`. */
  private chain(first: number, size: number | undefined): Extent[] {
    const b = this.bpb;
    const out: Extent[] = [];
    let left = size ?? Infinity;
    for (let c = first, n = 0; c !== -1 && left > 0; c = this.next(c), n++) {
      if (c < 2 || c >= b.clusters + 2) throw new IsoError('bad-record', `cluster ${c} outside the volume`);
      if (n > b.clusters) throw new IsoError('loop', 'FAT cluster chain loops');
      const offset = b.dataOffset + (c - 2) * b.clusterBytes;
      const length = Math.min(b.clusterBytes, left);
      const last = out[out.length - 1];
      if (last && last.offset + last.length === offset) last.length += length;
      else out.push({ offset, length });
      left -= length;
    }
    if (size !== undefined && left > 0)
      throw new IsoError('bad-record', 'cluster chain shorter than the file');
    return out;
  }

  async listDir(dir: TreeNode): Promise<TreeNode[]> {
    if (dir.kind !== 'directory') throw new IsoError('not-a-directory', `${dir.name} is not a directory`);
    if (dir.size > MAX_FAT_DIR) throw new IsoError('too-large', 'FAT directory too large');
    const data = new Uint8Array(dir.size);
    let at = 0;
    for (const e of dir.extents) {
      data.set(await readAt(this.src, e.offset, e.length), at);
      at += e.length;
    }
    const out: TreeNode[] = [];
    let lfn: string[] = [];
    for (let p = 0; p + 32 <= data.length; p += 32) {
      const first = u8(data, p);
      if (first === 0) break;
      const attr = u8(data, p + 11);
      if (first === 0xe5) {
        lfn = [];
        continue;
      }
      if ((attr & 0x3f) === 0x0f) {
        // VFAT long-name entry: 13 UTF-16LE units in three runs, ordinal 1 is the first part.
        const order = first & 0x1f;
        let part = '';
        for (const [o, n] of [
          [1, 10],
          [14, 12],
          [28, 4],
        ] as const) {
          for (let i = 0; i < n; i += 2) {
            const ch = u16le(data, p + o + i);
            if (ch === 0 || ch === 0xffff) break;
            part += String.fromCharCode(ch);
          }
        }
        if (first & 0x40) lfn = [];
        lfn[order] = part;
        continue;
      }
      if (attr & 0x08) {
        lfn = [];
        continue; // volume label
      }
      const base = ascii(data, p, 8);
      const ext = ascii(data, p + 8, 3);
      const nt = u8(data, p + 12);
      const short =
        (nt & 0x08 ? base.toLowerCase() : base) + (ext ? '.' + (nt & 0x10 ? ext.toLowerCase() : ext) : '');
      const long = lfn.join('');
      lfn = [];
      const name = long || short;
      if (name === '.' || name === '..') continue;
      const cluster = (this.bpb.type === 32 ? u16le(data, p + 20) * 0x10000 : 0) + u16le(data, p + 26);
      const isDir = (attr & 0x10) !== 0;
      const size = u32le(data, p + 28);
      const extents = cluster === 0 ? [] : this.chain(cluster, isDir ? undefined : size);
      out.push({ name, kind: isDir ? 'directory' : 'file', size: isDir ? sum(extents) : size, extents });
    }
    return out;
  }
}

function sum(extents: Extent[]): number {
  return extents.reduce((a, e) => a + e.length, 0);
}

/**
 * Open a FAT image (e.g. `subSource(iso, image.elTorito.uefiImage)`). Extents are offsets in `src`:
 * add the boot image's offset to serve them from the ISO.
 */
export async function openFat(src: IsoSource): Promise<FsView & { fatType: 12 | 16 | 32 }> {
  const bs = await readAt(src, 0, 512);
  const bpb = parseBpb(bs, src.size);
  const label = ascii(bs, bpb.type === 32 ? 71 : 43, 11);
  const tree = new FatTree(src, bpb, label === 'NO NAME' ? '' : label);
  await tree.init();
  return { ...makeView(src, tree), fatType: bpb.type };
}
