/**
 * Netboot library entries: what the library found in the netboot folder and how to boot it.
 * Plain data (crosses IPC unchanged). Produced by app/core/netboot-library.ts.
 */

/** Boot platforms an entry can run on (iPXE's view of the client). */
export type BootArch = 'bios' | 'uefi-x64' | 'uefi-ia32' | 'uefi-arm64';

export type LibraryEntryKind =
  | 'linux' // kernel (+ paired initrd)
  | 'efi' // EFI application
  | 'ipxe-script'
  | 'nbp' // .kpxe/.pxe network bootstrap program
  | 'iso'
  | 'disk' // MBR/GPT disk image
  | 'wim';

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
