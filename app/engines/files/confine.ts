/**
 * The one confinement of requested names to the served folders, for TFTP and HTTP alike
 * (docs/protocol-notes.md §10).
 *
 * A request names a file by a string the client chose; both engines turn it into components with
 * the same rule, then find the components in the first served folder (root, then fallback dirs)
 * that has them. The rule, decided once:
 * - `\` and `/` are both separators: Windows/WDS TFTP clients ask for `\EFI\BOOT\…`
 *   (rhboot/shim#300), and on a Windows host `\` is a separator to the file system anyway.
 * - Leading separators are dropped: `/pxelinux.0` names the file in the root (many PXE ROMs send
 *   it so), it never reaches the host's `/`. Empty and `.` components change nothing and are skipped.
 * - Refused: NUL and other control characters; any `..` component (refused, never resolved); a
 *   Windows drive prefix (`C:`); every other component starting with `.` — dot-files,
 *   dot-directories and our own `.pxe-desk/` metadata (per-MAC boot entries) are never served.
 * - HTTP decodes percent-escapes exactly once first (RFC 3986 §2.1), then applies the same rule; a
 *   `%` left after that decode is double encoding and refused. TFTP names are literal (RFC 1350
 *   has no escapes): `%2e%2e` is a file name like any other.
 * - On disk, the realpath must stay inside the realpath of the folder and contain no hidden
 *   component (so a symlink can neither leave the folder nor lead into `.pxe-desk/`); the first
 *   folder that has the name decides (a refused symlink there does not fall through to the next).
 *   Only regular files with a read permission bit are served: directories, FIFOs and devices are
 *   refused before any open (a FIFO open would block), and a mode-000 file even when running as
 *   root.
 *
 * - Files inside ISO images (issue 18): when the name is not on disk but a prefix of it is a
 *   regular file that passes the rules above and is an ISO 9660/UDF image, the rest of the name is
 *   looked up inside the image (iso-members.ts): `isos/ubuntu.iso/casper/vmlinuz`. The rest was
 *   split by the same rule, so `x.iso/../secret` and `x.iso/.hidden` are refused before any lookup;
 *   a file that is not an image has nothing inside it (not found, as on disk).
 *
 * Refusals are typed codes; REFUSAL_ANSWER maps each to the TFTP error (RFC 1350 §5) and HTTP
 * status (RFC 9110 §15) the engines answer with.
 */
import type { Stats } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { ERR_ACCESS, ERR_NOT_FOUND } from '../tftp/packet.js';
import type { IsoMember, IsoMembers } from './iso-members.js';

export type Refusal =
  /** Nothing left that names a file (`''`, `/`, `./`). */
  | 'empty'
  /** NUL or another control character. */
  | 'bad-char'
  /** HTTP only: malformed or double percent-encoding, or a request target that is not a path. */
  | 'bad-encoding'
  /** A `..` component. */
  | 'traversal'
  /** A Windows drive prefix (`C:\…`): a name outside every served folder by construction. */
  | 'absolute'
  /** A dot-file or dot-directory component, `.pxe-desk/` among them. */
  | 'hidden'
  /** The realpath leaves the served folder (a symlink pointing out). */
  | 'outside'
  /** A directory, FIFO, socket or device. */
  | 'not-file'
  /** A file without any read permission bit. */
  | 'unreadable'
  /** The file system refused to resolve the path (EACCES, ELOOP, …). */
  | 'unresolvable'
  /** A directory inside an ISO image (there are no listings, as on disk). */
  | 'image-directory'
  /** The name goes through an ISO image that does not read (truncated, malformed): logged, counted. */
  | 'bad-image'
  | 'not-found';

export interface Refused {
  readonly ok: false;
  readonly refusal: Refusal;
  /** For logs only; callers branch on `refusal`. */
  readonly reason: string;
}

export type Split = { readonly ok: true; readonly parts: readonly string[] } | Refused;

export interface ConfinedFile {
  readonly ok: true;
  /** Realpath of the file (what is opened). */
  readonly path: string;
  readonly info: Stats;
  /** Folder-relative realpath, `/`-separated (the on-disk name after case folding/symlinks). */
  readonly relative: string;
  /** The name as asked, normalised: `parts.join('/')`. */
  readonly requested: string;
  /**
   * Set when the name is a file inside an ISO image: `path`/`info` are then the image's (what is
   * opened, and its identity), `relative` is the image's path followed by the member's, and the
   * bytes are `member.extents` of the image (`member.size` of them).
   */
  readonly member?: IsoMember;
}

export type Confined = ConfinedFile | Refused;

