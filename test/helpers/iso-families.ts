/**
 * ISOs in the layout and boot-config style of each live-root family (casper, live-boot, dracut, archiso, d-i,
 * a BIOS-only utility image), mastered by xorriso with isolinux (BIOS) and a FAT efiboot.img (UEFI) El Torito
 * images, for the ISO boot analysis tests. Kernels are stand-ins with the real headers (Linux boot protocol
 * "HdrS" at 0x202, PE "MZ" for an EFI stub): the analysis reads headers, never runs them.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytes, efiBootImage, writeTree } from './iso-images.js';

/** A kernel stand-in: `bios` writes the setup header magic, `uefi` the MZ of an EFI stub. */
export function fakeKernel(seed: number, opts: { bios: boolean; uefi: boolean }, size = 60_000): Buffer {
  const b = bytes(seed, size);
  b[0] = opts.uefi ? 0x4d : 0x00;
  b[1] = opts.uefi ? 0x5a : 0x00;
  if (opts.bios) b.write('HdrS', 0x202, 'latin1');
  else b.write('xxxx', 0x202, 'latin1');
  return b;
}

const linuxKernel = (seed: number): Buffer => fakeKernel(seed, { bios: true, uefi: true });

export interface FamilyIsoOptions {
  /** El Torito images to write (default both). */
  readonly bios?: boolean;
  readonly uefi?: boolean;
  readonly label: string;
}

/** Master `files` with xorriso; isolinux.bin (BIOS) and efiboot.img (UEFI) added as asked. */
export function masterIso(
  dir: string,
  name: string,
  files: Record<string, Uint8Array | string>,
  opts: FamilyIsoOptions,
): string {
  const work = join(dir, `${name}-work`);
  const tree = join(work, 'tree');
  mkdirSync(tree, { recursive: true });
  writeTree(tree, files);
  const args = ['-as', 'mkisofs', '-quiet', '-R', '-J', '-V', opts.label, '-o', join(dir, `${name}.iso`)];
  if (opts.bios ?? true) {
    mkdirSync(join(tree, 'isolinux'), { recursive: true });
    writeFileSync(join(tree, 'isolinux/isolinux.bin'), readFileSync('/usr/lib/ISOLINUX/isolinux.bin'));
    args.push('-b', 'isolinux/isolinux.bin', '-c', 'isolinux/boot.cat');
    args.push('-no-emul-boot', '-boot-load-size', '4', '-boot-info-table');
  }
  if (opts.uefi ?? true) {
    const img = efiBootImage(work, linuxKernel(99));
    mkdirSync(join(tree, 'boot/grub'), { recursive: true });
    writeFileSync(join(tree, 'boot/grub/efiboot.img'), readFileSync(img));
    if (opts.bios ?? true) args.push('-eltorito-alt-boot');
    args.push('-e', 'boot/grub/efiboot.img', '-no-emul-boot');
  }
  args.push(tree);
  execFileSync('xorriso', args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_ALL: 'C.UTF-8' },
  });
  return join(dir, `${name}.iso`);
}

/** Ubuntu-style: casper/ with a squashfs, .disk/info, GRUB config (both firmwares) searching the ISO by file. */
export function casperIso(dir: string): string {
  const grub = [
    'set timeout=30',
    'menuentry "Try or Install Ubuntu" {',
    '  linux /casper/vmlinuz iso-scan/filename=${iso_path} cdrom-detect/try-usb=true quiet splash ---',
    '  initrd /casper/initrd',
    '}',
    'menuentry "Ubuntu (safe graphics)" {',
    '  linux /casper/vmlinuz nomodeset quiet splash ---',
    '  initrd /casper/initrd',
    '}',
    '',
  ].join('\n');
  return masterIso(
    dir,
    'casper',
    {
      'casper/vmlinuz': linuxKernel(21),
      'casper/initrd': bytes(22, 30_000),
      'casper/filesystem.squashfs': bytes(23, 200_000),
      '.disk/info': 'Ubuntu 24.04 LTS "Noble Numbat" - Release amd64 (20240424)',
      'boot/grub/grub.cfg': grub,
    },
    { label: 'Ubuntu 24.04 LTS amd64' },
  );
}

/** Debian live-style: live/ with a versioned kernel, isolinux + GRUB configs. */
export function liveBootIso(dir: string): string {
  const isolinux = [
    'default live',
    'label live',
    '  menu label ^Live system (amd64)',
    '  kernel /live/vmlinuz-6.1.0-13-amd64',
    '  append initrd=/live/initrd.img-6.1.0-13-amd64 boot=live components findiso=/d.iso quiet splash',
    'label toram',
    '  menu label Live system (to RAM)',
    '  kernel /live/vmlinuz-6.1.0-13-amd64',
    '  append initrd=/live/initrd.img-6.1.0-13-amd64 boot=live components toram',
    '',
  ].join('\n');
  return masterIso(
    dir,
    'liveboot',
    {
      'live/vmlinuz-6.1.0-13-amd64': linuxKernel(31),
      'live/initrd.img-6.1.0-13-amd64': bytes(32, 30_000),
      'live/filesystem.squashfs': bytes(33, 300_000),
      '.disk/info': 'Debian GNU/Linux 12.4.0 "Bookworm" - Official Live amd64 20231210',
      'isolinux/isolinux.cfg': isolinux,
      'boot/grub/grub.cfg':
        'menuentry "Live system (amd64)" {\n  linux /live/vmlinuz-6.1.0-13-amd64 boot=live components quiet splash\n  initrd /live/initrd.img-6.1.0-13-amd64\n}\n',
    },
    { label: 'd-live 12.4.0 gn amd64' },
  );
}

