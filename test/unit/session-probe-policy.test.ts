/**
 * Session start policy (issue 10) with the real DhcpProbe on an in-memory network: the scripted
 * transport answers the probe's DISCOVER like a site DHCP server would; engines are fakes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decideBoot, type BootConfig } from '../../app/engines/dhcp/boot-decision.js';
import { SessionController } from '../../app/core/session/index.js';
import { NO_DHCP_SERVER } from '../../app/core/probe.js';
import { Opt, decode, encode, messageType } from '../../app/engines/dhcp/index.js';
import type { Channel, Endpoint } from '../../app/shared/datagram-transport.js';
import { createLogger, type LogRecord } from '../../app/shared/runtime.js';
import type { NicInfo, SessionConfig, SessionEvent } from '../../app/shared/session-types.js';
import { fakeEngines } from '../helpers/fake-engine.js';
import { MemoryTransport } from '../helpers/memory-transport.js';

const SITE = '10.0.0.254';

/** Answers a DISCOVER on the client channel with an OFFER from SITE (optionally with a boot file). */
class SiteNetwork extends MemoryTransport {
  constructor(
    private readonly sites: readonly { server: string; file?: string }[],
    private readonly failClientPort = false,
  ) {
    super();
  }
  override async open(channels: readonly Channel[]): Promise<void> {
    if (this.failClientPort && channels.includes('dhcp-client'))
      throw Object.assign(new Error('UDP port 68 is already in use'), { code: 'port-in-use' });
    await super.open(channels);
  }
  override async send(channel: Channel, to: Endpoint, data: Uint8Array): Promise<void> {
    await super.send(channel, to, data);
    const m = decode(data);
    if (channel !== 'dhcp-client' || messageType(m) !== 1) return;
    for (const site of this.sites) {
      const options = new Map<number, Buffer>([
        [Opt.messageType, Buffer.from([2])],
        [Opt.serverId, Buffer.from(site.server.split('.').map(Number))],
        [Opt.subnetMask, Buffer.from([255, 255, 255, 0])],
      ]);
      const reply = encode({ ...m, op: 2, yiaddr: '10.0.0.77', file: site.file ?? '', options });
      queueMicrotask(() =>
        this.inject({ channel: 'dhcp-client', source: { address: site.server, port: 67 }, data: reply }),
      );
    }
  }
}

function setup(
  network: MemoryTransport,
  extra: Partial<ConstructorParameters<typeof SessionController>[0]> = {},
) {
  const { factory, made } = fakeEngines(network);
  const nics: NicInfo[] = [
    { name: 'eth0', type: 'wired', up: true, ipv4: { address: '10.0.0.1', prefixLength: 24 } },
  ];
  const logs: LogRecord[] = [];
  const clock = { t: 1_000_000, now: () => clock.t };
  const s = new SessionController({
    interfaces: async () => nics,
    folderExists: () => true,
    engines: factory,
    probeWindowMs: 100,
    logger: createLogger((r) => logs.push(r), 'session'),
    clock,
    ...extra,
  });
  const events: SessionEvent[] = [];
  s.onEvent((e) => events.push(e));
  return { s, made, logs, events, clock };
}

const dhcpConfig: SessionConfig = {
  mode: 'dhcp',
  root: '/srv',
  iface: 'eth0',
  dhcp: { rangeStart: '10.0.0.100', rangeEnd: '10.0.0.110', prefixLength: 24 },
};

