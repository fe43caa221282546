/**
 * TftpServer: read-only TFTP (RFC 1350, 2347, 2348, 2349, 7440) for PXE clients.
 *
 * Why our own engine and not the npm `tftp` package: see docs/decisions.md (throughput, memory at 200
 * clients, no way to feed it relayed requests without private fields).
 *
 * Each transfer has its own socket on an ephemeral port bound to `address` (RFC 1350 §4 TID); the
 * request arrives either on our own listen socket or on the transport's 'tftp' channel (helper relay).
 * Here: request parsing, path confinement (../files/confine.ts), option negotiation, limits, events. The DATA
 * path lives in transfer.ts, reading from shared file chunks (file-cache.ts); with `workers` > 0 the
 * transfers run on worker threads (transfer-worker.ts, worker-protocol.ts) and report back here.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { isIPv4 } from 'node:net';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DatagramTransport } from '../../shared/datagram-transport.js';
import type { Engine } from '../../shared/engine.js';
import type { EngineCounters, TransferEvent } from '../../shared/events.js';
import { silentLogger, systemClock, type Clock, type Logger } from '../../shared/runtime.js';
import { FileCache, bufferSource, type FileIdentity, type Source } from './file-cache.js';
import {
  ERR_ACCESS,
  ERR_ILLEGAL,
  ERR_UNDEFINED,
  OP_RRQ,
  OP_WRQ,
  decodeRequest,
  encodeError,
  encodeOack,
  sanitiseName,
  toNetascii,
  type TftpRequest,
} from './packet.js';
import { NativeDataPath, type TransferRunner } from './native-data-path.js';
import { REFUSAL_ANSWER, resolveParts, splitName, type Refused } from '../files/confine.js';
import { detailOf, negotiate, type Negotiated } from './negotiate.js';
import { Transfer } from './transfer.js';
import type { TransferHost, TransferInfo, TransferOutcome } from './transfer-host.js';
import {
  TFTP_WORKER_PROTOCOL,
  isFromWorker,
  type FromWorker,
  type StartTransfer,
  type WorkerSetup,
} from './worker-protocol.js';

export { sanitiseName, decodeRequest, TftpDecodeError } from './packet.js';
export { negotiate } from './negotiate.js';

export type VirtualFiles = (
  path: string,
  client: { address: string; port: number },
) => Buffer | undefined | Promise<Buffer | undefined>;

export interface TftpServerOptions {
  readonly root: string;
  readonly address: string;
  readonly port?: number;
  readonly transport?: DatagramTransport;
  readonly fallbackDirs?: readonly string[];
  /** NIC MTU: blksize is clamped to mtu - 32 (IPv4 + UDP + TFTP headers, RFC 2348). */
  readonly mtu?: number;
  /**
   * Cap on the granted blksize, 0 to refuse the option (dnsmasq --tftp-no-blocksize): some clients ask
   * for blksize and then misbehave when it is granted (dnsmasq --tftp-no-blocksize; docs/protocol-notes.md §9).
   */
  readonly maxBlksize?: number;
  /** Cap on the granted windowsize (RFC 7440); 1 refuses the option (lockstep for everyone). */
  readonly maxWindowsize?: number;
  readonly caseInsensitive?: boolean;
  readonly virtualFiles?: VirtualFiles;
  /** Concurrent transfers; more get ERROR 0 "server busy" (dnsmasq tftp-max). Default 512. */
  readonly maxTransfers?: number;
  /** First retransmit interval when the client did not negotiate `timeout` (ms, default 1000). */
  readonly retransmitMs?: number;
  /** Retransmissions before giving up (default 5). */
  readonly maxRetries?: number;
  /**
   * How long after a transfer delivered its file an identical RRQ from the same address and port is
   * taken for a late copy of the first and ignored (ms, default 750; below clients' RRQ retry interval).
   */
  readonly lateCopyMs?: number;
  /** Progress event period (ms, default 250). */
  readonly progressMs?: number;
  /** Bytes per shared file read (default 128 KiB). */
  readonly chunkSize?: number;
  /** File bytes kept in memory across transfers (default 64 MiB). */
  readonly cacheBytes?: number;
  /** Largest file served in netascii mode, which is converted in memory (default 16 MiB). */
  readonly maxNetasciiBytes?: number;
  /**
   * Worker threads for transfers. A number N > 0: every transfer runs on one of N worker threads
   * (requests, confinement and negotiation stay here). 0: all on this thread. 'auto' (default): the
   * first `offloadAt` concurrent transfers run here; beyond that, new ones go to up to two workers
   * started on first need — a classroom boot storm then uses more than one core (bench/README.md),
   * while a handful of clients never starts a thread.
   */
  readonly workers?: number | 'auto';
  /** With `workers: 'auto'`: concurrent in-process transfers before new ones are offloaded (default 16). */
  readonly offloadAt?: number;
  /**
   * The worker thread's script, when the default (`transfer-worker.js` next to this module) cannot be
   * loaded as is — e.g. a packaged app that unpacks it from its archive. `.ts` loads through tsx.
   */
  readonly workerEntry?: string | URL;
  /**
   * The native data path binary (`pxe-desk-tftp`, native-tftp/; defaultNativeTftpPath() finds the
   * built one). When set on Linux, every transfer's data phase runs there (lockstep throughput beyond
   * what Node's dgram allows, bench/README.md) and `workers` is not used; should it fail, transfers
   * fall back to this process.
   */
  readonly nativeDataPath?: string;
  readonly logger?: Logger;
  readonly clock?: Clock;
}

