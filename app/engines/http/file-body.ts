/**
 * Sends byte ranges of a file as an HTTP response body with as little work per byte as Node allows (nginx
 * uses sendfile(2); Node has none): big reads (2 MiB by default) into at most two buffers per transfer,
 * reused for the whole transfer and across transfers, one socket write per read, and no stream objects per
 * chunk. Fresh buffers per chunk (createReadStream) page-fault in and keep the garbage collector busy (270
 * scavenges per 4 GiB served): that is what held the product at 0.6-0.8x nginx (bench/README.md, HTTP).
 *
 * A buffer is reused only after the socket reported its write complete (the kernel has the bytes);
 * a buffer whose write never completed (connection gone) is left to the GC, never reused.
 */
import { close, open, read } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { TransferFailureCode } from '../../shared/events.js';
import type { ExtentMap } from '../files/extent-map.js';
import type { ByteRange } from './http-range.js';

/** Buffers one transfer holds: one being read while the other is written (double buffering). */
const BUFFERS_PER_TRANSFER = 2;

/** A pool unused this long gives back the buffers it holds beyond `keep`. */
export const POOL_TRIM_MS = 5000;

/**
 * Read buffers for every transfer of one server. Each transfer always gets its first buffer (so it makes
 * progress); a second only while fewer than `budget` buffers are out, so hundreds of concurrent downloads
 * hold one buffer each rather than two. While transfers keep coming, up to `budget` idle buffers are
 * kept for the next ones; after POOL_TRIM_MS without a take, only `keep`. Why: 50 clients reading an
 * image by 1 MiB Range requests (sanboot, a live root) start a transfer per request, and a pool of 8
 * allocated and freed a 2 MiB buffer for most of them (mmap, page faults and GC: a quarter of the
 * server's CPU, bench/iso-http-bench.sh).
 */
export class BufferPool {
  private readonly free: Buffer[] = [];
  private out = 0;
  private takes = 0;
  private trim: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly size: number,
    private readonly keep: number,
    private readonly budget: number,
  ) {}

  /** undefined: over budget, and the caller already holds a buffer. */
  take(first: boolean): Buffer | undefined {
    if (!first && this.out >= this.budget) return undefined;
    this.out++;
    this.takes++;
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  give(buffer: Buffer): void {
    this.out--;
    if (this.free.length < Math.max(this.keep, this.budget)) this.free.push(buffer);
    if (this.free.length > this.keep && !this.trim) {
      let seen = this.takes;
      this.trim = setInterval(() => {
        if (this.takes === seen) this.free.length = Math.min(this.free.length, this.keep);
        seen = this.takes;
        if (this.free.length <= this.keep) {
          clearInterval(this.trim);
          this.trim = undefined;
        }
      }, POOL_TRIM_MS);
      this.trim.unref(); // never keeps a stopping process alive
    }
  }

  /** Idle buffers held now (tests). */
  idle(): number {
    return this.free.length;
  }

  /** A buffer left to the GC (its write never completed): no longer counted as out. */
  forget(): void {
    this.out--;
  }

  /** Buffers out now (tests). */
  inUse(): number {
    return this.out;
  }
}

export interface FileBody {
  readonly path: string;
  /** In order; a range with end < start (an empty file) sends nothing. */
  readonly ranges: readonly ByteRange[];
  /** multipart/byteranges framing: heads[i] precedes ranges[i], tail follows the last. */
  readonly multipart?: { readonly heads: readonly Buffer[]; readonly tail: Buffer } | undefined;
  /**
   * A file inside an ISO image: `ranges` are positions in the member, read from these extents of
   * `path` (the image). A read never crosses an extent's end; sparse extents send zeros.
   */
  readonly extents?: ExtentMap | undefined;
  /**
   * An already open descriptor of `path` to read from instead of opening it (the ISO image kept
   * open by files/iso-members.ts); `release` replaces the close, with the same timing.
   */
  readonly borrowed?: { readonly fd: number; release(): void } | undefined;
}

export interface FileBodyListener {
  /** After each chunk is handed to the response; `sent` counts file bytes so far. */
  bytes(sent: number): void;
  /** The whole body is flushed to the socket (res.end's callback). */
  done(): void;
  /**
   * Open or read failed, or the file shrank under us (code read-error, the default); or, from the native
   * body path, the client went (aborted) or the path could not send (internal). The caller ends the response.
   */
  failed(error: Error, code?: TransferFailureCode): void;
}

