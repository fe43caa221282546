/**
 * Pieces of the generated iPXE script (ipxe-script.ts): safe text, URLs, the fall-back-to-menu blocks that
 * every boot line jumps to when it fails, and the lines that boot one entry of an analysed ISO
 * (docs/iso-boot.md). Pure.
 */
import {
  ISO_URL_TOKEN,
  isoEntryMetaKey,
  type IsoBootEntry,
  type IsoFirmware,
} from '../shared/iso-boot-types.js';
import type { LibraryMetadata } from '../shared/library-types.js';
import { formatBytes } from './iso-boot/summary.js';

/** Path segments percent-encoded for a URL; iPXE handles plain ASCII best. */
export function urlFor(base: string, rel: string): string {
  return `${base}/${rel.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * iPXE splits a script line into words and ends a command at a word `||`, `&&` or `;`, and at a word starting
 * with `#` (a comment; iPXE core/exec.c command_terminator). Such words are made harmless in text.
 */
function defuse(text: string): string {
  return text
    .split(' ')
    .map((w) => (w === ';' ? ',' : w.startsWith('#') ? `_${w.slice(1)}` : w))
    .join(' ');
}

/**
 * iPXE menu/item text: keep printable ASCII, no characters iPXE's parser treats specially (`${…}` expansion,
 * `\` escapes, command separators and comments, which would end an `echo` and run the rest as a command).
 */
export function label(text: string): string {
  return defuse(
    text
      .replace(/[^\x20-\x7e]/g, '?')
      .replace(/[${}\\]/g, '_')
      .replace(/\|{2,}/g, '|')
      .replace(/&{2,}/g, '&'),
  ).slice(0, 70);
}

/**
 * Kernel command lines come from the user and the ISO; still strip what would break the line: newlines,
 * `${` expansion, and words iPXE reads as command separators or a comment (meaningless to a kernel anyway).
 */
export function cmdline(text: string): string {
  return text
    .replace(/[\r\n\0\t]/g, ' ')
    .replace(/\$\{/g, '$ {')
    .split(' ')
    .filter((w) => !(w === '||' || w === '&&' || w === ';' || w.startsWith('#')))
    .join(' ');
}

/** Seconds a failure message stays on screen before the menu returns. */
export const FAIL_PAUSE_SECONDS = 5;

/**
 * The blocks boot lines fall back to: `<line> || goto <label>`, and at `:<label>` a message naming the entry
 * and the step that failed, then one shared pause to read it (iPXE has printed its own error just above) and
 * the menu. One block per distinct message: the fast path and the menu item of one entry share theirs.
 */
export class Failures {
  private readonly byMessage = new Map<string, string>();
  private readonly blocks: string[][] = [];

  /** ` || goto <label>` for a line of the entry called `title` that fails at `reason`. */
  on(title: string, reason: string): string {
    const message = `echo PXE Desk: ${label(title)} failed to load (${label(reason)}); back to the menu`;
    let name = this.byMessage.get(message);
    if (!name) {
      name = `failed_${this.blocks.length}`;
      this.byMessage.set(message, name);
      this.blocks.push([`:${name}`, message, 'goto back_to_menu']);
    }
    return ` || goto ${name}`;
  }

  lines(): string[] {
    if (this.blocks.length === 0) return [];
    return [
      ...this.blocks.flatMap((b) => ['', ...b]),
      '',
      ':back_to_menu',
      `sleep ${FAIL_PAUSE_SECONDS}`,
      'goto menu',
    ];
  }
}

/** Characters an iPXE image name and the EFI stub's `initrd=` path can carry unchanged. */
const SAFE_NAME = /^[A-Za-z0-9._-]+$/;

/**
 * Names of the initrd images as the kernel's EFI stub will ask for them (`initrd=<name>`): iPXE names an image
 * after its URL's last segment, so two `initrd` files of one name (e.g. `boot/initrd` and `ucode/initrd`) or an
 * odd character would break it; those get `--name` with a unique safe name.
 */
export function initrdNames(paths: readonly string[]): { name: string; explicit: boolean }[] {
  const used = new Set<string>();
  return paths.map((p, i) => {
    const base = p.split('/').pop() || `initrd${i}`;
    let name = SAFE_NAME.test(base) ? base : base.replace(/[^A-Za-z0-9._-]/g, '_');
    let explicit = name !== base;
    if (used.has(name)) {
      name = `${i}-${name}`;
      explicit = true;
    }
    used.add(name);
    return { name, explicit };
  });
}

export interface IsoLineContext {
  readonly base: string;
  /** The ISO's path in the netboot folder (LibraryEntry.path) and its library id (metadata key prefix). */
  readonly isoPath: string;
  readonly entryId: string;
  readonly fw: IsoFirmware;
  readonly metadata?: LibraryMetadata;
  readonly failures: Failures;
  /** Title in failure messages. */
  readonly title: string;
  /** RAM the route needs (IsoInfo.ramBytes, for the default entry): said on screen before the download. */
  readonly ramBytes?: number;
}

/** What a client about to load an image into RAM is told: the usual cause when a small machine fails. */
function ramLine(route: IsoBootEntry['route'], ramBytes: number | undefined): string[] {
  if (ramBytes === undefined) return [];
  const what =
    route === 'kernel-iso-ram'
      ? 'the whole ISO is loaded into RAM'
      : route === 'kernel-root-http'
        ? 'the root file system is loaded into RAM'
        : route === 'memdisk'
          ? 'the image is loaded into RAM'
          : undefined;
  return what ? [`echo PXE Desk: ${what}; this machine needs ${formatBytes(ramBytes)} of RAM`] : [];
}

/** The command line the client gets: the user's edit (library metadata) or the analysis', `{iso}` filled in. */
export function isoCmdline(sub: IsoBootEntry, ctx: IsoLineContext): string {
  const edited = ctx.metadata?.entries[isoEntryMetaKey(ctx.entryId, sub.id)]?.cmdline;
  const text = edited ?? sub.cmdline ?? '';
  return cmdline(text.split(ISO_URL_TOKEN).join(urlFor(ctx.base, ctx.isoPath)));
}

/** Lines that boot one IsoBootEntry on the client's firmware; every line falls back to the menu. */
export function isoBootLines(sub: IsoBootEntry, ctx: IsoLineContext): string[] {
  const iso = urlFor(ctx.base, ctx.isoPath);
  const inIso = (p: string): string => urlFor(ctx.base, `${ctx.isoPath}/${p}`);
  const fail = (reason: string): string => ctx.failures.on(ctx.title, reason);
  const args = isoCmdline(sub, ctx);
  const ram = ramLine(sub.route, ctx.ramBytes);
  switch (sub.route) {
    case 'kernel':
    case 'kernel-iso-ram':
    case 'kernel-root-http': {
      if (!sub.kernel)
        return [`echo PXE Desk: ${label(ctx.title)} has no kernel`, `sleep ${FAIL_PAUSE_SECONDS}`];
      const initrds = sub.initrds ?? [];
      const names = initrdNames(initrds);
      // UEFI: the kernel's EFI stub loads its initrds by name from iPXE's file system (initrd=<name> each);
      // BIOS: iPXE hands them to the kernel itself (docs/protocol-notes.md §7).
      const parts = [`kernel ${inIso(sub.kernel)}`];
      if (ctx.fw === 'uefi') parts.push(...names.map((n) => `initrd=${n.name}`));
      if (args) parts.push(args);
      const lines = [...ram, `${parts.join(' ')}${fail(`kernel ${sub.kernel}`)}`];
      initrds.forEach((p, i) => {
        const n = names[i]!;
        const opt = n.explicit ? `--name ${n.name} ` : '';
        lines.push(`initrd ${opt}${inIso(p)}${fail(`initrd ${p}`)}`);
      });
      lines.push(`boot${fail('the kernel did not start')}`);
      return lines;
    }
    case 'sanboot':
      // sanboot reads the image with ranged GETs (the server answers Accept-Ranges: bytes).
      return [`sanboot --no-describe ${iso}${fail('sanboot of the image')}`];
    case 'memdisk': {
      // memdisk comes from the boot-file cache (scripts/fetch-bootfiles.mjs), served beside the library.
      const image = sub.initrds && sub.initrds.length > 0 ? inIso(sub.initrds[0]!) : iso;
      return [
        ...ram,
        `kernel ${ctx.base}/memdisk${args ? ` ${args}` : ''}${fail('memdisk not found in the boot files')}`,
        `initrd ${image}${fail('the image did not load into RAM')}`,
        `boot${fail('memdisk did not start')}`,
      ];
    }
    case 'chain-efi':
      return sub.kernel ? [`chain ${inIso(sub.kernel)}${fail(`chain ${sub.kernel}`)}`] : [];
    case 'none':
      return [
        `echo PXE Desk: ${label(ctx.title)} cannot boot over the network`,
        `sleep ${FAIL_PAUSE_SECONDS}`,
      ];
  }
}

/** Menu text of a sub-entry: its groups, then its title. */
export function subTitle(sub: IsoBootEntry): string {
  return [...(sub.group ?? []), sub.title].join(' > ');
}
