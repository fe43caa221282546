/**
 * Cases of docs/test-catalogue.md checked at the server level (bytes in, bytes and destination out) that the codec and
 * boot-decision tests cannot show alone: D12, D22, D26-D28, D30, I3, U3, F5, P15, P17; plus golden bytes
 * of our replies to real firmware packets from the lab captures (OVMF, iPXE).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BootConfig } from '../../app/engines/dhcp/boot-decision.js';
import { DhcpServer, Opt, ProxyDhcpServer, decode, messageType } from '../../app/engines/dhcp/index.js';
import type { DhcpEvent } from '../../app/shared/events.js';
import type { Clock, LogRecord } from '../../app/shared/runtime.js';
import { createLogger } from '../../app/shared/runtime.js';
import { UUID, build, ip, pxeDiscover, setIp, vc } from '../helpers/dhcp-packets.js';
import { MemoryTransport } from '../helpers/memory-transport.js';
import { readPcapUdp } from '../helpers/pcap.js';

const real = (name: string) => readPcapUdp(join(import.meta.dirname, '../fixtures/pcaps', name));
const boot: BootConfig = {
  mode: 'proxy',
  serverAddress: '10.0.0.1',
  tftpServer: '10.0.0.1',
  httpBaseUrl: 'http://10.0.0.1:8080',
};
const pool = { rangeStart: '10.0.0.100', rangeEnd: '10.0.0.120', prefixLength: 24, router: '10.0.0.1' };
const from68 = { address: '0.0.0.0', port: 68 };

async function servers(clock?: Clock, extra: { perMacRate?: number; globalRate?: number } = {}) {
  const tp = new MemoryTransport();
  const tf = new MemoryTransport();
  const proxy = new ProxyDhcpServer({
    transport: tp,
    serverAddress: '10.0.0.1',
    boot,
    ...(clock ? { clock } : {}),
    ...extra,
  });
  const full = new DhcpServer({
    transport: tf,
    serverAddress: '10.0.0.1',
    pool: { ...pool, dns: ['10.0.0.53'] },
    boot: { ...boot, mode: 'dhcp' },
    ...(clock ? { clock } : {}),
    ...extra,
  });
  await proxy.start();
  await full.start();
  const events: DhcpEvent[] = [];
  proxy.onEvent((e) => events.push(e));
  full.onEvent((e) => events.push(e));
  /** Plays one datagram to both servers; returns [proxy replies, full replies]. */
  const both = (data: Buffer, channel: 'dhcp' | 'pxe' = 'dhcp', source = from68) => {
    tp.inject({ channel, data, source });
    tf.inject({ channel, data, source });
    return [tp.drain(), tf.drain()] as const;
  };
  return { tp, tf, proxy, full, both, events };
}

