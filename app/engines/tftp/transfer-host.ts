/**
 * What a transfer and the server that runs it know of each other: the transfer as the server sees it
 * (local, on a worker thread or in the native data path) and what a transfer needs from its host
 * (events, counters, bookkeeping). Transfers run in TftpServer (index.ts) and in worker threads
 * (transfer-worker.ts), which each provide a host.
 */
import type { TransferEvent } from '../../shared/events.js';
import type { TftpFailure } from './worker-protocol.js';

/** What the server knows of a transfer, local or running in a worker thread. */
export interface TransferInfo {
  readonly id: string;
  readonly key: string;
  readonly client: { readonly address: string; readonly port: number };
  readonly file: string;
  readonly size: number;
  readonly detail: Record<string, string | number | boolean>;
}

/** What a transfer needs from its server (events, counters, bookkeeping). */
export interface TransferHost {
  /** Wall-clock milliseconds (injected clock) for event timestamps and rates. */
  now(): number;
  readonly progressMs: number;
  countSent(): void;
  countMalformed(): void;
  release(transfer: TransferInfo): void;
  logDebug(message: string, fields: Record<string, unknown>): void;
  logWarn(message: string, fields: Record<string, unknown>): void;
  emitTransfer(
    transfer: TransferInfo,
    type: TransferEvent['type'],
    bytes: number,
    outcome?: TransferOutcome,
  ): void;
}

/** What an event says beyond its type and bytes. */
export interface TransferOutcome {
  /** Bytes per second so far (progress, done). */
  readonly rate?: number;
  /** For humans (failed). */
  readonly reason?: string;
  /** For programs (failed): what went wrong and at which block. */
  readonly failure?: TftpFailure;
  /** Added to the event's detail (a tsize probe: probe, clientCode). */
  readonly extra?: Record<string, string | number | boolean>;
}

export interface TransferSettings {
  readonly retransmitMs: number;
  readonly maxRetries: number;
}
