import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
  ftruncateSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpBootServer } from '../../app/engines/http/index.js';
import type { TransferEvent } from '../../app/shared/events.js';
import { haveTools } from '../helpers/tools.js';
import { buildNativeHttp } from './helper-build.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Sends raw bytes, returns everything the server sent until it closes (or timeout). */
function raw(port: number, request: string, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, '127.0.0.1', () => s.write(request));
    const t = setTimeout(() => {
      s.destroy();
      resolve(Buffer.concat(chunks));
    }, timeoutMs);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    s.on('close', () => {
      clearTimeout(t);
      resolve(Buffer.concat(chunks));
    });
  });
}

/** Async: the server runs in this process, so a synchronous child would block it. */
function curl(args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      'curl',
      ['-s', '--max-time', '20', ...args],
      { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    );
  });
}

// Every case runs twice: bodies sent by Node (file-body.ts), and by the native body path (native-http/,
// sendfile from a Go child holding a duplicate of each connection's socket; Linux only).
const bodyPaths = [{ name: 'node' }, ...(process.platform === 'linux' ? [{ name: 'native' }] : [])];
let nativeBinary: string | undefined;
const nativeBodyBinary = (): string =>
  (nativeBinary ??= buildNativeHttp(mkdtempSync(path.join(tmpdir(), 'pxe-http-bin-'))));

