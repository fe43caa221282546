/** ISO 9660 reader against images made by xorriso and genisoimage: names, lookup, multi-extent, errors. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileSource, type FileSource } from '../../app/engines/iso/file-source.js';
import { IsoError, openIso, readExtents, type IsoImage } from '../../app/engines/iso/index.js';
import {
  bytes,
  mkisofsIso,
  multiExtentIso,
  namesLinks,
  namesTree,
  relocatedIso,
  rockRidgeJolietIso,
  sha256,
  tempDir,
  type BuiltIso,
} from '../helpers/iso-images.js';

const tmp = tempDir();
const sources: FileSource[] = [];
async function open(built: BuiltIso, prefer?: 'iso9660' | 'udf'): Promise<IsoImage> {
  const src = await openFileSource(built.path);
  sources.push(src);
  return openIso(src, prefer ? { prefer } : {});
}
afterAll(async () => {
  for (const s of sources) await s.close();
  tmp.cleanup();
});

/** Every built file read back through the reader (whole, then through its extents) matches its sha256. */
async function expectSameFiles(img: IsoImage, built: BuiltIso, src?: FileSource): Promise<void> {
  for (const [path, sum] of built.files) {
    const st = await img.stat(path);
    expect(st.kind, path).toBe('file');
    const data = await img.readFile(path);
    expect(data.length, path).toBe(st.size);
    expect(sha256(data), path).toBe(sum);
    if (src) {
      const ext = await img.extents(path);
      expect(ext.reduce((a, e) => a + e.length, 0)).toBe(st.size);
      expect(sha256(await readExtents(src, ext, 0, st.size)), path).toBe(sum);
    }
  }
}

