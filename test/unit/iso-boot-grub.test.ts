/**
 * GRUB configuration evaluator (app/core/iso-boot/grub-config.ts): configurations written in the layout
 * and style of the distributions' ISOs (Ubuntu, Fedora, SystemRescue, Debian), then the script language
 * piece by piece (quoting, variables, conditions, contexts, defaults) and its bounds.
 */
import { describe, expect, it } from 'vitest';
import { readGrubMenu } from '../../app/core/iso-boot/grub-config.js';
import { ConfigLog, type ConfigBootEntry } from '../../app/core/iso-boot/types.js';
import type { IsoFirmware } from '../../app/shared/iso-boot-types.js';
import { filesReader, readMenu } from '../helpers/config-files.js';

const menu = (files: Record<string, string>, firmware: IsoFirmware = 'uefi', path = 'boot/grub/grub.cfg') =>
  readMenu((log) => readGrubMenu(filesReader(files), path, firmware, log));

const titles = (es: readonly ConfigBootEntry[]): string[] => es.map((e) => e.title);
const dflt = (es: readonly ConfigBootEntry[]): ConfigBootEntry[] => es.filter((e) => e.isDefault);

const UBUNTU = `set timeout=30

loadfont unicode

set menu_color_normal=white/black
set menu_color_highlight=black/light-gray

menuentry "Try or Install Ubuntu" {
	set gfxpayload=keep
	linux	/casper/vmlinuz  --- quiet splash
	initrd	/casper/initrd
}
menuentry "Ubuntu (safe graphics)" {
	set gfxpayload=keep
	linux	/casper/vmlinuz  nomodeset  --- quiet splash
	initrd	/casper/initrd
}
grub_platform
if [ "$grub_platform" = "efi" ]; then
menuentry 'Boot from next volume' {
	exit 1
}
menuentry 'UEFI Firmware Settings' {
	fwsetup
}
else
menuentry 'Test memory' {
	linux16 /boot/memtest86+x64.bin
}
fi
`;

describe('Ubuntu 24.04 style grub.cfg', () => {
  it('UEFI: the two Linux entries, the first the default; firmware entries noted as not Linux', async () => {
    const m = await menu({ 'boot/grub/grub.cfg': UBUNTU }, 'uefi');
    expect(titles(m.entries)).toEqual(['Try or Install Ubuntu', 'Ubuntu (safe graphics)']);
    expect(m.entries[0]).toMatchObject({
      kernel: 'casper/vmlinuz',
      initrds: ['casper/initrd'],
      args: '--- quiet splash',
      isDefault: true,
      group: [],
      source: 'grub',
      configPath: 'boot/grub/grub.cfg',
    });
    expect(m.entries[1]?.args).toBe('nomodeset --- quiet splash');
    expect(dflt(m.entries)).toHaveLength(1);
    expect(m.timeoutSeconds).toBe(30);
    const notLinux = m.log.issues.filter((i) => i.code === 'not-linux').map((i) => i.detail);
    expect(notLinux).toEqual([
      '"Boot from next volume": boots with exit',
      '"UEFI Firmware Settings": boots with fwsetup',
    ]);
    // Ubuntu's bare \`grub_platform\` line (a command of its GRUB build) is no unsupported command.
    expect(m.log.issues.filter((i) => i.code === 'unsupported')).toEqual([]);
  });

  it('BIOS ($grub_platform = pc): the else branch adds the memtest linux16 entry', async () => {
    const m = await menu({ 'boot/grub/grub.cfg': UBUNTU }, 'bios');
    expect(titles(m.entries)).toEqual(['Try or Install Ubuntu', 'Ubuntu (safe graphics)', 'Test memory']);
    expect(m.entries[2]).toMatchObject({ kernel: 'boot/memtest86+x64.bin', initrds: [], args: '' });
  });
});

