/**
 * ISO reader fuzz: seeded mutations of real images (xorriso Rock Ridge + Joliet with CE continuation
 * areas, an El Torito BIOS + UEFI image with its FAT boot image, a genisoimage UDF image), truncations,
 * and hand-made malformations (a directory pointing at its parent, a CE pointing at itself, 0xFFFFFFFF
 * extents, zero and short record lengths). Every call returns or throws IsoError, within a time bound.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IsoError,
  memorySource,
  openFat,
  openIso,
  subSource,
  type IsoSource,
} from '../../app/engines/iso/index.js';
import { readVolumeDescriptors } from '../../app/engines/iso/iso9660-descriptors.js';
import { parseRecords } from '../../app/engines/iso/iso9660-tree.js';
import { TAG, crc16, isTag } from '../../app/engines/iso/udf-tag.js';
import { UdfTree } from '../../app/engines/iso/udf-tree.js';
import { rng } from '../helpers/fuzz.js';
import { biosUefiIso, bytes, rockRidgeJolietIso, tempDir, udfIso } from '../helpers/iso-images.js';

const tmp = tempDir();
const TAG_IDS = Object.values(TAG);
afterAll(() => tmp.cleanup());

/** A copy-on-write view of a seed: byte patches and a truncation, without copying the image. */
function patched(base: Uint8Array, patches: Map<number, number>, size: number): IsoSource {
  return {
    size,
    read(offset, length) {
      const out = Uint8Array.from(base.subarray(offset, Math.min(offset + length, size)));
      for (const [at, v] of patches) if (at >= offset && at < offset + out.length) out[at - offset] = v;
      return Promise.resolve(out);
    },
  };
}

/** Everything a caller would do with an image; only IsoError may escape, and it is swallowed here. */
async function exercise(src: IsoSource, prefer?: 'udf'): Promise<{ calls: number; errors: number }> {
  let calls = 0;
  let errors = 0;
  const typed = async (f: () => Promise<unknown>): Promise<void> => {
    calls++;
    try {
      await f();
    } catch (e) {
      if (!(e instanceof IsoError)) throw e;
      errors++;
    }
  };
  await typed(async () => {
    const img = await openIso(src, prefer ? { prefer } : {});
    let n = 0;
    await typed(async () => {
      for await (const { path, entry } of img.walk()) {
        if (++n > 500) break;
        await typed(() => img.stat(path.toUpperCase()));
        if (entry.kind === 'file') {
          await typed(() => img.readFile(path, { length: Math.min(entry.size, 65536) }));
          await typed(() => img.extents(path));
        }
      }
    });
    const uefi = img.elTorito?.uefiImage;
    if (uefi) {
      await typed(async () => {
        const fat = await openFat(subSource(src, uefi));
        for await (const { path, entry } of fat.walk()) {
          if (entry.kind === 'file')
            await typed(() => fat.readFile(path, { length: Math.min(entry.size, 65536) }));
        }
      });
    }
  });
  return { calls, errors };
}

interface Seed {
  name: string;
  bytes: Uint8Array;
  /** Byte ranges holding structures (descriptors, directories, catalog, FAT metadata): where mutations land. */
  hot: [number, number][];
  prefer?: 'udf';
  /** Offsets of UDF descriptor tags: mutations there get their checksum and CRC fixed, to reach past the tag check. */
  tags: number[];
}
const seeds: Seed[] = [];

/** Recompute the checksum and CRC of every tag whose descriptor a patch touched (ECMA-167 3/7.2). */
function fixTags(b: Uint8Array, tags: number[], patches: Map<number, number>): void {
  const v = Buffer.from(b.buffer, b.byteOffset, b.length);
  for (const t of tags) {
    if (t + 16 > b.length) continue;
    const end = Math.min(b.length, t + 16 + v.readUInt16LE(t + 10));
    if (![...patches.keys()].some((at) => at >= t && at < end)) continue;
    v.writeUInt16LE(crc16(b.subarray(t + 16, end)), t + 8);
    let sum = 0;
    for (let i = 0; i < 16; i++) if (i !== 4) sum = (sum + (b[t + i] as number)) & 0xff;
    b[t + 4] = sum;
  }
}

