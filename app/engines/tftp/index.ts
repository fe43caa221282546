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
import type { FileHandle } from 'node:fs/promises';
import type { DatagramTransport } from '../../shared/datagram-transport.js';
import type { Engine } from '../../shared/engine.js';
import type { EngineCounters, TransferEvent } from '../../shared/events.js';
import { silentLogger, systemClock, type Clock, type Logger } from '../../shared/runtime.js';
import {
  ERR_ACCESS,
  ERR_ILLEGAL,
  ERR_UNDEFINED,
  ERR_UNKNOWN_TID,
  OP_ACK,
  OP_DATA,
  OP_ERROR,
  OP_RRQ,
  OP_WRQ,
  decodeRequest,
  encodeError,
  encodeOack,
  sanitiseName,
  toNetascii,
  type TftpRequest,
} from './packet.js';
import { resolveAndOpen } from './paths.js';

export { sanitiseName, decodeRequest, TftpDecodeError } from './packet.js';

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
  readonly logger?: Logger;
  readonly clock?: Clock;
}

interface Source {
  readonly size: number;
  read(target: Buffer, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

function bufferSource(data: Buffer): Source {
  return {
    size: data.length,
    read: (target, offset, length, position) =>
      Promise.resolve(data.copy(target, offset, position, Math.min(data.length, position + length))),
    close: () => Promise.resolve(),
  };
}

function fileSource(handle: FileHandle, size: number): Source {
  return {
    size,
    read: async (target, offset, length, position) =>
      (await handle.read(target, offset, length, position)).bytesRead,
    close: () => handle.close(),
  };
}

const MIN_BLKSIZE = 8;
const READ_AHEAD = 64 * 1024;
const MAX_BLKSIZE = 65464;

interface Negotiated {
  blksize: number;
  windowsize: number;
  timeoutMs?: number;
  oack: { name: string; value: string }[];
}

/** RFC 2347 with EDK2's strict checks: echo only what was asked, never more than asked (§3.3). */
export function negotiate(
  request: TftpRequest,
  size: number | undefined,
  mtu: number | undefined,
): Negotiated {
  const result: Negotiated = { blksize: 512, windowsize: 1, oack: [] };
  const seen = new Set<string>();
  for (const { name, value } of request.options) {
    const key = name.toLowerCase();
    if (seen.has(key)) continue; // first occurrence wins
    seen.add(key);
    if (!/^\d{1,10}$/.test(value)) continue;
    const n = Number(value);
    if (key === 'blksize') {
      if (n < MIN_BLKSIZE || n > MAX_BLKSIZE) continue; // T6: ignore, never echo illegal values
      const cap = mtu !== undefined ? Math.max(MIN_BLKSIZE, mtu - 32) : MAX_BLKSIZE;
      result.blksize = Math.min(n, cap);
      result.oack.push({ name, value: String(result.blksize) });
    } else if (key === 'tsize') {
      if (size === undefined) continue; // netascii: size unknown, leave out (dnsmasq)
      result.oack.push({ name, value: String(size) });
    } else if (key === 'timeout') {
      if (n < 1 || n > 255) continue; // RFC 2349 seconds; the npm client's ms values land here
      result.timeoutMs = n * 1000;
      result.oack.push({ name, value }); // EDK2: Reply->Timeout must equal Request->Timeout
    } else if (key === 'windowsize') {
      if (n < 1 || n > 65535) continue;
      result.windowsize = n;
      result.oack.push({ name, value });
    }
    // unknown options (multicast, foo, …) ignored (RFC 2347)
  }
  return result;
}

let nextTransferId = 1;

class Transfer {
  readonly id = `tftp-${nextTransferId++}`;
  private socket: Socket | undefined;
  /** Absolute (unwrapped) number of the first unacknowledged block; 0 = OACK outstanding. */
  private base: number;
  private sentUpTo = 0;
  private readonly lastBlock: number;
  private readonly slots: Buffer[] = [];
  private readonly slotBlock: number[] = [];
  private readonly slotLen: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private retries = 0;
  private closed = false;
  private sending = false;
  private readonly started: number;
  private lastProgress = 0;
  private ackedBytes = 0;
  private again = false;
  private againRetransmit = false;
  private chunk: Buffer | undefined;
  private chunkPos = 0;
  private chunkLen = 0;

  constructor(
    private readonly server: TftpServer,
    readonly key: string,
    readonly client: { address: string; port: number },
    readonly file: string,
    private readonly source: Source,
    private readonly neg: Negotiated,
    private readonly oack: Buffer | undefined,
    private readonly retransmitMs: number,
    private readonly maxRetries: number,
  ) {
    this.lastBlock = Math.floor(source.size / neg.blksize) + 1; // T2/T3: trailing short (maybe empty) block
    this.base = oack ? 0 : 1;
    this.started = server.now();
  }

  async begin(address: string): Promise<void> {
    const socket = createSocket({ type: 'udp4' });
    this.socket = socket;
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo.address, rinfo.port));
    socket.on('error', (error) => this.fail(`socket error: ${error.message}`));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    this.server.emitTransfer(this, 'start', 0);
    void this.pump();
  }

