/**
 * isolinux/syslinux configuration reader (app/core/iso-boot/isolinux-config.ts): configurations in the
 * layout and style of Debian live, the Debian installer, Arch (archiso) and older Ubuntu ISOs, then the
 * directives one by one and the bounds.
 */
import { describe, expect, it } from 'vitest';
import { readIsolinuxMenu } from '../../app/core/iso-boot/isolinux-config.js';
import { ConfigLog, type ConfigBootEntry } from '../../app/core/iso-boot/types.js';
import { filesReader, readMenu } from '../helpers/config-files.js';

const menu = (files: Record<string, string>, path = 'isolinux/isolinux.cfg', cwd?: string) =>
  readMenu((log) => readIsolinuxMenu(filesReader(files), path, log, cwd));
const titles = (es: readonly ConfigBootEntry[]): string[] => es.map((e) => e.title);
const dflt = (es: readonly ConfigBootEntry[]): string[] => es.filter((e) => e.isDefault).map((e) => e.title);

const DEBIAN_LIVE = {
  'isolinux/isolinux.cfg': 'include menu.cfg\ndefault vesamenu.c32\nprompt 0\ntimeout 0\n',
  'isolinux/menu.cfg': `menu hshift 0
menu width 82

menu title Boot menu
include stdmenu.cfg
include live.cfg
include install.cfg
menu begin utilities
	menu label ^Utilities
	menu title Utilities
	include stdmenu.cfg
	label mainmenu
		menu label ^Back..
		menu exit
	include utilities.cfg
menu end

menu clear
`,
  'isolinux/stdmenu.cfg': 'menu background splash.png\nmenu color title\t* #FFFFFFFF *\nmenu vshift 12\n',
  'isolinux/live.cfg': `label live-amd64
	menu label ^Live system (amd64)
	menu default
	linux /live/vmlinuz-6.1.0-28-amd64
	initrd /live/initrd.img-6.1.0-28-amd64
	append boot=live components quiet splash findiso=\${iso_path}

label live-amd64-failsafe
	menu label Live system (amd64 fail-safe mode)
	linux /live/vmlinuz-6.1.0-28-amd64
	initrd /live/initrd.img-6.1.0-28-amd64
	append boot=live components memtest noapic noapm nodma nomce nosmp nosplash vga=788
`,
  'isolinux/install.cfg': `label installstart
	menu label Start ^installer
	linux /install/vmlinuz
	initrd /install/initrd.gz
	append vga=788  --- quiet
`,
  'isolinux/utilities.cfg': `label hdt
	menu label ^Hardware Detection Tool (HDT)
	com32 hdt.c32

label memtest
	menu label ^Memory Diagnostic Tool (memtest86+)
	linux /live/memtest86+x64.bin
`,
};

describe('Debian live style isolinux (include live.cfg, menu begin utilities)', () => {
  it('entries in menu order, MENU DEFAULT under a vesamenu UI, group of the nested menu', async () => {
    const m = await menu(DEBIAN_LIVE);
    expect(titles(m.entries)).toEqual([
      'Live system (amd64)',
      'Live system (amd64 fail-safe mode)',
      'Start installer',
      'Memory Diagnostic Tool (memtest86+)',
    ]);
    expect(m.entries[0]).toMatchObject({
      kernel: 'live/vmlinuz-6.1.0-28-amd64',
      initrds: ['live/initrd.img-6.1.0-28-amd64'],
      args: 'boot=live components quiet splash findiso=${iso_path}',
      group: [],
      source: 'isolinux',
      configPath: 'isolinux/live.cfg',
      loaderId: 'live-amd64',
    });
    expect(m.entries[3]?.group).toEqual(['Utilities']);
    expect(dflt(m.entries)).toEqual(['Live system (amd64)']);
    expect(m.timeoutSeconds).toBe(0);
    expect(m.log.read).toEqual([
      'isolinux/isolinux.cfg',
      'isolinux/menu.cfg',
      'isolinux/stdmenu.cfg',
      'isolinux/live.cfg',
      'isolinux/install.cfg',
      'isolinux/utilities.cfg',
    ]);
    expect(m.log.issues.filter((i) => i.code === 'not-linux').map((i) => i.detail)).toEqual([
      '"Hardware Detection Tool (HDT)": hdt.c32',
    ]);
    // "menu exit" labels are navigation, not a problem.
    expect(m.log.issues.some((i) => i.detail.includes('Back'))).toBe(false);
  });
});

