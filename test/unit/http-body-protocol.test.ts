/**
 * The HTTP body contract (app/engines/http/body-protocol.ts ⇄ native-http/) under golden lines shared
 * with native-http/contract_test.go: the commands the server writes are encoded here exactly as Node's
 * IPC channel writes them (JSON and a newline; the Go test decodes them with no field left over); the
 * messages the body path writes are encoded by Go (this test checks the guard reads exactly these values).
 * UPDATE_GOLDEN=1 rewrites this side (to-*.json, protocol.json); the Go test must then pass.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BodyProtocolError,
  HTTP_BODY_FAILURE_CODES,
  HTTP_BODY_PROTOCOL,
  bodyIdentity,
  decodeFromBodies,
  type FromBodies,
  type ToBodies,
} from '../../app/engines/http/body-protocol.js';

const dir = resolve(__dirname, '../fixtures/http-body-protocol');
const golden = (name: string): string => readFileSync(resolve(dir, name), 'utf8');
const update = process.env['UPDATE_GOLDEN'] === '1';
// What child_process writes for a message with serialization 'json' (lib/internal/child_process/serialization.js).
const line = (m: unknown): string => `${JSON.stringify(m)}\n`;

const toBodies: Record<string, ToBodies> = {
  'to-conn.json': { t: 'conn', conn: 3 },
  'to-body.json': {
    t: 'body',
    conn: 3,
    id: 7,
    path: '/srv/netboot/isos/live.iso',
    identity: bodyIdentity({ dev: 2049, ino: 131074, size: 268_435_456 }),
    pieces: [
      [1_048_576, 524_288],
      [-1, 2048],
      [2_097_152, 522_240],
    ],
    head: 'HTTP/1.1 206 Partial Content\r\nAccept-Ranges: bytes\r\nContent-Length: 1048576\r\n\r\n',
  },
  'to-body-no-inode.json': {
    t: 'body',
    conn: 3,
    id: 8,
    path: '/srv/netboot/vmlinuz',
    identity: bodyIdentity({ dev: 2049, ino: 2 ** 60, size: 70_000 }),
    pieces: [[0, 70_000]],
  },
  'to-close.json': { t: 'close', conn: 3 },
};

const fromBodies: Record<string, FromBodies> = {
  'from-progress.json': { t: 'progress', id: 7, bytes: 524_288 },
  'from-done.json': { t: 'done', id: 7, bytes: 1_048_576 },
  'from-failed.json': {
    t: 'failed',
    id: 7,
    bytes: 65_536,
    code: 'aborted',
    reason: 'client closed the connection before the transfer completed',
  },
  'from-failed-read.json': {
    t: 'failed',
    id: 8,
    bytes: 0,
    code: 'read-error',
    reason: 'the file changed after it was checked',
  },
};

describe('HTTP body contract (golden lines shared with native-http)', () => {
  it('the server writes each command exactly as the golden line', () => {
    for (const [name, m] of Object.entries(toBodies)) {
      if (update) writeFileSync(resolve(dir, name), line(m));
      expect(line(m), name).toBe(golden(name));
    }
  });

  it('an inode past 2^53 is left out, not sent inexact', () => {
    expect(bodyIdentity({ dev: 1, ino: 2 ** 60, size: 5 })).toEqual({ dev: 1, size: 5 });
  });

  it('every message the body path writes decodes to exactly the golden values, and no golden is unread', () => {
    for (const [name, want] of Object.entries(fromBodies))
      expect(decodeFromBodies(JSON.parse(golden(name))), name).toEqual(want);
    const files = readdirSync(dir).filter((f) => f.startsWith('from-'));
    expect(files.sort()).toEqual(Object.keys(fromBodies).sort());
  });

  it('protocol.json holds the version and failure codes both sides speak', () => {
    const p = { version: HTTP_BODY_PROTOCOL, failureCodes: [...HTTP_BODY_FAILURE_CODES] };
    if (update) writeFileSync(resolve(dir, 'protocol.json'), line(p));
    expect(JSON.parse(golden('protocol.json'))).toEqual(p);
  });

  it('anything else from the child is refused with a typed error', () => {
    for (const bad of [
      null,
      'done',
      { t: 'done', id: 0, bytes: 1 },
      { t: 'done', id: 1 },
      { t: 'done', id: 1, bytes: -1 },
      { t: 'failed', id: 1, bytes: 0, code: 'exploded' },
      { t: 'hello', id: 1, bytes: 0 },
    ])
      expect(() => decodeFromBodies(bad), JSON.stringify(bad)).toThrow(BodyProtocolError);
  });
});