  /** Client resent its RRQ (lost OACK/DATA 1, T17): resend from the existing session, no new port. */
  resendCurrent(): void {
    if (this.base <= 1) void this.sendWindow(true);
  }

  private send(data: Buffer, length = data.length): void {
    if (!this.socket || this.closed) return;
    this.server.countSent();
    this.socket.send(data, 0, length, this.client.port, this.client.address);
  }

  private armTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    // Exponential back-off, capped (protocol.md §3.5).
    const interval = Math.min(this.retransmitMs * 2 ** this.retries, Math.max(this.retransmitMs, 8000));
    this.timer = setTimeout(() => this.onTimeout(), interval);
  }

  private onTimeout(): void {
    if (this.closed) return;
    if (this.retries >= this.maxRetries) {
      if (this.base === this.lastBlock && this.sentUpTo === this.lastBlock) {
        // Lost final ACK: some clients never send it (dnsmasq) — finished, no error (T14).
        this.finish();
      } else if (this.base === 0) {
        this.fail('client never acknowledged the option reply (OACK)');
      } else {
        this.fail(`client stopped acknowledging at block ${this.base}`);
      }
      return;
    }
    this.retries++;
    void this.sendWindow(true);
  }

  private async pump(): Promise<void> {
    await this.sendWindow(false);
  }

  private slotFor(block: number): number {
    return block % this.neg.windowsize;
  }

  /** Sends the window starting at `base` (RFC 7440); on retransmit resends the whole window. */
  private async sendWindow(retransmit: boolean): Promise<void> {
    if (this.closed) return;
    if (this.sending) {
      // An ACK or timeout arrived while a read was in flight: run again once it finishes.
      this.again = true;
      this.againRetransmit ||= retransmit;
      return;
    }
    this.sending = true;
    try {
      if (this.base === 0) {
        if (this.oack) this.send(this.oack);
        this.armTimer();
        return;
      }
      const end = Math.min(this.base + this.neg.windowsize - 1, this.lastBlock);
      const from = retransmit ? this.base : Math.max(this.base, this.sentUpTo + 1);
      for (let block = from; block <= end; block++) {
        const slot = this.slotFor(block);
        let buf = this.slots[slot];
        if (!buf) {
          buf = Buffer.allocUnsafe(this.neg.blksize + 4);
          this.slots[slot] = buf;
        }
        if (this.slotBlock[slot] !== block) {
          const n = await this.readBlock(buf, block);
          if (this.closed) return;
          buf[0] = 0;
          buf[1] = OP_DATA;
          buf.writeUInt16BE(block & 0xffff, 2); // §3.4: wrap to 0 past 65535
          this.slotBlock[slot] = block;
          this.slotLen[slot] = n + 4;
        }
        this.send(buf, this.slotLen[slot]);
        if (block > this.sentUpTo) this.sentUpTo = block;
      }
      this.armTimer();
    } catch (error) {
      this.fail(`read error: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.sending = false;
    }
    if (this.again && !this.closed) {
      const r = this.againRetransmit;
      this.again = false;
      this.againRetransmit = false;
      await this.sendWindow(r);
    }
  }

  /**
   * Copies block bytes out of a read-ahead chunk; one positioned read per chunk instead of per block
   * keeps the thread-pool round trip off the per-packet path (lockstep throughput).
   */
  private async readBlock(target: Buffer, block: number): Promise<number> {
    const blksize = this.neg.blksize;
    const position = (block - 1) * blksize;
    const want = Math.max(0, Math.min(blksize, this.source.size - position));
    if (want === 0) return 0;
    if (position < this.chunkPos || position + want > this.chunkPos + this.chunkLen) {
      if (!this.chunk) {
        const wanted = Math.max(READ_AHEAD, blksize * Math.min(this.neg.windowsize, 64));
        this.chunk = Buffer.allocUnsafe(Math.min(wanted, Math.max(blksize, this.source.size)));
      }
      this.chunkPos = position;
      this.chunkLen = 0;
      this.chunkLen = await this.source.read(this.chunk, 0, this.chunk.length, position);
    }
    const start = position - this.chunkPos;
    const n = Math.min(want, this.chunkLen - start);
    this.chunk?.copy(target, 4, start, start + n);
    return Math.max(0, n);
  }

  private onMessage(msg: Buffer, address: string, port: number): void {
    if (this.closed) return;
    if (address !== this.client.address || port !== this.client.port) {
      // T16: stranger gets ERROR 5, transfer untouched (RFC 1350 §4).
      this.socket?.send(encodeError(ERR_UNKNOWN_TID, 'Unknown transfer ID'), port, address);
      return;
    }
    if (msg.length < 4) return;
    const op = msg.readUInt16BE(0);
    if (op === OP_ERROR) {
      const code = msg.readUInt16BE(2);
      const text = sanitiseName(msg.toString('latin1', 4, Math.max(4, msg.indexOf(0, 4))));
      if (this.base === 0) {
        // U6: EDK2 probes tsize then aborts (ERROR 8) — normal. U8: log the option set for diagnosis.
        this.server.logDebug('client ended transfer after OACK', {
          file: this.file,
          code,
          message: text,
          options: this.neg.oack.map((o) => `${o.name}=${o.value}`).join(' '),
        });
        this.finish({ probe: true, clientCode: code });
      } else {
        this.fail(`client aborted at block ${this.base} (error ${code}: ${text})`);
      }
      return;
    }
    if (op !== OP_ACK) return;
    const wire = msg.readUInt16BE(2);
    // Map the u16 to the absolute block: the newest sent block with that low half (T15 rollover).
    if (this.base === 0) {
      if (wire !== 0) return;
      this.base = 1;
      this.retries = 0;
      void this.pump();
      return;
    }
    const acked = this.sentUpTo - ((this.sentUpTo - wire) & 0xffff);
    if (acked < this.base - 1) return; // old/duplicate ACK: never resend on it (RFC 1123 4.2.3.1, T12)
    if (acked > this.sentUpTo) return; // future block: ignore
    if (acked === this.base - 1) return; // duplicate of the previous ACK
    this.retries = 0;
    this.ackedBytes = Math.min(acked * this.neg.blksize, this.source.size);
    this.base = acked + 1;
    if (acked >= this.lastBlock) {
      this.finish();
      return;
    }
    const now = this.server.now();
    if (now - this.lastProgress >= this.server.progressMs) {
      this.lastProgress = now;
      this.server.emitTransfer(this, 'progress', this.ackedBytes, this.rate(now));
    }
    // Go-back-N: an ACK short of the window end means the client missed ack+1; resend from there.
    if (acked < this.sentUpTo) this.sentUpTo = acked;
    void this.pump();
  }

  private rate(now: number): number {
    const seconds = Math.max(0.001, (now - this.started) / 1000);
    return Math.round(this.ackedBytes / seconds);
  }

  get size(): number {
    return this.source.size;
  }

  get detail(): Record<string, string | number | boolean> {
    const d: Record<string, string | number | boolean> = {
      blksize: this.neg.blksize,
      windowsize: this.neg.windowsize,
    };
    for (const o of this.neg.oack) d[`option.${o.name.toLowerCase()}`] = o.value;
    return d;
  }

  private finish(extra?: Record<string, string | number | boolean>): void {
    if (this.closed) return;
    const bytes = extra?.probe ? 0 : this.source.size;
    this.ackedBytes = bytes;
    this.server.emitTransfer(this, 'done', bytes, this.rate(this.server.now()), undefined, extra);
    void this.close();
  }

  fail(reason: string): void {
    if (this.closed) return;
    this.server.emitTransfer(this, 'failed', this.ackedBytes, undefined, reason);
    void this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.server.release(this);
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
    await this.source.close().catch(() => undefined);
  }
}

export class TftpServer implements Engine<TransferEvent> {
  private readonly listeners = new Set<(event: TransferEvent) => void>();
  private readonly transfers = new Map<string, Transfer>();
  private readonly pending = new Set<string>();
  private listenSocket: Socket | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly log: Logger;
  private readonly clock: Clock;
  readonly progressMs: number;
  private stats = { received: 0, malformed: 0, rateLimited: 0, sent: 0 };

  constructor(private readonly options: TftpServerOptions) {
    this.log = (options.logger ?? silentLogger).child('tftp');
    this.clock = options.clock ?? systemClock;
    this.progressMs = options.progressMs ?? 250;
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

  /** Listen port (own socket), after start. */
  port(): number | undefined {
    return this.listenSocket?.address().port;
  }

  /** Transfers in progress (tests check for leaks). */
  activeTransfers(): number {
    return this.transfers.size + this.pending.size;
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
      const resolved = await resolveAndOpen(request.filename, dirs, this.options.caseInsensitive ?? false);
      if (!resolved.ok) {
        this.log.info('request refused', { client: key, file: name, reason: resolved.reason });
        this.replyError(address, port, resolved.code, resolved.reason);
        return;
      }
      source = fileSource(resolved.handle, resolved.size);
      file = sanitiseName(resolved.relative);
    }
    if (request.mode === 'netascii') {
      const raw = Buffer.allocUnsafe(source.size);
      await source.read(raw, 0, source.size, 0);
      await source.close();
      source = bufferSource(toNetascii(raw));
    }
    const neg = negotiate(request, request.mode === 'octet' ? source.size : undefined, this.options.mtu);
    const oack = neg.oack.length > 0 ? encodeOack(neg.oack) : undefined;
    const transfer = new Transfer(
      this,
      key,
      { address, port },
      file,
      source,
      neg,
      oack,
      neg.timeoutMs ?? this.options.retransmitMs ?? 1000,
      this.options.maxRetries ?? 5,
    );
    this.transfers.set(key, transfer);
    try {
      await transfer.begin(this.options.address);
    } catch (error) {
      transfer.fail(`cannot open transfer socket: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