beforeAll(async () => {
  const long = 'n'.repeat(240); // a Rock Ridge NM too long for the record: continued in a CE area
  const rr = rockRidgeJolietIso(
    tmp.dir,
    { [long]: 'x', 'a/b/c/d.txt': 'd', 'b.bin': bytes(30, 5000) },
    { 'a/up': '../a/b', self: 'self', root: '/' },
  );
  const bu = biosUefiIso(tmp.dir);
  const udf = udfIso(tmp.dir, 'fuzzudf', true, {
    'README.TXT': 'udf\n',
    'sources/boot.wim': bytes(31, 3000),
    'x/y/z.txt': 'z',
  });
  for (const [name, path, prefer] of [
    ['rock-ridge', rr.path],
    ['el-torito', bu.path],
    ['udf', udf.path, 'udf'],
  ] as const) {
    const b = new Uint8Array(readFileSync(path));
    // Mutations land on structures: descriptors and directories (before the first file's data in
    // these images), the boot catalog and the FAT image's metadata, and every UDF descriptor.
    const img = await openIso(memorySource(b), prefer ? { prefer } : {});
    let firstData = b.length;
    for await (const { path, entry } of img.walk()) {
      if (entry.kind === 'file' && entry.size > 0)
        firstData = Math.min(firstData, (await img.extents(path))[0]?.offset ?? b.length);
    }
    const hot: [number, number][] = [[16 * 2048, firstData]];
    const et = img.elTorito;
    if (et) hot.push([et.catalogSector * 2048, et.catalogSector * 2048 + 2048]);
    if (et?.uefiImage) hot.push([et.uefiImage.offset, et.uefiImage.offset + 40 * 512]);
    const tags: number[] = [];
    if (name === 'udf') {
      for (let at = 16 * 2048; at < b.length; at += 4) {
        if (isTag(b.subarray(at, at + 2048), TAG_IDS)) tags.push(at);
      }
      const view = Buffer.from(b.buffer, b.byteOffset, b.length);
      hot.splice(
        0,
        hot.length,
        ...tags.map((t): [number, number] => [t, t + 16 + view.readUInt16LE(t + 10)]),
      );
    }
    seeds.push({ name, bytes: b, hot, tags, ...(prefer ? { prefer } : {}) });
  }
}, 120_000);

describe('ISO reader fuzz', () => {
  it('the clean seeds read without error (and the UDF seed has its tags found)', async () => {
    expect((seeds.find((s) => s.name === 'udf') as Seed).tags.length).toBeGreaterThan(10);
    for (const s of seeds) {
      const img = await openIso(memorySource(s.bytes), s.prefer ? { prefer: s.prefer } : {});
      let files = 0;
      for await (const { entry } of img.walk()) if (entry.kind === 'file') files++;
      expect(files, s.name).toBeGreaterThan(1);
    }
  });

  it('thousands of seeded mutations and truncations: only IsoError, each within 2 s', async () => {
    const r = rng(20261207);
    let worst = 0;
    let calls = 0;
    let failing = 0;
    // The clean seeds' own IsoErrors (the "self" symlink loop): more than these means the mutation bit.
    const baseline = new Map<Seed, number>();
    for (const s of seeds) baseline.set(s, (await exercise(memorySource(s.bytes), s.prefer)).errors);
    expect(baseline.get(seeds[0] as Seed)).toBe(1);
    for (let i = 0; i < 3000; i++) {
      const s = seeds[i % seeds.length] as Seed;
      const patches = new Map<number, number>();
      let size = s.bytes.length;
      const edits = 1 + Math.floor(r() * 8);
      for (let k = 0; k < edits; k++) {
        const [lo, hi] = s.hot[Math.floor(r() * s.hot.length)] as [number, number];
        const at = lo + Math.floor(r() * (hi - lo));
        const what = r();
        if (what < 0.6) patches.set(at, Math.floor(r() * 256));
        else if (what < 0.75) patches.set(at, what < 0.7 ? 0 : 0xff);
        else if (what < 0.9)
          for (let j = 0; j < 4; j++) patches.set(at + j, 0xff); // a 0xFFFFFFFF field
        else size = Math.floor(r() * s.bytes.length); // truncation
      }
      let src = patched(s.bytes, patches, size);
      if (s.tags.length && r() < 0.7) {
        const b = Uint8Array.from(s.bytes.subarray(0, size));
        for (const [at, v] of patches) if (at < size) b[at] = v;
        fixTags(b, s.tags, patches);
        src = memorySource(b);
      }
      const t0 = performance.now();
      const got = await exercise(src, s.prefer);
      worst = Math.max(worst, performance.now() - t0);
      calls += got.calls;
      if (got.errors > (baseline.get(s) ?? 0)) failing++;
    }
    // The mutations must both break images and leave many readable (else they miss the structures).
    expect(failing).toBeGreaterThan(300);
    expect(failing).toBeLessThan(2900);
    expect(calls).toBeGreaterThan(3000 * 5);
    expect(worst).toBeLessThan(2000);
  }, 300_000);
});

