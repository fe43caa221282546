/** El Torito catalogs of xorriso (isolinux + FAT efiboot.img) and grub-mkrescue images, and the FAT reader on their UEFI image. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openFileSource, type FileSource } from '../../app/engines/iso/file-source.js';
import { openFat, openIso, readAt, subSource } from '../../app/engines/iso/index.js';
import { biosUefiIso, grubRescueIso, sha256, tempDir } from '../helpers/iso-images.js';
import { ensureFixtures } from '../fixtures/fixtures.js';

const tmp = tempDir();
const sources: FileSource[] = [];
async function source(path: string): Promise<FileSource> {
  const s = await openFileSource(path);
  sources.push(s);
  return s;
}
afterAll(async () => {
  for (const s of sources) await s.close();
  tmp.cleanup();
});

describe('xorriso -b isolinux.bin -eltorito-alt-boot -e efiboot.img', () => {
  it('reports a BIOS and a UEFI entry whose images are the files the tree names', async () => {
    const built = biosUefiIso(tmp.dir);
    const src = await source(built.path);
    const img = await openIso(src);
    const et = img.elTorito;
    expect(et).toBeDefined();
    if (!et) return;
    expect(et.entries.map((e) => [e.platform, e.bootable, e.media])).toEqual([
      ['bios', true, 'no-emulation'],
      ['uefi', true, 'no-emulation'],
    ]);
    expect(et.bios?.sectorCount).toBe(4); // -boot-load-size 4
    // The catalog's load RBAs point at the very files: isolinux.bin and efiboot.img.
    const [isolinux] = await img.extents('isolinux/isolinux.bin');
    expect(et.bios?.loadRba).toBe((isolinux?.offset ?? -1) / 2048);
    const efiboot = await img.extents('boot/grub/efiboot.img');
    expect(et.uefiImage).toEqual(efiboot[0]);
    expect((await img.stat('boot/grub/efiboot.img')).size).toBe(1_474_560);

    // EFI/BOOT/BOOTX64.EFI read from the FAT image inside the ISO, by the extents the FAT reader gives.
    const fat = await openFat(subSource(src, et.uefiImage ?? { offset: 0, length: 0 }));
    expect(fat.fatType).toBe(12);
    expect(fat.volumeLabel).toBe('EFIBOOT');
    expect(sha256(await fat.readFile('efi/boot/bootx64.efi'))).toBe(built.bootx64);
    expect((await fat.list('EFI/BOOT')).map((e) => e.name).sort()).toEqual([
      'BOOTX64.EFI',
      'grub-settings-long-name.cfg',
    ]);
    const base = et.uefiImage?.offset ?? 0;
    const parts = await Promise.all(
      (await fat.extents('EFI/BOOT/BOOTX64.EFI')).map((e) => readAt(src, base + e.offset, e.length)),
    );
    expect(sha256(Buffer.concat(parts))).toBe(built.bootx64);
    // -boot-info-table patched isolinux.bin in the image; every other file reads back as put in.
    for (const [p, sum] of built.files) expect(sha256(await img.readFile(p)), p).toBe(sum);
  });
});

describe('grub-mkrescue', () => {
  it("BIOS and UEFI entries; GRUB's BOOTX64.EFI from efi.img matches what mtools extracts", async () => {
    const built = grubRescueIso(tmp.dir);
    const src = await source(built.path);
    const img = await openIso(src);
    const et = img.elTorito;
    expect(et?.entries.filter((e) => e.bootable).map((e) => e.platform)).toEqual(['bios', 'uefi']);
    expect(et?.uefiImage).toEqual((await img.extents('efi.img'))[0]);
    for (const [p, sum] of built.files) expect(sha256(await img.readFile(p)), p).toBe(sum);

    const fatBytes = await img.readFile('efi.img');
    const fatFile = join(tmp.dir, 'grub-efi.img');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(fatFile, fatBytes);
    const out = join(tmp.dir, 'grub-bootx64.efi');
    execFileSync('mcopy', ['-n', '-i', fatFile, '::/efi/boot/bootx64.efi', out], { stdio: 'ignore' });
    const fat = await openFat(subSource(src, et?.uefiImage ?? { offset: 0, length: 0 }));
    const ours = await fat.readFile('/EFI/BOOT/BOOTX64.EFI');
    expect(ours.length).toBeGreaterThan(10_000);
    expect(sha256(ours)).toBe(sha256(readFileSync(out)));
  });
});

/**
 * A real third-party image: Debian's memtest86+ ISO (package memtest86+, downloaded and extracted by
 * the fixtures, never installed). Its UEFI image is an appended FAT partition outside the ISO 9660 tree
 * (load RBA past the tree's last block), its BIOS entry a 1.44 MB floppy emulation.
 */
describe('memtest86+x64.iso (Debian package)', () => {
  it("BIOS floppy + UEFI FAT partition; the FAT's bootx64.efi is the tree's", async () => {
    const memtest = join(ensureFixtures().memtestDir, 'memtest86+x64.iso');
    const src = await source(memtest);
    const img = await openIso(src);
    const et = img.elTorito;
    expect(et?.entries.map((e) => [e.platform, e.media])).toEqual([
      ['bios', 'floppy-1.44m'],
      ['uefi', 'no-emulation'],
    ]);
    expect(et?.bios?.image).toEqual((await img.extents('boot/floppy.img'))[0]);
    const fat = await openFat(subSource(src, et?.uefiImage ?? { offset: 0, length: 0 }));
    expect(sha256(await fat.readFile('EFI/BOOT/BOOTX64.EFI'))).toBe(
      sha256(await img.readFile('efi/boot/bootx64.efi')),
    );
  });
});
