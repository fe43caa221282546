/**
 * Request-path confinement for the HTTP boot server. Pure string work first (so hostile paths are
 * refused without touching the file system), then a realpath check so a symlink cannot lead out of
 * the root (protocol.md H3).
 */
import { realpath, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';

export class PathRefused extends Error {
  constructor(
    readonly status: 400 | 403 | 404,
    message: string,
  ) {
    super(message);
    this.name = 'PathRefused';
  }
}

/**
 * Turns the raw request target into root-relative segments, or throws PathRefused.
 * Refuses: backslashes (Windows-style traversal), NUL in any encoding, '.'/'..' segments after ONE
 * decode, and any '%' left after decoding (double encoding such as %252e: we never decode twice, and
 * a name that still contains an escape is not something a boot client asks for).
 */
export function sanitiseRequestPath(target: string): string[] {
  const q = target.indexOf('?');
  const raw = q >= 0 ? target.slice(0, q) : target;
  if (!raw.startsWith('/')) throw new PathRefused(400, 'path must be absolute');
  if (raw.includes('\\') || /%5c/i.test(raw)) throw new PathRefused(400, 'backslash in path');
  if (raw.includes('\0') || /%00/.test(raw)) throw new PathRefused(400, 'NUL in path');
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw new PathRefused(400, 'malformed percent-encoding');
  }
  if (decoded.includes('\0') || decoded.includes('\\')) throw new PathRefused(400, 'control characters');
  if (decoded.includes('%')) throw new PathRefused(400, 'double-encoded path');
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(decoded)) throw new PathRefused(400, 'control characters');
  const segments = decoded.split('/').filter((s) => s.length > 0);
  for (const s of segments) {
    if (s === '.' || s === '..') throw new PathRefused(400, 'dot segment in path');
    // Hidden entries (our own .pxe-desk metadata among them) are never served.
    if (s.startsWith('.')) throw new PathRefused(404, 'hidden path');
  }
  return segments;
}

export interface ResolvedFile {
  readonly fullPath: string;
  readonly stats: Stats;
  /** Root-relative, '/'-separated. */
  readonly relative: string;
}

/**
 * Finds `segments` in the first directory that has it. The realpath must stay inside that
 * directory's realpath (symlinks inside the root are fine; ones leaving it are 403).
 */
export async function resolveInDirs(
  dirs: readonly string[],
  segments: readonly string[],
): Promise<ResolvedFile> {
  if (segments.length === 0) throw new PathRefused(404, 'no directory listings');
  let sawEscape = false;
  for (const dir of dirs) {
    let rootReal: string;
    try {
      rootReal = await realpath(dir);
    } catch {
      continue;
    }
    const candidate = path.join(rootReal, ...segments);
    let real: string;
    try {
      real = await realpath(candidate);
    } catch {
      continue;
    }
    if (real !== rootReal && !real.startsWith(rootReal + path.sep)) {
      sawEscape = true;
      continue;
    }
    let stats: Stats;
    try {
      stats = await stat(real);
    } catch {
      continue;
    }
    if (stats.isDirectory()) throw new PathRefused(404, 'no directory listings');
    if (!stats.isFile()) continue;
    return { fullPath: real, stats, relative: segments.join('/') };
  }
  if (sawEscape) throw new PathRefused(403, 'symlink leaves the root');
  throw new PathRefused(404, 'not found');
}

/** Content types per protocol.md H1/H4/H5. */
export function contentTypeFor(name: string): string {
  const lower = name.toLowerCase();
  const ext = lower.slice(lower.lastIndexOf('.') + 1);
  switch (ext) {
    case 'efi':
      return 'application/efi';
    case 'ipxe':
    case 'cfg':
    case 'txt':
      return 'text/plain; charset=utf-8';
    case 'iso':
      return 'application/vnd.efi-iso';
    case 'img':
      return 'application/vnd.efi-img';
    default:
      return 'application/octet-stream';
  }
}
