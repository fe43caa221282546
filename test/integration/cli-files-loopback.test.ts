/**
 * The README run command shape: `pxe-desk serve --mode files --address 127.0.0.1 ...` on loopback
 * (ephemeral ports so it never collides), TFTP + HTTP downloads with real clients, the generated
 * iPXE menu, and a clean SIGINT exit.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/netns.js';
import { haveTools } from '../helpers/tools.js';
import { cliBin, ensureBuilt, follow, untilStarted } from './cli-run.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
let dir = '';

// Users run the built CLI: build once for every test in this file.
beforeAll(() => {
  ensureBuilt();
}, 120_000);

/** `pxe-desk serve` on loopback with ephemeral ports (--json); resolves once it runs. */
async function startFiles(root: string, extra: string[]) {
  const run = follow(
    spawn(
      process.execPath,
      [
        cliBin,
        'serve',
        '--address',
        '127.0.0.1',
        '--tftp-port',
        '0',
        '--http-port',
        '0',
        '--root',
        root,
      ].concat(['--json', ...extra]),
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  const snap = await untilStarted(run);
  expect(snap.state, run.stderr()).toBe('running');
  return { ...run, endpoints: snap.endpoints! };
}

describe.skipIf(!haveTools('curl'))('pxe-desk serve --mode files on loopback', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pxd-files-'));
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves TFTP + HTTP + boot.ipxe and exits 0 on SIGINT', async () => {
    const payload = randomBytes(200_000);
    writeFileSync(join(dir, 'payload.bin'), payload);
    const { child, exit, events, endpoints: eps } = await startFiles(dir, ['--mode', 'files']);
    try {
      const tftpPort = eps.tftp!.split(':')[1]!;
      expect(Number(tftpPort)).toBeGreaterThan(0);
      const http = eps.http!;
      const t = execFileSync('curl', ['-sS', '--max-time', '10', `tftp://127.0.0.1:${tftpPort}/payload.bin`]);
      expect(sha(t)).toBe(sha(payload));
      const h = execFileSync('curl', ['-sS', '--max-time', '10', `${http}payload.bin`]);
      expect(sha(h)).toBe(sha(payload));
      const script = execFileSync('curl', [
        '-sS',
        '--max-time',
        '10',
        `${http}boot.ipxe?mac=52:54:00:00:00:07&arch=bios`,
      ]).toString();
      expect(script.startsWith('#!ipxe')).toBe(true);
      await waitFor(
        () =>
          events.some(
            (e) =>
              e.type === 'client' &&
              e.client.timeline.filter((x) => x.file === 'payload.bin' && x.bytes === payload.length)
                .length >= 2,
          ),
        5000,
        'both transfers in the timeline',
      );
    } finally {
      child.kill('SIGINT');
    }
    expect(await exit).toBe(0);
    expect(readFileSync(join(dir, 'payload.bin')).length).toBe(payload.length);
  }, 60_000);
});

