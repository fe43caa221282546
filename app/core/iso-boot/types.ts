/**
 * What the boot-configuration parsers (grub-config.ts, isolinux-config.ts, systemd-boot-config.ts) read and
 * return: the menu entries an ISO's own boot loader would show on one firmware, before any network rewrite.
 * The ISO analysis (app/core/iso-boot/, `IsoBootEntry` in app/shared/iso-boot-types.ts) builds on them.
 *
 * The parsers are pure over a `ConfigReader` (paths inside the ISO), bounded (file size, include depth,
 * entry count, include cycles) and never throw on garbage text: what they skip is listed in `issues`.
 */
import type { FsView } from '../../engines/iso/index.js';
import type { IsoFirmware } from '../../shared/iso-boot-types.js';

/** Which boot loader's configuration an entry came from. */
export type ConfigSourceKind = 'grub' | 'isolinux' | 'systemd-boot';

/**
 * Read access to the files of the image. Paths are inside the ISO, '/'-separated, with or without a leading
 * '/'; case folding is the reader's business (FsView folds). Implementations should not throw: a missing or
 * unreadable file is `undefined` / `false` (the parsers also catch, to be safe).
 */
export interface ConfigReader {
  /**
   * The file as text, or undefined when it is absent or not a file. A file longer than `maxBytes` may be
   * cut there (the caller asks for one byte more than its limit to see that the file is too large).
   */
  readText(path: string, maxBytes: number): Promise<string | undefined>;
  /** A file or directory of that name exists. */
  exists(path: string): Promise<boolean>;
  /** Names (not paths) in a directory, empty when absent; optional (systemd-boot entries need it). */
  list?(dir: string): Promise<string[]>;
}

/** One bootable Linux entry of a boot menu, as the ISO's own boot loader would start it on one firmware. */
export interface ConfigBootEntry {
  /** As the menu shows it (isolinux `^` hotkey markers removed, systemd-boot title + version). */
  readonly title: string;
  /** Submenu titles (GRUB `submenu`, isolinux `menu begin`) it sits in, outermost first; empty at top level. */
  readonly group: readonly string[];
  /** The Linux kernel, path inside the ISO, no leading '/'. */
  readonly kernel: string;
  /** Initrds in load order, paths inside the ISO, no leading '/'. */
  readonly initrds: readonly string[];
  /**
   * The kernel command line as the loader would pass it, variables expanded, `initrd=` lists of isolinux
   * moved to `initrds`, single spaces. GRUB's and isolinux' `BOOT_IMAGE=` is not added.
   */
  readonly args: string;
  /** The loader's default entry on this firmware: exactly one per `BootMenus` when it has entries. */
  readonly isDefault: boolean;
  readonly source: ConfigSourceKind;
  /** The configuration file that holds the entry (path inside the ISO, no leading '/'). */
  readonly configPath: string;
  /**
   * The loader's own identifier: GRUB `--id` (else none), isolinux `label`, systemd-boot entry file name
   * without `.conf`. Stable across rescans as long as the ISO is the same; not unique across loaders.
   */
  readonly loaderId?: string;
}

export type ConfigIssueCode =
  /** A command or directive the evaluator does not model; it was skipped. */
  | 'unsupported'
  /** An entry that boots something other than Linux (chainloader, .c32 module, systemd-boot `efi`). */
  | 'not-linux'
  /** An entry without a kernel, or a line that does not parse (unbalanced quotes or braces). */
  | 'malformed'
  /** A file larger than MAX_CONFIG_BYTES: not read. */
  | 'too-large'
  /** include/source/configfile nested deeper than MAX_INCLUDE_DEPTH. */
  | 'too-deep'
  /** include/source of a file already being read. */
  | 'loop'
  /** An included/sourced file that is not in the image. */
  | 'missing-file'
  /** More than MAX_ENTRIES entries (or MAX_STEPS evaluation steps): the rest is dropped. */
  | 'too-many';

