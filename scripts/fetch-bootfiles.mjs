#!/usr/bin/env node
// Fetch the iPXE network boot programs (undionly.kpxe, ipxe.efi, snponly.efi, ipxe.pxe) from Debian's
// `ipxe` package into the boot-file cache. They are never committed: `apt-get download` + `dpkg -x`
// needs no root and installs nothing. Use your own builds instead with `--from DIR`
// (or PXE_DESK_BOOTFILES_SRC=DIR); the cache location is PXE_DESK_BOOTFILES or .cache/bootfiles.
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const FILES = ['undionly.kpxe', 'ipxe.efi', 'snponly.efi', 'ipxe.pxe'];
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cache = resolve(process.env.PXE_DESK_BOOTFILES ?? join(repo, '.cache', 'bootfiles'));
const args = process.argv.slice(2);
const fromIndex = args.indexOf('--from');
const from = fromIndex >= 0 ? args[fromIndex + 1] : process.env.PXE_DESK_BOOTFILES_SRC;
const force = args.includes('--force');

function fail(message) {
  console.error(`fetch-bootfiles: ${message}`);
  process.exit(1);
}

mkdirSync(cache, { recursive: true });
if (!force && !from && FILES.every((f) => existsSync(join(cache, f)))) {
  console.log(`fetch-bootfiles: already present in ${cache}`);
  process.exit(0);
}

let source = from;
let work;
if (!source) {
  try {
    execFileSync('sh', ['-c', 'command -v apt-get && command -v dpkg'], { stdio: 'ignore' });
  } catch {
    fail(
      'apt-get/dpkg are not available on this machine. Point at your own iPXE builds with `npm run bootfiles -- --from DIR` (a folder holding ' +
        FILES.join(', ') +
        ').',
    );
  }
  work = mkdtempSync(join(tmpdir(), 'pxe-desk-ipxe-'));
  try {
    execFileSync('apt-get', ['download', 'ipxe'], { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    rmSync(work, { recursive: true, force: true });
    fail(
      `\`apt-get download ipxe\` failed (${String(error.stderr ?? error.message)
        .trim()
        .split('\n')
        .pop()}). ` + 'Run `apt-get update` first, or use `--from DIR` with your own iPXE files.',
    );
  }
  const deb = readdirSync(work).find((f) => f.startsWith('ipxe_') && f.endsWith('.deb'));
  if (!deb) fail('apt-get download ipxe produced no .deb');
  execFileSync('dpkg', ['-x', join(work, deb), join(work, 'root')]);
  source = join(work, 'root', 'usr', 'lib', 'ipxe');
  // The package links usr/lib/ipxe/ipxe.efi -> /boot/ipxe.efi: resolve absolute links inside the
  // extracted tree, never against this machine's own /boot.
  for (const f of FILES) {
    const p = join(source, f);
    try {
      if (lstatSync(p).isSymbolicLink()) {
        const target = readlinkSync(p);
        const inside = target.startsWith('/') ? join(work, 'root', target) : join(source, target);
        rmSync(p);
        copyFileSync(inside, p);
      }
    } catch {
      /* absent: reported below */
    }
  }
}
const missing = FILES.filter((f) => !existsSync(join(source, f)));
const required = ['undionly.kpxe', 'ipxe.efi', 'snponly.efi'];
if (required.some((f) => missing.includes(f))) fail(`${source} lacks ${missing.join(', ')}`);
for (const f of FILES) {
  if (existsSync(join(source, f))) copyFileSync(join(source, f), join(cache, f));
}
if (work) rmSync(work, { recursive: true, force: true });
for (const f of FILES.filter((x) => existsSync(join(cache, x)))) {
  console.log(`fetch-bootfiles: ${f} ${statSync(join(cache, f)).size} bytes -> ${cache}`);
}
