/**
 * The netboot library: what is bootable in the session's folder. Scans (bounded, recursive),
 * recognises files by header and name (library-sniff.ts), pairs kernels with initrds, watches the
 * folder and keeps user settings in ONE metadata file, `<root>/.pxe-desk/library.json`.
 * User files are never renamed or rewritten (docs/decisions.md, "netboot folder"); import only copies.
 */
import { watch } from 'node:fs';
import type { Dirent, FSWatcher } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type {
  BootArch,
  LibraryEntry,
  LibraryEntryMeta,
  LibraryMetadata,
  MacOverride,
} from '../shared/library-types.js';
import { silentLogger } from '../shared/runtime.js';
import type { Logger } from '../shared/runtime.js';
import { buildEntries } from './library-entries.js';
import type { FoundFile, IsoState } from './library-entries.js';
import { META_DIR, importIntoLibrary, sweepStaleImports } from './library-import.js';
import type { ImportOptions } from './library-import.js';
import { type IsoAnalysisCache, sharedIsoCache } from './library-iso-cache.js';
import type { FileVersion } from './library-iso-cache.js';
import { sniffFile, type SniffResult } from './library-sniff.js';
import { readSignatures, withSignatures } from './library-signature.js';
import { readTreePairs, type TreePairs } from './library-tree-config.js';

export interface NetbootLibraryOptions {
  readonly root: string;
  /** Folder depth scanned below root (default 4). */
  readonly maxDepth?: number;
  /** Files examined at most (default 5000): a huge folder must not stall the session. */
  readonly maxFiles?: number;
  /** Debounce for watch events (default 300 ms). */
  readonly debounceMs?: number;
  readonly logger?: Logger;
  /** Where ISO analyses are kept (default: the process's shared cache). */
  readonly isoCache?: IsoAnalysisCache;
}

export { META_DIR };
export const META_FILE = 'library.json';

const EMPTY_META: LibraryMetadata = { version: 1, entries: {}, perMac: {} };

interface Found extends FoundFile {
  readonly version: FileVersion;
}

/**
 * What each file version is (path, size, mtime, inode), remembered across rescans and library instances:
 * a rescan after a watcher event reads only the files that changed (d-i's tree: ~290 files, a rescan 200 → 40 ms).
 */
const sniffs = new Map<string, SniffResult>();
const MAX_SNIFFS = 20_000;

async function sniffCached(full: string, name: string, v: FileVersion): Promise<SniffResult> {
  const key = `${full}\0${v.size}\0${v.mtimeMs}\0${v.ino}`;
  const hit = sniffs.get(key);
  if (hit) return hit;
  const result = await sniffFile(full, name);
  if (sniffs.size >= MAX_SNIFFS) sniffs.delete(sniffs.keys().next().value as string);
  sniffs.set(key, result);
  return result;
}

function isMacKey(mac: string): boolean {
  return /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac);
}

export class NetbootLibrary {
  private current: LibraryEntry[] = [];
  private meta: LibraryMetadata = EMPTY_META;
  private readonly listeners = new Set<(entries: readonly LibraryEntry[]) => void>();
  private watcher: FSWatcher | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly logger: Logger;
  private scanning: Promise<readonly LibraryEntry[]> | undefined;
  private rescanQueued = false;
  private found: readonly Found[] = [];
  private treePairs: TreePairs = new Map();
  private swept = false;
  private readonly isoCache: IsoAnalysisCache;
  private offIso: (() => void) | undefined;

  constructor(private readonly options: NetbootLibraryOptions) {
    this.logger = (options.logger ?? silentLogger).child('library');
    this.isoCache = options.isoCache ?? sharedIsoCache;
  }

  get root(): string {
    return this.options.root;
  }

  entries(): readonly LibraryEntry[] {
    return this.current;
  }

  metadata(): LibraryMetadata {
    return this.meta;
  }