/**
 * How each refusal is answered. Hidden names answer as if absent (TFTP 1, HTTP 404) so the
 * metadata folder's existence is not confirmed; names the rule refuses outright are an access
 * violation (TFTP 2) or a bad request (HTTP 400); on-disk refusals are 2 / 403 (404 for a
 * directory: no listings). Empty and absent names are 1 / 404.
 */
export const REFUSAL_ANSWER: Readonly<
  Record<Refusal, { readonly tftp: number; readonly http: 400 | 403 | 404 }>
> = {
  empty: { tftp: ERR_NOT_FOUND, http: 404 },
  'bad-char': { tftp: ERR_ACCESS, http: 400 },
  'bad-encoding': { tftp: ERR_ACCESS, http: 400 },
  traversal: { tftp: ERR_ACCESS, http: 400 },
  absolute: { tftp: ERR_ACCESS, http: 400 },
  hidden: { tftp: ERR_NOT_FOUND, http: 404 },
  outside: { tftp: ERR_ACCESS, http: 403 },
  'not-file': { tftp: ERR_ACCESS, http: 404 },
  unreadable: { tftp: ERR_ACCESS, http: 403 },
  unresolvable: { tftp: ERR_ACCESS, http: 403 },
  'image-directory': { tftp: ERR_NOT_FOUND, http: 404 },
  'bad-image': { tftp: ERR_NOT_FOUND, http: 404 },
  'not-found': { tftp: ERR_NOT_FOUND, http: 404 },
};

const refuse = (refusal: Refusal, reason: string): Refused => ({ ok: false, refusal, reason });

/** The one rule: a decoded name to safe components. */
export function splitName(name: string): Split {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(name)) return refuse('bad-char', 'control character in file name');
  const parts = name.split(/[\\/]/).filter((p) => p !== '' && p !== '.');
  if (parts.length === 0) return refuse('empty', 'empty file name');
  if (parts.includes('..')) return refuse('traversal', 'path traversal (..) refused');
  if (/^[A-Za-z]:/.test(parts[0] ?? '')) return refuse('absolute', 'drive-letter path refused');
  if (parts.some((p) => p.startsWith('.'))) return refuse('hidden', 'hidden file or folder refused');
  return { ok: true, parts };
}

/**
 * An HTTP request target to components: origin-form only (RFC 9112 §3.2.1), query dropped,
 * percent-escapes decoded once, then the one rule.
 */
export function splitHttpTarget(target: string): Split {
  const q = target.indexOf('?');
  const raw = q >= 0 ? target.slice(0, q) : target;
  if (!raw.startsWith('/')) return refuse('bad-encoding', 'request target is not a path');
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return refuse('bad-encoding', 'malformed percent-encoding');
  }
  // We never decode twice: `%252e` arrives here as `%2e`, which no boot client asks for.
  if (decoded.includes('%')) return refuse('bad-encoding', 'double-encoded path');
  return splitName(decoded);
}

async function caseFold(dir: string, parts: readonly string[]): Promise<string | undefined> {
  let current = dir;
  for (const part of parts) {
    let entries: string[];
    try {
      entries = await readdir(current);
    } catch {
      return undefined;
    }
    const lower = part.toLowerCase();
    const hit = entries.includes(part) ? part : entries.find((e) => e.toLowerCase() === lower);
    if (hit === undefined) return undefined;
    current = join(current, hit);
  }
  return current;
}