const ARCH = {
  'boot/syslinux/syslinux.cfg': `DEFAULT select

LABEL select
COM32 whichsys.c32
APPEND -pxe- pxe -sys- sys -iso- sys

LABEL pxe
CONFIG archiso_pxe.cfg

LABEL sys
CONFIG archiso_sys.cfg
`,
  'boot/syslinux/archiso_pxe.cfg':
    'LABEL arch64_nbd\nLINUX /arch/boot/x86_64/vmlinuz-linux\nAPPEND archiso_nbd_srv=${pxeserver}\n',
  'boot/syslinux/archiso_sys.cfg': `INCLUDE archiso_head.cfg

DEFAULT arch64
TIMEOUT 150

INCLUDE archiso_sys-linux.cfg

INCLUDE archiso_tail.cfg
`,
  'boot/syslinux/archiso_head.cfg': `SERIAL 0 115200
UI vesamenu.c32
MENU TITLE Arch Linux
MENU BACKGROUND splash.png
`,
  'boot/syslinux/archiso_sys-linux.cfg': `LABEL arch64
TEXT HELP
Boot the Arch Linux install medium on BIOS.
It allows you to install Arch Linux or perform system maintenance.
ENDTEXT
MENU LABEL Arch Linux install medium (x86_64, BIOS)
LINUX /arch/boot/x86_64/vmlinuz-linux
INITRD /arch/boot/intel-ucode.img,/arch/boot/amd-ucode.img,/arch/boot/x86_64/initramfs-linux.img
APPEND archisobasedir=arch archisosearchuuid=2024-12-01-10-00-00-00

LABEL arch64speech
TEXT HELP
Boot the Arch Linux install medium on BIOS with speakup screen reader.
ENDTEXT
MENU LABEL Arch Linux install medium (x86_64, BIOS) with ^speech
LINUX /arch/boot/x86_64/vmlinuz-linux
INITRD /arch/boot/intel-ucode.img,/arch/boot/amd-ucode.img,/arch/boot/x86_64/initramfs-linux.img
APPEND archisobasedir=arch archisosearchuuid=2024-12-01-10-00-00-00 accessibility=on
`,
  'boot/syslinux/archiso_tail.cfg': `LABEL existing
TEXT HELP
Boot an existing operating system.
ENDTEXT
MENU LABEL Boot existing OS
COM32 chain.c32
APPEND hd0 0

LABEL memtest
MENU LABEL Run Memtest86+ (RAM test)
LINUX /boot/memtest86+/memtest

LABEL reboot
MENU LABEL Reboot
COM32 reboot.c32
`,
};

