/**
 * `pxe-desk probe` and the serve policy as a user runs them (built CLI inside a namespace, --helper
 * never): dnsmasq in full DHCP mode is the site server, a second dnsmasq is a proxyDHCP (PXE menu).
 * The probe must find both and leave nothing behind; full DHCP mode must refuse to start next to them
 * and start with --force-dhcp; --report writes the report on exit.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SessionReport } from '../../app/core/report.js';
import type { ProbeResult, SessionEvent } from '../../app/shared/session-types.js';
import { createNetLab, waitFor, type NetLab } from '../helpers/netns.js';
import { haveNetns, haveTools } from '../helpers/tools.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const repo = resolve(import.meta.dirname, '..', '..');
const cli = join(repo, 'bin', 'pxe-desk.js');
const NET = '10.244.0';
let lab: NetLab | undefined;
let dir: string | undefined;

cleanupAfterEach(() => ({ lab, dir }));

/**
 * Site: dnsmasq full DHCP (with its default ping check); site2: a second full DHCP server (a rogue
 * router, say); px: dnsmasq proxyDHCP with a PXE menu.
 */
function siteLan(): { log: () => string; log2: () => string; ready: () => boolean } {
  dir = mkdtempSync(join(tmpdir(), 'pxd-lancli-'));
  lab = createNetLab({
    hosts: [
      { name: 'site', address: `${NET}.254/24` },
      { name: 'px', address: `${NET}.253/24` },
      { name: 'site2', address: `${NET}.252/24` },
      { name: 'desk', address: `${NET}.1/24`, defaultRoute: true },
    ],
  });
  let log = '';
  const common = ['--no-daemon', '--conf-file=/dev/null', '--port=0', '--user=root', '--interface=eth0'];
  const site: ChildProcess = lab.spawn('site', 'dnsmasq', [
    ...common,
    '--bind-interfaces',
    '--log-dhcp',
    `--dhcp-range=${NET}.100,${NET}.150,255.255.255.0,1h`,
    `--dhcp-option=3,${NET}.254`,
    `--dhcp-option=6,${NET}.254`,
    `--dhcp-leasefile=${join(dir, 'site.leases')}`,
    `--pid-file=${join(dir, 'site.pid')}`,
  ]);
  site.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const px = lab.spawn('px', 'dnsmasq', [
    ...common,
    '--bind-interfaces',
    `--dhcp-range=${NET}.0,proxy`,
    '--pxe-service=x86PC,Network boot,pxelinux',
    `--dhcp-leasefile=${join(dir, 'px.leases')}`,
    `--pid-file=${join(dir, 'px.pid')}`,
  ]);
  let pxLog = '';
  px.stderr?.on('data', (d: Buffer) => (pxLog += d.toString()));
  const site2 = lab.spawn('site2', 'dnsmasq', [
    ...common,
    '--bind-interfaces',
    '--log-dhcp',
    `--dhcp-range=${NET}.160,${NET}.200,255.255.255.0,1h`,
    `--dhcp-leasefile=${join(dir, 'site2.leases')}`,
  ]);
  let log2 = '';
  site2.stderr?.on('data', (d: Buffer) => (log2 += d.toString()));
  return {
    log: () => log,
    log2: () => log2,
    ready: () => [log, pxLog, log2].every((l) => /DHCP, sockets bound/.test(l)),
  };
}

async function waitDnsmasq(lan: { ready: () => boolean }): Promise<void> {
  // --no-daemon writes no pid file: its "sockets bound" line says it is listening.
  await waitFor(lan.ready, 10_000, 'dnsmasq listening');
}

