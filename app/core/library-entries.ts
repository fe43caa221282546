/**
 * From the files a scan found to the library's entries (pure): what each file is, which initrd belongs
 * to which kernel, which ISO boots how (the ISO analysis, app/core/iso-boot/), and which entry a
 * technician would boot first in a folder with several bootable files. The order of the list is that
 * choice: the boot menu's default is the first entry that suits the client's firmware (ipxe-script.ts),
 * unless the user chose one.
 */
import { isoEntryMetaKey } from '../shared/iso-boot-types.js';
import type { IsoBootEntry, IsoInfo } from '../shared/iso-boot-types.js';
import type { BootArch, LibraryEntry, LibraryEntryMeta, LibraryMetadata } from '../shared/library-types.js';
import { isoBootArches } from './iso-boot/firmware.js';
import type { SniffResult } from './library-sniff.js';

export interface FoundFile {
  /** Root-relative, '/'-separated. */
  readonly rel: string;
  readonly name: string;
  /** Root-relative folder ('' at the root). */
  readonly dir: string;
  readonly size: number;
  readonly sniff: SniffResult;
}

/** Where the ISO analysis of one file stands. */
export type IsoState =
  | { readonly state: 'done'; readonly info: IsoInfo }
  | { readonly state: 'pending' }
  | { readonly state: 'failed'; readonly reason: string };

/** "vmlinuz-6.1.0-13-amd64" → "6.1.0-13-amd64"; "vmlinuz" / "linux" → "". */
export function kernelSuffix(name: string): string {
  return name.replace(/^(vmlinuz|vmlinux|bzimage|linux|kernel)[-_.]?/i, '').replace(/\.efi$/i, '');
}

/** "initrd.img-6.1.0-13-amd64" → "6.1.0-13-amd64"; "initrd.gz" → "". */
export function initrdSuffix(name: string): string {
  // Extensions first: "initrd.gz" would otherwise leave "gz" as its version.
  return name
    .replace(/(\.img|\.gz|\.xz|\.zst|\.lz4|\.cpio)+$/i, '')
    .replace(/^(initrd|initramfs)(\.img)?[-_.]?/i, '');
}

/**
 * The initrd that belongs to `kernel`, or none: the same folder and the same version suffix
 * (vmlinuz-X ↔ initrd.img-X), else a plain initrd beside a plain kernel (d-i's `linux` + `initrd.gz`),
 * else the folder's only initrd when the kernel is the folder's only kernel and one of the two carries no
 * version. Never an initrd of another version, never one initrd shared by several kernels.
 */
export function pairInitrd(kernel: FoundFile, found: readonly FoundFile[]): FoundFile | undefined {
  const here = found.filter((f) => f.dir === kernel.dir);
  const initrds = here.filter((f) => f.sniff.kind === 'initrd');
  const kernels = here.filter((f) => f.sniff.kind === 'linux-kernel');
  const suffix = kernelSuffix(kernel.name);
  if (suffix !== '') {
    const exact = initrds.find((i) => initrdSuffix(i.name) === suffix);
    if (exact) return exact;
  } else {
    const plain = initrds.filter((i) => initrdSuffix(i.name) === '');
    if (plain.length === 1) return plain[0];
  }
  const [only] = initrds;
  if (initrds.length !== 1 || kernels.length !== 1 || !only) return undefined;
  return suffix === '' || initrdSuffix(only.name) === '' ? only : undefined;
}

/** A netboot tree's own boot loaders, by name (Debian's d-i netboot tree, Ubuntu's, syslinux's). */
const SHIM = /^(shim|bootnet)[a-z0-9]*\.efi$/i;
const GRUB = /^grub(net)?(x64|ia32|aa64)?\.efi$/i;
const PXELINUX = /^(l|g)?pxelinux\.0$/i;

