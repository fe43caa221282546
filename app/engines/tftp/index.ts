/**
 * TftpServer: read-only TFTP (RFC 1350, 2347, 2348, 2349, 7440) for PXE clients.
 *
 * Why our own engine and not the npm `tftp` package: see docs/decisions.md (throughput, memory at 200
 * clients, no way to feed it relayed requests without private fields).
 *
 * Each transfer has its own socket on an ephemeral port bound to `address` (RFC 1350 §4 TID); the
 * request arrives either on our own listen socket or on the transport's 'tftp' channel (helper relay).
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import type { DatagramTransport } from '../../shared/datagram-transport.js';
import type { Engine } from '../../shared/engine.js';
import type { EngineCounters, TransferEvent } from '../../shared/events.js';
import { silentLogger, systemClock, type Clock, type Logger } from '../../shared/runtime.js';
import { FileCache, bufferSource, type Source } from './file-cache.js';
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
import { resolveFile } from './paths.js';
import { Transfer, negotiate, type TransferHost } from './transfer.js';

export { sanitiseName, decodeRequest, TftpDecodeError } from './packet.js';
export { negotiate } from './transfer.js';

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
  readonly caseInsensitive?: boolean;
  readonly virtualFiles?: VirtualFiles;
  /** Concurrent transfers; more get ERROR 0 "server busy" (dnsmasq tftp-max). Default 512. */
  readonly maxTransfers?: number;
  /** First retransmit interval when the client did not negotiate `timeout` (ms, default 1000). */
  readonly retransmitMs?: number;
  /** Retransmissions before giving up (default 5). */
  readonly maxRetries?: number;
  /** Progress event period (ms, default 250). */
  readonly progressMs?: number;
  /** Bytes per shared file read (default 128 KiB). */
  readonly chunkSize?: number;
  /** File bytes kept in memory across transfers (default 64 MiB). */
  readonly cacheBytes?: number;
  /** Largest file served in netascii mode, which is converted in memory (default 16 MiB). */
  readonly maxNetasciiBytes?: number;
  readonly logger?: Logger;
  readonly clock?: Clock;
}

export class TftpServer implements Engine<TransferEvent>, TransferHost {
  private readonly listeners = new Set<(event: TransferEvent) => void>();
  private readonly transfers = new Map<string, Transfer>();
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

  /** Distinct files open (a file served to many clients at once is opened once, T23). */
  openFiles(): number {
    return this.files.openFiles();
  }

  async start(): Promise<void> {
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
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    const socket = this.listenSocket;
    this.listenSocket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
    await Promise.all([...this.transfers.values()].map((t) => t.close()));
  }

  onEvent(listener: (event: TransferEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  counters(): EngineCounters {
    return { ...this.stats };
  }

  release(transfer: Transfer): void {
    if (this.transfers.get(transfer.key) === transfer) this.transfers.delete(transfer.key);
  }

  emitTransfer(
    t: Transfer,
    type: TransferEvent['type'],
    bytes: number,
    rate?: number,
    reason?: string,
    extra?: Record<string, string | number | boolean>,
  ): void {
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
      detail: extra ? { ...t.detail, ...extra } : t.detail,
    };
    if (type === 'failed')
      this.log.info(`transfer failed: ${reason ?? ''}`, { file: t.file, client: t.client });
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.log.warn('event listener threw', { error: String(error) });
      }
    }
  }

  /** Errors for requests go from a fresh ephemeral socket: replies never use the relay (DESIGN). */
  private replyError(address: string, port: number, code: number, message: string): void {
    const socket = createSocket({ type: 'udp4' });
    socket.on('error', () => socket.close());
    socket.bind(0, this.options.address, () => {
      this.stats.sent++;
      socket.send(encodeError(code, message), port, address, () => socket.close());
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
    if (existing) {
      existing.resendCurrent();
      return;
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
    try {
      await this.startTransfer(request, name, address, port, key);
    } finally {
      this.pending.delete(key);
    }
  }

  private async startTransfer(
    request: TftpRequest,
    name: string,
    address: string,
    port: number,
    key: string,
  ): Promise<void> {
    let source: Source | undefined;
    let file = name;
    const normalised = request.filename.replace(/\\/g, '/').replace(/^\/+/, '');
    if (this.options.virtualFiles && !normalised.split('/').includes('..')) {
      const data = await this.options.virtualFiles(normalised, { address, port });
      if (data) source = bufferSource(data);
    }
    if (!source) {
      const dirs = [this.options.root, ...(this.options.fallbackDirs ?? [])];
      const resolved = await resolveFile(request.filename, dirs, this.options.caseInsensitive ?? false);
      if (!resolved.ok) {
        this.log.info('request refused', { client: key, file: name, reason: resolved.reason });
        this.replyError(address, port, resolved.code, resolved.reason);
        return;
      }
      const opened = await this.files.open(resolved.path, resolved.info);
      if (!opened.ok) {
        this.log.info('request refused', { client: key, file: name, reason: opened.reason });
        this.replyError(address, port, ERR_ACCESS, opened.reason);
        return;
      }
      source = opened.source;
      file = sanitiseName(resolved.relative);
    }
    if (request.mode === 'netascii') {
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
    const neg = negotiate(request, request.mode === 'octet' ? source.size : undefined, this.options.mtu);
    const oack = neg.oack.length > 0 ? encodeOack(neg.oack) : undefined;
    const transfer = new Transfer(this, key, { address, port }, file, source, neg, oack, {
      retransmitMs: neg.timeoutMs ?? this.options.retransmitMs ?? 1000,
      maxRetries: this.options.maxRetries ?? 5,
    });
    this.transfers.set(key, transfer);
    try {
      await transfer.begin(this.options.address);
    } catch (error) {
      transfer.fail(`cannot open transfer socket: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