describe.skipIf(!haveNetns() || !haveTools('dnsmasq'))(
  'foreign LAN through the CLI (dnsmasq site + proxy)',
  () => {
    beforeAll(() => {
      execFileSync(process.execPath, ['scripts/build.mjs', 'main'], { cwd: repo, stdio: 'ignore' });
    }, 120_000);

    it('`pxe-desk probe` finds the DHCP server and the proxyDHCP server, and RELEASEs its offer', async () => {
      const site = siteLan();
      await waitDnsmasq(site);
      const out = lab!.run(
        'desk',
        process.execPath,
        [cli, 'probe', '--iface', 'eth0', '--helper', 'never', '--json', '--window', '6000'],
        {
          timeoutMs: 30_000,
        },
      );
      const r = JSON.parse(out) as ProbeResult;
      expect(r.iface).toBe('eth0');
      expect(r.probeMac).toMatch(/^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/);
      expect(r.servers).toEqual([
        expect.objectContaining({
          kind: 'dhcp',
          serverId: `${NET}.252`,
          offeredAddress: expect.stringMatching(
            new RegExp(`^${NET.replaceAll('.', '\\.')}\\.(1[6-9]\\d|200)$`),
          ),
        }),
        expect.objectContaining({
          kind: 'dhcp',
          serverId: `${NET}.254`,
          router: `${NET}.254`,
          dns: [`${NET}.254`],
          prefixLength: 24,
          offeredAddress: expect.stringMatching(
            new RegExp(`^${NET.replaceAll('.', '\\.')}\\.(1[0-4]\\d|150)$`),
          ),
        }),
        expect.objectContaining({
          kind: 'proxy',
          serverId: `${NET}.253`,
          vendorClass: 'PXEClient',
          pxeMenu: true,
        }),
      ]);
      expect(r.refuse?.dhcp).toMatch(
        /Another DHCP server answers on this network \(10\.244\.0\.252, 10\.244\.0\.254\)/,
      );
      expect(r.warnings.join('\n')).toMatch(
        /proxyDHCP\/PXE server answers here \(10\.244\.0\.253 \(a PXE menu\)\)/,
      );
      // Nothing left behind: dnsmasq saw the RELEASE of exactly what it offered, and holds no lease for the probe.
      const [second, first] = [r.servers[0]!.offeredAddress!, r.servers[1]!.offeredAddress!];
      await waitFor(
        () =>
          site.log().includes(`DHCPRELEASE(eth0) ${first} ${r.probeMac}`) &&
          site.log2().includes(`DHCPRELEASE(eth0) ${second} ${r.probeMac}`),
        5000,
        'RELEASE in both dnsmasq logs',
      );
      expect(site.log() + site.log2()).not.toMatch(/DHCPDECLINE/);
      const leases = existsSync(join(dir!, 'site.leases'))
        ? readFileSync(join(dir!, 'site.leases'), 'utf8')
        : '';
      expect(leases).not.toContain(r.probeMac);
      // Human output says the same in words.
      const text = lab!.run(
        'desk',
        process.execPath,
        [cli, 'probe', '--iface', 'eth0', '--helper', 'never', '--window', '6000'],
        {
          timeoutMs: 30_000,
        },
      );
      expect(text).toMatch(
        /DHCP server {2}10\.244\.0\.254 {2}offered 10\.244\.0\.\d+\/24 {2}router 10\.244\.0\.254/,
      );
      expect(text).toMatch(/full DHCP mode: refused/);
    }, 90_000);

    it('`pxe-desk probe` without --iface refuses to pick a NIC', () => {
      let code = 0;
      let stderr = '';
      try {
        execFileSync(process.execPath, [cli, 'probe', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (error) {
        const e = error as { status: number; stderr: Buffer };
        code = e.status;
        stderr = e.stderr.toString();
      }
      expect(code).toBe(2);
      expect(stderr).toMatch(/--iface is required .*never picks/);
    });

    it('serve --mode dhcp refuses next to the site server (report written), and starts with --force-dhcp', async () => {
      await waitDnsmasq(siteLan());
      const root = join(dir!, 'root');
      execFileSync('mkdir', ['-p', root]);
      const base = [
        cli,
        'serve',
        '--mode',
        'dhcp',
        '--iface',
        'eth0',
        '--root',
        root,
        '--range',
        `${NET}.20-${NET}.30`,
        '--helper',
        'never',
        '--json',
        '--probe-window',
        '6000',
      ];
      const refusedReport = join(dir!, 'refused.json');
      let status = 0;
      let stdout = '';
      let stderr = '';
      try {
        lab!.run('desk', process.execPath, [...base, '--report', refusedReport], { timeoutMs: 40_000 });
      } catch (error) {
        const e = error as { status: number; stdout: string; stderr: string };
        status = e.status;
        stdout = e.stdout;
        stderr = e.stderr;
      }
      expect(status).toBe(1);
      expect(stderr).toMatch(
        /Another DHCP server answers on this network \(10\.244\.0\.252, 10\.244\.0\.254\).*--force-dhcp/,
      );
      const events = stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as SessionEvent);
      expect(events.some((e) => e.type === 'probe' && e.result.servers.some((s) => s.kind === 'dhcp'))).toBe(
        true,
      );
      const last = events.filter((e) => e.type === 'state').at(-1);
      expect(last?.type === 'state' && last.snapshot.error?.code).toBe('foreign-dhcp');
      const report = JSON.parse(readFileSync(refusedReport, 'utf8')) as SessionReport;
      expect(report).toMatchObject({
        state: 'error',
        mode: 'dhcp',
        iface: 'eth0',
        error: { code: 'foreign-dhcp' },
      });
      expect(report.probe?.servers.map((s) => s.serverId)).toEqual([
        `${NET}.252`,
        `${NET}.254`,
        `${NET}.253`,
      ]);

      // The expert override: starts, says so, logs it; SIGINT writes the HTML report and exits 0.
      const htmlReport = join(dir!, 'session.html');
      const child = lab!.spawn('desk', process.execPath, [...base, '--force-dhcp', '--report', htmlReport], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      await waitFor(() => /"state":"(running|error)"/.test(out), 30_000, 'forced session running');
      const lines = out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as SessionEvent);
      const running = lines.find((e) => e.type === 'state' && e.snapshot.state !== 'starting');
      expect(running?.type === 'state' && running.snapshot.state).toBe('running');
      expect(lines.some((e) => e.type === 'warning' && /expert override/.test(e.message))).toBe(true);
      expect(
        lines.some((e) => e.type === 'log' && e.record.level === 'warn' && /OVERRIDE/.test(e.record.message)),
      ).toBe(true);
      // SIGUSR1: the report now, the session keeps running.
      child.kill('SIGUSR1');
      await waitFor(() => existsSync(htmlReport), 10_000, 'SIGUSR1 report');
      await waitFor(() => readFileSync(htmlReport, 'utf8').includes('</html>'), 5000, 'complete report');
      expect(readFileSync(htmlReport, 'utf8')).toMatch(/<th>State<\/th><td>running<\/td>/);
      expect(child.exitCode).toBeNull();
      child.kill('SIGINT');
      expect(await exit).toBe(0);
      const html = readFileSync(htmlReport, 'utf8');
      expect(html).toMatch(/<th>State<\/th><td>idle<\/td>/);
      expect(html).toMatch(/^<!doctype html>/);
      expect(html).toContain('Preflight probe on eth0');
      expect(html).toContain('expert override');
    }, 120_000);
  },
);