describe.skipIf(!haveTools('curl'))('pxe-desk serve: the native TFTP data path and HTTP body path', () => {
  // The two native data paths, each checked the same way: the built binary runs by default as the CLI's
  // child (and ends with it), `off` keeps the work in Node, and the bytes are right either way.
  const nativePaths = [
    {
      engine: 'tftp',
      flag: '--tftp-native',
      binary: 'pxe-desk-tftp',
      message: 'transfers run in the native data path',
      fetch: (endpoints: Record<string, string>, file: string): Buffer => {
        const port = endpoints['tftp']!.split(':')[1]!;
        return execFileSync('curl', ['-sS', '--max-time', '10', `tftp://127.0.0.1:${port}/${file}`], {
          maxBuffer: 8 << 20,
        });
      },
    },
    {
      engine: 'http',
      flag: '--http-native',
      binary: 'pxe-desk-http',
      message: 'file bodies are sent by the native body path',
      fetch: (endpoints: Record<string, string>, file: string, range?: string): Buffer =>
        execFileSync(
          'curl',
          ['-sS', '--max-time', '10', ...(range ? ['-r', range] : []), `${endpoints['http']}${file}`],
          { maxBuffer: 8 << 20 },
        ),
    },
  ] as const;

  it.each(nativePaths)(
    'runs $engine in the built $binary by default; $flag off keeps it in Node',
    async ({ engine, flag, binary, message, fetch }) => {
      const root = mkdtempSync(join(tmpdir(), `pxd-native-${engine}-`));
      const payload = randomBytes(3_000_000);
      writeFileSync(join(root, 'nbp.bin'), payload);
      try {
        for (const [extra, native] of [
          [[], true],
          [[flag, 'off'], false],
        ] as const) {
          const { child, exit, logs, endpoints } = await startFiles(root, ['--verbose', engine, ...extra]);
          let nativePid = 0;
          try {
            expect(sha(fetch(endpoints as Record<string, string>, 'nbp.bin'))).toBe(sha(payload));
            if (engine === 'http') {
              const range = fetch(endpoints as Record<string, string>, 'nbp.bin', '100000-1199999');
              expect(range.equals(payload.subarray(100_000, 1_200_000))).toBe(true);
            }
            const line = logs().find((r) => r.message === message);
            expect(Boolean(line), JSON.stringify(logs().map((r) => r.message))).toBe(native);
            if (native) {
              // The binary the build placed beside the helper (CI builds it before this tier).
              expect(String(line?.fields?.['binary'])).toMatch(
                new RegExp(`native-helper/bin/linux-\\w+/${binary}$`),
              );
              // It runs as the CLI's child, and ends with it.
              const kids = spawnSync('ps', ['-o', 'pid=,comm=', '--ppid', String(child.pid)], {
                encoding: 'utf8',
              });
              const kid = kids.stdout.split('\n').find((l) => l.trim().endsWith(binary));
              expect(kid, kids.stdout).toBeDefined();
              nativePid = Number(kid!.trim().split(/\s+/)[0]);
            }
          } finally {
            child.kill('SIGINT');
          }
          expect(await exit).toBe(0);
          if (nativePid) expect(existsSync(`/proc/${nativePid}`)).toBe(false);
        }
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
    60_000,
  );

  it.each(nativePaths)(
    '$flag naming a missing file → exit 2 with what to give instead',
    ({ flag, binary }) => {
      const r = spawnSync(
        process.execPath,
        [cliBin, 'serve', '--address', '127.0.0.1', '--tftp-port', '0', '--http-port', '0'].concat([
          '--root',
          tmpdir(),
          flag,
          `/nonexistent/${binary}`,
        ]),
        { encoding: 'utf8' },
      );
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(
        `${flag} /nonexistent/${binary}: no such file (give the ${binary} binary, or off)`,
      );
    },
  );
});

describe('pxe-desk serve refusals', () => {
  it('a TFTP port already in use → exit 1 with a port-in-use fix-it message, nothing left running', async () => {
    const { createSocket } = await import('node:dgram');
    const blocker = createSocket('udp4');
    await new Promise<void>((r) => blocker.bind(0, '127.0.0.1', () => r()));
    const port = blocker.address().port;
    try {
      const run = spawn(
        process.execPath,
        [
          cliBin,
          'serve',
          '--address',
          '127.0.0.1',
          '--tftp-port',
          String(port),
          '--http-port',
          '0',
          '--root',
          tmpdir(),
          '--json',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      run.stdout.on('data', (d: Buffer) => (out += d.toString()));
      run.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((r) => run.on('exit', (c) => r(c)));
      expect(code).toBe(1);
      expect(out).toContain('"code":"port-in-use"');
      expect(err).toMatch(/choose another port/);
    } finally {
      blocker.close();
    }
  }, 30_000);

  it('proxy mode without --iface → exit 1, refuses to pick a NIC', () => {
    let status = 0;
    let stdout = '';
    try {
      execFileSync(process.execPath, [cliBin, 'serve', '--mode', 'proxy', '--root', tmpdir()], {
        encoding: 'utf8',
      });
    } catch (error) {
      const e = error as { status: number; stdout: string };
      status = e.status;
      stdout = e.stdout;
    }
    expect(status).toBe(1);
    expect(stdout).toMatch(/never picks one itself/);
  });

  it('unknown option → exit 2', () => {
    let status = 0;
    try {
      execFileSync(process.execPath, [cliBin, 'serve', '--nope'], {
        stdio: 'ignore',
      });
    } catch (error) {
      status = (error as { status: number }).status;
    }
    expect(status).toBe(2);
  });
});

describe.skipIf(!haveTools('curl'))('pxe-desk serve: per-service logs and SIGHUP', () => {
  let root = '';
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'pxd-logs-'));
    writeFileSync(join(root, 'hello.txt'), 'hello');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const poke = (eps: Readonly<Record<string, string>>): void => {
    const tftpPort = eps.tftp!.split(':')[1]!;
    // A missing TFTP file (refusal: info) and a hostile HTTP path (refusal: debug).
    try {
      execFileSync('curl', ['-sS', '--max-time', '5', `tftp://127.0.0.1:${tftpPort}/missing.bin`], {
        stdio: 'ignore',
      });
    } catch {
      /* expected: file not found */
    }
    execFileSync('curl', [
      '-sS',
      '--max-time',
      '5',
      '--path-as-is',
      '-o',
      '/dev/null',
      `${eps.http}../../etc/passwd`,
    ]);
  };

  it('--verbose tftp --debug http: tftp info + http debug, session quiet; no flags: info everywhere', async () => {
    const a = await startFiles(root, ['--verbose', 'tftp', '--debug', 'http']);
    try {
      poke(a.endpoints);
      await waitFor(
        () => a.logs().some((r) => r.source === 'http' && r.level === 'debug'),
        5000,
        'http debug record',
      );
      await waitFor(() => a.logs().some((r) => r.source === 'tftp'), 5000, 'tftp record');
    } finally {
      a.child.kill('SIGINT');
    }
    expect(await a.exit).toBe(0);
    expect(a.logs().some((r) => r.source === 'tftp' && r.level === 'info')).toBe(true);
    expect(a.logs().filter((r) => r.source === 'session' && r.level === 'info')).toEqual([]);

    const b = await startFiles(root, []);
    try {
      poke(b.endpoints);
      await waitFor(() => b.logs().some((r) => r.source === 'tftp'), 5000, 'tftp record');
    } finally {
      b.child.kill('SIGINT');
    }
    expect(await b.exit).toBe(0);
    expect(b.logs().some((r) => r.source === 'session' && r.message === 'session running')).toBe(true);
    expect(b.logs().filter((r) => r.level === 'debug')).toEqual([]);
  }, 60_000);

  it('SIGHUP rescans the folder (a kernel added meanwhile is counted) and keeps serving; SIGTERM exits 0', async () => {
    const s = await startFiles(root, []);
    try {
      // A bzImage header ("HdrS" at 0x202, Linux boot protocol) and an initrd next to it.
      const kernel = Buffer.alloc(8192);
      kernel.write('HdrS', 0x202, 'latin1');
      execFileSync('mkdir', ['-p', join(root, 'tiny')]);
      writeFileSync(join(root, 'tiny', 'vmlinuz'), kernel);
      writeFileSync(join(root, 'tiny', 'initrd.img'), Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]));
      s.child.kill('SIGHUP');
      await waitFor(
        () => s.events.some((e) => e.type === 'warning' && /SIGHUP: rescanned/.test(e.message)),
        10_000,
        'rescan reported',
      );
      const msg = s.events.find((e) => e.type === 'warning' && /SIGHUP/.test(e.message));
      expect(msg?.type === 'warning' && msg.message).toMatch(/\(([1-9]\d*) boot entries\)/);
      const h = execFileSync('curl', ['-sS', '--max-time', '5', `${s.endpoints.http}hello.txt`]).toString();
      expect(h).toBe('hello');
    } finally {
      s.child.kill('SIGTERM'); // systemd's stop
    }
    expect(await s.exit).toBe(0);
  }, 60_000);
});

