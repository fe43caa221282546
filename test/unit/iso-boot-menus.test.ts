/**
 * readBootMenus (app/core/iso-boot/boot-menus.ts): which configuration each firmware's loader reads first,
 * exactly one default, and real images (grub-mkrescue, genisoimage) read through the ISO reader's FsView.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  configReaderOf,
  overlayReader,
  readBootMenus,
  type BootMenus,
} from '../../app/core/iso-boot/boot-menus.js';
import { readGrubMenu } from '../../app/core/iso-boot/grub-config.js';
import { readIsolinuxMenu } from '../../app/core/iso-boot/isolinux-config.js';
import { ConfigLog, type ConfigReader } from '../../app/core/iso-boot/types.js';
import { openFileSource, type FileSource } from '../../app/engines/iso/file-source.js';
import { memorySource, openFat, openIso } from '../../app/engines/iso/index.js';
import { ensureFixtures } from '../fixtures/fixtures.js';
import { dirReader, filesReader } from '../helpers/config-files.js';
import { haveTools, mkisofsIso, tempDir, writeTree } from '../helpers/iso-images.js';

const summary = (m: BootMenus): [string, string, string, boolean][] =>
  m.entries.map((e) => [e.source, e.title, e.kernel, e.isDefault]);

const GRUB_BOTH = `if [ "$grub_platform" = "efi" ]; then set fw=uefi; else set fw=bios; fi
menuentry "Live ($fw)" { linux /live/vmlinuz boot=live fw=$fw; initrd /live/initrd.img }
menuentry "Live (fail-safe)" { linux /live/vmlinuz boot=live nomodeset; initrd /live/initrd.img }
`;
const ISOLINUX =
  'default vesamenu.c32\nlabel live\n menu label Live (isolinux)\n kernel /live/vmlinuz\n append initrd=/live/initrd.img boot=live\n';
const SDBOOT = {
  'loader/loader.conf': 'default arch*\n',
  'loader/entries/arch.conf':
    'title Arch (systemd-boot)\nlinux /arch/vmlinuz\ninitrd /arch/initramfs.img\noptions archisobasedir=arch\n',
};

describe('which configuration each firmware reads', () => {
  it('UEFI: EFI/BOOT/grub.cfg before boot/grub/grub.cfg; BIOS: isolinux before GRUB', async () => {
    const r = filesReader({
      'EFI/BOOT/grub.cfg': 'menuentry "From EFI/BOOT" { linux /efi-kernel }',
      'boot/grub/grub.cfg': GRUB_BOTH,
      'isolinux/isolinux.cfg': ISOLINUX,
    });
    const uefi = await readBootMenus(r, 'uefi');
    expect(uefi.loader).toBe('grub');
    expect(summary(uefi)).toEqual([['grub', 'From EFI/BOOT', 'efi-kernel', true]]);
    expect(uefi.configsRead).toEqual(['EFI/BOOT/grub.cfg']);
    const bios = await readBootMenus(r, 'bios');
    expect(summary(bios)).toEqual([['isolinux', 'Live (isolinux)', 'live/vmlinuz', true]]);
    expect(bios.entries[0]?.initrds).toEqual(['live/initrd.img']);
  });

  it('a stub grub.cfg that yields no entry falls through to the next configuration', async () => {
    const r = filesReader({
      'EFI/BOOT/grub.cfg': 'search --file --set=root /nothing\nconfigfile /boot/grub/missing.cfg\n',
      'EFI/debian/grub.cfg': 'set prefix=($root)/boot/grub\nsource $prefix/grub.cfg\n',
      'boot/grub/grub.cfg': GRUB_BOTH,
    });
    const uefi = await readBootMenus(r, 'uefi');
    expect(summary(uefi)).toEqual([
      ['grub', 'Live (uefi)', 'live/vmlinuz', true],
      ['grub', 'Live (fail-safe)', 'live/vmlinuz', false],
    ]);
    // The vendor folder's grub.cfg sourced the prefix's: that is the menu, read through it.
    expect(uefi.entries[0]?.configPath).toBe('boot/grub/grub.cfg');
    expect(uefi.configsRead).toEqual(['EFI/BOOT/grub.cfg', 'EFI/debian/grub.cfg', 'boot/grub/grub.cfg']);
  });

  it('GRUB-only images (grub-mkrescue): BIOS reads boot/grub/grub.cfg with $grub_platform = pc; grub2 too', async () => {
    const bios = await readBootMenus(filesReader({ 'boot/grub/grub.cfg': GRUB_BOTH }), 'bios');
    expect(bios.entries[0]).toMatchObject({
      title: 'Live (bios)',
      args: 'boot=live fw=bios',
      isDefault: true,
    });
    const fedora = await readBootMenus(filesReader({ 'boot/grub2/grub.cfg': GRUB_BOTH }), 'bios');
    expect(fedora.entries[0]?.configPath).toBe('boot/grub2/grub.cfg');
  });

  it('systemd-boot on UEFI only, after GRUB configurations; loopback.cfg is the last resort', async () => {
    const sd = filesReader({
      ...SDBOOT,
      'boot/grub/loopback.cfg': GRUB_BOTH,
      'boot/syslinux/syslinux.cfg': ISOLINUX,
    });
    expect(summary(await readBootMenus(sd, 'uefi'))).toEqual([
      ['systemd-boot', 'Arch (systemd-boot)', 'arch/vmlinuz', true],
    ]);
    expect((await readBootMenus(sd, 'bios')).loader).toBe('isolinux');
    const withGrub = filesReader({ ...SDBOOT, 'boot/grub/grub.cfg': GRUB_BOTH });
    expect((await readBootMenus(withGrub, 'uefi')).loader).toBe('grub');
    const loopOnly = filesReader({ 'boot/grub/loopback.cfg': GRUB_BOTH });
    for (const fw of ['bios', 'uefi'] as const) {
      const m = await readBootMenus(loopOnly, fw);
      expect(m.entries[0]?.configPath, fw).toBe('boot/grub/loopback.cfg');
    }
  });

  it('the BIOS El Torito boot file decides: GRUB eltorito.img over a leftover isolinux.cfg; isolinux.bin its own folder first', async () => {
    const r = filesReader({
      'isolinux/isolinux.cfg': ISOLINUX,
      'boot/grub/grub.cfg': GRUB_BOTH,
      'boot/isolinux/isolinux.cfg': 'label other\n kernel /other\n',
    });
    expect((await readBootMenus(r, 'bios')).entries[0]?.kernel).toBe('other'); // boot/isolinux is searched first
    const grub = await readBootMenus(r, 'bios', { biosBootFile: '/boot/grub/i386-pc/eltorito.img' });
    expect(grub.entries[0]).toMatchObject({ source: 'grub', title: 'Live (bios)' });
    const iso = await readBootMenus(r, 'bios', { biosBootFile: 'isolinux/isolinux.bin' });
    expect(iso.entries[0]).toMatchObject({ source: 'isolinux', title: 'Live (isolinux)' });
    expect(iso.configsRead).toEqual(['isolinux/isolinux.cfg']);
    // UEFI ignores a BIOS hint.
    expect((await readBootMenus(r, 'uefi', { biosBootFile: 'isolinux/isolinux.bin' })).loader).toBe('grub');
  });

  it('CRLF line ends (configurations edited on Windows) read the same as LF', async () => {
    const crlf = (t: string): string => t.replace(/\n/g, '\r\n');
    const files = { 'boot/grub/grub.cfg': GRUB_BOTH, 'isolinux/isolinux.cfg': ISOLINUX, ...SDBOOT };
    const dos = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, crlf(v)]));
    for (const fw of ['bios', 'uefi'] as const) {
      const lf = await readBootMenus(filesReader(files), fw);
      expect(lf.entries.length, fw).toBeGreaterThan(0);
      expect(await readBootMenus(filesReader(dos), fw), fw).toEqual(lf);
    }
  });

  it('exactly one default whenever there are entries (the loader named none: the first)', async () => {
    const r = filesReader({
      'isolinux/isolinux.cfg': 'UI menu.c32\nlabel a\n kernel /a\nlabel b\n kernel /b\n',
    });
    const m = await readBootMenus(r, 'bios');
    expect(m.entries.map((e) => e.isDefault)).toEqual([true, false]);
    const g = await readBootMenus(
      filesReader({ 'boot/grub/grub.cfg': 'set default=1\n' + GRUB_BOTH }),
      'uefi',
    );
    expect(g.entries.map((e) => e.isDefault)).toEqual([false, true]);
  });

  it('an image without configurations, or with a reader that throws, gives no entries and no exception', async () => {
    const empty = await readBootMenus(filesReader({ 'casper/vmlinuz': 'x' }), 'uefi');
    expect(empty).toEqual({ firmware: 'uefi', entries: [], configsRead: [], issues: [] });
    const hostile: ConfigReader = {
      readText: () => Promise.reject(new Error('io')),
      exists: () => Promise.reject(new Error('io')),
      list: () => Promise.reject(new Error('io')),
    };
    for (const fw of ['bios', 'uefi'] as const)
      expect((await readBootMenus(hostile, fw)).entries).toEqual([]);
    const alwaysThere: ConfigReader = {
      readText: () => Promise.reject(new Error('io')),
      exists: async () => true,
    };
    expect((await readBootMenus(alwaysThere, 'uefi')).entries).toEqual([]);
  });
});

describe('real images through the ISO reader (FsView adapter)', () => {
  const tmp = tempDir('pxe-bootcfg-');
  const sources: FileSource[] = [];
  afterAll(async () => {
    for (const s of sources) await s.close();
    tmp.cleanup();
  });
  const open = async (path: string): Promise<ConfigReader> => {
    const src = await openFileSource(path);
    sources.push(src);
    return configReaderOf(await openIso(src));
  };

  it.skipIf(!haveTools('grub-mkrescue', 'xorriso'))(
    'grub-mkrescue image: one grub.cfg, menus per firmware',
    async () => {
      const tree = join(tmp.dir, 'rescue-tree');
      writeTree(tree, {
        'boot/grub/grub.cfg': `${GRUB_BOTH}if [ "$grub_platform" = "pc" ]; then
menuentry "Memory test" { linux16 /boot/memtest86+x64.bin }
fi
source /boot/grub/extra.cfg
`,
        'boot/grub/extra.cfg':
          'submenu "Extra" { menuentry "To RAM" { linux /live/vmlinuz boot=live toram; initrd /live/initrd.img } }\n',
        'live/vmlinuz': 'kernel',
        'live/initrd.img': 'initrd',
      });
      const iso = join(tmp.dir, 'rescue.iso');
      execFileSync('grub-mkrescue', ['-o', iso, tree], { stdio: 'ignore' });
      const reader = await open(iso);
      const uefi = await readBootMenus(reader, 'uefi');
      expect(uefi.entries.map((e) => [e.title, e.group, e.args, e.isDefault])).toEqual([
        ['Live (uefi)', [], 'boot=live fw=uefi', true],
        ['Live (fail-safe)', [], 'boot=live nomodeset', false],
        ['To RAM', ['Extra'], 'boot=live toram', false],
      ]);
      expect(uefi.configsRead).toEqual(['boot/grub/grub.cfg', 'boot/grub/extra.cfg']);
      const bios = await readBootMenus(reader, 'bios');
      expect(bios.entries.map((e) => e.title)).toEqual([
        'Live (bios)',
        'Live (fail-safe)',
        'Memory test',
        'To RAM',
      ]);
      expect(bios.entries[2]?.kernel).toBe('boot/memtest86+x64.bin');
    },
  );

  it.skipIf(!haveTools('genisoimage'))(
    'plain ISO 9660 names (upper case, ;1) are found case-insensitively',
    async () => {
      const built = mkisofsIso(tmp.dir, 'plainboot', [], {
        'isolinux/isolinux.cfg': 'default live\ninclude live.cfg\n',
        'isolinux/live.cfg': 'label live\n kernel /live/vmlinuz\n append initrd=/live/initrd.img boot=live\n',
        'EFI/BOOT/grub.cfg': 'menuentry "From EFI" { linux /live/vmlinuz }\n',
        'live/vmlinuz': 'k',
        'live/initrd.img': 'i',
      });
      const reader = await open(built.path);
      const bios = await readBootMenus(reader, 'bios');
      expect(bios.entries.map((e) => [e.title, e.kernel, e.initrds])).toEqual([
        ['live', 'live/vmlinuz', ['live/initrd.img']],
      ]);
      expect(bios.configsRead).toEqual(['isolinux/isolinux.cfg', 'isolinux/live.cfg']);
      const uefi = await readBootMenus(reader, 'uefi');
      expect(uefi.entries.map((e) => [e.title, e.kernel])).toEqual([['From EFI', 'live/vmlinuz']]);
      // systemd-boot lists loader/entries: Joliet keeps the names whole (level-1 names would cut ".conf").
      const joliet = mkisofsIso(tmp.dir, 'jolietboot', ['-J'], {
        'loader/entries/Arch-Linux.conf': 'title From loader\nlinux /arch/vmlinuz\n',
      });
      const sd = await readBootMenus(await open(joliet.path), 'uefi');
      expect(sd.entries.map((e) => [e.title, e.loaderId, e.configPath])).toEqual([
        ['From loader', 'Arch-Linux', 'loader/entries/Arch-Linux.conf'],
      ]);
    },
  );
  it.skipIf(!haveTools('mformat', 'mmd', 'mcopy'))(
    'overlayReader: loader entries kept only in the El Torito FAT image are found beside the ISO tree',
    async () => {
      const img = join(tmp.dir, 'esp.img');
      const conf = join(tmp.dir, 'arch.conf');
      writeFileSync(conf, 'title Arch from the ESP\nlinux /arch/vmlinuz\ninitrd /arch/initramfs.img\n');
      execFileSync('mformat', ['-C', '-f', '1440', '-v', 'ARCHISO_EFI', '-i', img, '::']);
      execFileSync('mmd', ['-i', img, '::/loader', '::/loader/entries']);
      execFileSync('mcopy', ['-i', img, conf, '::/loader/entries/01-archiso-x86_64-linux.conf']);
      const fat = configReaderOf(await openFat(memorySource(readFileSync(img))));
      const isoTree = filesReader({ 'arch/vmlinuz': 'k', 'boot/syslinux/syslinux.cfg': ISOLINUX });
      expect((await readBootMenus(isoTree, 'uefi')).entries).toEqual([]);
      const both = await readBootMenus(overlayReader(isoTree, fat), 'uefi');
      expect(both.entries.map((e) => [e.source, e.title, e.kernel, e.initrds, e.loaderId])).toEqual([
        [
          'systemd-boot',
          'Arch from the ESP',
          'arch/vmlinuz',
          ['arch/initramfs.img'],
          '01-archiso-x86_64-linux',
        ],
      ]);
    },
  );
});

/** Every kernel and initrd an entry names is a file of the tree it was read from. */
async function filesExist(
  reader: ConfigReader,
  m: { entries: readonly { kernel: string; initrds: readonly string[] }[] },
): Promise<string[]> {
  const missing: string[] = [];
  for (const e of m.entries)
    for (const p of [e.kernel, ...e.initrds]) if (!(await reader.exists(p))) missing.push(p);
  return missing;
}

