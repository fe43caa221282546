/**
 * The PE / Authenticode reader on damaged input: real signed files (Debian's shim and GRUB from the
 * boot-file cache) cut short, with a certificate table pointing outside the file, with broken WIN_CERTIFICATE
 * headers and PKCS#7, and fuzzed (seeded truncations and bit flips). Every case ends in a PeInspection or a
 * PeError with a typed code, never another exception or a hang.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectPe, type PeInspection } from '../../app/engines/pe/authenticode.js';
import { authenticodeImageDigest, signaturesCoverImage } from '../../app/engines/pe/image-digest.js';
import { PeError, type PeErrorCode } from '../../app/engines/pe/pe-error.js';
import { memorySource } from '../../app/engines/iso/source.js';
import { onCi } from '../helpers/tools.js';

const repo = resolve(import.meta.dirname, '..', '..');
const cache = process.env.PXE_DESK_BOOTFILES ?? join(repo, '.cache', 'bootfiles');

function load(name: string): Buffer | undefined {
  const path = join(cache, name);
  if (!existsSync(path)) {
    try {
      execFileSync(process.execPath, [join(repo, 'scripts', 'fetch-bootfiles.mjs')], {
        cwd: repo,
        stdio: 'inherit',
      });
    } catch {
      /* reported below */
    }
  }
  if (existsSync(path)) return readFileSync(path);
  if (onCi) throw new Error(`CI=true but ${path} is missing (npm run bootfiles)`);
  console.warn(`skipping: ${path} missing (npm run bootfiles)`);
  return undefined;
}

const grub = load('grubx64.efi');
const shim = load('shimx64.efi');

const inspect = (b: Uint8Array): Promise<PeInspection> => inspectPe(memorySource(b));

async function code(b: Uint8Array): Promise<PeErrorCode | 'ok'> {
  try {
    await inspect(b);
    return 'ok';
  } catch (e) {
    if (e instanceof PeError) return e.code;
    throw e;
  }
}

/** signaturesCoverImage on possibly damaged bytes: its answer, or the PeError code. */
async function coverCode(b: Uint8Array): Promise<string> {
  try {
    const info = await inspect(b);
    return String(await signaturesCoverImage(memorySource(b), info.signers));
  } catch (e) {
    if (e instanceof PeError) return e.code;
    throw e;
  }
}

/** File offsets of the header fields the cases edit, read the way the PE/COFF spec lays them out. */
function layout(b: Buffer): { dir: number; table: number; tableSize: number; opt: number; pe: number } {
  const pe = b.readUInt32LE(0x3c);
  const opt = pe + 24;
  const dir = opt + (b.readUInt16LE(opt) === 0x20b ? 112 : 96) + 4 * 8;
  return { dir, table: b.readUInt32LE(dir), tableSize: b.readUInt32LE(dir + 4), opt, pe };
}