/** tsx's ESM API module (a devDependency), for worker threads started from TypeScript sources. */
function tsxApi(): string {
  const root = dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  return pathToFileURL(join(root, 'dist', 'esm', 'api', 'index.mjs')).href;
}

/** A transfer running in a worker thread, as the main thread sees it. */
class RemoteTransfer implements TransferInfo {
  readonly detail: Record<string, string | number | boolean>;
  constructor(
    readonly id: string,
    readonly key: string,
    readonly client: { readonly address: string; readonly port: number },
    readonly file: string,
    readonly size: number,
    neg: Negotiated,
    readonly worker: number,
    private readonly post: (message: { kind: 'resend' | 'supersede'; id: string }) => void,
  ) {
    this.detail = detailOf(neg);
  }

  /** The RRQ that asked for a resend, handled as a new request if the transfer has just ended. */
  repeated: { msg: Buffer; address: string; port: number } | undefined;

  resendCurrent(): void {
    this.post({ kind: 'resend', id: this.id });
  }

  supersede(): void {
    this.post({ kind: 'supersede', id: this.id });
  }

  close(): Promise<void> {
    return Promise.resolve(); // the worker closes its transfers when it is stopped
  }
}

let nextTransferId = 1;
/** ERROR replies to requests per second before further ones are dropped (and counted as rate-limited). */
const ERROR_BURST = 200;
/**
 * How long an identical RRQ from the same address and port, arriving after its transfer finished, is
 * taken for a late copy of the first one rather than a new request. A client resends its RRQ when it
 * has heard nothing yet (T17); that copy can be read after the transfer ended when this thread lags
 * (the transfer ran on a worker or in the native data path, or the file was a single block). Served
 * as new, it became a phantom transfer that sent an OACK to a finished client for ~31 s and then
 * reported a failure. Below every client's RRQ retry interval (1 s and up), so a client that really
 * asks again is served on its next try.
 */
const DEFAULT_LATE_COPY_MS = 750;
/** Finished transfers remembered for late copies (oldest forgotten first). */
const LATE_COPY_MEMORY = 1024;

