/**
 * Finding one member inside an opened ISO image (for iso-members.ts): the signature check that says
 * whether a file is an image at all, and the walk of the rest of a request's name through the image's
 * tree by the reader's rules (docs/iso-reader.md: case-insensitive, exact match first, `;1` and a
 * trailing `.` ignored), following symlinks here one component at a time so the member's own path is
 * known and a link into a hidden name is refused like one on disk.
 */
import { IsoError, type IsoEntry, type IsoErrorCode, type IsoImage, type IsoSource } from '../iso/index.js';
import { ExtentMap } from './extent-map.js';

/** A member found: what the data paths read. */
export interface IsoMember {
  /** Its path inside the image in the image's own names, symlinks resolved, `/`-separated. */
  readonly inner: string;
  readonly size: number;
  /** Where its bytes are in the image. */
  readonly extents: ExtentMap;
  /** Identifies these bytes within one version of the image (HTTP ETag, TFTP cache key). */
  readonly tag: string;
}

export type MemberRefusal =
  /** The file has no ISO 9660/UDF signature: not an image, so nothing is inside it. */
  | 'not-an-image'
  /** The image does not read (truncated, malformed): `code` says how. */
  | 'bad-image'
  | 'not-found'
  /** A directory (or an interleaved file the reader does not serve) inside the image. */
  | 'not-a-file'
  /** A symlink inside the image leads to a hidden name. */
  | 'hidden';

export type MemberLookup =
  | { readonly ok: true; readonly member: IsoMember }
  | {
      readonly ok: false;
      readonly refusal: MemberRefusal;
      readonly reason: string;
      readonly code?: IsoErrorCode;
    };

/** ECMA-119 §8.1 / ECMA-167 2/9.1: the first volume descriptor (ISO 9660) or the volume recognition
 * sequence (UDF) starts at byte 32768 with a 5-byte identifier after a type byte. */
const SIGNATURE_AT = 32768;
const SIGNATURES = new Set(['CD001', 'BEA01', 'NSR02', 'NSR03']);
const MAX_SYMLINK_HOPS = 16;

const fnv = (text: string): string => {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16);
};

export async function hasSignature(src: IsoSource): Promise<boolean> {
  if (src.size < SIGNATURE_AT + 2048) return false;
  const head = await src.read(SIGNATURE_AT, 6);
  return head.length === 6 && SIGNATURES.has(String.fromCharCode(...head.subarray(1, 6)));
}

/**
 * Walks `rest` from the image root one component at a time (each lstat names a symlink-free path of
 * the image's own names, so it resolves just its last component), following symlinks here.
 */
export async function locate(iso: IsoImage, rest: readonly string[], version: string): Promise<MemberLookup> {
  const names: string[] = [];
  const todo = [...rest];
  let hops = 0;
  let last: IsoEntry | undefined;
  try {
    while (todo.length > 0) {
      const part = todo.shift() as string;
      if (part === '' || part === '.') continue;
      if (part === '..') {
        // Only from a symlink target (requests never carry `..`): stops at the image root.
        names.pop();
        last = undefined;
        continue;
      }
      const entry = await iso.lstat([...names, part].join('/'));
      if (entry.kind === 'symlink' && entry.target !== undefined) {
        if (++hops > MAX_SYMLINK_HOPS) return refused('bad-image', 'too many symbolic links', 'loop');
        if (entry.target.startsWith('/')) names.length = 0;
        todo.unshift(...entry.target.split('/'));
        last = undefined;
        continue;
      }
      if (entry.name.startsWith('.'))
        return refused('hidden', 'a symbolic link inside the image leads to a hidden name');
      names.push(entry.name);
      last = entry;
      if (todo.length > 0 && entry.kind !== 'directory')
        return refused('not-found', 'not found in the image');
    }
    if (!last || last.kind !== 'file')
      return refused('not-a-file', 'a directory inside the image, not a file');
    const inner = names.join('/');
    const extents = new ExtentMap(await iso.extents(inner), last.size);
    if (extents.size < last.size)
      return refused('bad-image', "the member's extents end before its size", 'truncated');
    const layout = extents
      .list()
      .map((e) => `${e.offset}+${e.length}${e.sparse ? 's' : ''}`)
      .join(',');
    return { ok: true, member: { inner, size: last.size, extents, tag: fnv(`${version}|${layout}`) } };
  } catch (error) {
    if (!(error instanceof IsoError)) throw error;
    if (error.code === 'not-found' || error.code === 'not-a-directory')
      return refused('not-found', 'not found in the image');
    if (error.code === 'not-a-file') return refused('not-a-file', 'not a file inside the image');
    return refused('bad-image', `the image's directories do not read (${error.code})`, error.code);
  }
}

const refused = (refusal: MemberRefusal, reason: string, code?: IsoErrorCode): MemberLookup => ({
  ok: false,
  refusal,
  reason,
  ...(code ? { code } : {}),
});