describe("Debian's own configurations (debian-installer-12-netboot-amd64 as unpacked, test/fixtures)", () => {
  const fx = ensureFixtures();

  it('PXELINUX menu (pxelinux.cfg/default, working directory the tree root): Install first, submenus grouped', async () => {
    const reader = dirReader(fx.diNetbootDir);
    const log = new ConfigLog();
    const m = await readIsolinuxMenu(reader, 'pxelinux.cfg/default', log, '');
    expect(m?.entries[0]).toMatchObject({
      title: 'Install',
      group: [],
      kernel: 'debian-installer/amd64/linux',
      initrds: ['debian-installer/amd64/initrd.gz'],
      args: 'vga=788 --- quiet',
    });
    const groups = new Set(m?.entries.map((e) => e.group.join(' > ')));
    expect(groups.has('Advanced options')).toBe(true);
    // DEFAULT vesamenu.c32 comes last and replaces drk.cfg's DEFAULT installdark: no label is the default
    // (the menu starts on its first entry, which readBootMenus marks).
    expect(m?.entries.filter((e) => e.isDefault)).toEqual([]);
    expect(await filesExist(reader, m as NonNullable<typeof m>)).toEqual([]);
    // The text flavour lacks the gtk/speech menus its menu.cfg includes: noted, not fatal.
    expect(log.issues.some((i) => i.code === 'missing-file' && i.detail.endsWith('gtk.cfg'))).toBe(true);
  });

  it('GRUB menu (debian-installer/amd64/grub/grub.cfg) on both firmwares: no issue, every file present', async () => {
    const reader = dirReader(fx.diNetbootDir);
    for (const fw of ['bios', 'uefi'] as const) {
      const log = new ConfigLog();
      const m = await readGrubMenu(reader, 'debian-installer/amd64/grub/grub.cfg', fw, log);
      expect(log.issues, fw).toEqual([]);
      expect(m?.entries[0], fw).toMatchObject({
        title: 'Install',
        isDefault: true,
        args: 'vga=788 --- quiet',
      });
      expect(
        m?.entries.filter((e) => e.isDefault),
        fw,
      ).toHaveLength(1);
      expect(m?.entries.length, fw).toBeGreaterThan(10);
      expect(await filesExist(reader, m as NonNullable<typeof m>), fw).toEqual([]);
    }
  });

  it('the PyPXE-style pxelinux folder: its MENU DEFAULT label under menu.c32', async () => {
    const m = await readIsolinuxMenu(dirReader(fx.pxelinuxDir), 'pxelinux.cfg/default', new ConfigLog(), '');
    expect(m?.entries.map((e) => [e.title, e.kernel, e.initrds, e.isDefault])).toEqual([
      ['Fixture kernel (PXE-LAB)', 'vmlinuz', ['initrd.gz'], true],
    ]);
  });
});