  onChange(listener: (entries: readonly LibraryEntry[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Rescans; concurrent calls share one scan and one follow-up. */
  async scan(): Promise<readonly LibraryEntry[]> {
    if (this.scanning) {
      this.rescanQueued = true;
      return this.scanning;
    }
    this.scanning = this.doScan().finally(() => {
      this.scanning = undefined;
      if (this.rescanQueued) {
        this.rescanQueued = false;
        void this.scan();
      }
    });
    return this.scanning;
  }

  /** Live updates via fs.watch (recursive), debounced. */
  watch(): void {
    if (this.watcher) return;
    try {
      this.watcher = watch(this.options.root, { recursive: true }, (_event, file) => {
        if (typeof file === 'string' && file.startsWith(META_DIR)) return;
        if (this.timer) clearTimeout(this.timer);
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.scan().catch((err: unknown) => this.logger.warn('rescan failed', { error: String(err) }));
        }, this.options.debounceMs ?? 300);
      });
      this.watcher.on('error', (err) => this.logger.warn('watch failed', { error: err.message }));
    } catch (err) {
      this.logger.warn('cannot watch the netboot folder', { error: String(err) });
    }
  }

  /**
   * Resolves when the ISO analyses this scan started have settled (entries rebuilt), or after `ms`:
   * a listing may wait a moment so small ISOs show analysed at once.
   */
  async analysed(ms: number): Promise<readonly LibraryEntry[]> {
    const isos = this.found.filter((f) => f.sniff.kind === 'iso').map((f) => this.fullPath(f.rel));
    await this.isoCache.settled(isos, ms);
    this.rebuild();
    return this.current;
  }

  close(): void {
    this.offIso?.();
    this.offIso = undefined;
    this.watcher?.close();
    this.watcher = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async doScan(): Promise<readonly LibraryEntry[]> {
    // Half copies left by an import whose process ended (inside .pxe-desk/ only), once per library.
    if (!this.swept) {
      this.swept = true;
      await sweepStaleImports(this.options.root).catch(() => undefined);
    }
    this.meta = await this.readMeta();
    const found: Found[] = [];
    // A netboot tree's own boot configurations (symlinked ones too: d-i links pxelinux.cfg/ at its top).
    const configs: string[] = [];
    const maxDepth = this.options.maxDepth ?? 4;
    const maxFiles = this.options.maxFiles ?? 5000;
    let examined = 0;
    const walk = async (dirRel: string, depth: number): Promise<void> => {
      let names: Dirent[];
      try {
        names = await readdir(path.join(this.options.root, dirRel), { withFileTypes: true });
      } catch {
        return;
      }
      names.sort((a, b) => a.name.localeCompare(b.name));
      for (const d of names) {
        if (d.name.startsWith('.') || examined >= maxFiles) continue;
        const rel = dirRel ? `${dirRel}/${d.name}` : d.name;
        if (d.name === 'pxelinux.cfg' && d.isSymbolicLink()) configs.push(`${rel}/default`);
        if (
          (d.name === 'default' && /(^|\/)pxelinux\.cfg$/.test(dirRel)) ||
          (d.name === 'grub.cfg' && /(^|\/)grub$/.test(dirRel))
        )
          configs.push(rel);
        if (d.isDirectory()) {
          if (depth < maxDepth) await walk(rel, depth + 1);
          continue;
        }
        if (!d.isFile()) continue;
        examined++;
        const full = path.join(this.options.root, rel);
        try {
          const st = await stat(full);
          const version = { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
          const sniff = await sniffCached(full, d.name, version);
          found.push({ rel, name: d.name, dir: dirRel, size: st.size, sniff, version });
        } catch (err) {
          this.logger.debug('cannot read file', { file: rel, error: String(err) });
        }
      }
    };
    await walk('', 0);
    await readSignatures(this.options.root, found); // kernels and EFI programs: headers only, cached
    this.treePairs = await readTreePairs(this.options.root, configs);
    this.found = found;
    // An analysis that settles later rebuilds the entries (and tells the listeners) without a rescan.
    this.offIso ??= this.isoCache.onSettled((full) => {
      if (this.found.some((f) => f.sniff.kind === 'iso' && this.fullPath(f.rel) === full)) this.rebuild();
    });
    return this.rebuild();
  }

  private fullPath(rel: string): string {
    return path.join(this.options.root, rel);
  }

  /** Entries from the last scan's files, the metadata and the ISO analyses as they stand now. */
  private rebuild(): readonly LibraryEntry[] {
    const byRel = new Map(this.found.map((f) => [f.rel, f]));
    const isoState = (rel: string): IsoState | undefined => {
      const f = byRel.get(rel);
      return f ? this.isoCache.lookup(this.fullPath(rel), rel, f.version) : undefined;
    };
    // Signatures inside analysed ISOs are read in the background; a rebuild follows when they are in.
    const entries = withSignatures(
      this.options.root,
      buildEntries(this.found, this.meta, isoState, this.treePairs),
      this.found,
      { onRead: () => this.rebuild() },
    );
    this.current = entries;
    for (const l of this.listeners) l(entries);
    return entries;
  }

  private metaPath(): string {
    return path.join(this.options.root, META_DIR, META_FILE);
  }

  private async readMeta(): Promise<LibraryMetadata> {
    let text: string;
    try {
      text = await readFile(this.metaPath(), 'utf8');
    } catch {
      return EMPTY_META;
    }
    try {
      const v: unknown = JSON.parse(text);
      return parseMetadata(v);
    } catch (err) {
      this.logger.warn('library metadata unreadable; using defaults', { error: String(err) });
      return EMPTY_META;
    }
  }

  /** Writes the metadata atomically (temp + rename) inside `.pxe-desk/`; nothing else is written. */
  private async writeMeta(next: LibraryMetadata): Promise<void> {
    const dir = path.join(this.options.root, META_DIR);
    await mkdir(dir, { recursive: true });
    const tmp = path.join(dir, `${META_FILE}.${process.pid}.tmp`);
    await writeFile(tmp, `${JSON.stringify(next, null, 2)}\n`);
    await rename(tmp, this.metaPath());
    this.meta = next;
  }

  async setEntryMeta(id: string, patch: LibraryEntryMeta): Promise<void> {
    const cur = await this.readMeta();
    const merged = { ...(cur.entries[id] ?? {}), ...patch };
    await this.writeMeta({ ...cur, entries: { ...cur.entries, [id]: merged } });
    await this.scan();
  }

  async setDefault(id: string | undefined, timeoutSeconds?: number): Promise<void> {
    const cur = await this.readMeta();
    const { defaultEntry: _d, ...rest } = cur;
    void _d;
    await this.writeMeta({
      ...rest,
      ...(id !== undefined ? { defaultEntry: id } : {}),
      ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
    });
  }

  /** Per-MAC override; `undefined` clears it. */
  async setMacOverride(mac: string, override: MacOverride | undefined): Promise<void> {
    const key = mac.toLowerCase();
    if (!isMacKey(key)) throw new Error(`not a MAC address: ${mac}`);
    const cur = await this.readMeta();
    const perMac = { ...cur.perMac };
    if (override) perMac[key] = override;
    else delete perMac[key];
    await this.writeMeta({ ...cur, perMac });
  }

  /**
   * Copies (or links) a file into the library: never moves it, never overwrites, checks free space first;
   * the copy is hidden until complete (library-import.ts). Returns the root-relative path.
   */
  async importFile(source: string, targetName?: string, options: ImportOptions = {}): Promise<string> {
    const name = targetName ?? path.basename(source);
    if (name.includes('/') || name.includes('\\') || name.startsWith('.') || name.includes('\0'))
      throw new Error(`invalid name: ${name}`);
    const st = await stat(source);
    if (!st.isFile()) throw new Error(`not a file: ${source}`);
    if (!options.link) {
      const fs = await statfs(this.options.root);
      const free = Number(fs.bavail) * Number(fs.bsize);
      if (free < st.size + 16 * 1024 * 1024)
        throw new Error(`not enough free space for ${name} (${st.size} bytes)`);
    }
    await importIntoLibrary(source, this.options.root, name, options);
    await this.scan();
    return name;
  }
}

const ARCHES: readonly BootArch[] = ['bios', 'uefi-x64', 'uefi-ia32', 'uefi-arm64'];

/** Validates untrusted JSON into LibraryMetadata, dropping what does not fit. */
export function parseMetadata(v: unknown): LibraryMetadata {
  if (typeof v !== 'object' || v === null) return EMPTY_META;
  const o = v as Record<string, unknown>;
  const entries: Record<string, LibraryEntryMeta> = {};
  if (typeof o.entries === 'object' && o.entries !== null) {
    for (const [k, raw] of Object.entries(o.entries as Record<string, unknown>)) {
      if (typeof raw !== 'object' || raw === null) continue;
      const r = raw as Record<string, unknown>;
      const arch = Array.isArray(r.arch)
        ? r.arch.filter((a): a is BootArch => ARCHES.includes(a as BootArch))
        : undefined;
      entries[k] = {
        ...(typeof r.title === 'string' ? { title: r.title } : {}),
        ...(typeof r.cmdline === 'string' ? { cmdline: r.cmdline } : {}),
        ...(arch ? { arch } : {}),
        ...(r.hidden === true ? { hidden: true } : {}),
      };
    }
  }
  const perMac: Record<string, MacOverride> = {};
  if (typeof o.perMac === 'object' && o.perMac !== null) {
    for (const [k, raw] of Object.entries(o.perMac as Record<string, unknown>)) {
      if (!isMacKey(k) || typeof raw !== 'object' || raw === null) continue;
      const r = raw as Record<string, unknown>;
      if (typeof r.entry !== 'string') continue;
      perMac[k] = r.once === true ? { entry: r.entry, once: true } : { entry: r.entry };
    }
  }
  return {
    version: 1,
    entries,
    perMac,
    ...(typeof o.defaultEntry === 'string' ? { defaultEntry: o.defaultEntry } : {}),
    ...(typeof o.timeoutSeconds === 'number' && o.timeoutSeconds >= 0 && o.timeoutSeconds <= 3600
      ? { timeoutSeconds: Math.floor(o.timeoutSeconds) }
      : {}),
  };
}
