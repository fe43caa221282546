/**
 * T15 rollover (40 MB at blksize 512 with curl, and with atftp at windowsize 8) and T23 load: 200 parallel downloads of a 4 MiB file,
 * all hashes right, and afterwards no transfers, sockets or file descriptors left behind. Twice: transfers
 * in this process, and in the native data path (pxe-desk-tftp, built from native-tftp/ for this run).
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TftpServer } from '../../app/engines/tftp/index.js';
import { downloadLockstep, until } from '../helpers/tftp-raw-client.js';
import { haveTools } from '../helpers/tools.js';
import { buildNativeTftp } from './helper-build.js';

const run = promisify(execFile);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe.skipIf(!haveTools('curl', 'atftp')).each([
  { path: 'in-process', native: false },
  { path: 'native data path', native: true },
])('TftpServer rollover and load ($path)', ({ native }) => {
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
    // workers: 0 — the in-process engine's load test (tftp-workers covers the threads).
    server = new TftpServer({
      root: dir,
      address: '127.0.0.1',
      port: 0,
      retransmitMs: 300,
      ...(native ? { nativeDataPath: buildNativeTftp(dir) } : { workers: 0 }),
    });
    await server.start();
    port = server.port() ?? 0;
    expect(server.nativeDataPathActive()).toBe(native);
  }, 60_000);
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  // This process's descriptors, plus the native data path's (its sockets and files live there).
  const fdDirs = (): string[] => {
    const pid = server.nativeDataPathPid();
    return ['/proc/self/fd', ...(pid ? [`/proc/${pid}/fd`] : [])];
  };
  const fdCount = (): number => fdDirs().reduce((n, d) => n + readdirSync(d).length, 0);
  /** Descriptors open on `path` (the server shares one per file, T23). */
  const fdsOn = (path: string): number =>
    fdDirs().reduce(
      (n, d) =>
        n +
        readdirSync(d).filter((fd) => {
          try {
            return readlinkSync(`${d}/${fd}`) === path;
          } catch {
            return false;
          }
        }).length,
      0,
    );

  it('T15: 40 MB at blksize 512 wraps block numbers to 0 and arrives intact', async () => {
    const out = join(dir, 'o-big');
    await run('curl', ['-sS', '-o', out, '--tftp-blksize', '512', `tftp://127.0.0.1:${port}/big.bin`], {
      timeout: 90_000,
    });
    expect(sha(readFileSync(out))).toBe(sha(big));
  }, 100_000);

  it('T15: 40 MB at blksize 512 with windowsize 8 (atftp) wraps inside windows and arrives intact', async () => {
    const out = join(dir, 'o-big-ws');
    await run(
      'atftp',
      [
        '--get',
        '-r',
        'big.bin',
        '-l',
        out,
        '--option',
        'blksize 512',
        '--option',
        'windowsize 8',
        '127.0.0.1',
        String(port),
      ],
      { timeout: 120_000 },
    );
    expect(sha(readFileSync(out))).toBe(sha(big));
  }, 130_000);

  it('T23: 200 parallel downloads of 4 MiB, correct hashes, one shared file handle, nothing leaked', async () => {
    const before = fdCount();
    const path = realpathSync(join(dir, 'four.bin'));
    let maxOpen = 0;
    let maxFds = 0;
    let maxActive = 0;
    const sampler = setInterval(() => {
      maxOpen = Math.max(maxOpen, server.openFiles());
      maxFds = Math.max(maxFds, fdsOn(path));
      maxActive = Math.max(maxActive, server.activeTransfers());
    }, 50);
    let results: Buffer[];
    try {
      results = await Promise.all(Array.from({ length: 200 }, () => downloadLockstep(port, 'four.bin')));
    } finally {
      clearInterval(sampler);
    }
    const want = sha(four);
    expect(results.filter((r) => sha(r) === want).length).toBe(200);
    expect(maxActive).toBeGreaterThan(100); // they really ran in parallel
    expect(maxOpen).toBe(1); // the file is opened once and shared (dnsmasq-style)
    expect(maxFds).toBe(1);
    // Released asynchronously (sockets close, the native data path reports its files after each end).
    await until(
      () =>
        server.activeTransfers() === 0 &&
        server.openFiles() === 0 &&
        fdsOn(path) === 0 &&
        fdCount() <= before,
    );
    expect(server.activeTransfers()).toBe(0);
    expect(server.openFiles()).toBe(0);
    expect(fdsOn(path)).toBe(0);
    expect(fdCount()).toBeLessThanOrEqual(before);
  }, 240_000);
});
