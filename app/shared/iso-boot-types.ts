/**
 * How an ISO in the netboot library boots over the network: plain data decided once by the ISO analysis
 * (app/core/iso-boot/) and read by the menu generators, the library view, the UI and the report. Crosses IPC
 * unchanged. The boot routes and the live-root families are described in docs/iso-boot.md.
 */

/** The live-root family the ISO's tree reveals: decides how the kernel finds its root over the network. */
export type IsoFamily =
  | 'casper' // Ubuntu and flavours, Mint: `url=<ISO>` (casper loads the whole ISO into RAM)
  | 'live-boot' // Debian live, Clonezilla, GParted, Kali: `fetch=<live/filesystem.squashfs>`
  | 'dracut' // Fedora, CentOS Stream, Rocky/Alma live: `root=live:<LiveOS/squashfs.img>`
  | 'archiso' // Arch, SystemRescue, Manjaro-like: `archiso_http_srv=<ISO root>/`
  | 'debian-installer' // d-i CD/netinst: kernel + initrd, the installer fetches the rest itself
  | 'memtest' // memtest86+ and the like: one stand-alone program
  | 'windows' // UDF image with sources/boot.wim
  | 'other';

/** How one entry is booted. */
export type IsoRoute =
  /** Kernel + initrd(s) read from inside the ISO over HTTP; the root file system is streamed over HTTP. */
  | 'kernel-root-http'
  /** Kernel + initrd(s) from inside the ISO; the whole ISO is then downloaded into RAM (casper `url=`). */
  | 'kernel-iso-ram'
  /** Kernel (+ initrd) from inside the ISO and nothing else (memtest, an installer that fetches its own). */
  | 'kernel'
  /** iPXE `sanboot` of the image (needs an El Torito image for that firmware). */
  | 'sanboot'
  /** BIOS only: memdisk loads the whole image into RAM and emulates a CD. */
  | 'memdisk'
  /** UEFI: chainload the ISO's own EFI loader (its signed shim, under Secure Boot). */
  | 'chain-efi'
  /** Cannot boot over the network; IsoInfo.note says why and what would work. */
  | 'none';

/** The firmware side of a boot entry (the menu generators map a client's BootArch onto it). */
export type IsoFirmware = 'bios' | 'uefi';

/** One bootable entry found in (or made for) an ISO. Paths are inside the ISO, '/'-separated, no leading '/'. */
export interface IsoBootEntry {
  /** Stable within the ISO (survives rescans): the user's command-line edits are keyed by it. */
  readonly id: string;
  readonly title: string;
  readonly firmware: readonly IsoFirmware[];
  readonly route: IsoRoute;
  readonly kernel?: string;
  readonly initrds?: readonly string[];
  /**
   * The kernel command line after the family's root rewrite. `{iso}` stands for the HTTP URL of the ISO file
   * itself (`http://host:port/<path of the ISO>`); its files are served below it (`{iso}/live/filesystem.squashfs`).
   * The menu generator substitutes it per client.
   */
  readonly cmdline?: string;
  /** The distribution's default entry for this firmware (one per firmware at most). */
  readonly isDefault: boolean;
  /** Submenu titles it sat in, outermost first (empty at top level). */
  readonly group?: readonly string[];
}

export interface IsoInfo {
  readonly family: IsoFamily;
  /** e.g. "Ubuntu", "Debian", "Fedora", "Arch Linux", "memtest86+", "Windows". */
  readonly distro?: string;
  readonly version?: string;
  readonly volumeLabel?: string;
  /** El Torito boot images found, per firmware. */
  readonly elTorito: { readonly bios: boolean; readonly uefi: boolean };
  /** The boot route in words, for people: "kernel and initrd from the ISO, root streamed over HTTP". */
  readonly routeSummary: string;
  /** RAM the client needs for this route (bytes), where the route loads the image or its root into RAM. */
  readonly ramBytes?: number;
  readonly entries: readonly IsoBootEntry[];
  /** Why it cannot boot over the network (or what is limited), and what would work. */
  readonly note?: string;
  /** The ISO's own UEFI loader chain (e.g. `EFI/BOOT/BOOTX64.EFI` + `EFI/BOOT/grubx64.efi`), for Secure Boot. */
  readonly efiLoader?: { readonly path: string; readonly secondStage?: string };
}

/** The placeholder in IsoBootEntry.cmdline for the ISO's own HTTP URL. */
export const ISO_URL_TOKEN = '{iso}';

/**
 * The library-metadata key of one ISO sub-entry (`LibraryMetadata.entries[key].cmdline` holds the user's edit of
 * its command line): the library entry's id (the ISO's path), `#`, the IsoBootEntry id. `#` never occurs in an
 * IsoBootEntry id and a path may hold one only in a file name, so the last `#` splits it.
 */
export function isoEntryMetaKey(entryId: string, subId: string): string {
  return `${entryId}#${subId}`;
}
