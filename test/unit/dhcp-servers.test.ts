import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BootConfig } from '../../app/engines/dhcp/boot-decision.js';
import {
  DhcpServer,
  Opt,
  ProxyDhcpServer,
  decode,
  messageType,
  subOptions,
} from '../../app/engines/dhcp/index.js';
import type { DhcpEvent } from '../../app/shared/events.js';
import type { DhcpPoolConfig } from '../../app/shared/session-types.js';
import { MemoryTransport } from '../helpers/memory-transport.js';
import { MAC, MAC_TEXT, UUID, build, ip, pxeDiscover, setIp, vc } from '../helpers/dhcp-packets.js';
import { readPcapUdp } from '../helpers/pcap.js';

const pcaps = join(import.meta.dirname, '../fixtures/pcaps');
const real = (name: string) => readPcapUdp(join(pcaps, name));
const boot: BootConfig = {
  mode: 'proxy',
  serverAddress: '10.0.0.1',
  tftpServer: '10.0.0.1',
  httpBaseUrl: 'http://10.0.0.1:8080',
};

async function proxy() {
  const t = new MemoryTransport();
  const s = new ProxyDhcpServer({ transport: t, serverAddress: '10.0.0.1', boot });
  const events: DhcpEvent[] = [];
  s.onEvent((e) => events.push(e));
  await s.start();
  const send = (data: Buffer, channel: 'dhcp' | 'pxe' = 'dhcp', source = { address: '0.0.0.0', port: 68 }) =>
    t.inject({ channel, data, source });
  return { t, s, events, send };
}