const FEDORA_EFI = `set default="1"

function load_video {
  insmod all_video
}

load_video
set gfxpayload=keep
insmod gzio
insmod part_gpt
insmod ext2
insmod chain

set timeout=60
### END /etc/grub.d/00_header ###

search --no-floppy --set=root -l 'Fedora-WS-Live-41'

### BEGIN /etc/grub.d/10_linux ###
menuentry 'Start Fedora-Workstation-Live 41' --class fedora --class gnu-linux --class gnu --class os {
	linuxefi /images/pxeboot/vmlinuz root=live:CDLABEL=Fedora-WS-Live-41  rd.live.image quiet rhgb
	initrdefi /images/pxeboot/initrd.img
}
menuentry 'Test this media & start Fedora-Workstation-Live 41' --class fedora --class gnu-linux --class gnu --class os {
	linuxefi /images/pxeboot/vmlinuz root=live:CDLABEL=Fedora-WS-Live-41  rd.live.image rd.live.check quiet
	initrdefi /images/pxeboot/initrd.img
}
submenu 'Troubleshooting -->' {
	menuentry 'Start Fedora-Workstation-Live 41 in basic graphics mode' --class fedora --class gnu-linux --class gnu --class os {
		linuxefi /images/pxeboot/vmlinuz root=live:CDLABEL=Fedora-WS-Live-41  rd.live.image nomodeset quiet rhgb
		initrdefi /images/pxeboot/initrd.img
	}
	menuentry 'Boot first drive' --class fedora --class gnu-linux --class gnu --class os {
		chainloader (hd0)+1
	}
}
`;

describe('Fedora 41 style grub.cfg', () => {
  it('set default="1" picks the second entry (media check); submenu entries carry their group', async () => {
    const m = await menu({ 'EFI/BOOT/grub.cfg': FEDORA_EFI }, 'uefi', 'EFI/BOOT/grub.cfg');
    expect(titles(m.entries)).toEqual([
      'Start Fedora-Workstation-Live 41',
      'Test this media & start Fedora-Workstation-Live 41',
      'Start Fedora-Workstation-Live 41 in basic graphics mode',
    ]);
    expect(dflt(m.entries).map((e) => e.title)).toEqual([
      'Test this media & start Fedora-Workstation-Live 41',
    ]);
    expect(m.entries[0]).toMatchObject({
      kernel: 'images/pxeboot/vmlinuz',
      initrds: ['images/pxeboot/initrd.img'],
      args: 'root=live:CDLABEL=Fedora-WS-Live-41 rd.live.image quiet rhgb',
    });
    expect(m.entries[2]?.group).toEqual(['Troubleshooting -->']);
    expect(m.timeoutSeconds).toBe(60);
    expect(m.log.issues.some((i) => i.code === 'not-linux' && i.detail.includes('Boot first drive'))).toBe(
      true,
    );
    // `search` is not an unsupported command: the image is the device it finds.
    expect(m.log.issues.filter((i) => i.code === 'unsupported')).toEqual([]);
  });

  it('a default pointing into a submenu ("2>0") marks that entry', async () => {
    const m = await menu(
      { 'b.cfg': FEDORA_EFI.replace('set default="1"', 'set default="2>0"') },
      'uefi',
      'b.cfg',
    );
    expect(dflt(m.entries).map((e) => e.title)).toEqual([
      'Start Fedora-Workstation-Live 41 in basic graphics mode',
    ]);
  });
});

