/**
 * One TFTP read transfer: its own socket (RFC 1350 §4 TID), the negotiated options (negotiate.ts),
 * the DATA window (RFC 7440), retransmission with back-off and teardown. Over ~400 lines on purpose:
 * the ACK → DATA path below is one synchronous object (no indirection per packet).
 *
 * Hot path (measured, see bench/README.md): lockstep throughput is bound by the time between an ACK
 * arriving and the next DATA leaving, so that path is synchronous and allocation-light:
 *  - DATA is copied out of a shared in-memory chunk (FileCache) into a per-window-slot buffer whose
 *    header is written in place; only a missing chunk makes the transfer wait for the thread pool,
 *    and chunks are prefetched half a chunk ahead so that rarely happens;
 *  - one timer per transfer, re-armed lazily: each send only moves a deadline, and the timer re-sleeps
 *    when it fires early (no clearTimeout/setTimeout per packet);
 *  - the socket resolves addresses with a pass-through lookup (client addresses are IPv4 literals),
 *    which skips dns.lookup's regex test and process.nextTick on every send;
 *  - progress events are throttled (progressMs).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import type { Source } from './file-cache.js';
import { detailOf, type Negotiated } from './negotiate.js';
import type { TransferHost, TransferInfo, TransferSettings } from './transfer-host.js';
import type { TftpFailure, TftpFailureCode } from './worker-protocol.js';
import {
  ERR_ILLEGAL,
  ERR_UNKNOWN_TID,
  OP_ACK,
  OP_DATA,
  OP_ERROR,
  encodeError,
  sanitiseName,
} from './packet.js';

/** Client addresses reaching a transfer are IPv4 literals: no resolver round trip per packet. */
function literalLookup(
  address: string,
  _options: unknown,
  callback: (error: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  callback(null, address, 4);
}

const UNKNOWN_TID = encodeError(ERR_UNKNOWN_TID, 'Unknown transfer ID');

export class Transfer implements TransferInfo {
  private socket: Socket | undefined;
  /** Absolute (unwrapped) number of the first unacknowledged block; 0 = OACK outstanding. */
  private base: number;
  private sentUpTo = 0;
  private readonly lastBlock: number;
  private readonly blksize: number;
  private readonly windowsize: number;
  /** One packet buffer per window position; the header is written in place. */
  private readonly slots: Buffer[] = [];
  private readonly slotBlock: number[] = [];
  /** The packet to send for a slot (the slot buffer itself, or a shorter view for the last block). */
  private readonly slotPacket: Buffer[] = [];
  /** Chunk this transfer is copying from (kept even if the cache evicts it). */
  private chunkIndex = -1;
  private chunkData: Buffer | undefined;
  private missingChunk = -1;
  private prefetched = -1;
  /** A chunk read is in flight: sends wait for it, then resume from `resumeFrom`. */
  private loading = false;
  private resumeFrom = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Monotonic time (ms) at which the outstanding packets count as lost. */
  private due = 0;
  /** When the pending timer fires (monotonic ms). */
  private timerAt = 0;
  private retries = 0;
  /**
   * The client acknowledged the block before the last one again since the last block last went out:
   * it is alive and still waiting for that block (a lockstep client resends its ACK on its own timeout).
   */
  private lastBlockAsked = false;
  private closed = false;
  /** The socket is bound and the first packet is going out (a failure then has a block to report). */
  private sending = false;
  private readonly started: number;
  private lastProgress = 0;
  private ackedBytes = 0;
  /** DATA/OACK datagrams sent (worker threads report them to the server's counters). */
  packetsSent = 0;
  /** Malformed datagrams the client sent to this transfer. */
  malformed = 0;
  private resolveClosed: () => void = () => undefined;
  /** Settles once the socket is closed and the source released. */
  readonly whenClosed = new Promise<void>((resolve) => (this.resolveClosed = resolve));

  constructor(
    private readonly host: TransferHost,
    readonly id: string,
    readonly key: string,
    readonly client: { readonly address: string; readonly port: number },
    readonly file: string,
    private readonly source: Source,
    private readonly neg: Negotiated,
    private readonly oack: Buffer | undefined,
    private readonly settings: TransferSettings,
  ) {
    this.blksize = neg.blksize;
    this.windowsize = neg.windowsize;
    this.lastBlock = Math.floor(source.size / neg.blksize) + 1; // T2/T3: trailing short (maybe empty) block
    this.base = oack ? 0 : 1;
    this.started = host.now();
  }

  get size(): number {
    return this.source.size;
  }

  get detail(): Record<string, string | number | boolean> {
    return detailOf(this.neg);
  }

  async begin(address: string): Promise<void> {
    const socket = createSocket({ type: 'udp4', lookup: literalLookup });
    this.socket = socket;
    socket.on('message', this.onMessage);
    socket.on('error', (error) => this.fail(`socket error: ${error.message}`, 'internal'));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    if (this.closed) return;
    this.sending = true;
    this.host.emitTransfer(this, 'start', 0);
    this.transmit(this.base);
  }

  /**
   * The same client address and port sent a different request: the client has moved on (dnsmasq
   * "abandoned transfer from same host and port"). Awaiting only the final ACK counts as done.
   */
  supersede(): void {
    if (this.base === this.lastBlock && this.sentUpTo === this.lastBlock) this.finish();
    else this.fail('client sent a new request from the same port', 'superseded');
  }

  /** Client resent its RRQ (lost OACK/DATA 1, T17): resend from the existing session, no new port. */
  resendCurrent(): void {
    if (this.socket && this.base <= 1 && this.sentUpTo <= this.windowsize) this.transmit(this.base);
  }

  private put(packet: Buffer): void {
    this.packetsSent++;
    this.host.countSent();
    this.socket?.send(packet, this.client.port, this.client.address);
  }

  /** Moves the loss deadline; the single timer only re-sleeps when it fires before the deadline. */
  private arm(now: number): void {
    const base = this.settings.retransmitMs;
    // Exponential back-off, capped (RFC 1123 §4.2.3.2; docs/protocol-notes.md §9).
    const interval = this.retries === 0 ? base : Math.min(base * 2 ** this.retries, Math.max(base, 8000));
    this.due = now + interval;
    // Steady state only moves the deadline later (no timer work); re-arm when it moves earlier, e.g.
    // progress after a long back-off, so the next loss is noticed after the short interval again.
    if (this.timer && this.due >= this.timerAt - 1) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = this.due;
    this.timer = setTimeout(this.onTimer, interval);
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    if (this.closed) return;
    const left = this.due - performance.now();
    if (left > 1) {
      this.timerAt = this.due;
      this.timer = setTimeout(this.onTimer, left);
      return;
    }
    this.onTimeout();
  };

  private onTimeout(): void {
    if (this.retries >= this.settings.maxRetries) {
      if (this.base === this.lastBlock && this.sentUpTo === this.lastBlock) {
        // Lost final ACK: some clients never send it (dnsmasq) — finished, no error (T14). But a client
        // that still acknowledged the previous block after our last resend never got the last one: a
        // "done" would tell the user a machine has a file it does not have.
        if (this.lastBlockAsked) {
          this.fail(
            `client never received the last block (${this.lastBlock}): it still acknowledged block ${this.lastBlock - 1} after the last resend`,
            'last-block-unacked',
          );
        } else this.finish();
      } else if (this.base === 0) {
        this.fail('client never acknowledged the option reply (OACK)', 'client-silent');
      } else {
        this.fail(`client stopped acknowledging at block ${this.base}`, 'client-silent');
      }
      return;
    }
    this.retries++;
    // RFC 7440: a timeout resends the whole unacknowledged window.
    this.transmit(this.base);
  }

  /**
   * Sends the window from block `from` (>= base) to base + windowsize - 1 (RFC 7440). Synchronous
   * unless a chunk is missing; then it loads it and carries on from the first unsent block.
   */
  private transmit(from: number): void {
    if (this.closed) return;
    if (this.loading) {
      this.resumeFrom = Math.min(this.resumeFrom, from);
      return;
    }
    const now = performance.now();
    if (this.base === 0) {
      if (this.oack) this.put(this.oack);
      this.arm(now);
      return;
    }
    const end = Math.min(this.base + this.windowsize - 1, this.lastBlock);
    let block = Math.max(from, this.base);
    for (; block <= end; block++) {
      const slot = this.windowsize === 1 ? 0 : block % this.windowsize;
      if (this.slotBlock[slot] !== block && !this.fill(slot, block)) break;
      this.put(this.slotPacket[slot]!);
      if (block > this.sentUpTo) this.sentUpTo = block;
      if (block === this.lastBlock) this.lastBlockAsked = false;
    }
    this.arm(now);
    if (block <= end) {
      this.waitFor(this.missingChunk, block);
      return;
    }
    this.prefetch(end);
  }

  private waitFor(index: number, resumeFrom: number): void {
    this.loading = true;
    this.resumeFrom = resumeFrom;
    this.source.load(index).then(
      (chunk) => {
        this.loading = false;
        if (this.closed) return;
        this.chunkIndex = index;
        this.chunkData = chunk;
        this.transmit(this.resumeFrom);
      },
      (error: unknown) => {
        this.loading = false;
        this.fail(`read error: ${error instanceof Error ? error.message : String(error)}`, 'read-error');
      },
    );
  }

  /**
   * Keeps the chunks for the next two windows plus four chunks (512 KiB by default) loading ahead: on
   * a busy machine a thread-pool read can wait milliseconds for a CPU, which at 100 MB/s is hundreds
   * of blocks, so a short lead shows up as stalls (measured with windowsize 64 under load).
   */
  private prefetch(end: number): void {
    const source = this.source;
    const chunkSize = source.chunkSize;
    if (chunkSize >= source.size) return;
    const ahead = Math.min(source.size - 1, (end + 2 * this.windowsize) * this.blksize + 4 * chunkSize);
    const last = Math.floor(ahead / chunkSize);
    if (last <= this.prefetched) return;
    for (let index = Math.max(this.prefetched + 1, this.chunkIndex + 1); index <= last; index++) {
      if (!source.chunk(index)) source.load(index).catch(() => undefined); // errors surface on demand
    }
    this.prefetched = last;
  }

  /** Builds DATA `block` into `slot`; false (and `missingChunk` set) when its bytes are not in memory. */
  private fill(slot: number, block: number): boolean {
    const blksize = this.blksize;
    let packet = this.slots[slot];
    if (!packet) {
      packet = Buffer.allocUnsafe(blksize + 4);
      packet[0] = 0;
      packet[1] = OP_DATA;
      this.slots[slot] = packet;
    }
    const position = (block - 1) * blksize;
    const length = Math.max(0, Math.min(blksize, this.source.size - position));
    const chunkSize = this.source.chunkSize;
    let index = Math.floor(position / chunkSize);
    let offset = position - index * chunkSize;
    let done = 0;
    while (done < length) {
      let chunk = index === this.chunkIndex ? this.chunkData : undefined;
      if (!chunk) {
        chunk = this.source.chunk(index);
        if (!chunk) {
          this.missingChunk = index;
          return false;
        }
        this.chunkIndex = index;
        this.chunkData = chunk;
      }
      const n = Math.min(length - done, chunk.length - offset);
      chunk.copy(packet, 4 + done, offset, offset + n);
      done += n;
      index++;
      offset = 0;
    }
    packet[2] = (block >> 8) & 0xff; // the u16 wraps to 0 past 65535 (docs/protocol-notes.md §9, T15)
    packet[3] = block & 0xff;
    this.slotBlock[slot] = block;
    this.slotPacket[slot] = length === blksize ? packet : packet.subarray(0, length + 4);
    return true;
  }

  private readonly onMessage = (msg: Buffer, from: RemoteInfo): void => {
    if (this.closed) return;
    if (from.port !== this.client.port || from.address !== this.client.address) {
      // T16: stranger gets ERROR 5, transfer untouched (RFC 1350 §4).
      this.socket?.send(UNKNOWN_TID, from.port, from.address);
      return;
    }
    if (msg.length < 4) {
      this.junk();
      return;
    }
    const op = (msg[0]! << 8) | msg[1]!;
    if (op === OP_ACK) this.onAck((msg[2]! << 8) | msg[3]!);
    else if (op === OP_ERROR) this.onError(msg);
    else this.junk(); // RRQ/WRQ/DATA/OACK or garbage from our client: dropped, transfer untouched
  };

  /** Malformed datagram from the client: dropped and counted (never fatal to the transfer). */
  private junk(): void {
    this.malformed++;
    this.host.countMalformed();
  }

  private onError(msg: Buffer): void {
    const code = msg.readUInt16BE(2);
    const end = msg.indexOf(0, 4);
    const text = sanitiseName(msg.toString('latin1', 4, end < 0 ? msg.length : end));
    if (this.base === 0) {
      const options = this.neg.oack.map((o) => `${o.name}=${o.value}`).join(' ');
      if (code === ERR_ILLEGAL) {
        // U8: the client rejected our OACK (EDK2 "Malformatted OACK packet"): a real failure; the
        // option set goes into the log and the reason so the user can see what was refused.
        this.host.logWarn('client rejected the option reply', { file: this.file, message: text, options });
        this.fail(
          `client rejected the option reply (error ${code}: ${text}); options sent: ${options}`,
          'option-refused',
        );
        return;
      }
      // U6: EDK2 probes tsize then aborts (ERROR 8) and asks again — normal, not a failure.
      this.host.logDebug('client ended transfer after OACK', {
        file: this.file,
        code,
        message: text,
        options,
      });
      this.finish({ probe: true, clientCode: code });
    } else {
      this.fail(`client aborted at block ${this.base} (error ${code}: ${text})`, 'client-error');
    }
  }

  private onAck(wire: number): void {
    if (this.base === 0) {
      if (wire !== 0) return;
      this.base = 1;
      this.retries = 0;
      this.transmit(1);
      return;
    }
    // Map the u16 to the absolute block: the newest sent block with that low half (T15 rollover).
    const acked = this.sentUpTo - ((this.sentUpTo - wire) & 0xffff);
    // Old, duplicate or future ACK: never resend on it (RFC 1123 4.2.3.1, T12); only the timer does.
    if (acked < this.base || acked > this.sentUpTo) {
      if (acked === this.lastBlock - 1 && this.base === this.lastBlock) this.lastBlockAsked = true;
      return;
    }
    this.retries = 0;
    this.base = acked + 1;
    if (acked >= this.lastBlock) {
      this.finish();
      return;
    }
    const now = performance.now();
    if (now - this.lastProgress >= this.host.progressMs) {
      this.lastProgress = now;
      this.ackedBytes = Math.min(acked * this.blksize, this.source.size);
      this.host.emitTransfer(this, 'progress', this.ackedBytes, { rate: this.rate(this.host.now()) });
    }
    // Go-back-N: an ACK short of the window end means the client missed ack+1; resend from there.
    if (acked < this.sentUpTo) {
      this.sentUpTo = acked;
      this.transmit(this.base);
    } else this.transmit(this.sentUpTo + 1);
  }

  private rate(now: number): number {
    const seconds = Math.max(0.001, (now - this.started) / 1000);
    return Math.round(this.ackedBytes / seconds);
  }

  private finish(extra?: Record<string, string | number | boolean>): void {
    if (this.closed) return;
    const bytes = extra?.['probe'] === true ? 0 : this.source.size;
    this.ackedBytes = bytes;
    this.host.emitTransfer(this, 'done', bytes, {
      rate: this.rate(this.host.now()),
      ...(extra ? { extra } : {}),
    });
    void this.close();
  }

  /**
   * Ends the transfer as failed: `reason` for humans, `code` and the first block the client had not
   * acknowledged (0: the OACK) for programs; no block when nothing went out yet.
   */
  fail(reason: string, code: TftpFailureCode): void {
    if (this.closed) return;
    this.ackedBytes = Math.min(Math.max(0, this.base - 1) * this.blksize, this.source.size);
    const failure: TftpFailure = this.sending ? { code, block: this.base } : { code };
    this.host.emitTransfer(this, 'failed', this.ackedBytes, { reason, failure });
    void this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.chunkData = undefined;
    this.host.release(this);
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
    await this.source.release().catch(() => undefined);
    this.resolveClosed();
  }
}