describe('ProxyDhcpServer (catalogue P)', () => {
  it('P1 BIOS DISCOVER: broadcast OFFER with 43=06 01 08 FF, yiaddr 0, file = 67', async () => {
    const { t, send, events } = await proxy();
    send(pxeDiscover(0));
    const [out] = t.drain();
    expect(out?.channel).toBe('dhcp');
    expect(out?.to).toEqual({ address: '255.255.255.255', port: 68 });
    const m = decode(out!.data);
    expect(m.op).toBe(2);
    expect(m.xid).toBe(0xcafe0001);
    expect(m.yiaddr).toBe('0.0.0.0');
    expect(m.siaddr).toBe('10.0.0.1');
    expect(m.file).toBe('undionly.kpxe');
    expect(m.options.get(Opt.bootFile)?.toString()).toBe('undionly.kpxe\0');
    expect(messageType(m)).toBe(2);
    expect([...m.options.get(Opt.serverId)!]).toEqual(ip('10.0.0.1'));
    expect(m.options.get(Opt.vendorClass)?.toString()).toBe('PXEClient');
    expect([...m.options.get(Opt.clientUuid)!]).toEqual(UUID);
    expect(m.options.get(Opt.vendorSpecific)?.toString('hex')).toBe('060108ff');
    for (const o of [1, 3, 51, 52]) expect(m.options.has(o)).toBe(false);
    expect(out!.data.length).toBeGreaterThanOrEqual(300);
    expect(events.map((e) => e.type)).toEqual(['discover', 'offer']);
    expect(events[1]?.engine).toBe('proxy');
  });
  it('P2 giaddr: unicast to relay:67; P3 no 97 echoed when absent', async () => {
    const { t, send } = await proxy();
    send(pxeDiscover(0, [], (b) => Buffer.from(ip('10.1.0.1')).copy(b, 24)));
    const [out] = t.drain();
    expect(out?.to).toEqual({ address: '10.1.0.1', port: 67 });
    expect(decode(out!.data).giaddr).toBe('10.1.0.1');
    send(build(1, [60, 32, ...vc(0), 93, 2, 0, 0]));
    expect(decode(t.drain()[0]!.data).options.has(Opt.clientUuid)).toBe(false);
  });
  it('P4/P5/P6 plain DHCP, Apple BSDP and REQUESTs get no reply', async () => {
    const { t, send, s } = await proxy();
    send(build(1, [55, 2, 1, 3]));
    send(build(1, [60, 21, ...Buffer.from('AAPLBSDPC/i386/iMac4,1')]));
    send(build(3, [60, 32, ...vc(0), 93, 2, 0, 0, 54, 4, 10, 0, 0, 9]));
    expect(t.drain()).toEqual([]);
    expect(s.counters().sent).toBe(0);
  });
  it('P7 UEFI x64: OFFER without 43; 4011 REQUEST answered to source address and port 4011', async () => {
    const { t, send, events } = await proxy();
    send(pxeDiscover(7));
    const offer = decode(t.drain()[0]!.data);
    expect(offer.options.has(Opt.vendorSpecific)).toBe(false);
    expect(offer.siaddr).toBe('10.0.0.1');
    const req = build(3, [60, 32, ...vc(7), 93, 2, 0, 7, 97, 17, ...UUID], (b) =>
      Buffer.from(ip('10.0.0.50')).copy(b, 12),
    );
    send(req, 'pxe', { address: '10.0.0.50', port: 4011 });
    const [ack] = t.drain();
    expect(ack?.channel).toBe('pxe');
    expect(ack?.to).toEqual({ address: '10.0.0.50', port: 4011 });
    const m = decode(ack!.data);
    expect(messageType(m)).toBe(5);
    expect(m.file).toBe('snponly.efi');
    expect(m.siaddr).toBe('10.0.0.1');
    expect([...m.options.get(Opt.clientUuid)!]).toEqual(UUID);
    expect(events.map((e) => e.type)).toContain('pxe-ack');
  });
  it('P8 4011 request from port 68 gets its answer on 68', async () => {
    const { t, send } = await proxy();
    send(build(3, [60, 32, ...vc(0), 93, 2, 0, 0]), 'pxe', { address: '10.0.0.60', port: 68 });
    expect(t.drain()[0]?.to).toEqual({ address: '10.0.0.60', port: 68 });
  });
  it('P9/P10/P11 boot-server item echo, BIS refused, unknown type refused', async () => {
    const { t, send, events } = await proxy();
    const src = { address: '10.0.0.60', port: 4011 };
    send(build(3, [60, 32, ...vc(0), 93, 2, 0, 0, 43, 7, 71, 4, 0x80, 1, 0, 0, 255]), 'pxe', src);
    const m = decode(t.drain()[0]!.data);
    expect(subOptions(m.options.get(Opt.vendorSpecific)).get(71)?.toString('hex')).toBe('80010000');
    expect(m.options.get(Opt.vendorSpecific)?.at(-1)).toBe(255);
    expect(m.file).toBe('undionly.kpxe');
    send(build(3, [60, 32, ...vc(0), 93, 2, 0, 0, 43, 7, 71, 4, 0x80, 1, 0x80, 0, 255]), 'pxe', src);
    send(build(3, [60, 32, ...vc(0), 93, 2, 0, 0, 43, 7, 71, 4, 0x99, 0x99, 0, 0, 255]), 'pxe', src);
    expect(t.drain()).toEqual([]);
    expect(events.filter((e) => e.type === 'refusal').map((e) => e.reason)).toHaveLength(2);
    expect(events.filter((e) => e.type === 'refusal').map((e) => e.refusal)).toEqual([
      'bis-unsupported',
      'unknown-menu-item',
    ]);
  });
  it('overheard REQUESTs on 67: one event each with the address (50, else ciaddr), 54 and the netboot flag; never answered', async () => {
    const { t, send, events, s } = await proxy();
    // SELECTING: a PXE ROM takes the site server's offer (option 50 + 54 naming another server).
    send(build(3, [60, 32, ...vc(0), 93, 2, 0, 0, 50, 4, ...ip('10.0.0.60'), 54, 4, ...ip('10.0.0.254')]));
    // RENEWING: a laptop (no option 60) with its address in ciaddr.
    const laptop = [0x3c, 0x22, 0xfb, 0, 0, 1];
    send(build(3, [55, 2, 1, 3], setIp(12, '10.0.0.61'), laptop));
    // Nothing to learn: no option 50, ciaddr 0.
    send(build(3, [60, 32, ...vc(0)]));
    // A DISCOVER with option 50 is not a REQUEST; garbage is counted, not reported.
    send(build(1, [55, 2, 1, 3, 50, 4, ...ip('10.0.0.62')]));
    send(Buffer.from([1, 2, 3]));
    expect(t.drain()).toEqual([]);
    expect(s.counters().sent).toBe(0);
    const requests = events.filter((e) => e.type === 'request');
    expect(requests).toEqual([
      expect.objectContaining({
        engine: 'proxy',
        ip: '10.0.0.60',
        server: '10.0.0.254',
        xid: 0xcafe0001,
        client: expect.objectContaining({ mac: MAC_TEXT, netboot: true, firmware: 'bios', arch: 0 }),
      }),
      expect.objectContaining({ ip: '10.0.0.61', client: { mac: '3c:22:fb:00:00:01' } }),
    ]);
    expect(requests[1]).not.toHaveProperty('server');
    expect(s.counters().malformed).toBe(1);
  });
  it('P15 per-MAC reply delay', async () => {
    const t = new MemoryTransport();
    const s = new ProxyDhcpServer({ transport: t, serverAddress: '10.0.0.1', boot, replyDelayMs: () => 150 });
    await s.start();
    const t0 = Date.now();
    t.inject({ channel: 'dhcp', data: pxeDiscover(0), source: { address: '0.0.0.0', port: 68 } });
    expect(t.sent).toHaveLength(0);
    while (t.sent.length === 0 && Date.now() - t0 < 1000) await new Promise((r) => setTimeout(r, 10));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(t.sent).toHaveLength(1);
    await s.stop();
  });
  it('P16 retransmits: one OFFER each, same bytes', async () => {
    const { t, send } = await proxy();
    for (let i = 0; i < 3; i++) send(pxeDiscover(0));
    const out = t.drain();
    expect(out).toHaveLength(3);
    expect(out[1]!.data.equals(out[0]!.data)).toBe(true);
  });
  it('P17/I2 real iPXE DISCOVER from the lab: siaddr + script URL, no 175.176 in proxy mode', async () => {
    const { t, send } = await proxy();
    send(real('bios-proxy-tftp.pcap')[0]!.payload);
    const m = decode(t.drain()[0]!.data);
    expect(m.siaddr).toBe('10.0.0.1');
    expect(m.file).toBe('http://10.0.0.1:8080/boot.ipxe?mac=52:54:00:77:00:01&arch=bios');
    expect(m.options.has(Opt.ipxeEncap)).toBe(false);
  });
  it('real OVMF DISCOVER and 4011 request from the lab', async () => {
    const { t, send } = await proxy();
    const pk = real('uefi-proxy-tftp.pcap');
    send(pk[0]!.payload);
    expect(decode(t.drain()[0]!.data).options.has(Opt.vendorSpecific)).toBe(false);
    const r = pk.find((p) => p.dstPort === 4011)!;
    send(r.payload, 'pxe', { address: r.srcIp, port: r.srcPort });
    const [ack] = t.drain();
    expect(ack?.to).toEqual({ address: '192.168.77.100', port: 4011 });
    expect(decode(ack!.data).file).toBe('snponly.efi');
  });
  it('U4 HTTP boot proxy OFFER: HTTPClient + URL, no 43', async () => {
    const { t, send } = await proxy();
    send(real('uefi-httpboot.pcap')[0]!.payload);
    const m = decode(t.drain()[0]!.data);
    expect(m.options.get(Opt.vendorClass)?.toString()).toBe('HTTPClient');
    expect(m.file).toBe('http://10.0.0.1:8080/snponly.efi');
    expect(m.options.has(Opt.vendorSpecific)).toBe(false);
    expect(m.yiaddr).toBe('0.0.0.0');
  });
  it('D4/malformed: dropped and counted; D30 per-MAC rate limit', async () => {
    const { t, send, s } = await proxy();
    send(Buffer.alloc(10));
    send(pxeDiscover(0, [], (b) => (b[0] = 2)));
    expect(s.counters().malformed).toBe(1);
    for (let i = 0; i < 100; i++) send(pxeDiscover(0));
    expect(t.drain().length).toBeLessThan(30);
    expect(s.counters().rateLimited).toBeGreaterThan(70);
  });
});

