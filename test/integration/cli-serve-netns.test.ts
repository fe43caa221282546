/**
 * `pxe-desk serve` as a user runs it: the built CLI inside a server namespace (--helper never, default
 * route dev eth0), busybox udhcpc leasing from the client namespace, then a TFTP and an HTTP download
 * from the client. The --json timeline must report what the client did; SIGINT must exit 0 and leave a
 * complete lease file.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createNetLab, waitFor, type NetLab } from '../helpers/netns.js';
import { haveNetns, haveTools } from '../helpers/tools.js';
import type { ClientRecord } from '../../app/shared/session-types.js';
import { cliBin, ensureBuilt, follow, untilStarted } from './cli-run.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const SRV = '10.234.0.1';
let lab: NetLab | undefined;
let dir: string | undefined;

cleanupAfterEach(() => ({ lab, dir }));

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe.skipIf(!haveNetns() || !haveTools('busybox', 'curl'))(
  'pxe-desk serve (built CLI) in namespaces',
  () => {
    beforeAll(() => {
      ensureBuilt();
    }, 120_000);

    it('dhcp mode: udhcpc lease, TFTP + HTTP downloads appear in the --json timeline; SIGINT exits 0', async () => {
      dir = mkdtempSync(join(tmpdir(), 'pxd-cli-'));
      const root = join(dir, 'root');
      execFileSync('mkdir', ['-p', root]);
      const kernel = randomBytes(150_000);
      const initrd = randomBytes(300_000);
      writeFileSync(join(root, 'kernel'), kernel);
      writeFileSync(join(root, 'initrd.img'), initrd);
      const leases = join(dir, 'leases.json');

      lab = createNetLab({
        hosts: [{ name: 'srv', address: `${SRV}/24`, defaultRoute: true }, { name: 'cli' }],
      });
      const child: ChildProcess = lab.spawn(
        'srv',
        process.execPath,
        [
          cliBin,
          'serve',
          '--mode',
          'dhcp',
          '--iface',
          'eth0',
          '--root',
          root,
          '--range',
          '10.234.0.100-10.234.0.120',
          '--subnet',
          '255.255.255.0',
          '--router',
          SRV,
          '-d',
          SRV,
          '--save-leases',
          leases,
          '--helper',
          'never',
          '--http-port',
          '8080',
          '--json',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const run = follow(child);
      const { events, exit } = run;
      expect((await untilStarted(run)).state).toBe('running');

      const mac = lab.run('cli', 'cat', ['/sys/class/net/eth0/address']).trim();
      const out = lab.run(
        'cli',
        'sh',
        ['-c', 'busybox udhcpc -i eth0 -f -q -n -t 4 -T 1 -s /bin/true 2>&1'],
        {
          timeoutMs: 20_000,
        },
      );
      const ip = /lease of (10\.234\.0\.\d+) obtained/.exec(out)?.[1];
      expect(ip, out).toBeDefined();
      lab.run('cli', 'ip', ['addr', 'add', `${ip}/24`, 'dev', 'eth0']);

      const tftpOut = join(dir, 'k.bin');
      const httpOut = join(dir, 'i.bin');
      lab.run('cli', 'curl', ['-sS', '--max-time', '15', '-o', tftpOut, `tftp://${SRV}/kernel`], {
        timeoutMs: 20_000,
      });
      lab.run('cli', 'curl', ['-sS', '--max-time', '15', '-o', httpOut, `http://${SRV}:8080/initrd.img`], {
        timeoutMs: 20_000,
      });
      expect(sha(readFileSync(tftpOut))).toBe(sha(kernel));
      expect(sha(readFileSync(httpOut))).toBe(sha(initrd));

      const clientOf = (): ClientRecord | undefined => run.clients().get(mac);
      await waitFor(
        () => (clientOf()?.timeline.filter((t) => t.bytes !== undefined).length ?? 0) >= 2,
        10_000,
        'both transfers done',
      );
      const client = clientOf()!;
      expect(client.ip).toBe(ip);
      expect(client.stage).toBe('booted');
      const done = client.timeline.filter((t) => t.bytes !== undefined);
      expect(done.map((t) => [t.file, t.bytes])).toEqual([
        ['kernel', kernel.length],
        ['initrd.img', initrd.length],
      ]);
      expect(client.timeline.some((t) => /^ACK/.test(t.text))).toBe(true);

      child.kill('SIGINT');
      expect(await exit).toBe(0);
      expect(events.at(-1)?.type === 'state' && events.at(-1)).toMatchObject({ snapshot: { state: 'idle' } });
      const leaseText = readFileSync(leases, 'utf8');
      expect(() => JSON.parse(leaseText) as unknown).not.toThrow();
      expect(leaseText).toContain(mac);
      expect(leaseText).toContain(ip!);
    }, 90_000);
    it('proxy mode: starts ProxyDhcpServer + TFTP + HTTP, never leases to plain DHCP, SIGINT exits 0', async () => {
      dir = mkdtempSync(join(tmpdir(), 'pxd-cli-'));
      lab = createNetLab({
        hosts: [{ name: 'srv', address: `${SRV}/24`, defaultRoute: true }, { name: 'cli' }],
      });
      const child = lab.spawn(
        'srv',
        process.execPath,
        [cliBin, 'serve', '-p', '--iface', 'eth0', '-a', dir, '--helper', 'never', '--json'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const run = follow(child);
      const { exit } = run;
      expect(await untilStarted(run, 'proxy session')).toMatchObject({
        state: 'running',
        transport: 'direct',
        endpoints: { proxy: `${SRV}:67+4011`, tftp: `${SRV}:69` },
      });
      let leased = true;
      try {
        lab.run('cli', 'sh', ['-c', 'busybox udhcpc -i eth0 -f -q -n -t 2 -T 1 -s /bin/true 2>&1'], {
          timeoutMs: 15_000,
        });
      } catch {
        leased = false;
      }
      expect(leased).toBe(false);
      child.kill('SIGINT');
      expect(await exit).toBe(0);
    }, 60_000);

    it('PyPXE --static-config + --dhcp-whitelist: the listed MAC gets its fixed address, another none', async () => {
      dir = mkdtempSync(join(tmpdir(), 'pxd-cli-'));
      lab = createNetLab({
        hosts: [{ name: 'srv', address: `${SRV}/24`, defaultRoute: true }, { name: 'cli' }, { name: 'cli2' }],
      });
      const mac = lab.run('cli', 'cat', ['/sys/class/net/eth0/address']).trim();
      const statics = join(dir, 'static.json');
      // PyPXE's static config format: { "MAC": { "ipaddr": … } }, MAC in upper case with dashes here.
      writeFileSync(
        statics,
        JSON.stringify({ [mac.toUpperCase().replace(/:/g, '-')]: { ipaddr: '10.234.0.77' } }),
      );
      const run = follow(
        lab.spawn(
          'srv',
          process.execPath,
          [
            cliBin,
            'serve',
            '--dhcp',
            '--iface',
            'eth0',
            '-a',
            dir,
            '-b',
            '10.234.0.100',
            '-e',
            '10.234.0.120',
          ].concat(['--static-config', statics, '--dhcp-whitelist', '--helper', 'never', '--json']),
          { stdio: ['ignore', 'pipe', 'pipe'] },
        ),
      );
      expect((await untilStarted(run)).state, run.stderr()).toBe('running');
      const udhcpc = 'busybox udhcpc -i eth0 -f -q -n -t 3 -T 1 -s /bin/true 2>&1';
      const out = lab.run('cli', 'sh', ['-c', udhcpc], { timeoutMs: 20_000 });
      expect(out).toMatch(/lease of 10\.234\.0\.77 obtained/);
      let other = 'leased';
      try {
        other = lab.run('cli2', 'sh', ['-c', udhcpc], { timeoutMs: 20_000 });
      } catch {
        other = 'no lease'; // -n: exits non-zero without one
      }
      expect(other).toBe('no lease');
      await waitFor(() => [...run.clients().values()].some((c) => c.stage === 'refused'), 5000, 'refusal');
      const refused = [...run.clients().values()].find((c) => c.stage === 'refused');
      expect(refused?.mac).not.toBe(mac);
      expect(refused?.diagnosis).toMatch(/not on the allow list/);
      run.child.kill('SIGINT');
      expect(await run.exit).toBe(0);
    }, 60_000);
  },
);
