/**
 * Where the iPXE boot-file cache lives: env PXE_DESK_BOOTFILES, else `<repo>/.cache/bootfiles`
 * (development and CLI from a checkout), else `resources/bootfiles` next to a packaged app.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function locateBootFiles(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.PXE_DESK_BOOTFILES) return resolve(env.PXE_DESK_BOOTFILES);
  // This file is app/core/boot-files.ts (source) or dist/app/core/boot-files.js (built).
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = resolve(dir, '.cache', 'bootfiles');
    if (existsSync(candidate)) return candidate;
    const packaged = resolve(dir, 'resources', 'bootfiles');
    if (existsSync(packaged)) return packaged;
    dir = dirname(dir);
  }
  const resourcesPath = (process as { resourcesPath?: string }).resourcesPath;
  if (resourcesPath && existsSync(resolve(resourcesPath, 'bootfiles')))
    return resolve(resourcesPath, 'bootfiles');
  return undefined;
}