describe('session preflight policy', () => {
  it('full DHCP mode is refused while another DHCP server answers; nothing is started', async () => {
    const net = new SiteNetwork([{ server: SITE }]);
    const { s, made, events } = setup(net);
    const snap = await s.start(dhcpConfig);
    expect(snap.state).toBe('error');
    expect(snap.error?.code).toBe('foreign-dhcp');
    expect(snap.error?.message).toMatch(
      /Another DHCP server answers on this network \(10\.0\.0\.254\).*--force-dhcp/,
    );
    expect(made).toEqual([]); // no engine was started: the probe runs first
    expect(snap.probe?.servers).toEqual([
      expect.objectContaining({ serverId: SITE, kind: 'dhcp', offeredAddress: '10.0.0.77' }),
    ]);
    expect(events.some((e) => e.type === 'probe' && e.result.servers.length === 1)).toBe(true);
    // The probe released what it was offered.
    const sent = net.sent.map((d) => decode(d.data));
    expect(sent.map((m) => messageType(m))).toEqual([1, 7]);
  });

  it('the expert override starts full DHCP, logged and warned', async () => {
    const { s, made, logs } = setup(new SiteNetwork([{ server: SITE }]));
    const snap = await s.start({ ...dhcpConfig, overrideForeignDhcp: true });
    expect(snap.state).toBe('running');
    expect(made.map((e) => e.name)).toEqual(['tftp', 'http', 'dhcp']);
    expect(snap.warnings.join('\n')).toMatch(/despite another DHCP server \(expert override\)/);
    expect(logs.some((l) => l.level === 'warn' && /OVERRIDE/.test(l.message))).toBe(true);
    await s.stop();
  });

  it('full DHCP on a quiet network starts without warnings; proxy mode there warns (no address for clients)', async () => {
    const a = setup(new SiteNetwork([]));
    expect((await a.s.start(dhcpConfig)).warnings).toEqual([]);
    await a.s.stop();
    const b = setup(new SiteNetwork([]));
    const snap = await b.s.start({ mode: 'proxy', root: '/srv', iface: 'eth0' });
    expect(snap.state).toBe('running');
    expect(snap.warnings).toEqual([NO_DHCP_SERVER]);
    await b.s.stop();
  });

  it('proxy mode next to a site server that sends its own boot file: runs, with the warning', async () => {
    const { s } = setup(new SiteNetwork([{ server: SITE, file: 'pxelinux.0' }]));
    const snap = await s.start({ mode: 'proxy', root: '/srv', iface: 'eth0' });
    expect(snap.state).toBe('running');
    expect(snap.warnings.join('\n')).toMatch(
      /already hands out boot options \(10\.0\.0\.254 \(boot file pxelinux\.0\)\)/,
    );
    await s.stop();
  });

  it('files mode runs no probe; a busy port 68 refuses full DHCP (could not look) but lets proxy run', async () => {
    const f = setup(new SiteNetwork([{ server: SITE }]));
    const files = await f.s.start({ mode: 'files', root: '/srv', address: '127.0.0.1' });
    expect(files.probe).toBeUndefined();
    await f.s.stop();
    const d = setup(new SiteNetwork([], true));
    const refused = await d.s.start(dhcpConfig);
    expect(refused.error?.code).toBe('probe-unavailable');
    expect(refused.error?.message).toMatch(/port 68 is already in use.*--force-dhcp/);
    // A probe that fails to send (helper refusal, no route) counts as "could not look".
    const broken = setup(new SiteNetwork([]), {
      runProbe: () => Promise.reject(new Error('send to 255.255.255.255:67 failed: ENETUNREACH')),
    });
    const failed = await broken.s.start(dhcpConfig);
    expect(failed.error).toMatchObject({
      code: 'probe-unavailable',
      message: expect.stringMatching(/ENETUNREACH/),
    });
    const p = setup(new SiteNetwork([], true));
    const proxy = await p.s.start({ mode: 'proxy', root: '/srv', iface: 'eth0' });
    expect(proxy.state).toBe('running');
    expect(proxy.warnings.join('\n')).toMatch(/Could not look for other DHCP servers/);
    await p.s.stop();
  });
});

