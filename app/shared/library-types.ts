/**
 * Netboot library entries: what the library found in the netboot folder and how to boot it.
 * Plain data (crosses IPC unchanged). Produced by app/core/netboot-library.ts.
 */
import type { IsoInfo } from './iso-boot-types.js';
import type { SignatureInfo } from './secure-boot.js';

/** Boot platforms an entry can run on (iPXE's view of the client). */
export type BootArch = 'bios' | 'uefi-x64' | 'uefi-ia32' | 'uefi-arm64';

export type LibraryEntryKind =
  | 'linux' // kernel (+ paired initrd)
  | 'efi' // EFI application
  | 'ipxe-script'
  | 'nbp' // .kpxe/.pxe network bootstrap program
  | 'iso'
  | 'disk' // MBR/GPT disk image
  | 'wim'
  | 'memtest'; // memtest86+ and the like: a stand-alone program (never an initrd, never "Linux")

export interface LibraryEntry {
  /** Stable id: the root-relative path of the main file ('/'-separated). */
  readonly id: string;
  readonly kind: LibraryEntryKind;
  readonly title: string;
  /** Root-relative path of the main file. */
  readonly path: string;
  /** Root-relative path of the paired initrd (linux). */
  readonly initrd?: string;
  readonly arch: readonly BootArch[];
  readonly cmdline?: string;
  readonly size: number;
  /** ISO volume label, when present. */
  readonly label?: string;
  /**
   * How the ISO boots (kind 'iso'), from the ISO analysis (app/core/iso-boot/): absent while the analysis
   * runs (the entry then boots by its El Torito images) or when it failed (`note` says why). The user's
   * command-line edits per boot entry are already applied to `iso.entries[].cmdline`.
   */
  readonly iso?: IsoInfo;
  /** Ids of `iso.entries` whose command line is the user's (LibraryEntryMeta under `isoEntryMetaKey`). */
  readonly isoEdited?: readonly string[];
  /** The ISO analysis is still running (the row says so; a library-changed event follows). */
  readonly analysing?: true;
  /**
   * Not a technician's first choice in this folder: never the default, listed after the others. 'menu':
   * still in the boot menu (pxelinux.0 of a netboot tree); 'hidden': left out of the boot menu (a tree's
   * shim or GRUB, which cannot fetch their next stage when iPXE chains them over HTTP). `note` says why.
   */
  readonly secondary?: 'menu' | 'hidden';
  /** For people: what the entry is, why it is secondary or why it cannot boot. */
  readonly note?: string;
  /**
   * Kernels and EFI programs: whether the file carries an Authenticode signature and who signed it (issue
   * 19, app/core/library-signature.ts); absent for other kinds or a file that could not be read.
   */
  readonly signature?: SignatureInfo;
  /**
   * ISOs (once analysed): the signatures of the kernels of its UEFI entries and of its own EFI loader chain
   * (`iso.efiLoader`), by path inside the ISO, as far as read (issue 19).
   */
  readonly isoSignatures?: Readonly<Record<string, SignatureInfo>>;
}

/** User-editable per-entry settings stored in `<root>/.pxe-desk/library.json`. */
export interface LibraryEntryMeta {
  readonly title?: string;
  readonly cmdline?: string;
  readonly arch?: readonly BootArch[];
  readonly hidden?: boolean;
}

export interface MacOverride {
  /** Entry id this machine boots without a menu. */
  readonly entry: string;
  /** Boot it once, then the override is cleared and the menu returns. */
  readonly once?: boolean;
}

export interface LibraryMetadata {
  readonly version: 1;
  readonly defaultEntry?: string;
  readonly timeoutSeconds?: number;
  readonly entries: Readonly<Record<string, LibraryEntryMeta>>;
  readonly perMac: Readonly<Record<string, MacOverride>>;
}