const pool = {
  rangeStart: '10.0.0.100',
  rangeEnd: '10.0.0.102',
  prefixLength: 24,
  router: '10.0.0.1',
  dns: ['10.0.0.1'],
};
let tmp: string | undefined;
afterEach(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

async function full(extra: Partial<DhcpPoolConfig> = {}) {
  const t = new MemoryTransport();
  const s = new DhcpServer({
    transport: t,
    serverAddress: '10.0.0.1',
    pool: { ...pool, ...extra },
    boot: { ...boot, mode: 'dhcp' },
  });
  const events: DhcpEvent[] = [];
  s.onEvent((e) => events.push(e));
  await s.start();
  const send = (data: Buffer) =>
    t.inject({ channel: 'dhcp', data, source: { address: '0.0.0.0', port: 68 } });
  return { t, s, events, send };
}
const req = (opts: number[], patch?: (b: Buffer) => void, mac = MAC) => build(3, opts, patch, mac);

describe('DhcpServer (catalogue F)', () => {
  it('F1/F2 UEFI DISCOVER → OFFER with lease options and PXE fields; REQUEST → ACK', async () => {
    const { t, send, events } = await full();
    send(pxeDiscover(7));
    const o = decode(t.drain()[0]!.data);
    expect(o.yiaddr).toBe('10.0.0.100');
    expect(messageType(o)).toBe(2);
    for (const c of [1, 3, 6, 51, 54, 58, 59]) expect(o.options.has(c)).toBe(true);
    expect(o.options.get(Opt.vendorSpecific)?.toString('hex')).toBe('060108ff');
    expect(o.file).toBe('snponly.efi');
    expect(o.options.get(Opt.bootFile)?.toString()).toBe('snponly.efi\0');
    expect(o.siaddr).toBe('10.0.0.1');
    send(req([50, 4, ...ip('10.0.0.100'), 54, 4, ...ip('10.0.0.1'), 60, 32, ...vc(7), 93, 2, 0, 7]));
    const [a] = t.drain();
    const m = decode(a!.data);
    expect(messageType(m)).toBe(5);
    expect(m.yiaddr).toBe('10.0.0.100');
    expect(m.file).toBe('snponly.efi');
    expect(a?.to).toEqual({ address: '255.255.255.255', port: 68 });
    expect(events.map((e) => e.type)).toEqual(['discover', 'offer', 'request', 'ack']);
  });
  it('F3 REQUEST for another server releases our offer', async () => {
    const { t, send, s } = await full();
    send(pxeDiscover(7));
    t.drain();
    send(req([50, 4, ...ip('10.0.0.100'), 54, 4, ...ip('10.0.0.9')]));
    expect(t.drain()).toEqual([]);
    expect(s.leaseList()).toEqual([]);
  });
  it('F4 INIT-REBOOT for a foreign or taken address: broadcast NAK with 54', async () => {
    const { t, send } = await full();
    send(req([50, 4, ...ip('192.168.1.5')]));
    const [n] = t.drain();
    const m = decode(n!.data);
    expect(messageType(m)).toBe(6);
    expect(m.options.has(Opt.serverId)).toBe(true);
    expect(n?.to.address).toBe('255.255.255.255');
    send(pxeDiscover(7));
    send(req([50, 4, ...ip('10.0.0.100'), 54, 4, ...ip('10.0.0.1')]));
    t.drain();
    send(req([50, 4, ...ip('10.0.0.100')], undefined, [1, 2, 3, 4, 5, 6]));
    expect(messageType(decode(t.drain()[0]!.data))).toBe(6);
  });
  it('F6 INFORM: ACK to ciaddr:68 without yiaddr or lease time', async () => {
    const { t, send } = await full();
    send(build(8, [], (b) => Buffer.from(ip('10.0.0.77')).copy(b, 12)));
    const [a] = t.drain();
    expect(a?.to).toEqual({ address: '10.0.0.77', port: 68 });
    const m = decode(a!.data);
    expect(m.yiaddr).toBe('0.0.0.0');
    expect(m.options.has(Opt.leaseTime)).toBe(false);
  });
  it('F7 relay in our subnet → reply to giaddr:67; relay elsewhere ignored', async () => {
    const { t, send } = await full();
    send(pxeDiscover(0, [], (b) => Buffer.from(ip('10.0.0.254')).copy(b, 24)));
    expect(t.drain()[0]?.to).toEqual({ address: '10.0.0.254', port: 67 });
    send(pxeDiscover(0, [], (b) => Buffer.from(ip('10.9.0.1')).copy(b, 24)));
    expect(t.drain()).toEqual([]);
  });
  it('F8 pool exhausted: no OFFER, refusal event', async () => {
    const { t, send, events } = await full();
    for (let i = 0; i < 4; i++) send(build(1, [], undefined, [2, 0, 0, 0, 0, i]));
    expect(t.drain()).toHaveLength(3);
    expect(events.at(-1)?.reason).toMatch(/exhausted/);
    expect(events.at(-1)?.refusal).toBe('pool-exhausted');
  });
  it('any prefix: /28 subnet mask and broadcast; I6 175.176=1 for iPXE in full mode', async () => {
    const { t, send } = await full({ rangeStart: '172.16.5.2', rangeEnd: '172.16.5.14', prefixLength: 28 });
    send(
      real('uefi-full-tftp.pcap').find((p, i) => i > 0 && p.dstPort === 67 && p.payload.length === 391)!
        .payload,
    );
    const m = decode(t.drain()[0]!.data);
    expect(m.yiaddr).toBe('172.16.5.2');
    expect([...m.options.get(Opt.subnetMask)!]).toEqual([255, 255, 255, 240]);
    expect([...m.options.get(Opt.broadcast)!]).toEqual([172, 16, 5, 15]);
    expect(m.file).toMatch(/^http:\/\/10\.0\.0\.1:8080\/boot\.ipxe\?mac=/);
    expect(m.options.get(Opt.ipxeEncap)?.toString('hex')).toBe('b00101');
  });
  it('static lease, RELEASE, DECLINE', async () => {
    const { t, send, s } = await full({
      staticLeases: [{ mac: '52:54:00:aa:bb:cc', ip: '10.0.0.50' }],
    });
    send(pxeDiscover(0));
    expect(decode(t.drain()[0]!.data).yiaddr).toBe('10.0.0.50');
    send(build(1, [], undefined, [9, 9, 9, 9, 9, 9]));
    t.drain();
    send(build(4, [50, 4, ...ip('10.0.0.100'), 54, 4, ...ip('10.0.0.1')], undefined, [9, 9, 9, 9, 9, 9]));
    expect(s.leaseList().find((l) => l.ip === '10.0.0.100')?.mac).toBe('declined:10.0.0.100');
    send(build(1, [], undefined, [9, 9, 9, 9, 9, 9]));
    expect(decode(t.drain()[0]!.data).yiaddr).toBe('10.0.0.101');
  });
  it('leases persist atomically and reload', async () => {
    tmp = mkdtempSync(join(tmpdir(), 'pxe-dhcp-'));
    const leasesFile = join(tmp, 'leases.json');
    const a = await full({ leasesFile });
    a.send(pxeDiscover(7));
    a.send(req([50, 4, ...ip('10.0.0.100'), 54, 4, ...ip('10.0.0.1')]));
    await a.s.stop();
    expect(JSON.parse(readFileSync(leasesFile, 'utf8')).leases[0].ip).toBe('10.0.0.100');
    const b = await full({ leasesFile });
    expect(b.s.leaseList().map((l) => l.ip)).toEqual(['10.0.0.100']);
    b.send(build(1, [], undefined, [7, 7, 7, 7, 7, 7]));
    expect(decode(b.t.drain()[0]!.data).yiaddr).toBe('10.0.0.101');
  });
});