describe.skipIf(!haveTools('curl')).each(bodyPaths)(
  'HttpBootServer on loopback, bodies sent by $name',
  ({ name }) => {
    let dir: string;
    let root: string;
    let fallback: string;
    let server: HttpBootServer;
    let base: string;
    let port: number;
    const events: TransferEvent[] = [];
    const data = randomBytes(3 * 1024 * 1024 + 123);

    beforeAll(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'pxe-http-'));
      root = path.join(dir, 'root');
      fallback = path.join(dir, 'fallback');
      mkdirSync(path.join(root, 'sub'), { recursive: true });
      mkdirSync(fallback);
      writeFileSync(path.join(root, 'data.bin'), data);
      writeFileSync(path.join(root, 'disk.iso'), Buffer.alloc(4096, 1));
      writeFileSync(path.join(root, 'disk.img'), Buffer.alloc(512, 2));
      writeFileSync(path.join(root, 'menu.ipxe'), '#!ipxe\necho hi\n');
      writeFileSync(path.join(dir, 'secret.txt'), 'TOPSECRET');
      symlinkSync(path.join(dir, 'secret.txt'), path.join(root, 'escape.txt'));
      mkdirSync(path.join(root, '.pxe-desk'));
      writeFileSync(path.join(root, '.pxe-desk', 'library.json'), '{}');
      writeFileSync(path.join(fallback, 'ipxe.efi'), Buffer.from('MZfake-efi'));
      // 5 GiB sparse file with markers past 4 GiB (no 5 GiB of disk needed).
      const fd = openSync(path.join(root, 'big.img'), 'w');
      ftruncateSync(fd, 5 * 1024 ** 3);
      writeSync(fd, Buffer.from('MARKER-4.5G'), 0, 11, 4.5 * 1024 ** 3);
      writeSync(fd, Buffer.from('END'), 0, 3, 5 * 1024 ** 3 - 3);
      closeSync(fd);
      server = new HttpBootServer({
        root,
        address: '127.0.0.1',
        port: 0,
        fallbackDirs: [fallback],
        maxConnections: 600,
        headersTimeoutMs: 2000,
        keepAliveTimeoutMs: 1000,
        macForIp: (ip) => (ip === '127.0.0.1' ? '52:54:00:12:34:56' : undefined),
        scripts: (p, q) => (p === 'boot.ipxe' ? `#!ipxe\necho mac=${q.get('mac') ?? ''}\n` : undefined),
        ...(name === 'native' ? { nativeBodyPath: nativeBodyBinary() } : {}),
      });
      server.onEvent((e) => events.push(e));
      await server.start();
      port = server.port();
      base = `http://127.0.0.1:${port}`;
    });

    afterAll(async () => {
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('H1: HEAD answers Content-Length, type, ETag and Last-Modified without a body', async () => {
      const res = (
        await raw(port, `HEAD /ipxe.efi HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)
      ).toString();
      expect(res).toMatch(/^HTTP\/1\.1 200/);
      expect(res).toMatch(/content-length: 10\r\n/i);
      expect(res).toMatch(/content-type: application\/efi\r\n/i);
      expect(res).toMatch(/etag: "[0-9a-f]+-[0-9a-f]+"\r\n/i);
      expect(res).toMatch(/last-modified: /i);
      expect(res).toMatch(/accept-ranges: bytes/i);
      expect(res.endsWith('\r\n\r\n')).toBe(true);
    });

    it('GET serves the full file with identical bytes and emits start/done events with the MAC', async () => {
      const body = await curl([`${base}/data.bin`]);
      expect(sha(body)).toBe(sha(data));
      const done = events.find((e) => e.type === 'done' && e.file === 'data.bin');
      expect(done?.bytes).toBe(data.length);
      expect(done?.client.mac).toBe('52:54:00:12:34:56');
      expect(events.some((e) => e.type === 'start' && e.file === 'data.bin')).toBe(true);
    });

    it('H2: ranges (single, suffix, open), If-Match, If-Range and 304', async () => {
      const etag = /etag: (\S+)/i.exec((await curl(['-I', `${base}/data.bin`])).toString())?.[1] ?? '';
      expect(etag).not.toBe('');
      const piece = await curl([
        '-H',
        'Range: bytes=1000-',
        '-H',
        `If-Match: ${etag}`,
        '-D',
        '-',
        `${base}/data.bin`,
      ]);
      const head = piece.subarray(0, piece.indexOf('\r\n\r\n')).toString();
      expect(head).toMatch(/^HTTP\/1\.1 206/);
      expect(head).toContain(`Content-Range: bytes 1000-${data.length - 1}/${data.length}`);
      expect(sha(piece.subarray(piece.indexOf('\r\n\r\n') + 4))).toBe(sha(data.subarray(1000)));
      expect(sha(await curl(['-r', '5-99', `${base}/data.bin`]))).toBe(sha(data.subarray(5, 100)));
      expect(sha(await curl(['-H', 'Range: bytes=-500', `${base}/data.bin`]))).toBe(
        sha(data.subarray(data.length - 500)),
      );
      const stale = await curl([
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '-H',
        'If-Match: "nope"',
        `${base}/data.bin`,
      ]);
      expect(stale.toString()).toBe('412');
      const inm = await curl([
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '-H',
        `If-None-Match: ${etag}`,
        `${base}/data.bin`,
      ]);
      expect(inm.toString()).toBe('304');
      // If-Range with a stale validator: whole file, 200.
      const ir = await curl([
        '-w',
        '\n%{http_code}',
        '-r',
        '0-9',
        '-H',
        'If-Range: "old"',
        `${base}/data.bin`,
      ]);
      expect(ir.subarray(ir.length - 3).toString()).toBe('200');
      const irOk = await curl(['-r', '0-9', '-H', `If-Range: ${etag}`, `${base}/data.bin`]);
      expect(irOk.equals(data.subarray(0, 10))).toBe(true);
      const unsat = await curl([
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '-r',
        `${data.length + 5}-`,
        `${base}/data.bin`,
      ]);
      expect(unsat.toString()).toBe('416');
    });

    it('multiple ranges come back as multipart/byteranges with correct pieces', async () => {
      const out = await curl(['-D', '-', '-r', '0-9,2000-2999,-16', `${base}/data.bin`]);
      const sep = out.indexOf('\r\n\r\n');
      const head = out.subarray(0, sep).toString();
      const boundary = /boundary=(\S+)/.exec(head)?.[1] ?? 'x';
      const body = out.subarray(sep + 4);
      expect(Number(/content-length: (\d+)/i.exec(head)?.[1])).toBe(body.length);
      const parts = body.toString('latin1').split(`--${boundary}`).slice(1, -1);
      expect(parts).toHaveLength(3);
      const want = [data.subarray(0, 10), data.subarray(2000, 3000), data.subarray(data.length - 16)];
      parts.forEach((p, i) => {
        const content = Buffer.from(p.slice(p.indexOf('\r\n\r\n') + 4).replace(/\r\n$/, ''), 'latin1');
        expect(sha(content)).toBe(sha(want[i] as Buffer));
      });
    });

    it('reads a 5 GiB sparse file at offsets past 4 GiB', async () => {
      const off = 4.5 * 1024 ** 3;
      expect((await curl(['-r', `${off}-${off + 10}`, `${base}/big.img`])).toString()).toBe('MARKER-4.5G');
      expect((await curl(['-r', '-3', `${base}/big.img`])).toString()).toBe('END');
      const head = (await curl(['-I', `${base}/big.img`])).toString();
      expect(head).toMatch(/content-length: 5368709120/i);
      expect(head).toMatch(/content-type: application\/vnd\.efi-img/i);
    });

    it('H3: traversal in plain, encoded, double-encoded, backslash, NUL and symlink forms is refused', async () => {
      const attempts = [
        '/../../etc/passwd',
        '/%2e%2e/%2e%2e/etc/passwd',
        '/..%2fetc/passwd',
        '/%252e%252e/%252e%252e/etc/passwd',
        '/sub/..%5c..%5csecret.txt',
        '/..\\..\\secret.txt',
        '/data.bin%00.txt',
        '/escape.txt',
        '/.pxe-desk/library.json',
        '/sub/',
        '/',
      ];
      for (const a of attempts) {
        const res = (await raw(port, `GET ${a} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)).toString();
        expect(res, a).toMatch(/^HTTP\/1\.1 (400|403|404)/);
        expect(res, a).not.toContain('TOPSECRET');
        expect(res, a).not.toContain('root:');
      }
    });

    it('H4/H5: script hook and content types', async () => {
      const out = (await curl(['-D', '-', `${base}/boot.ipxe?mac=52:54:00:12:34:56&arch=bios`])).toString();
      expect(out).toMatch(/content-type: text\/plain/i);
      expect(out.split('\r\n\r\n')[1]).toBe('#!ipxe\necho mac=52:54:00:12:34:56\n');
      expect((await curl(['-I', `${base}/disk.iso`])).toString()).toMatch(
        /content-type: application\/vnd\.efi-iso/i,
      );
      expect((await curl(['-I', `${base}/menu.ipxe`])).toString()).toMatch(/content-type: text\/plain/i);
      expect(
        (await curl(['-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', `${base}/data.bin`])).toString(),
      ).toBe('405');
    });

    it('H6: 500 slowloris connections do not stop a normal download; they are cut after the header timeout', async () => {
      const idle: net.Socket[] = [];
      const closedAt: number[] = [];
      const t0 = Date.now();
      for (let i = 0; i < 500; i++) {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => undefined);
        s.resume(); // read the server's 400 + FIN, else 'close' never fires
        s.on('close', () => closedAt.push(Date.now() - t0));
        s.once('connect', () => s.write('GET /data.bin HTTP/1.1\r\nX-Slow: '));
        idle.push(s);
      }
      await new Promise((r) => setTimeout(r, 500));
      const startDl = Date.now();
      const body = await curl([`${base}/data.bin`]);
      expect(sha(body)).toBe(sha(data));
      expect(Date.now() - startDl).toBeLessThan(5000);
      // headersTimeout 2 s + checking interval 1 s: all cut well within 8 s.
      const deadline = Date.now() + 8000;
      while (closedAt.length < 500 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      idle.forEach((s) => s.destroy());
      expect(closedAt.length).toBe(500);
    });

    it('keep-alive: pipelined full and ranged GETs on one connection come back whole and in order', async () => {
      // iPXE and UEFI HTTP boot reuse one connection for a file's ranges; the body sender must hand the
      // socket on cleanly after each response (Content-Length exact, nothing left in flight).
      const req = (extra: string): string => `GET /data.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;
      const out = await raw(
        port,
        req('') +
          req('Range: bytes=1000-2999\r\n') +
          req('Range: bytes=0-0,-5\r\n') +
          req('Connection: close\r\n'),
        10_000,
      );
      const bodies: Buffer[] = [];
      let at = 0;
      while (at < out.length) {
        const headEnd = out.indexOf('\r\n\r\n', at);
        expect(headEnd).toBeGreaterThan(at);
        const head = out.subarray(at, headEnd).toString('latin1');
        const len = Number(/content-length: (\d+)/i.exec(head)?.[1]);
        bodies.push(out.subarray(headEnd + 4, headEnd + 4 + len));
        at = headEnd + 4 + len;
      }
      expect(bodies).toHaveLength(4);
      expect(sha(bodies[0] as Buffer)).toBe(sha(data));
      expect((bodies[1] as Buffer).equals(data.subarray(1000, 3000))).toBe(true);
      const multipart = (bodies[2] as Buffer).toString('latin1');
      expect(multipart).toContain(`Content-Range: bytes 0-0/${data.length}`);
      expect(multipart).toContain(
        `Content-Range: bytes ${data.length - 5}-${data.length - 1}/${data.length}`,
      );
      expect(sha(bodies[3] as Buffer)).toBe(sha(data));
    });

    it('a client that goes away mid-download ends the transfer as failed, coded aborted', async () => {
      const s = net.connect(port, '127.0.0.1', () =>
        s.write('GET /big.img HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
      );
      s.on('error', () => undefined);
      await new Promise((r) => s.once('data', r)); // headers and the first bytes are out
      s.destroy();
      const deadline = Date.now() + 5000;
      let failed: TransferEvent | undefined;
      while (!failed && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
        failed = events.find((e) => e.type === 'failed' && e.file === 'big.img');
      }
      expect(failed?.failure).toEqual({ code: 'aborted' });
      expect(failed?.reason).toMatch(/closed the connection/);
    });

    it('H7: an idle keep-alive connection is closed on time after a body (the native path holds no copy open)', async () => {
      const s = net.connect(port, '127.0.0.1', () =>
        s.write('GET /data.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=0-999999\r\n\r\n'),
      );
      s.on('error', () => undefined);
      let got = 0;
      s.on('data', (d: Buffer) => (got += d.length));
      const t0 = Date.now();
      await new Promise((r) => {
        s.once('close', r);
        setTimeout(r, 5000);
      });
      s.destroy();
      expect(got).toBeGreaterThan(1_000_000); // the head and the whole body came first
      // keepAliveTimeoutMs is 1000: the server closes the idle connection then, not never.
      expect(Date.now() - t0).toBeLessThan(4000);
    });

    it.runIf(name === 'native')(
      'H8: the native path sent the bodies; when it dies, bodies go through Node',
      async () => {
        const before = server.nativeBodies();
        expect(before?.active).toBe(true);
        expect(before?.bodies).toBeGreaterThan(3);
        // The heads went with the bodies (Node's ServerResponse let the child have them).
        expect(before?.heads).toBe(before?.bodies);
        process.kill(before?.pid as number, 'SIGKILL');
        const deadline = Date.now() + 5000;
        while (server.nativeBodies()?.active && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 20));
        expect(server.nativeBodies()?.active).toBe(false);
        expect(sha(await curl([`${base}/data.bin`]))).toBe(sha(data));
        expect(server.nativeBodies()?.bodies).toBe(before?.bodies);
      },
    );

    it('answers 503 beyond the connection cap', async () => {
      const small = new HttpBootServer({ root, address: '127.0.0.1', port: 0, maxConnections: 3 });
      await small.start();
      const held: net.Socket[] = [];
      try {
        for (let i = 0; i < 3; i++) {
          const s = net.connect(small.port(), '127.0.0.1');
          s.on('error', () => undefined);
          await new Promise((r) => s.once('connect', r));
          held.push(s);
        }
        await new Promise((r) => setTimeout(r, 100));
        const res = (await raw(small.port(), 'GET /data.bin HTTP/1.1\r\nHost: x\r\n\r\n')).toString();
        expect(res).toMatch(/^HTTP\/1\.1 503/);
        expect(small.counters().rateLimited).toBe(1);
      } finally {
        held.forEach((s) => s.destroy());
        await small.stop();
      }
    });
  },
);