describe.skipIf(!haveTools('curl', 'script'))('pxe-desk serve on a terminal (live view, Ctrl-C)', () => {
  it('draws clients with stage, file and progress live; Ctrl-C on the TTY stops it with exit 0', async () => {
    const root = mkdtempSync(join(tmpdir(), 'pxd-tty-'));
    const payload = randomBytes(300_000);
    writeFileSync(join(root, 'vmlinuz-test'), payload);
    // util-linux `script` gives the CLI a real pseudo-terminal; its stdin is the keyboard. `script` runs
    // the command through $SHELL -c; dash (Debian's /bin/sh, CI's shell) does not exec a lone command, so
    // it would sit in the pty's foreground group, die of the Ctrl-C itself and make `script -e` report
    // 130 whatever the CLI returned. `exec` leaves the CLI alone in that group, under any shell.
    const cmd = ['exec']
      .concat([process.execPath, cliBin, 'serve', '--address', '127.0.0.1'])
      .concat(['--tftp-port', '0', '--http-port', '0', '--root', root])
      .map((a, i) => (i === 0 ? a : `'${a}'`))
      .join(' ');
    const child = spawn('script', ['-q', '-e', '-c', cmd, '/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, SHELL: '/bin/sh', TERM: 'xterm', COLUMNS: '120', LINES: '40' },
    });
    let screen = '';
    child.stdout.on('data', (d: Buffer) => (screen += d.toString()));
    const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      // The header of a frame names the bound endpoints.
      await waitFor(
        () => /tftp 127\.0\.0\.1:\d+/.test(screen),
        15_000,
        `live header (got ${JSON.stringify(screen)})`,
      );
      expect(screen).toContain('\x1b[H\x1b[2J'); // redrawn frames, not log lines
      expect(screen).toMatch(/PXE Desk {2}files mode {2}running/);
      expect(screen).toMatch(/no clients yet/);
      const port = /tftp 127\.0\.0\.1:(\d+)/.exec(screen)![1]!;
      const got = execFileSync('curl', ['-sS', '--max-time', '10', `tftp://127.0.0.1:${port}/vmlinuz-test`]);
      expect(sha(got)).toBe(sha(payload));
      // The client row: stage booted, the file and a full progress bar with its size.
      await waitFor(
        () => /ip:127\.0\.0\.1\s+127\.0\.0\.1\s+booted\s+vmlinuz-test\s+\[#{20}\] 300k\/300k/.test(screen),
        10_000,
        `client row (got ${JSON.stringify(screen.slice(-600))})`,
      );
      child.stdin.write('\x03'); // Ctrl-C
      expect(await exit).toBe(0);
    } finally {
      child.kill('SIGKILL');
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('pxe-desk serve: a signal while the session starts', () => {
  // The state lines come out while start() still runs; a supervisor (or Ctrl-C) may signal at once. The
  // CLI must stop in order and exit 0, not die of the signal (exit code null) with the session half up.
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    it(`${signal} at the first line: orderly stop, exit 0`, async () => {
      const root = mkdtempSync(join(tmpdir(), 'pxd-early-'));
      try {
        const child = spawn(
          process.execPath,
          [
            cliBin,
            'serve',
            '--address',
            '127.0.0.1',
            '--tftp-port',
            '0',
            '--http-port',
            '0',
            '--root',
            root,
            '--json',
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.stdout.once('data', () => child.kill(signal));
        const exit = await new Promise<{ code: number | null; by: string | null }>((r) =>
          child.on('exit', (code, by) => r({ code, by })),
        );
        expect(exit, stderr).toEqual({ code: 0, by: null });
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }, 30_000);

  it('SIGUSR1 and SIGHUP at the running line: report written, folder rescanned, still serving', async () => {
    // Without listeners yet, SIGUSR1 would start Node's inspector (no report) and SIGHUP end the process.
    const root = mkdtempSync(join(tmpdir(), 'pxd-early-usr1-'));
    const report = join(root, '..', `${root.split('/').pop()!}.html`);
    try {
      const run = follow(
        spawn(
          process.execPath,
          [cliBin, 'serve', '--address', '127.0.0.1', '--tftp-port', '0', '--http-port', '0'].concat([
            '--root',
            root,
            '--json',
            '--report',
            report,
          ]),
          { stdio: ['ignore', 'pipe', 'pipe'] },
        ),
      );
      run.child.stdout!.on('data', function once(d: Buffer) {
        if (!d.toString().includes('"state":"running"')) return;
        run.child.stdout!.off('data', once);
        run.child.kill('SIGUSR1');
        run.child.kill('SIGHUP');
      });
      await waitFor(() => existsSync(report), 10_000, `SIGUSR1 report (stderr: ${run.stderr()})`);
      await waitFor(
        () => run.events.some((e) => e.type === 'warning' && /SIGHUP: rescanned/.test(e.message)),
        10_000,
        'SIGHUP rescan',
      );
      expect(run.child.exitCode).toBeNull();
      run.child.kill('SIGINT');
      expect(await run.exit).toBe(0);
    } finally {
      rmSync(root, { recursive: true, force: true });
      rmSync(report, { force: true });
    }
  }, 30_000);
});

describe('pxe-desk serve --syslog HOST --syslog-port PORT', () => {
  it('sends RFC 3164 lines (facility daemon) to a remote collector, filtered like the terminal', async () => {
    const { createSocket } = await import('node:dgram');
    const collector = createSocket('udp4');
    const lines: string[] = [];
    collector.on('message', (m) => lines.push(m.toString()));
    await new Promise<void>((r) => collector.bind(0, '127.0.0.1', () => r()));
    const root = mkdtempSync(join(tmpdir(), 'pxd-syslog-'));
    try {
      const port = String(collector.address().port);
      const s = await startFiles(root, [
        '--syslog',
        '127.0.0.1',
        '--syslog-port',
        port,
        '--verbose',
        'session',
      ]);
      s.child.kill('SIGINT');
      expect(await s.exit).toBe(0);
      await waitFor(() => lines.some((l) => l.includes('session running')), 5000, 'syslog line');
      const line = lines.find((l) => l.includes('session running'))!;
      // <30> = daemon (3) * 8 + info (6); then "Mmm dd hh:mm:ss host tag[pid]: source: message".
      expect(line).toMatch(
        /^<30>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d pxe-desk pxe-desk\[\d+\]: session: session running$/,
      );
      // --verbose session: the HTTP engine's info line stays off syslog too.
      expect(lines.some((l) => / http: /.test(l))).toBe(false);
    } finally {
      collector.close();
      rmSync(root, { recursive: true, force: true });
    }
  }, 30_000);
});