export interface ConfigIssue {
  readonly code: ConfigIssueCode;
  readonly source: ConfigSourceKind;
  readonly configPath: string;
  /** 1-based line in configPath, where known. */
  readonly line?: number;
  /** For people (the command, the entry title, the missing path); never parsed back. */
  readonly detail: string;
}

/** The boot menu(s) of an ISO for one firmware, in the order the firmware's loader would show them. */
export interface BootMenus {
  readonly firmware: IsoFirmware;
  /** Which loader produced the entries (the first configuration that yielded any); none when empty. */
  readonly loader?: ConfigSourceKind;
  readonly entries: readonly ConfigBootEntry[];
  /** Every configuration file read, in reading order (paths inside the ISO, no leading '/'). */
  readonly configsRead: readonly string[];
  /** The menu timeout in seconds the loader set, when it set one (-1 / 0 as the loader means them). */
  readonly timeoutSeconds?: number;
  readonly issues: readonly ConfigIssue[];
}

/** What one loader's parser returns: its entries (isDefault set by the loader's own rules) and timeout. */
export interface LoaderMenu {
  readonly entries: ConfigBootEntry[];
  readonly timeoutSeconds?: number;
}

/** Largest configuration file read (larger ones are reported `too-large`, never loaded). */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Deepest include/source/configfile nesting. */
export const MAX_INCLUDE_DEPTH = 8;
/** Most entries kept per configuration tree. */
export const MAX_ENTRIES = 500;
/** Most commands evaluated per GRUB configuration tree (bounds loops of functions, includes and blocks). */
export const MAX_STEPS = 20_000;
/**
 * Most text parsed in one readBootMenus run, re-reads included: a file that includes another twice, which
 * includes a third twice, … would otherwise multiply the work by 2^depth.
 */
export const MAX_TOTAL_BYTES = 8 * 1024 * 1024;

/** Normalise a path inside the ISO: '/'-separated, no leading '/', no '.' or empty components, '..' applied. */
export function isoPath(path: string): string {
  const out: string[] = [];
  for (const p of path.split(/[/\\]+/)) {
    if (p === '' || p === '.') continue;
    if (p === '..') out.pop();
    else out.push(p);
  }
  return out.join('/');
}

