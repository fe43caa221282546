/**
 * Folders with several bootable files (issue 18): the choice a technician would make per firmware, on
 * real files Debian ships — the d-i netboot tree used as the netboot folder as is, memtest86+ beside the
 * installer kernel — and the initrd pairing rule.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateBootScript } from '../../app/core/ipxe-script.js';
import { pairInitrd } from '../../app/core/library-entries.js';
import type { FoundFile } from '../../app/core/library-entries.js';
import { IsoAnalysisCache } from '../../app/core/library-iso-cache.js';
import { readTreePairs } from '../../app/core/library-tree-config.js';
import { NetbootLibrary } from '../../app/core/netboot-library.js';
import type { BootArch, LibraryEntry } from '../../app/shared/library-types.js';
import { FIXTURES_DIR, ensureFixtures } from '../fixtures/fixtures.js';

/** The d-i netboot tree (text flavour) unpacked by build-fixtures.sh (apt-get download + dpkg -x). */
function diTree(): string {
  const fx = ensureFixtures();
  const dir = path.join(fx.dir, 'di-netboot');
  if (!existsSync(path.join(dir, 'version.info')))
    execFileSync('bash', [path.join(FIXTURES_DIR, 'build-fixtures.sh')], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, FIXTURES_WORK: fx.dir },
      timeout: 300_000,
    });
  return dir;
}

/** The entry the generated menu boots by default for this firmware (no user default). */
function menuDefault(entries: readonly LibraryEntry[], arch: BootArch): string | undefined {
  const script = generateBootScript({
    baseUrl: 'http://10.0.0.1:8080',
    entries,
    client: { arch },
    timeoutSeconds: 5,
  });
  const def = /choose --default (e\d+)/.exec(script)?.[1];
  const m = new RegExp(`:${def}\\n(?:.*\\n)*?(?:kernel|chain|sanboot[^\\n]*) (http\\S+)`).exec(script);
  return m?.[1]?.replace('http://10.0.0.1:8080/', '');
}

const noIso = new IsoAnalysisCache({ analyse: () => new Promise(() => undefined) });

describe('the Debian installer netboot tree as the netboot folder', () => {
  let entries: readonly LibraryEntry[];
  beforeAll(async () => {
    const lib = new NetbootLibrary({ root: diTree(), isoCache: noIso });
    entries = await lib.scan();
  }, 300_000);

  it('boots the installer kernel with its initrd by default on BIOS and on UEFI', () => {
    const kernel = entries.find((e) => e.path === 'debian-installer/amd64/linux');
    expect(kernel).toMatchObject({ kind: 'linux', initrd: 'debian-installer/amd64/initrd.gz' });
    expect(kernel?.arch).toEqual(expect.arrayContaining(['bios', 'uefi-x64']));
    expect(entries[0]?.id).toBe(kernel?.id);
    expect(menuDefault(entries, 'bios')).toBe('debian-installer/amd64/linux');
    expect(menuDefault(entries, 'uefi-x64')).toBe('debian-installer/amd64/linux');
  });

  it("keeps the tree's shim and GRUB out of the menu and pxelinux.0 as a non-default BIOS entry", () => {
    const shim = entries.find((e) => e.path.endsWith('bootnetx64.efi'));
    const grub = entries.find((e) => e.path.endsWith('grubx64.efi'));
    const pxelinux = entries.find((e) => e.path.endsWith('pxelinux.0'));
    expect(shim).toMatchObject({ kind: 'efi', secondary: 'hidden' });
    expect(grub).toMatchObject({ kind: 'efi', secondary: 'hidden' });
    expect(shim?.note).toMatch(/shim/);
    expect(pxelinux).toMatchObject({ kind: 'nbp', secondary: 'menu' });
    const uefi = generateBootScript({
      baseUrl: 'http://10.0.0.1:8080',
      entries,
      client: { arch: 'uefi-x64' },
      timeoutSeconds: 5,
    });
    expect(uefi).not.toMatch(/bootnetx64|grubx64/);
    // Secondary entries come after every other one; .c32 modules and GRUB modules are no entries.
    const firstSecondary = entries.findIndex((e) => e.secondary);
    expect(entries.slice(firstSecondary).every((e) => e.secondary)).toBe(true);
    expect(entries.some((e) => /\.(c32|mod)$/.test(e.path))).toBe(false);
  });
});