describe('Arch style syslinux (whichsys.c32 → CONFIG archiso_sys.cfg, INITRD lists)', () => {
  it('follows the -iso- label to its CONFIG; that configuration is the menu', async () => {
    const m = await menu(ARCH, 'boot/syslinux/syslinux.cfg');
    expect(titles(m.entries)).toEqual([
      'Arch Linux install medium (x86_64, BIOS)',
      'Arch Linux install medium (x86_64, BIOS) with speech',
      'Run Memtest86+ (RAM test)',
    ]);
    expect(m.entries[0]).toMatchObject({
      kernel: 'arch/boot/x86_64/vmlinuz-linux',
      initrds: [
        'arch/boot/intel-ucode.img',
        'arch/boot/amd-ucode.img',
        'arch/boot/x86_64/initramfs-linux.img',
      ],
      args: 'archisobasedir=arch archisosearchuuid=2024-12-01-10-00-00-00',
      configPath: 'boot/syslinux/archiso_sys-linux.cfg',
    });
    expect(dflt(m.entries)).toEqual(['Arch Linux install medium (x86_64, BIOS)']);
    expect(m.timeoutSeconds).toBe(15);
    // The PXE configuration is for PXELINUX, never read for an ISO boot.
    expect(m.log.read).not.toContain('boot/syslinux/archiso_pxe.cfg');
  });

  it('without whichsys, CONFIG labels become groups (one level) and DEFAULT names the label', async () => {
    const m = await menu(
      {
        'boot/syslinux/syslinux.cfg':
          'DEFAULT sys\nLABEL sys\nMENU LABEL ^System\nCONFIG archiso_sys.cfg\nLABEL other\nMENU LABEL Other\nCONFIG other.cfg\n',
        'boot/syslinux/other.cfg': 'LABEL o\nLINUX o/vmlinuz\nLABEL deeper\nCONFIG deeper.cfg\n',
        'boot/syslinux/archiso_sys.cfg': 'LABEL a\nLINUX /a\n',
      },
      'boot/syslinux/syslinux.cfg',
    );
    expect(titles(m.entries)).toEqual(['a']);
    const n = await menu(
      {
        'boot/syslinux/syslinux.cfg':
          'DEFAULT first\nLABEL first\nLINUX /k\nLABEL other\nMENU LABEL Other\nCONFIG other.cfg\n',
        'boot/syslinux/other.cfg': 'LABEL o\nLINUX o/vmlinuz\nLABEL deeper\nCONFIG deeper.cfg\n',
      },
      'boot/syslinux/syslinux.cfg',
    );
    expect(n.entries.map((e) => [e.title, e.group, e.kernel, e.isDefault])).toEqual([
      ['first', [], 'k', true],
      ['o', ['Other'], 'boot/syslinux/o/vmlinuz', false],
    ]);
    expect(n.log.read).not.toContain('boot/syslinux/deeper.cfg');
  });
});

describe('Debian installer and older Ubuntu style isolinux', () => {
  it('initrd= in APPEND moves to the initrds; DEFAULT without a menu picks the label; case-insensitive keywords', async () => {
    const m = await menu({
      'isolinux/isolinux.cfg': `# D-I config version 2.0
path
include menu.cfg
DEFAULT live
Prompt 0
TimeOut 50
`,
      'isolinux/menu.cfg': `LABEL live
  menu label ^Try Ubuntu without installing
  kernel /casper/vmlinuz
  append  file=/cdrom/preseed/ubuntu.seed initrd=/casper/initrd quiet splash ---
label live-install
  menu label ^Install Ubuntu
  KERNEL /casper/vmlinuz
  APPEND  file=/cdrom/preseed/ubuntu.seed only-ubiquity initrd=/casper/initrd,/casper/extra.img quiet splash ---
label check
  menu label ^Check disc for defects
  menu default
  kernel /casper/vmlinuz
  append  boot=casper integrity-check initrd=/casper/initrd quiet splash ---
`,
    });
    expect(titles(m.entries)).toEqual([
      'Try Ubuntu without installing',
      'Install Ubuntu',
      'Check disc for defects',
    ]);
    expect(m.entries[0]).toMatchObject({
      kernel: 'casper/vmlinuz',
      initrds: ['casper/initrd'],
      args: 'file=/cdrom/preseed/ubuntu.seed quiet splash ---',
    });
    expect(m.entries[1]?.initrds).toEqual(['casper/initrd', 'casper/extra.img']);
    // No UI module: MENU DEFAULT means nothing, DEFAULT live is what boots.
    expect(dflt(m.entries)).toEqual(['Try Ubuntu without installing']);
    expect(m.timeoutSeconds).toBe(5);
  });

  it('a UI menu without MENU DEFAULT takes the DEFAULT label; else the first', async () => {
    const cfg = (d: string): string => `UI menu.c32\n${d}\nLABEL a\nKERNEL /a\nLABEL b\nKERNEL /b\n`;
    expect(dflt((await menu({ 'isolinux/isolinux.cfg': cfg('DEFAULT b') })).entries)).toEqual(['b']);
    expect(dflt((await menu({ 'isolinux/isolinux.cfg': cfg('ONTIMEOUT b') })).entries)).toEqual(['b']);
    expect(dflt((await menu({ 'isolinux/isolinux.cfg': cfg('') })).entries)).toEqual([]);
  });
});