describe('servers that appear while serving', () => {
  it('full DHCP: a new DHCP server answering on 68 is warned about once; one the probe saw (override) is not', async () => {
    const net = new SiteNetwork([{ server: SITE }]);
    const { s, events } = setup(net);
    await s.start({ ...dhcpConfig, overrideForeignDhcp: true });
    const offerFrom = (server: string, file = '') => {
      const options = new Map<number, Buffer>([
        [Opt.messageType, Buffer.from([2])],
        [Opt.serverId, Buffer.from(server.split('.').map(Number))],
      ]);
      const chaddr = Buffer.alloc(16, 1);
      return encode({
        op: 2,
        htype: 1,
        hlen: 6,
        hops: 0,
        xid: 1,
        secs: 0,
        flags: 0x8000,
        ciaddr: '0.0.0.0',
        yiaddr: '10.0.0.99',
        siaddr: '0.0.0.0',
        giaddr: '0.0.0.0',
        chaddr,
        sname: '',
        file,
        options,
        hasCookie: true,
      });
    };
    for (const server of [SITE, '10.0.0.200', '10.0.0.200'])
      net.inject({ channel: 'dhcp-client', source: { address: server, port: 67 }, data: offerFrom(server) });
    const warnings = events
      .filter((e) => e.type === 'warning')
      .map((e) => (e as { message: string }).message);
    expect(warnings.filter((w) => /started answering/.test(w))).toEqual([
      'Another DHCP server (10.0.0.200) started answering on this network while PXE Desk serves full DHCP: clients may get conflicting addresses. Stop one of them, or use proxy mode.',
    ]);
    await s.stop();
  });
});