function topFolder(rel: string): string {
  const i = rel.indexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

/** Secondary status and note of a tree's boot loader, or undefined for any other file. */
function treeLoader(
  f: FoundFile,
  kernels: readonly { readonly rel: string; readonly initrd?: string }[],
): Pick<LibraryEntry, 'secondary' | 'note'> | undefined {
  const kernel = kernels.find((k) => k.initrd !== undefined && topFolder(k.rel) === topFolder(f.rel));
  if (PXELINUX.test(f.name))
    return {
      secondary: 'menu',
      note: `${f.name} is the BIOS boot loader of this tree (its own menu from pxelinux.cfg/): choose it as the BIOS boot file to get that menu${kernel ? `; ${kernel.rel} boots the same kernel from the iPXE menu` : ''}.`,
    };
  const shim = SHIM.test(f.name);
  if (!shim && !GRUB.test(f.name)) return undefined;
  const what = shim ? 'Secure Boot shim' : 'GRUB';
  // Chained by iPXE over HTTP, the tree's shim cannot fetch its GRUB and the tree's GRUB looks for its
  // config by TFTP from the address in the firmware's DHCP answer: the firmware falls to its shell.
  if (kernel)
    return {
      secondary: 'hidden',
      note: `${f.name} is this tree's ${what}: chained by iPXE it cannot fetch its next stage, so it is left out of the boot menu; ${kernel.rel} with its initrd boots the same on UEFI.`,
    };
  return {
    secondary: 'menu',
    note: `${f.name} looks like a ${what}: chained by iPXE it may not find its next stage.`,
  };
}

/** The analysis with the user's per-entry command lines (and titles) applied; which entries were edited. */
function withUserEdits(
  id: string,
  info: IsoInfo,
  meta: LibraryMetadata,
): { info: IsoInfo; edited: string[] } {
  const edited: string[] = [];
  const entries = info.entries.map((b): IsoBootEntry => {
    const user = meta.entries[isoEntryMetaKey(id, b.id)];
    if (!user || (user.cmdline === undefined && user.title === undefined)) return b;
    if (user.cmdline !== undefined) edited.push(b.id);
    return {
      ...b,
      ...(user.cmdline !== undefined ? { cmdline: user.cmdline } : {}),
      ...(user.title !== undefined ? { title: user.title } : {}),
    };
  });
  return {
    info: edited.length || entries.some((e, i) => e !== info.entries[i]) ? { ...info, entries } : info,
    edited,
  };
}

function isoTitle(f: FoundFile, info: IsoInfo | undefined): string {
  const name = info?.distro ? [info.distro, info.version].filter(Boolean).join(' ') : f.sniff.label;
  return name ? `${name} (${f.name})` : f.rel;
}

/**
 * The technician's order: an installer or live kernel with its initrd first, then ISOs that boot, other
 * programs (EFI applications, scripts, NBPs, images), memtest, ISOs that cannot boot, and last the
 * secondary entries (a tree's own loaders). Ties keep the path order.
 */
function rank(e: LibraryEntry): number {
  if (e.secondary) return 9;
  switch (e.kind) {
    case 'linux':
      return e.initrd ? 0 : 2;
    case 'iso':
      // memtest86+'s own ISO is a memory test like its .bin/.efi, not what a technician boots first.
      return e.arch.length === 0 ? 5 : e.iso?.family === 'memtest' ? 4 : 1;
    case 'memtest':
      return 4;
    default:
      return 3;
  }
}

/**
 * The initrd of `kernel`: the one its tree's boot configuration names (the last of a list: microcode
 * archives come first), when that file is here; else the naming rule (pairInitrd).
 */
function initrdOf(
  kernel: FoundFile,
  found: readonly FoundFile[],
  byConfig: ReadonlyMap<string, readonly string[]>,
): string | undefined {
  const named = byConfig.get(kernel.rel);
  if (named) {
    const here = named.filter((rel) => found.some((f) => f.rel === rel && f.sniff.kind !== 'linux-kernel'));
    if (here.length) return here.at(-1);
  }
  return pairInitrd(kernel, found)?.rel;
}

/**
 * All entries of one scan, in the technician's order (pure). `byConfig`: kernel → initrds as the folder's own
 * boot configurations pair them (library-tree-config.ts).
 */
export function buildEntries(
  found: readonly FoundFile[],
  meta: LibraryMetadata,
  isoState: (rel: string) => IsoState | undefined,
  byConfig: ReadonlyMap<string, readonly string[]> = new Map(),
): LibraryEntry[] {
  const out: LibraryEntry[] = [];
  const kernels = found
    .filter((f) => f.sniff.kind === 'linux-kernel')
    .map((k) => ({ rel: k.rel, initrd: initrdOf(k, found, byConfig) }));
  for (const f of found) {
    const user: LibraryEntryMeta = meta.entries[f.rel] ?? {};
    if (user.hidden) continue;
    const kind = f.sniff.kind === 'linux-kernel' ? 'linux' : f.sniff.kind;
    if (kind === 'initrd' || kind === 'unknown') continue;
    const initrd = kind === 'linux' ? kernels.find((k) => k.rel === f.rel)?.initrd : undefined;
    let arch: readonly BootArch[] = kind === 'iso' && f.sniff.arch.length === 0 ? ['bios'] : f.sniff.arch;
    let title = f.rel;
    let extra: Partial<Pick<LibraryEntry, 'iso' | 'isoEdited' | 'analysing' | 'note'>> = {};
    if (kind === 'iso') {
      const st = isoState(f.rel);
      if (st?.state === 'done') {
        const { info, edited } = withUserEdits(f.rel, st.info, meta);
        arch = isoBootArches(info);
        extra = {
          iso: info,
          ...(edited.length ? { isoEdited: edited } : {}),
          ...(info.note ? { note: info.note } : {}),
        };
      } else if (st?.state === 'pending') extra = { analysing: true };
      else if (st?.state === 'failed')
        extra = {
          note: `The ISO could not be read (${st.reason}); it is offered by its El Torito images only.`,
        };
      title = isoTitle(f, st?.state === 'done' ? st.info : undefined);
    } else if (kind === 'memtest') title = `${f.sniff.version ?? 'memtest86+'} (${f.rel})`;
    const loader = kind === 'efi' || kind === 'nbp' ? treeLoader(f, kernels) : undefined;
    out.push({
      id: f.rel,
      kind,
      title: user.title ?? title,
      path: f.rel,
      arch: user.arch ?? arch,
      size: f.size,
      ...(initrd ? { initrd } : {}),
      ...(user.cmdline !== undefined && kind !== 'memtest' ? { cmdline: user.cmdline } : {}),
      ...(f.sniff.label ? { label: f.sniff.label } : {}),
      ...extra,
      ...(loader ?? {}),
    });
  }
  return out
    .map((e, i) => ({ e, i, r: rank(e) }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .map((x) => x.e);
}
