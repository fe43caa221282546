/**
 * HTTP boot server: serves the netboot folder (kernels, initrds, ISOs, WIMs), the iPXE binaries
 * (fallbackDirs, for UEFI HTTP boot clients) and generated iPXE scripts (the `scripts` hook).
 * Read-only by design: engines never write to the netboot folder (docs/decisions.md, "netboot folder").
 * Here: connections, request routing and the choice of body sender. Apart: paths (files/confine.ts,
 * files inside ISO images in files/iso-members.ts), what to answer for a file (file-response.ts:
 * validators, preconditions, ranges, the head), a transfer's events (transfer-events.ts) and the two
 * body senders (file-body.ts in Node; native-body-path.ts, sendfile in a Go child).
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Engine } from '../../shared/engine.js';
import type { EngineCounters, TransferEvent } from '../../shared/events.js';
import { silentLogger, systemClock } from '../../shared/runtime.js';
import type { Clock, Logger } from '../../shared/runtime.js';
import { REFUSAL_ANSWER, resolveParts, splitHttpTarget } from '../files/confine.js';
import type { ConfinedFile as ResolvedFile, Refused } from '../files/confine.js';
import { IsoMembers } from '../files/iso-members.js';
import { BufferPool, sendFileBody } from './file-body.js';
import { NATIVE_BODY_MIN_BYTES, NativeBodyPath } from './native-body-path.js';
import { PROGRESS_INTERVAL_MS, trackBodyTransfer } from './transfer-events.js';
import { planFileResponse } from './file-response.js';
import type { ByteRange } from './http-range.js';

export type ScriptHook = (
  path: string,
  query: URLSearchParams,
  clientIp: string,
) => string | undefined | Promise<string | undefined>;

export interface HttpBootServerOptions {
  readonly root: string;
  readonly address: string;
  /** Default 8080; 0 = ephemeral (read back with port()). */
  readonly port?: number;
  readonly fallbackDirs?: readonly string[];
  readonly scripts?: ScriptHook;
  readonly macForIp?: (ip: string) => string | undefined;
  /** Concurrent TCP connections; beyond it new ones get a 503 and are closed. Default 512. */
  readonly maxConnections?: number;
  /** Whole request header must arrive within this (slowloris). Default 10 s. */
  readonly headersTimeoutMs?: number;
  /** Idle keep-alive connections are closed after this. Default 5 s (short: iPXE reuses ports). */
  readonly keepAliveTimeoutMs?: number;
  /** Read size; big reads into reused buffers are what brings Node to nginx (bench/README.md). Default 2 MiB. */
  readonly chunkSize?: number;
  /**
   * The native body path binary (`pxe-desk-http`, native-http/; defaultNativeHttpPath() finds the built
   * one). Linux only; without it every body is sent by file-body.ts.
   */
  readonly nativeBodyPath?: string;
  readonly logger?: Logger;
  readonly clock?: Clock;
}

/** Read buffers (chunkSize each) kept idle between transfers, and out at most before transfers go single-buffered. */
const IDLE_BUFFERS = 8;
const BUFFER_BUDGET = 64;

