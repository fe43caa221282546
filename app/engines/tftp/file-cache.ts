/**
 * Shared file table and chunk cache for the TFTP engine.
 *
 * Why: a classroom boots the same few files at once. One open handle per file (keyed by device,
 * inode, size and mtime, like dnsmasq sharing its file handles, test-catalogue T23) and one positioned
 * read per chunk shared by every transfer of that file keep the thread pool off the per-packet path:
 * a DATA packet is then a synchronous memcpy from a chunk already in memory (lockstep throughput is
 * bound by the time between an ACK and the next DATA). Chunks are loaded ahead of need (prefetch) and
 * evicted oldest-first past a byte budget, so memory stays bounded however many files are served.
 * A file inside an ISO image (issue 18) is its extents of the image: chunks are read from there.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { ExtentMap } from '../files/extent-map.js';
import type { Extent } from '../iso/index.js';

/** Bytes a transfer reads from: a shared file or an in-memory buffer (virtual files, netascii). */
export interface Source {
  readonly size: number;
  /** Chunk `i` holds bytes [i * chunkSize, (i + 1) * chunkSize). */
  readonly chunkSize: number;
  /** The chunk when it is in memory (the synchronous hot path), else undefined. */
  chunk(index: number): Buffer | undefined;
  /** Loads a chunk; concurrent callers share one read. */
  load(index: number): Promise<Buffer>;
  /** The transfer no longer needs the source (the last release closes the file). */
  release(): Promise<void>;
}

export function bufferSource(data: Buffer): Source {
  const empty = Buffer.alloc(0);
  return {
    size: data.length,
    chunkSize: Math.max(1, data.length),
    chunk: (index) => (index === 0 ? data : undefined),
    load: (index) => Promise.resolve(index === 0 ? data : empty),
    release: () => Promise.resolve(),
  };
}

/** What identifies one version of a file (fs.Stats has these; workers receive them as plain data). */
export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

export type Opened =
  | { readonly ok: true; readonly source: Source }
  | { readonly ok: false; readonly reason: string; readonly errno?: string };

let nextFileId = 1;

class SharedFile implements Source {
  readonly id = nextFileId++;
  refs = 1;
  private closed = false;
  readonly chunks = new Map<number, Buffer>();
  private readonly inflight = new Map<number, Promise<Buffer>>();

  constructor(
    private readonly cache: FileCache,
    readonly key: string,
    private readonly handle: FileHandle,
    readonly size: number,
    readonly chunkSize: number,
    /** A member of an ISO image: where its bytes are in the file `handle` reads. */
    private readonly extents?: ExtentMap,
  ) {}

  chunk(index: number): Buffer | undefined {
    return this.chunks.get(index);
  }

  load(index: number): Promise<Buffer> {
    const hit = this.chunks.get(index);
    if (hit) return Promise.resolve(hit);
    let pending = this.inflight.get(index);
    if (!pending) {
      pending = this.read(index).finally(() => this.inflight.delete(index));
      this.inflight.set(index, pending);
    }
    return pending;
  }

  private async read(index: number): Promise<Buffer> {
    if (this.closed) throw new Error('file already closed');
    const start = index * this.chunkSize;
    const length = Math.max(0, Math.min(this.chunkSize, this.size - start));
    const buffer = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const piece = this.extents
        ? this.extents.piece(start + got, length - got)
        : { at: start + got, length: length - got, sparse: false };
      if (!piece) break;
      if (piece.sparse) {
        buffer.fill(0, got, got + piece.length);
        got += piece.length;
        continue;
      }
      const { bytesRead } = await this.handle.read(buffer, got, piece.length, piece.at);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    // The file shrank under us (someone rewrote it mid-transfer): fail rather than send garbage.
    if (got < length) throw new Error('file shrank while being served');
    if (!this.closed) {
      this.chunks.set(index, buffer);
      this.cache.account(this, index, length);
    }
    return buffer;
  }

  async release(): Promise<void> {
    if (this.closed || --this.refs > 0) return;
    this.closed = true;
    this.cache.forget(this);
    this.chunks.clear();
    // FileHandle.close waits for reads still in flight (prefetches) before closing the descriptor.
    await this.handle.close().catch(() => undefined);
  }
}

export interface FileCacheOptions {
  /** Bytes per shared read (default 128 KiB). */
  readonly chunkSize?: number;
  /** Cached bytes across all files before the oldest chunks are dropped (default 64 MiB). */
  readonly budget?: number;
}