const SYSRESC_EFI_STUB = `search --no-floppy --set=root --file /sysresccd/VERSION
set prefix=($root)/boot/grub
configfile ($root)/boot/grub/grubsrcd.cfg
`;
const SYSRESC = `set default=0
set timeout=30
set timeout_style=menu

if [ "\${grub_platform}" == "efi" ]; then
  insmod efi_gop
  insmod efi_uga
  set bootarch=efi
else
  insmod vbe
  set bootarch=bios
fi
set archiso_param="archisobasedir=sysresccd archisolabel=RESCUE1100"

menuentry "Boot SystemRescue using default options" {
        set gfxpayload=keep
        echo 'Loading kernel ...'
        linux /sysresccd/boot/x86_64/vmlinuz \${archiso_param} iomem=relaxed
        echo 'Loading initramfs ...'
        initrd /sysresccd/boot/intel_ucode.img /sysresccd/boot/amd_ucode.img /sysresccd/boot/x86_64/sysresccd.img
}

menuentry "Boot SystemRescue and copy system to RAM (copytoram)" {
        linux /sysresccd/boot/x86_64/vmlinuz $archiso_param iomem=relaxed copytoram
        initrd /sysresccd/boot/intel_ucode.img /sysresccd/boot/amd_ucode.img /sysresccd/boot/x86_64/sysresccd.img
}

if [ "\${grub_platform}" == "efi" ]; then
    menuentry "Run Memtest86+ (RAM test)" {
        linux /sysresccd/boot/x86_64/memtest.efi
    }
else
    menuentry "Run Memtest86+ (RAM test)" {
        linux16 /sysresccd/boot/x86_64/memtest
    }
fi
`;

describe('SystemRescue style grub.cfg (EFI stub → configfile)', () => {
  const files = {
    'EFI/boot/grub.cfg': SYSRESC_EFI_STUB,
    'boot/grub/grubsrcd.cfg': SYSRESC,
    'sysresccd/VERSION': '11.00\n',
  };

  it('follows configfile, expands ${archiso_param}, three initrds, platform-specific memtest', async () => {
    const m = await menu(files, 'uefi', 'EFI/boot/grub.cfg');
    expect(titles(m.entries)).toEqual([
      'Boot SystemRescue using default options',
      'Boot SystemRescue and copy system to RAM (copytoram)',
      'Run Memtest86+ (RAM test)',
    ]);
    expect(m.entries[0]).toMatchObject({
      kernel: 'sysresccd/boot/x86_64/vmlinuz',
      initrds: [
        'sysresccd/boot/intel_ucode.img',
        'sysresccd/boot/amd_ucode.img',
        'sysresccd/boot/x86_64/sysresccd.img',
      ],
      args: 'archisobasedir=sysresccd archisolabel=RESCUE1100 iomem=relaxed',
      isDefault: true,
      configPath: 'boot/grub/grubsrcd.cfg',
    });
    expect(m.entries[1]?.args).toBe(
      'archisobasedir=sysresccd archisolabel=RESCUE1100 iomem=relaxed copytoram',
    );
    expect(m.entries[2]?.kernel).toBe('sysresccd/boot/x86_64/memtest.efi');
    expect(m.timeoutSeconds).toBe(30);
  });

  it('on BIOS the memtest entry is the linux16 one', async () => {
    const m = await menu(files, 'bios', 'EFI/boot/grub.cfg');
    expect(m.entries[2]?.kernel).toBe('sysresccd/boot/x86_64/memtest');
  });

  it('a search --file for a file the image lacks fails (the if takes its else)', async () => {
    const m = await menu({
      'boot/grub/grub.cfg': `if search --file --set=x /nope; then set k=/a; else set k=/b; fi
menuentry t { linux $k }`,
    });
    expect(m.entries[0]?.kernel).toBe('b');
  });
});

const DEBIAN_LIVE = `source /boot/grub/config.cfg

# Live boot
menuentry "Live system (amd64)" --hotkey=l {
	linux	/live/vmlinuz-6.1.0-28-amd64 boot=live components quiet splash findiso=\${iso_path}
	initrd	/live/initrd.img-6.1.0-28-amd64
}
menuentry "Live system (amd64 fail-safe mode)" {
	linux	/live/vmlinuz-6.1.0-28-amd64 boot=live components memtest noapic noapm nodma nomce nosmp nosplash vga=788
	initrd	/live/initrd.img-6.1.0-28-amd64
}

submenu 'Utilities...' --hotkey=u {
	source /boot/grub/theme.cfg
	# Memtest (if any)
	if [ "\${grub_platform}" = "pc" ]; then
		menuentry "Memory Diagnostic Tool (memtest86+x64.bin)" --hotkey=m {
			linux16 /live/memtest86+x64.bin
		}
	else
		menuentry "Memory Diagnostic Tool (memtest86+x64.efi)" --hotkey=m {
			linux /live/memtest86+x64.efi
		}
	fi
}
`;

