/** The npm `tftp` package's client (independent implementation, windowsize) against our server. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TftpServer } from '../../app/engines/tftp/index.js';

interface NpmTftpClient {
  get(remote: string, local: string, callback: (error?: Error | null) => void): void;
}
interface NpmTftp {
  createClient(options: Record<string, unknown>): NpmTftpClient;
}
const tftp = createRequire(import.meta.url)('tftp') as NpmTftp;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('npm tftp client', () => {
  let dir: string;
  let server: TftpServer;
  const data = randomBytes(2_500_000);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tftp-npm-'));
    writeFileSync(join(dir, 'f.bin'), data);
    server = new TftpServer({ root: dir, address: '127.0.0.1', port: 0, mtu: 1500 });
    await server.start();
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const windowSize of [1, 4, 16]) {
    it(`downloads with windowSize ${windowSize}`, async () => {
      const out = join(dir, `o-${windowSize}`);
      const client = tftp.createClient({
        host: '127.0.0.1',
        port: server.port(),
        blockSize: 1468,
        windowSize,
        timeout: 1000,
      });
      await new Promise<void>((resolve, reject) =>
        client.get('f.bin', out, (error) => (error ? reject(error) : resolve())),
      );
      expect(sha(readFileSync(out))).toBe(sha(data));
    });
  }
});