/** xorshift32: the same "random" cases on every run, so a failure reproduces. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

describe('PE headers', () => {
  it('no "MZ": not PE, no error (a BIOS image, a text file, an empty file)', async () => {
    expect((await inspect(new Uint8Array(0))).pe).toBe(false);
    expect((await inspect(Buffer.from('M'))).pe).toBe(false);
    expect((await inspect(Buffer.from('#!ipxe\nchain boot.ipxe\n'))).pe).toBe(false);
  });

  it('a Linux bzImage without the EFI stub: not PE, the boot header still read', async () => {
    const b = Buffer.alloc(0x400);
    b.write('HdrS', 0x202, 'latin1');
    b.writeUInt16LE(0x020f, 0x206);
    b.writeUInt16LE(0x100, 0x20e); // kernel_version at 0x100 + 0x200
    b.write('6.1.0-test (builder) #1\0', 0x300, 'latin1');
    const info = await inspect(b);
    expect(info).toMatchObject({
      pe: false,
      signed: false,
      linuxKernel: { bootProtocol: '2.15', version: '6.1.0-test (builder) #1' },
    });
  });

  it('broken headers are typed errors', async () => {
    const short = Buffer.from('MZ' + '\0'.repeat(20), 'latin1');
    expect(await code(short)).toBe('truncated');
    const b = Buffer.alloc(0x200);
    b.write('MZ', 0, 'latin1');
    b.writeUInt32LE(0x1000, 0x3c); // e_lfanew past the end
    expect(await code(b)).toBe('truncated');
    b.writeUInt32LE(0x80, 0x3c);
    b.write('NE\0\0', 0x80, 'latin1');
    expect(await code(b)).toBe('bad-pe-header');
    b.write('PE\0\0', 0x80, 'latin1');
    b.writeUInt16LE(0xf0, 0x80 + 20); // SizeOfOptionalHeader
    b.writeUInt16LE(0x30b, 0x80 + 24); // not PE32/PE32+
    expect(await code(b)).toBe('bad-pe-header');
    b.writeUInt16LE(0x20b, 0x80 + 24);
    b.writeUInt16LE(0x40, 0x80 + 20); // too short for the data directories
    expect(await code(b)).toBe('bad-pe-header');
  });

  it('the image-digest walk refuses what is not PE or cut short', async () => {
    await expect(
      authenticodeImageDigest(memorySource(Buffer.from('#!ipxe\n')), 'sha256'),
    ).rejects.toMatchObject({
      code: 'bad-pe-header',
    });
  });

  it('a failing source is an io error', async () => {
    const src = { size: 4096, read: () => Promise.reject(new Error('EIO')) };
    await expect(inspectPe(src)).rejects.toMatchObject({ code: 'io' });
  });
});

describe.skipIf(!grub || !shim)('damaged signed files', () => {
  const g = grub ?? Buffer.alloc(0);
  const s = shim ?? Buffer.alloc(0);

  it('cut short inside the certificate table: certificate-table-outside-file, never "unsigned"', async () => {
    const { table, tableSize } = layout(g);
    expect(table + tableSize).toBe(g.length); // the table is the file's tail: a short download loses it
    for (const cut of [1, 8, 700, tableSize - 1, tableSize]) {
      expect(await code(g.subarray(0, g.length - cut))).toBe('certificate-table-outside-file');
    }
  });

  it('a certificate table pointing outside the file: certificate-table-outside-file', async () => {
    const b = Buffer.from(g);
    const { dir } = layout(b);
    b.writeUInt32LE(b.length + 16, dir);
    expect(await code(b)).toBe('certificate-table-outside-file');
    b.writeUInt32LE(0xfffffff0, dir); // offset + size past 2^32: no wrap-around
    expect(await code(b)).toBe('certificate-table-outside-file');
  });

  it('an empty certificate directory: unsigned', async () => {
    const b = Buffer.from(g);
    b.writeUInt32LE(0, layout(b).dir + 4);
    expect(await inspect(b)).toMatchObject({ pe: true, signed: false, signers: [], certificateEntries: [] });
  });

  it('broken WIN_CERTIFICATE headers: bad-certificate-entry', async () => {
    const { table, tableSize } = layout(g);
    const edit = (write: (b: Buffer) => void): Promise<PeErrorCode | 'ok'> => {
      const b = Buffer.from(g);
      write(b);
      return code(b);
    };
    expect(await edit((b) => b.writeUInt32LE(8, table))).toBe('bad-certificate-entry');
    expect(await edit((b) => b.writeUInt32LE(tableSize + 8, table))).toBe('bad-certificate-entry');
    expect(await edit((b) => b.writeUInt16LE(0x0300, table + 4))).toBe('bad-certificate-entry');
  });

  it('an entry of another type (X.509) is listed but not a signature', async () => {
    const b = Buffer.from(g);
    const { table } = layout(b);
    b.writeUInt16LE(0x0001, table + 6);
    const info = await inspect(b);
    expect(info.signed).toBe(false);
    expect(info.certificateEntries).toEqual([
      { offset: table, length: b.readUInt32LE(table), revision: 0x200, type: 1 },
    ]);
  });

  it('broken PKCS#7: bad-signature-data', async () => {
    const { table } = layout(g);
    const b = Buffer.from(g);
    b[table + 9] = 0x80; // ContentInfo with an indefinite (BER) length
    expect(await code(b)).toBe('bad-signature-data');
    const c = Buffer.from(g);
    const oid = c.indexOf(Buffer.from('06092a864886f70d010702', 'hex'), table); // signedData
    c[oid + 10] = 0x03; // envelopedData
    expect(await code(c)).toBe('bad-signature-data');
    const d = Buffer.from(g);
    d.writeUInt16LE(0xffff, table + 10); // a length far past the entry
    expect(await code(d)).toBe('bad-signature-data');
  });

  it('fuzz: seeded truncations and bit flips end in a result or a typed PeError', async () => {
    const random = rng(0x5eb007);
    const seen = new Map<string, number>();
    const note = (k: string): void => void seen.set(k, (seen.get(k) ?? 0) + 1);
    for (const file of [g, s]) {
      const { table, tableSize, opt } = layout(file);
      for (let i = 0; i < 150; i++) {
        const cut = i < 50 ? Math.floor(random() * 4096) : Math.floor(random() * file.length);
        note(await code(file.subarray(0, cut)));
      }
      for (let i = 0; i < 600; i++) {
        const b = Buffer.from(file);
        // Flip bits where the reader looks: the headers (up to the data directories) and the certificate table.
        for (let n = 1 + Math.floor(random() * 3); n > 0; n--) {
          const at =
            random() < 0.3
              ? Math.floor(random() * (opt + 160))
              : table + Math.floor(random() * Math.min(tableSize, 4096));
          b[at] = (b[at] as number) ^ (1 << Math.floor(random() * 8));
        }
        note(await code(b));
        // Every 20th case also through the image-digest walk (it reads the whole file, so not all 600).
        if (i % 20 === 0) note(`cover:${await coverCode(b)}`);
      }
    }
    // Both outcomes occur: the fuzz reached the parser's error paths and left some files readable.
    expect(seen.get('ok') ?? 0).toBeGreaterThan(0);
    expect([...seen.keys()].filter((k) => k !== 'ok').length).toBeGreaterThan(2);
  }, 60_000);
});