/** The folder of an ISO path ('' at the root). */
export function isoDir(path: string): string {
  const p = isoPath(path);
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

/** Collects issues and the files read; shared by one readBootMenus run (it also caches their text). */
export class ConfigLog {
  readonly issues: ConfigIssue[] = [];
  /** Each configuration file read, once, in first-read order. */
  readonly read: string[] = [];
  /** Text per lower-cased path (undefined: absent or refused), so a file included often is read once. */
  readonly cache = new Map<string, string | undefined>();
  /** Characters handed to the parsers so far (MAX_TOTAL_BYTES). */
  parsed = 0;
  private readonly seen = new Set<string>();
  note(issue: ConfigIssue): void {
    // A garbage file could yield one issue per byte: the first few hundred say enough.
    if (this.issues.length >= 1000) return;
    // Garbage can make a "command" of a megabyte: the detail is for people, a line's worth is enough.
    const d = issue.detail;
    const kept = d.length > 160 ? { ...issue, detail: `${d.slice(0, 157)}...` } : issue;
    // A file included from several places says the same thing each time: once is enough.
    const key = `${kept.code}\u0000${kept.source}\u0000${kept.configPath}\u0000${kept.line ?? ''}\u0000${kept.detail}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.issues.push(kept);
  }
}

/**
 * One parser's writer of issues into a run's ConfigLog (the GRUB evaluator and the isolinux reader extend it).
 * `once` keeps an issue whose code and detail repeat — an unsupported command inside a loop or in every
 * entry — to its first report in this parser's run, wherever it occurs.
 */
export class IssueNotes {
  private readonly noted = new Set<string>();

  constructor(
    protected readonly log: ConfigLog,
    private readonly source: ConfigSourceKind,
  ) {}

  note(
    code: ConfigIssueCode,
    configPath: string,
    line: number | undefined,
    detail: string,
    once = false,
  ): void {
    if (once) {
      const key = `${code}:${detail.slice(0, 160)}`;
      if (this.noted.has(key)) return;
      this.noted.add(key);
    }
    this.log.note({ code, source: this.source, configPath, ...(line === undefined ? {} : { line }), detail });
  }
}

/**
 * Read one configuration file, never throwing: undefined when absent, unreadable or too large (noted), or
 * when the run has parsed MAX_TOTAL_BYTES already (noted). Records the path in `log.read` the first time.
 */
export async function readConfig(
  reader: ConfigReader,
  path: string,
  source: ConfigSourceKind,
  log: ConfigLog,
): Promise<string | undefined> {
  const p = isoPath(path);
  const key = p.toLowerCase();
  let text: string | undefined;
  if (log.cache.has(key)) text = log.cache.get(key);
  else {
    try {
      text = await reader.readText(p, MAX_CONFIG_BYTES + 1);
    } catch {
      text = undefined;
    }
    if (text !== undefined && text.length > MAX_CONFIG_BYTES) {
      log.note({ code: 'too-large', source, configPath: p, detail: `larger than ${MAX_CONFIG_BYTES} bytes` });
      text = undefined;
    }
    log.cache.set(key, text);
    if (text !== undefined) log.read.push(p);
  }
  if (text === undefined) return undefined;
  if (log.parsed + text.length > MAX_TOTAL_BYTES) {
    if (log.parsed <= MAX_TOTAL_BYTES) {
      log.note({
        code: 'too-many',
        source,
        configPath: p,
        detail: `more than ${MAX_TOTAL_BYTES} bytes parsed`,
      });
      log.parsed = MAX_TOTAL_BYTES + 1;
    }
    return undefined;
  }
  log.parsed += text.length;
  return text;
}

/** A reader's `exists`, never throwing. */
export async function existsSafe(reader: ConfigReader, path: string): Promise<boolean> {
  try {
    return await reader.exists(isoPath(path));
  } catch {
    return false;
  }
}

/** A reader's `list`, never throwing; empty when the reader cannot list. */
export async function listSafe(reader: ConfigReader, dir: string): Promise<string[]> {
  if (!reader.list) return [];
  try {
    return await reader.list(isoPath(dir));
  } catch {
    return [];
  }
}

/**
 * A ConfigReader over an ISO's FsView (case-insensitive lookup, symlinks followed). Reads at most
 * `maxBytes` of a file (a larger file shows as longer than the limit, so the caller reports it).
 */
export function configReaderOf(view: FsView): ConfigReader {
  return {
    async readText(path, maxBytes) {
      try {
        const st = await view.stat(path);
        if (st.kind !== 'file') return undefined;
        const data = await view.readFile(path, { offset: 0, length: Math.min(st.size, maxBytes) });
        // Configs are ASCII/UTF-8; a malformed byte becomes U+FFFD rather than an error.
        return new TextDecoder('utf-8', { fatal: false }).decode(data);
      } catch {
        return undefined;
      }
    },
    async exists(path) {
      try {
        await view.stat(path);
        return true;
      } catch {
        return false;
      }
    },
    async list(dir) {
      try {
        return (await view.list(dir)).map((e) => e.name);
      } catch {
        return [];
      }
    },
  };
}

/**
 * Several file systems read as one, the first that has a file winning: e.g. the ISO 9660 tree, then the
 * El Torito UEFI image's FAT (`openFat`), where some images keep `EFI/BOOT/grub.cfg` or `loader/` only.
 */
export function overlayReader(...readers: ConfigReader[]): ConfigReader {
  return {
    async readText(path, maxBytes) {
      for (const r of readers) {
        const t = await r.readText(path, maxBytes).catch(() => undefined);
        if (t !== undefined) return t;
      }
      return undefined;
    },
    async exists(path) {
      for (const r of readers) if (await r.exists(path).catch(() => false)) return true;
      return false;
    },
    async list(dir) {
      const names = new Map<string, string>();
      for (const r of readers) {
        for (const n of (await r.list?.(dir).catch(() => [])) ?? []) {
          if (!names.has(n.toLowerCase())) names.set(n.toLowerCase(), n);
        }
      }
      return [...names.values()];
    },
  };
}
