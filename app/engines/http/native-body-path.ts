/**
 * The native HTTP body path (native-http/, `pxe-desk-http`) as HttpBootServer sees it: a sender of file
 * bodies with the same listener as file-body.ts, that sends with sendfile(2) in a Go child instead of a
 * read and a write on the event loop.
 *
 * Why: Node has no sendfile; its body path copies every byte twice and writes it on the thread that also
 * parses every request, which held 50 clients reading an ISO by 1 MiB ranges at ~0.74x nginx
 * (bench/README.md). The server still decides everything (confinement, validators, ranges, the response
 * head, events); only the bytes of the body move here. Linux only; elsewhere, and for multipart or small
 * bodies, file-body.ts sends.
 *
 * Per connection, its socket is handed to the child once, over Node's IPC channel (the descriptor in
 * SCM_RIGHTS); per response, the head is flushed to the kernel first, then one `body` order names the
 * file version and the byte pieces, and `done` lets the response end. Node and the child never write to
 * the socket at the same time. When Node's socket closes, `close` makes the child drop its duplicate.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { findNativeBinary } from '../native-binary.js';
import type { Logger } from '../../shared/runtime.js';
import {
  HTTP_BODY_PROTOCOL,
  BodyProtocolError,
  bodyIdentity,
  decodeFromBodies,
  type BodyPiece,
  type ToBodies,
} from './body-protocol.js';
import type { FileBody, FileBodyListener } from './file-body.js';

/** Bodies below this go through file-body.ts: one read and one write cost less than a round trip here. */
export const NATIVE_BODY_MIN_BYTES = 64 * 1024;

export function defaultNativeHttpPath(): string | undefined {
  return process.platform === 'linux' ? findNativeBinary('pxe-desk-http') : undefined;
}

interface Pending {
  readonly res: ServerResponse;
  readonly on: FileBodyListener;
}

/** The descriptor of a connected socket, as Node's IPC channel sends it (libuv's TCP handle). */
function handleOf(socket: Socket): object | undefined {
  const handle = (socket as unknown as { _handle?: unknown })._handle;
  return typeof handle === 'object' && handle !== null ? handle : undefined;
}

export class NativeBodyPath {
  private readonly child: ChildProcess;
  private alive = true;
  private nextBody = 1;
  private nextConn = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly conns = new WeakMap<Socket, number>();
  private stats = { bodies: 0, failed: 0, heads: 0 };

