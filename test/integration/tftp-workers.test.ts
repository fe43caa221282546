/**
 * TftpServer with transfers on worker threads (`workers: 2`) and in the native data path (the Go
 * `pxe-desk-tftp`, built from native-tftp/ for this run): the same wire behaviour as in-process (real
 * clients, strangers, resent RRQs, probes, virtual files, netascii), events and counters reaching the
 * engine, files shared, and no leaks after 100 parallel downloads.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TftpServer } from '../../app/engines/tftp/index.js';
import type { TransferEvent } from '../../app/shared/events.js';
import { createLogger, type LogRecord } from '../../app/shared/runtime.js';
import {
  RawTftpClient,
  block,
  downloadLockstep,
  oackOptions,
  opcode,
  until,
} from '../helpers/tftp-raw-client.js';
import { haveTools } from '../helpers/tools.js';
import { buildNativeTftp } from './helper-build.js';

const run = promisify(execFile);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const fdCount = (): number => readdirSync('/proc/self/fd').length;
const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const runners = [
  { runner: 'worker threads', native: false },
  { runner: 'the native data path', native: true },
] as const;

describe.skipIf(!haveTools('atftp', 'curl')).each(runners)('TftpServer with $runner', ({ native }) => {
  let dir: string;
  let server: TftpServer;
  let port: number;
  const events: TransferEvent[] = [];
  const data = randomBytes(2_000_000);
  const small = randomBytes(1000);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tftp-workers-'));
    writeFileSync(join(dir, 'f.bin'), data);
    writeFileSync(join(dir, 'small.bin'), small);
    writeFileSync(join(dir, 'nl.txt'), 'a\nb\r');
    server = new TftpServer({
      root: dir,
      address: '127.0.0.1',
      port: 0,
      mtu: 1500,
      ...(native ? { nativeDataPath: buildNativeTftp(dir) } : { workers: 2 }),
      retransmitMs: 300,
      maxRetries: 2,
      virtualFiles: (path) => (path === 'boot.ipxe' ? Buffer.from('#!ipxe\nexit\n') : undefined),
    });
    server.onEvent((e) => events.push(e));
    await server.start();
    port = server.port() ?? 0;
    expect(server.nativeDataPathActive()).toBe(native);
  }, 60_000);
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('atftp (blksize 1468, windowsize 16) and curl download through the workers with the right hash', async () => {
    for (const args of [
      ['--option', 'blksize 1468', '--option', 'windowsize 16'],
      ['--option', 'blksize 512'],
    ]) {
      const out = join(dir, 'o-atftp');
      await run('atftp', ['--get', '-r', 'f.bin', '-l', out, ...args, '127.0.0.1', String(port)], {
        timeout: 30_000,
      });
      expect(sha(readFileSync(out))).toBe(sha(data));
    }
    const out = join(dir, 'o-curl');
    await run('curl', ['-sS', '-o', out, '--tftp-blksize', '1468', `tftp://127.0.0.1:${port}/f.bin`], {
      timeout: 30_000,
    });
    expect(sha(readFileSync(out))).toBe(sha(data));
    await until(() => events.filter((e) => e.type === 'done' && e.file === 'f.bin').length === 3);
    const done = events.filter((e) => e.type === 'done' && e.file === 'f.bin');
    expect(done.every((e) => e.bytes === data.length && e.size === data.length)).toBe(true);
    expect(new Set(done.map((e) => e.transferId)).size).toBe(3); // ids unique across workers
    expect(events.some((e) => e.type === 'start' && e.file === 'f.bin')).toBe(true);
  }, 60_000);

  it('T16/T17 in a worker: stranger gets ERROR 5; a resent RRQ resends the OACK from the same port', async () => {
    const client = new RawTftpClient();
    const stranger = new RawTftpClient();
    await client.open();
    await stranger.open();
    try {
      client.rrq(port, 'small.bin', 'octet', { tsize: '0' });
      const o1 = await client.next(10_000);
      expect(oackOptions(o1!)).toEqual({ tsize: '1000' });
      client.rrq(port, 'small.bin', 'octet', { tsize: '0' });
      const o2 = await client.next(1000);
      expect(o2 && opcode(o2)).toBe(6);
      expect(o2!.from.port).toBe(o1!.from.port);
      stranger.ack(o1!.from.port, 0);
      const e = await stranger.next();
      expect(opcode(e!)).toBe(5);
      expect(block(e!)).toBe(5);
      client.ack(o1!.from.port, 0);
      const d1 = await client.next();
      client.ack(o1!.from.port, 1);
      const d2 = await client.next();
      client.ack(o1!.from.port, 2);
      expect(Buffer.concat([d1!.data.subarray(4), d2!.data.subarray(4)]).equals(small)).toBe(true);
      await settle(50);
    } finally {
      client.close();
      stranger.close();
    }
  });

  it('U6 probe, virtual files and netascii through a worker; refusals still answered', async () => {
    const client = new RawTftpClient();
    await client.open();
    try {
      client.rrq(port, 'small.bin', 'octet', { blksize: '1468', tsize: '0' });
      const o = await client.next(10_000);
      client.error(o!.from.port, 8, 'User aborted the transfer');
      await until(() => events.some((e) => e.type === 'done' && e.detail?.['probe'] === true));
      client.rrq(port, 'boot.ipxe');
      const v = await client.next(10_000);
      expect(v!.data.subarray(4).toString()).toBe('#!ipxe\nexit\n');
      client.ack(v!.from.port, 1);
      client.rrq(port, 'nl.txt', 'netascii');
      const n = await client.next(10_000);
      expect(n!.data.subarray(4).equals(Buffer.from('a\r\nb\r\0', 'latin1'))).toBe(true);
      client.ack(n!.from.port, 1);
      client.rrq(port, '../../etc/passwd');
      const r = await client.next();
      expect(opcode(r!)).toBe(5);
      expect(block(r!)).toBe(2);
      await settle(50);
    } finally {
      client.close();
    }
  });

  it('T13 in a worker: a silent client fails the transfer; the event reaches the main thread', async () => {
    const client = new RawTftpClient();
    await client.open();
    try {
      client.rrq(port, 'small.bin');
      await client.next(10_000);
      await until(() =>
        events.some(
          (e) =>
            e.type === 'failed' &&
            e.client.port === client.localPort() &&
            e.failure?.code === 'client-silent' &&
            e.failure.block === 1 &&
            /block 1/.test(e.reason ?? ''),
        ),
      );
    } finally {
      client.close();
    }
  });

  it('T23: 100 parallel downloads spread over the workers, hashes right, files shared, nothing leaked', async () => {
    const before = fdCount(); // the worker threads' own event loops are up by now
    let maxFiles = 0;
    const sampler = setInterval(() => (maxFiles = Math.max(maxFiles, server.openFiles())), 20);
    let results: Buffer[];
    try {
      results = await Promise.all(Array.from({ length: 100 }, () => downloadLockstep(port, 'f.bin')));
    } finally {
      clearInterval(sampler);
    }
    expect(results.filter((r) => sha(r) === sha(data)).length).toBe(100);
    expect(maxFiles).toBeGreaterThanOrEqual(1);
    expect(maxFiles).toBeLessThanOrEqual(2); // one handle per worker
    await until(() => server.activeTransfers() === 0 && server.openFiles() === 0);
    expect(server.counters().sent).toBeGreaterThanOrEqual(100 * Math.ceil(data.length / 1468));
    await until(() => fdCount() <= before); // no transfer socket or file left open in any thread
  }, 180_000);
});

describe('TftpServer when its worker threads fail', () => {
  it('takes failed workers out of the rotation and serves in-process, saying why in the log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tftp-workers-broken-'));
    const data = randomBytes(3000);
    writeFileSync(join(dir, 'f.bin'), data);
    // A worker script that dies while loading (what a packaged app with an unreadable entry would see).
    writeFileSync(join(dir, 'broken-worker.mjs'), "throw new Error('cannot load the transfer worker');\n");
    const logs: LogRecord[] = [];
    const server = new TftpServer({
      root: dir,
      address: '127.0.0.1',
      port: 0,
      workers: 2,
      workerEntry: join(dir, 'broken-worker.mjs'),
      logger: createLogger((r) => logs.push(r)),
    });
    await server.start();
    const client = new RawTftpClient();
    await client.open();
    try {
      await until(() => logs.filter((r) => r.message === 'transfer worker failed').length === 2);
      expect(String(logs.find((r) => r.message === 'transfer worker failed')?.fields?.['error'])).toMatch(
        /cannot load the transfer worker/,
      );
      const port = server.port() ?? 0;
      client.rrq(port, 'f.bin');
      const got: Buffer[] = [];
      for (let b = 1; b <= 6; b++) {
        const d = await client.next();
        expect(opcode(d!)).toBe(3);
        expect(block(d!)).toBe(b);
        got.push(d!.data.subarray(4));
        client.ack(d!.from.port, b);
        if (d!.data.length - 4 < 512) break;
      }
      expect(Buffer.concat(got).equals(data)).toBe(true);
      await until(() => server.activeTransfers() === 0);
    } finally {
      client.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('TftpServer when its native data path dies', () => {
  it('fails the transfers it held, serves the next ones in-process, says why, and still stops cleanly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tftp-native-dies-'));
    const data = randomBytes(3000);
    writeFileSync(join(dir, 'f.bin'), data);
    const logs: LogRecord[] = [];
    const events: TransferEvent[] = [];
    const server = new TftpServer({
      root: dir,
      address: '127.0.0.1',
      port: 0,
      retransmitMs: 5000,
      nativeDataPath: buildNativeTftp(dir),
      logger: createLogger((r) => logs.push(r)),
    });
    server.onEvent((e) => events.push(e));
    await server.start();
    const port = server.port() ?? 0;
    const held = new RawTftpClient();
    await held.open();
    try {
      held.rrq(port, 'f.bin'); // DATA 1 arrives, then the client stays silent: the pump holds it
      expect(opcode((await held.next(10_000))!)).toBe(3);
      const pid = server.nativeDataPathPid();
      expect(pid).toBeGreaterThan(0);
      process.kill(pid!, 'SIGKILL');
      await until(() => logs.some((r) => r.message === 'native tftp data path failed'));
      await until(() =>
        events.some(
          (e) =>
            e.type === 'failed' &&
            e.reason === 'native tftp data path failed' &&
            e.failure?.code === 'internal' &&
            e.failure.block === undefined,
        ),
      );
      expect(server.nativeDataPathActive()).toBe(false);
      expect((await downloadLockstep(port, 'f.bin')).equals(data)).toBe(true); // served in-process
    } finally {
      held.close();
      const began = Date.now();
      await server.stop();
      expect(Date.now() - began).toBeLessThan(1500);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('TftpServer with workers: auto (the default)', () => {
  it('serves a few clients on its own thread, and offloads a burst beyond offloadAt to two workers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tftp-auto-'));
    const data = randomBytes(600_000);
    writeFileSync(join(dir, 'f.bin'), data);
    const server = new TftpServer({ root: dir, address: '127.0.0.1', port: 0, offloadAt: 4 });
    await server.start();
    const port = server.port() ?? 0;
    try {
      const few = await Promise.all(Array.from({ length: 3 }, () => downloadLockstep(port, 'f.bin')));
      expect(few.every((b) => b.equals(data))).toBe(true);
      expect(server.workerThreads()).toBe(0); // three clients never start a thread
      let maxFiles = 0;
      const sampler = setInterval(() => (maxFiles = Math.max(maxFiles, server.openFiles())), 20);
      let burst: Buffer[];
      try {
        burst = await Promise.all(Array.from({ length: 24 }, () => downloadLockstep(port, 'f.bin')));
      } finally {
        clearInterval(sampler);
      }
      expect(burst.filter((b) => b.equals(data)).length).toBe(24);
      const cores = availableParallelism();
      expect(server.workerThreads()).toBe(cores >= 2 ? 2 : 0);
      if (cores >= 2) expect(maxFiles).toBeGreaterThanOrEqual(2); // this thread's handle plus a worker's
      await until(() => server.activeTransfers() === 0 && server.openFiles() === 0);
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('T17: an RRQ resent while the worker is still starting the transfer gets no second transfer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tftp-auto-resend-'));
    const data = randomBytes(1000);
    writeFileSync(join(dir, 'f.bin'), data);
    const events: TransferEvent[] = [];
    // offloadAt 0: the first request starts the workers, so its 'start' and the resend both wait in
    // the new thread's queue while it loads, and the resend is read while the file is being opened.
    const server = new TftpServer({ root: dir, address: '127.0.0.1', port: 0, offloadAt: 0 });
    server.onEvent((e) => events.push(e));
    await server.start();
    const client = new RawTftpClient();
    await client.open();
    try {
      const port = server.port() ?? 0;
      client.rrq(port, 'f.bin');
      await settle(30);
      expect(server.workerThreads()).toBeGreaterThan(0);
      client.rrq(port, 'f.bin'); // the client heard nothing yet and asks again
      const d1 = await client.next(10_000);
      expect(d1 && block(d1)).toBe(1);
      const tid = d1!.from.port;
      // Anything else within a second must come from the same transfer (a resent DATA 1 at most).
      for (let p = await client.next(1000); p; p = await client.next(1000)) {
        expect(p.from.port).toBe(tid);
      }
      client.ack(tid, 1);
      let d2 = await client.next();
      while (d2 && block(d2) === 1) d2 = await client.next(); // a DATA 1 resent before our ACK landed
      expect(d2 && block(d2)).toBe(2);
      expect(d2!.from.port).toBe(tid);
      client.ack(tid, 2);
      await until(() => server.activeTransfers() === 0);
      const mine = events.filter((e) => e.client.port === client.localPort());
      expect(mine.filter((e) => e.type === 'start').length).toBe(1);
      expect(mine.filter((e) => e.type === 'failed')).toEqual([]);
    } finally {
      client.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses a bad workers or offloadAt value at start with a message naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tftp-auto-bad-'));
    try {
      await expect(
        new TftpServer({ root: dir, address: '127.0.0.1', port: 0, workers: 1.5 }).start(),
      ).rejects.toThrow(/workers must be 'auto' or a whole number/);
      await expect(
        new TftpServer({ root: dir, address: '127.0.0.1', port: 0, offloadAt: -1 }).start(),
      ).rejects.toThrow(/offloadAt must be a whole number/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
