/**
 * Main-side implementation of the UI contract (app/shared/ipc-contract.ts), shared by the Electron shell
 * (IPC) and the CLI's `serve --ui` (WebSocket). Every payload is validated with the contract's guards
 * before anything runs; failures come back as `{ ok: false, code, message }`, never as exceptions.
 */
import { access, mkdir, readdir, stat, statfs } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { isoEntryMetaKey } from '../shared/iso-boot-types.js';
import { importIntoLibrary } from './library-import.js';
import { sharedIsoCache, type IsoAnalysisCache } from './library-iso-cache.js';
import { sniffFile } from './library-sniff.js';
import { NetbootLibrary } from './netboot-library.js';
import {
  CONTRACT_VERSION,
  isChannel,
  validateRequest,
  type Channel,
  type ContractEvent,
  type ImportProgress,
  type LibraryEvent,
  type LibraryListing,
  type Req,
  type Res,
  type UiDefaults,
} from '../shared/ipc-contract.js';
import type { LibraryEntryMeta, MacOverride } from '../shared/library-types.js';
import type { Result } from '../shared/runtime.js';
import type {
  NicInfo,
  ProbeResult,
  SessionConfig,
  SessionEvent,
  SessionSnapshot,
} from '../shared/session-types.js';

/** What ui-api needs from the session controller (SessionController satisfies it). */
export interface UiSession {
  start(config: SessionConfig): Promise<SessionSnapshot>;
  stop(): Promise<SessionSnapshot>;
  snapshot(): SessionSnapshot;
  onEvent(listener: (e: SessionEvent) => void): () => void;
  clientAction(mac: string, action: 'forget' | 'block' | 'unblock'): unknown;
  /** Per-MAC boot override (SessionController.setBootOverride); absent → 'not-supported'. */
  setBootOverride?(mac: string, override: MacOverride | undefined): Promise<void>;
  /** Re-reads the netboot folder (SessionController.rescan) so a running session serves library edits. */
  rescan?(): Promise<unknown>;
}

export interface UiApiOptions {
  readonly session: UiSession;
  readonly listInterfaces: () => Promise<NicInfo[]>;
  readonly appVersion?: string;
  /** The command line's starting mode and folder (`serve --ui --mode files`); the desktop app has none. */
  readonly defaults?: UiDefaults;
  /** Native folder dialog (Electron only); absent → 'not-supported'. */
  readonly pickFolder?: () => Promise<string | null>;
  /** Maps an import `source` to a real path (WebSocket uploads use ids); default: identity. */
  readonly resolveSource?: (source: string) => string | undefined;
  /** Preflight probe on a NIC (issue 10); absent → 'not-supported'. */
  readonly runProbe?: (iface: string) => Promise<ProbeResult>;
  /** Free bytes in a folder's filesystem (default statfs); injectable so the disk-full path is testable. */
  readonly freeSpace?: (dir: string) => Promise<number>;
  /** Session report as JSON + HTML (issue 10); absent → 'not-supported'. */
  readonly exportReport?: () => Promise<{ json: string; html: string }>;
  /** Where ISO analyses are kept (default: the process's shared cache, which the session's library uses too). */
  readonly isoCache?: IsoAnalysisCache;
  /** Import progress events at most this often per file (ms, default 250). */
  readonly progressMs?: number;
}

/** How long a listing waits for ISO analyses it started, so small ISOs show analysed at once (ms). */
const LIST_ANALYSIS_WAIT_MS = 1500;

export interface UiApi {
  handle(channel: unknown, payload: unknown): Promise<Result<unknown>>;
  onEvent(listener: (e: ContractEvent) => void): () => void;
}

const fail = (code: string, message: string): Result<never> => ({ ok: false, code, message });

function errorResult(error: unknown): Result<never> {
  if (typeof error === 'object' && error !== null) {
    const e = error as { code?: unknown; message?: unknown };
    if (typeof e.code === 'string' && typeof e.message === 'string') return fail(e.code, e.message);
    if (typeof e.message === 'string') return fail('internal', e.message);
  }
  return fail('internal', String(error));
}

/** Joins a base name under root and proves the result stays inside (defence in depth after the guard). */
export function confinedPath(root: string, name: string): string | undefined {
  const base = resolve(root);
  const full = resolve(base, name);
  return full.startsWith(base + sep) ? full : undefined;
}

const coded = (code: string, message: string): Error => Object.assign(new Error(message), { code });
const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;
const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

/** Files, recognised entries and settings of a netboot folder (read-only: a scan, no watcher). */
const statfsFree = async (dir: string): Promise<number> => {
  const fs = await statfs(dir);
  return fs.bavail * fs.bsize;
};

