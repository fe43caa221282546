/**
 * Path lookup, listing, range reads and walking over any FsTree (ISO 9660, UDF, FAT). Lookup is
 * case-insensitive and ignores ";N" versions and a trailing "." (what a client asking for
 * "/EFI/BOOT/BOOTX64.EFI" or "efi/boot/bootx64.efi" means); an exact match wins over a folded one.
 * Symbolic links (Rock Ridge SL, UDF file type 12) are followed like a mounted image would.
 */
import { IsoError } from './iso-error.js';
import { checkExtents } from './iso9660-tree.js';
import { readExtents, type Extent, type IsoSource } from './source.js';
import { MAX_DEPTH, type FsTree, type IsoEntry, type TreeNode } from './tree.js';

/** Browsing one file system of an image. */
export interface FsView {
  readonly volumeLabel: string;
  readonly filesystem: FsTree['kind'];
  list(dir?: string): Promise<IsoEntry[]>;
  /** The entry `path` names, symlinks followed (`lstat`: the last component's link itself). */
  stat(path: string): Promise<IsoEntry>;
  lstat(path: string): Promise<IsoEntry>;
  /** Byte ranges of the file's data in the source, in file order (sparse ranges read as zeros). */
  extents(path: string): Promise<Extent[]>;
  readFile(path: string, range?: { offset?: number; length?: number }): Promise<Uint8Array>;
  /** Every entry below `dir`, depth first, with its path ("a/b/c"). */
  walk(dir?: string): AsyncGenerator<{ path: string; entry: IsoEntry }>;
}

/** The lookup key of a name: lower case, no ";N" version, no trailing ".". */
export function nameKey(name: string): string {
  return name.replace(/;\d*$/, '').replace(/\.$/, '').toLowerCase();
}

const MAX_SYMLINK_HOPS = 16;

function entryOf(n: TreeNode): IsoEntry {
  const e: IsoEntry = { name: n.name, kind: n.kind, size: n.size };
  if (n.mode !== undefined) e.mode = n.mode;
  if (n.target !== undefined) e.target = n.target;
  return e;
}

function splitPath(path: string): string[] {
  const parts = path.split(/[/\\]+/).filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new IsoError('not-found', `"${path}": ".." is not resolved`);
  if (parts.length > MAX_DEPTH) throw new IsoError('too-deep', `path deeper than ${MAX_DEPTH}`);
  return parts;
}

export function makeView(src: IsoSource, tree: FsTree): FsView {
  const listings = new WeakMap<TreeNode, Promise<TreeNode[]>>();
  const children = (dir: TreeNode): Promise<TreeNode[]> => {
    let p = listings.get(dir);
    if (!p) {
      p = tree.listDir(dir);
      listings.set(dir, p);
      p.catch(() => listings.delete(dir));
    }
    return p;
  };
  /**
   * Follow `path` from the root. Symlinks are followed (at most MAX_SYMLINK_HOPS, else 'loop') in
   * every component but the last unless `followLast`; their ".." stops at the root, and an absolute
   * target starts from the image root (the image is served, not mounted into a host).
   */
  const resolve = async (path: string, followLast = true): Promise<TreeNode> => {
    let parts = splitPath(path);
    const stack: TreeNode[] = [tree.root];
    let hops = 0;
    while (parts.length) {
      const part = parts.shift() as string;
      if (part === '.') continue;
      if (part === '..') {
        if (stack.length > 1) stack.pop();
        continue;
      }
      const dir = stack[stack.length - 1] as TreeNode;
      if (dir.kind !== 'directory')
        throw new IsoError('not-a-directory', `"${path}": ${dir.name} is not a directory`);
      const list = await children(dir);
      const key = nameKey(part);
      const hit = list.find((c) => c.name === part) ?? list.find((c) => nameKey(c.name) === key);
      if (!hit) throw new IsoError('not-found', `"${path}" not found`);
      if (hit.kind === 'symlink' && hit.target !== undefined && (parts.length > 0 || followLast)) {
        if (++hops > MAX_SYMLINK_HOPS) throw new IsoError('loop', `"${path}": too many symbolic links`);
        if (hit.target.startsWith('/')) stack.splice(1);
        parts = [...hit.target.split('/').filter((p) => p !== ''), ...parts];
        continue;
      }
      stack.push(hit);
      if (stack.length > MAX_DEPTH) throw new IsoError('too-deep', `"${path}" deeper than ${MAX_DEPTH}`);
    }
    return stack[stack.length - 1] as TreeNode;
  };
  const file = async (path: string): Promise<TreeNode> => {
    const n = await resolve(path);
    if (n.kind !== 'file') throw new IsoError('not-a-file', `"${path}" is a ${n.kind}`);
    checkExtents(src, n.extents);
    return n;
  };
  return {
    volumeLabel: tree.label,
    filesystem: tree.kind,
    async list(dir = '') {
      const n = await resolve(dir);
      if (n.kind !== 'directory') throw new IsoError('not-a-directory', `"${dir}" is not a directory`);
      return (await children(n)).map(entryOf);
    },
    async stat(path) {
      return entryOf(await resolve(path));
    },
    async lstat(path) {
      return entryOf(await resolve(path, false));
    },
    async extents(path) {
      return (await file(path)).extents.map((e) => ({ ...e }));
    },
    async readFile(path, range = {}) {
      const n = await file(path);
      const offset = range.offset ?? 0;
      if (!Number.isSafeInteger(offset) || offset < 0 || offset > n.size) {
        throw new IsoError('extent-out-of-range', `offset ${offset} outside the ${n.size}-byte file`);
      }
      const length = Math.min(range.length ?? n.size - offset, n.size - offset);
      if (!Number.isSafeInteger(length) || length < 0)
        throw new IsoError('extent-out-of-range', `length ${length}`);
      return readExtents(src, n.extents, offset, length);
    },
    async *walk(dir = '') {
      const start = await resolve(dir);
      if (start.kind !== 'directory') throw new IsoError('not-a-directory', `"${dir}" is not a directory`);
      // A directory whose data is another directory's (a record pointing at an ancestor) is a loop.
      const seen = new Set<number>();
      const stack: { node: TreeNode; path: string; depth: number }[] = [{ node: start, path: '', depth: 0 }];
      while (stack.length) {
        const { node, path, depth } = stack.pop() as { node: TreeNode; path: string; depth: number };
        const key = node.extents[0]?.offset;
        if (key !== undefined) {
          if (seen.has(key)) throw new IsoError('loop', `directory "${path}" repeats an ancestor or sibling`);
          seen.add(key);
        }
        if (depth > MAX_DEPTH) throw new IsoError('too-deep', `"${path}" deeper than ${MAX_DEPTH}`);
        const list = await children(node);
        for (const c of list) {
          const p = path ? `${path}/${c.name}` : c.name;
          yield { path: p, entry: entryOf(c) };
          if (c.kind === 'directory') stack.push({ node: c, path: p, depth: depth + 1 });
        }
      }
    },
  };
}
