/**
 * systemd-boot reader (app/core/iso-boot/systemd-boot-config.ts): loader.conf and Boot Loader
 * Specification Type #1 entries in the layout of Arch's ISO (archiso), then sorting, defaults and titles.
 */
import { describe, expect, it } from 'vitest';
import { readSystemdBootMenu, versionCompare } from '../../app/core/iso-boot/systemd-boot-config.js';
import { ConfigLog, type ConfigBootEntry } from '../../app/core/iso-boot/types.js';
import { filesReader, readMenu } from '../helpers/config-files.js';

const menu = (files: Record<string, string>) =>
  readMenu((log) => readSystemdBootMenu(filesReader(files), log));
const ids = (es: readonly ConfigBootEntry[]): (string | undefined)[] => es.map((e) => e.loaderId);
const dflt = (es: readonly ConfigBootEntry[]): (string | undefined)[] =>
  es.filter((e) => e.isDefault).map((e) => e.loaderId);

const ARCH = {
  'loader/loader.conf': 'timeout 15\ndefault 01-archiso-x86_64-linux.conf\nbeep on\n',
  'loader/entries/01-archiso-x86_64-linux.conf': `title    Arch Linux install medium (x86_64, UEFI)
sort-key 01
linux    /arch/boot/x86_64/vmlinuz-linux
initrd   /arch/boot/intel-ucode.img
initrd   /arch/boot/amd-ucode.img
initrd   /arch/boot/x86_64/initramfs-linux.img
options  archisobasedir=arch archisosearchuuid=2024-12-01-10-00-00-00
`,
  'loader/entries/02-archiso-x86_64-speech-linux.conf': `title    Arch Linux install medium (x86_64, UEFI) with speech
sort-key 02
linux    /arch/boot/x86_64/vmlinuz-linux
initrd   /arch/boot/intel-ucode.img
initrd   /arch/boot/amd-ucode.img
initrd   /arch/boot/x86_64/initramfs-linux.img
options  archisobasedir=arch archisosearchuuid=2024-12-01-10-00-00-00
options  accessibility=on
`,
  'loader/entries/03-archiso-memtest86+x64.conf': `title   Memtest86+
sort-key 03
efi     /boot/memtest86+/memtest.efi
`,
};

describe('Arch style systemd-boot (loader.conf + archiso entries)', () => {
  it('entries by sort-key, initrd lines in order, options lines joined, loader.conf default and timeout', async () => {
    const m = await menu(ARCH);
    expect(ids(m.entries)).toEqual(['01-archiso-x86_64-linux', '02-archiso-x86_64-speech-linux']);
    expect(m.entries[0]).toMatchObject({
      title: 'Arch Linux install medium (x86_64, UEFI)',
      group: [],
      kernel: 'arch/boot/x86_64/vmlinuz-linux',
      initrds: [
        'arch/boot/intel-ucode.img',
        'arch/boot/amd-ucode.img',
        'arch/boot/x86_64/initramfs-linux.img',
      ],
      args: 'archisobasedir=arch archisosearchuuid=2024-12-01-10-00-00-00',
      source: 'systemd-boot',
      configPath: 'loader/entries/01-archiso-x86_64-linux.conf',
    });
    expect(m.entries[1]?.args).toBe(
      'archisobasedir=arch archisosearchuuid=2024-12-01-10-00-00-00 accessibility=on',
    );
    expect(dflt(m.entries)).toEqual(['01-archiso-x86_64-linux']);
    expect(m.timeoutSeconds).toBe(15);
    expect(m.log.issues.map((i) => [i.code, i.detail])).toEqual([
      ['not-linux', '"Memtest86+": EFI program /boot/memtest86+/memtest.efi'],
    ]);
  });

  it('a default glob picks the first match in menu order; without loader.conf the first entry', async () => {
    const withDefault = await menu({ ...ARCH, 'loader/loader.conf': 'default *speech*\n' });
    expect(dflt(withDefault.entries)).toEqual(['02-archiso-x86_64-speech-linux']);
    expect(withDefault.timeoutSeconds).toBeUndefined();
    const { 'loader/loader.conf': _, ...noLoader } = ARCH;
    expect(dflt((await menu(noLoader)).entries)).toEqual(['01-archiso-x86_64-linux']);
    const saved = await menu({ ...ARCH, 'loader/loader.conf': 'default @saved\ntimeout menu-force\n' });
    expect(dflt(saved.entries)).toEqual(['01-archiso-x86_64-linux']);
    expect(saved.timeoutSeconds).toBeUndefined();
  });
});

describe('Boot Loader Specification sorting and titles', () => {
  it('sort-key entries first; then by file name, newest version first', async () => {
    const e = (title: string, extra = ''): string => `title ${title}\nlinux /vmlinuz\n${extra}`;
    const m = await menu({
      'loader/entries/fedora-6.9.0.conf': e('Fedora', 'version 6.9.0\n'),
      'loader/entries/fedora-6.10.2.conf': e('Fedora', 'version 6.10.2\n'),
      'loader/entries/fedora-6.10.10.conf': e('Fedora', 'version 6.10.10\n'),
      'loader/entries/zz-keyed.conf': e('Keyed', 'sort-key aaa\n'),
      'loader/entries/b-keyed-old.conf': e('Same key', 'sort-key bbb\nversion 1.2\n'),
      'loader/entries/a-keyed-new.conf': e('Same key', 'sort-key bbb\nversion 1.10\n'),
    });
    expect(ids(m.entries)).toEqual([
      'zz-keyed',
      'a-keyed-new',
      'b-keyed-old',
      'fedora-6.10.10',
      'fedora-6.10.2',
      'fedora-6.9.0',
    ]);
    // Repeated titles are told apart by their version, as the menu shows them.
    expect(m.entries.map((x) => x.title)).toEqual([
      'Keyed',
      'Same key (1.10)',
      'Same key (1.2)',
      'Fedora (6.10.10)',
      'Fedora (6.10.2)',
      'Fedora (6.9.0)',
    ]);
    expect(dflt(m.entries)).toEqual(['zz-keyed']);
  });

  it('versionCompare: numeric runs as numbers, ~ before anything', () => {
    expect(versionCompare('6.10', '6.9')).toBeGreaterThan(0);
    expect(versionCompare('1.0~rc1', '1.0')).toBeLessThan(0);
    expect(versionCompare('a-010', 'a-10')).toBe(0);
    expect(versionCompare('abc', 'abd')).toBeLessThan(0);
  });

  it('entries for other architectures are hidden; a missing title falls back to version, then the id', async () => {
    const m = await menu({
      'loader/entries/ia32.conf': 'title For 32-bit\narchitecture ia32\nlinux /k32\n',
      'loader/entries/x64.conf': 'title Here\narchitecture x64\nlinux /k\n',
      'loader/entries/v.conf': 'version 7.1\nlinux /k\n',
      'loader/entries/bare.conf': '# only a kernel\nlinux /k\n',
      'loader/entries/nothing.conf': 'title Nothing\n',
      'loader/entries/readme.txt': 'not an entry',
    });
    expect(m.entries.map((e) => e.title).sort()).toEqual(['7.1', 'Here', 'bare']);
    expect(m.log.issues.map((i) => i.code)).toEqual(['malformed']);
  });

  it('no entries directory is no systemd-boot menu', async () => {
    expect(
      await readSystemdBootMenu(filesReader({ 'loader/loader.conf': 'timeout 3\n' }), new ConfigLog()),
    ).toBeUndefined();
  });
});
