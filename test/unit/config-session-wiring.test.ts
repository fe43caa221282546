/**
 * Config → engines: the seed-tool settings must take effect, not only parse. With fake engines the
 * test sees exactly what the session hands the proxy engine (file server, chain target, option 43),
 * and feeds a DHCPREQUEST through the transport to check the timeline learns IP → MAC from it.
 */
import { describe, expect, it } from 'vitest';
import { SessionController } from '../../app/core/session/index.js';
import { encode, MessageType, Opt, type DhcpMessage } from '../../app/engines/dhcp/index.js';
import type { Datagram } from '../../app/shared/datagram-transport.js';
import type { TransferEvent } from '../../app/shared/events.js';
import type { NicInfo } from '../../app/shared/session-types.js';
import { fakeEngines, type EngineName } from '../helpers/fake-engine.js';
import { MemoryTransport } from '../helpers/memory-transport.js';

/** Fake engines that record the options the session built for them; `deliver` plays a datagram in. */
function setup() {
  const transport = new MemoryTransport();
  const { factory, made, engine } = fakeEngines(transport);
  const nics: NicInfo[] = [
    { name: 'eth0', type: 'wired', up: true, ipv4: { address: '10.0.0.1', prefixLength: 24 } },
  ];
  const session = new SessionController({
    engines: factory,
    interfaces: async () => nics,
    folderExists: () => true,
  });
  const deliver = (d: Datagram): void => transport.inject(d);
  return { session, made, deliver, engine: (n: EngineName) => engine(n)! };
}

function request(mac: string, opts: Array<[number, Buffer]>, ciaddr = '0.0.0.0'): Uint8Array {
  const msg: DhcpMessage = {
    op: 1,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: 7,
    secs: 0,
    flags: 0x8000,
    ciaddr,
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr: Buffer.concat([Buffer.from(mac.split(':').map((h) => parseInt(h, 16))), Buffer.alloc(10)]),
    sname: '',
    file: '',
    options: new Map<number, Buffer>([[Opt.messageType, Buffer.from([MessageType.Request])], ...opts]),
    hasCookie: true,
  };
  return encode(msg);
}

const from = { address: '0.0.0.0', port: 68 };
const ip = (s: string) => Buffer.from(s.split('.').map(Number));

describe('seed-tool settings reach the engines', () => {
  it('-f: siaddr / URL host is the file server; our endpoints stay ours', async () => {
    const t = setup();
    const snap = await t.session.start({
      mode: 'proxy',
      root: '/srv',
      iface: 'eth0',
      fileServer: '10.0.0.5',
    });
    expect(snap.state).toBe('running');
    expect(t.engine('proxy').opts).toMatchObject({
      serverAddress: '10.0.0.1',
      boot: { serverAddress: '10.0.0.1', tftpServer: '10.0.0.5', httpBaseUrl: 'http://10.0.0.5:8080' },
    });
    expect(snap.endpoints).toMatchObject({ tftp: '10.0.0.1:69', http: 'http://10.0.0.1:8080/' });
    await t.session.stop();
  });

  it('chain target: a URL as is, a bare file as our HTTP URL; option 43 as bytes', async () => {
    const t = setup();
    await t.session.start({
      mode: 'proxy',
      root: '/srv',
      iface: 'eth0',
      chainloadUrl: 'tftp://10.0.0.9/menu.ipxe',
      vendorOptions: '06:01:08:ff',
    });
    expect(t.engine('proxy').opts).toMatchObject({ boot: { chainloadUrl: 'tftp://10.0.0.9/menu.ipxe' } });
    expect([...(t.engine('proxy').opts.vendorOptions as Uint8Array)]).toEqual([6, 1, 8, 255]);
    await t.session.stop();

    const u = setup();
    await u.session.start({ mode: 'proxy', root: '/srv', iface: 'eth0', chainloadUrl: 'menus/a.ipxe' });
    expect(u.engine('proxy').opts).toMatchObject({
      boot: { chainloadUrl: 'http://10.0.0.1:8080/menus/a.ipxe' },
    });
    expect(u.engine('proxy').opts.vendorOptions).toBeUndefined();
    await u.session.stop();
  });

  it('proxy: a DHCPREQUEST (option 50) of a known PXE client binds its IP before the TFTP download', async () => {
    const t = setup();
    await t.session.start({ mode: 'proxy', root: '/srv', iface: 'eth0' });
    const mac = '52:54:00:aa:bb:01';
    t.engine('proxy').emit({
      engine: 'proxy',
      type: 'discover',
      time: 1,
      client: { mac, firmware: 'bios', arch: 0 },
    });
    t.engine('proxy').emit({
      engine: 'proxy',
      type: 'offer',
      time: 2,
      client: { mac },
      bootFile: 'undionly.kpxe',
    });
    // The proxy engine reports every REQUEST it overhears on 67 (test/unit/dhcp-servers.test.ts shows
    // how it reads them); the session decodes nothing itself. A laptop on the site LAN renewing its
    // lease: not ours, no record. Raw datagrams on the transport are not the session's business.
    t.engine('proxy').emit({
      engine: 'proxy',
      type: 'request',
      time: 3,
      xid: 7,
      ip: '10.0.0.77',
      client: { mac: '3c:22:fb:00:00:01' },
    });
    t.deliver({ channel: 'dhcp', source: from, data: request(mac, [[Opt.requestedIp, ip('10.0.0.99')]]) });
    t.engine('proxy').emit({
      engine: 'proxy',
      type: 'request',
      time: 3,
      xid: 7,
      ip: '10.0.0.57',
      server: '10.0.0.254',
      client: { mac },
    });
    const start: TransferEvent = {
      engine: 'tftp',
      type: 'start',
      time: 4,
      transferId: 'x',
      client: { address: '10.0.0.57', port: 2070 },
      file: 'undionly.kpxe',
      bytes: 0,
    };
    t.engine('tftp').emit(start);
    const clients = t.session.snapshot().clients;
    expect(clients.map((c) => c.mac)).toEqual([mac]);
    expect(clients[0]).toMatchObject({ ip: '10.0.0.57', stage: 'tftp' });
    expect(clients[0]!.timeline.map((e) => e.text)).toEqual([
      'DISCOVER (BIOS)',
      'OFFER → undionly.kpxe',
      'REQUEST 10.0.0.57 from 10.0.0.254',
      'TFTP undionly.kpxe',
    ]);
    expect(clients[0]!.timeline[2]!.stage).toBe('offered'); // progress, not a restart
    // A network-boot client (the engine's netboot flag) joins at its first REQUEST, before any DISCOVER
    // reached us.
    const rom = '52:54:00:aa:bb:03';
    t.engine('proxy').emit({
      engine: 'proxy',
      type: 'request',
      time: 5,
      xid: 8,
      ip: '10.0.0.58',
      client: { mac: rom, netboot: true, vendorClass: 'PXEClient:Arch:00000:UNDI:002001' },
    });
    expect(t.session.snapshot().clients.find((c) => c.mac === rom)).toMatchObject({ ip: '10.0.0.58' });
    await t.session.stop();
  });
});
