/** ConfigReaders for the boot-config tests: in memory (ISO paths → text, case-insensitive) and over a folder. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ConfigLog, type ConfigReader, type LoaderMenu } from '../../app/core/iso-boot/types.js';

export function filesReader(files: Record<string, string>): ConfigReader & { reads: string[] } {
  const norm = (p: string): string => p.split('/').filter(Boolean).join('/').toLowerCase();
  const map = new Map(Object.entries(files).map(([k, v]) => [norm(k), v]));
  const dirs = new Set<string>();
  for (const k of map.keys()) {
    const parts = k.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  const reads: string[] = [];
  return {
    reads,
    async readText(path, maxBytes) {
      const t = map.get(norm(path));
      if (t !== undefined) reads.push(norm(path));
      return t === undefined ? undefined : t.slice(0, maxBytes);
    },
    async exists(path) {
      return map.has(norm(path)) || dirs.has(norm(path));
    },
    async list(dir) {
      const d = norm(dir);
      const names = new Set<string>();
      for (const k of Object.keys(files)) {
        const p = k.split('/').filter(Boolean);
        if (p.slice(0, -1).join('/').toLowerCase() === d) names.add(p[p.length - 1] as string);
        else if (p.length > 1 && p.slice(0, -2).join('/').toLowerCase() === d)
          names.add(p[p.length - 2] as string);
      }
      return [...names];
    },
  };
}

/** A ConfigReader over a folder on disk (a netboot tree as unpacked), exact-case like a TFTP root. */
export function dirReader(base: string): ConfigReader {
  const at = (p: string): string => join(base, ...p.split('/').filter(Boolean));
  return {
    async readText(path, maxBytes) {
      try {
        const b = await readFile(at(path));
        return b.subarray(0, maxBytes).toString('utf8');
      } catch {
        return undefined;
      }
    },
    async exists(path) {
      try {
        await stat(at(path));
        return true;
      } catch {
        return false;
      }
    },
    async list(dir) {
      try {
        return await readdir(at(dir));
      } catch {
        return [];
      }
    },
  };
}

/** One loader's menu read with a fresh ConfigLog (returned beside it, for its issues); it must be read. */
export async function readMenu(
  read: (log: ConfigLog) => Promise<LoaderMenu | undefined>,
): Promise<LoaderMenu & { log: ConfigLog }> {
  const log = new ConfigLog();
  const m = await read(log);
  expect(m, 'menu read').toBeDefined();
  return { ...(m as LoaderMenu), log };
}
