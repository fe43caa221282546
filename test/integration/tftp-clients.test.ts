/**
 * TftpServer against real third-party clients on loopback high ports (never 69): curl, atftp
 * (windowsize), tftp-hpa; sha256 of every download, hostile names refused.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TftpServer } from '../../app/engines/tftp/index.js';
import type { TransferEvent } from '../../app/shared/events.js';
import { haveTools } from '../helpers/tools.js';

const run = promisify(execFile);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe.skipIf(!haveTools('curl', 'atftp', 'tftp'))('TftpServer with real clients', () => {
  let dir: string;
  let server: TftpServer;
  let port: number;
  let data: Buffer;
  const events: TransferEvent[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tftp-clients-'));
    data = randomBytes(3_000_000);
    writeFileSync(join(dir, 'f.bin'), data);
    writeFileSync(join(dir, 'exact.bin'), data.subarray(0, 1468 * 10));
    server = new TftpServer({ root: dir, address: '127.0.0.1', port: 0, mtu: 1500 });
    server.onEvent((e) => events.push(e));
    await server.start();
    port = server.port() ?? 0;
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('curl downloads at blksize 1468 with the right hash', async () => {
    const out = join(dir, 'o-curl');
    await run('curl', ['-sS', '-o', out, '--tftp-blksize', '1468', `tftp://127.0.0.1:${port}/f.bin`], {
      timeout: 20_000,
    });
    expect(sha(readFileSync(out))).toBe(sha(data));
  });

  it('curl downloads a multiple-of-blksize file (trailing empty block)', async () => {
    const out = join(dir, 'o-exact');
    await run('curl', ['-sS', '-o', out, '--tftp-blksize', '1468', `tftp://127.0.0.1:${port}/exact.bin`], {
      timeout: 20_000,
    });
    expect(sha(readFileSync(out))).toBe(sha(data.subarray(0, 1468 * 10)));
  });

  it('atftp downloads with blksize 1468 + windowsize 16', async () => {
    const out = join(dir, 'o-atftp');
    await run(
      'atftp',
      [
        '--get',
        '-r',
        'f.bin',
        '-l',
        out,
        '--option',
        'blksize 1468',
        '--option',
        'windowsize 16',
        '127.0.0.1',
        String(port),
      ],
      { timeout: 20_000 },
    );
    expect(sha(readFileSync(out))).toBe(sha(data));
  });

  it('tftp-hpa downloads in binary lockstep at 512', async () => {
    const out = join(dir, 'o-hpa');
    await run('tftp', ['-m', 'binary', '127.0.0.1', String(port), '-c', 'get', 'f.bin', out], {
      timeout: 30_000,
    });
    expect(sha(readFileSync(out))).toBe(sha(data));
    const done = events.filter((e) => e.type === 'done' && e.file === 'f.bin');
    expect(done.length).toBeGreaterThanOrEqual(3);
    expect(done.every((e) => e.bytes === data.length && e.size === data.length)).toBe(true);
  });

  it('refuses traversal and leaves no transfers behind', async () => {
    const out = join(dir, 'o-bad');
    await expect(
      run('curl', ['-sS', '-o', out, `tftp://127.0.0.1:${port}/..%2f..%2fetc/passwd`], { timeout: 15_000 }),
    ).rejects.toThrow();
    expect(existsSync(out) ? readFileSync(out).length : 0).toBe(0);
    expect(readdirSync(dir).includes('passwd')).toBe(false);
    await new Promise((r) => setTimeout(r, 200));
    expect(server.activeTransfers()).toBe(0);
  });
});