describe('Debian live style grub.cfg (source, submenu with its own source)', () => {
  it('reads the sourced files and both levels; ${iso_path} unset expands empty', async () => {
    const m = await menu({
      'boot/grub/grub.cfg': DEBIAN_LIVE,
      'boot/grub/config.cfg': 'set default=0\nset timeout=5\nloadfont $prefix/dejavu-bold-16.pf2\n',
      'boot/grub/theme.cfg': 'set color_normal=light-gray/black\n',
    });
    expect(titles(m.entries)).toEqual([
      'Live system (amd64)',
      'Live system (amd64 fail-safe mode)',
      'Memory Diagnostic Tool (memtest86+x64.efi)',
    ]);
    expect(m.entries[0]?.args).toBe('boot=live components quiet splash findiso=');
    expect(m.entries[2]?.group).toEqual(['Utilities...']);
    expect(m.log.read).toEqual(['boot/grub/grub.cfg', 'boot/grub/config.cfg', 'boot/grub/theme.cfg']);
    expect(m.timeoutSeconds).toBe(5);
  });
});

const DEBIAN_INSTALLER = `if [ x$feature_default_font_path = xy ] ; then
   font=unicode
else
   font=$prefix/font.pf2
fi

if loadfont $font ; then
  set gfxmode=800x600
  insmod efi_gop
  insmod gfxterm
  terminal_output gfxterm
fi
insmod play
play 960 440 1 0 4 440 1
if [ \${iso_path} ] ; then
set loopback="findiso=\${iso_path}"
export loopback
fi

menuentry --hotkey=g 'Graphical install' {
    set background_color=black
    linux    /install.amd/vmlinuz vga=788 \${loopback} --- quiet
    initrd   /install.amd/gtk/initrd.gz
}
menuentry --hotkey=i 'Install' {
    set background_color=black
    linux    /install.amd/vmlinuz vga=788 \${loopback} --- quiet
    initrd   /install.amd/initrd.gz
}
submenu --hotkey=a 'Advanced options ...' {
    set menu_color_normal=cyan/blue
    menuentry '... Graphical expert install' {
        linux    /install.amd/vmlinuz priority=low vga=788 \${loopback} ---
        initrd   /install.amd/gtk/initrd.gz
    }
}
`;

const CLONEZILLA = `set default="0"
set timeout="30"
if [ "\${grub_platform}" = "efi" -a "\${grub_cpu}" = "x86_64" ]; then
  set linux_cmd=linuxefi
  set initrd_cmd=initrdefi
else
  set linux_cmd=linux
  set initrd_cmd=initrd
fi
export linux_cmd initrd_cmd

menuentry "Clonezilla live (VGA 800x600)" --id live-default {
  search --no-floppy --set=root -f /live/vmlinuz
  $linux_cmd /live/vmlinuz boot=live union=overlay username=user config components quiet noswap edd=on nomodeset locales= keyboard-layouts= ocs_live_run="ocs-live-general" vga=788 ip= net.ifnames=0 nosplash i915.blacklist=yes radeonhd.blacklist=yes nouveau.blacklist=yes vmwgfx.enable_fbdev=1
  $initrd_cmd /live/initrd.img
}
`;