function clientIpOf(socket: Socket): string {
  const a = socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

export class HttpBootServer implements Engine<TransferEvent> {
  private server: http.Server | undefined;
  private readonly listeners = new Set<(e: TransferEvent) => void>();
  private readonly sockets = new Map<string, Socket>();
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly dirs: string[];
  private readonly maxConnections: number;
  private readonly buffers: BufferPool;
  /** Files inside ISO images (`isos/x.iso/casper/vmlinuz`): opened images and lookups, closed on stop. */
  private readonly isos: IsoMembers;
  private native: NativeBodyPath | undefined;
  private boundPort = 0;
  private nextId = 1;
  private stats = { received: 0, malformed: 0, rateLimited: 0, sent: 0 };

  constructor(private readonly options: HttpBootServerOptions) {
    this.logger = (options.logger ?? silentLogger).child('http');
    this.clock = options.clock ?? systemClock;
    this.dirs = [options.root, ...(options.fallbackDirs ?? [])];
    this.maxConnections = options.maxConnections ?? 512;
    this.buffers = new BufferPool(options.chunkSize ?? 2 * 1024 * 1024, IDLE_BUFFERS, BUFFER_BUDGET);
    this.isos = new IsoMembers({ logger: this.logger });
  }

  port(): number {
    return this.boundPort;
  }

  counters(): EngineCounters {
    return { ...this.stats };
  }

  /** The native body path's bodies (sent, failed, in flight) and process id; undefined when not running. */
  nativeBodies():
    (ReturnType<NativeBodyPath['counters']> & { pid: number | undefined; active: boolean }) | undefined {
    const n = this.native;
    return n ? { ...n.counters(), pid: n.pid, active: n.active() } : undefined;
  }

  /** ISO images behind files served from inside them: open now, opened, unreadable, lookups. */
  isoImages(): ReturnType<IsoMembers['counters']> {
    return this.isos.counters();
  }

  onEvent(listener: (event: TransferEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(): Promise<void> {
    if (this.server) return;
    const headersTimeout = this.options.headersTimeoutMs ?? 10_000;
    const server = http.createServer({
      headersTimeout,
      // Whole request (headers; GET/HEAD have no body) bounded too.
      requestTimeout: headersTimeout + 1000,
      // Check timeouts often, so slowloris sockets go soon after their deadline.
      connectionsCheckingInterval: Math.min(1000, headersTimeout),
      keepAliveTimeout: this.options.keepAliveTimeoutMs ?? 5000,
    });
    server.keepAliveTimeout = this.options.keepAliveTimeoutMs ?? 5000;
    server.on('connection', (socket: Socket) => this.onConnection(socket));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((err: unknown) => {
        this.logger.error('request failed', { error: String(err) });
        if (!res.headersSent) this.sendError(res, 500, 'internal error');
        else res.destroy();
      });
    });
    server.on('clientError', (err: Error & { code?: string }, socket: Socket) => {
      this.stats.malformed++;
      // Slowloris and half-sent requests end here (headersTimeout); say so, then close.
      const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
      if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      else socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        server.close();
        reject(
          new Error(
            `HTTP server cannot listen on ${this.options.address}:${this.options.port ?? 8080}: ${err.message}`,
          ),
        );
      };
      server.once('error', onError);
      server.listen(this.options.port ?? 8080, this.options.address, () => {
        server.off('error', onError);
        resolve();
      });
    });
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : 0;
    this.server = server;
    if (this.options.nativeBodyPath !== undefined && process.platform === 'linux') {
      this.native = new NativeBodyPath(this.options.nativeBodyPath, {
        progressMs: PROGRESS_INTERVAL_MS,
        logger: this.logger,
      });
      this.logger.info('file bodies are sent by the native body path', {
        binary: this.options.nativeBodyPath,
      });
    }
    this.logger.info('HTTP boot server listening', { address: this.options.address, port: this.boundPort });
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const s of this.sockets.values()) s.destroy();
    this.sockets.clear();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await this.native?.stop();
    this.native = undefined;
    await this.isos.close();
  }

  private onConnection(socket: Socket): void {
    const key = `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0}`;
    // iPXE reuses the same source port after a reboot; a half-closed socket from the previous boot
    // must not block the new one (docs/protocol-notes.md §8).
    const stale = this.sockets.get(key);
    if (stale && stale !== socket) {
      this.logger.debug('dropping stale connection from same address and port', { key });
      stale.destroy();
    }
    if (this.sockets.size >= this.maxConnections && !stale) {
      this.stats.rateLimited++;
      const body = 'Too many connections; try again shortly.\n';
      socket.end(
        `HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
      socket.on('error', () => undefined);
      return;
    }
    this.sockets.set(key, socket);
    socket.setNoDelay(true);
    socket.on('close', () => {
      if (this.sockets.get(key) === socket) this.sockets.delete(key);
    });
  }

  private emit(e: TransferEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.logger.warn('event listener threw', { error: String(err) });
      }
    }
  }

  private sendError(
    res: ServerResponse,
    status: number,
    message: string,
    extra: Record<string, string> = {},
  ): void {
    const body = `${status} ${message}\n`;
    res.writeHead(status, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      ...extra,
    });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.stats.received++;
    const method = req.method ?? '';
    if (method !== 'GET' && method !== 'HEAD') {
      this.sendError(res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
      return;
    }
    const target = req.url ?? '/';
    // One confinement for TFTP and HTTP (engines/files/confine.ts), refusals answered per its table.
    const refuse = (r: Refused): void => {
      this.logger.debug('path refused', {
        target: target.slice(0, 200),
        reason: r.reason,
        refusal: r.refusal,
      });
      const status = REFUSAL_ANSWER[r.refusal].http;
      this.sendError(
        res,
        status,
        status === 400 ? 'bad request' : status === 403 ? 'forbidden' : 'not found',
      );
    };
    const split = splitHttpTarget(target);
    if (!split.ok) {
      this.stats.malformed++;
      refuse(split);
      return;
    }
    const segments = split.parts;
    const clientIp = clientIpOf(req.socket);
    const relPath = segments.join('/');

    if (this.options.scripts) {
      const q = target.indexOf('?');
      const query = new URLSearchParams(q >= 0 ? target.slice(q + 1) : '');
      const script = await this.options.scripts(relPath, query, clientIp);
      if (script !== undefined) {
        this.serveScript(req, res, relPath, script, clientIp);
        return;
      }
    }

    const file = await resolveParts(segments, this.dirs, { isos: this.isos });
    if (!file.ok) {
      refuse(file);
      return;
    }
    this.serveFile(req, res, file, clientIp);
  }

  private serveScript(
    req: IncomingMessage,
    res: ServerResponse,
    rel: string,
    script: string,
    clientIp: string,
  ): void {
    const body = Buffer.from(script, 'utf8');
    res.writeHead(200, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': body.length,
      'Cache-Control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    this.stats.sent++;
    if (req.method === 'GET') {
      const base = this.baseEvent(req, rel, clientIp, body.length);
      this.emit({ ...base, type: 'start', bytes: 0 });
      this.emit({ ...base, type: 'done', bytes: body.length, detail: { method: 'GET', status: 200 } });
    }
  }

  private baseEvent(
    req: IncomingMessage,
    file: string,
    clientIp: string,
    size: number,
  ): Omit<TransferEvent, 'type' | 'bytes'> {
    const mac = this.options.macForIp?.(clientIp);
    return {
      engine: 'http',
      time: this.clock.now(),
      transferId: `h${this.nextId++}`,
      client: mac
        ? { address: clientIp, port: req.socket.remotePort ?? 0, mac }
        : { address: clientIp, port: req.socket.remotePort ?? 0 },
      file,
      size,
    };
  }

  private serveFile(req: IncomingMessage, res: ServerResponse, file: ResolvedFile, clientIp: string): void {
    const plan = planFileResponse(req.headers, file);
    if (plan.kind === 'refused') this.sendError(res, plan.status, plan.message, plan.headers);
    else if (plan.kind === 'not-modified') res.writeHead(304, plan.headers).end();
    else {
      res.writeHead(plan.status, plan.headers);
      if (req.method === 'HEAD') res.end();
      else this.stream(req, res, file, clientIp, plan.ranges, plan.multipart, plan.total);
    }
  }

  /** Streams ranges in order with big reads (file-body.ts); progress events throttled; never buffers the file. */
  private stream(
    req: IncomingMessage,
    res: ServerResponse,
    file: ResolvedFile,
    clientIp: string,
    ranges: readonly ByteRange[],
    multipart: { heads: Buffer[]; tail: Buffer } | undefined,
    total: number,
  ): void {
    // A file inside an ISO image is named by its image's path and its own (`isos/x.iso/casper/vmlinuz`),
    // whatever case the client used, so every Range read of one member is the same file to the model.
    const { listener, attach } = trackBodyTransfer({
      res,
      base: this.baseEvent(req, file.member ? file.relative : file.requested, clientIp, total),
      file: file.requested,
      clock: this.clock,
      logger: this.logger,
      emit: (e) => this.emit(e),
      onDone: () => this.stats.sent++,
    });
    const extents = file.member?.extents;
    // Big bodies go to the native body path when it runs (sendfile, off the event loop); the rest, and
    // every body when it does not, through file-body.ts.
    const stop =
      (total >= NATIVE_BODY_MIN_BYTES && !multipart
        ? this.native?.send(res, { path: file.path, ranges, extents }, file.info, listener)
        : undefined) ??
      // The image's descriptor stays open between Range requests (iso-members.ts): no open/close each.
      sendFileBody(
        res,
        {
          path: file.path,
          ranges,
          multipart,
          extents,
          borrowed: file.member ? this.isos.borrow(file.info) : undefined,
        },
        this.buffers,
        listener,
      );
    attach(stop);
  }
}
