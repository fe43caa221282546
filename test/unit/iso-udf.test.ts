/** UDF side of genisoimage -udf images: a Windows-shaped image (ISO 9660 shows only README.TXT) and a bridge image. */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { openFileSource, type FileSource } from '../../app/engines/iso/file-source.js';
import { memorySource, openIso, readExtents, type IsoImage } from '../../app/engines/iso/index.js';
import { sha256, tempDir, udfIso } from '../helpers/iso-images.js';

const tmp = tempDir();
const sources: FileSource[] = [];
async function open(path: string, prefer?: 'iso9660' | 'udf'): Promise<{ img: IsoImage; src: FileSource }> {
  const src = await openFileSource(path);
  sources.push(src);
  return { img: await openIso(src, prefer ? { prefer } : {}), src };
}
afterAll(async () => {
  for (const s of sources) await s.close();
  tmp.cleanup();
});

describe('Windows-shaped UDF image', () => {
  it('the ISO 9660 side is a README stub, so UDF is read; every file matches', async () => {
    const built = udfIso(tmp.dir, 'winlike', true);
    const iso9660 = (await open(built.path, 'iso9660')).img;
    expect((await iso9660.list('')).map((e) => e.name)).toEqual(['README.TXT']);

    const { img, src } = await open(built.path);
    expect(img.filesystem).toBe('udf');
    expect(img.names).toBe('udf');
    expect(img.hasIso9660).toBe(true);
    expect(img.volumeLabel).toBe('WINLIKE');
    expect((await img.list('')).map((e) => e.name).sort()).toEqual([
      'README.TXT',
      'boot',
      'bootmgr',
      'bootmgr.efi',
      'efi',
      'sources',
    ]);
    for (const [path, sum] of built.files) {
      const data = await img.readFile(path);
      expect(sha256(data), path).toBe(sum);
      const st = await img.stat(path);
      expect(sha256(await readExtents(src, await img.extents(path), 0, st.size)), path).toBe(sum);
    }
    // Case-insensitive lookup, as a firmware or WDS client would ask.
    expect(sha256(await img.readFile('EFI\\Microsoft\\Boot\\EFISYS.BIN'))).toBe(
      built.files.get('efi/microsoft/boot/efisys.bin'),
    );
    expect(await img.readFile('sources/boot.wim', { offset: 1_000_000, length: 16 })).toEqual(
      (await img.readFile('sources/boot.wim')).subarray(1_000_000, 1_000_016),
    );
    expect((await img.stat('sources')).kind).toBe('directory');
  });
});

describe('UDF bridge image with every file on both sides', () => {
  it('UDF and ISO 9660 (Rock Ridge) give the same names and bytes', async () => {
    const built = udfIso(tmp.dir, 'bridge', false);
    const iso = (await open(built.path)).img;
    expect(iso.filesystem).toBe('iso9660');
    expect(iso.hasUdf).toBe(true);
    const udf = (await open(built.path, 'udf')).img;
    expect(udf.filesystem).toBe('udf');
    const walk = async (img: IsoImage): Promise<string[]> => {
      const out: string[] = [];
      for await (const { path, entry } of img.walk()) {
        // Directory sizes are each format's own directory data; files must agree exactly.
        out.push(entry.kind === 'directory' ? `${path}/` : `${path}:${entry.kind}:${entry.size}`);
      }
      return out.sort();
    };
    expect(await walk(udf)).toEqual(await walk(iso));
    for (const [path, sum] of built.files) {
      expect(sha256(await udf.readFile(path)), path).toBe(sum);
      expect(sha256(await iso.readFile(path)), path).toBe(sum);
    }
  });
});

describe('UDF-only image', () => {
  it('with the ISO 9660 descriptors wiped, the UDF tree is read', async () => {
    const built = udfIso(tmp.dir, 'udfonly', false, { 'a/b.txt': 'b\n', 'c.bin': Buffer.alloc(70_000, 7) });
    const b = new Uint8Array(readFileSync(built.path));
    // ECMA-119 descriptors from sector 16 up to the UDF volume recognition sequence ("BEA01").
    for (
      let s = 16;
      s < 32 && Buffer.from(b.subarray(s * 2048 + 1, s * 2048 + 6)).toString('latin1') === 'CD001';
      s++
    ) {
      b.fill(0, s * 2048, (s + 1) * 2048);
    }
    const img = await openIso(memorySource(b));
    expect(img.hasIso9660).toBe(false);
    expect(img.filesystem).toBe('udf');
    for (const [path, sum] of built.files) expect(sha256(await img.readFile(path)), path).toBe(sum);
  });
});