/** Code of the IsoError `f` throws, or 'returned'. */
async function codeOf(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
    return 'returned';
  } catch (e) {
    if (e instanceof IsoError) return e.code;
    throw e;
  }
}

async function walkAll(src: IsoSource, prefer?: 'udf'): Promise<void> {
  const img = await openIso(src, prefer ? { prefer } : {});
  for await (const { path, entry } of img.walk()) if (entry.kind === 'file') await img.readFile(path);
}

/** The root directory's records of an ISO 9660 seed, with their byte offsets. */
async function rootRecords(b: Uint8Array): Promise<{ at: number; name: string; sua: number }[]> {
  const src = memorySource(b);
  const vds = await readVolumeDescriptors(src);
  const root = parseRecords(vds.primary?.rootRecord ?? new Uint8Array(), 2048)[0];
  const base = root?.extent.offset ?? 0;
  const out: { at: number; name: string; sua: number }[] = [];
  for (let p = 0; b[base + p] !== 0; p += b[base + p] as number) {
    const nameLen = b[base + p + 32] as number;
    const name = Buffer.from(b.subarray(base + p + 33, base + p + 33 + nameLen)).toString('latin1');
    out.push({ at: base + p, name, sua: base + p + 33 + nameLen + (nameLen % 2 === 0 ? 1 : 0) });
  }
  return out;
}