describe('Debian installer and Clonezilla style grub.cfg', () => {
  it('options before the title (--hotkey=g), an empty [ ] test, variables set only when booted from an ISO file', async () => {
    const m = await menu({ 'boot/grub/grub.cfg': DEBIAN_INSTALLER });
    expect(m.entries.map((e) => [e.title, e.group, e.kernel, e.initrds, e.args, e.isDefault])).toEqual([
      [
        'Graphical install',
        [],
        'install.amd/vmlinuz',
        ['install.amd/gtk/initrd.gz'],
        'vga=788 --- quiet',
        true,
      ],
      ['Install', [], 'install.amd/vmlinuz', ['install.amd/initrd.gz'], 'vga=788 --- quiet', false],
      [
        '... Graphical expert install',
        ['Advanced options ...'],
        'install.amd/vmlinuz',
        ['install.amd/gtk/initrd.gz'],
        'priority=low vga=788 ---',
        false,
      ],
    ]);
    expect(m.log.issues).toEqual([]);
  });

  it('the loader command itself in a variable ($linux_cmd, $initrd_cmd) and search -f', async () => {
    for (const fw of ['bios', 'uefi'] as const) {
      const m = await menu({ 'boot/grub/grub.cfg': CLONEZILLA, 'live/vmlinuz': 'k' }, fw);
      expect(m.entries).toHaveLength(1);
      expect(m.entries[0]).toMatchObject({
        kernel: 'live/vmlinuz',
        initrds: ['live/initrd.img'],
        loaderId: 'live-default',
      });
      expect(m.entries[0]?.args).toMatch(
        /^boot=live union=overlay .* ocs_live_run=ocs-live-general vga=788 ip= /,
      );
    }
  });
});

