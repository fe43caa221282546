/**
 * PXE Desk as a library (app/index.ts, built to dist/app/index.js): another program drives the
 * session controller and an engine on its own, with typed options, on loopback.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLogger,
  SessionController,
  TftpServer,
  type LogRecord,
  type SessionConfig,
  type SessionControllerOptions,
  type SessionEvent,
  type TftpServerOptions,
  type TransferEvent,
} from '../../app/index.js';
import { waitFor } from '../helpers/netns.js';
import { haveTools } from '../helpers/tools.js';
import { ensureBuilt } from './cli-run.js';

const repo = resolve(import.meta.dirname, '..', '..');
// The servers run in this process: the client must not block the event loop.
const curl = async (url: string): Promise<Buffer> =>
  (await promisify(execFile)('curl', ['-sS', '--max-time', '10', url], { encoding: 'buffer' })).stdout;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
let root = '';
const payload = randomBytes(64_000);

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'pxd-lib-'));
  writeFileSync(join(root, 'nbp.bin'), payload);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.skipIf(!haveTools('curl'))('library surface', () => {
  it('SessionController: typed config, events, a real download, clean stop', async () => {
    const logs: LogRecord[] = [];
    const options: SessionControllerOptions = { logger: createLogger((r) => logs.push(r), 'embedder') };
    const session = new SessionController(options);
    const events: SessionEvent[] = [];
    const off = session.onEvent((e) => events.push(e));
    const config: SessionConfig = { mode: 'files', address: '127.0.0.1', root, ports: { tftp: 0, http: 0 } };
    const snap = await session.start(config);
    try {
      expect(snap.state).toBe('running');
      const port = snap.endpoints!.tftp!.split(':')[1]!;
      const got = await curl(`tftp://127.0.0.1:${port}/nbp.bin`);
      expect(sha(got)).toBe(sha(payload));
      await waitFor(
        () => session.snapshot().clients.some((c) => c.timeline.some((t) => t.bytes === payload.length)),
        5000,
        'transfer in the snapshot',
      );
      // Client rows reach listeners in batches (every 100 ms, the client model's batchMs), not per event.
      await waitFor(() => events.some((e) => e.type === 'client'), 5000, 'a client event');
      expect(logs.some((r) => r.message === 'session running')).toBe(true);
    } finally {
      expect((await session.stop()).state).toBe('idle');
      off();
    }
  }, 30_000);

  it('an engine on its own (TftpServer) with typed options', async () => {
    const options: TftpServerOptions = { root, address: '127.0.0.1', port: 0 };
    const tftp = new TftpServer(options);
    const done: TransferEvent[] = [];
    tftp.onEvent((e) => {
      if (e.type === 'done') done.push(e);
    });
    await tftp.start();
    try {
      const got = await curl(`tftp://127.0.0.1:${tftp.port()}/nbp.bin`);
      expect(sha(got)).toBe(sha(payload));
      await waitFor(() => done.length === 1, 5000, 'done event');
      expect(done[0]).toMatchObject({ engine: 'tftp', file: 'nbp.bin', bytes: payload.length });
    } finally {
      await tftp.stop();
    }
  }, 30_000);

  it('the built library (dist/app/index.js) exports the same surface', async () => {
    ensureBuilt();
    const lib = (await import(join(repo, 'dist', 'app', 'index.js'))) as Record<string, unknown>;
    for (const name of [
      'SessionController',
      'ProxyDhcpServer',
      'DhcpServer',
      'TftpServer',
      'HttpBootServer',
      'DirectTransport',
      'chooseTransport',
      'validateConfig',
      'parseVendorOptions',
      'importProxyDhcpdIni',
      'importPyPxeJson',
      'listInterfaces',
      'Timeline',
      'createLogger',
    ])
      expect(typeof lib[name], name).toBe('function');
  }, 120_000);
});
