/**
 * Launch path 1 (deb/rpm): build/linux/after-install.sh gives the installed helper exactly
 * cap_net_bind_service,cap_net_raw (checked with getcap on a temp install tree, removed afterwards), and
 * the polkit policy (launch path 2) names the helper where electron-builder puts it.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { haveTools } from '../helpers/tools.js';
import { buildHelper } from './helper-build.js';

const repo = resolve(__dirname, '../..');
const isRoot = process.getuid?.() === 0;

describe('install-time launch paths (build/linux)', () => {
  it.skipIf(!isRoot || !haveTools('go', 'setcap', 'getcap'))(
    'after-install.sh sets the two capabilities on the installed helper only',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'pxd-install-'));
      try {
        const built = buildHelper(dir);
        const installed = join(dir, 'resources', 'helper', 'linux-amd64', 'pxe-desk-helper');
        mkdirSync(join(installed, '..'), { recursive: true });
        copyFileSync(built, installed);
        execFileSync('sh', [join(repo, 'build', 'linux', 'after-install.sh'), 'configure'], {
          env: { PATH: process.env.PATH, PXE_DESK_RESOURCES: join(dir, 'resources') },
        });
        const caps = execFileSync('getcap', [installed], { encoding: 'utf8' });
        expect(caps).toMatch(/cap_net_bind_service,cap_net_raw[=+]ep/);
        expect(statSync(installed).mode & 0o777).toBe(0o755);
        expect(execFileSync('getcap', [built], { encoding: 'utf8' }).trim()).toBe('');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );

  it('the polkit policy names the packaged helper for each architecture', () => {
    const policy = readFileSync(join(repo, 'build', 'linux', 'org.pxedesk.helper.policy'), 'utf8');
    const paths = [...policy.matchAll(/exec\.path">([^<]+)</g)].map((m) => m[1]);
    expect(paths).toEqual([
      '/opt/PXE Desk/resources/helper/linux-amd64/pxe-desk-helper',
      '/opt/PXE Desk/resources/helper/linux-arm64/pxe-desk-helper',
    ]);
    // electron-builder.yml ships the helper at resources/helper/<goos>-<goarch>/ and runs the hook.
    const builder = readFileSync(join(repo, 'electron-builder.yml'), 'utf8');
    expect(builder).toMatch(/from: native-helper\/bin\n\s+to: helper/);
    expect(builder).toMatch(/deb:\n\s+afterInstall: build\/linux\/after-install\.sh/);
    expect(builder).toMatch(/rpm:\n\s+afterInstall: build\/linux\/after-install\.sh/);
  });
});
