/**
 * One confinement for both file engines (app/engines/files/confine.ts): the TFTP engine, asked by
 * real clients (tftp-hpa, atftp, curl) and by a raw client that reads the ERROR code, and the HTTP
 * engine, asked by curl, serve the same folder on loopback high ports. Hidden names — the library's
 * own `.pxe-desk/library.json` (per-MAC boot entries), dot-files, dot-directories and a symlink into
 * `.pxe-desk/` — are refused by both, and an ordinary file is served by both.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpBootServer } from '../../app/engines/http/index.js';
import { TftpServer } from '../../app/engines/tftp/index.js';
import { haveTools } from '../helpers/tools.js';
import { RawTftpClient, block, opcode } from '../helpers/tftp-raw-client.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const SECRET = 'PERMAC-SECRET-52:54:00:aa:bb:cc';

/** Runs a client without throwing: its exit status, and everything it printed. */
function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 20_000, encoding: 'buffer' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, out: Buffer.concat([stdout, stderr]).toString('latin1') });
    });
  });
}

const readOut = (path: string): Buffer => (existsSync(path) ? readFileSync(path) : Buffer.alloc(0));

describe.skipIf(!haveTools('curl', 'atftp', 'tftp'))('hidden files: TFTP and HTTP refuse alike', () => {
  let dir: string;
  let root: string;
  let outDir: string;
  let tftp: TftpServer;
  let http: HttpBootServer;
  let tftpPort: number;
  let httpBase: string;
  const data = randomBytes(40_000);

  /** Hidden one way or another; every entry exists on disk and holds SECRET. */
  const hidden = [
    '.pxe-desk/library.json',
    '/.pxe-desk/library.json',
    '\\.pxe-desk\\library.json',
    '.hidden',
    'sub/.git/config',
    'meta.json', // a symlink inside the root that leads into .pxe-desk/
  ];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'confine-engines-'));
    root = join(dir, 'root');
    outDir = join(dir, 'out');
    mkdirSync(join(root, '.pxe-desk'), { recursive: true });
    mkdirSync(join(root, 'sub', '.git'), { recursive: true });
    mkdirSync(outDir);
    writeFileSync(join(root, '.pxe-desk', 'library.json'), `{"perMac":{"${SECRET}":{}}}`);
    writeFileSync(join(root, '.hidden'), SECRET);
    writeFileSync(join(root, 'sub', '.git', 'config'), SECRET);
    symlinkSync(join(root, '.pxe-desk', 'library.json'), join(root, 'meta.json'));
    writeFileSync(join(root, 'sub', 'ok.bin'), data);
    tftp = new TftpServer({ root, address: '127.0.0.1', port: 0, mtu: 1500 });
    await tftp.start();
    tftpPort = tftp.port() ?? 0;
    http = new HttpBootServer({ root, address: '127.0.0.1', port: 0 });
    await http.start();
    httpBase = `http://127.0.0.1:${http.port()}`;
  });
  afterAll(async () => {
    await tftp?.stop();
    await http?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('TFTP ERROR code (raw client)', () => {
    let client: RawTftpClient;
    beforeEach(async () => {
      client = new RawTftpClient();
      await client.open();
    });
    afterEach(() => client.close());

    it.each(hidden)('%s → ERROR 1 (answered as absent)', async (name) => {
      client.rrq(tftpPort, name);
      const e = await client.next();
      expect(e && opcode(e)).toBe(5);
      expect(block(e!)).toBe(1);
      expect(e!.data.toString('latin1')).not.toContain(SECRET);
    });
  });

  it.each(hidden)('tftp-hpa gets nothing for %s', async (name) => {
    const out = join(outDir, `hpa-${sha(Buffer.from(name)).slice(0, 8)}`);
    const r = await run('tftp', ['-m', 'binary', '127.0.0.1', String(tftpPort), '-c', 'get', name, out]);
    expect(r.out).toMatch(/Error code 1/);
    expect(readOut(out).toString('latin1')).not.toContain(SECRET);
    expect(readOut(out).length).toBe(0);
  });

  it.each(hidden)('atftp gets nothing for %s', async (name) => {
    const out = join(outDir, `atftp-${sha(Buffer.from(name)).slice(0, 8)}`);
    const r = await run('atftp', ['--get', '-r', name, '-l', out, '127.0.0.1', String(tftpPort)]);
    expect(r.code).not.toBe(0);
    expect(readOut(out).toString('latin1')).not.toContain(SECRET);
    expect(readOut(out).length).toBe(0);
  });

  it.each(hidden.filter((n) => !n.includes('\\')))('curl over HTTP gets 404 for /%s', async (name) => {
    const path = name.startsWith('/') ? name : `/${name}`;
    const r = await run('curl', ['-s', '-w', '\n%{http_code}', '--path-as-is', `${httpBase}${path}`]);
    expect(r.out.trim().split('\n').pop()).toBe('404');
    expect(r.out).not.toContain(SECRET);
  });

  it('the percent-encoded and backslash forms are refused over HTTP too', async () => {
    for (const path of [
      '/%2epxe-desk/library.json',
      '/%2Epxe-desk%2Flibrary.json',
      '/%5c.hidden',
      '/sub%2f.git/config',
    ]) {
      const r = await run('curl', ['-s', '-w', '\n%{http_code}', '--path-as-is', `${httpBase}${path}`]);
      expect(r.out.trim().split('\n').pop(), path).toBe('404');
      expect(r.out, path).not.toContain(SECRET);
    }
  });

  it('an ordinary file is served by both engines and by every client', async () => {
    const hpa = join(outDir, 'ok-hpa');
    await run('tftp', ['-m', 'binary', '127.0.0.1', String(tftpPort), '-c', 'get', 'sub/ok.bin', hpa]);
    expect(sha(readOut(hpa))).toBe(sha(data));
    const at = join(outDir, 'ok-atftp');
    await run('atftp', ['--get', '-r', '\\sub\\ok.bin', '-l', at, '127.0.0.1', String(tftpPort)]);
    expect(sha(readOut(at))).toBe(sha(data));
    const viaTftpCurl = join(outDir, 'ok-curl-tftp');
    await run('curl', ['-sS', '-o', viaTftpCurl, `tftp://127.0.0.1:${tftpPort}/sub/ok.bin`]);
    expect(sha(readOut(viaTftpCurl))).toBe(sha(data));
    const viaHttp = join(outDir, 'ok-curl-http');
    await run('curl', ['-sS', '-o', viaHttp, `${httpBase}/sub/ok.bin`]);
    expect(sha(readOut(viaHttp))).toBe(sha(data));
  });
});