describe('hand-made malformations', () => {
  const seed = (name: string): Uint8Array =>
    Uint8Array.from((seeds.find((s) => s.name === name) as Seed).bytes);

  it('a directory record pointing at its parent: walk throws loop, lookup stops at the depth limit', async () => {
    const b = seed('rock-ridge');
    const recs = await rootRecords(b);
    const dot = recs[0] as { at: number };
    const a = recs.find((r) => r.name.startsWith('A')) as { at: number };
    b.set(b.subarray(dot.at + 2, dot.at + 18), a.at + 2); // "a" now has the root's extent and size
    expect(await codeOf(() => walkAll(memorySource(b)))).toBe('loop');
    const img = await openIso(memorySource(b));
    expect(await codeOf(() => img.stat(Array(40).fill('a').join('/') + '/b.bin'))).toBe('returned');
    expect(await codeOf(() => img.stat(Array(70).fill('a').join('/')))).toBe('too-deep');
  });

  it('a CE continuation area pointing at itself throws loop', async () => {
    const b = seed('rock-ridge');
    const recs = await rootRecords(b);
    const file = recs.find((r) => r.name.startsWith('B')) as { sua: number };
    // CE (SUSP §5.1) at sector 1 offset 0, 32 bytes; sector 1 holds the same CE again; ST ends each area.
    const ce = (): Uint8Array => {
      const e = Buffer.alloc(32);
      e.write('CE', 0, 'latin1');
      e[2] = 28;
      e[3] = 1;
      e.writeUInt32LE(1, 4);
      e.writeUInt32BE(1, 8);
      e.writeUInt32LE(32, 20);
      e.writeUInt32BE(32, 24);
      e.write('ST', 28, 'latin1');
      e[30] = 4;
      e[31] = 1;
      return e;
    };
    b.set(ce(), file.sua);
    b.set(ce(), 2048);
    const img = await openIso(memorySource(b));
    expect(await codeOf(() => img.list(''))).toBe('loop');
  });

  it('0xFFFFFFFF extents and sizes are refused, never read', async () => {
    const b = seed('rock-ridge');
    const recs = await rootRecords(b);
    const file = recs.find((r) => r.name.startsWith('B')) as { at: number };
    b.fill(0xff, file.at + 10, file.at + 18); // data length 0xFFFFFFFF
    const img = await openIso(memorySource(b));
    expect((await img.stat('b.bin')).size).toBe(0xffffffff);
    expect(await codeOf(() => img.readFile('b.bin'))).toBe('extent-out-of-range');
    expect(await codeOf(() => img.extents('b.bin'))).toBe('extent-out-of-range');
    const dir = recs.find((r) => r.name.startsWith('A')) as { at: number };
    b.fill(0xff, dir.at + 2, dir.at + 18);
    expect(await codeOf(async () => (await openIso(memorySource(b))).list('a'))).toMatch(
      /too-large|extent-out-of-range/,
    );
  });

  it('zero-length records skip to the next sector; short ones throw bad-record', async () => {
    const b = seed('rock-ridge');
    const recs = await rootRecords(b);
    const a = recs.find((r) => r.name.startsWith('A')) as { at: number };
    const zero = Uint8Array.from(b);
    zero[a.at] = 0;
    expect((await (await openIso(memorySource(zero))).list('')).map((e) => e.name)).not.toContain('a');
    const short = Uint8Array.from(b);
    short[a.at] = 20;
    expect(await codeOf(async () => (await openIso(memorySource(short))).list(''))).toBe('bad-record');
  });

  it('every truncation of each seed: open and walk throw IsoError or return', async () => {
    for (const s of seeds) {
      for (let cut = 0; cut < s.bytes.length; cut += 2048 * 7 + 123) {
        await exercise(patched(s.bytes, new Map(), cut), s.prefer);
      }
    }
  }, 120_000);

  it('UDF: a directory identifier pointing at its parent throws loop; a corrupted tag throws bad-tag', async () => {
    const b = seed('udf');
    const tree = await UdfTree.open(memorySource(b));
    const rootAt = (tree.root.extents[0] as { offset: number }).offset;
    // Walk the root's FIDs (ECMA-167 4/14.4) to find "x" and give it the root's ICB.
    let p = rootAt;
    let parentIcb = -1;
    let fidX = -1;
    for (let n = 0; n < 10; n++) {
      const lIu = b[p + 36]! | (b[p + 37]! << 8);
      const lFi = b[p + 19]!;
      if (b[p + 18]! & 0x08) parentIcb = Buffer.from(b).readUInt32LE(p + 24);
      if (lFi === 2 && b[p + 38 + lIu + 1] === 0x78) fidX = p;
      p += (38 + lIu + lFi + 3) & ~3;
    }
    expect(parentIcb).toBeGreaterThanOrEqual(0);
    expect(fidX).toBeGreaterThan(0);
    const loop = Uint8Array.from(b);
    Buffer.from(loop.buffer).writeUInt32LE(parentIcb, fidX + 24);
    const crcLen = loop[fidX + 10]! | (loop[fidX + 11]! << 8);
    Buffer.from(loop.buffer).writeUInt16LE(crc16(loop.subarray(fidX + 16, fidX + 16 + crcLen)), fidX + 8);
    let sum = 0;
    for (let i = 0; i < 16; i++) if (i !== 4) sum = (sum + loop[fidX + i]!) & 0xff;
    loop[fidX + 4] = sum;
    expect(await codeOf(() => walkAll(memorySource(loop), 'udf'))).toBe('loop');
    const bad = Uint8Array.from(b);
    bad[fidX + 39] = (bad[fidX + 39] as number) ^ 0x01; // the name "x": inside the CRC'd body
    expect(await codeOf(() => walkAll(memorySource(bad), 'udf'))).toBe('bad-tag');
  });
});