describe('xorriso Rock Ridge + Joliet image', () => {
  let built: BuiltIso;
  let img: IsoImage;
  beforeAll(async () => {
    built = rockRidgeJolietIso(tmp.dir, namesTree(), namesLinks);
    img = await open(built);
  });

  it('reads Rock Ridge names (long, mixed case, 12 deep) and every file byte for byte', async () => {
    expect(img.filesystem).toBe('iso9660');
    expect(img.names).toBe('rockridge');
    expect(img.volumeLabel).toBe('RRJ_TEST');
    const long = [...built.files.keys()].find((p) => p.startsWith('long/')) as string;
    expect(long.length - 'long/'.length).toBeGreaterThan(64);
    expect((await img.list('long')).map((e) => e.name)).toEqual([long.slice(5)]);
    await expectSameFiles(img, built, sources[sources.length - 1]);
  });

  it('walks the whole tree once, with Rock Ridge modes', async () => {
    const seen: string[] = [];
    for await (const { path, entry } of img.walk()) {
      seen.push(path);
      if (entry.kind === 'file') expect((entry.mode ?? 0) & 0o170000).toBe(0o100000);
      if (entry.kind === 'directory') expect((entry.mode ?? 0) & 0o170000).toBe(0o040000);
    }
    for (const p of built.files.keys()) expect(seen).toContain(p);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('follows Rock Ridge symlinks (relative, "..", absolute from the image root), refuses link loops, never walks into them', async () => {
    expect(await img.lstat('ubuntu')).toMatchObject({ kind: 'symlink', target: '.' });
    expect(await img.lstat('abs')).toMatchObject({ kind: 'symlink', target: '/casper/initrd' });
    expect(sha256(await img.readFile('ubuntu/ubuntu/casper/vmlinuz'))).toBe(
      built.files.get('casper/vmlinuz'),
    );
    expect(sha256(await img.readFile('boot/stable/grub.cfg'))).toBe(built.files.get('boot/grub/grub.cfg'));
    expect(sha256(await img.readFile('boot/kernel'))).toBe(built.files.get('casper/vmlinuz'));
    expect(sha256(await img.readFile('ABS'))).toBe(built.files.get('casper/initrd'));
    expect((await img.stat('abs')).kind).toBe('file');
    await expect(img.stat('loop1')).rejects.toMatchObject({ code: 'loop' });
    const links: string[] = [];
    for await (const { path, entry } of img.walk())
      if (entry.kind === 'symlink') links.push(`${path}->${entry.target ?? ''}`);
    expect(links.sort()).toEqual(
      Object.entries(namesLinks)
        .map(([p, t]) => `${p}->${t}`)
        .sort(),
    );
  });

  it('looks up case-insensitively, with "\\" separators and ";1" suffixes', async () => {
    const want = built.files.get('Mixed Case Folder/Some File.TXT');
    expect(sha256(await img.readFile('MIXED CASE FOLDER/some file.txt'))).toBe(want);
    expect(sha256(await img.readFile('\\mixed case folder\\SOME FILE.TXT;1'))).toBe(want);
    expect(sha256(await img.readFile('/casper/VMLINUZ.'))).toBe(built.files.get('casper/vmlinuz'));
  });

  it('reads ranges', async () => {
    const full = await img.readFile('casper/initrd');
    expect(Buffer.from(await img.readFile('casper/initrd', { offset: 4000, length: 9000 }))).toEqual(
      Buffer.from(full.subarray(4000, 13000)),
    );
    expect((await img.readFile('casper/initrd', { offset: full.length - 10, length: 100 })).length).toBe(10);
    expect((await img.readFile('empty.dat')).length).toBe(0);
  });

  it('throws typed errors for missing paths, directories read as files, and bad ranges', async () => {
    const code = (p: Promise<unknown>): Promise<string> =>
      p.then(
        () => 'resolved',
        (e: unknown) => (e instanceof IsoError ? e.code : `untyped ${String(e)}`),
      );
    expect(await code(img.stat('nope/nothing'))).toBe('not-found');
    expect(await code(img.readFile('casper'))).toBe('not-a-file');
    expect(await code(img.list('README.md'))).toBe('not-a-directory');
    expect(await code(img.stat('casper/../README.md'))).toBe('not-found');
    expect(await code(img.readFile('casper/initrd', { offset: 10_000_000 }))).toBe('extent-out-of-range');
  });

  it('prefer: udf on an image without UDF is a typed refusal', async () => {
    await expect(open(built, 'udf')).rejects.toMatchObject({ code: 'not-an-image' });
  });
});

describe('names without Rock Ridge', () => {
  it('Joliet only: UCS-2 names in their case', async () => {
    const files = { 'Docs/ReadMe First.txt': 'joliet\n', 'data/Blob.bin': bytes(20, 10_000) };
    const built = mkisofsIso(tmp.dir, 'joliet', ['-J'], files);
    const img = await open(built);
    expect(img.names).toBe('joliet');
    expect((await img.list('Docs')).map((e) => e.name)).toEqual(['ReadMe First.txt']);
    await expectSameFiles(img, built);
  });

  it('plain ISO 9660: d-character names, ";1" and the trailing "." dropped, found in any case', async () => {
    const built = mkisofsIso(tmp.dir, 'plain', [], { KERNEL: bytes(21, 3000), 'DIR/FILE.TXT': 'x\n' });
    const img = await open(built);
    expect(img.names).toBe('plain');
    expect((await img.list('')).map((e) => e.name).sort()).toEqual(['DIR', 'KERNEL']);
    await expectSameFiles(img, built);
    expect(sha256(await img.readFile('kernel;1'))).toBe(built.files.get('KERNEL'));
  });
});

describe('genisoimage Rock Ridge deep directory relocation (CL/RE)', () => {
  it('lists the relocated directory where it belongs and hides rr_moved copies', async () => {
    const built = relocatedIso(tmp.dir);
    const img = await open(built);
    await expectSameFiles(img, built);
    // genisoimage did relocate (rr_moved exists), so the CL/RE handling was exercised.
    expect((await img.list('')).map((e) => e.name)).toContain('rr_moved');
    // The relocated directory appears once: under its parent, not as a stray entry of rr_moved.
    const paths: string[] = [];
    for await (const { path } of img.walk()) paths.push(path);
    expect(paths.filter((p) => p.endsWith('/leaf.txt'))).toEqual(
      [...built.files.keys()].filter((p) => p.endsWith('leaf.txt')),
    );
  });
});

describe('multi-extent file (ECMA-119 §6.5.1)', () => {
  it('joins the records into one file, following each extent', async () => {
    const built = multiExtentIso(tmp.dir);
    const img = await open(built);
    const ext = await img.extents('big.bin');
    expect(ext.length).toBe(built.parts);
    // The middle extent was moved to the image end: the extents are not one contiguous run.
    expect((ext[1] as { offset: number }).offset).toBeGreaterThan((ext[2] as { offset: number }).offset);
    expect((await img.list('')).map((e) => e.name).sort()).toEqual(['BIG.BIN', 'SMALL.TXT']);
    await expectSameFiles(img, built, sources[sources.length - 1]);
    // xorriso reads the crafted image the same way: the fixture is a valid multi-extent image.
    const out = join(tmp.dir, 'xorriso-big.bin');
    execFileSync('xorriso', ['-osirrox', 'on', '-indev', built.path, '-extract', '/BIG.BIN', out], {
      stdio: 'ignore',
    });
    expect(sha256(readFileSync(out))).toBe(built.files.get('BIG.BIN'));
  });
});

describe('namesTree fixture', () => {
  it('has what the tests above rely on', () => {
    const t = namesTree();
    expect(Object.keys(t).some((p) => p.split('/').length > 12)).toBe(true);
  });
});
