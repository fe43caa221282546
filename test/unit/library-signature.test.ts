/**
 * What can boot under Secure Boot (issue 19): the library shows whether a kernel or EFI program carries an
 * Authenticode signature and who signed it (app/core/library-signature.ts), on real files — Debian's signed
 * kernel (the lab fixtures' vmlinuz from linux-image-amd64), Debian's iPXE (unsigned), the shim (Microsoft)
 * and the network GRUB (Debian) that `npm run bootfiles` fetches — read once per file version.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inspectPeFile } from '../../app/engines/pe/inspect-file.js';
import {
  isoSignedPaths,
  SignatureCache,
  signatureInfo,
  withSignatures,
} from '../../app/core/library-signature.js';
import type { IsoBootEntry, IsoInfo } from '../../app/shared/iso-boot-types.js';
import type { LibraryEntry } from '../../app/shared/library-types.js';
import { NetbootLibrary } from '../../app/core/netboot-library.js';
import { signatureWords } from '../../app/shared/secure-boot.js';
import { ensureFixtures } from '../fixtures/fixtures.js';
import { rockRidgeJolietIso } from '../helpers/iso-images.js';
import { haveTools, onCi } from '../helpers/tools.js';

const repo = resolve(import.meta.dirname, '..', '..');
const bootfiles = process.env.PXE_DESK_BOOTFILES ?? join(repo, '.cache', 'bootfiles');
const NEEDED = ['shimx64.efi', 'grubx64.efi', 'snponly.efi'];
const haveBootfiles = NEEDED.every((f) => existsSync(join(bootfiles, f)));
if (!haveBootfiles && onCi) throw new Error(`CI=true but ${NEEDED.join(', ')} are not all in ${bootfiles}`);
if (!haveBootfiles) console.warn('skipping the boot-file cases: run npm run bootfiles');

/** The Debian-signed kernel of the lab fixtures (built when missing). */
function kernel(): string {
  const cached = join(process.env.FIXTURES_WORK ?? join(repo, 'test', 'fixtures', 'work'), 'vmlinuz');
  return existsSync(cached) ? cached : ensureFixtures().vmlinuz;
}

const work = mkdtempSync(join(tmpdir(), 'pxe-sb-library-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const version = (p: string) => {
  const st = statSync(p);
  return { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
};

describe('signatures of real boot files', () => {
  it('the Debian kernel: signed by Debian Secure Boot CA', async () => {
    const info = signatureInfo(await inspectPeFile(kernel()));
    expect(info.signed).toBe(true);
    expect(info.issuers).toEqual(['Debian Secure Boot CA']);
    expect(info.signers).toHaveLength(1);
    expect(info.signers[0]).toMatch(/^Debian Secure Boot Signer \d{4} - linux$/);
    expect(signatureWords(info)).toBe('signed by Debian Secure Boot CA');
  }, 300_000);

  it.skipIf(!haveBootfiles)('iPXE snponly.efi: unsigned, refused under Secure Boot', async () => {
    const info = signatureInfo(await inspectPeFile(join(bootfiles, 'snponly.efi')));
    expect(info).toEqual({ signed: false, signers: [] });
    expect(signatureWords(info)).toBe('unsigned: refused under Secure Boot');
  });

  it.skipIf(!haveBootfiles)(
    'shim: signed by Microsoft’s UEFI CAs (2011 and 2023); GRUB by Debian',
    async () => {
      const shim = signatureInfo(await inspectPeFile(join(bootfiles, 'shimx64.efi')));
      expect(shim.issuers).toEqual(['Microsoft Corporation UEFI CA 2011', 'Microsoft UEFI CA 2023']);
      expect(shim.signers).toEqual([
        'Microsoft Windows UEFI Driver Publisher',
        'Microsoft UEFI CA 2023 signer',
      ]);
      expect(signatureWords(shim)).toBe(
        'signed by Microsoft Corporation UEFI CA 2011 and Microsoft UEFI CA 2023',
      );
      const grub = signatureInfo(await inspectPeFile(join(bootfiles, 'grubx64.efi')));
      expect(grub).toEqual({
        signed: true,
        signers: ['Debian Secure Boot Signer 2022 - grub2'],
        issuers: ['Debian Secure Boot CA'],
      });
    },
  );

  it('a signed kernel cut short (an interrupted copy) is damaged, not unsigned', async () => {
    const bytes = readFileSync(kernel());
    const cut = join(work, 'vmlinuz-cut');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 4096)); // the table sits at the end of the file
    const cache = new SignatureCache();
    await cache.read([{ fullPath: cut, version: version(cut) }]);
    const info = cache.lookup(cut, version(cut));
    expect(info).toEqual({ signed: false, signers: [], damaged: true });
    expect(signatureWords(info!)).toBe('damaged signature: refused under Secure Boot');
  }, 300_000);
});

describe('the cache: once per file version', () => {
  it('reads a file once, shares a read in flight, and reads a replaced file again', async () => {
    let reads = 0;
    const cache = new SignatureCache({
      inspect: async (p) => {
        reads++;
        return inspectPeFile(p);
      },
    });
    const file = join(work, 'once.efi');
    copyFileSync(kernel(), file);
    const v = version(file);
    expect(cache.lookup(file, v)).toBeUndefined();
    await Promise.all([
      cache.read([{ fullPath: file, version: v }]),
      cache.read([{ fullPath: file, version: v }]),
    ]);
    await cache.read([{ fullPath: file, version: v }]);
    expect(reads).toBe(1);
    expect(cache.lookup(file, v)?.signed).toBe(true);
    // Replaced by an unsigned file of the same name: a new version, read again.
    writeFileSync(file, 'not a PE image at all');
    const v2 = version(file);
    await cache.read([{ fullPath: file, version: v2 }]);
    expect(reads).toBe(2);
    expect(cache.lookup(file, v2)).toEqual({ signed: false, signers: [] });
  }, 300_000);

  it('a file that cannot be read makes no claim', async () => {
    const cache = new SignatureCache();
    const gone = join(work, 'gone.efi');
    const v = { size: 10, mtimeMs: 1, ino: 1 };
    await cache.read([{ fullPath: gone, version: v }]);
    expect(cache.lookup(gone, v)).toBeUndefined();
  });
});

