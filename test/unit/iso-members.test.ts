/**
 * The cache of opened ISO images behind files served from inside them (app/engines/files/iso-members.ts)
 * and the extent arithmetic both data paths share (extent-map.ts): images opened once per version,
 * at most `maxImages` open (descriptors really closed on eviction and on close()), lookups remembered,
 * a broken image parsed once.
 */
import { copyFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExtentMap } from '../../app/engines/files/extent-map.js';
import { IsoMembers, RECENT_MS, RECHECK_MS } from '../../app/engines/files/iso-members.js';
import type { ConfinedFile } from '../../app/engines/files/confine.js';
import { haveTools, mkisofsIso, tempDir } from '../helpers/iso-images.js';

const fds = (): number => readdirSync('/proc/self/fd').length;

describe('ExtentMap', () => {
  const map = new ExtentMap(
    [
      { offset: 5000, length: 100 },
      { offset: 0, length: 0 },
      { offset: 0, length: 50, sparse: true },
      { offset: 9000, length: 100 },
    ],
    230,
  );

  it('clips to the recorded size and skips empty extents', () => {
    expect(map.size).toBe(230);
    expect(map.list()).toEqual([
      { offset: 5000, length: 100 },
      { offset: 0, length: 50, sparse: true },
      { offset: 9000, length: 80 },
    ]);
  });

  it('maps member positions to runs that never cross an extent end', () => {
    expect(map.piece(0, 1000)).toEqual({ at: 5000, length: 100, sparse: false });
    expect(map.piece(99, 10)).toEqual({ at: 5099, length: 1, sparse: false });
    expect(map.piece(100, 10)).toEqual({ at: 0, length: 10, sparse: true });
    expect(map.piece(149, 10)).toEqual({ at: 49, length: 1, sparse: true });
    expect(map.piece(150, 1000)).toEqual({ at: 9000, length: 80, sparse: false });
    expect(map.piece(229, 5)).toEqual({ at: 9079, length: 1, sparse: false });
    expect(map.piece(230, 5)).toBeUndefined();
    expect(map.piece(-1, 5)).toBeUndefined();
  });
});

describe.skipIf(!haveTools('genisoimage'))('IsoMembers', () => {
  const { dir, cleanup } = tempDir('pxe-iso-members-');
  const paths: string[] = [];
  beforeAll(() => {
    const built = mkisofsIso(dir, 'm', ['-R'], { 'casper/vmlinuz': 'kernel\n', 'a.txt': 'a\n' });
    for (let i = 0; i < 3; i++) {
      const p = join(dir, `copy${i}.iso`);
      copyFileSync(built.path, p);
      paths.push(p);
    }
    writeFileSync(
      join(dir, 'bad.iso'),
      Buffer.concat([Buffer.alloc(32769), Buffer.from('CD001'), Buffer.alloc(3000)]),
    );
  });
  afterAll(() => cleanup());

  it('keeps at most maxImages open, closes the evicted ones and all on close()', async () => {
    const before = fds();
    const isos = new IsoMembers({ maxImages: 2 });
    for (const p of paths) {
      const found = await isos.find(p, statSync(p), ['CASPER', 'VMLINUZ']);
      expect(found.ok && found.member.inner).toBe('casper/vmlinuz');
      expect(found.ok && found.member.size).toBe(7);
    }
    await new Promise((r) => setTimeout(r, 50)); // closes are asynchronous
    expect(isos.counters()).toMatchObject({ open: 2, opened: 3, lookups: 3 });
    expect(fds()).toBe(before + 2);
    // Remembered: the same lookup again parses nothing.
    await isos.find(paths[2]!, statSync(paths[2]!), ['CASPER', 'VMLINUZ']);
    expect(isos.counters().lookups).toBe(3);
    await isos.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(isos.counters().open).toBe(0);
    expect(fds()).toBe(before);
  });

  it('a broken image is parsed once and refused with a typed code; a directory is not a file', async () => {
    const isos = new IsoMembers();
    const bad = join(dir, 'bad.iso');
    for (let i = 0; i < 3; i++) {
      const r = await isos.find(bad, statSync(bad), ['x']);
      expect(r).toMatchObject({ ok: false, refusal: 'bad-image' });
    }
    expect(isos.counters().badImages).toBe(1);
    const p = paths[0]!;
    expect(await isos.find(p, statSync(p), ['casper'])).toMatchObject({ ok: false, refusal: 'not-a-file' });
    expect(await isos.find(p, statSync(p), ['a.txt', 'x'])).toMatchObject({
      ok: false,
      refusal: 'not-found',
    });
    const notIso = join(dir, 'm-tree', 'a.txt');
    expect(await isos.find(notIso, statSync(notIso), ['x'])).toMatchObject({
      ok: false,
      refusal: 'not-an-image',
    });
    await isos.close();
  });

  it('reuses a remembered resolution while the image is unchanged, walks again after RECENT_MS, drops it when the image changes', async () => {
    let now = 1_000_000;
    const isos = new IsoMembers({ now: () => now });
    const p = paths[1]!;
    const found = await isos.find(p, statSync(p), ['a.txt']);
    if (!found.ok) throw new Error('a.txt not found');
    const file: ConfinedFile = {
      ok: true,
      path: p,
      info: statSync(p),
      relative: 'copy1.iso/a.txt',
      requested: 'copy1.iso/a.txt',
      member: found.member,
    };
    isos.remember('k', file);
    expect(await isos.recall('k')).toBe(file);
    now += RECHECK_MS;
    expect(await isos.recall('k')).toBe(file); // a stat found it unchanged
    now += RECENT_MS;
    expect(await isos.recall('k')).toBeUndefined(); // this caller walks the name again...
    expect(await isos.recall('k')).toBe(file); // ...the others go on meanwhile
    isos.remember('k', file);
    const t = new Date(Date.now() + 60_000);
    utimesSync(p, t, t); // rewritten (another mtime): seen at the next stat
    now += RECHECK_MS;
    expect(await isos.recall('k')).toBeUndefined();
    expect(await isos.recall('k')).toBeUndefined();
    isos.remember('k', { ...file, info: statSync(p) });
    isos.forget('k');
    expect(await isos.recall('k')).toBeUndefined();
    await isos.close();
  });
});
