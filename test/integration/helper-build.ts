import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';

/** Builds the helper into a temp dir (same flags as scripts/build.mjs). */
export function buildHelper(outDir: string): string {
  const out = join(outDir, 'pxe-desk-helper');
  execFileSync('go', ['build', '-trimpath', '-o', out, '.'], {
    cwd: resolve(__dirname, '../../native-helper'),
    env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local', GOPROXY: 'off' },
  });
  return out;
}