describe('DHCP catalogue at the server level', () => {
  it('D12 BOOTP request (no option 53) gets no reply from either server', async () => {
    const { both } = await servers();
    const bootp = Buffer.concat([
      pxeDiscover(0).subarray(0, 240),
      Buffer.from([60, 32, ...vc(0), 93, 2, 0, 0, 255]),
    ]);
    expect(both(bootp)).toEqual([[], []]);
  });

  it('D22 malformed option 97 (16 bytes; 17 with type 1) is never echoed; the client is still answered', async () => {
    const { both } = await servers();
    for (const bad of [
      [97, 16, ...UUID.slice(1)],
      [97, 17, 1, ...UUID.slice(1)],
    ]) {
      const [[p], [f]] = both(build(1, [60, 32, ...vc(0), 93, 2, 0, 0, ...bad]));
      for (const out of [p, f]) {
        const m = decode(out!.data);
        expect(m.options.has(Opt.clientUuid)).toBe(false);
        expect(m.file).toBe('undionly.kpxe');
      }
    }
  });

  it('D26 giaddr set with hops = 16: the reply still goes to giaddr:67', async () => {
    const { both } = await servers();
    const relayed = pxeDiscover(0, [], (b) => {
      b[3] = 16;
      setIp(24, '10.0.0.254')(b);
    });
    const [[p], [f]] = both(relayed);
    expect(p?.to).toEqual({ address: '10.0.0.254', port: 67 });
    expect(f?.to).toEqual({ address: '10.0.0.254', port: 67 });
    expect(decode(p!.data).hops).toBe(0);
  });

  it('D27 DISCOVER with ciaddr set (buggy client): broadcast reply, ciaddr 0 in the OFFER', async () => {
    const { both } = await servers();
    const [[p], [f]] = both(pxeDiscover(0, [], setIp(12, '10.0.0.77')));
    expect(p?.to).toEqual({ address: '255.255.255.255', port: 68 });
    expect(f?.to).toEqual({ address: '255.255.255.255', port: 68 });
    expect(decode(f!.data).ciaddr).toBe('0.0.0.0');
    expect(decode(f!.data).yiaddr).toBe('10.0.0.100');
  });

  it('D28 option 57 = 100: replies still built and no larger than 576 − 28', async () => {
    const { both } = await servers();
    const [[p], [f]] = both(pxeDiscover(7, [57, 2, 0, 100]));
    for (const out of [p, f]) {
      expect(out).toBeDefined();
      expect(out!.data.length).toBeGreaterThanOrEqual(300);
      expect(out!.data.length).toBeLessThanOrEqual(548);
    }
  });

  it('I3 user class in RFC 3004 form (04 iPXE) is iPXE: the script URL, never undionly.kpxe', async () => {
    const { both } = await servers();
    const [[p], [f]] = both(pxeDiscover(0, [77, 5, 4, ...Buffer.from('iPXE')]));
    for (const out of [p, f]) {
      expect(decode(out!.data).file).toBe('http://10.0.0.1:8080/boot.ipxe?mac=52:54:00:aa:bb:cc&arch=bios');
    }
  });

  it('U3 HTTP boot in full mode: OFFER with 60=HTTPClient, IP-literal URL in file and 67, DNS, no 43', async () => {
    const { tf } = await servers();
    const http = vc(16, 'HTTPClient');
    const d = build(1, [60, http.length, ...http, 93, 2, 0, 16, 55, 4, 1, 3, 6, 67]);
    tf.inject({ channel: 'dhcp', data: d, source: from68 });
    const m = decode(tf.drain()[0]!.data);
    expect(m.yiaddr).toBe('10.0.0.100');
    expect(m.options.get(Opt.vendorClass)?.toString()).toBe('HTTPClient');
    expect(m.file).toBe('http://10.0.0.1:8080/snponly.efi');
    expect(m.options.get(Opt.bootFile)?.toString()).toBe('http://10.0.0.1:8080/snponly.efi\0');
    expect([...m.options.get(Opt.dns)!]).toEqual(ip('10.0.0.53'));
    expect(m.options.has(Opt.vendorSpecific)).toBe(false);
  });

  it('U5 arm64 HTTP boot with only TFTP files configured: no reply, a warning in the log; deny lists only info', async () => {
    const logs: LogRecord[] = [];
    const t = new MemoryTransport();
    const s = new ProxyDhcpServer({
      transport: t,
      serverAddress: '10.0.0.1',
      boot: { ...boot, deny: ['02:00:00:00:00:09'] },
      logger: createLogger((r) => logs.push(r)),
    });
    await s.start();
    const http = vc(19, 'HTTPClient');
    t.inject({ channel: 'dhcp', data: build(1, [60, http.length, ...http, 93, 2, 0, 19]), source: from68 });
    expect(t.drain()).toEqual([]);
    expect(logs.find((r) => r.level === 'warn')?.fields?.reason).toMatch(
      /no boot file for UEFI ARM64 HTTP boot/,
    );
    t.inject({ channel: 'dhcp', data: pxeDiscover(0, [], undefined, [2, 0, 0, 0, 0, 9]), source: from68 });
    expect(t.drain()).toEqual([]);
    expect(logs.filter((r) => r.level === 'warn')).toHaveLength(1);
    expect(logs.at(-1)).toMatchObject({
      level: 'info',
      fields: { reason: '02:00:00:00:00:09 is on the deny list' },
    });
  });

  it('F5 full mode serves 4011: an EDK2 BINL request (60 without 43 elsewhere) gets the boot file at src:4011', async () => {
    const { tf } = await servers();
    const pk = real('uefi-proxy-tftp.pcap');
    const r = pk.find((p) => p.dstPort === 4011)!;
    tf.inject({ channel: 'pxe', data: r.payload, source: { address: r.srcIp, port: r.srcPort } });
    const [a] = tf.drain();
    expect(a?.channel).toBe('pxe');
    expect(a?.to).toEqual({ address: '192.168.77.100', port: 4011 });
    expect(messageType(decode(a!.data))).toBe(5);
    expect(decode(a!.data).file).toBe('snponly.efi');
  });

  it('P15 the proxy OFFER leaves in well under 200 ms (no reply delay configured)', async () => {
    const t = new MemoryTransport();
    const s = new ProxyDhcpServer({ transport: t, serverAddress: '10.0.0.1', boot });
    await s.start();
    const t0 = performance.now();
    t.inject({ channel: 'dhcp', data: pxeDiscover(0), source: from68 });
    expect(t.sent).toHaveLength(1);
    expect(performance.now() - t0).toBeLessThan(200);
  });

  it('P17 a 4011 REQUEST from iPXE naming us (54) is answered with siaddr and the script URL', async () => {
    const { tp } = await servers();
    const req = build(
      3,
      [
        60,
        32,
        ...vc(0),
        93,
        2,
        0,
        0,
        77,
        4,
        ...Buffer.from('iPXE'),
        175,
        3,
        177,
        1,
        1,
        54,
        4,
        ...ip('10.0.0.1'),
      ],
      setIp(12, '10.0.0.61'),
    );
    tp.inject({ channel: 'pxe', data: req, source: { address: '10.0.0.61', port: 68 } });
    const [a] = tp.drain();
    expect(a?.to).toEqual({ address: '10.0.0.61', port: 68 });
    const m = decode(a!.data);
    expect(m.siaddr).toBe('10.0.0.1');
    expect(m.file).toMatch(/^http:\/\/10\.0\.0\.1:8080\/boot\.ipxe\?mac=52:54:00:aa:bb:cc/);
  });

  it('D30 flood of 10 000 DISCOVERs/s from random MACs: bounded per-client state, limits per MAC and global, still answering', async () => {
    let now = 5_000_000;
    const clock: Clock = { now: () => now };
    const { proxy, full, tp, tf } = await servers(clock, { globalRate: 5_000 });
    const N = 60_000;
    for (let i = 0; i < N; i++) {
      now += 0.1; // 10 000 per second
      const mac = [2, (i >>> 24) & 255, (i >>> 16) & 255, (i >>> 8) & 255, i & 255, 7];
      const d = pxeDiscover(i % 2 ? 7 : 0, [], undefined, mac);
      tp.inject({ channel: 'dhcp', data: d, source: from68 });
      tf.inject({ channel: 'dhcp', data: d, source: from68 });
      if (i % 1000 === 0) {
        tp.drain();
        tf.drain();
      }
    }
    tp.drain();
    tf.drain();
    const ps = proxy.stateSizes();
    expect(ps.rate).toBeLessThanOrEqual(4096);
    expect(ps.remembered).toBeLessThanOrEqual(4096);
    const fs = full.stateSize();
    expect(fs.rate).toBeLessThanOrEqual(4096);
    expect(fs.remembered).toBeLessThanOrEqual(4096);
    expect(fs.leases).toBeLessThanOrEqual(21); // the pool, not the flood, bounds the leases
    // Global limit: at most ~5 000/s of the 10 000/s were answered.
    expect(proxy.counters().sent).toBeLessThanOrEqual(5_000 * (N / 10_000) + 5_000);
    expect(proxy.counters().rateLimited).toBeGreaterThan(N / 3);
    // One MAC hammering is limited per MAC (20/s by default) without starving others.
    for (let i = 0; i < 200; i++) {
      now += 1;
      tp.inject({ channel: 'dhcp', data: pxeDiscover(0), source: from68 });
    }
    expect(tp.drain().length).toBeLessThanOrEqual(30);
    now += 1_000;
    tp.inject({ channel: 'dhcp', data: pxeDiscover(0, [], undefined, [2, 9, 9, 9, 9, 9]), source: from68 });
    expect(tp.drain()).toHaveLength(1);
  });
});