describe('session diagnosis and loop breaker', () => {
  const MAC = '52:54:00:12:34:56';
  it('three NBP downloads in a minute: the boot decision refuses the MAC, diagnosis + log say so; unblock lifts it', async () => {
    const { s, made, logs, clock } = setup(new SiteNetwork([{ server: SITE }]), { loopPauseMs: 60_000 });
    const root = mkdtempSync(join(tmpdir(), 'pxd-loop-'));
    writeFileSync(join(root, 'undionly.kpxe'), 'x');
    const snap = await s.start({ mode: 'proxy', root, iface: 'eth0' });
    expect(snap.state).toBe('running');
    const proxy = made.find((e) => e.name === 'proxy')!;
    const tftp = made.find((e) => e.name === 'tftp')!;
    const boot = proxy.opts.boot as BootConfig;
    const req = { mac: MAC, archs: [0], vendorClass: 'PXEClient:Arch:00000:UNDI:002001', userClasses: [] };
    expect(decideBoot(req, boot).kind).toBe('boot');
    proxy.emit({
      engine: 'proxy',
      type: 'pxe-request',
      time: clock.t,
      client: { mac: MAC, arch: 0, firmware: 'bios' },
      ip: '10.0.0.77',
    });
    for (let i = 0; i < 3; i++) {
      clock.t += 5000;
      const base = {
        engine: 'tftp' as const,
        transferId: String(i),
        client: { address: '10.0.0.77', port: 2000 + i },
        file: 'undionly.kpxe',
      };
      tftp.emit({ ...base, type: 'start', time: clock.t, bytes: 0 });
      tftp.emit({ ...base, type: 'done', time: clock.t + 200, bytes: 70_000 });
    }
    const plan = decideBoot(req, boot);
    expect(plan.kind).toBe('refuse');
    expect(plan.kind === 'refuse' && plan.reason).toMatch(
      /^loop breaker: undionly\.kpxe was downloaded 3 times/,
    );
    const client = s.snapshot().clients.find((c) => c.mac === MAC)!;
    expect(client.diagnoses?.map((d) => d.code)).toEqual(['loop-broken', 'boot-loop']);
    expect(client.diagnosis).toMatch(/^Loop breaker: PXE Desk stopped offering a boot file/);
    expect(
      logs.some(
        (l) =>
          l.level === 'warn' &&
          /loop breaker: stopped serving undionly\.kpxe to 52:54:00:12:34:56/.test(l.message),
      ),
    ).toBe(true);
    // The report sees the same (its log comes from the session's own recording).
    expect(s.reportData().log.some((l) => /loop breaker/.test(l.message))).toBe(true);
    s.clientAction(MAC, 'unblock');
    expect(decideBoot(req, boot).kind).toBe('boot');
    // The pause also ends by itself.
    for (let i = 3; i < 6; i++) {
      clock.t += 1000;
      tftp.emit({
        engine: 'tftp',
        type: 'done',
        time: clock.t,
        transferId: String(i),
        client: { address: '10.0.0.77', port: 1 },
        file: 'undionly.kpxe',
        bytes: 1,
      });
    }
    expect(decideBoot(req, boot).kind).toBe('refuse');
    clock.t += 61_000;
    expect(decideBoot(req, boot).kind).toBe('boot');
    await s.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it("another server's offer seen on 68 joins the timeline, teaches the IP, and leads to site-boot-file", async () => {
    const net = new SiteNetwork([]);
    const { s, made, clock } = setup(net, { siteGraceMs: 10_000 });
    await s.start({ mode: 'proxy', root: '/srv', iface: 'eth0' });
    const proxy = made.find((e) => e.name === 'proxy')!;
    proxy.emit({
      engine: 'proxy',
      type: 'discover',
      time: clock.t,
      client: { mac: MAC, arch: 0, firmware: 'bios' },
    });
    const offer = new Map<number, Buffer>([
      [Opt.messageType, Buffer.from([2])],
      [Opt.serverId, Buffer.from([10, 0, 0, 254])],
      [Opt.bootFile, Buffer.from('pxelinux.0')],
    ]);
    const chaddr = Buffer.alloc(16);
    Buffer.from([0x52, 0x54, 0, 0x12, 0x34, 0x56]).copy(chaddr);
    const data = encode({
      op: 2,
      htype: 1,
      hlen: 6,
      hops: 0,
      xid: 7,
      secs: 0,
      flags: 0x8000,
      ciaddr: '0.0.0.0',
      yiaddr: '10.0.0.88',
      siaddr: '0.0.0.0',
      giaddr: '0.0.0.0',
      chaddr,
      sname: '',
      file: '',
      options: offer,
      hasCookie: true,
    });
    net.inject({ channel: 'dhcp-client', source: { address: SITE, port: 67 }, data });
    // Our own broadcast offer seen on 68 is not "another server".
    net.inject({ channel: 'dhcp-client', source: { address: '10.0.0.1', port: 67 }, data });
    let c = s.snapshot().clients.find((x) => x.mac === MAC)!;
    expect(c.ip).toBe('10.0.0.88');
    expect(c.timeline.filter((t) => /another DHCP server/.test(t.text)).map((t) => t.text)).toEqual([
      'another DHCP server 10.0.0.254 answered 10.0.0.88 → pxelinux.0',
    ]);
    expect(c.diagnoses).toBeUndefined();
    clock.t += 11_000;
    c = s.snapshot().clients.find((x) => x.mac === MAC)!;
    expect(c.diagnoses?.[0]?.code).toBe('site-boot-file');
    // Unknown MACs (a busy LAN's other clients) are not added.
    const other = Buffer.from(data);
    other[33] = 0x99;
    net.inject({ channel: 'dhcp-client', source: { address: SITE, port: 67 }, data: other });
    expect(s.snapshot().clients).toHaveLength(1);
    // The site may be faster than our engine: its offer arrives first and joins once we see the DISCOVER.
    const early = Buffer.from(data);
    early[33] = 0x77;
    net.inject({ channel: 'dhcp-client', source: { address: SITE, port: 67 }, data: early });
    clock.t += 50;
    const mac2 = '52:54:00:12:34:77';
    proxy.emit({
      engine: 'proxy',
      type: 'discover',
      time: clock.t,
      client: { mac: mac2, arch: 0, firmware: 'bios' },
    });
    const c2 = s.snapshot().clients.find((x) => x.mac === mac2)!;
    expect(c2.timeline.map((t) => t.text)).toEqual([
      'DISCOVER (BIOS)',
      'another DHCP server 10.0.0.254 answered 10.0.0.88 → pxelinux.0',
    ]);
    await s.stop();
  });
});
