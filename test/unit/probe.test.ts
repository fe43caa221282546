import { describe, expect, it } from 'vitest';
import {
  DhcpProbe,
  NO_DHCP_SERVER,
  assessProbe,
  buildProbeDiscover,
  buildProbeRelease,
  parseProbeReply,
  probeMacFrom,
  probeInterface,
  probeRefusal,
  warningsFor,
} from '../../app/core/probe.js';
import { Opt, decode, encode, macOf, messageType, type DhcpMessage } from '../../app/engines/dhcp/index.js';
import type { ProbeServer } from '../../app/shared/session-types.js';
import { MemoryTransport } from '../helpers/memory-transport.js';

function reply(
  req: DhcpMessage,
  o: {
    yiaddr?: string;
    server: string;
    type?: number;
    opts?: [number, number[] | string][];
    file?: string;
    siaddr?: string;
  },
): Buffer {
  const options = new Map<number, Buffer>([[Opt.messageType, Buffer.from([o.type ?? 2])]]);
  options.set(Opt.serverId, Buffer.from(o.server.split('.').map(Number)));
  for (const [code, v] of o.opts ?? [])
    options.set(code, typeof v === 'string' ? Buffer.from(v) : Buffer.from(v));
  return encode({
    ...req,
    op: 2,
    yiaddr: o.yiaddr ?? '0.0.0.0',
    siaddr: o.siaddr ?? '0.0.0.0',
    file: o.file ?? '',
    options,
  });
}