  constructor(
    binary: string,
    private readonly options: { progressMs: number; logger: Logger },
  ) {
    this.child = spawn(
      binary,
      ['--protocol', String(HTTP_BODY_PROTOCOL), '--progress-ms', String(options.progressMs)],
      {
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        serialization: 'json',
      },
    );
    this.child.on('message', (m: unknown) => this.onMessage(m));
    this.child.on('error', (err) => this.gone(`could not run: ${err.message}`));
    this.child.once('exit', (code, signal) => this.gone(`exited (${signal ?? code ?? '?'})`));
    // A send after the child died must not throw; 'exit' reports it.
    this.child.on('disconnect', () => this.gone('closed its channel'));
    let stderr = '';
    this.child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
      const lines = stderr.split('\n');
      stderr = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) options.logger.warn('native http: ' + line.trim());
    });
  }

  /** Sending bodies now (false once the child has gone: bodies then go through file-body.ts). */
  active(): boolean {
    return this.alive;
  }

  get pid(): number | undefined {
    return this.alive ? this.child.pid : undefined;
  }

  counters(): { bodies: number; failed: number; heads: number; inFlight: number } {
    return { ...this.stats, inFlight: this.pending.size };
  }

  /**
   * Sends `body` (no multipart framing) after the head `res` holds; undefined when it cannot (child gone,
   * no socket handle), and the caller sends it itself. The returned stop is for the response's 'close'.
   */
  send(
    res: ServerResponse,
    body: FileBody,
    identity: { dev: number; ino: number; size: number },
    on: FileBodyListener,
  ): (() => void) | undefined {
    if (!this.alive || body.multipart) return undefined;
    // A socket that cannot be handed over (no libuv handle: not a TCP connection Node accepted) stays
    // with Node's sender; nothing has been written yet.
    if (res.socket && !this.conns.has(res.socket) && !handleOf(res.socket)) return undefined;
    const pieces = piecesOf(body);
    if (!pieces) return undefined;
    const id = this.nextBody++;
    this.pending.set(id, { res, on });
    this.stats.bodies++;
    const order = (socket: Socket): void => {
      if (!this.pending.has(id)) return; // closed meanwhile
      const conn = this.connOf(socket);
      if (conn === undefined) {
        this.settle(id, 'failed');
        on.failed(new Error('the connection has no socket handle to hand over'));
        return;
      }
      // The child sends the head with the body's first bytes when Node lets it have it; else Node
      // flushes it now. Either way nothing Node wrote may still be queued here when the child starts.
      const head = takeHead(res);
      if (head === undefined) res.flushHeaders();
      else this.stats.heads++;
      const message: ToBodies = {
        t: 'body',
        conn,
        id,
        path: body.path,
        identity: bodyIdentity(identity),
        pieces,
        ...(head !== undefined ? { head } : {}),
      };
      if (socket.writableLength === 0) this.post(message);
      else socket.once('drain', () => this.pending.has(id) && this.post(message));
    };
    // A pipelined request's response gets its socket only when the one before it has finished.
    if (res.socket) order(res.socket);
    else res.once('socket', order);
    return () => {
      // The response closed before 'done' (the client went): the socket's close tells the child.
      this.pending.delete(id);
    };
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise<void>((done) => this.child.once('exit', () => done()));
    this.alive = false;
    if (this.child.connected) this.child.disconnect(); // the child exits when its channel closes
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    timer.unref();
    await exited;
    clearTimeout(timer);
  }

  private connOf(socket: Socket): number | undefined {
    const known = this.conns.get(socket);
    if (known !== undefined) return known;
    const handle = handleOf(socket);
    if (!handle) return undefined;
    const conn = this.nextConn++;
    this.conns.set(socket, conn);
    // The handle is a TCP wrap: Node sends it as 'net.Native' and keeps its own descriptor open.
    this.child.send({ t: 'conn', conn } satisfies ToBodies, handle as never, (err: Error | null) => {
      if (err) this.options.logger.warn('native http: connection not handed over', { error: err.message });
    });
    socket.once('close', () => this.post({ t: 'close', conn }));
    return conn;
  }

  private post(message: ToBodies): void {
    if (!this.alive || !this.child.connected) return;
    this.child.send(message, (err: Error | null) => {
      if (err) this.gone(`channel write failed: ${err.message}`);
    });
  }

  private settle(id: number, how: 'done' | 'failed'): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    if (how === 'failed') this.stats.failed++;
    return p;
  }

  private onMessage(raw: unknown): void {
    let m;
    try {
      m = decodeFromBodies(raw);
    } catch (err) {
      if (err instanceof BodyProtocolError)
        this.options.logger.warn('native http: bad message', { error: err.message });
      return;
    }
    if (m.t === 'progress') {
      this.pending.get(m.id)?.on.bytes(m.bytes);
      return;
    }
    const p = this.settle(m.id, m.t === 'failed' ? 'failed' : 'done');
    if (!p) return;
    p.on.bytes(m.bytes);
    if (m.t === 'failed') p.on.failed(new Error(m.reason || m.code), m.code);
    else p.res.end(() => p.on.done());
  }

  /** The child is gone: bodies in flight fail (their responses are destroyed), later ones go to Node. */
  private gone(why: string): void {
    const wasAlive = this.alive;
    this.alive = false;
    if (wasAlive)
      this.options.logger.warn(`native http body path ${why}; bodies are sent by Node from now on`);
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      this.stats.failed++;
      p.on.failed(new Error(`the native body path ${why}`), 'internal');
    }
  }
}

/**
 * The response head Node built in writeHead, taken over: ServerResponse keeps it in `_header` until its
 * first write and then sets `_headerSent` (the same two fields from Node 0.x to 22), and end() writes
 * nothing more for a Content-Length body whose head is marked sent. Sent by the child with MSG_MORE, head
 * and body leave together and the event loop makes no socket write for the response at all (a head
 * written here was, with its loopback delivery, the largest cost per Range request left on the loop).
 * undefined when Node's shape differs or the head is not plain ASCII: the caller flushes it.
 */
function takeHead(res: ServerResponse): string | undefined {
  const r = res as unknown as { _header?: unknown; _headerSent?: unknown };
  if (typeof r._header !== 'string' || r._headerSent !== false || !/^[\x20-\x7e\r\n\t]*$/.test(r._header))
    return undefined;
  r._headerSent = true;
  return r._header;
}

/** The body's byte ranges as pieces of the file (through the ISO member's extents when it is one). */
function piecesOf(body: FileBody): BodyPiece[] | undefined {
  const pieces: BodyPiece[] = [];
  for (const r of body.ranges) {
    let pos = r.start;
    while (pos <= r.end) {
      const want = r.end - pos + 1;
      const piece = body.extents ? body.extents.piece(pos, want) : { at: pos, length: want, sparse: false };
      if (!piece || piece.length <= 0) return undefined; // the sender in Node reports the short member
      pieces.push([piece.sparse ? -1 : piece.at, piece.length]);
      pos += piece.length;
    }
  }
  return pieces;
}
