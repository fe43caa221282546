/**
 * The netboot library: what is bootable in the session's folder. Scans (bounded, recursive),
 * recognises files by header and name (library-sniff.ts), pairs kernels with initrds, watches the
 * folder and keeps user settings in ONE metadata file, `<root>/.pxe-desk/library.json`.
 * User files are never renamed or rewritten (docs/decisions.md, "netboot folder"); import only copies.
 */
import { watch } from 'node:fs';
import type { Dirent, FSWatcher } from 'node:fs';
import {
  copyFile,
  mkdir,
  readdir,
  readFile,
  rename,
  stat,
  statfs,
  writeFile,
  constants,
} from 'node:fs/promises';
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
import { sniffFile } from './library-sniff.js';
import type { SniffResult } from './library-sniff.js';

export interface NetbootLibraryOptions {
  readonly root: string;
  /** Folder depth scanned below root (default 4). */
  readonly maxDepth?: number;
  /** Files examined at most (default 5000): a huge folder must not stall the session. */
  readonly maxFiles?: number;
  /** Debounce for watch events (default 300 ms). */
  readonly debounceMs?: number;
  readonly logger?: Logger;
}

export const META_DIR = '.pxe-desk';
export const META_FILE = 'library.json';

const EMPTY_META: LibraryMetadata = { version: 1, entries: {}, perMac: {} };

interface Found {
  readonly rel: string;
  readonly name: string;
  readonly dir: string;
  readonly size: number;
  readonly sniff: SniffResult;
}

/** "vmlinuz-6.1.0-13-amd64" → "6.1.0-13-amd64"; "vmlinuz" → "". */
function kernelSuffix(name: string): string {
  return name.replace(/^(vmlinuz|vmlinux|bzimage|linux|kernel)[-_.]?/i, '').replace(/\.efi$/i, '');
}

function initrdSuffix(name: string): string {
  return name
    .replace(/^(initrd|initramfs)(\.img)?[-_.]?/i, '')
    .replace(/(\.img|\.gz|\.xz|\.zst|\.lz4|\.cpio)+$/i, '');
}

function titleFor(f: Found): string {
  if (f.sniff.kind === 'iso' && f.sniff.label) return `${f.sniff.label} (${f.name})`;
  return f.rel;
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

  constructor(private readonly options: NetbootLibraryOptions) {
    this.logger = (options.logger ?? silentLogger).child('library');
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

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async doScan(): Promise<readonly LibraryEntry[]> {
    this.meta = await this.readMeta();
    const found: Found[] = [];
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
        if (d.isDirectory()) {
          if (depth < maxDepth) await walk(rel, depth + 1);
          continue;
        }
        if (!d.isFile()) continue;
        examined++;
        const full = path.join(this.options.root, rel);
        try {
          const st = await stat(full);
          const sniff = await sniffFile(full, d.name);
          found.push({ rel, name: d.name, dir: dirRel, size: st.size, sniff });
        } catch (err) {
          this.logger.debug('cannot read file', { file: rel, error: String(err) });
        }
      }
    };
    await walk('', 0);
    const entries = this.buildEntries(found);
    this.current = entries;
    for (const l of this.listeners) l(entries);
    return entries;
  }

  private buildEntries(found: readonly Found[]): LibraryEntry[] {
    const out: LibraryEntry[] = [];
    const initrds = found.filter((f) => f.sniff.kind === 'initrd');
    for (const f of found) {
      const user: LibraryEntryMeta = this.meta.entries[f.rel] ?? {};
      if (user.hidden) continue;
      let kind: LibraryEntry['kind'];
      let initrd: string | undefined;
      switch (f.sniff.kind) {
        case 'linux-kernel': {
          kind = 'linux';
          const same = initrds.filter((i) => i.dir === f.dir);
          const suffix = kernelSuffix(f.name);
          // Prefer the exact version match (vmlinuz-X ↔ initrd.img-X), else a lone initrd in the folder.
          const match =
            same.find((i) => suffix !== '' && initrdSuffix(i.name) === suffix) ??
            same.find((i) => initrdSuffix(i.name) === '' && suffix === '') ??
            (same.length === 1 ? same[0] : undefined);
          initrd = match?.rel;
          break;
        }
        case 'efi':
          kind = 'efi';
          break;
        case 'ipxe-script':
          kind = 'ipxe-script';
          break;
        case 'nbp':
          kind = 'nbp';
          break;
        case 'iso':
          kind = 'iso';
          break;
        case 'disk':
          kind = 'disk';
          break;
        case 'wim':
          kind = 'wim';
          break;
        default:
          continue;
      }
      const arch: readonly BootArch[] =
        user.arch ?? (f.sniff.kind === 'iso' && f.sniff.arch.length === 0 ? ['bios'] : f.sniff.arch);
      const e: LibraryEntry = {
        id: f.rel,
        kind,
        title: user.title ?? titleFor(f),
        path: f.rel,
        arch,
        size: f.size,
        ...(initrd ? { initrd } : {}),
        ...(user.cmdline !== undefined ? { cmdline: user.cmdline } : {}),
        ...(f.sniff.label ? { label: f.sniff.label } : {}),
      };
      out.push(e);
    }
    return out;
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
   * Copies a file into the library (never moves; refuses to overwrite; checks free space first).
   * Returns the root-relative path.
   */
  async importFile(source: string, targetName?: string): Promise<string> {
    const name = targetName ?? path.basename(source);
    if (name.includes('/') || name.includes('\\') || name.startsWith('.') || name.includes('\0'))
      throw new Error(`invalid name: ${name}`);
    const st = await stat(source);
    if (!st.isFile()) throw new Error(`not a file: ${source}`);
    const fs = await statfs(this.options.root);
    const free = Number(fs.bavail) * Number(fs.bsize);
    if (free < st.size + 16 * 1024 * 1024)
      throw new Error(`not enough free space for ${name} (${st.size} bytes)`);
    const dest = path.join(this.options.root, name);
    // COPYFILE_EXCL: fail rather than overwrite a user's file.
    await copyFile(source, dest, constants.COPYFILE_EXCL);
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
