/**
 * What a downloaded file is to a boot, and when repeated downloads are a boot loop: one rule each, used
 * by the loop breaker, the boot-loop and no-next-step diagnoses and the timeline's "booted" stage (they
 * used to carry three different file patterns).
 */
import { BoundedMemo } from '../../shared/bounded-memo.js';
import { GRUB_REFUSED_DIR } from '../grub-script.js';
import { SIGNED_BOOT_IMAGE } from '../signed-boot-image.js';

/**
 * - `script`: an iPXE script or boot-loader config (boot.ipxe, *.ipxe, pxelinux/GRUB *.cfg, *.txt menus):
 *   fetched again on every boot by design, never a loop and never the end of a boot.
 * - `loader`: a network boot program that fetches the next step itself (undionly.kpxe, snponly.efi,
 *   pxelinux.0, *.com / *.n12 / *.krn PXE loaders): its arrival is a step, not the end.
 * - `payload`: anything else (kernel, initrd, image): its completion means the machine booted.
 */
export type FileRole = 'script' | 'loader' | 'payload';

const SCRIPT = /(^|\/)boot\.ipxe|\.(ipxe|cfg|txt)$/i;
const LOADER = /\.(kpxe|pxe|efi|0|com|n12|krn)$/i;

/**
 * Roles of the names seen lately: the client model asks for every offer's boot file (twice: the Secure
 * Boot signal) and the names repeat from client to client, so a flood of DISCOVERs runs no regex.
 * Bounded: a client asking for odd names cannot grow it.
 */
const knownRoles = new BoundedMemo<string, FileRole>(256);

export function fileRole(file: string): FileRole {
  return knownRoles.get(file, roleOf);
}

function roleOf(file: string): FileRole {
  if (SCRIPT.test(file)) return 'script';
  if (isRefusalMarker(file)) return 'script';
  // The signed chain's UEFI HTTP boot image (shim → GRUB on a RAM disk) fetches its menu and kernel itself.
  if (LOADER.test(file) || file.split('/').at(-1) === SIGNED_BOOT_IMAGE) return 'loader';
  return 'payload';
}

/** The signed chain's GRUB fetches grub/refused/<entry> to say that kernel was refused: a message, not a boot. */
export function isRefusalMarker(file: string): boolean {
  return file.replace(/^\/+/, '').startsWith(`${GRUB_REFUSED_DIR}/`);
}

export interface LoopRule {
  /** The same file this many times … (default 3) */
  readonly loopCount?: number;
  /** … within this window is a boot loop (ms, default 60 000). */
  readonly loopWindowMs?: number;
}

export const DEFAULT_LOOP_COUNT = 3;
export const DEFAULT_LOOP_WINDOW_MS = 60_000;

/** A boot loop found in a client's completed downloads. */
export interface LoopRun {
  readonly file: string;
  readonly count: number;
  /** First and last download of the run (ms). */
  readonly first: number;
  readonly last: number;
}

/**
 * The boot-loop rule: `file`'s whole downloads within the window that ends at its latest download, when
 * they are `loopCount` or more (scripts never loop: iPXE fetches its script on every boot; HTTP range
 * answers never count). `downloads` is in time order.
 */
export function loopRun(
  downloads: readonly { readonly file: string; readonly time: number; readonly partial?: true }[],
  file: string,
  rule: LoopRule,
): LoopRun | undefined {
  if (fileRole(file) === 'script') return undefined;
  const window = rule.loopWindowMs ?? DEFAULT_LOOP_WINDOW_MS;
  // Range answers (partial) are pieces of one read, not repeated downloads.
  const times = downloads.filter((d) => d.file === file && d.partial !== true).map((d) => d.time);
  const last = times.at(-1);
  if (last === undefined) return undefined;
  const recent = times.filter((t) => last - t <= window);
  if (recent.length < (rule.loopCount ?? DEFAULT_LOOP_COUNT)) return undefined;
  return { file, count: recent.length, first: recent[0]!, last };
}
