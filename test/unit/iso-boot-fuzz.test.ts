/**
 * Boot-configuration readers under garbage: seeded mutations (random bytes, NULs, truncation — test/helpers/
 * fuzz.ts — and splices of the languages' own tokens: quotes, braces, if/fi, includes of each other) of GRUB,
 * isolinux and systemd-boot configurations. readBootMenus must never throw, stay within its bounds, give
 * normalised paths and exactly one default, each case well within a second.
 */
import { describe, expect, it } from 'vitest';
import { readBootMenus } from '../../app/core/iso-boot/boot-menus.js';
import { MAX_ENTRIES } from '../../app/core/iso-boot/types.js';
import { filesReader } from '../helpers/config-files.js';
import { mutate, rng } from '../helpers/fuzz.js';

const GRUB = `set default="1"
set timeout=5
search --no-floppy --set=root -l 'LIVE'
if [ "\${grub_platform}" == "efi" ]; then set k=/live/vmlinuz.efi; elif [ x$grub_platform = xpc ]; then set k=/live/vmlinuz; else set k=; fi
function f { menuentry "fn $1" { linux $k "$2" } }
f a b
menuentry 'Live' --class x --id live { set gfxpayload=keep; linux ($root)$k boot=live 'q s' "\${k}" ; initrd /live/initrd.img /live/x }
submenu "More >" { menuentry "In" { linux16 /m; } source /boot/grub/extra.cfg }
for i in 1 2 3; do menuentry "n$i" { linux /k$i } ; done
source /boot/grub/extra.cfg
configfile /boot/grub/loopback.cfg
`;
const EXTRA = 'source /boot/grub/grub.cfg\nmenuentry "x" { chainloader +1 }\nexport k\n';
const ISOLINUX = `UI vesamenu.c32
DEFAULT live
TIMEOUT 50
INCLUDE live.cfg
MENU BEGIN tools
  MENU LABEL ^Tools
  MENU INCLUDE isolinux.cfg Again
  LABEL back
    MENU EXIT
MENU END
LABEL cfg
  CONFIG /boot/syslinux/syslinux.cfg
`;
const LIVE = `LABEL live
  MENU LABEL ^Live
  MENU DEFAULT
  KERNEL /live/vmlinuz
  INITRD /live/a.img,b.img
  APPEND initrd=/live/c.img boot=live
TEXT HELP
help
ENDTEXT
LABEL hdt
  COM32 hdt.c32
`;
const SYSLINUX =
  'DEFAULT select\nLABEL select\nCOM32 whichsys.c32\nAPPEND -iso- sys\nLABEL sys\nCONFIG /isolinux/isolinux.cfg\n';
const ENTRY =
  'title Arch\nsort-key 01\nversion 1.2~rc\nlinux /arch/vmlinuz\ninitrd /a\ninitrd /b\noptions x=1\noptions y=2\n';
const LOADER = 'default *arch*\ntimeout 3\n';

const SEEDS: Record<string, string> = {
  'boot/grub/grub.cfg': GRUB,
  'boot/grub/extra.cfg': EXTRA,
  'boot/grub/loopback.cfg': GRUB,
  'EFI/BOOT/grub.cfg': 'configfile /boot/grub/grub.cfg\n',
  'isolinux/isolinux.cfg': ISOLINUX,
  'isolinux/live.cfg': LIVE,
  'boot/syslinux/syslinux.cfg': SYSLINUX,
  'loader/loader.conf': LOADER,
  'loader/entries/01-arch.conf': ENTRY,
  'loader/entries/02-arch.conf': ENTRY,
};

const TOKENS = [
  '{',
  '}',
  '"',
  "'",
  '\\',
  '$',
  '${',
  '${x',
  ';',
  '\n',
  ' ',
  'if',
  'then',
  'elif',
  'else',
  'fi',
  'for',
  'do',
  'done',
  'while',
  'function',
  'menuentry "t" {',
  'submenu s {',
  'source /boot/grub/grub.cfg',
  'source /boot/grub/extra.cfg',
  'configfile /boot/grub/grub.cfg',
  '[ -e /x ]',
  'linux',
  'initrd',
  'set default=',
  '>',
  'INCLUDE live.cfg',
  'include isolinux.cfg',
  'MENU BEGIN',
  'MENU END',
  'LABEL l',
  'KERNEL',
  'APPEND',
  'initrd=',
  ',',
  'CONFIG /isolinux/isolinux.cfg',
  'MENU DEFAULT',
  'TEXT HELP',
  'ENDTEXT',
  'title',
  'options',
  'default',
  '*',
  '[',
  '(',
  ')',
  '/..',
  '\u0000',
  '\uFFFD',
];