export class TftpServer implements Engine<TransferEvent>, TransferHost {
  private readonly listeners = new Set<(event: TransferEvent) => void>();
  private readonly transfers = new Map<string, Transfer | RemoteTransfer>();
  private readonly remote = new Map<string, RemoteTransfer>();
  /** The RRQ that started each transfer (repeats are recognised byte for byte). */
  private readonly requests = new WeakMap<TransferInfo, Buffer>();
  /** Transfers that finished with the file delivered, by client address and port, oldest first. */
  private readonly finished = new Map<string, { request: Buffer; at: number }>();
  private readonly lateCopyMs: number;
  private workers: TransferRunner[] = [];
  /** Transfers run in the native data path (nativeDataPath on Linux). */
  private native = false;
  private workerFiles: number[] = [];
  private workerStopped: (() => void)[] = [];
  private dead: boolean[] = [];
  private stopping = false;
  /** Workers 'auto' may start (0 when `workers` is a number). */
  private autoWorkers = 0;
  /** Transfers running on this thread, and requests already decided to run here but not started yet. */
  private readonly local = new Set<Transfer>();
  private localReserved = 0;
  /** Shared socket for ERROR replies to requests (replies never go through the relay: docs/helper.md, "Reply rules"). */
  private errorSocket: Socket | undefined;
  private errorSocketReady = false;
  private errorQueue: ((socket: Socket) => void)[] = [];
  private errorWindowStart = -Infinity;
  private errorsInWindow = 0;
  private stopped = false;
  private nextWorker = 0;
  private readonly pending = new Set<string>();
  private listenSocket: Socket | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly log: Logger;
  private readonly clock: Clock;
  readonly progressMs: number;
  private readonly files: FileCache;
  private stats = { received: 0, malformed: 0, rateLimited: 0, sent: 0 };

  constructor(private readonly options: TftpServerOptions) {
    this.log = (options.logger ?? silentLogger).child('tftp');
    this.clock = options.clock ?? systemClock;
    this.progressMs = options.progressMs ?? 250;
    this.lateCopyMs = options.lateCopyMs ?? DEFAULT_LATE_COPY_MS;
    this.files = new FileCache({
      ...(options.chunkSize !== undefined ? { chunkSize: options.chunkSize } : {}),
      ...(options.cacheBytes !== undefined ? { budget: options.cacheBytes } : {}),
    });
  }

  now(): number {
    return this.clock.now();
  }

  countSent(): void {
    this.stats.sent++;
  }

  countMalformed(): void {
    this.stats.malformed++;
  }

  logDebug(message: string, fields: Record<string, unknown>): void {
    this.log.debug(message, fields);
  }

  logWarn(message: string, fields: Record<string, unknown>): void {
    this.log.warn(message, fields);
  }

  /** Listen port (own socket), after start. */
  port(): number | undefined {
    return this.listenSocket?.address().port;
  }

  /** Transfers in progress (tests check for leaks). */
  activeTransfers(): number {
    return this.transfers.size + this.pending.size;
  }

  /** Distinct files open (a file served to many clients at once is opened once per thread, T23). */
  openFiles(): number {
    return this.files.openFiles() + this.workerFiles.reduce((a, b) => a + b, 0);
  }

