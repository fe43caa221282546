import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DhcpDecodeError, DhcpServer, ProxyDhcpServer, decode } from '../../app/engines/dhcp/index.js';
import type { Clock } from '../../app/shared/runtime.js';
import { rng } from '../helpers/fuzz.js';
import { MemoryTransport } from '../helpers/memory-transport.js';
import { readPcapUdp } from '../helpers/pcap.js';

const dir = join(import.meta.dirname, '../fixtures/pcaps');
const seeds = readdirSync(dir)
  .flatMap((f) => readPcapUdp(join(dir, f)))
  .filter((p) => p.dstPort === 67 || p.dstPort === 4011)
  .map((p) => p.payload);

/** DHCP-aware mutation (the shared seeded `rng` drives it): new MACs add state pressure, tails grow. */
function mutate(r: () => number, base: Buffer): Buffer {
  const b = Buffer.from(base);
  const n = 1 + Math.floor(r() * 8);
  for (let i = 0; i < n; i++) {
    const k = r();
    const at = Math.floor(r() * b.length);
    if (k < 0.6) b[at] = Math.floor(r() * 256);
    else if (k < 0.8)
      b[28 + Math.floor(r() * 6)] = Math.floor(r() * 256); // new MAC: state pressure
    else return Buffer.concat([b.subarray(0, at), Buffer.alloc(Math.floor(r() * 40), Math.floor(r() * 256))]);
  }
  return b;
}

describe('DHCP fuzz (100 000+ packets)', () => {
  it('decode throws only DhcpDecodeError; servers never throw and stay bounded', async () => {
    const r = rng(20261123);
    let now = 1_000_000;
    const clock: Clock = { now: () => now };
    const boot = {
      mode: 'proxy' as const,
      serverAddress: '192.168.77.1',
      tftpServer: '192.168.77.1',
      httpBaseUrl: 'http://192.168.77.1:8080',
    };
    const tp = new MemoryTransport();
    // A menu, so boot-item requests (43.71) on 4011 reach decideBootItem too.
    const pxeMenu = {
      items: [{ label: 'A' }, { label: 'B', bootFile: 'b' }, { label: 'Disk', local: true }],
    };
    const proxy = new ProxyDhcpServer({
      transport: tp,
      serverAddress: '192.168.77.1',
      boot: { ...boot, pxeMenu },
      clock,
    });
    const tf = new MemoryTransport();
    const full = new DhcpServer({
      transport: tf,
      serverAddress: '192.168.77.1',
      pool: { rangeStart: '192.168.77.100', rangeEnd: '192.168.77.200', prefixLength: 24 },
      boot: { ...boot, mode: 'dhcp' },
      clock,
    });
    await proxy.start();
    await full.start();
    const N = 100_000;
    let decoded = 0;
    for (let i = 0; i < N; i++) {
      now += 1;
      const data =
        r() < 0.2
          ? Buffer.from(Array.from({ length: Math.floor(r() * 600) }, () => Math.floor(r() * 256)))
          : mutate(r, seeds[Math.floor(r() * seeds.length)]!);
      try {
        decode(data);
        decoded++;
      } catch (err) {
        expect(err).toBeInstanceOf(DhcpDecodeError);
      }
      const source = { address: '192.168.77.100', port: r() < 0.5 ? 68 : 4011 };
      const channel = r() < 0.7 ? 'dhcp' : 'pxe';
      tp.inject({ channel, data, source });
      tf.inject({ channel: 'dhcp', data, source });
      if (i % 5000 === 0) {
        tp.drain();
        tf.drain();
      }
    }
    expect(decoded).toBeGreaterThan(N / 4);
    expect(proxy.counters().received).toBe(N);
    expect(proxy.stateSize()).toBeLessThanOrEqual(4096);
    const st = full.stateSize();
    expect(st.leases).toBeLessThanOrEqual(101 + 10);
    expect(st.rate).toBeLessThanOrEqual(4096);
    expect(st.remembered).toBeLessThanOrEqual(4096);
    expect(proxy.stateSizes().remembered).toBeLessThanOrEqual(4096);
    expect(full.counters().sent).toBeGreaterThan(0);
  }, 60_000);
});
