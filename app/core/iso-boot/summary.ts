/** The words people read about an ISO's boot plan: route summary and RAM. Pure. */
import type { IsoBootEntry, IsoFamily, IsoFirmware, IsoRoute } from '../../shared/iso-boot-types.js';

export const GiB = 1024 * 1024 * 1024;
export const MiB = 1024 * 1024;
/** casper copies the ISO into a tmpfs and still needs room for the running system (Ubuntu: 1 GiB is tight). */
export const CASPER_HEADROOM = GiB;
/** live-boot/dracut/archiso keep the downloaded root in RAM; the system on top needs some too. */
export const ROOT_HEADROOM = 512 * MiB;
/** memdisk keeps the image below the top of memory; the program it starts needs a little. */
export const MEMDISK_HEADROOM = 16 * MiB;
/** Largest image offered through memdisk: it is loaded whole into the 4 GiB a BIOS can address, by iPXE. */
export const MEMDISK_MAX = 128 * MiB;

export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  return `${Math.max(1, Math.round(n / 1e6))} MB`;
}

/** RAM a route needs (bytes), when it loads the image or its root into RAM. */
export function ramFor(
  route: IsoRoute,
  sizes: { readonly iso: number; readonly root?: number; readonly memdiskImage?: number },
): number | undefined {
  switch (route) {
    case 'kernel-iso-ram':
      return sizes.iso + CASPER_HEADROOM;
    case 'kernel-root-http':
      return sizes.root !== undefined && sizes.root > 0 ? sizes.root + ROOT_HEADROOM : undefined;
    case 'memdisk':
      return (sizes.memdiskImage ?? sizes.iso) + MEMDISK_HEADROOM;
    default:
      return undefined;
  }
}

function words(e: IsoBootEntry, family: IsoFamily, ram: number | undefined, installer: boolean): string {
  const files = e.initrds && e.initrds.length > 0 ? 'kernel and initrd' : 'kernel';
  switch (e.route) {
    case 'kernel-iso-ram':
      return (
        `${files} from the ISO; the whole ISO is then loaded into RAM` +
        (ram ? ` (needs ${formatBytes(ram)}: the ISO plus 1 GiB)` : '')
      );
    case 'kernel-root-http':
      if (installer)
        return (
          `installer ${files} from the ISO, its stage 2 streamed over HTTP` +
          (ram ? ` into RAM (needs ${formatBytes(ram)})` : '')
        );
      return (
        `${files} from the ISO, root streamed over HTTP` +
        (ram ? ` into RAM (needs ${formatBytes(ram)})` : '')
      );
    case 'kernel':
      if (family === 'memtest') return 'memtest86+ started from the ISO';
      if (family === 'debian-installer') return `installer ${files} from the ISO`;
      return `${files} from the ISO`;
    case 'sanboot':
      return 'the whole image attached as a network disk (iPXE sanboot)';
    case 'memdisk':
      return `the boot image loaded into RAM by memdisk${ram ? ` (needs ${formatBytes(ram)})` : ''}`;
    case 'chain-efi':
      return "the ISO's own UEFI loader started over the network";
    case 'none':
      return 'not bootable over the network';
  }
}

/** One phrase when both firmwares boot alike, else "BIOS: …; UEFI: …". */
export function routeSummary(
  defaults: Partial<Record<IsoFirmware, IsoBootEntry>>,
  family: IsoFamily,
  ramOf: (e: IsoBootEntry) => number | undefined,
  installer = false,
): string {
  const b = defaults.bios;
  const u = defaults.uefi;
  const wb = b ? words(b, family, ramOf(b), installer) : undefined;
  const wu = u ? words(u, family, ramOf(u), installer) : undefined;
  if (wb !== undefined && wb === wu) return wb;
  return (
    [wb && `BIOS: ${wb}`, wu && `UEFI: ${wu}`].filter(Boolean).join('; ') || 'not bootable over the network'
  );
}
