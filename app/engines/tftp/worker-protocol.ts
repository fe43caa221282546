/**
 * Contract between TftpServer (main thread) and what runs its transfers: worker threads (`workers`
 * option, structured-clone messages) and the native data path (native-tftp/, the same messages as one
 * JSON object per line, bytes as base64). The main thread parses requests, confines paths and
 * negotiates options; a runner owns the transfer sockets and file handles and reports events back.
 *
 * Golden lines of every message kind are in test/fixtures/worker-protocol/, checked by
 * test/unit/tftp-worker-protocol.test.ts and by native-tftp/contract_test.go, so the TypeScript and
 * Go sides cannot drift. A change of shape bumps TFTP_WORKER_PROTOCOL here and `Protocol` in
 * native-tftp/contract.go (and the goldens' protocol.json).
 *
 * Version 2: failed events carry `failure` (code and block) beside the reason text.
 * Version 3: `start` may carry `extents`: the file is those byte ranges of `path`, in order (a file
 * inside an ISO image, issue 18); its size is their sum, sparse ranges read as zeros.
 */
import type { TransferFailure, TransferFailureCode } from '../../shared/events.js';
import type { Extent } from '../iso/index.js';
import type { FileIdentity } from './file-cache.js';
import type { Negotiated } from './negotiate.js';

export const TFTP_WORKER_PROTOCOL = 3;

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
  /** With `path`: send these byte ranges of it, in order (an ISO member), not the whole file. */
  readonly extents?: readonly Extent[];
  readonly data?: Uint8Array;
  readonly neg: Negotiated;
  readonly oack?: Uint8Array;
  readonly retransmitMs: number;
  readonly maxRetries: number;
}

export type ToWorker =
  StartTransfer | { readonly kind: 'resend' | 'supersede'; readonly id: string } | { readonly kind: 'stop' };

/**
 * The failure codes a TFTP transfer reports, on either data path (a subset of TransferFailureCode;
 * refusals are ERROR replies, not transfer events).
 */
export const TFTP_FAILURE_CODES = [
  'client-silent',
  'last-block-unacked',
  'client-error',
  'option-refused',
  'read-error',
  'superseded',
  'internal',
] as const satisfies readonly TransferFailureCode[];

export type TftpFailureCode = (typeof TFTP_FAILURE_CODES)[number];

export interface TftpFailure extends TransferFailure {
  readonly code: TftpFailureCode;
}

export type FromWorker =
  | {
      readonly kind: 'event';
      readonly id: string;
      readonly type: 'start' | 'progress' | 'done' | 'failed';
      readonly bytes: number;
      readonly rate?: number;
      /** For humans (failed). */
      readonly reason?: string;
      /** For programs (failed): the engine copies it into the TransferEvent. */
      readonly failure?: TftpFailure;
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

// Every kind each way, as a record so the compiler insists on each (the golden test checks there is a
// golden line per kind).
const TO_KINDS: Record<ToWorker['kind'], true> = { start: true, resend: true, supersede: true, stop: true };
const FROM_KINDS: Record<FromWorker['kind'], true> = {
  event: true,
  refused: true,
  stale: true,
  closed: true,
  opened: true,
  log: true,
  stopped: true,
};
export const TO_WORKER_KINDS = Object.keys(TO_KINDS) as readonly ToWorker['kind'][];
export const FROM_WORKER_KINDS = Object.keys(FROM_KINDS) as readonly FromWorker['kind'][];

const EVENT_TYPES: readonly string[] = ['start', 'progress', 'done', 'failed'];

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

function isFailure(v: unknown): v is TftpFailure {
  return (
    isRecord(v) &&
    (TFTP_FAILURE_CODES as readonly unknown[]).includes(v['code']) &&
    (v['block'] === undefined || isCount(v['block']))
  );
}

/** Guards the main thread's side: a runner is our own code, but a bad message must not crash the loop. */
export function isFromWorker(v: unknown): v is FromWorker {
  if (!isRecord(v) || typeof v['kind'] !== 'string') return false;
  switch (v['kind']) {
    case 'event':
      return (
        typeof v['id'] === 'string' &&
        typeof v['type'] === 'string' &&
        EVENT_TYPES.includes(v['type']) &&
        typeof v['bytes'] === 'number' &&
        (v['failure'] === undefined || isFailure(v['failure']))
      );
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

/** A command as the native data path reads it: one JSON line, byte fields as base64 (Go's []byte). */
export function encodeWorkerLine(message: ToWorker): string {
  return JSON.stringify(message, (_key, value: unknown) =>
    value instanceof Uint8Array
      ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')
      : value,
  );
}

/** A line from the native data path; undefined when it is not JSON (counted like a bad message). */
export function decodeWorkerLine(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}
