import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BufferPool, POOL_TRIM_MS, sendFileBody } from '../../app/engines/http/file-body.js';
import type { FileBody, FileBodyListener } from '../../app/engines/http/file-body.js';
import type { ByteRange } from '../../app/engines/http/http-range.js';

const CHUNK = 64 * 1024;

/** A loopback server whose every request is answered by `plan(url)` through sendFileBody. */
async function serve(
  pool: BufferPool,
  plan: (url: string) => FileBody,
  events: string[],
  hook?: (sent: number) => void,
): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const body = plan(req.url ?? '/');
    const total = body.ranges.reduce((n, r) => n + r.end - r.start + 1, 0);
    res.writeHead(200, { 'Content-Length': String(total) });
    const on: FileBodyListener = {
      bytes: (n) => hook?.(n),
      done: () => events.push('done'),
      failed: (e) => {
        events.push(`failed ${e.message}`);
        res.destroy();
      },
    };
    const stop = sendFileBody(res, body, pool, on);
    res.on('close', () => {
      stop();
      events.push('close');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function get(port: number, url: string, abortAfter?: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: url, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let got = 0;
      res.on('data', (d: Buffer) => {
        chunks.push(d);
        got += d.length;
        if (abortAfter !== undefined && got >= abortAfter) req.destroy();
      });
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', () => resolve(Buffer.concat(chunks)));
      res.on('aborted', () => resolve(Buffer.concat(chunks)));
    });
    req.on('error', (e) => (abortAfter !== undefined ? resolve(Buffer.alloc(0)) : reject(e)));
  });
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('sendFileBody (reused read buffers)', () => {
  let dir: string;
  let a: Buffer;
  let b: Buffer;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pxe-file-body-'));
    a = randomBytes(3 * 1024 * 1024 + 12345);
    b = randomBytes(CHUNK + 1);
    writeFileSync(path.join(dir, 'a'), a);
    writeFileSync(path.join(dir, 'b'), b);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('concurrent downloads of different files and ranges through a small shared pool arrive intact, and every buffer comes back', async () => {
    // Budget 3 for 8 transfers: most run single-buffered, buffers move between transfers.
    const pool = new BufferPool(CHUNK, 2, 3);
    const events: string[] = [];
    const plans: Record<string, { file: string; ranges: ByteRange[] }> = {
      '/a': { file: 'a', ranges: [{ start: 0, end: a.length - 1 }] },
      '/b': { file: 'b', ranges: [{ start: 0, end: b.length - 1 }] },
      '/a-mid': { file: 'a', ranges: [{ start: 100_001, end: 2_000_000 }] },
      '/a-two': {
        file: 'a',
        ranges: [
          { start: 5, end: 70_000 },
          { start: a.length - 10, end: a.length - 1 },
        ],
      },
    };
    const srv = await serve(
      pool,
      (url) => {
        const p = plans[url] as { file: string; ranges: ByteRange[] };
        return { path: path.join(dir, p.file), ranges: p.ranges };
      },
      events,
    );
    const urls = ['/a', '/b', '/a-mid', '/a-two', '/a', '/b', '/a-mid', '/a'];
    const got = await Promise.all(urls.map((u) => get(srv.port, u)));
    urls.forEach((u, i) => {
      const p = plans[u] as { file: string; ranges: ByteRange[] };
      const src = p.file === 'a' ? a : b;
      const want = Buffer.concat(p.ranges.map((r) => src.subarray(r.start, r.end + 1)));
      expect(got[i]?.equals(want), u).toBe(true);
    });
    await until(() => events.filter((e) => e === 'close').length === urls.length);
    expect(events.filter((e) => e === 'done')).toHaveLength(urls.length);
    expect(pool.inUse()).toBe(0);
    await srv.close();
  });

  it('a client that goes away mid-file stops the reads and no buffer stays out', async () => {
    const pool = new BufferPool(CHUNK, 2, 8);
    const events: string[] = [];
    const srv = await serve(
      pool,
      () => ({ path: path.join(dir, 'a'), ranges: [{ start: 0, end: a.length - 1 }] }),
      events,
    );
    const part = await get(srv.port, '/', 3 * CHUNK);
    expect(part.length).toBeLessThan(a.length);
    await until(() => events.includes('close'));
    expect(events).not.toContain('done');
    await until(() => pool.inUse() === 0);
    await srv.close();
  });

  it('a file that shrinks while being sent fails the transfer instead of hanging', async () => {
    const file = path.join(dir, 'shrinks');
    writeFileSync(file, randomBytes(4 * 1024 * 1024));
    const pool = new BufferPool(CHUNK, 2, 8);
    const events: string[] = [];
    let cut = false;
    const srv = await serve(
      pool,
      () => ({ path: file, ranges: [{ start: 0, end: 4 * 1024 * 1024 - 1 }] }),
      events,
      () => {
        if (!cut) truncateSync(file, 100_000);
        cut = true;
      },
    );
    const got = await get(srv.port, '/', Number.MAX_SAFE_INTEGER);
    expect(got.length).toBeLessThan(4 * 1024 * 1024);
    await until(() => events.includes('close'));
    expect(events.find((e) => e.startsWith('failed'))).toMatch(/shrank/);
    expect(events).not.toContain('done');
    await until(() => pool.inUse() === 0);
    await srv.close();
  });
});

describe('BufferPool', () => {
  it('keeps up to its budget idle while transfers keep coming, and only `keep` once they stop', () => {
    vi.useFakeTimers();
    try {
      const pool = new BufferPool(1024, 2, 8);
      const first = Array.from({ length: 6 }, () => pool.take(true) as Buffer);
      for (const b of first) pool.give(b);
      expect(pool.idle()).toBe(6);
      // A burst of short transfers (Range requests) reuses them: no new allocation.
      const again = Array.from({ length: 6 }, () => pool.take(true) as Buffer);
      expect(again.every((b) => first.includes(b))).toBe(true);
      for (const b of again) pool.give(b);
      vi.advanceTimersByTime(POOL_TRIM_MS); // a take happened since the timer started: kept
      expect(pool.idle()).toBe(6);
      vi.advanceTimersByTime(POOL_TRIM_MS); // none since: back to `keep`
      expect(pool.idle()).toBe(2);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
