/**
 * ISO 9660 directory hierarchy (ECMA-119 §9.1 directory records) walked from the root record, never
 * through the path table. Names: Rock Ridge NM when the root "." record carries SUSP SP, else the
 * Joliet tree (UCS-2, ECMA-119 supplementary descriptor), else plain d-characters with the ";1"
 * version and a trailing "." removed. Multi-extent files (§9.1.6 flag bit 7) are one file.
 */
import { ascii, both32, u8, ucs2be } from './bytes.js';
import { SECTOR, type VolumeInfo } from './iso9660-descriptors.js';
import { IsoError } from './iso-error.js';
import { findSp, modeKind, readRockRidge } from './rock-ridge.js';
import { readExtents, readAt, type Extent, type IsoSource } from './source.js';
import { MAX_DIR_BYTES, MAX_DIR_ENTRIES, type FsTree, type TreeNode } from './tree.js';

/** ECMA-119 §9.1.6 file flags. */
const FLAG_DIRECTORY = 0x02;
const FLAG_MULTI_EXTENT = 0x80;

interface RawRecord {
  rawName: Uint8Array;
  extent: Extent;
  flags: number;
  interleaved: boolean;
  sua: Uint8Array;
}

/** Split directory data into records (§6.8.1.1: records never cross a logical sector; 0 pads to the next). */
export function parseRecords(data: Uint8Array, blockSize: number): RawRecord[] {
  const out: RawRecord[] = [];
  let p = 0;
  while (p < data.length) {
    const len = data[p] as number;
    const sectorEnd = Math.min(data.length, (Math.floor(p / SECTOR) + 1) * SECTOR);
    if (len === 0) {
      p = sectorEnd;
      continue;
    }
    if (len < 34) throw new IsoError('bad-record', `directory record of ${len} bytes at ${p}`);
    if (p + len > sectorEnd) throw new IsoError('bad-record', `directory record at ${p} overruns its sector`);
    const r = data.subarray(p, p + len);
    const nameLen = u8(r, 32);
    if (33 + nameLen > len) throw new IsoError('bad-record', `name of directory record at ${p} overruns it`);
    const suaStart = 33 + nameLen + (nameLen % 2 === 0 ? 1 : 0);
    out.push({
      rawName: r.subarray(33, 33 + nameLen),
      extent: { offset: (both32(r, 2) + u8(r, 1)) * blockSize, length: both32(r, 10) },
      flags: u8(r, 25),
      interleaved: u8(r, 26) !== 0 || u8(r, 27) !== 0,
      sua: r.subarray(Math.min(suaStart, len)),
    });
    if (out.length > MAX_DIR_ENTRIES) throw new IsoError('too-large', 'directory has too many records');
    p += len;
  }
  return out;
}

/** Plain ISO 9660 / Joliet name: the ";N" version and a trailing "." dropped (ECMA-119 §7.5.1). */
export function cleanIsoName(name: string): string {
  return name.replace(/;\d*$/, '').replace(/\.$/, '');
}

/** Throw unless every extent lies inside the image. */
export function checkExtents(src: IsoSource, extents: readonly Extent[]): void {
  for (const e of extents) {
    if (!e.sparse && (e.offset < 0 || e.offset + e.length > src.size)) {
      throw new IsoError(
        'extent-out-of-range',
        `extent ${e.offset}+${e.length} outside the ${src.size}-byte image`,
      );
    }
  }
}

/** Read a directory's whole data (bounded) from its extents. */
export async function readDirData(src: IsoSource, dir: TreeNode): Promise<Uint8Array> {
  if (dir.size > MAX_DIR_BYTES) throw new IsoError('too-large', `directory of ${dir.size} bytes`);
  checkExtents(src, dir.extents);
  return readExtents(src, dir.extents, 0, dir.size);
}

export class Iso9660Tree implements FsTree {
  readonly kind = 'iso9660';
  readonly root: TreeNode;
  readonly label: string;

  private constructor(
    private readonly src: IsoSource,
    private readonly vol: VolumeInfo,
    private readonly names: 'rockridge' | 'joliet' | 'plain',
    private readonly suspSkip: number,
    rootExtent: Extent,
  ) {
    this.label = vol.label;
    this.root = { name: '', kind: 'directory', size: rootExtent.length, extents: [rootExtent] };
  }

