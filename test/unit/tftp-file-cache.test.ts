/** FileCache: one handle per file version, chunk reads shared, bounded memory, clean release. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileCache, bufferSource, type Source } from '../../app/engines/tftp/file-cache.js';

const CHUNK = 64 * 1024;

async function readAll(source: Source): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let i = 0; i * source.chunkSize < source.size; i++) parts.push(await source.load(i));
  return Buffer.concat(parts);
}

describe('FileCache', () => {
  let dir: string;
  const data = randomBytes(10 * CHUNK + 123);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tftp-cache-'));
    writeFileSync(join(dir, 'f.bin'), data);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('shares one handle between concurrent opens of the same file and closes it on the last release', async () => {
    const fds = (): number => readdirSync('/proc/self/fd').length;
    const before = fds();
    const cache = new FileCache({ chunkSize: CHUNK });
    const path = join(dir, 'f.bin');
    const opened = await Promise.all(Array.from({ length: 20 }, () => cache.open(path, statSync(path))));
    expect(opened.every((o) => o.ok)).toBe(true);
    const sources = opened.map((o) => (o.ok ? o.source : undefined));
    expect(new Set(sources).size).toBe(1);
    expect(cache.openFiles()).toBe(1);
    expect(fds()).toBe(before + 1);
    for (const s of sources.slice(1)) await s!.release();
    expect(cache.openFiles()).toBe(1);
    expect((await readAll(sources[0]!)).equals(data)).toBe(true);
    await sources[0]!.release();
    expect(cache.openFiles()).toBe(0);
    expect(cache.cachedBytes()).toBe(0);
    expect(fds()).toBe(before);
  });

  it('keeps cached bytes within the budget, dropping the oldest chunks, and reads them again on demand', async () => {
    const cache = new FileCache({ chunkSize: CHUNK, budget: 4 * CHUNK });
    const path = join(dir, 'f.bin');
    const o = await cache.open(path, statSync(path));
    if (!o.ok) throw new Error(o.reason);
    expect((await readAll(o.source)).equals(data)).toBe(true);
    expect(cache.cachedBytes()).toBeLessThanOrEqual(4 * CHUNK);
    expect(o.source.chunk(0)).toBeUndefined(); // evicted first
    expect(o.source.chunk(10)).toBeDefined(); // newest kept
    expect((await o.source.load(0)).equals(data.subarray(0, CHUNK))).toBe(true);
    await o.source.release();
  });

  it('one read serves concurrent loads of the same chunk', async () => {
    const cache = new FileCache({ chunkSize: CHUNK });
    const path = join(dir, 'f.bin');
    const o = await cache.open(path, statSync(path));
    if (!o.ok) throw new Error(o.reason);
    const [a, b] = await Promise.all([o.source.load(3), o.source.load(3)]);
    expect(a).toBe(b);
    await o.source.release();
  });

  it('a file that shrinks while served fails the read instead of sending garbage', async () => {
    const path = join(dir, 'shrink.bin');
    writeFileSync(path, data);
    const cache = new FileCache({ chunkSize: CHUNK });
    const o = await cache.open(path, statSync(path));
    if (!o.ok) throw new Error(o.reason);
    truncateSync(path, CHUNK);
    await expect(o.source.load(5)).rejects.toThrow(/shrank/);
    await o.source.release();
  });

  it('bufferSource serves virtual files and netascii text as a single chunk', async () => {
    const s = bufferSource(Buffer.from('hello'));
    expect(s.size).toBe(5);
    expect(s.chunk(0)?.toString()).toBe('hello');
    expect(bufferSource(Buffer.alloc(0)).size).toBe(0);
  });
});
