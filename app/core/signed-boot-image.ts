/**
 * The signed chain after UEFI HTTP boot (docs/secure-boot.md, "Proxy mode"): a small FAT disk image that EDK2's
 * HTTP boot loads into a RAM disk (`application/vnd.efi-img`) and boots from by the removable-media path:
 *
 *   EFI/BOOT/BOOTX64.EFI  shim (signed by Microsoft's UEFI CA)
 *   EFI/BOOT/GRUBX64.EFI  Debian's signed network GRUB (shim loads it from its own folder)
 *   GRUB/GRUB.CFG         GRUB's `$prefix/grub.cfg` on the disk it booted from: configures the network
 *                         (`net_bootp`) and goes on to the generated per-client menu on our TFTP server
 *
 * Why not the shim's URL itself: Debian's GRUB 2.06 configures its network only from the PXE base code's DHCP
 * ACK; after HTTP boot that is empty, so it has no server and stops at `grub>` (seen in the lab). Loaded from a
 * disk it finds its config there, and the config brings up the network itself. No extra files, no signing:
 * GRUB's config is not verified (only what it executes: shim checks each kernel).
 */
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFatImage } from './fat-image.js';
import { GRUB_CFG } from './grub-script.js';

/** Its name on our HTTP server (a generated file; the extension gives EDK2 the RAM-disk type). */
export const SIGNED_BOOT_IMAGE = 'pxe-desk-signed.img';

/** The disk's grub.cfg: bring the NIC up by DHCP, then the generated menu of `server` over TFTP. */
export function signedImageGrubConfig(server: string): string {
  return [
    '# PXE Desk: the signed chain booted from a RAM disk (UEFI HTTP boot). GRUB has no network yet:',
    '# DHCP on every card, then the per-client menu from the PXE Desk server over TFTP.',
    'echo "PXE Desk: asking for an address (net_bootp)"',
    'net_bootp',
    `set root=(tftp,${server})`,
    'set prefix=($root)/grub',
    `configfile $prefix/${GRUB_CFG.split('/').pop()}`,
    '',
  ].join('\n');
}

/** The image for `server` from the boot-file folder's shimx64.efi and grubx64.efi; throws when they are missing. */
export function buildSignedBootImage(bootFilesDir: string, server: string): Buffer {
  return buildFatImage([
    { path: 'EFI/BOOT/BOOTX64.EFI', data: readFileSync(join(bootFilesDir, 'shimx64.efi')) },
    { path: 'EFI/BOOT/GRUBX64.EFI', data: readFileSync(join(bootFilesDir, 'grubx64.efi')) },
    { path: 'GRUB/GRUB.CFG', data: Buffer.from(signedImageGrubConfig(server), 'utf8') },
  ]);
}

/** This process's folder of generated images (one, removed when the process exits). */
let imageDir: string | undefined;

/**
 * Writes the image for `server` (replacing the previous session's) into this process's temporary folder and
 * returns the folder, for the HTTP server's fallback folders: served like any file (ranges, Content-Type
 * `application/vnd.efi-img` by its extension). Throws when the signed boot files are missing.
 */
export function writeSignedBootImage(bootFilesDir: string, server: string): string {
  const image = buildSignedBootImage(bootFilesDir, server);
  if (!imageDir) {
    const dir = mkdtempSync(join(tmpdir(), 'pxe-desk-signed-'));
    imageDir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  const part = join(imageDir, `.${SIGNED_BOOT_IMAGE}.part`);
  writeFileSync(part, image);
  renameSync(part, join(imageDir, SIGNED_BOOT_IMAGE));
  return imageDir;
}
