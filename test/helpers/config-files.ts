/** An in-memory ConfigReader for the boot-config tests: ISO paths → text, looked up case-insensitively. */
import type { ConfigReader } from '../../app/core/iso-boot/types.js';

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
