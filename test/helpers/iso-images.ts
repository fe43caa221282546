/**
 * ISO images for the reader tests, built per run by real mastering tools (xorriso, genisoimage,
 * grub-mkrescue, mtools; scripts/setup-system.sh installs them) in a temp dir; nothing committed.
 * Every builder returns the image path and the sha256 of each file it put in, keyed by path.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { rng } from './fuzz.js';

export interface BuiltIso {
  path: string;
  /** ISO path ("a/b/c") → sha256 hex of the bytes put in. */
  files: Map<string, string>;
}

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export function tempDir(prefix = 'pxe-iso-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Seeded pseudo-random bytes: reproducible file contents. */
export function bytes(seed: number, n: number): Buffer {
  const r = rng(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

export function writeTree(root: string, files: Record<string, Uint8Array | string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [p, content] of Object.entries(files)) {
    const full = join(root, p);
    mkdirSync(dirname(full), { recursive: true });
    const data = typeof content === 'string' ? Buffer.from(content) : content;
    writeFileSync(full, data);
    out.set(p, sha256(data));
  }
  return out;
}

function run(cmd: string, args: string[], cwd?: string): void {
  // The mastering tools read file names in the locale's charset: under a bare environment (CI runs
  // `env -i`) that is ASCII/Latin-1 and a UTF-8 name would be written as mojibake. Names here are UTF-8.
  execFileSync(cmd, args, {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_ALL: 'C.UTF-8' },
  });
}

/** A tree exercising names: >64-char (Rock Ridge only) names, mixed case, 12-deep directories, an empty file. */
export function namesTree(): Record<string, Uint8Array | string> {
  const deep = Array.from({ length: 12 }, (_, i) => `level${i}`).join('/');
  return {
    'README.md': 'hello\n',
    'Mixed Case Folder/Some File.TXT': bytes(1, 5000),
    [`long/${'a-very-long-file-name-'.repeat(5)}end.bin`]: bytes(2, 70_000),
    [`${deep}/deep.txt`]: 'deep\n',
    'empty.dat': '',
    'casper/vmlinuz': bytes(3, 200_000),
    'casper/initrd': bytes(4, 123_457),
    'boot/grub/grub.cfg': 'menuentry "x" { linux /casper/vmlinuz }\n',
  };
}

/** xorriso native mode: Rock Ridge (default) + Joliet; `links`: symlink path → target. */
export function rockRidgeJolietIso(
  dir: string,
  files = namesTree(),
  links: Record<string, string> = {},
): BuiltIso {
  const tree = join(dir, 'rrj-tree');
  const sums = writeTree(tree, files);
  for (const [p, target] of Object.entries(links)) {
    mkdirSync(dirname(join(tree, p)), { recursive: true });
    symlinkSync(target, join(tree, p));
  }
  const path = join(dir, 'rrj.iso');
  run('xorriso', ['-outdev', path, '-volid', 'RRJ_TEST', '-joliet', 'on', '-map', tree, '/']);
  return { path, files: sums };
}

/** Symlinks as Debian and Ubuntu images have them ("debian -> .", "dists/stable -> bookworm"), plus odd ones. */
export const namesLinks: Record<string, string> = {
  ubuntu: '.',
  'boot/stable': 'grub',
  'boot/kernel': '../casper/vmlinuz',
  abs: '/casper/initrd',
  loop1: 'loop2',
  loop2: 'loop1',
};

/** genisoimage (no Rock Ridge unless -R is in `opts`): `['-J']` for Joliet names, `[]` for plain names. */
export function mkisofsIso(
  dir: string,
  name: string,
  opts: string[],
  files: Record<string, Uint8Array | string>,
): BuiltIso {
  const tree = join(dir, `${name}-tree`);
  const sums = writeTree(tree, files);
  const path = join(dir, `${name}.iso`);
  run('genisoimage', ['-quiet', '-V', name.toUpperCase(), ...opts, '-o', path, tree]);
  return { path, files: sums };
}

/** genisoimage -R without -D: directories deeper than 8 are relocated to rr_moved (RRIP CL/RE/PL). */
export function relocatedIso(dir: string): BuiltIso {
  const deep = Array.from({ length: 10 }, (_, i) => `d${i}`).join('/');
  const tree = join(dir, 'reloc-tree');
  const sums = writeTree(tree, { [`${deep}/leaf.txt`]: 'leaf\n', 'top.txt': 'top\n' });
  const path = join(dir, 'reloc.iso');
  run('genisoimage', ['-quiet', '-R', '-V', 'RELOC', '-o', path, tree]);
  return { path, files: sums };
}

/**
 * A plain ISO 9660 image whose BIG.BIN is rewritten as a multi-extent file (ECMA-119 §6.5.1): three
 * directory records with the multi-extent flag on all but the last, the middle extent moved to the
 * image end and its original place zeroed, so only a reader that follows the records gets the bytes.
 * (xorriso splits only files ≥ 4 GiB, too big for CI; -file_size_limit refuses, it does not split.)
 */
export function multiExtentIso(dir: string): BuiltIso & { parts: number } {
  const big = bytes(5, 3 * 1024 * 1024 + 1234);
  const built = mkisofsIso(dir, 'multi', ['-iso-level', '3'], { 'BIG.BIN': big, 'SMALL.TXT': 'small\n' });
  const img = readFileSync(built.path);
  const pvd = img.subarray(16 * 2048, 17 * 2048);
  const rootLba = pvd.readUInt32LE(156 + 2);
  const root = img.subarray(rootLba * 2048, rootLba * 2048 + 2048);
  const records: Buffer[] = [];
  let bigRecord: Buffer | undefined;
  for (let p = 0; p < 2048 && root[p] !== 0; p += root[p] as number) {
    const rec = Buffer.from(root.subarray(p, p + (root[p] as number)));
    if (rec.subarray(33, 33 + (rec[32] as number)).toString('latin1') === 'BIG.BIN;1') bigRecord = rec;
    else records.push(rec);
  }
  if (!bigRecord) throw new Error('multiExtentIso: BIG.BIN record not found');
  const lba = bigRecord.readUInt32LE(2);
  const MiB = 1024 * 1024;
  const moved = Buffer.from(img.subarray(lba * 2048 + MiB, lba * 2048 + 2 * MiB));
  const newLba = img.length / 2048;
  img.fill(0, lba * 2048 + MiB, lba * 2048 + 2 * MiB);
  const part = (at: number, len: number, last: boolean): Buffer => {
    const r = Buffer.from(bigRecord);
    r.writeUInt32LE(at, 2);
    r.writeUInt32BE(at, 6);
    r.writeUInt32LE(len, 10);
    r.writeUInt32BE(len, 14);
    r[25] = last ? 0 : 0x80;
    return r;
  };
  const parts = [
    part(lba, MiB, false),
    part(newLba, MiB, false),
    part(lba + (2 * MiB) / 2048, big.length - 2 * MiB, true),
  ];
  // Records sort by name (ECMA-119 §9.3): "." and ".." first, BIG.BIN next, then SMALL.TXT.
  const dirData = Buffer.concat([records[0] as Buffer, records[1] as Buffer, ...parts, ...records.slice(2)]);
  if (dirData.length > 2048) throw new Error('multiExtentIso: directory does not fit one sector');
  root.fill(0);
  dirData.copy(root);
  const out = Buffer.concat([img, moved]);
  out.writeUInt32LE(out.length / 2048, 16 * 2048 + 80);
  out.writeUInt32BE(out.length / 2048, 16 * 2048 + 84);
  writeFileSync(built.path, out);
  return { ...built, parts: parts.length };
}

/** A FAT12 "efiboot.img" made with mtools holding EFI/BOOT/BOOTX64.EFI and a long-named file. */
export function efiBootImage(dir: string, bootx64: Uint8Array): string {
  const img = join(dir, 'efiboot.img');
  const efi = join(dir, 'BOOTX64.EFI');
  writeFileSync(efi, bootx64);
  writeFileSync(join(dir, 'long.cfg'), 'a config with a long name\n');
  run('mformat', ['-C', '-f', '1440', '-v', 'EFIBOOT', '-i', img, '::']);
  run('mmd', ['-i', img, '::/EFI', '::/EFI/BOOT']);
  run('mcopy', ['-i', img, efi, '::/EFI/BOOT/BOOTX64.EFI']);
  run('mcopy', ['-i', img, join(dir, 'long.cfg'), '::/EFI/BOOT/grub-settings-long-name.cfg']);
  return img;
}

/** BIOS (isolinux, no emulation) + UEFI (FAT image) El Torito, the layout of most Linux live ISOs. */
export function biosUefiIso(dir: string): BuiltIso & { bootx64: string } {
  const tree = join(dir, 'bu-tree');
  const bootx64 = bytes(6, 40_000);
  const sums = writeTree(tree, {
    'live/vmlinuz': bytes(7, 50_000),
    'isolinux/isolinux.cfg': 'default live\n',
  });
  writeFileSync(join(tree, 'isolinux/isolinux.bin'), readFileSync('/usr/lib/ISOLINUX/isolinux.bin'));
  mkdirSync(join(tree, 'boot/grub'), { recursive: true });
  const fat = efiBootImage(dir, bootx64);
  writeFileSync(join(tree, 'boot/grub/efiboot.img'), readFileSync(fat));
  const path = join(dir, 'bu.iso');
  run('xorriso', [
    ...['-as', 'mkisofs', '-quiet', '-R', '-J', '-V', 'BIOS_UEFI', '-o', path],
    ...[
      '-b',
      'isolinux/isolinux.bin',
      '-c',
      'isolinux/boot.cat',
      '-no-emul-boot',
      '-boot-load-size',
      '4',
      '-boot-info-table',
    ],
    ...['-eltorito-alt-boot', '-e', 'boot/grub/efiboot.img', '-no-emul-boot'],
    tree,
  ]);
  return { path, files: sums, bootx64: sha256(bootx64) };
}

/** grub-mkrescue: GRUB's own BIOS (i386-pc eltorito.img) + UEFI (efi.img) El Torito. */
export function grubRescueIso(dir: string): BuiltIso {
  const tree = join(dir, 'grub-tree');
  const sums = writeTree(tree, {
    'boot/grub/grub.cfg': 'menuentry "t" { true }\n',
    'payload.bin': bytes(8, 10_000),
  });
  const path = join(dir, 'grub.iso');
  run('grub-mkrescue', ['-o', path, tree]);
  return { path, files: sums };
}

/** A Windows-shaped tree (boot.wim, bootmgr, efisys.bin) plus the ISO 9660 side's README. */
export function windowsTree(): Record<string, Uint8Array | string> {
  return {
    'README.TXT':
      'This disc contains a "UDF" file system and requires an operating system that supports it.\r\n',
    bootmgr: bytes(9, 400_000),
    'bootmgr.efi': bytes(10, 1_300_000),
    'sources/boot.wim': bytes(11, 3_000_000),
    'sources/install.swm': bytes(12, 70_001),
    'efi/microsoft/boot/efisys.bin': bytes(13, 1_474_560),
    'boot/bcd': bytes(14, 16_384),
    [`sources/${'Long Name Ünïcode '.repeat(3)}.txt`]: 'unicode name\n',
  };
}

/**
 * genisoimage -udf (UDF 1.02 bridge) with every name but README.TXT hidden from the ISO 9660 tree
 * (-hide keeps them in UDF): the shape of a Windows installer ISO. `hide: false` keeps all in both.
 */
export function udfIso(dir: string, name: string, hide: boolean, files = windowsTree()): BuiltIso {
  const tree = join(dir, `${name}-tree`);
  const sums = writeTree(tree, files);
  const hidden = hide ? Object.keys(files).flatMap((p) => (p === 'README.TXT' ? [] : p.split('/'))) : [];
  const path = join(dir, `${name}.iso`);
  const args = ['-quiet', '-udf', '-iso-level', '3', '-V', name.toUpperCase(), '-o', path];
  for (const h of new Set(hidden)) args.push('-hide', h);
  if (!hide) args.push('-R', '-J', '-joliet-long');
  run('genisoimage', [...args, tree]);
  return { path, files: sums };
}

export function haveTools(...tools: string[]): boolean {
  return tools.every((t) => ['/usr/bin', '/usr/sbin', '/bin'].some((d) => existsSync(join(d, t))));
}
