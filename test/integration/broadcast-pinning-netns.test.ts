/**
 * "A DHCP/proxyDHCP broadcast leaves only through the chosen NIC", on a server with two NICs, through
 * the built CLI (issue 17, Safety). The server namespace has eth0 (192.0.2.1/24, LAN A, holding the
 * default route, so the kernel sends 255.255.255.255 there) and eth1 (198.51.100.1/24, LAN B); tcpdump
 * runs on both for every case:
 * - `--helper never` and `--helper auto` without a helper binary, choosing eth1: plain sockets cannot be
 *   pinned (node:dgram has no SO_BINDTODEVICE), so the start is refused (exit 1, code
 *   unpinned-broadcast, the fix named) and not one IPv4 packet appears on either NIC;
 * - the same two choosing eth0, the NIC of the broadcast route: they serve, the preflight DISCOVER and
 *   the OFFER to a PXE client on LAN A leave through eth0 and nothing through eth1;
 * - the native helper (built here, run by root, no capabilities needed) choosing eth1: the probe
 *   DISCOVER and the OFFER to a client on LAN B leave through eth1 only, although eth0 holds the route.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetLab, joinSecondLan, type NetLab } from '../helpers/netns.js';
import { haveNetns, haveTools } from '../helpers/tools.js';
import { cliBin, ensureBuilt, follow, untilStarted } from './cli-run.js';
import { buildHelper, pxeDiscoverScript, startCapture } from './helper-build.js';

const A_SRV = '192.0.2.1';
const B_SRV = '198.51.100.1';

let labA: NetLab | undefined;
let labB: NetLab | undefined;
let dir = '';
let root = '';
let helperPath = '';
let client = '';

/** The CLI's environment without an invoking user: the helper, run by root, keeps nothing to drop to. */
function cliEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['SUDO_UID', 'SUDO_GID', 'PKEXEC_UID']) delete env[name];
  return env;
}

function serveArgs(iface: string, helper: string[]): string[] {
  return [
    cliBin,
    'serve',
    '--mode',
    'proxy',
    '--iface',
    iface,
    '--root',
    root,
    '--probe-window',
    '1500',
    ...helper,
    '--json',
  ];
}

/** Captures every IPv4 packet on eth0 and eth1 of the server (but the kernel's own IGMP reports after link-up). */
async function captureBoth(): Promise<{ eth0: () => string; eth1: () => string }> {
  const [eth0, eth1] = await Promise.all([
    startCapture(labA!, 'srv', 'eth0', 'ip and not igmp'),
    startCapture(labA!, 'srv', 'eth1', 'ip and not igmp'),
  ]);
  return { eth0, eth1 };
}

/** tcpdump -n lines of broadcasts the server sent from `address`: its probe DISCOVERs and its OFFERs. */
const probes = (dump: string, address: string): string[] =>
  dump.split('\n').filter((l) => l.includes(` IP ${address}.68 > 255.255.255.255.67:`));
const offers = (dump: string, address: string): string[] =>
  dump.split('\n').filter((l) => l.includes(` IP ${address}.67 > 255.255.255.255.68:`));
const fromServer = (dump: string): string[] =>
  dump.split('\n').filter((l) => l.includes(` IP ${A_SRV}.`) || l.includes(` IP ${B_SRV}.`));

interface Reply {
  type?: string;
  from?: string;
}

function discover(lab: NetLab, host: string): Reply {
  const out = lab.run(host, process.execPath, [client], { timeoutMs: 30_000 });
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as Reply;
}

/** Runs `pxe-desk serve` to its end in the server namespace (a refused start exits by itself). */
function refusedRun(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('ip', ['netns', 'exec', labA!.ns('srv'), process.execPath, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: cliEnv(),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((ok) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      ok({ code, stdout, stderr });
    });
  });
}

