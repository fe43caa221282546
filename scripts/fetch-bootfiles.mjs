#!/usr/bin/env node
// Fetch the boot files into the boot-file cache (PXE_DESK_BOOTFILES or .cache/bootfiles):
//   - the iPXE network boot programs (undionly.kpxe, ipxe.efi, snponly.efi, ipxe.pxe) from Debian's `ipxe`;
//   - the Secure Boot chain (docs/secure-boot.md): shimx64.efi from `shim-signed` (signed by Microsoft's UEFI
//     CA) and grubx64.efi, the network GRUB `grubnetx64.efi.signed` from `grub-efi-amd64-signed` (signed by
//     Debian), under the name shim loads next by default (shim.h DEFAULT_LOADER "\grubx64.efi");
//   - memdisk from `syslinux-common`, for small BIOS images iPXE's sanboot cannot start (docs/iso-boot.md).
// Every package version is pinned and every extracted file's sha256 is checked against PACKAGES below, so the
// bytes served (and asserted by test/unit/authenticode*.test.ts) are exactly the recorded ones; apt itself has
// already checked the .deb against Debian's signed Release file. They are never committed: `apt-get download`
// + `dpkg -x` needs no root and installs nothing.
// Idempotent: a package whose files are all in the cache is not fetched again (`--force` refetches all).
// `--from DIR` (or PXE_DESK_BOOTFILES_SRC=DIR) copies one's own builds (by cache name, or by the Debian name
// such as shimx64.efi.signed) instead; whatever DIR lacks is fetched from Debian as usual. One's own files are
// not hash-checked. When apt-get is not available, a missing signed pair after `--from` is a warning (Secure
// Boot clients cannot be served), a missing iPXE file an error.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// To move a pin: `apt-cache policy <name>` for the version, then `npm run bootfiles -- --force` prints the
// sha256 it found in the mismatch error; update both here and the expected signers in docs/secure-boot.md.
const PACKAGES = [
  {
    name: 'ipxe',
    arch: 'all',
    version: '1.0.0+git-20190125.36a4c85-5.1',
    secureBoot: false,
    files: [
      {
        name: 'undionly.kpxe',
        path: 'usr/lib/ipxe/undionly.kpxe',
        sha256: 'f09cfbe9bbd39c3f5eb9cdf7386b520a4f5858bbc4438960c5b870c7a8930a7f',
      },
      {
        // usr/lib/ipxe/ipxe.efi is an absolute link to /boot/ipxe.efi: take the file itself from the extracted
        // tree, never through the link (it would resolve against this machine's own /boot).
        name: 'ipxe.efi',
        path: 'boot/ipxe.efi',
        sha256: '67c7f1f8e062968209ca055283ca782f21faf6a18f55dd19848601bbaf8ed7aa',
      },
      {
        name: 'snponly.efi',
        path: 'usr/lib/ipxe/snponly.efi',
        sha256: '18fc84b69172b9f7d1e6b5274c81121dde429fdacfdc984747f687cfb4f8090b',
      },
      {
        name: 'ipxe.pxe',
        path: 'usr/lib/ipxe/ipxe.pxe',
        sha256: '2e318bc5882a1ffb191dabe6775930ca22605e86cb4fa5c80d8db10a223d9958',
        optional: true,
      },
    ],
  },
  {
    name: 'shim-signed',
    arch: 'amd64',
    version: '1.51~1+deb12u1+16.1-2~deb12u1',
    secureBoot: true,
    files: [
      {
        name: 'shimx64.efi',
        path: 'usr/lib/shim/shimx64.efi.signed',
        sha256: '0fc347af103ec1dfac6e3f184c0a5241a2ce756a0932b359c404d39c45423806',
      },
    ],
  },
  {
    name: 'grub-efi-amd64-signed',
    arch: 'amd64',
    version: '1+2.06+13+deb12u2',
    secureBoot: true,
    files: [
      {
        name: 'grubx64.efi',
        path: 'usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed',
        sha256: 'a376f239f40fc54aa63e343f3d2ab254c4a1ebcaec1a3fe5de0497aa640362d9',
      },
    ],
  },
  {
    // memdisk (syslinux): BIOS clients boot small ISOs and floppy images that iPXE's sanboot cannot start
    // (El Torito floppy emulation, e.g. memtest86+'s ISO) from RAM; docs/iso-boot.md.
    name: 'syslinux-common',
    arch: 'all',
    version: '3:6.04~git20190206.bf6db5b4+dfsg1-3',
    secureBoot: false,
    files: [
      {
        name: 'memdisk',
        path: 'usr/lib/syslinux/memdisk',
        sha256: '86b1d121e43cb3256d1e70b93dc073038b1401b9eb25eb21a6a11e4ab9620351',
      },
    ],
  },
];

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

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');
const wanted = (pkg) => pkg.files.filter((f) => !f.optional);
const complete = (pkg) => wanted(pkg).every((f) => existsSync(join(cache, f.name)));