export class FileCache {
  readonly chunkSize: number;
  private readonly budget: number;
  private readonly files = new Map<string, SharedFile>();
  private readonly opening = new Map<string, Promise<Opened>>();
  /** Insertion-ordered chunk list for eviction (oldest first). */
  private readonly order = new Map<string, { file: SharedFile; index: number; bytes: number }>();
  private bytes = 0;

  constructor(options: FileCacheOptions = {}) {
    this.chunkSize = Math.max(64 * 1024, options.chunkSize ?? 128 * 1024);
    // At least a few chunks, so a block spanning two chunks never evicts its own other half.
    this.budget = Math.max(4 * this.chunkSize, options.budget ?? 64 * 1024 * 1024);
  }

  /** Distinct files open right now (tests: a file served to many clients is opened once). */
  openFiles(): number {
    return this.files.size;
  }

  cachedBytes(): number {
    return this.bytes;
  }

  /**
   * Opens `path` (already resolved and checked by the caller), sharing the handle with transfers of
   * the same file version; concurrent first requests wait for one open instead of racing their own.
   */
  async open(path: string, info: FileIdentity, extents?: readonly Extent[]): Promise<Opened> {
    // A member of an image: the image's identity and the member's layout (two members never share it).
    const layout = extents?.map((e) => `${e.offset}+${e.length}${e.sparse ? 's' : ''}`).join(',');
    const key = `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}${layout !== undefined ? `@${layout}` : ''}`;
    const shared = this.files.get(key);
    if (shared) {
      shared.refs++;
      return { ok: true, source: shared };
    }
    const pending = this.opening.get(key);
    if (!pending) {
      const first = this.openNew(key, path, info, extents).finally(() => this.opening.delete(key));
      this.opening.set(key, first);
      return first; // the opener holds the first reference
    }
    const result = await pending;
    if (!result.ok) return result;
    const file = this.files.get(key);
    if (file) {
      file.refs++;
      return { ok: true, source: file };
    }
    return this.open(path, info, extents); // it was already released again: open anew
  }

  /** O_NONBLOCK so a FIFO swapped in after the caller's stat cannot block a pool thread (S7). */
  private async openNew(
    key: string,
    path: string,
    info: FileIdentity,
    extents?: readonly Extent[],
  ): Promise<Opened> {
    let handle: FileHandle;
    try {
      handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (error) {
      const code = errnoOf(error);
      return { ok: false, reason: `cannot open (${code ?? 'error'})`, ...(code ? { errno: code } : {}) };
    }
    try {
      const opened = await handle.stat();
      if (!opened.isFile() || opened.ino !== info.ino || opened.dev !== info.dev) {
        await handle.close();
        return { ok: false, reason: 'not a regular file' };
      }
    } catch (error) {
      await handle.close().catch(() => undefined);
      return { ok: false, reason: `cannot open (${errnoOf(error) ?? 'error'})` };
    }
    const map = extents ? new ExtentMap(extents) : undefined;
    const outside = (e: Extent): boolean =>
      !Number.isSafeInteger(e.offset) ||
      !Number.isSafeInteger(e.length) ||
      e.offset < 0 ||
      e.length < 0 ||
      (!e.sparse && e.offset + e.length > info.size);
    if (map && extents?.some(outside)) {
      await handle.close();
      return { ok: false, reason: 'member extents outside the image' };
    }
    const file = new SharedFile(this, key, handle, map ? map.size : info.size, this.chunkSize, map);
    this.files.set(key, file);
    return { ok: true, source: file };
  }

  account(file: SharedFile, index: number, bytes: number): void {
    this.order.set(`${file.id}:${index}`, { file, index, bytes });
    this.bytes += bytes;
    for (const [key, entry] of this.order) {
      if (this.bytes <= this.budget) break;
      // Transfers keep a reference to the chunk they are sending from, so eviction never
      // pulls bytes out from under a packet; it only means a later reader reads again.
      this.order.delete(key);
      entry.file.chunks.delete(entry.index);
      this.bytes -= entry.bytes;
    }
  }

  forget(file: SharedFile): void {
    if (this.files.get(file.key) === file) this.files.delete(file.key);
    for (const index of file.chunks.keys()) {
      const key = `${file.id}:${index}`;
      const entry = this.order.get(key);
      if (entry) {
        this.order.delete(key);
        this.bytes -= entry.bytes;
      }
    }
  }
}

function errnoOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}
