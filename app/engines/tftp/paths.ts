/**
 * Confinement of TFTP names to the served folders (protocol.md §3.7, cases S2–S14).
 *
 * Rules: backslashes are separators (Windows/WDS clients ask for `\EFI\BOOT\…`, rhboot/shim#300);
 * a leading `/` is stripped, so absolute names resolve inside the root (S3); any `..` component is
 * refused outright (never resolved), control characters refused; the final path is realpath'd and must
 * stay inside the realpath of its folder (symlinks leaving it are refused, S5); only regular files are
 * served (directories, FIFOs, devices refused before open, so nothing blocks, S6/S7), and never a
 * file without any read permission bit (S13).
 */
import type { Stats } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { ERR_ACCESS, ERR_NOT_FOUND } from './packet.js';

export type Resolved =
  | { readonly ok: true; readonly path: string; readonly info: Stats; readonly relative: string }
  | { readonly ok: false; readonly code: number; readonly reason: string };

/** Splits a TFTP name into safe components, or says why it is refused. */
export function splitName(name: string): { parts: string[] } | { code: number; reason: string } {
  if (name.length === 0) return { code: ERR_NOT_FOUND, reason: 'empty file name' };
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(name)) return { code: ERR_ACCESS, reason: 'control character in file name' };
  const parts = name
    .replace(/\\/g, '/')
    .split('/')
    .filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) return { code: ERR_ACCESS, reason: 'path traversal (..) refused' };
  if (parts.length === 0) return { code: ERR_NOT_FOUND, reason: 'empty file name' };
  return { parts };
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

/**
 * Finds `name` in the first folder that has it and checks it may be served. Opening is left to the
 * FileCache, which shares one handle per file version between transfers.
 */
export async function resolveFile(
  name: string,
  dirs: readonly string[],
  caseInsensitive: boolean,
): Promise<Resolved> {
  const split = splitName(name);
  if ('code' in split) return { ok: false, code: split.code, reason: split.reason };
  for (const dir of dirs) {
    let realDir: string;
    try {
      realDir = await realpath(dir);
    } catch {
      continue;
    }
    let candidate: string | undefined = join(realDir, ...split.parts);
    let real: string;
    try {
      real = await realpath(candidate);
    } catch (error) {
      if (errno(error) !== 'ENOENT' && errno(error) !== 'ENOTDIR') {
        return { ok: false, code: ERR_ACCESS, reason: `cannot resolve (${errno(error) ?? 'error'})` };
      }
      candidate = caseInsensitive ? await caseFold(realDir, split.parts) : undefined;
      if (candidate === undefined) continue;
      try {
        real = await realpath(candidate);
      } catch {
        continue;
      }
    }
    if (!real.startsWith(realDir + sep)) {
      return { ok: false, code: ERR_ACCESS, reason: 'path leaves the served folder (symlink)' };
    }
    const info = await stat(real).catch(() => undefined);
    if (!info) continue;
    if (!info.isFile()) {
      return {
        ok: false,
        code: ERR_ACCESS,
        reason: info.isDirectory() ? 'is a directory' : 'not a regular file',
      };
    }
    // S13: a file nobody may read (mode 000) is refused even when we run as root and could open it.
    if ((info.mode & 0o444) === 0) return { ok: false, code: ERR_ACCESS, reason: 'file is not readable' };
    return { ok: true, path: real, info, relative: real.slice(realDir.length + 1) };
  }
  return { ok: false, code: ERR_NOT_FOUND, reason: 'file not found' };
}