describe('golden bytes: our replies to real firmware packets (lab captures)', () => {
  /** Expected reply, built by hand from RFC 2131 §2 and PXE 2.1 (docs/protocol-notes.md §1, §5) and the request's own bytes. */
  function expected(
    req: Buffer,
    fields: { flags: number; ciaddr?: number[]; siaddr: number[]; file?: string },
    options: number[],
  ): string {
    const b = Buffer.alloc(300);
    b[0] = 2;
    b[1] = 1;
    b[2] = 6;
    req.copy(b, 4, 4, 8); // xid
    b.writeUInt16BE(fields.flags, 10);
    Buffer.from(fields.ciaddr ?? [0, 0, 0, 0]).copy(b, 12);
    Buffer.from(fields.siaddr).copy(b, 20);
    req.copy(b, 24, 24, 44); // giaddr, chaddr
    b.write(fields.file ?? '', 108, 'latin1'); // same value as option 67 (iPXE reads file, EDK2 67)
    const opts = Buffer.from([99, 130, 83, 99, ...options, 255]);
    return Buffer.concat([b.subarray(0, 236), opts, b.subarray(236 + opts.length)]).toString('hex');
  }

  it('OVMF DISCOVER → proxy OFFER, and OVMF 4011 REQUEST → ACK, byte for byte', async () => {
    const t = new MemoryTransport();
    const s = new ProxyDhcpServer({
      transport: t,
      serverAddress: '192.168.77.1',
      boot: {
        ...boot,
        serverAddress: '192.168.77.1',
        tftpServer: '192.168.77.1',
        httpBaseUrl: 'http://192.168.77.1:8080',
      },
    });
    await s.start();
    const pk = real('uefi-proxy-tftp.pcap');
    const disc = pk[0]!.payload;
    t.inject({ channel: 'dhcp', data: disc, source: from68 });
    const uuid = [...decode(disc).options.get(Opt.clientUuid)!];
    const server = [192, 168, 77, 1];
    const file = [...Buffer.from('snponly.efi\0')];
    const offerOpts = [53, 1, 2, 54, 4, ...server, 60, 9, ...Buffer.from('PXEClient'), 97, 17, ...uuid];
    const [offer] = t.drain();
    expect(offer!.data.toString('hex')).toBe(
      expected(disc, { flags: 0x8000, siaddr: server, file: 'snponly.efi' }, [
        ...offerOpts,
        67,
        file.length,
        ...file,
      ]),
    );
    const r = pk.find((p) => p.dstPort === 4011)!;
    t.inject({ channel: 'pxe', data: r.payload, source: { address: r.srcIp, port: r.srcPort } });
    const [ack] = t.drain();
    const ackOpts = [53, 1, 5, 54, 4, ...server, 60, 9, ...Buffer.from('PXEClient'), 97, 17, ...uuid];
    expect(ack!.data.toString('hex')).toBe(
      expected(
        r.payload,
        {
          flags: r.payload.readUInt16BE(10) & 0x8000,
          ciaddr: [...r.payload.subarray(12, 16)],
          siaddr: server,
          file: 'snponly.efi',
        },
        [...ackOpts, 67, file.length, ...file],
      ),
    );
  });

  it('BIOS iPXE ROM DISCOVER → proxy OFFER with 43 = 06 01 08 FF and the script URL, byte for byte', async () => {
    const t = new MemoryTransport();
    const s = new ProxyDhcpServer({ transport: t, serverAddress: '10.0.0.1', boot });
    await s.start();
    const disc = real('bios-proxy-tftp.pcap')[0]!.payload;
    t.inject({ channel: 'dhcp', data: disc, source: from68 });
    const m = decode(disc);
    const uuid = m.options.get(Opt.clientUuid);
    const url = [...Buffer.from('http://10.0.0.1:8080/boot.ipxe?mac=52:54:00:77:00:01&arch=bios\0')];
    const opts = [
      53,
      1,
      2,
      54,
      4,
      10,
      0,
      0,
      1,
      60,
      9,
      ...Buffer.from('PXEClient'),
      ...(uuid ? [97, 17, ...uuid] : []),
      43,
      4,
      6,
      1,
      8,
      255,
      67,
      url.length,
      ...url,
    ];
    const [offer] = t.drain();
    const file = 'http://10.0.0.1:8080/boot.ipxe?mac=52:54:00:77:00:01&arch=bios';
    expect(offer!.data.toString('hex')).toBe(
      expected(disc, { flags: 0x8000, siaddr: [10, 0, 0, 1], file }, opts),
    );
  });
});
