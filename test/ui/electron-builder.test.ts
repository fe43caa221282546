/**
 * `electron-builder --linux dir` with a stub electronDist (a folder holding a dummy `electron`
 * executable, so no Electron download is needed): the unpacked tree must contain app.asar, the native
 * helper and the boot files (iPXE, signed shim + GRUB) as extra resources.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'pxe-eb-'));
const goarch = { x64: 'amd64', arm64: 'arm64' }[process.arch as 'x64' | 'arm64'] ?? process.arch;
const helper = join(repo, 'native-helper', 'bin', `linux-${goarch}`, 'pxe-desk-helper');
const bootfiles = process.env.PXE_DESK_BOOTFILES ?? join(repo, '.cache', 'bootfiles');

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.skipIf(process.platform !== 'linux')('electron-builder --linux dir (stub electronDist)', () => {
  it('produces app.asar, the helper and the boot files', () => {
    if (!existsSync(join(repo, 'dist', 'renderer', 'index.html')) || !existsSync(join(repo, 'dist', 'app'))) {
      execFileSync(process.execPath, [join(repo, 'scripts', 'build.mjs'), 'main', 'renderer'], {
        cwd: repo,
        stdio: 'inherit',
      });
    }
    if (['pxe-desk-tftp', 'pxe-desk-http'].some((b) => !existsSync(join(dirname(helper), b)))) {
      execFileSync(process.execPath, [join(repo, 'scripts', 'build.mjs'), 'helper'], {
        cwd: repo,
        stdio: 'inherit',
      });
    }
    if (
      ['undionly.kpxe', 'shimx64.efi', 'grubx64.efi', 'memdisk'].some((f) => !existsSync(join(bootfiles, f)))
    ) {
      execFileSync(process.execPath, [join(repo, 'scripts', 'fetch-bootfiles.mjs')], {
        cwd: repo,
        stdio: 'inherit',
      });
    }
    const stub = join(work, 'electron-stub');
    mkdirSync(stub);
    writeFileSync(join(stub, 'electron'), '#!/bin/sh\necho stub electron\n');
    chmodSync(join(stub, 'electron'), 0o755);
    const out = join(work, 'out');
    const r = spawnSync(
      join(repo, 'node_modules', '.bin', 'electron-builder'),
      [
        '--linux',
        'dir',
        '--publish',
        'never',
        `-c.electronDist=${stub}`,
        `-c.directories.output=${out}`,
        ...(bootfiles !== join(repo, '.cache', 'bootfiles') ? [`-c.extraResources.1.from=${bootfiles}`] : []),
      ],
      {
        cwd: repo,
        encoding: 'utf8',
        timeout: 150_000,
        env: { ...process.env, CSC_IDENTITY_AUTO_DISCOVERY: 'false' },
      },
    );
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const res = join(out, 'linux-unpacked', 'resources');
    expect(existsSync(join(res, 'app.asar'))).toBe(true);
    expect(existsSync(join(res, 'helper', `linux-${goarch}`, 'pxe-desk-helper'))).toBe(true);
    // The native TFTP data path ships beside it (defaultNativeTftpPath looks there in a packaged app).
    expect(existsSync(join(res, 'helper', `linux-${goarch}`, 'pxe-desk-tftp'))).toBe(true);
    // So does the native HTTP body path (defaultNativeHttpPath).
    expect(existsSync(join(res, 'helper', `linux-${goarch}`, 'pxe-desk-http'))).toBe(true);
    // The Secure Boot pair and memdisk ship beside iPXE (docs/secure-boot.md, docs/iso-boot.md).
    for (const f of ['undionly.kpxe', 'snponly.efi', 'ipxe.efi', 'shimx64.efi', 'grubx64.efi', 'memdisk'])
      expect(existsSync(join(res, 'bootfiles', f))).toBe(true);
    expect(existsSync(join(out, 'linux-unpacked', 'pxe-desk'))).toBe(true);
  }, 180_000);
});
