/**
 * Foreign LAN (issue 10) end to end in network namespaces: dnsmasq is the "site" DHCP server, a real
 * SessionController in proxy mode runs next to it (foreign-lan-driver.ts), and scripted PXE clients
 * (foreign-lan-client.ts + curl) reproduce a normal boot and each diagnosis: boot loop (and the loop
 * breaker), TFTP stall, missing architecture, and a site server that sends its own boot file.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SessionReport } from '../../app/core/report.js';
import type { LogRecord } from '../../app/shared/runtime.js';
import type { ClientRecord, SessionEvent, SessionSnapshot } from '../../app/shared/session-types.js';
import { createNetLab, waitFor, type NetLab } from '../helpers/netns.js';
import { haveNetns, haveTools } from '../helpers/tools.js';
import { buildHelper } from './helper-build.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const repo = resolve(import.meta.dirname, '..', '..');
const here = import.meta.dirname;
let lab: NetLab | undefined;
let dir: string | undefined;

cleanupAfterEach(() => ({ lab, dir }));

type Line = SessionEvent | { type: 'report'; json: string; html: string };

interface Driver {
  child: ChildProcess;
  lines: Line[];
  stderr: () => string;
  client(mac: string): ClientRecord | undefined;
  logs(): LogRecord[];
  running(): Promise<SessionSnapshot>;
  send(cmd: string): void;
}

function startDriver(l: NetLab, input: unknown, asNobody = false): Driver {
  const node = [
    process.execPath,
    '--import',
    'tsx',
    join(here, 'foreign-lan-driver.ts'),
    JSON.stringify(input),
  ];
  // As nobody: the engines stay unprivileged, only the helper binds 67/68/4011 (with capabilities).
  const argv = asNobody ? ['--reuid=65534', '--regid=65534', '--clear-groups', ...node] : node.slice(1);
  const child = l.spawn('desk', asNobody ? 'setpriv' : process.execPath, argv, {
    cwd: repo,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: Line[] = [];
  let buf = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    for (const p of parts) if (p.trim()) lines.push(JSON.parse(p) as Line);
  });
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const d: Driver = {
    child,
    lines,
    stderr: () => err,
    client: (mac) =>
      lines
        .filter((e): e is Extract<SessionEvent, { type: 'client' }> => e.type === 'client')
        .map((e) => e.client)
        .filter((c) => c.mac === mac)
        .at(-1),
    logs: () =>
      lines.filter((e): e is Extract<SessionEvent, { type: 'log' }> => e.type === 'log').map((e) => e.record),
    async running() {
      await waitFor(
        () => lines.some((e) => e.type === 'state' && ['running', 'error'].includes(e.snapshot.state)),
        30_000,
        `session running (stderr: ${err})`,
      );
      const s = lines.find(
        (e): e is Extract<SessionEvent, { type: 'state' }> =>
          e.type === 'state' && ['running', 'error'].includes(e.snapshot.state),
      )!.snapshot;
      expect(s.state, JSON.stringify(s.error)).toBe('running');
      return s;
    },
    send: (cmd) => void child.stdin?.write(`${cmd}\n`),
  };
  return d;
}

interface Offer {
  from: string;
  serverId?: string;
  yiaddr: string;
  file: string;
  vendorClass?: string;
}

function discover(l: NetLab, host: string, mac: string, arch = 0, userClass?: string): Offer[] {
  const out = l.run(
    host,
    process.execPath,
    [
      '--import',
      'tsx',
      join(here, 'foreign-lan-client.ts'),
      'discover',
      JSON.stringify({ mac, arch, waitMs: 2000, ...(userClass ? { userClass } : {}) }),
    ],
    { timeoutMs: 30_000 },
  );
  return JSON.parse(out) as Offer[];
}

function dnsmasq(l: NetLab, host: string, net: string, extra: string[]): ChildProcess {
  const child = l.spawn('site', 'dnsmasq', [
    '--no-daemon',
    '--conf-file=/dev/null',
    '--port=0',
    '--user=root',
    '--interface=eth0',
    '--bind-interfaces',
    '--no-ping',
    `--dhcp-range=${net}.100,${net}.150,255.255.255.0,1h`,
    `--dhcp-option=3,${net}.254`,
    `--dhcp-leasefile=${join(dir!, `${host}.leases`)}`,
    `--pid-file=${join(dir!, `${host}.pid`)}`,
    ...extra,
  ]);
  child.stderr?.resume();
  return child;
}

const DESK = (net: string) => `${net}.1`;

describe.skipIf(!haveNetns() || !haveTools('dnsmasq', 'curl'))(
  'foreign LAN: proxy mode next to a site DHCP server (dnsmasq)',
  () => {
    it('boots a scripted PXE client; diagnoses loop (+ loop breaker), TFTP stall, HTTP stall and missing arch; report JSON = timeline', async () => {
      const net = '10.241.0';
      dir = mkdtempSync(join(tmpdir(), 'pxd-lan-'));
      const root = join(dir, 'root');
      execFileSync('mkdir', ['-p', root]);
      writeFileSync(join(root, 'undionly.kpxe'), randomBytes(60_000));
      writeFileSync(join(root, 'vmlinuz'), randomBytes(200_000));
      // Sparse and far bigger than every socket buffer between server and client (veth TCP buffers
      // auto-tune to several MB each way): a 16 MB file could be handed to the kernel whole and
      // counted "done" before curl gave up, so the cut-short download would not look cut short.
      writeFileSync(join(root, 'big.img'), '');
      truncateSync(join(root, 'big.img'), 1024 * 1024 * 1024);
      const macs = {
        boot: '52:54:00:0a:00:01',
        loop: '52:54:00:0a:00:02',
        stall: '52:54:00:0a:00:03',
        arm: '52:54:00:0a:00:04',
        http: '52:54:00:0a:00:05',
      };
      lab = createNetLab({
        hosts: [
          { name: 'site', address: `${net}.254/24` },
          { name: 'desk', address: `${DESK(net)}/24`, defaultRoute: true },
          { name: 'c1', address: `${net}.101/24`, defaultRoute: true },
          { name: 'c2', address: `${net}.102/24`, defaultRoute: true },
          { name: 'c3', address: `${net}.103/24`, defaultRoute: true },
          { name: 'c4', address: `${net}.104/24`, defaultRoute: true },
          { name: 'c5', address: `${net}.105/24`, defaultRoute: true },
        ],
      });
      // Fixed addresses per scripted machine, so what the site offers is what its namespace uses.
      dnsmasq(lab, 'site', net, [
        `--dhcp-host=${macs.boot},${net}.101`,
        `--dhcp-host=${macs.loop},${net}.102`,
        `--dhcp-host=${macs.stall},${net}.103`,
        `--dhcp-host=${macs.arm},${net}.104`,
        `--dhcp-host=${macs.http},${net}.105`,
      ]);
      const d = startDriver(lab, {
        config: { mode: 'proxy', iface: 'eth0', root, helper: 'never' },
        options: {
          probeWindowMs: 1500,
          siteGraceMs: 3000,
          loopPauseMs: 120_000,
          stallMs: 120_000,
          nextStepMs: 120_000,
        },
      });
      const snap = await d.running();
      // The probe ran first and saw the site server (and only it: nothing of ours answered yet).
      expect(snap.probe?.servers).toEqual([
        expect.objectContaining({
          kind: 'dhcp',
          serverId: `${net}.254`,
          router: `${net}.254`,
          prefixLength: 24,
        }),
      ]);
      expect(snap.warnings).toEqual([]);

      // 1. A normal boot: PXE DISCOVER → both offers; NBP over TFTP; iPXE DISCOVER → script; kernel over HTTP.
      const offers = discover(lab, 'c1', macs.boot);
      const ours = offers.find((o) => o.from === DESK(net));
      const site = offers.find((o) => o.serverId === `${net}.254`);
      expect(site?.yiaddr).toBe(`${net}.101`);
      expect(ours).toMatchObject({ yiaddr: '0.0.0.0', file: 'undionly.kpxe', vendorClass: 'PXEClient' });
      lab.run(
        'c1',
        'curl',
        ['-sS', '--max-time', '20', '-o', '/dev/null', `tftp://${DESK(net)}/undionly.kpxe`],
        {
          timeoutMs: 30_000,
        },
      );
      const ipxe = discover(lab, 'c1', macs.boot, 0, 'iPXE').find((o) => o.from === DESK(net));
      expect(ipxe?.file).toMatch(new RegExp(`^http://${DESK(net)}:8080/boot\\.ipxe\\?mac=`));
      const script = lab.run('c1', 'curl', ['-sS', '--max-time', '20', ipxe!.file], { timeoutMs: 30_000 });
      expect(script).toMatch(/^#!ipxe/);
      lab.run(
        'c1',
        'curl',
        ['-sS', '--max-time', '20', '-o', '/dev/null', `http://${DESK(net)}:8080/vmlinuz`],
        {
          timeoutMs: 30_000,
        },
      );
      await waitFor(() => d.client(macs.boot)?.stage === 'booted', 15_000, 'scripted client booted');
      const booted = d.client(macs.boot)!;
      expect(booted.ip).toBe(`${net}.101`);
      expect(booted.timeline.map((t) => t.text)).toEqual(
        expect.arrayContaining([
          `another DHCP server ${net}.254 answered ${net}.101`,
          expect.stringMatching(/^TFTP undionly\.kpxe 60 kB/),
          expect.stringMatching(/^HTTP vmlinuz 200 kB/),
        ]),
      );
      expect(booted.diagnoses).toBeUndefined();

      // 2. Boot loop: an iPXE without user class gets the NBP again and again; the third time trips the breaker.
      for (let i = 0; i < 3; i++) {
        expect(discover(lab, 'c2', macs.loop).some((o) => o.from === DESK(net))).toBe(true);
        lab.run(
          'c2',
          'curl',
          ['-sS', '--max-time', '20', '-o', '/dev/null', `tftp://${DESK(net)}/undionly.kpxe`],
          {
            timeoutMs: 30_000,
          },
        );
      }
      await waitFor(
        () => d.client(macs.loop)?.diagnoses?.[0]?.code === 'loop-broken',
        10_000,
        'loop breaker',
      );
      const looped = discover(lab, 'c2', macs.loop);
      expect(looped.some((o) => o.from === DESK(net))).toBe(false); // we no longer name a boot file
      expect(looped.some((o) => o.serverId === `${net}.254`)).toBe(true); // the site still leases
      // lab.run blocks this process: let the driver's output in before reading it.
      await waitFor(() => d.client(macs.loop)?.stage === 'refused', 10_000, 'refusal after the loop');
      const loopClient = d.client(macs.loop)!;
      expect(loopClient.diagnoses?.map((x) => x.code)).toEqual(['loop-broken', 'boot-loop']);
      expect(loopClient.diagnoses?.[1]?.text).toMatch(
        /^Downloaded undionly\.kpxe 3 times in \d+ s — boot loop/,
      );
      expect(loopClient.timeline.map((t) => t.text)).toContainEqual(
        expect.stringMatching(/^not served: loop breaker: undionly\.kpxe was downloaded 3 times/),
      );
      expect(
        d
          .logs()
          .some(
            (r) =>
              r.level === 'warn' &&
              r.message.includes(`loop breaker: stopped serving undionly.kpxe to ${macs.loop}`),
          ),
      ).toBe(true);

      // 3. TFTP stall: the client acknowledges 3 blocks and goes silent.
      expect(discover(lab, 'c3', macs.stall).some((o) => o.from === DESK(net))).toBe(true);
      const stall = lab.run(
        'c3',
        process.execPath,
        [
          '--import',
          'tsx',
          join(here, 'foreign-lan-client.ts'),
          'tftp-stall',
          JSON.stringify({
            server: DESK(net),
            file: 'undionly.kpxe',
            ackBlocks: 3,
            blksize: 1024,
            waitMs: 1500,
          }),
        ],
        { timeoutMs: 30_000 },
      );
      expect(JSON.parse(stall)).toEqual({ acked: 3 });
      await waitFor(
        () => d.client(macs.stall)?.diagnoses?.[0]?.code === 'tftp-stall',
        40_000,
        'TFTP stall diagnosis',
      );
      expect(d.client(macs.stall)!.diagnosis).toMatch(
        /^TFTP stalled at block 4 of undionly\.kpxe after 3 kB .*MTU/,
      );

      // 4. Missing architecture: an ARM64 UEFI client and no ARM64 boot file in the library.
      expect(discover(lab, 'c4', macs.arm, 11).some((o) => o.from === DESK(net))).toBe(false);
      await waitFor(
        () => d.client(macs.arm)?.diagnoses?.[0]?.code === 'missing-arch',
        10_000,
        'missing-arch',
      );
      expect(d.client(macs.arm)!.diagnosis).toBe(
        'Architecture 11 (UEFI ARM64) but no UEFI ARM64 boot file in the library',
      );

      // 5. HTTP download cut short (a client that gives up half-way: slow link, firmware out of memory).
      expect(discover(lab, 'c5', macs.http).some((o) => o.from === DESK(net))).toBe(true);
      try {
        lab.run(
          'c5',
          'curl',
          [
            '-sS',
            '--limit-rate',
            '200k',
            '--max-time',
            '2',
            '-o',
            '/dev/null',
            `http://${DESK(net)}:8080/big.img`,
          ],
          {
            timeoutMs: 20_000,
          },
        );
      } catch {
        /* curl exits 28 (timeout): that is the point */
      }
      await waitFor(() => d.client(macs.http)?.diagnoses?.[0]?.code === 'http-stall', 15_000, 'http-stall');
      expect(d.client(macs.http)!.diagnosis).toMatch(
        /^HTTP download of big\.img stopped after [\d.]+ (kB|MB) \(/,
      );

      // The report: the same clients, timelines and diagnoses as the live events; escaped HTML.
      d.send('report');
      await waitFor(() => d.lines.some((e) => e.type === 'report'), 10_000, 'report');
      const rep = d.lines.find((e): e is Extract<Line, { type: 'report' }> => e.type === 'report')!;
      const report = JSON.parse(rep.json) as SessionReport;
      expect(report).toMatchObject({ mode: 'proxy', iface: 'eth0', state: 'running', transport: 'direct' });
      expect(report.nic?.ipv4?.address).toBe(DESK(net));
      expect(report.probe).toEqual(snap.probe);
      for (const mac of Object.values(macs)) {
        const live = d.client(mac)!;
        const inReport = report.clients.find((c) => c.mac === mac)!;
        expect(inReport.timeline).toEqual(live.timeline);
        expect(inReport.diagnoses).toEqual(live.diagnoses);
        expect(rep.html).toContain(mac);
      }
      expect(report.log.some((r) => r.message.includes('loop breaker'))).toBe(true);
      expect(rep.html).not.toMatch(/<script/i);

      d.send('stop');
      await new Promise((r) => d.child.once('exit', r));
    }, 240_000);

    it('a site server that sends its own boot file: probe warning, then "site-boot-file" for a client that follows it', async () => {
      const net = '10.242.0';
      dir = mkdtempSync(join(tmpdir(), 'pxd-lan-'));
      const root = join(dir, 'root');
      execFileSync('mkdir', ['-p', root]);
      writeFileSync(join(root, 'undionly.kpxe'), randomBytes(10_000));
      const mac = '52:54:00:0b:00:01';
      lab = createNetLab({
        hosts: [
          { name: 'site', address: `${net}.254/24` },
          { name: 'desk', address: `${DESK(net)}/24`, defaultRoute: true },
          { name: 'c1', address: `${net}.101/24`, defaultRoute: true },
        ],
      });
      dnsmasq(lab, 'site', net, [`--dhcp-host=${mac},${net}.101`, `--dhcp-boot=pxelinux.0,,${net}.254`]);
      const d = startDriver(lab, {
        config: { mode: 'proxy', iface: 'eth0', root, helper: 'never' },
        options: { probeWindowMs: 1500, siteGraceMs: 3000 },
      });
      const snap = await d.running();
      expect(snap.probe?.servers[0]).toMatchObject({
        serverId: `${net}.254`,
        bootFile: 'pxelinux.0',
        nextServer: `${net}.254`,
      });
      expect(snap.warnings.join('\n')).toMatch(
        /already hands out boot options.*pxelinux\.0.*PXE clients may follow it/,
      );
      // The client gets both offers, follows the site's boot file and never comes to us.
      const offers = discover(lab, 'c1', mac);
      expect(offers.map((o) => o.from).sort()).toEqual([DESK(net), `${net}.254`].sort());
      await waitFor(() => d.client(mac)?.diagnoses?.[0]?.code === 'site-boot-file', 15_000, 'site-boot-file');
      const c = d.client(mac)!;
      expect(c.diagnosis).toBe(
        `Took the site server's offer (${net}.254 → pxelinux.0) and never asked PXE Desk on 4011 or for a file — the site server sends a boot file of its own, which the firmware prefers`,
      );
      expect(c.diagnoses?.[0]?.fix).toMatch(/options 66\/67/);
      d.send('stop');
      await new Promise((r) => d.child.once('exit', r));
    }, 120_000);
  },
);