export async function listLibrary(
  root: string,
  freeSpace: (dir: string) => Promise<number> = statfsFree,
  isoCache: IsoAnalysisCache = sharedIsoCache,
): Promise<LibraryListing> {
  let dirents;
  try {
    dirents = await readdir(root, { withFileTypes: true });
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT')
      return { exists: false, files: [], entries: [], perMac: {} };
    throw error;
  }
  const files: { name: string; size: number }[] = [];
  for (const d of dirents) {
    if (!d.isFile() || d.name.startsWith('.')) continue;
    files.push({ name: d.name, size: (await stat(join(root, d.name))).size });
  }
  files.sort((a, b) => a.name.localeCompare(b.name));
  const library = new NetbootLibrary({ root, isoCache });
  await library.scan();
  // A big ISO's analysis goes on in the background; a `library-changed` event says when it is done.
  const entries = await library.analysed(LIST_ANALYSIS_WAIT_MS);
  library.close();
  const meta = library.metadata();
  const free = await freeSpace(root).catch(() => undefined);
  return {
    exists: true,
    files,
    entries: [...entries],
    ...(meta.defaultEntry !== undefined ? { defaultEntry: meta.defaultEntry } : {}),
    perMac: meta.perMac,
    ...(free !== undefined ? { freeBytes: free } : {}),
  };
}