describe('isolinux directives', () => {
  it('relative paths are from the working directory (the folder of the config), absolute from the root', async () => {
    const m = await menu(
      {
        'boot/isolinux/isolinux.cfg':
          'label a\n kernel vmlinuz\n initrd initrd.gz,/abs/initrd\n append quiet\n',
      },
      'boot/isolinux/isolinux.cfg',
    );
    expect(m.entries[0]).toMatchObject({
      kernel: 'boot/isolinux/vmlinuz',
      initrds: ['boot/isolinux/initrd.gz', 'abs/initrd'],
    });
  });

  it('global APPEND applies to labels without their own; APPEND - clears it; the last INITRD and initrd= combine', async () => {
    const m = await menu({
      'isolinux/isolinux.cfg': `APPEND root=/dev/ram0 quiet
label a
  kernel /k
label b
  kernel /k
  append -
label c
  linux /k
  initrd /replaced
  initrd /i1
  append initrd=/i2 x=1
`,
    });
    expect(m.entries.map((e) => [e.args, e.initrds])).toEqual([
      ['root=/dev/ram0 quiet', []],
      ['', []],
      ['x=1', ['i1', 'i2']],
    ]);
  });

  it('kernels by extension: .c32/.0/.bin/.com are not Linux, LINUX always is; MENU HIDE entries are left out', async () => {
    const m = await menu({
      'isolinux/isolinux.cfg': `label m
  kernel memdisk
  append initrd=/img/fd.img
label c
  kernel /isolinux/reboot.c32
label p
  kernel pxelinux.0
label bs
  kernel /boot.bin
label forced
  linux /tool.bin
label hidden
  menu hide
  kernel /k
label local
  localboot 0
label empty
  menu label Nothing here
`,
    });
    expect(titles(m.entries)).toEqual(['m', 'forced']);
    expect(m.entries[0]).toMatchObject({ kernel: 'isolinux/memdisk', initrds: ['img/fd.img'] });
    expect(m.log.issues.filter((i) => i.code === 'not-linux').length).toBe(4);
    expect(m.log.issues.some((i) => i.code === 'malformed' && i.detail.includes('Nothing here'))).toBe(true);
  });

  it('DEFAULT naming no label is a command line of its own: the first entry, and the default', async () => {
    const m = await menu({
      'isolinux/isolinux.cfg':
        'APPEND quiet\nDEFAULT vmlinuz initrd=initrd.gz root=/dev/ram0\nLABEL rescue\n KERNEL vmlinuz\n',
    });
    expect(m.entries.map((e) => [e.title, e.kernel, e.initrds, e.args, e.isDefault, e.configPath])).toEqual([
      [
        'vmlinuz',
        'isolinux/vmlinuz',
        ['isolinux/initrd.gz'],
        'root=/dev/ram0',
        true,
        'isolinux/isolinux.cfg',
      ],
      ['rescue', 'isolinux/vmlinuz', [], 'quiet', false, 'isolinux/isolinux.cfg'],
    ]);
    const mod = await menu({ 'isolinux/isolinux.cfg': 'DEFAULT hdt.c32\nLABEL a\n KERNEL /a\n' });
    expect(mod.entries.map((e) => e.title)).toEqual(['a']);
  });

  it('a later DEFAULT x.c32 replaces an earlier DEFAULT label; a submenu MENU DEFAULT stays in its submenu', async () => {
    const m = await menu({
      'isolinux/isolinux.cfg': `include menu.cfg
default vesamenu.c32
`,
      'isolinux/menu.cfg': `label install
  kernel /linux
menu begin dark
  label installdark
  default installdark
    menu default
    kernel /linux
    append theme=dark
menu end
`,
    });
    expect(m.entries.map((e) => [e.title, e.isDefault])).toEqual([
      ['install', false],
      ['installdark', false],
    ]);
  });

  it('CONFIG keeps the working directory unless it names one; a help screen repeating the menu adds nothing', async () => {
    const m = await menu(
      {
        'pxelinux.cfg/default': `include boot-screens/menu.cfg
default boot-screens/vesamenu.c32
`,
        'boot-screens/menu.cfg': `label install
  kernel d-i/linux
  append initrd=d-i/initrd.gz --- quiet
label help
  menu label ^Help
  config boot-screens/prompt.cfg
label help2
  config boot-screens/prompt.cfg
label elsewhere
  menu label Other tree
  config /other/other.cfg /other
`,
        'boot-screens/prompt.cfg':
          'include boot-screens/menu.cfg\nlabel extra\n kernel d-i/linux\n append extra=1\n',
        'other/other.cfg': 'label o\n kernel vmlinuz\n',
      },
      'pxelinux.cfg/default',
      '', // PXELINUX: the folder of pxelinux.0
    );
    expect(m.entries.map((e) => [e.group.join('>'), e.title, e.kernel, e.initrds])).toEqual([
      ['', 'install', 'd-i/linux', ['d-i/initrd.gz']],
      ['Help', 'extra', 'd-i/linux', []],
      ['Other tree', 'o', 'other/vmlinuz', []],
    ]);
  });

  it('MENU INCLUDE with a tag is a submenu; MENU DEFAULT on a submenu descends into it', async () => {
    const m = await menu({
      'isolinux/isolinux.cfg': `UI vesamenu.c32
label top
  kernel /top
menu include more.cfg Tools
menu begin adv
  menu label ^Advanced
  menu default
  label x
    kernel /x
  label y
    menu default
    kernel /y
menu end
`,
      'isolinux/more.cfg': 'menu title Tools and tests\nlabel t\n  kernel /t\n',
    });
    expect(m.entries.map((e) => [e.title, e.group])).toEqual([
      ['top', []],
      ['t', ['Tools and tests']],
      ['x', ['Advanced']],
      ['y', ['Advanced']],
    ]);
    expect(dflt(m.entries)).toEqual(['y']);
  });

  it('include cycles, missing includes and deep chains are reported and bounded', async () => {
    const files: Record<string, string> = {
      'isolinux/isolinux.cfg': 'include a.cfg\ninclude missing.cfg\ninclude c0.cfg\nlabel ok\n kernel /k\n',
      'isolinux/a.cfg': 'include b.cfg\n',
      'isolinux/b.cfg': 'include a.cfg\n',
    };
    for (let i = 0; i < 20; i++) files[`isolinux/c${i}.cfg`] = `include c${i + 1}.cfg\n`;
    const m = await menu(files);
    expect(titles(m.entries)).toEqual(['ok']);
    const codes = new Set(m.log.issues.map((i) => i.code));
    expect([...codes].sort()).toEqual(['loop', 'missing-file', 'too-deep']);
  });

  it('at most 500 labels are kept', async () => {
    const cfg = Array.from({ length: 700 }, (_, i) => `label l${i}\n kernel /k${i}`).join('\n');
    const m = await menu({ 'isolinux/isolinux.cfg': cfg });
    expect(m.entries).toHaveLength(500);
    expect(m.log.issues.some((i) => i.code === 'too-many')).toBe(true);
  });

  it('an absent configuration is no menu', async () => {
    expect(await readIsolinuxMenu(filesReader({}), 'isolinux/isolinux.cfg', new ConfigLog())).toBeUndefined();
  });
});