describe('library entries carry the signature', () => {
  it('kernel and EFI programs get `signature`, other kinds none', async () => {
    const root = join(work, 'netboot');
    mkdirSync(join(root, 'debian'), { recursive: true });
    copyFileSync(kernel(), join(root, 'debian', 'vmlinuz'));
    writeFileSync(join(root, 'menu.ipxe'), '#!ipxe\necho hello\n');
    if (haveBootfiles) copyFileSync(join(bootfiles, 'snponly.efi'), join(root, 'tool.efi'));
    const library = new NetbootLibrary({ root });
    try {
      const entries = await library.scan();
      const byPath = new Map(entries.map((e) => [e.path, e]));
      expect(byPath.get('debian/vmlinuz')?.signature).toMatchObject({
        signed: true,
        issuers: ['Debian Secure Boot CA'],
      });
      expect(byPath.get('menu.ipxe')).toBeDefined();
      expect(byPath.get('menu.ipxe')?.signature).toBeUndefined();
      if (haveBootfiles) expect(byPath.get('tool.efi')?.signature).toEqual({ signed: false, signers: [] });
    } finally {
      library.close();
    }
  }, 300_000);
});

describe.skipIf(!haveBootfiles || !haveTools('xorriso'))('signatures inside an ISO (read in place)', () => {
  /** An image as distributions ship them: a signed kernel, their own shim and GRUB, an unsigned tool. */
  function distroIso(): { path: string; iso: IsoInfo } {
    const dir = join(work, 'iso');
    mkdirSync(dir, { recursive: true });
    const built = rockRidgeJolietIso(dir, {
      'casper/vmlinuz': readFileSync(kernel()),
      'EFI/BOOT/BOOTX64.EFI': readFileSync(join(bootfiles, 'shimx64.efi')),
      'EFI/BOOT/grubx64.efi': readFileSync(join(bootfiles, 'grubx64.efi')),
      'tools/snponly.efi': readFileSync(join(bootfiles, 'snponly.efi')),
    });
    const entry = (id: string, kernelPath: string, firmware: ('bios' | 'uefi')[]) => ({
      id,
      title: id,
      firmware,
      route: 'kernel-initrd' as IsoBootEntry['route'],
      kernel: kernelPath,
      isDefault: false,
    });
    const iso: IsoInfo = {
      family: 'casper',
      elTorito: { bios: false, uefi: true },
      routeSummary: 'test',
      entries: [
        entry('uefi-0', 'casper/vmlinuz', ['uefi']),
        entry('uefi-1', 'tools/snponly.efi', ['uefi']),
        entry('bios-0', 'boot/memtest', ['bios']),
        entry('uefi-gone', 'casper/missing', ['uefi']),
      ],
      efiLoader: { path: 'EFI/BOOT/BOOTX64.EFI', secondStage: 'EFI/BOOT/grubx64.efi' },
    };
    return { path: built.path, iso };
  }

  it('the UEFI kernels and the ISO’s own loaders, by path inside the image; BIOS-only and missing files make no claim', async () => {
    const { path, iso } = distroIso();
    expect(isoSignedPaths(iso)).toEqual([
      'casper/vmlinuz',
      'tools/snponly.efi',
      'casper/missing',
      'EFI/BOOT/BOOTX64.EFI',
      'EFI/BOOT/grubx64.efi',
    ]);
    const root = join(path, '..');
    const found = [{ rel: 'rrj.iso', sniff: { kind: 'iso' }, version: version(path) }];
    const isoEntry: LibraryEntry = {
      id: 'rrj.iso',
      kind: 'iso',
      title: 'test',
      path: 'rrj.iso',
      arch: ['uefi-x64'],
      size: 1,
      iso,
    };
    const cache = new SignatureCache();
    let reads = 0;
    let ready!: () => void;
    const read = new Promise<void>((r) => (ready = r));
    const first = withSignatures(root, [isoEntry], found, { cache, onRead: () => (reads++, ready()) });
    expect(first[0]?.isoSignatures).toBeUndefined(); // read in the background
    await read;
    const [after] = withSignatures(root, [isoEntry], found, { cache, onRead: () => reads++ });
    expect(after?.isoSignatures?.['casper/vmlinuz']).toMatchObject({
      signed: true,
      issuers: ['Debian Secure Boot CA'],
    });
    expect(after?.isoSignatures?.['EFI/BOOT/BOOTX64.EFI']?.issuers).toEqual([
      'Microsoft Corporation UEFI CA 2011',
      'Microsoft UEFI CA 2023',
    ]);
    expect(after?.isoSignatures?.['EFI/BOOT/grubx64.efi']?.issuers).toEqual(['Debian Secure Boot CA']);
    expect(after?.isoSignatures?.['tools/snponly.efi']).toEqual({ signed: false, signers: [] });
    expect(Object.keys(after?.isoSignatures ?? {})).not.toContain('casper/missing');
    expect(Object.keys(after?.isoSignatures ?? {})).not.toContain('boot/memtest');
    await new Promise((r) => setTimeout(r, 50));
    expect(reads).toBe(1); // everything is known now: no second read, no rebuild loop
  }, 300_000);
});