describe.skipIf(!haveNetns() || !haveTools('dnsmasq', 'go', 'setcap', 'setpriv'))(
  'foreign LAN through the native helper (Linux production path)',
  () => {
    it("the session (as nobody) probes through the helper's 68, sees the site server, serves a PXE client, and hears the site offer", async () => {
      const net = '10.245.0';
      dir = mkdtempSync(join(tmpdir(), 'pxd-lanh-'));
      chmodSync(dir, 0o755);
      const root = join(dir, 'root');
      execFileSync('mkdir', ['-p', root]);
      writeFileSync(join(root, 'undionly.kpxe'), randomBytes(10_000));
      chmodSync(root, 0o755);
      chmodSync(join(root, 'undionly.kpxe'), 0o644);
      const helperPath = buildHelper(dir);
      execFileSync('setcap', ['cap_net_bind_service,cap_net_raw+ep', helperPath]);
      const mac = '52:54:00:0c:00:01';
      lab = createNetLab({
        hosts: [
          { name: 'site', address: `${net}.254/24` },
          { name: 'desk', address: `${DESK(net)}/24` },
          { name: 'c1', address: `${net}.101/24`, defaultRoute: true },
        ],
      });
      dnsmasq(lab, 'site', net, [`--dhcp-host=${mac},${net}.101`]);
      const d = startDriver(
        lab,
        {
          config: { mode: 'proxy', iface: 'eth0', root, helper: 'always', ports: { tftp: 6969, http: 8080 } },
          options: { probeWindowMs: 2000, helperPath },
        },
        true,
      );
      const snap = await d.running();
      expect(snap.transport).toBe('helper');
      expect(snap.probe?.servers).toEqual([
        expect.objectContaining({ kind: 'dhcp', serverId: `${net}.254` }),
      ]);
      const offers = discover(lab, 'c1', mac);
      expect(offers.find((o) => o.from === DESK(net))).toMatchObject({ file: 'undionly.kpxe' });
      await waitFor(
        () =>
          (d.client(mac)?.timeline ?? []).some(
            (t) => t.text === `another DHCP server ${net}.254 answered ${net}.101`,
          ),
        10_000,
        "the site's offer, heard on the helper's port 68",
      );
      expect(d.client(mac)?.ip).toBe(`${net}.101`);
      d.send('stop');
      await new Promise((r) => d.child.once('exit', r));
      rmSync(helperPath, { force: true });
    }, 120_000);
  },
);
