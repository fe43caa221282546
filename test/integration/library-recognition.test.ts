import { execFileSync, execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScriptHandler } from '../../app/core/ipxe-script.js';
import { NetbootLibrary } from '../../app/core/netboot-library.js';
import { HttpBootServer } from '../../app/engines/http/index.js';
import type { LibraryEntry } from '../../app/shared/library-types.js';
import { ensureFixtures } from '../fixtures/fixtures.js';
import { haveTools } from '../helpers/tools.js';

const ipxeDir = ['/usr/lib/ipxe', path.resolve('.cache/bootfiles')].find((d) =>
  existsSync(path.join(d, 'ipxe.efi')),
);

const byId = (entries: readonly LibraryEntry[], id: string): LibraryEntry | undefined =>
  entries.find((e) => e.id === id);

describe.skipIf(!haveTools('xorriso', 'curl') || !ipxeDir)('netboot library on real artefacts', () => {
  let dir: string;
  let root: string;
  let lib: NetbootLibrary;

  beforeAll(async () => {
    const fx = ensureFixtures();
    dir = mkdtempSync(path.join(tmpdir(), 'pxe-lib-'));
    root = path.join(dir, 'root');
    mkdirSync(path.join(root, 'debian'), { recursive: true });
    mkdirSync(path.join(root, 'efi'));
    copyFileSync(fx.vmlinuz, path.join(root, 'debian', 'vmlinuz-6.1.0-test'));
    copyFileSync(fx.initrd, path.join(root, 'debian', 'initrd.img-6.1.0-test'));
    copyFileSync(path.join(ipxeDir as string, 'ipxe.efi'), path.join(root, 'efi', 'ipxe.efi'));
    copyFileSync(path.join(ipxeDir as string, 'snponly.efi'), path.join(root, 'efi', 'snponly.efi'));
    copyFileSync(path.join(ipxeDir as string, 'undionly.kpxe'), path.join(root, 'undionly.kpxe'));
    writeFileSync(path.join(root, 'rescue.ipxe'), '#!ipxe\necho rescue\n');
    writeFileSync(path.join(root, 'notes.txt'), 'not bootable');
    const wim = Buffer.alloc(512);
    wim.write('MSWIM\0\0\0', 0, 'latin1');
    writeFileSync(path.join(root, 'boot.wim'), wim);
    const gpt = Buffer.alloc(1024);
    gpt[510] = 0x55;
    gpt[511] = 0xaa;
    gpt.write('EFI PART', 512, 'latin1');
    writeFileSync(path.join(root, 'disk.img'), gpt);
    // El Torito ISO with a BIOS and an EFI boot image, made here with xorriso.
    const tree = path.join(dir, 'tree');
    mkdirSync(tree);
    writeFileSync(path.join(tree, 'bios.bin'), Buffer.alloc(2048, 0x90));
    writeFileSync(path.join(tree, 'efi.img'), Buffer.alloc(65536));
    execFileSync(
      'xorriso',
      [
        '-as',
        'mkisofs',
        '-V',
        'PXETEST',
        '-o',
        path.join(root, 'test.iso'),
        '-b',
        'bios.bin',
        '-no-emul-boot',
        '-boot-load-size',
        '4',
        '-eltorito-alt-boot',
        '-e',
        'efi.img',
        '-no-emul-boot',
        tree,
      ],
      { stdio: 'ignore' },
    );
    lib = new NetbootLibrary({ root, debounceMs: 100 });
    await lib.scan();
  });

  afterAll(() => {
    lib?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the fixture initrd is a gzip-compressed newc cpio', () => {
    const raw = readFileSync(path.join(root, 'debian', 'initrd.img-6.1.0-test'));
    expect(raw.subarray(0, 2).toString('hex')).toBe('1f8b');
    expect(gunzipSync(raw).toString('latin1', 0, 6)).toBe('070701');
  });

  it('recognises every artefact by header, with arch', () => {
    const e = lib.entries();
    const kernel = byId(e, 'debian/vmlinuz-6.1.0-test');
    expect(kernel?.kind).toBe('linux');
    expect(kernel?.initrd).toBe('debian/initrd.img-6.1.0-test');
    expect(kernel?.arch).toEqual(['bios', 'uefi-x64']); // Debian kernels carry the EFI stub
    expect(byId(e, 'efi/ipxe.efi')).toMatchObject({ kind: 'efi', arch: ['uefi-x64'] });
    expect(byId(e, 'efi/snponly.efi')).toMatchObject({ kind: 'efi', arch: ['uefi-x64'] });
    expect(byId(e, 'undionly.kpxe')).toMatchObject({ kind: 'nbp', arch: ['bios'] });
    expect(byId(e, 'rescue.ipxe')?.kind).toBe('ipxe-script');
    expect(byId(e, 'boot.wim')?.kind).toBe('wim');
    expect(byId(e, 'disk.img')?.kind).toBe('disk');
    const iso = byId(e, 'test.iso');
    expect(iso).toMatchObject({ kind: 'iso', label: 'PXETEST', arch: ['bios', 'uefi-x64'] });
    // initrd is part of the kernel entry, text files are not entries.
    expect(byId(e, 'debian/initrd.img-6.1.0-test')).toBeUndefined();
    expect(byId(e, 'notes.txt')).toBeUndefined();
  });

  it('stores titles/cmdline/default only in .pxe-desk/library.json and never touches user files', async () => {
    const before = readdirSync(root).sort();
    await lib.setEntryMeta('debian/vmlinuz-6.1.0-test', {
      title: 'Debian test',
      cmdline: 'console=ttyS0 quiet',
    });
    await lib.setDefault('debian/vmlinuz-6.1.0-test', 5);
    const k = byId(lib.entries(), 'debian/vmlinuz-6.1.0-test');
    expect(k?.title).toBe('Debian test');
    expect(k?.cmdline).toBe('console=ttyS0 quiet');
    expect(readdirSync(root).sort()).toEqual([...before, '.pxe-desk'].sort());
    expect(readdirSync(path.join(root, '.pxe-desk'))).toEqual(['library.json']);
    const meta: unknown = JSON.parse(readFileSync(path.join(root, '.pxe-desk', 'library.json'), 'utf8'));
    expect(meta).toMatchObject({ defaultEntry: 'debian/vmlinuz-6.1.0-test', timeoutSeconds: 5 });
  });

  it('imports by copying, refuses to overwrite, and the watcher picks up new files', async () => {
    lib.watch();
    const changed = new Promise<readonly LibraryEntry[]>((resolve) => {
      const off = lib.onChange((entries) => {
        if (byId(entries, 'copy.efi')) {
          off();
          resolve(entries);
        }
      });
    });
    const src = path.join(root, 'efi', 'ipxe.efi');
    await lib.importFile(src, 'copy.efi');
    expect(existsSync(src)).toBe(true);
    await expect(lib.importFile(src, 'copy.efi')).rejects.toThrow();
    await expect(lib.importFile(src, '../evil.efi')).rejects.toThrow(/invalid name/);
    writeFileSync(path.join(root, 'late.ipxe'), '#!ipxe\necho late\n');
    const entries = await changed;
    expect(byId(entries, 'copy.efi')?.kind).toBe('efi');
    const deadline = Date.now() + 5000;
    while (!byId(lib.entries(), 'late.ipxe') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(byId(lib.entries(), 'late.ipxe')?.kind).toBe('ipxe-script');
  });

  it('serves the generated menu over HTTP and the boot-once override returns to the menu', async () => {
    await lib.setMacOverride('52:54:00:aa:bb:cc', { entry: 'efi/snponly.efi', once: true });
    const server: HttpBootServer = new HttpBootServer({
      root,
      address: '127.0.0.1',
      port: 0,
      scripts: createScriptHandler(lib, { baseUrl: (ip): string => `http://${ip}:${server.port()}` }),
    });
    await server.start();
    const get = (q: string): Promise<string> =>
      new Promise((resolve, reject) =>
        execFile('curl', ['-sf', `http://127.0.0.1:${server.port()}/boot.ipxe?${q}`], (err, out) =>
          err ? reject(err) : resolve(out),
        ),
      );
    try {
      const base = `http://127.0.0.1:${server.port()}`;
      const once = (await get('mac=52:54:00:AA:BB:CC&arch=uefi-x64')).split('\n');
      expect(once[0]).toBe('#!ipxe');
      // The override boots first; the menu follows only as the place a failed boot line returns to.
      const chain = once.findIndex((l) => l.startsWith(`chain ${base}/efi/snponly.efi || goto failed_`));
      expect(chain).toBeGreaterThan(0);
      expect(once.indexOf(':menu')).toBeGreaterThan(chain);
      const menu = (await get('mac=52-54-00-aa-bb-cc&arch=uefi-x64')).split('\n');
      expect(menu).toContain(':menu');
      expect(menu).toContain(
        `kernel ${base}/debian/vmlinuz-6.1.0-test initrd=initrd.img-6.1.0-test console=ttyS0 quiet || goto failed_0`,
      );
      expect(menu).toContain(`initrd ${base}/debian/initrd.img-6.1.0-test || goto failed_1`);
      expect(menu.some((l) => l.startsWith('item') && l.includes('undionly'))).toBe(false); // BIOS only
      const bad = await get('mac=$(reboot)&arch=uefi-x64');
      expect(bad).toContain('invalid mac/arch');
      expect(bad).not.toContain('reboot');
    } finally {
      await server.stop();
    }
  });
});