function errno(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

const absent = (error: unknown): boolean => errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR';

export interface ResolveOptions {
  /** TFTP: find `PXELINUX.0` as `pxelinux.0` when the exact name is absent (case S14). */
  readonly caseInsensitive?: boolean;
  /** Serve files inside ISO images through this cache (the engine owns it and closes it on stop). */
  readonly isos?: IsoMembers;
}

/**
 * Finds `parts` (from splitName/splitHttpTarget) in the first folder that has them and checks
 * the file may be served. Opening is left to the caller (TFTP's FileCache checks the identity
 * it is given here, so a swap between check and open is refused).
 */
export async function resolveParts(
  parts: readonly string[],
  dirs: readonly string[],
  options: ResolveOptions = {},
): Promise<Confined> {
  if (parts.length === 0) return refuse('empty', 'empty file name');
  const requested = parts.join('/');
  // A file inside an image asked for again (Range reads): one stat instead of the walk (iso-members.ts).
  const recentKey =
    options.isos && parts.length > 1
      ? `${options.caseInsensitive ? 'i' : 's'}\0${dirs.join('\0')}\0\0${requested}`
      : undefined;
  if (recentKey !== undefined) {
    const recalled = await options.isos?.recall(recentKey);
    if (recalled) return recalled;
  }
  if (recentKey === undefined || !options.isos) return resolveInDirs(parts, dirs, options, requested);
  const isos = options.isos;
  // 50 clients starting on one image at once walk its name once, not 50 times.
  return isos.once(recentKey, async () => {
    const result = await resolveInDirs(parts, dirs, options, requested);
    // Remembered only while the name still leads into an image; any other answer ends the reuse.
    if (result.ok && result.member) isos.remember(recentKey, result);
    else isos.forget(recentKey);
    return result;
  });
}

async function resolveInDirs(
  parts: readonly string[],
  dirs: readonly string[],
  options: ResolveOptions,
  requested: string,
): Promise<Confined> {
  for (const dir of dirs) {
    let realDir: string;
    try {
      realDir = await realpath(dir);
    } catch {
      continue; // a missing fallback folder is not an error
    }
    let real: string;
    try {
      real = await realpath(join(realDir, ...parts));
    } catch (error) {
      if (!absent(error)) return refuse('unresolvable', `cannot resolve (${errno(error) ?? 'error'})`);
      const folded = options.caseInsensitive ? await caseFold(realDir, parts) : undefined;
      if (folded === undefined) {
        if (!options.isos || parts.length < 2) continue;
        const inImage = await resolveInImage(realDir, parts, options.isos, options.caseInsensitive ?? false);
        if (inImage === undefined) continue;
        return inImage;
      }
      try {
        real = await realpath(folded);
      } catch {
        continue;
      }
    }
    const checked = await checkFile(realDir, real);
    if (checked === undefined) continue;
    if (!checked.ok) return checked;
    return { ok: true, path: real, info: checked.info, relative: checked.relative, requested };
  }
  return refuse('not-found', 'file not found');
}

/** The on-disk rules for a realpath found in `realDir`; undefined when it vanished meanwhile. */
async function checkFile(
  realDir: string,
  real: string,
): Promise<{ ok: true; info: Stats; relative: string } | Refused | undefined> {
  if (real === realDir) return refuse('not-file', 'is a directory');
  if (!real.startsWith(realDir + sep)) return refuse('outside', 'path leaves the served folder (symlink)');
  const relative = real.slice(realDir.length + 1).split(sep);
  if (relative.some((p) => p.startsWith('.'))) return refuse('hidden', 'symlink to a hidden file refused');
  const info = await stat(real).catch(() => undefined);
  if (!info) return undefined;
  if (!info.isFile()) return refuse('not-file', info.isDirectory() ? 'is a directory' : 'not a regular file');
  // S13: a file nobody may read (mode 000) is refused even when we run as root and could open it.
  if ((info.mode & 0o444) === 0) return refuse('unreadable', 'file is not readable');
  return { ok: true, info, relative: relative.join('/') };
}

/**
 * `parts` is not on disk in `realDir`: find the longest leading run of directories, and if the
 * component after it is a file that may be served, look the rest up inside it as an ISO image.
 * undefined: no such prefix, or the file is not an image (the next folder may have the name).
 */
async function resolveInImage(
  realDir: string,
  parts: readonly string[],
  isos: IsoMembers,
  caseInsensitive: boolean,
): Promise<Confined | undefined> {
  for (let i = 1; i < parts.length; i++) {
    const head = parts.slice(0, i);
    let real: string;
    try {
      real = await realpath(join(realDir, ...head));
    } catch (error) {
      if (!absent(error)) return refuse('unresolvable', `cannot resolve (${errno(error) ?? 'error'})`);
      const folded = caseInsensitive ? await caseFold(realDir, head) : undefined;
      if (folded === undefined) return undefined;
      try {
        real = await realpath(folded);
      } catch {
        return undefined;
      }
    }
    const info = await stat(real).catch(() => undefined);
    if (!info) return undefined;
    if (info.isDirectory()) continue;
    const checked = await checkFile(realDir, real);
    if (checked === undefined) return undefined;
    if (!checked.ok) return checked;
    const rest = parts.slice(i);
    const found = await isos.find(real, checked.info, rest);
    if (!found.ok) {
      switch (found.refusal) {
        case 'not-an-image':
          return undefined;
        case 'not-a-file':
          return refuse('image-directory', found.reason);
        default:
          return refuse(found.refusal, found.reason);
      }
    }
    return {
      ok: true,
      path: real,
      info: checked.info,
      relative: `${checked.relative}/${found.member.inner}`,
      requested: parts.join('/'),
      member: found.member,
    };
  }
  return undefined;
}
