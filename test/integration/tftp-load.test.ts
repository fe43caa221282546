/**
 * T15 rollover (40 MB at blksize 512 with curl) and T23 load: 200 parallel downloads of a 4 MiB file,
 * all hashes right, and afterwards no transfers, sockets or file descriptors left behind.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TftpServer } from '../../app/engines/tftp/index.js';
import { RawTftpClient, block, opcode } from '../helpers/tftp-raw-client.js';
import { haveTools } from '../helpers/tools.js';

const run = promisify(execFile);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const fdCount = (): number => readdirSync('/proc/self/fd').length;

/** Lockstep download with blksize 1468 over the raw client. */
async function download(port: number, name: string): Promise<Buffer> {
  const client = new RawTftpClient();
  await client.open();
  const chunks: Buffer[] = [];
  try {
    client.rrq(port, name, 'octet', { blksize: '1468' });
    const oack = await client.next(5000);
    if (!oack || opcode(oack) !== 6) throw new Error('no OACK');
    const tid = oack.from.port;
    client.ack(tid, 0);
    let expected = 1;
    for (;;) {
      const p = await client.next(5000);
      if (!p) throw new Error(`timeout waiting for block ${expected}`);
      if (opcode(p) !== 3) throw new Error(`unexpected opcode ${opcode(p)}`);
      if (block(p) === (expected & 0xffff)) {
        chunks.push(p.data.subarray(4));
        client.ack(tid, block(p));
        expected++;
        if (p.data.length - 4 < 1468) break;
      } else client.ack(tid, (expected - 1) & 0xffff);
    }
    await new Promise((r) => setTimeout(r, 20));
  } finally {
    client.close();
  }
  return Buffer.concat(chunks);
}

describe.skipIf(!haveTools('curl'))('TftpServer rollover and load', () => {
  let dir: string;
  let server: TftpServer;
  let port: number;
  let big: Buffer;
  let four: Buffer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tftp-load-'));
    big = randomBytes(40_000_000);
    four = randomBytes(4 * 1024 * 1024);
    writeFileSync(join(dir, 'big.bin'), big);
    writeFileSync(join(dir, 'four.bin'), four);
    server = new TftpServer({ root: dir, address: '127.0.0.1', port: 0, retransmitMs: 300 });
    await server.start();
    port = server.port() ?? 0;
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('T15: 40 MB at blksize 512 wraps block numbers to 0 and arrives intact', async () => {
    const out = join(dir, 'o-big');
    await run('curl', ['-sS', '-o', out, '--tftp-blksize', '512', `tftp://127.0.0.1:${port}/big.bin`], {
      timeout: 90_000,
    });
    expect(sha(readFileSync(out))).toBe(sha(big));
  }, 100_000);

  it('T23: 200 parallel downloads of 4 MiB, correct hashes, nothing leaked', async () => {
    const before = fdCount();
    const results = await Promise.all(Array.from({ length: 200 }, () => download(port, 'four.bin')));
    const want = sha(four);
    expect(results.filter((r) => sha(r) === want).length).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(server.activeTransfers()).toBe(0);
    expect(fdCount()).toBeLessThanOrEqual(before);
  }, 100_000);
});