function splice(r: () => number, text: string): string {
  let t = text;
  const n = 1 + Math.floor(r() * 8);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * (t.length + 1));
    const what = r();
    if (what < 0.7) t = t.slice(0, at) + (TOKENS[Math.floor(r() * TOKENS.length)] as string) + t.slice(at);
    else t = t.slice(0, at) + t.slice(at + Math.floor(r() * 40)); // delete a run
  }
  return t;
}

function mutated(r: () => number): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [path, text] of Object.entries(SEEDS)) {
    const roll = r();
    if (roll < 0.15) continue; // the file is absent
    if (roll < 0.5) files[path] = text;
    else if (roll < 0.75) files[path] = splice(r, text);
    else files[path] = mutate(r, Buffer.from(text, 'utf8'), 10).toString('latin1');
  }
  return files;
}

const NORMAL_PATH = (p: string): boolean =>
  !p.startsWith('/') && !p.split('/').some((c) => c === '' || c === '.' || c === '..');

describe('boot-configuration fuzz', () => {
  it('1000 seeded mutations: no exception, bounded, normalised paths, one default', async () => {
    const r = rng(0x18b007);
    let entries = 0;
    // Plain checks collected and asserted once: an expect() per entry costs more than the readers.
    const bad: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const files = mutated(r);
      for (const fw of ['bios', 'uefi'] as const) {
        const t0 = performance.now();
        const m = await readBootMenus(filesReader(files), fw);
        const ms = performance.now() - t0;
        const where = `case ${i} ${fw}`;
        if (ms > 1000) bad.push(`${where}: ${Math.round(ms)} ms`);
        if (m.entries.length > MAX_ENTRIES) bad.push(`${where}: ${m.entries.length} entries`);
        const defaults = m.entries.filter((e) => e.isDefault).length;
        if (m.entries.length && defaults !== 1) bad.push(`${where}: ${defaults} defaults`);
        for (const e of m.entries) {
          if (e.kernel === '' || !NORMAL_PATH(e.kernel)) bad.push(`${where}: kernel "${e.kernel}"`);
          for (const p of e.initrds) if (!NORMAL_PATH(p)) bad.push(`${where}: initrd "${p}"`);
          if (typeof e.args !== 'string' || typeof e.title !== 'string') bad.push(`${where}: args/title`);
        }
        if (m.issues.length > 1000) bad.push(`${where}: ${m.issues.length} issues`);
        entries += m.entries.length;
      }
    }
    expect(bad).toEqual([]);
    // The mutations leave most configurations readable: the fuzz reaches the evaluators, not only the parsers.
    expect(entries).toBeGreaterThan(1000);
  });

  it('pathological shapes: deep nesting, endless quotes, 1 MiB of one character, include storms', async () => {
    const big = 1024 * 1024 - 16;
    const shapes = [
      '{'.repeat(200_000),
      'if true; then '.repeat(30_000),
      'menuentry a {'.repeat(20_000),
      '"'.repeat(big),
      "'".repeat(big),
      '$'.repeat(big),
      '${'.repeat(big / 2),
      '\\'.repeat(big),
      'source /boot/grub/grub.cfg\n'.repeat(10_000),
      'include isolinux.cfg\n'.repeat(10_000),
      'menu begin\n'.repeat(20_000),
      'label a\n'.repeat(30_000),
    ];
    for (const s of shapes) {
      const files = {
        'boot/grub/grub.cfg': s,
        'isolinux/isolinux.cfg': s,
        'loader/entries/x.conf': s,
        'loader/loader.conf': s,
      };
      for (const fw of ['bios', 'uefi'] as const) {
        const t0 = performance.now();
        const m = await readBootMenus(filesReader(files), fw);
        expect(performance.now() - t0, `${s.slice(0, 20)} ${fw}`).toBeLessThan(10_000);
        expect(m.entries.length).toBeLessThanOrEqual(MAX_ENTRIES);
      }
    }
  });
});
