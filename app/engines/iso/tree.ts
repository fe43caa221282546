/** What both file systems (ISO 9660 and UDF) hand to the one API in open-iso.ts. */
import type { Extent } from './source.js';

export type EntryKind = 'file' | 'directory' | 'symlink' | 'other';

/** One directory entry as callers see it. */
export interface IsoEntry {
  name: string;
  kind: EntryKind;
  /** File size in bytes (for a directory: the size of its directory data). */
  size: number;
  /** POSIX mode when the image records one (Rock Ridge PX, UDF permissions folded to rwx). */
  mode?: number;
  /** Symlink target as recorded ("/"-separated; absolute targets are taken from the image root). */
  target?: string;
}

/** An entry plus where its data lives: directories are listed from their extents too. */
export interface TreeNode extends IsoEntry {
  extents: Extent[];
}

/** One file system view of the image. */
export interface FsTree {
  readonly kind: 'iso9660' | 'udf' | 'fat';
  readonly label: string;
  readonly root: TreeNode;
  /** Children of a directory node, `.` and `..` excluded. */
  listDir(dir: TreeNode): Promise<TreeNode[]>;
}

/** Most entries one directory may hold before we call the image malformed. */
export const MAX_DIR_ENTRIES = 200_000;
/** Largest directory data we read: 32 MiB (a directory of ~200k long names). */
export const MAX_DIR_BYTES = 32 * 1024 * 1024;
/** Deepest path or recursion we follow. */
export const MAX_DEPTH = 64;
