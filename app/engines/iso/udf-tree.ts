/**
 * UDF directories: File Identifier Descriptors (ECMA-167 4/14.4, tag 257) in a directory's data,
 * each naming a child by an OSTA CS0 identifier and pointing at its ICB (long_ad). Deleted and
 * parent entries are skipped; each child's (extended) file entry gives its kind, size and extents.
 */
import { u16le, u32le, u8 } from './bytes.js';
import { IsoError } from './iso-error.js';
import { checkExtents, readDirData } from './iso9660-tree.js';
import { readExtents, type IsoSource } from './source.js';
import { MAX_DIR_ENTRIES, type FsTree, type TreeNode } from './tree.js';
import { readFileEntry } from './udf-file-entry.js';
import { TAG, checkTag, cs0 } from './udf-tag.js';
import { readUdfVolume, type UdfVolume } from './udf-volume.js';

/** ECMA-167 4/14.4.3 file characteristics. */
const FID_DIRECTORY = 0x02;
const FID_DELETED = 0x04;
const FID_PARENT = 0x08;

const MAX_SYMLINK = 4096;

/**
 * A symbolic link's data: ECMA-167 4/14.16 path components, type 1/2 root, 3 parent, 4 current,
 * 5 a CS0 name. Joined with "/" (a leading "/" for root).
 */
export function pathComponents(d: Uint8Array): string {
  const parts: string[] = [];
  let p = 0;
  while (p + 4 <= d.length) {
    const type = u8(d, p);
    const n = u8(d, p + 1);
    if (p + 4 + n > d.length) throw new IsoError('bad-record', 'symlink path component overruns its data');
    if (type === 1 || type === 2) parts.splice(0, parts.length, '');
    else if (type === 3) parts.push('..');
    else if (type === 4) parts.push('.');
    else if (type === 5) parts.push(cs0(d.subarray(p + 4, p + 4 + n)));
    else throw new IsoError('bad-record', `symlink path component type ${type}`);
    p += 4 + n;
  }
  return parts.length === 1 && parts[0] === '' ? '/' : parts.join('/');
}

export class UdfTree implements FsTree {
  readonly kind = 'udf';
  readonly label: string;

  private constructor(
    private readonly src: IsoSource,
    private readonly vol: UdfVolume,
    readonly root: TreeNode,
  ) {
    this.label = vol.label;
  }

  static async open(src: IsoSource): Promise<UdfTree> {
    const vol = await readUdfVolume(src);
    const fe = await readFileEntry(src, vol, vol.root.partRef, vol.root.lbn);
    if (fe.kind !== 'directory') throw new IsoError('bad-descriptor', 'UDF root ICB is not a directory');
    return new UdfTree(src, vol, {
      name: '',
      kind: 'directory',
      size: fe.size,
      mode: fe.mode,
      extents: fe.extents,
    });
  }

  async listDir(dir: TreeNode): Promise<TreeNode[]> {
    if (dir.kind !== 'directory') throw new IsoError('not-a-directory', `${dir.name} is not a directory`);
    const data = await readDirData(this.src, dir);
    const out: TreeNode[] = [];
    let p = 0;
    while (p + 38 <= data.length) {
      if (u16le(data, p) === 0) break; // zero padding after the last FID
      const lIu = u16le(data, p + 36);
      const lFi = u8(data, p + 19);
      const len = 38 + lIu + lFi;
      if (p + len > data.length)
        throw new IsoError('bad-record', `file identifier at ${p} overruns its directory`);
      // 4/14.4.9: padded to a multiple of 4 bytes; the tag's CRC covers the padding too.
      const padded = Math.min((len + 3) & ~3, data.length - p);
      const fid = data.subarray(p, p + padded);
      // A FID's tag records the block it was written in; a directory read as one stream checks the rest.
      checkTag(fid, [TAG.fileIdentifier]);
      p += padded;
      const chars = u8(fid, 18);
      if (chars & (FID_DELETED | FID_PARENT)) continue;
      const name = cs0(fid.subarray(38 + lIu, 38 + lIu + lFi));
      if (!name) throw new IsoError('bad-record', 'file identifier with an empty name');
      const fe = await readFileEntry(this.src, this.vol, u16le(fid, 28), u32le(fid, 24));
      if (fe.kind === 'file' || fe.kind === 'directory') checkExtents(this.src, fe.extents);
      const kind = chars & FID_DIRECTORY && fe.kind !== 'directory' ? 'other' : fe.kind;
      const node: TreeNode = { name, kind, size: fe.size, mode: fe.mode, extents: fe.extents };
      if (kind === 'symlink' && fe.size <= MAX_SYMLINK) {
        checkExtents(this.src, fe.extents);
        node.target = pathComponents(await readExtents(this.src, fe.extents, 0, fe.size));
      }
      out.push(node);
      if (out.length > MAX_DIR_ENTRIES) throw new IsoError('too-large', 'directory has too many entries');
    }
    return out;
  }
}
