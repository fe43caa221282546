/**
 * Where the native data paths' binaries are (native-tftp/ `pxe-desk-tftp`, native-http/ `pxe-desk-http`):
 * next to the native helper in native-helper/bin/<goos>-<goarch>/, which `node scripts/build.mjs helper`
 * fills, or in a packaged app's resources/helper/<goos>-<goarch>/ (electron-builder.yml).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function findNativeBinary(name: string): string | undefined {
  const goarch = ({ x64: 'amd64', arm64: 'arm64', ia32: '386' } as Record<string, string>)[process.arch];
  const folder = `${process.platform}-${goarch ?? process.arch}`;
  const file = process.platform === 'win32' ? `${name}.exe` : name;
  const here = dirname(fileURLToPath(import.meta.url));
  const resources = (process as { resourcesPath?: unknown }).resourcesPath;
  const candidates = [
    ...(typeof resources === 'string' ? [join(resources, 'helper', folder, file)] : []),
    // app/engines (sources) or dist/app/engines (build) → repository root
    resolve(here, '..', '..', 'native-helper', 'bin', folder, file),
    resolve(here, '..', '..', '..', 'native-helper', 'bin', folder, file),
  ];
  return candidates.find((p) => existsSync(p));
}
