/**
 * Contract between HttpBootServer and the native HTTP body path (native-http/, `pxe-desk-http`): one JSON
 * object per line over Node's IPC channel (child_process 'ipc', serialization 'json'). The server writes
 * each response's head; the body path sends its bytes with sendfile(2) on a duplicate of the connection's
 * socket, handed over once per connection with the `conn` command (the descriptor travels with it).
 *
 * Golden lines of every message kind are in test/fixtures/http-body-protocol/, checked by
 * test/unit/http-body-protocol.test.ts and native-http/contract_test.go, so the TypeScript and Go sides
 * cannot drift. A change of shape bumps HTTP_BODY_PROTOCOL here and `Protocol` in native-http/contract.go.
 */
import type { TransferFailureCode } from '../../shared/events.js';

export const HTTP_BODY_PROTOCOL = 1;

/** The failure codes a native body reports (a subset of TransferFailureCode: the server maps nothing). */
export const HTTP_BODY_FAILURE_CODES = [
  'aborted',
  'read-error',
  'internal',
] as const satisfies readonly TransferFailureCode[];
export type HttpBodyFailureCode = (typeof HTTP_BODY_FAILURE_CODES)[number];

/** The file version the server confined and stat'ed; dev/ino absent when not exact (past 2^53). */
export interface BodyFileIdentity {
  readonly dev?: number;
  readonly ino?: number;
  readonly size: number;
}

/** [position in the file, length]; position -1 sends that many zero bytes (a sparse ISO extent). */
export type BodyPiece = readonly [number, number];

export type ToBodies =
  | { readonly t: 'conn'; readonly conn: number }
  | { readonly t: 'close'; readonly conn: number }
  | {
      readonly t: 'body';
      readonly conn: number;
      readonly id: number;
      readonly path: string;
      readonly identity: BodyFileIdentity;
      readonly pieces: readonly BodyPiece[];
      /**
       * The response head (status line and headers, ASCII) for the body path to send before the pieces,
       * in the same segments; absent when the server wrote the head itself.
       */
      readonly head?: string;
    };

export type FromBodies =
  | { readonly t: 'progress' | 'done'; readonly id: number; readonly bytes: number }
  | {
      readonly t: 'failed';
      readonly id: number;
      readonly bytes: number;
      readonly code: HttpBodyFailureCode;
      readonly reason: string;
    };

export class BodyProtocolError extends Error {
  override readonly name = 'BodyProtocolError';
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** A message from the body path, checked field by field; anything else throws BodyProtocolError. */
export function decodeFromBodies(m: unknown): FromBodies {
  if (typeof m !== 'object' || m === null) throw new BodyProtocolError('not an object');
  const o = m as Record<string, unknown>;
  const { t, id, bytes } = o;
  if (!isCount(id) || id === 0) throw new BodyProtocolError('no body id');
  if (!isCount(bytes)) throw new BodyProtocolError('no byte count');
  if (t === 'progress' || t === 'done') return { t, id, bytes };
  if (t === 'failed') {
    const code = o.code;
    const reason = typeof o.reason === 'string' ? o.reason : '';
    if (!(HTTP_BODY_FAILURE_CODES as readonly unknown[]).includes(code))
      throw new BodyProtocolError(`unknown failure code ${String(code)}`);
    return { t, id, bytes, code: code as HttpBodyFailureCode, reason };
  }
  throw new BodyProtocolError(`unknown message ${String(t)}`);
}

/** The identity to send for a file's stats: numbers past 2^53 are left out rather than sent inexact. */
export function bodyIdentity(info: { dev: number; ino: number; size: number }): BodyFileIdentity {
  return {
    ...(Number.isSafeInteger(info.dev) ? { dev: info.dev } : {}),
    ...(Number.isSafeInteger(info.ino) ? { ino: info.ino } : {}),
    size: info.size,
  };
}