  async start(): Promise<void> {
    this.stopped = false;
    for (const [name, value, min] of [
      ['maxBlksize', this.options.maxBlksize, 0],
      ['maxWindowsize', this.options.maxWindowsize, 1],
    ] as const) {
      if (value !== undefined && (!Number.isInteger(value) || value < min || value > 65535)) {
        throw new Error(`tftp ${name} must be a whole number from ${min} to 65535 (got ${String(value)})`);
      }
    }
    const wanted = this.options.workers ?? 'auto';
    if (wanted !== 'auto' && (!Number.isInteger(wanted) || wanted < 0 || wanted > 64)) {
      throw new Error(`tftp workers must be 'auto' or a whole number from 0 to 64 (got ${String(wanted)})`);
    }
    const offloadAt = this.options.offloadAt ?? 16;
    if (!Number.isInteger(offloadAt) || offloadAt < 0) {
      throw new Error(`tftp offloadAt must be a whole number of transfers (got ${String(offloadAt)})`);
    }
    // 'auto': two workers at most (measured enough to match tftpd-hpa at 200 clients on 2 cores),
    // none on a single core, where a thread would only compete with this one.
    this.autoWorkers = wanted === 'auto' ? (availableParallelism() >= 2 ? 2 : 0) : 0;
    this.native = this.options.nativeDataPath !== undefined && process.platform === 'linux';
    if (this.native) {
      // One process for every transfer (a goroutine each); started now so the first PXE client does
      // not wait for it.
      this.autoWorkers = 0;
      this.workers.push(this.spawnWorker(0));
      this.log.info('transfers run in the native data path', { binary: this.options.nativeDataPath });
    } else if (wanted !== 'auto') for (let i = 0; i < wanted; i++) this.workers.push(this.spawnWorker(i));
    if (this.options.transport) {
      const transport = this.options.transport;
      await transport.open(['tftp']);
      this.unsubscribe = transport.onDatagram((d) => {
        if (d.channel === 'tftp') void this.onRequest(Buffer.from(d.data), d.source.address, d.source.port);
      });
      return;
    }
    const socket = createSocket({ type: 'udp4' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.options.port ?? 69, this.options.address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', (error) => this.log.warn('listen socket error', { error: error.message }));
    socket.on('message', (msg, rinfo) => void this.onRequest(msg, rinfo.address, rinfo.port));
    this.listenSocket = socket;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    const socket = this.listenSocket;
    this.listenSocket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
    const errorSocket = this.errorSocket;
    this.errorSocket = undefined;
    this.errorSocketReady = false;
    this.errorQueue = [];
    if (errorSocket) await new Promise<void>((resolve) => errorSocket.close(() => resolve()));
    await Promise.all([...this.transfers.values()].map((t) => t.close()));
    const workers = this.workers;
    this.stopping = true;
    this.workers = [];
    await Promise.all(
      workers.map(async (worker, i) => {
        if (this.dead[i]) return worker.terminate();
        await new Promise<void>((resolve) => {
          // Not unref'd: a runner that neither answers nor exits must not leave `stop()` pending on
          // an empty event loop (the process would end with "unsettled top-level await", exit 13).
          const timer = setTimeout(resolve, 2000);
          this.workerStopped[i] = () => {
            clearTimeout(timer);
            resolve();
          };
          worker.postMessage({ kind: 'stop' });
        });
        await worker.terminate();
      }),
    );
    this.workerFiles = [];
    this.workerStopped = [];
    this.dead = [];
    this.stopping = false;
  }

  /** Whether the next transfer runs on a worker thread (starting the 'auto' workers on first need). */
  private shouldOffload(): boolean {
    if (this.native) return this.liveWorkers() > 0;
    if (this.autoWorkers > 0) {
      if (this.local.size + this.localReserved < (this.options.offloadAt ?? 16)) return false;
      while (this.workers.length < this.autoWorkers) this.workers.push(this.spawnWorker(this.workers.length));
    }
    return this.liveWorkers() > 0;
  }

  /** Whether transfers run in the native data path right now (diagnostics and tests). */
  nativeDataPathActive(): boolean {
    return this.native && this.liveWorkers() > 0;
  }

  /** The native data path's process id while it runs (diagnostics and tests). */
  nativeDataPathPid(): number | undefined {
    const runner = this.native ? this.workers[0] : undefined;
    return runner instanceof NativeDataPath ? runner.pid : undefined;
  }

  /** Worker threads able to take transfers right now (diagnostics and tests). */
  workerThreads(): number {
    return this.liveWorkers();
  }

  /** Workers still able to take transfers (a failed worker is taken out of the rotation). */
  private liveWorkers(): number {
    let live = 0;
    for (let i = 0; i < this.workers.length; i++) if (!this.dead[i]) live++;
    return live;
  }

  /** Worker threads run compiled JavaScript; from TypeScript sources (tests) they load through tsx. */
  private spawnWorker(index: number): TransferRunner {
    if (this.native && this.options.nativeDataPath !== undefined) {
      return this.watchRunner(
        index,
        new NativeDataPath(this.options.nativeDataPath, {
          address: this.options.address,
          progressMs: this.progressMs,
        }),
        'native tftp data path',
      );
    }
    const here = import.meta.url;
    const configured = this.options.workerEntry;
    const entry = configured
      ? configured instanceof URL
        ? configured
        : pathToFileURL(configured)
      : new URL(here.endsWith('.ts') ? './transfer-worker.ts' : './transfer-worker.js', here);
    const fromSource = entry.pathname.endsWith('.ts');
    const setup: WorkerSetup = {
      protocol: TFTP_WORKER_PROTOCOL,
      address: this.options.address,
      progressMs: this.progressMs,
      ...(this.options.chunkSize !== undefined ? { chunkSize: this.options.chunkSize } : {}),
      ...(this.options.cacheBytes !== undefined ? { cacheBytes: this.options.cacheBytes } : {}),
    };
    // From sources (tests, dev), a tiny bootstrap loads the TypeScript entry through tsx's API.
    const worker = fromSource
      ? new Worker(
          `import(${JSON.stringify(tsxApi())}).then((tsx) => tsx.tsImport(${JSON.stringify(entry.href)}, ` +
            `${JSON.stringify(entry.href)}))`,
          { eval: true, workerData: setup },
        )
      : new Worker(entry, { workerData: setup });
    return this.watchRunner(index, worker, 'transfer worker');
  }

  private watchRunner(index: number, worker: TransferRunner, what: string): TransferRunner {
    this.workerFiles[index] = 0;
    worker.on('message', (message: unknown) => this.onWorkerMessage(index, message));
    // A worker that fails (or could not load) leaves the rotation; its transfers fail and the
    // clients' retries are served by the others, or in-process once none is left.
    const lost = (why: string): void => {
      this.workerStopped[index]?.(); // gone while being stopped: nothing left to wait for
      if (this.dead[index] || this.stopping) return;
      this.dead[index] = true;
      this.workerFiles[index] = 0;
      this.log.error(`${what} failed`, { worker: index, error: why });
      for (const t of [...this.remote.values()]) {
        if (t.worker !== index) continue;
        this.remote.delete(t.id);
        this.emitTransfer(t, 'failed', 0, { reason: `${what} failed`, failure: { code: 'internal' } });
        this.release(t);
      }
    };
    worker.on('error', (error) => lost(error.message));
    worker.on('exit', (code) => lost(`exited with code ${code}`));
    return worker;
  }

  private onWorkerMessage(index: number, message: unknown): void {
    if (!isFromWorker(message)) {
      this.log.warn('ignored a malformed message from a transfer worker', { worker: index });
      return;
    }
    this.handleWorker(index, message);
  }

  private handleWorker(index: number, message: FromWorker): void {
    switch (message.kind) {
      case 'event': {
        const t = this.remote.get(message.id);
        if (!t) break;
        const { rate, reason, failure, extra } = message;
        this.emitTransfer(t, message.type, message.bytes, { rate, reason, failure, extra });
        // Ended: the client's address and port are free for its next request at once (the worker
        // still reports 'closed' once the socket and file are released).
        if (message.type === 'done' || message.type === 'failed') this.release(t);
        break;
      }
      case 'stale': {
        // The RRQ we took for a repeat arrived after the transfer ended: serve it as a new request.
        const t = this.remote.get(message.id);
        if (!t) break;
        this.release(t);
        const repeated = t.repeated;
        t.repeated = undefined;
        if (repeated) void this.onRequest(repeated.msg, repeated.address, repeated.port);
        break;
      }
      case 'refused': {
        const t = this.remote.get(message.id);
        if (!t) break;
        this.remote.delete(message.id);
        this.release(t);
        this.log.info('request refused', { client: t.key, file: t.file, reason: message.reason });
        this.replyError(t.client.address, t.client.port, ERR_ACCESS, message.reason);
        break;
      }
      case 'closed': {
        const t = this.remote.get(message.id);
        this.remote.delete(message.id);
        if (t) this.release(t);
        this.stats.sent += message.sent;
        this.stats.malformed += message.malformed;
        this.workerFiles[index] = message.openFiles;
        break;
      }
      case 'opened':
        this.workerFiles[index] = message.openFiles;
        break;
      case 'log':
        if (message.level === 'warn') this.log.warn(message.message, message.fields);
        else this.log.debug(message.message, message.fields);
        break;
      case 'stopped':
        this.workerStopped[index]?.();
        break;
    }
  }

  onEvent(listener: (event: TransferEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  counters(): EngineCounters {
    return { ...this.stats };
  }

  release(transfer: TransferInfo): void {
    if (this.transfers.get(transfer.key) === transfer) this.transfers.delete(transfer.key);
    if (transfer instanceof Transfer) this.local.delete(transfer);
  }

  emitTransfer(
    t: TransferInfo,
    type: TransferEvent['type'],
    bytes: number,
    outcome: TransferOutcome = {},
  ): void {
    const { rate, reason, failure, extra } = outcome;
    const event: TransferEvent = {
      engine: 'tftp',
      type,
      time: this.clock.now(),
      transferId: t.id,
      client: { ...t.client },
      file: t.file,
      bytes,
      size: t.size,
      ...(rate !== undefined ? { rate } : {}),
      ...(reason !== undefined ? { reason } : {}),
      ...(failure
        ? {
            failure:
              failure.block !== undefined
                ? { code: failure.code, block: failure.block }
                : { code: failure.code },
          }
        : {}),
      detail: extra ? { ...t.detail, ...extra } : t.detail,
    };
    if (type === 'failed')
      this.log.info(`transfer failed: ${reason ?? ''}`, { file: t.file, client: t.client });
    if (type === 'done' && extra?.['probe'] !== true) this.rememberFinished(t);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.log.warn('event listener threw', { error: String(error) });
      }
    }
  }

  private rememberFinished(t: TransferInfo): void {
    const request = this.requests.get(t);
    if (!request) return;
    const now = performance.now(); // real time, whatever clock the events are stamped with
    this.finished.delete(t.key); // re-inserted last: the map stays in finishing order
    for (const [key, entry] of this.finished) {
      if (now - entry.at < this.lateCopyMs && this.finished.size < LATE_COPY_MEMORY) break;
      this.finished.delete(key);
    }
    this.finished.set(t.key, { request, at: now });
  }

  /** Whether `msg` is a late copy of the request whose transfer to this client has just finished. */
  private isLateCopy(key: string, msg: Buffer): boolean {
    const ended = this.finished.get(key);
    if (!ended) return false;
    if (performance.now() - ended.at >= this.lateCopyMs) {
      this.finished.delete(key);
      return false;
    }
    return ended.request.equals(msg);
  }

  /** Errors for requests go from a fresh ephemeral socket: replies never use the relay (docs/helper.md, "Reply rules"). */
  private replyError(address: string, port: number, code: number, message: string): void {
    // Error replies are bounded (a flood of bad requests must not become a flood of replies or of
    // sockets): one shared ephemeral socket, at most ERROR_BURST per second, the rest dropped and counted.
    if (this.stopped) return;
    const now = performance.now(); // real time, whatever clock the events are stamped with
    if (now - this.errorWindowStart >= 1000) {
      this.errorWindowStart = now;
      this.errorsInWindow = 0;
    }
    if (++this.errorsInWindow > ERROR_BURST) {
      this.stats.rateLimited++;
      return;
    }
    const packet = encodeError(code, message);
    const send = (socket: Socket): void => {
      this.stats.sent++;
      socket.send(packet, port, address);
    };
    if (this.errorSocket) {
      if (this.errorSocketReady) send(this.errorSocket);
      else this.errorQueue.push(send);
      return;
    }
    const socket = createSocket({ type: 'udp4' });
    this.errorSocket = socket;
    this.errorQueue.push(send);
    socket.on('error', (error) => {
      this.log.warn('error-reply socket failed', { error: error.message });
      if (this.errorSocket === socket) this.errorSocket = undefined;
      this.errorSocketReady = false;
      this.errorQueue = [];
      socket.close();
    });
    socket.bind(0, this.options.address, () => {
      this.errorSocketReady = true;
      const queued = this.errorQueue;
      this.errorQueue = [];
      for (const q of queued) q(socket);
    });
  }

  private async onRequest(msg: Buffer, address: string, port: number): Promise<void> {
    this.stats.received++;
    let request: TftpRequest;
    try {
      request = decodeRequest(msg);
    } catch (error) {
      this.stats.malformed++;
      this.log.debug('dropped malformed request', {
        client: `${address}:${port}`,
        error: error instanceof Error ? error.message : String(error),
      });
      return; // T19/T20/S9/S11: drop, no state
    }
    const name = sanitiseName(request.filename);
    const key = `${address}:${port}`;
    if (request.opcode === OP_WRQ) {
      this.log.info('upload refused (read-only server)', { client: key, file: name });
      this.replyError(address, port, ERR_ACCESS, 'Uploads are not allowed');
      return;
    }
    if (request.opcode !== OP_RRQ) return;
    if (!isIPv4(address)) return; // transfers answer IPv4 literals only (relay sources included)
    const existing = this.transfers.get(key);
    if (existing && this.requests.get(existing)?.equals(msg)) {
      // T17: the same RRQ again (our OACK or DATA 1 was lost): resend, never a second session.
      if (existing instanceof RemoteTransfer) existing.repeated = { msg: Buffer.from(msg), address, port };
      existing.resendCurrent();
      return;
    }
    if (!existing && this.isLateCopy(key, msg)) {
      this.log.debug('ignored a late copy of a request whose transfer has just finished', {
        client: key,
        file: name,
      });
      return;
    }
    if (existing) {
      // A different request from the same address and port: the client has moved on.
      existing.supersede();
      this.release(existing);
    }
    if (this.pending.has(key)) return;
    if (request.mode !== 'octet' && request.mode !== 'netascii') {
      this.replyError(address, port, ERR_ILLEGAL, 'Unsupported transfer mode');
      return;
    }
    if (this.transfers.size + this.pending.size >= (this.options.maxTransfers ?? 512)) {
      this.stats.rateLimited++;
      this.replyError(address, port, ERR_UNDEFINED, 'Server busy, try again');
      return;
    }
    this.pending.add(key);
    // Decided before any await, so a burst of simultaneous requests is counted as it arrives.
    const offload = this.shouldOffload();
    if (!offload) this.localReserved++;
    try {
      await this.startTransfer(request, Buffer.from(msg), name, address, port, key, offload);
    } finally {
      if (!offload) this.localReserved--;
      this.pending.delete(key);
    }
  }

  private async startTransfer(
    request: TftpRequest,
    raw: Buffer,
    name: string,
    address: string,
    port: number,
    key: string,
    offload: boolean,
  ): Promise<void> {
    let source: Source | undefined;
    /** With worker threads an octet file is opened by the worker that serves it, not here. */
    let onDisk: { path: string; identity: FileIdentity } | undefined;
    let file = name;
    // One confinement for TFTP and HTTP (engines/files/confine.ts): virtual files, too, are only
    // asked for names the rule accepts (no `..`, no `.pxe-desk/` or other hidden component).
    const refused = (r: Refused): void => {
      this.log.info('request refused', { client: key, file: name, reason: r.reason, refusal: r.refusal });
      this.replyError(address, port, REFUSAL_ANSWER[r.refusal].tftp, r.reason);
    };
    const split = splitName(request.filename);
    if (!split.ok) {
      refused(split);
      return;
    }
    if (this.options.virtualFiles) {
      const data = await this.options.virtualFiles(split.parts.join('/'), { address, port });
      if (data) source = bufferSource(data);
    }
    if (!source) {
      const dirs = [this.options.root, ...(this.options.fallbackDirs ?? [])];
      const caseInsensitive = this.options.caseInsensitive ?? false;
      const resolved = await resolveParts(split.parts, dirs, { caseInsensitive });
      if (!resolved.ok) {
        refused(resolved);
        return;
      }
      file = sanitiseName(resolved.relative);
      const { dev, ino, size, mtimeMs } = resolved.info;
      const identity: FileIdentity = { dev, ino, size, mtimeMs };
      if (offload && request.mode === 'octet') {
        onDisk = { path: resolved.path, identity };
      } else {
        const opened = await this.files.open(resolved.path, identity);
        if (!opened.ok) {
          this.log.info('request refused', { client: key, file: name, reason: opened.reason });
          this.replyError(address, port, ERR_ACCESS, opened.reason);
          return;
        }
        source = opened.source;
      }
    }
    if (source && request.mode === 'netascii') {
      const limit = this.options.maxNetasciiBytes ?? 16 * 1024 * 1024;
      if (source.size > limit) {
        await source.release();
        this.log.info('request refused', { client: key, file, reason: 'netascii file too large' });
        this.replyError(address, port, ERR_ILLEGAL, 'File too large for netascii, use octet');
        return;
      }
      // RFC 1350 netascii (LF -> CR LF, CR -> CR NUL) converted whole, so no block-boundary carry bug.
      const raw = Buffer.allocUnsafe(source.size);
      try {
        let at = 0;
        for (let index = 0; at < source.size; index++) {
          const chunk = source.chunk(index) ?? (await source.load(index));
          chunk.copy(raw, at);
          at += chunk.length;
        }
      } catch (error) {
        this.replyError(address, port, ERR_UNDEFINED, 'Read error');
        this.log.info('request failed', { client: key, file, reason: String(error) });
        return;
      } finally {
        await source.release();
      }
      source = bufferSource(toNetascii(raw));
    }
    const size = source?.size ?? onDisk?.identity.size ?? 0;
    const neg = negotiate(request, request.mode === 'octet' ? size : undefined, this.options.mtu, {
      ...(this.options.maxBlksize !== undefined ? { maxBlksize: this.options.maxBlksize } : {}),
      ...(this.options.maxWindowsize !== undefined ? { maxWindowsize: this.options.maxWindowsize } : {}),
    });
    const oack = neg.oack.length > 0 ? encodeOack(neg.oack) : undefined;
    const id = `tftp-${nextTransferId++}`;
    const retransmitMs = neg.timeoutMs ?? this.options.retransmitMs ?? 1000;
    const maxRetries = this.options.maxRetries ?? 5;
    if (onDisk && (!offload || this.liveWorkers() === 0)) {
      // Every worker failed while this request was being resolved: the client's retry is served here.
      this.replyError(address, port, ERR_UNDEFINED, 'Server busy, try again');
      return;
    }
    if (onDisk || (offload && source)) {
      const remote = this.startRemote(
        id,
        key,
        { address, port },
        file,
        size,
        source,
        onDisk,
        neg,
        oack,
        retransmitMs,
        maxRetries,
      );
      this.requests.set(remote, raw);
      return;
    }
    if (!source) return; // unreachable: without workers every file is opened above
    const transfer = new Transfer(this, id, key, { address, port }, file, source, neg, oack, {
      retransmitMs,
      maxRetries,
    });
    this.transfers.set(key, transfer);
    this.local.add(transfer);
    this.requests.set(transfer, raw);
    try {
      await transfer.begin(this.options.address);
    } catch (error) {
      transfer.fail(
        `cannot open transfer socket: ${error instanceof Error ? error.message : String(error)}`,
        'internal',
      );
    }
  }

  /** Hands a negotiated transfer to the next worker thread (round-robin). */
  private startRemote(
    id: string,
    key: string,
    client: { address: string; port: number },
    file: string,
    size: number,
    source: Source | undefined,
    opened: { path: string; identity: FileIdentity } | undefined,
    neg: Negotiated,
    oack: Buffer | undefined,
    retransmitMs: number,
    maxRetries: number,
  ): RemoteTransfer {
    let index = this.nextWorker++ % this.workers.length;
    for (let tries = 0; this.dead[index] && tries < this.workers.length; tries++) {
      index = (index + 1) % this.workers.length;
    }
    const worker = this.workers[index]!;
    const remote = new RemoteTransfer(id, key, client, file, size, neg, index, (m) => worker.postMessage(m));
    let data: Uint8Array | undefined;
    if (!opened && source) {
      // Virtual file or netascii text: the bytes travel with the request (copied by postMessage).
      const bytes = source.chunk(0) ?? Buffer.alloc(0);
      data = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    const message: StartTransfer = {
      kind: 'start',
      id,
      key,
      client,
      file,
      ...(opened ? { path: opened.path, identity: opened.identity } : {}),
      ...(data ? { data } : {}),
      neg,
      ...(oack ? { oack: new Uint8Array(oack.buffer, oack.byteOffset, oack.byteLength) } : {}),
      retransmitMs,
      maxRetries,
    };
    this.transfers.set(key, remote);
    this.remote.set(id, remote);
    worker.postMessage(message);
    return remote;
  }
}