/**
 * Copy through a temporary name and rename, so an interrupted copy never counts as "already present"; the
 * pid in the name keeps two runs at once (test files fetching in parallel) from sharing one.
 */
function install(src, name) {
  const tmp = join(cache, `.${name}.${process.pid}.part`);
  copyFileSync(src, tmp);
  renameSync(tmp, join(cache, name));
}

function lastLine(error) {
  return String(error.stderr ?? error.message)
    .trim()
    .split('\n')
    .pop();
}

mkdirSync(cache, { recursive: true });
if (!force && !from && PACKAGES.every(complete)) {
  console.log(`fetch-bootfiles: already present in ${cache}`);
  process.exit(0);
}

// One's own builds first: a file found in DIR (by cache name or Debian's name) replaces the package's.
const own = new Set();
if (from) {
  if (!existsSync(from) || !statSync(from).isDirectory()) fail(`--from ${from} is not a folder`);
  for (const pkg of PACKAGES) {
    for (const f of pkg.files) {
      const src = [f.name, basename(f.path)].map((n) => join(from, n)).find((p) => existsSync(p));
      if (src) {
        install(src, f.name);
        own.add(f.name);
        console.log(`fetch-bootfiles: ${f.name} from ${src} (own build, not hash-checked)`);
      }
    }
  }
}

const todo = PACKAGES.filter(
  (pkg) => (force && !wanted(pkg).every((f) => own.has(f.name))) || !complete(pkg),
);
let haveApt = true;
try {
  execFileSync('sh', ['-c', 'command -v apt-get && command -v dpkg'], { stdio: 'ignore' });
} catch {
  haveApt = false;
}
if (todo.length > 0 && !haveApt) {
  const missing = todo.flatMap((pkg) => wanted(pkg).map((f) => f.name));
  const hint =
    'apt-get/dpkg are not available on this machine. Point at your own builds with `npm run bootfiles -- --from DIR` (a folder holding ' +
    missing.join(', ') +
    ').';
  if (from && todo.every((pkg) => pkg.secureBoot)) {
    console.warn(
      `fetch-bootfiles: warning: ${missing.join(', ')} missing: Secure Boot clients cannot be served. ${hint}`,
    );
  } else {
    fail(hint);
  }
}

if (todo.length > 0 && haveApt) {
  const work = mkdtempSync(join(tmpdir(), 'pxe-desk-bootfiles-'));
  // fail() exits at once: remove the download folder on every way out.
  process.on('exit', () => rmSync(work, { recursive: true, force: true }));
  // apt-get download hands the download to the unprivileged _apt user, who must be able to write here.
  chmodSync(work, 0o755);
  for (const pkg of todo) {
    const spec = `${pkg.name}${pkg.arch === 'all' ? '' : `:${pkg.arch}`}=${pkg.version}`;
    try {
      execFileSync('apt-get', ['download', spec], { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (error) {
      fail(
        `\`apt-get download ${spec}\` failed (${lastLine(error)}). Run \`apt-get update\` first` +
          (pkg.arch === 'all'
            ? ''
            : ` (on a non-${pkg.arch} machine also \`dpkg --add-architecture ${pkg.arch}\`)`) +
          `; if Debian no longer carries ${pkg.version}, move the pin in scripts/fetch-bootfiles.mjs ` +
          `(\`apt-cache policy ${pkg.name}\`); or use \`--from DIR\` with your own files.`,
      );
    }
    const deb = readdirSync(work).find((f) => f.startsWith(`${pkg.name}_`) && f.endsWith('.deb'));
    if (!deb) fail(`apt-get download ${spec} produced no .deb`);
    const root = join(work, pkg.name);
    execFileSync('dpkg', ['-x', join(work, deb), root]);
    for (const f of pkg.files) {
      if (own.has(f.name)) continue; // one's own build stays
      const src = join(root, f.path);
      if (!existsSync(src) || !lstatSync(src).isFile()) {
        if (f.optional) continue;
        fail(`${deb} lacks ${f.path}`);
      }
      const got = sha256(src);
      if (got !== f.sha256)
        fail(
          `${f.path} from ${deb} has sha256 ${got}, pinned ${f.sha256}: refusing it (pin moved? see the script head)`,
        );
      install(src, f.name);
    }
  }
}

for (const pkg of PACKAGES) {
  for (const f of pkg.files.filter((x) => existsSync(join(cache, x.name)))) {
    console.log(`fetch-bootfiles: ${f.name} ${statSync(join(cache, f.name)).size} bytes -> ${cache}`);
  }
}