describe('probe packets (pure)', () => {
  it('probe MAC is unicast and locally administered whatever the random bytes', () => {
    for (const first of [0x00, 0x01, 0xff, 0xfe, 0x53]) {
      const mac = probeMacFrom(Uint8Array.from([first, 1, 2, 3, 4, 5]));
      const b0 = parseInt(mac.slice(0, 2), 16);
      expect(b0 & 0x01).toBe(0);
      expect(b0 & 0x02).toBe(2);
      expect(mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    }
  });

  it('DISCOVER looks like a PXE ROM (60, 93, 94, 97) with the broadcast flag', () => {
    const m = decode(buildProbeDiscover('02:11:22:33:44:55', 0x1234, new Uint8Array(16).fill(7), 7));
    expect(m.op).toBe(1);
    expect(m.flags & 0x8000).toBe(0x8000);
    expect(macOf(m)).toBe('02:11:22:33:44:55');
    expect(messageType(m)).toBe(1);
    expect(m.options.get(Opt.vendorClass)?.toString()).toBe('PXEClient:Arch:00007:UNDI:002001');
    expect([...(m.options.get(Opt.clientArch) ?? [])]).toEqual([0, 7]);
    expect(m.options.get(Opt.clientUuid)?.length).toBe(17);
    expect([...(m.options.get(Opt.paramRequest) ?? [])]).toEqual(
      expect.arrayContaining([1, 3, 6, 43, 54, 60, 66, 67]),
    );
  });

  it('RELEASE names the offered address (ciaddr) and the server (54); never a DECLINE', () => {
    const m = decode(buildProbeRelease('02:11:22:33:44:55', 9, '10.0.0.120', '10.0.0.254'));
    expect(messageType(m)).toBe(7);
    expect(m.ciaddr).toBe('10.0.0.120');
    expect([...(m.options.get(Opt.serverId) ?? [])]).toEqual([10, 0, 0, 254]);
  });

  const req = decode(buildProbeDiscover('02:00:00:00:00:01', 1, new Uint8Array(16), 0));

  it('parses an address server: subnet prefix, router, DNS; siaddr alone is not a boot option', () => {
    const s = parseProbeReply(
      decode(
        reply(req, {
          yiaddr: '10.0.0.120',
          server: '10.0.0.254',
          siaddr: '10.0.0.254',
          opts: [
            [Opt.subnetMask, [255, 255, 254, 0]],
            [Opt.router, [10, 0, 0, 254]],
            [Opt.dns, [1, 1, 1, 1, 8, 8, 8, 8]],
          ],
        }),
      ),
      '10.0.0.254:67',
    );
    expect(s).toEqual({
      serverId: '10.0.0.254',
      source: '10.0.0.254:67',
      kind: 'dhcp',
      offeredAddress: '10.0.0.120',
      prefixLength: 23,
      router: '10.0.0.254',
      dns: ['1.1.1.1', '8.8.8.8'],
    });
  });

  it('parses boot options (66/67 and the file field) and a proxy with a PXE menu (43.9/10)', () => {
    const site = parseProbeReply(
      decode(
        reply(req, { yiaddr: '10.0.0.9', server: '10.0.0.254', file: 'pxelinux.0', siaddr: '10.0.0.5' }),
      ),
      '10.0.0.254:67',
    )!;
    expect(site.bootFile).toBe('pxelinux.0');
    expect(site.nextServer).toBe('10.0.0.5');
    const s66 = parseProbeReply(
      decode(
        reply(req, {
          yiaddr: '10.0.0.9',
          server: '10.0.0.254',
          opts: [
            [66, 'wds.example'],
            [67, 'boot\\x64\\wdsnbp.com'],
          ],
        }),
      ),
      '10.0.0.254:67',
    )!;
    expect(s66).toMatchObject({ nextServer: 'wds.example', bootFile: 'boot\\x64\\wdsnbp.com' });
    const proxy = parseProbeReply(
      decode(
        reply(req, {
          server: '10.0.0.253',
          opts: [
            [60, 'PXEClient'],
            [43, [6, 1, 3, 10, 4, 0, 80, 88, 69, 9, 4, 0x80, 0, 1, 65, 255]],
          ],
        }),
      ),
      '10.0.0.253:67',
    )!;
    expect(proxy).toMatchObject({
      kind: 'proxy',
      serverId: '10.0.0.253',
      vendorClass: 'PXEClient',
      pxeMenu: true,
    });
    expect(proxy.offeredAddress).toBeUndefined();
  });

  it('ignores requests, NAKs and hostile text (kept printable)', () => {
    expect(parseProbeReply(req, '1.2.3.4:68')).toBeUndefined();
    expect(parseProbeReply(decode(reply(req, { server: '10.0.0.1', type: 6 })), 'x')).toBeUndefined();
    const evil = parseProbeReply(
      decode(reply(req, { yiaddr: '10.0.0.9', server: '10.0.0.254', opts: [[67, '<script>\x01\x1b[31m']] })),
      's',
    )!;
    expect(evil.bootFile).toBe('<script>??[31m');
  });
});

describe('policy (pure)', () => {
  const dhcp: ProbeServer = {
    serverId: '10.0.0.254',
    source: '10.0.0.254:67',
    kind: 'dhcp',
    offeredAddress: '10.0.0.9',
  };
  const proxy: ProbeServer = {
    serverId: '10.0.0.253',
    source: '10.0.0.253:67',
    kind: 'proxy',
    pxeMenu: true,
  };

  it('no server: full DHCP allowed, proxy warned that clients get no address', () => {
    const a = assessProbe([]);
    expect(a.refuse).toBeUndefined();
    expect(a.warnings).toEqual([NO_DHCP_SERVER]);
    const r = { iface: 'eth0', probeMac: 'x', startedAt: 0, durationMs: 0, servers: [], ...a };
    expect(warningsFor(r, 'proxy')).toEqual([NO_DHCP_SERVER]);
    expect(warningsFor(r, 'dhcp')).toEqual([]);
    expect(probeRefusal(r, 'dhcp')).toBeUndefined();
  });

  it('a DHCP server: full DHCP refused (names it), proxy allowed without warnings', () => {
    const a = assessProbe([dhcp]);
    expect(a.refuse?.dhcp).toMatch(/10\.0\.0\.254.*proxy mode/);
    expect(a.refuse?.proxy).toBeUndefined();
    expect(a.warnings).toEqual([]);
  });

  it('warns about another proxyDHCP and about a site server handing out boot files', () => {
    const a = assessProbe([{ ...dhcp, bootFile: 'pxelinux.0' }, proxy]);
    expect(a.warnings.join('\n')).toMatch(
      /proxyDHCP\/PXE server answers here \(10\.0\.0\.253 \(a PXE menu\)\)/,
    );
    expect(a.warnings.join('\n')).toMatch(
      /already hands out boot options \(10\.0\.0\.254 \(boot file pxelinux\.0\)\)/,
    );
  });
});

describe('DhcpProbe with an in-memory network', () => {
  function setup(answer: (req: DhcpMessage, t: MemoryTransport) => void, own?: string[]) {
    const t = new MemoryTransport();
    let n = 0;
    const probe = new DhcpProbe({
      transport: t,
      iface: 'eth0',
      windowMs: 500,
      ...(own ? { ownAddresses: own } : {}),
      random: (size) => Uint8Array.from({ length: size }, () => (n++ * 37) & 255),
      clock: { now: () => 1000 },
      sleep: async () => {
        const sent = t.sent.find((s) => messageType(decode(s.data)) === 1);
        if (sent) answer(decode(sent.data), t);
      },
    });
    return { t, probe };
  }
  const from = (address: string) => ({ channel: 'dhcp-client' as const, source: { address, port: 67 } });

  it('collects every server, dedupes repeats, releases only what it was offered, skips our own address', async () => {
    const { t, probe } = setup(
      (req, tr) => {
        tr.inject({
          ...from('10.0.0.254'),
          data: reply(req, { yiaddr: '10.0.0.120', server: '10.0.0.254' }),
        });
        tr.inject({
          ...from('10.0.0.254'),
          data: reply(req, { yiaddr: '10.0.0.120', server: '10.0.0.254' }),
        });
        tr.inject({
          ...from('10.0.0.253'),
          data: reply(req, { server: '10.0.0.253', opts: [[60, 'PXEClient']] }),
        });
        tr.inject({
          ...from('10.0.0.1'),
          data: reply(req, { server: '10.0.0.1', opts: [[60, 'PXEClient']] }),
        });
        tr.inject({ ...from('10.0.0.66'), data: Buffer.from('garbage') });
        // Someone else's offer (another xid/MAC): the server exists, its details are not ours.
        const other = {
          ...req,
          xid: 99,
          chaddr: Buffer.from([0x52, 0x54, 0, 1, 2, 3, ...Array(10).fill(0)]),
        };
        tr.inject({
          ...from('10.0.0.250'),
          data: reply(other, { yiaddr: '10.0.0.77', server: '10.0.0.250', file: 'x.0' }),
        });
      },
      ['10.0.0.1'],
    );
    const r = await probe.run();
    expect(t.opened.has('dhcp-client')).toBe(true); // the caller owns (and closes) the transport
    expect(r.servers.map((s) => `${s.kind} ${s.serverId}`)).toEqual([
      'dhcp 10.0.0.250',
      'dhcp 10.0.0.254',
      'proxy 10.0.0.253',
    ]);
    expect(r.servers[0]).toEqual({ serverId: '10.0.0.250', source: '10.0.0.250:67', kind: 'dhcp' });
    expect(r.refuse?.dhcp).toMatch(/10\.0\.0\.250, 10\.0\.0\.254/);
    const sent = t.sent.map((s) => ({ to: s.to, m: decode(s.data) }));
    expect(sent.map((s) => messageType(s.m))).toEqual([1, 7]);
    expect(sent.every((s) => s.to.address === '255.255.255.255' && s.to.port === 67)).toBe(true);
    expect(sent[1]!.m.ciaddr).toBe('10.0.0.120');
    expect(macOf(sent[1]!.m)).toBe(r.probeMac);
  });

  it('no answer: empty result with the proxy-mode warning, nothing released', async () => {
    const { t, probe } = setup(() => undefined);
    const r = await probe.run();
    expect(r.servers).toEqual([]);
    expect(r.warnings).toEqual([NO_DHCP_SERVER]);
    expect(t.sent.length).toBe(1);
  });
});

describe('probeInterface refuses before opening any socket', () => {
  const nic = (o: object) => () =>
    Promise.resolve([
      {
        name: 'eth0',
        type: 'wired' as const,
        up: true,
        ipv4: { address: '10.0.0.1', prefixLength: 24 },
        ...o,
      },
    ]);
  it('missing, down or address-less NICs, and plain sockets when the broadcast route is another NIC', async () => {
    await expect(probeInterface({ iface: 'eth9', interfaces: nic({}) })).rejects.toMatchObject({
      code: 'iface-missing',
    });
    await expect(probeInterface({ iface: 'eth0', interfaces: nic({ up: false }) })).rejects.toMatchObject({
      code: 'iface-down',
    });
    await expect(
      probeInterface({ iface: 'eth0', interfaces: nic({ ipv4: undefined }) }),
    ).rejects.toMatchObject({
      code: 'iface-no-ipv4',
    });
    await expect(
      probeInterface({
        iface: 'eth0',
        interfaces: nic({}),
        platform: 'linux',
        helperPath: '/nonexistent/helper',
        // The OS would send the broadcast out of another NIC: refused before any socket is bound.
        broadcastRoute: () => ({ kind: 'device', device: 'wlan0' }),
      }),
    ).rejects.toMatchObject({ code: 'unpinned-broadcast', message: expect.stringMatching(/eth0/) });
  });
});

describe('hostile input on port 68', () => {
  it('random and mutated datagrams during the window never throw and never become servers', async () => {
    const t = new MemoryTransport();
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255;
    const probe = new DhcpProbe({
      transport: t,
      iface: 'eth0',
      windowMs: 100,
      random: (n) => Uint8Array.from({ length: n }, rnd),
      sleep: async () => {
        const sent = decode(t.sent[0]!.data);
        const good = reply(sent, {
          yiaddr: '10.0.0.9',
          server: '10.0.0.254',
          opts: [[Opt.dns, [1, 1, 1, 1]]],
        });
        for (let i = 0; i < 3000; i++) {
          const data =
            i % 2 === 0
              ? Uint8Array.from({ length: rnd() * 3 }, rnd)
              : Uint8Array.from(good, (b, j) => (j > 236 && rnd() < 8 ? rnd() : b));
          expect(() =>
            t.inject({ channel: 'dhcp-client', source: { address: '10.0.0.66', port: 67 }, data }),
          ).not.toThrow();
        }
      },
    });
    const r = await probe.run();
    // Whatever survived decoding is at most a well-formed OFFER/ACK; every listed field is printable.
    for (const s of r.servers) {
      expect(['dhcp', 'proxy']).toContain(s.kind);
      for (const v of [s.bootFile, s.nextServer, s.vendorClass]) if (v) expect(v).toMatch(/^[\x20-\x7e]*$/);
    }
  });
});
