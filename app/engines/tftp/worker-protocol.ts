/**
 * Contract between TftpServer (main thread) and its transfer worker threads (`workers` option).
 * Version 1. The main thread parses requests, confines paths and negotiates options; a worker owns
 * the transfer sockets and file handles and reports events back. Structured-clone data only.
 */
import type { FileIdentity } from './file-cache.js';
import type { Negotiated } from './transfer.js';

export const TFTP_WORKER_PROTOCOL = 1;

export interface WorkerSetup {
  readonly protocol: typeof TFTP_WORKER_PROTOCOL;
  readonly address: string;
  readonly progressMs: number;
  readonly chunkSize?: number;
  readonly cacheBytes?: number;
}

export interface StartTransfer {
  readonly kind: 'start';
  readonly id: string;
  readonly key: string;
  readonly client: { readonly address: string; readonly port: number };
  readonly file: string;
  /** A file to open in the worker, or the bytes themselves (virtual files, netascii). */
  readonly path?: string;
  readonly identity?: FileIdentity;
  readonly data?: Uint8Array;
  readonly neg: Negotiated;
  readonly oack?: Uint8Array;
  readonly retransmitMs: number;
  readonly maxRetries: number;
}

export type ToWorker =
  StartTransfer | { readonly kind: 'resend' | 'supersede'; readonly id: string } | { readonly kind: 'stop' };

export type FromWorker =
  | {
      readonly kind: 'event';
      readonly id: string;
      readonly type: 'start' | 'progress' | 'done' | 'failed';
      readonly bytes: number;
      readonly rate?: number;
      readonly reason?: string;
      readonly extra?: Record<string, string | number | boolean>;
    }
  | { readonly kind: 'refused'; readonly id: string; readonly reason: string }
  /** A resend was asked for a transfer that has already ended: the request is a new one. */
  | { readonly kind: 'stale'; readonly id: string }
  | {
      readonly kind: 'closed';
      readonly id: string;
      readonly sent: number;
      readonly malformed: number;
      readonly openFiles: number;
    }
  | { readonly kind: 'opened'; readonly openFiles: number }
  | {
      readonly kind: 'log';
      readonly level: 'debug' | 'warn';
      readonly message: string;
      readonly fields: Record<string, unknown>;
    }
  | { readonly kind: 'stopped' };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** Guards the main thread's side: a worker is our own code, but a bad message must not crash the loop. */
export function isFromWorker(v: unknown): v is FromWorker {
  if (!isRecord(v) || typeof v['kind'] !== 'string') return false;
  switch (v['kind']) {
    case 'event':
      return typeof v['id'] === 'string' && typeof v['type'] === 'string' && typeof v['bytes'] === 'number';
    case 'refused':
      return typeof v['id'] === 'string' && typeof v['reason'] === 'string';
    case 'stale':
      return typeof v['id'] === 'string';
    case 'closed':
      return (
        typeof v['id'] === 'string' && typeof v['sent'] === 'number' && typeof v['openFiles'] === 'number'
      );
    case 'opened':
      return typeof v['openFiles'] === 'number';
    case 'log':
      return typeof v['message'] === 'string' && isRecord(v['fields']);
    case 'stopped':
      return true;
    default:
      return false;
  }
}

export function isToWorker(v: unknown): v is ToWorker {
  if (!isRecord(v)) return false;
  if (v['kind'] === 'stop') return true;
  if (v['kind'] === 'resend' || v['kind'] === 'supersede') return typeof v['id'] === 'string';
  return v['kind'] === 'start' && typeof v['id'] === 'string' && isRecord(v['neg']) && isRecord(v['client']);
}