export function createUiApi(options: UiApiOptions): UiApi {
  const { session } = options;
  const freeSpace = options.freeSpace ?? statfsFree;
  const isoCache = options.isoCache ?? sharedIsoCache;
  const libraryListeners = new Set<(e: LibraryEvent) => void>();
  /** Imports under way per netboot folder (library.cancelImport stops them). */
  const importing = new Map<string, Set<AbortController>>();
  const emit = (e: LibraryEvent): void => {
    for (const l of libraryListeners) l(e);
  };

  const handlers: { [C in Channel]: (req: Req<C>) => Promise<Res<C>> } = {
    'app.version': () => Promise.resolve({ contract: CONTRACT_VERSION, app: options.appVersion ?? '0.0.0' }),
    'ui.defaults': () => Promise.resolve(options.defaults ?? {}),
    'interfaces.list': () => options.listInterfaces(),
    'session.snapshot': () => Promise.resolve(session.snapshot()),
    'session.start': (config) => session.start(config),
    'session.stop': () => session.stop(),
    'client.action': async ({ mac, action }) => {
      if (action.kind === 'boot-entry' || action.kind === 'boot-once' || action.kind === 'boot-menu') {
        if (!session.setBootOverride) throw coded('not-supported', 'Per-client boot entries need a session.');
        await session.setBootOverride(
          mac,
          action.kind === 'boot-menu'
            ? undefined
            : { entry: action.entry, ...(action.kind === 'boot-once' ? { once: true } : {}) },
        );
        return null;
      }
      session.clientAction(mac, action.kind);
      return null;
    },
    'library.list': ({ root }) => listLibrary(root, freeSpace, isoCache),
    'library.update': async ({ root, entry, bootEntry, title, cmdline, makeDefault }) => {
      const library = new NetbootLibrary({ root, isoCache });
      await library.scan();
      const found = (await library.analysed(LIST_ANALYSIS_WAIT_MS)).find((e) => e.id === entry);
      library.close();
      if (!found)
        throw coded('unknown-entry', `"${entry}" is not in the netboot library (rescan the folder?).`);
      // One boot entry of an ISO keeps its own settings, keyed `<entry id>#<boot entry id>`.
      if (bootEntry !== undefined && !found.iso?.entries.some((b) => b.id === bootEntry))
        throw coded(
          'unknown-entry',
          found.iso
            ? `"${bootEntry}" is not a boot entry of ${entry}.`
            : `${entry} is still being read: try again in a moment.`,
        );
      if (bootEntry !== undefined && makeDefault === true)
        throw coded('invalid-payload', 'The default entry is a library entry, not one boot entry of an ISO.');
      const key = bootEntry !== undefined ? isoEntryMetaKey(entry, bootEntry) : entry;
      if (title !== undefined || cmdline !== undefined) {
        // '' clears a user setting, so the generated title / no command line comes back. The library
        // merges patches, so a cleared field is passed as undefined (dropped when written as JSON).
        const current = library.metadata().entries[key] ?? {};
        const nextTitle = title !== undefined ? title.trim() : current.title;
        const nextCmdline = cmdline !== undefined ? cmdline.trim() : current.cmdline;
        await library.setEntryMeta(key, {
          ...current,
          title: nextTitle || undefined,
          cmdline: nextCmdline || undefined,
        } as LibraryEntryMeta);
      }
      if (makeDefault === true) await library.setDefault(entry);
      // A running session has its own library instance (its watcher ignores the metadata folder).
      if (session.snapshot().state === 'running') await session.rescan?.();
      return listLibrary(root, freeSpace, isoCache);
    },
    'library.import': async ({ root, files, link }) => {
      await mkdir(root, { recursive: true });
      const plan: { src: string; dst: string; name: string; size: number; upload: boolean }[] = [];
      // Everything is checked before the first byte is copied: an import is all or nothing.
      for (const f of files) {
        const src = (options.resolveSource ?? ((s: string) => s))(f.source);
        const dst = confinedPath(root, f.name);
        if (!src || !dst) throw coded('bad-path', `"${f.name}" cannot be imported.`);
        const st = await stat(src);
        if (!st.isFile()) throw coded('not-a-file', `"${f.name}" is not a file.`);
        if (st.size === 0) throw coded('not-bootable', `"${f.name}" is empty.`);
        // Recognised by its header like the library does (not by name): what cannot boot is refused
        // with a message instead of sitting in the folder unseen.
        const kind = (await sniffFile(src, f.name)).kind;
        if (kind === 'unknown') {
          throw coded(
            'not-bootable',
            `"${f.name}" cannot boot: it is not a Linux kernel, initrd, EFI program, ISO, disk image, WIM or iPXE script.`,
          );
        }
        if (await exists(dst)) throw coded('duplicate', `"${f.name}" is already in the library.`);
        if (plan.some((p) => p.dst === dst)) throw coded('duplicate', `"${f.name}" is dropped twice.`);
        // A source the server had to resolve is an upload id: the bytes are PXE Desk's own temp copy.
        plan.push({ src, dst, name: f.name, size: st.size, upload: src !== f.source });
      }
      const need = link === true ? 0 : plan.reduce((n, p) => n + p.size, 0);
      const free = await freeSpace(root);
      if (need > free) {
        throw coded(
          'disk-full',
          `Not enough disk space in ${root}: ${mb(need)} needed, ${mb(free)} free. Free some space or choose another folder.`,
        );
      }
      const copied: string[] = [];
      const linked: string[] = [];
      const abort = new AbortController();
      const running = importing.get(root) ?? new Set<AbortController>();
      importing.set(root, running.add(abort));
      try {
        for (const [i, p] of plan.entries()) {
          if (abort.signal.aborted) throw coded('cancelled', `The import of "${p.name}" was cancelled.`);
          const started = Date.now();
          const progress = (bytes: number, state: ImportProgress['state']): void =>
            emit({
              type: 'library-import',
              progress: {
                root,
                name: p.name,
                index: i + 1,
                count: plan.length,
                bytes,
                total: p.size,
                elapsedMs: Date.now() - started,
                state,
                ...(link === true ? { link: true as const } : {}),
              },
            });
          progress(0, 'copying');
          let last = 0;
          try {
            // Copied to a hidden name and renamed when whole, never over an existing file; the source is
            // only read (library-import.ts). A link shares the source's bytes (same disk only).
            const how = await importIntoLibrary(p.src, root, p.name, {
              ...(link === true ? { link: true } : {}),
              // An upload is linked where it can be (no second copy of its bytes on the same disk).
              ...(p.upload ? { preferLink: true } : {}),
              progressMs: options.progressMs ?? 250,
              signal: abort.signal,
              onProgress: ({ bytes }) => {
                last = bytes;
                if (bytes < p.size) progress(bytes, 'copying');
              },
            });
            // For the user an upload was copied (their file stays theirs), however its temp copy got here.
            (how === 'linked' && !p.upload ? linked : copied).push(p.dst);
            progress(p.size, 'done');
          } catch (error) {
            progress(last, abort.signal.aborted ? 'cancelled' : 'failed');
            throw error;
          }
        }
      } finally {
        running.delete(abort);
        if (running.size === 0) importing.delete(root);
      }
      return { copied, linked };
    },
    'library.cancelImport': ({ root }) => {
      for (const a of importing.get(root) ?? []) a.abort();
      return Promise.resolve(null);
    },
    'dialog.pickFolder': () =>
      options.pickFolder
        ? options.pickFolder()
        : Promise.reject(
            Object.assign(new Error('No folder dialog here: type the path.'), { code: 'not-supported' }),
          ),
    'probe.run': ({ iface }) =>
      options.runProbe
        ? options.runProbe(iface)
        : Promise.reject(
            Object.assign(new Error('Probing is not available here.'), { code: 'not-supported' }),
          ),
    'report.export': () =>
      options.exportReport
        ? options.exportReport()
        : Promise.reject(
            Object.assign(new Error('Reports are not available here.'), { code: 'not-supported' }),
          ),
  };

  return {
    async handle(channel, payload) {
      if (!isChannel(channel)) return fail('unknown-channel', 'Unknown channel.');
      const v = validateRequest(channel, payload);
      if (!v.ok) return v;
      try {
        const handler = handlers[channel] as (req: unknown) => Promise<unknown>;
        return { ok: true, value: await handler(v.value) };
      } catch (error) {
        return errorResult(error);
      }
    },
    onEvent: (listener) => {
      libraryListeners.add(listener);
      const offSession = session.onEvent(listener);
      // An ISO analysis that finished after a listing: the page lists the folder again.
      const offIso = isoCache.onSettled((path) => listener({ type: 'library-changed', path }));
      return () => {
        libraryListeners.delete(listener);
        offSession();
        offIso();
      };
    },
  };
}