/** Starts sending; returns a stop function, for the response's 'close' (whether or not it finished). */
export function sendFileBody(
  res: ServerResponse,
  body: FileBody,
  pool: BufferPool,
  on: FileBodyListener,
): () => void {
  let fd = -1;
  let stopped = false; // aborted, failed or fully read: no more reads
  let reading = false;
  let next = 0; // index of the next range to enter
  let pos = 0;
  let end = -1; // current range, inclusive; pos > end: exhausted
  let sent = 0;
  // Every buffer taken from the pool goes back exactly once: given (reusable) or forgotten (a write on a
  // dead connection may still reference it).
  const held = new Set<Buffer>();
  const idle: Buffer[] = [];
  let inRead: Buffer | undefined;
  const giveBack = (b: Buffer): void => {
    if (held.delete(b)) pool.give(b);
  };

  // Never close the descriptor under a pending read: its number could be reused by another open (even a
  // socket's) before the threadpool's read(2) runs. The read's callback closes it instead.
  const closeFd = (): void => {
    if (fd >= 0 && !reading) {
      if (body.borrowed) body.borrowed.release();
      else close(fd, () => undefined);
      fd = -1;
    }
  };
  const release = (): void => {
    stopped = true;
    closeFd();
    for (const b of idle.splice(0)) giveBack(b);
  };
  const fail = (error: Error): void => {
    if (stopped) return;
    release();
    on.failed(error);
  };

  const pump = (): void => {
    if (stopped || reading) return;
    while (pos > end) {
      if (next >= body.ranges.length) {
        release();
        if (body.multipart) res.write(body.multipart.tail);
        res.end(() => on.done());
        return;
      }
      const r = body.ranges[next] as ByteRange;
      if (body.multipart) res.write(body.multipart.heads[next] as Buffer);
      next++;
      pos = r.start;
      end = r.end;
    }
    let buf = idle.pop();
    if (!buf) {
      // Both in flight (or the pool's budget is spent): the write callback pumps again.
      if (held.size >= BUFFERS_PER_TRANSFER) return;
      buf = pool.take(held.size === 0);
      if (!buf) return;
      held.add(buf);
    }
    const b = buf;
    reading = true;
    inRead = b;
    const want = Math.min(b.length, end - pos + 1);
    const piece = body.extents ? body.extents.piece(pos, want) : { at: pos, length: want, sparse: false };
    if (!piece) {
      onRead(b, new Error(`member ended at byte ${pos}`), 0);
      return;
    }
    if (piece.sparse) {
      b.fill(0, 0, piece.length);
      process.nextTick(onRead, b, null, piece.length);
      return;
    }
    read(fd, b, 0, piece.length, piece.at, (err, n) => onRead(b, err, n));
  };

  const onRead = (b: Buffer, err: Error | null, n: number): void => {
    reading = false;
    inRead = undefined;
    if (stopped) {
      closeFd();
      giveBack(b);
      return;
    }
    if (err || n === 0) {
      idle.push(b);
      fail(err ?? new Error(`file ended at byte ${pos} (it shrank while being sent)`));
      return;
    }
    pos += n;
    sent += n;
    res.write(n === b.length ? b : b.subarray(0, n), (werr) => {
      if (werr) return; // the connection is gone: 'close' stops us and forgets b
      if (stopped) giveBack(b);
      else {
        idle.push(b);
        pump();
      }
    });
    on.bytes(sent);
    pump();
  };

  if (body.borrowed) {
    fd = body.borrowed.fd;
    process.nextTick(pump);
  } else {
    open(body.path, 'r', (err, opened) => {
      if (err) {
        fail(err);
        return;
      }
      if (stopped) {
        close(opened, () => undefined);
        return;
      }
      fd = opened;
      pump();
    });
  }
  // The response closed (finished or not): buffers still in a write are forgotten, the rest reused.
  return () => {
    release();
    for (const b of held) {
      if (b === inRead) continue; // its read callback gives it back
      held.delete(b);
      pool.forget();
    }
  };
}
