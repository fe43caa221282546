/**
 * The ISO analysis of the library's ISOs, once per file version: keyed by path, size, mtime and inode, so a
 * rescan (every watcher event, every `library.list`) reuses what was found and an ISO replaced by another
 * of the same name is read again. The analysis runs in the background, a bounded number at a time with a
 * time limit: a 4 GB ISO on a slow disk never holds the scan, the session or the UI. One cache is shared
 * by every library of the process (the session's and the UI's short-lived ones) and bounded in size.
 */
import type { IsoInfo } from '../shared/iso-boot-types.js';
import type { IsoState } from './library-entries.js';

export type IsoAnalyser = (fullPath: string, rel: string) => Promise<IsoInfo>;

export interface FileVersion {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
}

export interface IsoCacheOptions {
  /** Defaults to the ISO analysis (app/core/iso-boot/ `analyseIsoFile`), loaded on first use. */
  readonly analyse?: IsoAnalyser;
  /** Analyses at once (default 1: they read the disk, and the machine's cores serve clients). */
  readonly concurrency?: number;
  /** An analysis that takes longer is given up ("failed": the ISO boots by El Torito only); default 60 s. */
  readonly timeoutMs?: number;
  /** Remembered file versions (default 512; the oldest go first). */
  readonly maxItems?: number;
}

interface Item {
  state: IsoState;
  /** When it was queued (ms): a listing waits for fresh analyses, not for one long under way. */
  readonly queuedAt: number;
  readonly fullPath: string;
  readonly rel: string;
  readonly settled: Promise<void>;
  settle: () => void;
}

const defaultAnalyser: IsoAnalyser = async (fullPath, rel) => {
  const { analyseIsoFile } = await import('./iso-boot/index.js');
  return analyseIsoFile(fullPath, rel);
};

export class IsoAnalysisCache {
  private readonly items = new Map<string, Item>();
  private readonly queue: string[] = [];
  private running = 0;
  private readonly listeners = new Set<(fullPath: string) => void>();

  constructor(private readonly options: IsoCacheOptions = {}) {}

  /** Called with the ISO's path whenever an analysis settles (done or failed). */
  onSettled(listener: (fullPath: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Where the analysis of this file version stands; an unknown version is queued (never awaited here). */
  lookup(fullPath: string, rel: string, v: FileVersion): IsoState {
    const key = `${fullPath}\0${v.size}\0${v.mtimeMs}\0${v.ino}`;
    const hit = this.items.get(key);
    if (hit) {
      // Recently used stays: Map order is the eviction order.
      this.items.delete(key);
      this.items.set(key, hit);
      return hit.state;
    }
    let settle = (): void => {};
    const settled = new Promise<void>((r) => (settle = r));
    this.items.set(key, {
      state: { state: 'pending' },
      queuedAt: Date.now(),
      fullPath,
      rel,
      settled,
      settle,
    });
    this.evict();
    this.queue.push(key);
    this.pump();
    return { state: 'pending' };
  }

  /**
   * Resolves when the pending analyses of these paths that were queued less than `ms` ago settled, or after
   * `ms` (whichever first): a listing waits a moment for a small ISO, never again for a big one under way.
   */
  async settled(fullPaths: readonly string[], ms: number): Promise<void> {
    const now = Date.now();
    const waits = [...this.items.values()]
      .filter((i) => i.state.state === 'pending' && now - i.queuedAt < ms && fullPaths.includes(i.fullPath))
      .map((i) => i.settled);
    if (waits.length === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(waits),
      new Promise<void>((r) => {
        timer = setTimeout(r, ms);
        timer.unref?.();
      }),
    ]);
    clearTimeout(timer);
  }

  private evict(): void {
    const max = this.options.maxItems ?? 512;
    for (const [key, item] of this.items) {
      if (this.items.size <= max) break;
      if (item.state.state === 'pending') continue;
      this.items.delete(key);
    }
  }

  private pump(): void {
    const limit = this.options.concurrency ?? 1;
    while (this.running < limit && this.queue.length > 0) {
      const key = this.queue.shift() as string;
      const item = this.items.get(key);
      if (!item) continue;
      this.running++;
      void this.run(item).finally(() => {
        this.running--;
        item.settle();
        for (const l of this.listeners) l(item.fullPath);
        this.pump();
      });
    }
  }

  private async run(item: Item): Promise<void> {
    const analyse = this.options.analyse ?? defaultAnalyser;
    const ms = this.options.timeoutMs ?? 60_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const info = await Promise.race([
        analyse(item.fullPath, item.rel),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer in ${Math.round(ms / 1000)} s`)), ms);
          timer.unref?.();
        }),
      ]);
      item.state = { state: 'done', info };
    } catch (err) {
      item.state = { state: 'failed', reason: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The process's cache: the session's library and the UI's listings share what was analysed. */
export const sharedIsoCache = new IsoAnalysisCache();
