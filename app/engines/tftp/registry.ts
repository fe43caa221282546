/**
 * Which transfer each client address and port has, the request that started it, and the requests
 * that just delivered a file: what TftpServer consults to tell a repeated RRQ (resend, T17), a late
 * copy of a finished one (ignored) and a new request (superseding the old transfer) apart.
 */
import { performance } from 'node:perf_hooks';
import type { TransferInfo } from './transfer-host.js';

/** A transfer as the registry holds it: local (Transfer) or in a runner (RemoteTransfer). */
export interface RunningTransfer extends TransferInfo {
  /** The client resent its RRQ: answer from the existing session (no new port). */
  resendCurrent(): void;
  /** A different request came from the same address and port: the client has moved on. */
  supersede(): void;
  close(): Promise<void>;
}

/**
 * How long an identical RRQ from the same address and port, arriving after its transfer finished, is
 * taken for a late copy of the first one rather than a new request. A client resends its RRQ when it
 * has heard nothing yet (T17); that copy can be read after the transfer ended when this thread lags
 * (the transfer ran on a worker or in the native data path, or the file was a single block). Served
 * as new, it became a phantom transfer that sent an OACK to a finished client for ~31 s and then
 * reported a failure. Below every client's RRQ retry interval (1 s and up), so a client that really
 * asks again is served on its next try.
 */
export const DEFAULT_LATE_COPY_MS = 750;
/** Finished transfers remembered for late copies (oldest forgotten first). */
const LATE_COPY_MEMORY = 1024;

export class TransferRegistry {
  /** By client `address:port`. */
  private readonly byClient = new Map<string, RunningTransfer>();
  /** The RRQ that started each transfer (repeats are recognised byte for byte). */
  private readonly requests = new WeakMap<TransferInfo, Buffer>();
  /** Clients whose request is being resolved (no transfer yet). */
  private readonly pending = new Set<string>();
  /** Transfers that finished with the file delivered, by client address and port, oldest first. */
  private readonly finished = new Map<string, { request: Buffer; at: number }>();

  constructor(private readonly lateCopyMs: number) {}

  get(key: string): RunningTransfer | undefined {
    return this.byClient.get(key);
  }

  add(transfer: RunningTransfer, request: Buffer): void {
    this.byClient.set(transfer.key, transfer);
    this.requests.set(transfer, request);
  }

  /** The client's address and port are free for its next request. */
  release(transfer: TransferInfo): void {
    if (this.byClient.get(transfer.key) === transfer) this.byClient.delete(transfer.key);
  }

  /** Whether `msg` is the very request that started `transfer`. */
  isRepeat(transfer: TransferInfo, msg: Buffer): boolean {
    return this.requests.get(transfer)?.equals(msg) === true;
  }

  isPending(key: string): boolean {
    return this.pending.has(key);
  }

  reserve(key: string): void {
    this.pending.add(key);
  }

  unreserve(key: string): void {
    this.pending.delete(key);
  }

  /** Transfers running and requests being resolved (the maxTransfers limit counts both). */
  size(): number {
    return this.byClient.size + this.pending.size;
  }

  running(): RunningTransfer[] {
    return [...this.byClient.values()];
  }

  /** A transfer delivered its file: an identical request from its client soon after is a late copy. */
  rememberFinished(t: TransferInfo): void {
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
  isLateCopy(key: string, msg: Buffer): boolean {
    const ended = this.finished.get(key);
    if (!ended) return false;
    if (performance.now() - ended.at >= this.lateCopyMs) {
      this.finished.delete(key);
      return false;
    }
    return ended.request.equals(msg);
  }
}
