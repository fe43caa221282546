/**
 * The TFTP worker contract (app/engines/tftp/worker-protocol.ts ⇄ native-tftp/) under golden lines
 * shared with native-tftp/contract_test.go: the commands the engine writes are encoded here (the Go
 * test decodes them with no field left over); the messages the pump writes are encoded by Go (this
 * test checks the engine's guard accepts them and reads exactly these values).
 * UPDATE_GOLDEN=1 rewrites the engine's side (to-*.json, protocol.json); the Go test must then pass.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeOack } from '../../app/engines/tftp/packet.js';
import {
  FROM_WORKER_KINDS,
  TFTP_FAILURE_CODES,
  TFTP_WORKER_PROTOCOL,
  TO_WORKER_KINDS,
  decodeWorkerLine,
  encodeWorkerLine,
  isFromWorker,
  isToWorker,
  type FromWorker,
  type ToWorker,
} from '../../app/engines/tftp/worker-protocol.js';

const dir = resolve(__dirname, '../fixtures/worker-protocol');
const golden = (name: string): string => readFileSync(resolve(dir, name), 'utf8');
const update = process.env['UPDATE_GOLDEN'] === '1';

// The same values native-tftp/contract_test.go expects after decoding.
const toWorker: Record<string, ToWorker> = {
  'to-start-file.json': {
    kind: 'start',
    id: 'tftp-1',
    key: '10.0.0.5:2070',
    client: { address: '10.0.0.5', port: 2070 },
    file: 'ipxe.efi',
    path: '/srv/netboot/ipxe.efi',
    identity: { dev: 2049, ino: 131074, size: 1000, mtimeMs: 1700000000000.5 },
    neg: {
      blksize: 1468,
      windowsize: 4,
      oack: [
        { name: 'blksize', value: '1468' },
        { name: 'tsize', value: '1000' },
        { name: 'windowsize', value: '4' },
      ],
    },
    oack: new Uint8Array(
      encodeOack([
        { name: 'blksize', value: '1468' },
        { name: 'tsize', value: '1000' },
        { name: 'windowsize', value: '4' },
      ]),
    ),
    retransmitMs: 1000,
    maxRetries: 5,
  },
  'to-start-data.json': {
    kind: 'start',
    id: 'tftp-2',
    key: '10.0.0.6:1024',
    client: { address: '10.0.0.6', port: 1024 },
    file: 'menu.ipxe',
    data: new TextEncoder().encode('#!ipxe\nchain http://10.0.0.1/boot.ipxe\n'),
    neg: { blksize: 512, windowsize: 1, oack: [] },
    retransmitMs: 2000,
    maxRetries: 3,
  },
  // A file inside an ISO image (version 3): two extents of the image, the second sparse.
  'to-start-member.json': {
    kind: 'start',
    id: 'tftp-3',
    key: '10.0.0.7:3000',
    client: { address: '10.0.0.7', port: 3000 },
    file: 'isos/ubuntu.iso/casper/vmlinuz',
    path: '/srv/netboot/isos/ubuntu.iso',
    identity: { dev: 2049, ino: 131075, size: 8388608, mtimeMs: 1700000000000 },
    extents: [
      { offset: 1048576, length: 2048 },
      { offset: 0, length: 1000, sparse: true },
    ],
    neg: { blksize: 512, windowsize: 1, oack: [{ name: 'tsize', value: '3048' }] },
    oack: new Uint8Array(encodeOack([{ name: 'tsize', value: '3048' }])),
    retransmitMs: 1000,
    maxRetries: 5,
  },
  'to-resend.json': { kind: 'resend', id: 'tftp-1' },
  'to-supersede.json': { kind: 'supersede', id: 'tftp-1' },
  'to-stop.json': { kind: 'stop' },
};

// What the engine must read from each line the Go pump writes (contract_test.go fromPumpGoldens).
const fromWorker: Record<string, FromWorker> = {
  'from-event-start.json': { kind: 'event', id: 'tftp-7', type: 'start', bytes: 0 },
  'from-event-progress.json': { kind: 'event', id: 'tftp-7', type: 'progress', bytes: 512, rate: 1024000 },
  'from-event-done.json': { kind: 'event', id: 'tftp-7', type: 'done', bytes: 1000, rate: 2000000 },
  'from-event-done-probe.json': {
    kind: 'event',
    id: 'tftp-7',
    type: 'done',
    bytes: 0,
    rate: 0,
    extra: { clientCode: 8, probe: true },
  },
  'from-event-failed.json': {
    kind: 'event',
    id: 'tftp-7',
    type: 'failed',
    bytes: 512,
    reason: 'client stopped acknowledging at block 2',
    failure: { code: 'client-silent', block: 2 },
  },
  'from-event-failed-oack.json': {
    kind: 'event',
    id: 'tftp-7',
    type: 'failed',
    bytes: 0,
    reason: 'client rejected the option reply (error 4: bad option); options sent: blksize=1468',
    failure: { code: 'option-refused', block: 0 },
  },
  'from-event-failed-unsent.json': {
    kind: 'event',
    id: 'tftp-7',
    type: 'failed',
    bytes: 0,
    reason: 'cannot open transfer socket: address in use',
    failure: { code: 'internal' },
  },
  'from-refused.json': { kind: 'refused', id: 'tftp-8', reason: 'cannot open (ENOENT)' },
  'from-stale.json': { kind: 'stale', id: 'tftp-9' },
  'from-closed.json': { kind: 'closed', id: 'tftp-7', sent: 3, malformed: 1, openFiles: 0 },
  'from-opened.json': { kind: 'opened', openFiles: 2 },
  'from-log.json': {
    kind: 'log',
    level: 'debug',
    message: 'client ended transfer after OACK',
    fields: { code: 8, message: 'tsize probe', options: 'tsize=1000' },
  },
  'from-stopped.json': { kind: 'stopped' },
};

const protocol = { version: TFTP_WORKER_PROTOCOL, failureCodes: [...TFTP_FAILURE_CODES] };

if (update) {
  for (const [name, message] of Object.entries(toWorker))
    writeFileSync(resolve(dir, name), `${encodeWorkerLine(message)}\n`);
  writeFileSync(resolve(dir, 'protocol.json'), `${JSON.stringify(protocol)}\n`);
}

describe('TFTP worker contract (golden lines shared with go test)', () => {
  for (const [name, message] of Object.entries(toWorker)) {
    it(`${name}: the engine's command encodes to the golden line`, () => {
      const line = golden(name);
      expect(line.endsWith('\n') && line.indexOf('\n') === line.length - 1).toBe(true);
      expect(JSON.parse(line)).toEqual(JSON.parse(encodeWorkerLine(message)));
      expect(isToWorker(message)).toBe(true);
    });
  }

  it('byte fields travel as base64, what Go reads into []byte', () => {
    const line = decodeWorkerLine(golden('to-start-data.json')) as Record<string, unknown>;
    expect(Buffer.from(line['data'] as string, 'base64').toString()).toBe(
      '#!ipxe\nchain http://10.0.0.1/boot.ipxe\n',
    );
    const file = decodeWorkerLine(golden('to-start-file.json')) as Record<string, unknown>;
    expect(Buffer.from(file['oack'] as string, 'base64')[1]).toBe(6); // OACK opcode
  });

  for (const [name, message] of Object.entries(fromWorker)) {
    it(`${name}: the pump's line is accepted and reads as exactly these values`, () => {
      const decoded = decodeWorkerLine(golden(name));
      expect(isFromWorker(decoded)).toBe(true);
      expect(decoded).toStrictEqual(message);
    });
  }

  it('every kind each way has a golden, and every golden is checked here', () => {
    const files = readdirSync(dir).sort();
    expect(files).toEqual([...Object.keys(toWorker), ...Object.keys(fromWorker), 'protocol.json'].sort());
    const kinds = (messages: Record<string, { kind: string }>): string[] =>
      [...new Set(Object.values(messages).map((m) => m.kind))].sort();
    expect(kinds(toWorker)).toEqual([...TO_WORKER_KINDS].sort());
    expect(kinds(fromWorker)).toEqual([...FROM_WORKER_KINDS].sort());
  });

  it('protocol.json holds this version and these failure codes (the Go test checks its own against it)', () => {
    expect(JSON.parse(golden('protocol.json'))).toEqual(protocol);
    expect(TFTP_WORKER_PROTOCOL).toBe(3);
  });

  it('the guard refuses malformed messages, failures included', () => {
    const failed = fromWorker['from-event-failed.json']!;
    for (const bad of [
      undefined,
      null,
      'event',
      { kind: 'nope' },
      { ...failed, id: 7 },
      { ...failed, type: 'finished' },
      { ...failed, bytes: '512' },
      { ...failed, failure: 'client-silent' },
      { ...failed, failure: { code: 'not-a-code', block: 2 } },
      { ...failed, failure: { code: 'not-found' } }, // a refusal is an ERROR reply, never a transfer failure
      { ...failed, failure: { code: 'client-silent', block: -1 } },
      { ...failed, failure: { code: 'client-silent', block: 1.5 } },
      { kind: 'closed', id: 'x', sent: 1 },
      { kind: 'log', message: 'x' },
    ])
      expect(isFromWorker(bad), JSON.stringify(bad)).toBe(false);
    expect(decodeWorkerLine('{not json')).toBeUndefined();
  });
});