  /** `names` says which names the tree shows; Rock Ridge is detected from the root "." record. */
  static async open(src: IsoSource, vol: VolumeInfo, joliet: boolean): Promise<Iso9660Tree> {
    const [root] = parseRecords(vol.rootRecord, vol.blockSize);
    if (!root) throw new IsoError('bad-descriptor', 'no root directory record');
    let names: 'rockridge' | 'joliet' | 'plain' = joliet ? 'joliet' : 'plain';
    let skip = 0;
    if (!joliet) {
      checkExtents(src, [root.extent]);
      const first = await readAt(src, root.extent.offset, Math.min(SECTOR, root.extent.length));
      const dot = parseRecords(first.subarray(0, Math.max(0, first[0] ?? 0)), vol.blockSize)[0];
      const sp = dot ? findSp(dot.sua) : undefined;
      if (sp !== undefined) {
        names = 'rockridge';
        skip = sp;
      }
    }
    return new Iso9660Tree(src, vol, names, skip, root.extent);
  }

  get namesFrom(): 'rockridge' | 'joliet' | 'plain' {
    return this.names;
  }

  async listDir(dir: TreeNode): Promise<TreeNode[]> {
    if (dir.kind !== 'directory') throw new IsoError('not-a-directory', `${dir.name} is not a directory`);
    const records = parseRecords(await readDirData(this.src, dir), this.vol.blockSize);
    const out: TreeNode[] = [];
    let pending: TreeNode | undefined;
    for (const r of records) {
      if (r.rawName.length === 1 && (r.rawName[0] === 0 || r.rawName[0] === 1)) continue; // "." and ".."
      if (pending) {
        // §6.5.1: the following records of a multi-extent file carry the same name; append the extent.
        pending.extents.push(r.extent);
        pending.size += r.extent.length;
        if (!(r.flags & FLAG_MULTI_EXTENT)) pending = undefined;
        continue;
      }
      const node = await this.node(r);
      if (!node) continue;
      out.push(node);
      if (r.flags & FLAG_MULTI_EXTENT && node.kind === 'file') pending = node;
    }
    return out;
  }

  private async node(r: RawRecord): Promise<TreeNode | undefined> {
    let name =
      this.names === 'joliet'
        ? cleanIsoName(ucs2be(r.rawName, 0, r.rawName.length))
        : cleanIsoName(ascii(r.rawName, 0, r.rawName.length));
    let kind: TreeNode['kind'] = r.flags & FLAG_DIRECTORY ? 'directory' : 'file';
    let extent = r.extent;
    let mode: number | undefined;
    let target: string | undefined;
    if (this.names === 'rockridge') {
      const rr = await readRockRidge(
        this.src,
        this.vol.blockSize,
        r.sua.subarray(Math.min(this.suspSkip, r.sua.length)),
      );
      if (rr.relocated) return undefined; // listed where its CL entry is
      if (rr.name !== undefined) name = rr.name;
      target = rr.symlink;
      if (rr.mode !== undefined) {
        mode = rr.mode;
        const k = modeKind(rr.mode);
        if (k !== 'directory' || kind === 'directory') kind = k;
      }
      if (rr.childLink !== undefined) {
        // RRIP §4.1.5.1: the directory lives at the CL block; its size is in its own "." record.
        const at = rr.childLink * this.vol.blockSize;
        // A directory record is at most 255 bytes (its length is one byte).
        const head = await readAt(this.src, at, Math.min(255, Math.max(0, this.src.size - at)));
        const dot = parseRecords(head.subarray(0, Math.max(0, head[0] ?? 0)), this.vol.blockSize)[0];
        if (!dot) throw new IsoError('bad-record', 'relocated directory has no "." record');
        extent = { offset: at, length: dot.extent.length };
        kind = 'directory';
      }
    }
    if (r.interleaved && kind === 'file') kind = 'other'; // interleaved (§9.1.7): not read
    if (!name) throw new IsoError('bad-record', 'directory record with an empty name');
    const node: TreeNode = { name, kind, size: extent.length, extents: [extent] };
    if (mode !== undefined) node.mode = mode;
    if (target !== undefined && kind === 'symlink') node.target = target;
    return node;
  }
}