/** Fedora live-style: LiveOS/squashfs.img, kernel in isolinux/, root by CD label. */
export function dracutIso(dir: string): string {
  const label = 'Fedora-WS-Live-39-1-5';
  const args = `root=live:CDLABEL=${label} rd.live.image rd.live.check quiet`;
  return masterIso(
    dir,
    'dracut',
    {
      'isolinux/vmlinuz': linuxKernel(41),
      'isolinux/initrd.img': bytes(42, 30_000),
      'LiveOS/squashfs.img': bytes(43, 250_000),
      'isolinux/isolinux.cfg': `default linux\nlabel linux\n  kernel vmlinuz\n  append initrd=initrd.img ${args}\n`,
      'EFI/BOOT/grub.cfg': `menuentry 'Start Fedora-Workstation-Live 39' {\n  linuxefi /isolinux/vmlinuz ${args}\n  initrdefi /isolinux/initrd.img\n}\n`,
    },
    { label },
  );
}

/** Arch-style: arch/boot/x86_64 kernel + initramfs, microcode, airootfs.sfs, arch/version. */
export function archisoIso(dir: string): string {
  return masterIso(
    dir,
    'archiso',
    {
      'arch/boot/x86_64/vmlinuz-linux': linuxKernel(51),
      'arch/boot/x86_64/initramfs-linux.img': bytes(52, 30_000),
      'arch/boot/intel-ucode.img': bytes(53, 3_000),
      'arch/boot/amd-ucode.img': bytes(54, 3_000),
      'arch/x86_64/airootfs.sfs': bytes(55, 220_000),
      'arch/version': '2024.01.01\n',
      'boot/syslinux/syslinux.cfg':
        'DEFAULT arch\nLABEL arch\n  MENU LABEL Arch Linux install medium (x86_64, BIOS)\n  LINUX /arch/boot/x86_64/vmlinuz-linux\n  INITRD /arch/boot/intel-ucode.img,/arch/boot/amd-ucode.img,/arch/boot/x86_64/initramfs-linux.img\n  APPEND archisobasedir=arch archisosearchuuid=2024-01-01-10-00-00-00\n',
    },
    { label: 'ARCH_202401' },
  );
}

/** Debian netinst-style: install.amd/ kernel + initrd (+ gtk), .disk/info. */
export function debianInstallerIso(dir: string): string {
  return masterIso(
    dir,
    'netinst',
    {
      'install.amd/vmlinuz': linuxKernel(61),
      'install.amd/initrd.gz': bytes(62, 30_000),
      'install.amd/gtk/initrd.gz': bytes(63, 30_000),
      '.disk/info':
        'Debian GNU/Linux 12.4.0 "Bookworm" - Official amd64 NETINST with firmware 20231210-17:56',
    },
    { label: 'Debian 12.4.0 amd64 n' },
  );
}

/** A BIOS-only utility CD: isolinux El Torito, a kernel without an EFI stub, or no kernel at all. */
export function biosOnlyIso(dir: string, withKernel: boolean): string {
  const files: Record<string, Uint8Array | string> = {
    'README.TXT': 'a rescue floppy collection\n',
    'isolinux/isolinux.cfg': withKernel
      ? 'default rescue\nlabel rescue\n  kernel /isolinux/vmlinuz\n  append initrd=/isolinux/initrd.gz console=tty0\nlabel hdt\n  com32 hdt.c32\n'
      : 'default hdt\nlabel hdt\n  com32 hdt.c32\n',
  };
  if (withKernel) {
    files['isolinux/vmlinuz'] = fakeKernel(71, { bios: true, uefi: false });
    files['isolinux/initrd.gz'] = bytes(72, 20_000);
  }
  return masterIso(dir, withKernel ? 'biosk' : 'bios', files, { label: 'RESCUE', uefi: false });
}

/** Fedora/RHEL installer-style: images/install.img (Anaconda stage 2), kernel in images/pxeboot, .treeinfo. */
export function anacondaIso(dir: string): string {
  const label = 'Fedora-E-dvd-x86_64-39';
  return masterIso(
    dir,
    'anaconda',
    {
      'images/pxeboot/vmlinuz': linuxKernel(91),
      'images/pxeboot/initrd.img': bytes(92, 30_000),
      'images/install.img': bytes(93, 120_000),
      '.treeinfo': '[general]\nfamily = Fedora\nversion = 39\n[stage2]\nmainimage = images/install.img\n',
      'EFI/BOOT/grub.cfg': `menuentry 'Install Fedora 39' {\n  linuxefi /images/pxeboot/vmlinuz inst.stage2=hd:LABEL=${label} quiet\n  initrdefi /images/pxeboot/initrd.img\n}\n`,
    },
    { label },
  );
}

/** Manjaro-style (miso): manjaro/x86_64/*.sfs layers, kernel + initramfs in boot/, GRUB with misolabel. */
export function misoIso(dir: string): string {
  const args = 'misobasedir=manjaro misolabel=MANJARO_KDE_2302 quiet systemd.show_status=1 driver=free';
  return masterIso(
    dir,
    'miso',
    {
      'boot/vmlinuz-x86_64': linuxKernel(111),
      'boot/initramfs-x86_64.img': bytes(112, 20_000),
      'boot/intel_ucode.img': bytes(113, 2_000),
      'manjaro/x86_64/rootfs.sfs': bytes(114, 40_000),
      'manjaro/x86_64/desktopfs.sfs': bytes(115, 60_000),
      'manjaro/.miso': '',
      'boot/grub/grub.cfg': `menuentry "Boot with open source drivers" {\n  linux /boot/vmlinuz-x86_64 ${args}\n  initrd /boot/intel_ucode.img /boot/initramfs-x86_64.img\n}\n`,
    },
    { label: 'MANJARO_KDE_2302' },
  );
}