const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!haveNetns() || !haveTools('tcpdump', 'go'))('DHCP broadcasts stay on the chosen NIC', () => {
  beforeAll(() => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'pxd-pin-'));
    root = join(dir, 'root');
    mkdirSync(root);
    writeFileSync(join(root, 'undionly.kpxe'), 'not really iPXE, only named in the offer');
    client = join(dir, 'client.mjs');
    writeFileSync(client, pxeDiscoverScript(6000));
    helperPath = buildHelper(dir);
    labA = createNetLab({
      hosts: [
        { name: 'srv', address: `${A_SRV}/24`, defaultRoute: true },
        { name: 'clia', address: '192.0.2.50/24', defaultRoute: true },
      ],
    });
    labB = createNetLab({ hosts: [{ name: 'clib', address: '198.51.100.50/24', defaultRoute: true }] });
    // eth1 of the server joins LAN B's bridge (the veth lives in LAN B's namespaces: removed with it).
    joinSecondLan(labA, 'srv', labB, `${B_SRV}/24`);
    // The premise: the kernel sends a limited broadcast through eth0.
    expect(labA.run('srv', 'ip', ['route', 'get', '255.255.255.255'])).toMatch(/ dev eth0 /);
  }, 180_000);

  afterAll(async () => {
    await labB?.destroy();
    await labA?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const withoutHelper: [string, string[]][] = [
    ['--helper never', ['--helper', 'never']],
    [
      '--helper auto without a helper binary',
      ['--helper', 'auto', '--helper-path', '/nonexistent/pxe-desk-helper'],
    ],
  ];

  for (const [name, helper] of withoutHelper) {
    it(`${name}, eth1 chosen (not the broadcast route): refused with the fix, nothing sent on either NIC`, async () => {
      const dump = await captureBoth();
      const r = await refusedRun(serveArgs('eth1', helper));
      await settle(500);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stdout).toContain('"code":"unpinned-broadcast"');
      expect(r.stderr).toMatch(/would leave through eth0, not eth1/);
      expect(r.stderr).toMatch(/node scripts\/build\.mjs helper/);
      expect(r.stderr).toMatch(/choose eth0, the NIC that holds the broadcast route/);
      if (helper.includes('auto')) expect(r.stderr).toMatch(/not found at \/nonexistent\/pxe-desk-helper/);
      expect(dump.eth0().trim(), 'packets on eth0').toBe('');
      expect(dump.eth1().trim(), 'packets on eth1').toBe('');
    }, 60_000);

    it(`${name}, eth0 chosen (the broadcast route): serves; its broadcasts leave through eth0 only`, async () => {
      const dump = await captureBoth();
      const run = follow(labA!.spawn('srv', process.execPath, serveArgs('eth0', helper), { env: cliEnv() }));
      try {
        const started = await untilStarted(run, 'serve on eth0');
        expect(started.state, run.stderr()).toBe('running');
        expect(started.transport).toBe('direct');
        const reply = discover(labA!, 'clia');
        expect(reply).toMatchObject({ type: 'reply', from: `${A_SRV}:67` });
        await settle(300);
        // The probe runs on plain sockets once they are pinned by route, for `never` and `auto` alike.
        expect(
          run.events.some((e) => e.type === 'probe'),
          'the preflight probe ran',
        ).toBe(true);
        expect(probes(dump.eth0(), A_SRV).length, dump.eth0()).toBeGreaterThan(0);
        expect(offers(dump.eth0(), A_SRV).length, dump.eth0()).toBeGreaterThan(0);
        expect(fromServer(dump.eth1()), 'the server sent on eth1').toEqual([]);
      } finally {
        run.child.kill('SIGINT');
        await run.exit;
      }
    }, 60_000);
  }

  it('the native helper, eth1 chosen (not the broadcast route): probe and OFFER leave through eth1 only', async () => {
    const dump = await captureBoth();
    const run = follow(
      labA!.spawn(
        'srv',
        process.execPath,
        serveArgs('eth1', ['--helper', 'auto', '--helper-path', helperPath]),
        {
          env: cliEnv(),
        },
      ),
    );
    try {
      const started = await untilStarted(run, 'serve on eth1 through the helper');
      expect(started.state, run.stderr()).toBe('running');
      expect(started.transport).toBe('helper');
      expect(run.events.some((e) => e.type === 'probe')).toBe(true);
      const reply = discover(labB!, 'clib');
      expect(reply).toMatchObject({ type: 'reply', from: `${B_SRV}:67` });
      await settle(300);
      expect(probes(dump.eth1(), B_SRV).length, dump.eth1()).toBeGreaterThan(0);
      expect(offers(dump.eth1(), B_SRV).length, dump.eth1()).toBeGreaterThan(0);
      expect(fromServer(dump.eth0()), 'the server sent on eth0').toEqual([]);
    } finally {
      run.child.kill('SIGINT');
      await run.exit;
    }
  }, 120_000);
});
