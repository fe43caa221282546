/**
 * The one path confinement shared by TFTP and HTTP (app/engines/files/confine.ts): the name rule
 * on hostile names in both request forms, and the on-disk checks against a real temporary tree.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REFUSAL_ANSWER,
  resolveParts,
  splitHttpTarget,
  splitName,
  type Confined,
  type Refusal,
} from '../../app/engines/files/confine.js';

const refusalOf = (r: { ok: boolean; refusal?: Refusal }): Refusal | 'accepted' =>
  r.ok ? 'accepted' : (r.refusal ?? 'accepted');

describe('splitName (TFTP names: literal, `\\` is a separator)', () => {
  it.each<[string, Refusal]>([
    ['.pxe-desk/library.json', 'hidden'],
    ['/.pxe-desk/library.json', 'hidden'],
    ['\\.pxe-desk\\library.json', 'hidden'],
    ['.hidden', 'hidden'],
    ['a/.git/config', 'hidden'],
    ['boot/.cache/x.efi', 'hidden'],
    // Literal in TFTP, but still a dot-name: refused without any decoding.
    ['..%2fetc/passwd', 'hidden'],
    ['foo/../../etc/passwd', 'traversal'],
    ['../../etc/passwd', 'traversal'],
    ['\\..\\x', 'traversal'],
    ['\\\\..\\\\x', 'traversal'],
    ['a/b/..', 'traversal'],
    ['a\0b', 'bad-char'],
    ['a\x1b[31m.bin', 'bad-char'],
    ['a\x7f', 'bad-char'],
    ['C:\\Windows\\win.ini', 'absolute'],
    ['c:/boot.ini', 'absolute'],
    ['', 'empty'],
    ['/', 'empty'],
    ['./', 'empty'],
  ])('refuses %j as %s', (name, refusal) => {
    expect(refusalOf(splitName(name))).toBe(refusal);
  });

  it.each<[string, string[]]>([
    ['pxelinux.0', ['pxelinux.0']],
    ['/pxelinux.0', ['pxelinux.0']],
    ['\\EFI\\BOOT\\bootx64.efi', ['EFI', 'BOOT', 'bootx64.efi']],
    ['./a//b/./c.efi', ['a', 'b', 'c.efi']],
    // RFC 1350 names are literal: no percent decoding, so this is an ordinary (absent) name.
    ['%2e%2e/etc/passwd', ['%2e%2e', 'etc', 'passwd']],
    ['a..b/c.d.efi', ['a..b', 'c.d.efi']],
  ])('accepts %j as %j', (name, parts) => {
    expect(splitName(name)).toEqual({ ok: true, parts });
  });
});

describe('splitHttpTarget (decode once, then the same rule)', () => {
  it.each<[string, Refusal]>([
    ['/.pxe-desk/library.json', 'hidden'],
    ['/%2epxe-desk/library.json', 'hidden'],
    ['/.hidden', 'hidden'],
    ['/a/.git/config', 'hidden'],
    ['/..%2f..%2fetc/passwd', 'traversal'],
    ['/%2e%2e/etc/passwd', 'traversal'],
    ['/foo/../../etc/passwd', 'traversal'],
    ['/\\..\\x', 'traversal'],
    ['/a%5c..%5cb', 'traversal'],
    ['/a%00b', 'bad-char'],
    ['/a%0ab', 'bad-char'],
    ['/%252e%252e/etc/passwd', 'bad-encoding'],
    ['/%zz', 'bad-encoding'],
    ['relative', 'bad-encoding'],
    ['http://host/a', 'bad-encoding'],
    ['/C:/Windows/win.ini', 'absolute'],
    ['/', 'empty'],
    ['/?x=1', 'empty'],
  ])('refuses %j as %s', (target, refusal) => {
    expect(refusalOf(splitHttpTarget(target))).toBe(refusal);
  });

  it('decodes once and drops the query', () => {
    expect(splitHttpTarget('/a/b%20c.iso?x=1')).toEqual({ ok: true, parts: ['a', 'b c.iso'] });
    expect(splitHttpTarget('//EFI\\BOOT/x.efi')).toEqual({ ok: true, parts: ['EFI', 'BOOT', 'x.efi'] });
  });

  it('gives the same verdict as TFTP once decoded', () => {
    for (const name of ['.pxe-desk/library.json', 'a/.git/config', '../x', 'a\x01', 'ok/file.efi']) {
      const http = splitHttpTarget(`/${encodeURIComponent(name).replace(/%2F/g, '/')}`);
      expect(refusalOf(http), name).toBe(refusalOf(splitName(name)));
    }
  });
});

describe('REFUSAL_ANSWER', () => {
  it('answers name refusals without touching disk as TFTP 1/2 and HTTP 400/404', () => {
    expect(REFUSAL_ANSWER.hidden).toEqual({ tftp: 1, http: 404 });
    expect(REFUSAL_ANSWER.traversal).toEqual({ tftp: 2, http: 400 });
    expect(REFUSAL_ANSWER['bad-char']).toEqual({ tftp: 2, http: 400 });
    expect(REFUSAL_ANSWER.outside).toEqual({ tftp: 2, http: 403 });
    expect(REFUSAL_ANSWER['not-found']).toEqual({ tftp: 1, http: 404 });
  });
});

describe('resolveParts on disk', () => {
  let dir: string;
  let root: string;
  let fallback: string;
  const parts = (name: string): readonly string[] => {
    const s = splitName(name);
    if (!s.ok) throw new Error(`unexpected refusal of ${name}`);
    return s.parts;
  };
  const resolve = (name: string, caseInsensitive = false): Promise<Confined> =>
    resolveParts(parts(name), [root, fallback, join(dir, 'missing')], { caseInsensitive });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'confine-'));
    root = join(dir, 'root');
    fallback = join(dir, 'fallback');
    mkdirSync(join(root, 'EFI', 'BOOT'), { recursive: true });
    mkdirSync(join(root, '.pxe-desk'));
    mkdirSync(fallback);
    writeFileSync(join(root, 'EFI', 'BOOT', 'bootx64.efi'), 'efi');
    writeFileSync(join(root, '.pxe-desk', 'library.json'), '{"perMac":{}}');
    writeFileSync(join(root, '.hidden'), 'hidden');
    writeFileSync(join(fallback, 'ipxe.efi'), 'ipxe');
    writeFileSync(join(fallback, 'shared.bin'), 'from fallback');
    writeFileSync(join(dir, 'secret.txt'), 'TOPSECRET');
    writeFileSync(join(root, 'locked.bin'), 'x');
    chmodSync(join(root, 'locked.bin'), 0o000);
    symlinkSync(join(dir, 'secret.txt'), join(root, 'escape.txt'));
    symlinkSync(join(dir, 'secret.txt'), join(root, 'shared.bin')); // escapes: must not fall through
    symlinkSync('/etc', join(root, 'etc-link'));
    symlinkSync(join(root, '.pxe-desk', 'library.json'), join(root, 'meta.json'));
    symlinkSync('.pxe-desk', join(root, 'meta-dir'));
    symlinkSync(join(root, 'EFI', 'BOOT', 'bootx64.efi'), join(root, 'alias.efi'));
    execFileSync('mkfifo', [join(root, 'pipe')]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves a normal file, a fallback file and an in-root symlink', async () => {
    const efi = await resolve('/EFI/BOOT/bootx64.efi');
    expect(efi).toMatchObject({
      ok: true,
      relative: 'EFI/BOOT/bootx64.efi',
      requested: 'EFI/BOOT/bootx64.efi',
    });
    expect(await resolve('ipxe.efi')).toMatchObject({ ok: true, path: join(fallback, 'ipxe.efi') });
    expect(await resolve('alias.efi')).toMatchObject({
      ok: true,
      relative: 'EFI/BOOT/bootx64.efi',
      requested: 'alias.efi',
    });
  });

  it.each<[string, Refusal]>([
    ['escape.txt', 'outside'],
    ['shared.bin', 'outside'],
    ['etc-link/passwd', 'outside'],
    ['meta.json', 'hidden'],
    ['meta-dir/library.json', 'hidden'],
    ['EFI', 'not-file'],
    ['pipe', 'not-file'],
    ['absent.bin', 'not-found'],
  ])('refuses %s as %s', async (name, refusal) => {
    expect(refusalOf(await resolve(name))).toBe(refusal);
  });

  it('refuses a mode-000 file (even when running as root, which could open it)', async () => {
    expect(refusalOf(await resolve('locked.bin'))).toBe('unreadable');
  });

  it('finds a name case-insensitively only when asked', async () => {
    expect(refusalOf(await resolve('\\efi\\boot\\BOOTX64.EFI'))).toBe('not-found');
    expect(await resolve('\\efi\\boot\\BOOTX64.EFI', true)).toMatchObject({
      ok: true,
      relative: 'EFI/BOOT/bootx64.efi',
    });
  });
});
