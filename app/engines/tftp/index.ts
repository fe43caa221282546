/**
 * TftpServer: read-only TFTP (RFC 1350, 2347, 2348, 2349, 7440) for PXE clients.
 *
 * Why our own engine and not the npm `tftp` package: see docs/decisions.md (throughput, memory at 200
 * clients, no way to feed it relayed requests without private fields).
 *
 * Each transfer has its own socket on an ephemeral port bound to `address` (RFC 1350 §4 TID); the
 * request arrives either on our own listen socket or on the transport's 'tftp' channel (helper relay).
 * Here: the server's lifecycle, what each request is (new, repeated, a late copy, superseding; limits)
 * and where its transfer runs, events and counters. Around it, one file per job:
 *  - request.ts: confinement, virtual files, netascii and option negotiation (negotiate.ts);
 *  - registry.ts: the transfer of each client, repeats and late copies;
 *  - transfer.ts: the DATA path in this thread, reading shared file chunks (file-cache.ts);
 *  - runner-pool.ts: transfers in worker threads (transfer-worker.ts) or the native data path
 *    (native-data-path.ts, native-tftp/), over worker-protocol.ts;
 *  - error-replies.ts: rate-limited ERROR replies; options.ts: what the server is given.
 * Kept whole (~405 lines): what is left is the one request lifecycle (receive, classify, place, report);
 * files inside ISO images resolve in files/iso-members.ts and only their counters are read here.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { availableParallelism } from 'node:os';
import type { Engine } from '../../shared/engine.js';
import type { EngineCounters, TransferEvent } from '../../shared/events.js';
import { silentLogger, systemClock, type Clock, type Logger } from '../../shared/runtime.js';
import { IsoMembers } from '../files/iso-members.js';
import { ErrorReplies } from './error-replies.js';
import { FileCache } from './file-cache.js';
import type { TftpServerOptions } from './options.js';
import {
  ERR_ACCESS,
  ERR_ILLEGAL,
  ERR_UNDEFINED,
  OP_RRQ,
  OP_WRQ,
  decodeRequest,
  sanitiseName,
  type TftpRequest,
} from './packet.js';
import { DEFAULT_LATE_COPY_MS, TransferRegistry } from './registry.js';
import { prepareTransfer } from './request.js';
import { RemoteTransfer, RunnerPool } from './runner-pool.js';
import { Transfer } from './transfer.js';
import type { TransferHost, TransferInfo, TransferOutcome } from './transfer-host.js';

export { sanitiseName, decodeRequest, TftpDecodeError } from './packet.js';
export { negotiate } from './negotiate.js';
export type { TftpServerOptions, VirtualFiles } from './options.js';

let nextTransferId = 1;

export class TftpServer implements Engine<TransferEvent>, TransferHost {
  private readonly listeners = new Set<(event: TransferEvent) => void>();
  private readonly registry: TransferRegistry;
  private readonly pool: RunnerPool;
  /** Workers 'auto' may start (0 when `workers` is a number). */
  private autoWorkers = 0;
  /** Transfers running on this thread, and requests already decided to run here but not started yet. */
  private readonly local = new Set<Transfer>();
  private localReserved = 0;
  private readonly errors: ErrorReplies;
  private stopped = false;
  private listenSocket: Socket | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly log: Logger;
  private readonly clock: Clock;
  readonly progressMs: number;
  private readonly files: FileCache;
  /** Files inside ISO images (`isos/x.iso/casper/vmlinuz`): opened images and lookups, closed on stop. */
  private readonly isos: IsoMembers;
  private stats = { received: 0, malformed: 0, rateLimited: 0, sent: 0 };

  constructor(private readonly options: TftpServerOptions) {
    this.log = (options.logger ?? silentLogger).child('tftp');
    this.clock = options.clock ?? systemClock;
    this.progressMs = options.progressMs ?? 250;
    this.registry = new TransferRegistry(options.lateCopyMs ?? DEFAULT_LATE_COPY_MS);
    this.files = new FileCache({
      ...(options.chunkSize !== undefined ? { chunkSize: options.chunkSize } : {}),
      ...(options.cacheBytes !== undefined ? { budget: options.cacheBytes } : {}),
    });
    this.isos = new IsoMembers({ logger: this.log });
    this.errors = new ErrorReplies(
      options.address,
      this.log,
      { sent: () => this.stats.sent++, rateLimited: () => this.stats.rateLimited++ },
      () => this.stopped,
    );
    const { address, chunkSize, cacheBytes, workerEntry, nativeDataPath } = options;
    this.pool = new RunnerPool(
      {
        address,
        progressMs: this.progressMs,
        ...(chunkSize !== undefined ? { chunkSize } : {}),
        ...(cacheBytes !== undefined ? { cacheBytes } : {}),
        ...(workerEntry !== undefined ? { workerEntry } : {}),
        ...(nativeDataPath !== undefined ? { nativeDataPath } : {}),
      },
      {
        emitTransfer: (t, type, bytes, outcome) => this.emitTransfer(t, type, bytes, outcome),
        release: (t) => this.release(t),
        request: (msg, from, port) => void this.onRequest(msg, from, port),
        refuse: (t, reason) => {
          this.log.info('request refused', { client: t.key, file: t.file, reason });
          this.errors.send(t.client.address, t.client.port, ERR_ACCESS, reason);
        },
        count: (sent, malformed) => {
          this.stats.sent += sent;
          this.stats.malformed += malformed;
        },
      },
      this.log,
    );
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
    return this.registry.size();
  }

  /** Distinct files open (a file served to many clients at once is opened once per thread, T23). */
  openFiles(): number {
    return this.files.openFiles() + this.pool.openFiles();
  }

  /** Whether transfers run in the native data path right now (diagnostics and tests). */
  nativeDataPathActive(): boolean {
    return this.pool.native && this.pool.live() > 0;
  }

  /** The native data path's process id while it runs (diagnostics and tests). */
  nativeDataPathPid(): number | undefined {
    return this.pool.nativePid();
  }

  /** Worker threads able to take transfers right now (diagnostics and tests). */
  workerThreads(): number {
    return this.pool.live();
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
    this.pool.native = this.options.nativeDataPath !== undefined && process.platform === 'linux';
    if (this.pool.native) {
      // One process for every transfer (a goroutine each); started now so the first PXE client does
      // not wait for it.
      this.autoWorkers = 0;
      this.pool.spawn();
      this.log.info('transfers run in the native data path', { binary: this.options.nativeDataPath });
    } else if (wanted !== 'auto') for (let i = 0; i < wanted; i++) this.pool.spawn();
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
    await this.errors.close();
    await Promise.all(this.registry.running().map((t) => t.close()));
    await this.pool.stop();
    await this.isos.close();
  }

  /** Whether the next transfer runs in a runner (starting the 'auto' workers on first need). */
  private shouldOffload(): boolean {
    if (this.pool.native) return this.pool.live() > 0;
    if (this.autoWorkers > 0) {
      if (this.local.size + this.localReserved < (this.options.offloadAt ?? 16)) return false;
      while (this.pool.started < this.autoWorkers) this.pool.spawn();
    }
    return this.pool.live() > 0;
  }

  onEvent(listener: (event: TransferEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  counters(): EngineCounters {
    return { ...this.stats };
  }

  /** ISO images behind files served from inside them: open now, opened, unreadable, lookups. */
  isoImages(): ReturnType<IsoMembers['counters']> {
    return this.isos.counters();
  }

  release(transfer: TransferInfo): void {
    this.registry.release(transfer);
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
    if (type === 'done' && extra?.['probe'] !== true) this.registry.rememberFinished(t);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.log.warn('event listener threw', { error: String(error) });
      }
    }
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
      this.errors.send(address, port, ERR_ACCESS, 'Uploads are not allowed');
      return;
    }
    if (request.opcode !== OP_RRQ) return;
    if (!isIPv4(address)) return; // transfers answer IPv4 literals only (relay sources included)
    const existing = this.registry.get(key);
    if (existing && this.registry.isRepeat(existing, msg)) {
      // T17: the same RRQ again (our OACK or DATA 1 was lost): resend, never a second session.
      if (existing instanceof RemoteTransfer) existing.repeated = { msg: Buffer.from(msg), address, port };
      existing.resendCurrent();
      return;
    }
    if (!existing && this.registry.isLateCopy(key, msg)) {
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
    if (this.registry.isPending(key)) return;
    if (request.mode !== 'octet' && request.mode !== 'netascii') {
      this.errors.send(address, port, ERR_ILLEGAL, 'Unsupported transfer mode');
      return;
    }
    if (this.registry.size() >= (this.options.maxTransfers ?? 512)) {
      this.stats.rateLimited++;
      this.errors.send(address, port, ERR_UNDEFINED, 'Server busy, try again');
      return;
    }
    this.registry.reserve(key);
    // Decided before any await, so a burst of simultaneous requests is counted as it arrives.
    const offload = this.shouldOffload();
    if (!offload) this.localReserved++;
    try {
      await this.startTransfer(request, Buffer.from(msg), name, { address, port }, key, offload);
    } finally {
      if (!offload) this.localReserved--;
      this.registry.unreserve(key);
    }
  }

  private async startTransfer(
    request: TftpRequest,
    raw: Buffer,
    name: string,
    client: { address: string; port: number },
    key: string,
    offload: boolean,
  ): Promise<void> {
    const prepared = await prepareTransfer(request, name, client, offload, {
      options: this.options,
      files: this.files,
      isos: this.isos,
      refuse: (code, message, why) => {
        this.log.info(why.message, why.fields);
        this.errors.send(client.address, client.port, code, message);
      },
    });
    if (!prepared) return;
    const { file, source, onDisk, neg, oack } = prepared;
    const id = `tftp-${nextTransferId++}`;
    const retransmitMs = neg.timeoutMs ?? this.options.retransmitMs ?? 1000;
    const maxRetries = this.options.maxRetries ?? 5;
    if (onDisk && (!offload || this.pool.live() === 0)) {
      // Every worker failed while this request was being resolved: the client's retry is served here.
      this.errors.send(client.address, client.port, ERR_UNDEFINED, 'Server busy, try again');
      return;
    }
    if (onDisk || (offload && source)) {
      const remote = this.pool.start({ id, key, client, ...prepared, retransmitMs, maxRetries });
      this.registry.add(remote, raw);
      return;
    }
    if (!source) return; // unreachable: without workers every file is opened above
    const transfer = new Transfer(this, id, key, client, file, source, neg, oack, {
      retransmitMs,
      maxRetries,
    });
    this.registry.add(transfer, raw);
    this.local.add(transfer);
    try {
      await transfer.begin(this.options.address);
    } catch (error) {
      transfer.fail(
        `cannot open transfer socket: ${error instanceof Error ? error.message : String(error)}`,
        'internal',
      );
    }
  }
}