describe('memtest86+ beside the installer kernel', () => {
  let dir: string;
  let entries: readonly LibraryEntry[];
  beforeAll(async () => {
    const fx = ensureFixtures();
    const di = diTree();
    dir = mkdtempSync(path.join(tmpdir(), 'pxe-memtest-'));
    for (const f of ['memtest86+x64.bin', 'memtest86+x64.efi', 'memtest86+x64.iso'])
      copyFileSync(path.join(fx.memtestDir, f), path.join(dir, f));
    copyFileSync(path.join(di, 'debian-installer/amd64/linux'), path.join(dir, 'linux'));
    copyFileSync(path.join(di, 'debian-installer/amd64/initrd.gz'), path.join(dir, 'initrd.gz'));
    // The real ISO analysis: memtest86+'s own ISO is recognised as memtest too.
    const lib = new NetbootLibrary({ root: dir, isoCache: new IsoAnalysisCache() });
    await lib.scan();
    entries = await lib.analysed(30_000);
    lib.close();
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('recognises memtest as memtest: no initrd, not Linux, one image per firmware', () => {
    const bin = entries.find((e) => e.path === 'memtest86+x64.bin');
    const efi = entries.find((e) => e.path === 'memtest86+x64.efi');
    expect(bin).toMatchObject({ kind: 'memtest', arch: ['bios'] });
    expect(efi).toMatchObject({ kind: 'memtest', arch: ['uefi-x64'] });
    expect(bin?.initrd).toBeUndefined();
    expect(efi?.initrd).toBeUndefined();
    expect(bin?.title).toMatch(/^Memtest86\+ v\d/);
    expect(entries.find((e) => e.path === 'linux')).toMatchObject({ kind: 'linux', initrd: 'initrd.gz' });
    // The generated menu starts memtest as a program of its own (no initrd line after it).
    const script = generateBootScript({
      baseUrl: 'http://h:1',
      entries,
      client: { arch: 'bios' },
      timeoutSeconds: 5,
    });
    expect(script).toMatch(/chain http:\/\/h:1\/memtest86%2Bx64\.bin/);
    // The installer's initrd goes with the installer kernel only.
    expect(script.match(/^initrd \S+\/initrd\.gz\b/gm)).toHaveLength(1);
    expect(script).not.toMatch(/memtest86%2Bx64\.bin[^\n]*\n(initrd|kernel) /);
    expect(menuDefault(entries, 'bios')).toBe('linux');
    expect(menuDefault(entries, 'uefi-x64')).toBe('linux');
    const iso = entries.find((e) => e.path === 'memtest86+x64.iso');
    expect(iso?.iso?.family).toBe('memtest');
    expect(iso?.title).toMatch(/^memtest86\+ 6\.\d+ \(memtest86\+x64\.iso\)$/);
    expect(iso?.arch).toEqual(['bios', 'uefi-x64']);
    expect(entries.at(-1)?.id).toBe('memtest86+x64.iso'); // after the kernel, beside the other memtests
  });
});

describe('initrd pairing', () => {
  const f = (rel: string, kind: 'linux-kernel' | 'initrd'): FoundFile => {
    const i = rel.lastIndexOf('/');
    return {
      rel,
      name: rel.slice(i + 1),
      dir: i < 0 ? '' : rel.slice(0, i),
      size: 1,
      sniff: { kind, arch: kind === 'initrd' ? [] : ['bios'] },
    };
  };

  it('pairs by version, by plain names, or a lone pair; never across versions, folders or kernels', () => {
    const found = [
      f('a/vmlinuz-6.1.0-13-amd64', 'linux-kernel'),
      f('a/initrd.img-6.1.0-13-amd64', 'initrd'),
      f('a/vmlinuz-6.1.0-12-amd64', 'linux-kernel'),
      f('b/vmlinuz-6.1', 'linux-kernel'),
      f('b/initrd.img-5.10', 'initrd'),
      f('c/linux', 'linux-kernel'),
      f('c/initrd.gz', 'initrd'),
      f('d/vmlinuz', 'linux-kernel'),
      f('d/bzImage', 'linux-kernel'),
      f('d/initramfs-x.img', 'initrd'),
      f('e/vmlinuz-6.1', 'linux-kernel'),
      f('e/initrd.gz', 'initrd'),
      f('top-kernel', 'linux-kernel'),
    ];
    const pair = (rel: string): string | undefined =>
      pairInitrd(found.find((x) => x.rel === rel) as FoundFile, found)?.rel;
    expect(pair('a/vmlinuz-6.1.0-13-amd64')).toBe('a/initrd.img-6.1.0-13-amd64');
    expect(pair('a/vmlinuz-6.1.0-12-amd64')).toBeUndefined();
    expect(pair('b/vmlinuz-6.1')).toBeUndefined();
    expect(pair('c/linux')).toBe('c/initrd.gz');
    expect(pair('d/vmlinuz')).toBeUndefined();
    expect(pair('d/bzImage')).toBeUndefined();
    expect(pair('e/vmlinuz-6.1')).toBe('e/initrd.gz');
    expect(pair('top-kernel')).toBeUndefined();
  });

  it('a folder of two kernels and one initrd gives the initrd to neither by guess (real files)', async () => {
    const fx = ensureFixtures();
    const dir = mkdtempSync(path.join(tmpdir(), 'pxe-pair-'));
    try {
      mkdirSync(path.join(dir, 'x'));
      copyFileSync(fx.vmlinuz, path.join(dir, 'x', 'vmlinuz-a'));
      copyFileSync(fx.vmlinuz, path.join(dir, 'x', 'vmlinuz-b'));
      copyFileSync(fx.initrd, path.join(dir, 'x', 'initrd.img-a'));
      writeFileSync(path.join(dir, 'x', 'notes.txt'), 'x');
      const entries = await new NetbootLibrary({ root: dir, isoCache: noIso }).scan();
      expect(entries.find((e) => e.id === 'x/vmlinuz-a')?.initrd).toBe('x/initrd.img-a');
      expect(entries.find((e) => e.id === 'x/vmlinuz-b')?.initrd).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the tree's own boot configuration pairs kernel and initrd", () => {
  it("reads d-i's pxelinux.cfg/default (through its symlinks) and its GRUB config", async () => {
    const di = diTree();
    const viaPxelinux = await readTreePairs(di, ['pxelinux.cfg/default']);
    expect(viaPxelinux.get('debian-installer/amd64/linux')).toEqual(['debian-installer/amd64/initrd.gz']);
    const viaGrub = await readTreePairs(di, ['debian-installer/amd64/grub/grub.cfg']);
    expect(viaGrub.get('debian-installer/amd64/linux')).toEqual(['debian-installer/amd64/initrd.gz']);
  }, 300_000);

  it('pairs files in different folders that no naming rule would (pxelinux and GRUB trees)', async () => {
    const fx = ensureFixtures();
    const dir = mkdtempSync(path.join(tmpdir(), 'pxe-tree-'));
    try {
      for (const d of ['kernels', 'images', 'pxelinux.cfg', 'k', 'i', 'boot/grub', 'other'])
        mkdirSync(path.join(dir, d), { recursive: true });
      copyFileSync(fx.vmlinuz, path.join(dir, 'kernels', 'bzImage'));
      copyFileSync(fx.initrd, path.join(dir, 'images', 'rootfs.cpio.gz'));
      writeFileSync(
        path.join(dir, 'pxelinux.cfg', 'default'),
        'default x\nlabel x\n  kernel kernels/bzImage\n  append initrd=images/rootfs.cpio.gz console=ttyS0\n',
      );
      copyFileSync(fx.vmlinuz, path.join(dir, 'k', 'vmlinuz-rescue'));
      copyFileSync(fx.initrd, path.join(dir, 'i', 'ucode.img'));
      copyFileSync(fx.initrd, path.join(dir, 'i', 'initramfs-rescue-final.img'));
      writeFileSync(
        path.join(dir, 'boot', 'grub', 'grub.cfg'),
        'menuentry "Rescue" {\n  linux /k/vmlinuz-rescue quiet\n  initrd /i/ucode.img /i/initramfs-rescue-final.img\n}\n',
      );
      // A kernel no configuration names keeps the naming rule (no initrd beside it: none).
      copyFileSync(fx.vmlinuz, path.join(dir, 'other', 'vmlinuz'));
      const entries = await new NetbootLibrary({ root: dir, isoCache: noIso }).scan();
      expect(entries.find((e) => e.id === 'kernels/bzImage')?.initrd).toBe('images/rootfs.cpio.gz');
      expect(entries.find((e) => e.id === 'k/vmlinuz-rescue')?.initrd).toBe('i/initramfs-rescue-final.img');
      expect(entries.find((e) => e.id === 'other/vmlinuz')?.initrd).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