describe('GRUB script language', () => {
  it('quoting: single, double with escapes, backslashes, braces inside strings and titles', async () => {
    const m = await menu({
      'boot/grub/grub.cfg': `set word="a { b } c"
menuentry 'it'\\''s "quoted" {x}' {
  linux /k one\\ two "\${word}" 'lit $word' "esc \\$word \\"q\\""
}
menuentry "dbl 'single' inside" --class x { linux /k2 ; initrd /i1 /i2 }
menuentry $"Translated" { linux /k3 }
set icon=os
menuentry glued --class $icon{ linux /k4 }
`,
    });
    expect(titles(m.entries)).toEqual([`it's "quoted" {x}`, "dbl 'single' inside", 'Translated', 'glued']);
    expect(m.entries[0]?.args).toBe('one two a { b } c lit $word esc $word "q"');
    expect(m.entries[1]?.initrds).toEqual(['i1', 'i2']);
  });

  it('paths: (${root})/x, ($root)/x, (cd0)/x, /x and x are the same ISO path', async () => {
    const m = await menu({
      'boot/grub/grub.cfg': `menuentry a { linux (\${root})/casper/vmlinuz; initrd ($root)/casper/initrd (cd0)//x/./y }
menuentry b { linux casper/vmlinuz }`,
    });
    expect(m.entries[0]).toMatchObject({ kernel: 'casper/vmlinuz', initrds: ['casper/initrd', 'x/y'] });
    expect(m.entries[1]?.kernel).toBe('casper/vmlinuz');
  });

  it('[ x"$grub_platform" = xefi ], elif, !, -a/-o, -n/-z, numbers and -e against the image', async () => {
    const cfg = `if [ x"$grub_platform" = xefi ]; then set p=efi
elif [ x$grub_platform = xpc ]; then set p=pc
else set p=other; fi
if [ -e /casper/vmlinuz ]; then set e=yes; else set e=no; fi
if [ -f ($root)/missing ]; then set f=yes; else set f=no; fi
if ! [ -z "$p" -o -n "" ] ; then set n=ok; else set n=bad; fi
if [ 10 -gt 9 -a "$p" != "" ]; then set g=yes; fi
if test vmlinuz-10 -pgt vmlinuz-9; then set v=newer; fi
if test vmlinuz-6.10 -pgt vmlinuz-6.9; then set v=wrong; fi
menuentry t { linux /k $p $e $f $n $g $v }`;
    const files = { 'boot/grub/grub.cfg': cfg, 'casper/vmlinuz': 'x' };
    expect((await menu(files, 'uefi')).entries[0]?.args).toBe('efi yes no ok yes newer');
    expect((await menu(files, 'bios')).entries[0]?.args).toBe('pc yes no ok yes newer');
  });

  it('regexp matches and sets variables from groups (GRUB manual "regexp")', async () => {
    const m = await menu({
      'boot/grub/grub.cfg': `set f=/casper/vmlinuz-6.8.0-31-generic
if regexp --set 1:ver --set=0:whole --set dflt 'vmlinuz-([0-9.]+)-' "$f"; then set ok=yes; fi
if regexp 'nope' "$f"; then set bad=yes; fi
if regexp '(' x; then set bad=yes; fi
menuentry t { linux /k v=$ver w=$whole d=$dflt ok=$ok bad=$bad }`,
    });
    expect(m.entries[0]?.args).toBe('v=6.8.0 w=vmlinuz-6.8.0- d=6.8.0 ok=yes bad=');
  });

  it('entry bodies see the variables as the whole file left them; an entry’s own set stays in it', async () => {
    const m = await menu({
      'boot/grub/grub.cfg': `set opts=early
menuentry a { set opts="$opts mine"; linux /k $opts }
menuentry b { linux /k $opts }
set opts=late`,
    });
    expect(m.entries.map((e) => e.args)).toEqual(['late mine', 'late']);
  });

  it('functions with positional arguments, for loops, name=value assignments', async () => {
    const m = await menu({
      'boot/grub/grub.cfg': `kopt=quiet
function add { menuentry "$1" "$2" { linux /boot/$2 $kopt } }
for k in vmlinuz-a vmlinuz-b; do add "Linux $k" $k; done`,
    });
    expect(titles(m.entries)).toEqual(['Linux vmlinuz-a', 'Linux vmlinuz-b']);
    expect(m.entries.map((e) => e.kernel)).toEqual(['boot/vmlinuz-a', 'boot/vmlinuz-b']);
    expect(m.entries[0]?.args).toBe('quiet');
  });

  it('configfile opens a new context: only exported variables cross; its menu replaces the current one', async () => {
    const m = await menu({
      'boot/grub/grub.cfg': `set private=p
set shared=s
export shared
menuentry dropped { linux /old }
configfile /boot/grub/real.cfg
menuentry after { linux /never }`,
      'boot/grub/real.cfg':
        'set default=1\nmenuentry one { linux /k "[$private]" $shared }\nmenuentry two { linux /k2 }',
    });
    expect(titles(m.entries)).toEqual(['one', 'two']);
    expect(m.entries[0]?.args).toBe('[] s');
    expect(dflt(m.entries).map((e) => e.title)).toEqual(['two']);
  });

  it('source relative to $prefix (the config’s folder) and absolute', async () => {
    const m = await menu({
      'boot/grub/grub.cfg': 'source rel.cfg\nsource $prefix/abs.cfg\nsource /boot/grub/abs2.cfg',
      'boot/grub/rel.cfg': 'menuentry r { linux /r }',
      'boot/grub/abs.cfg': 'menuentry a { linux /a }',
      'boot/grub/abs2.cfg': 'menuentry b { linux /b }',
    });
    expect(titles(m.entries)).toEqual(['r', 'a', 'b']);
  });

  it('an entry body that sources its linux/initrd lines from another file', async () => {
    const m = await menu({
      'boot/grub/grub.cfg':
        'menuentry "Debian Live" { set kcmdline="boot=live config"; source $prefix/rules/live.cfg }',
      'boot/grub/rules/live.cfg': 'linux /live/vmlinuz $kcmdline\ninitrd /live/initrd.img\n',
    });
    expect(m.entries[0]).toMatchObject({
      kernel: 'live/vmlinuz',
      initrds: ['live/initrd.img'],
      args: 'boot=live config',
    });
  });

  it('default by --id, by title, and by a number out of range (entry 0)', async () => {
    const base = `menuentry one --id first { linux /1 }
menuentry "two" --id=second { linux /2 }
submenu "more" --id sub { menuentry three { linux /3 } }`;
    const pick = async (d: string): Promise<string[]> =>
      dflt((await menu({ 'boot/grub/grub.cfg': `set default=${d}\n${base}` })).entries).map((e) => e.title);
    await expect(pick('second')).resolves.toEqual(['two']);
    await expect(pick('"two"')).resolves.toEqual(['two']);
    await expect(pick('"more>three"')).resolves.toEqual(['three']);
    await expect(pick('sub')).resolves.toEqual(['three']); // a submenu as default: its first entry
    await expect(pick('9')).resolves.toEqual(['one']);
    await expect(pick('${saved_entry}')).resolves.toEqual(['one']);
    const ids = (await menu({ 'boot/grub/grub.cfg': base })).entries.map((e) => e.loaderId);
    expect(ids).toEqual(['first', 'second', undefined]);
  });

  it('source cycles and nesting too deep are reported, never followed forever', async () => {
    const m = await menu({
      'boot/grub/grub.cfg': 'source /a.cfg\nmenuentry ok { linux /k }',
      'a.cfg': 'source /b.cfg',
      'b.cfg': 'source /a.cfg',
    });
    expect(titles(m.entries)).toEqual(['ok']);
    expect(m.log.issues.some((i) => i.code === 'loop')).toBe(true);
    const chain: Record<string, string> = {
      'boot/grub/grub.cfg': 'source /c0.cfg\nmenuentry ok { linux /k }',
    };
    for (let i = 0; i < 20; i++) chain[`c${i}.cfg`] = `source /c${i + 1}.cfg`;
    const deep = await menu(chain);
    expect(titles(deep.entries)).toEqual(['ok']);
    expect(deep.log.issues.some((i) => i.code === 'too-deep')).toBe(true);
    expect(deep.log.read.length).toBeLessThanOrEqual(9);
  });

  it('a missing sourced file is noted; unsupported loops are skipped; garbage lines do not stop the menu', async () => {
    const m = await menu({
      'boot/grub/grub.cfg': `source /nope.cfg
while true; do echo x; done
frobnicate --all
fi
}
menuentry "unterminated {
menuentry ok { linux /k "half }
`,
    });
    const codes = new Set(m.log.issues.map((i) => i.code));
    expect(codes.has('missing-file')).toBe(true);
    expect(codes.has('unsupported')).toBe(true);
    expect(codes.has('malformed')).toBe(true);
    expect(m.entries.length).toBeLessThanOrEqual(2);
  });

  it('at most MAX_ENTRIES (500) entries are kept, and the rest reported', async () => {
    const cfg = Array.from({ length: 600 }, (_, i) => `menuentry e${i} { linux /k${i} }`).join('\n');
    const m = await menu({ 'boot/grub/grub.cfg': cfg });
    expect(m.entries).toHaveLength(500);
    expect(m.log.issues.some((i) => i.code === 'too-many')).toBe(true);
  });

  it('an unreadable or too large grub.cfg is no menu', async () => {
    const log = new ConfigLog();
    expect(await readGrubMenu(filesReader({}), 'boot/grub/grub.cfg', 'uefi', log)).toBeUndefined();
    const big = 'menuentry a { linux /k }\n'.padEnd(1024 * 1024 + 10, '#');
    expect(await readGrubMenu(filesReader({ 'g.cfg': big }), 'g.cfg', 'uefi', log)).toBeUndefined();
    expect(log.issues.map((i) => i.code)).toContain('too-large');
  });
});
