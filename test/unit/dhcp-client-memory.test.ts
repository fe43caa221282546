/**
 * ClientMemory (test-catalogue P12, D30): the packed ring + hash index must behave exactly like the simple
 * model it replaced (a Map per MAC, oldest out first, TTL), including under hash-table collisions and
 * evictions that shift probe runs back.
 */
import { describe, expect, it } from 'vitest';
import { rng } from '../helpers/fuzz.js';
import { ClientMemory } from '../../app/engines/dhcp/client-memory.js';
import type { BootRequest } from '../../app/engines/dhcp/boot-decision.js';

const mac = (n: number): string =>
  [0x52, 0x54, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join(':');

const bios = (m: string): BootRequest => ({
  mac: m,
  archs: [0],
  vendorClass: 'PXEClient:Arch:00000:UNDI:002001',
  userClasses: [],
  hasIpxeEncap: false,
});

/** The behaviour ClientMemory promises, written the obvious way. */
class Model {
  private readonly map = new Map<string, { req: BootRequest; at: number }>();
  constructor(
    private readonly ttl: number,
    private readonly max: number,
  ) {}
  remember(req: BootRequest, now: number): void {
    this.map.delete(req.mac);
    if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value as string);
    this.map.set(req.mac, { req, at: now });
  }
  recall(m: string, now: number): BootRequest | undefined {
    const e = this.map.get(m);
    return e && now - e.at <= this.ttl ? e.req : undefined;
  }
  size(): number {
    return this.map.size;
  }
}

describe('ClientMemory', () => {
  it('gives back exactly what was remembered, every field form', () => {
    const memory = new ClientMemory(60_000, 16);
    const reqs: BootRequest[] = [
      bios(mac(1)),
      { mac: mac(2), archs: [7, 9, 0x8000], vendorClass: 'PXEClient', userClasses: ['iPXE', 'x\0y\xff'] },
      { mac: mac(3) },
      { mac: mac(4), vendorClass: '', userClasses: [''], hasIpxeEncap: true },
      { mac: 'aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99', archs: [16] },
    ];
    for (const r of reqs) memory.remember(r, 1000);
    for (const r of reqs) expect(memory.recall(r.mac, 2000)).toEqual(r);
    expect(memory.recall(mac(5), 2000)).toBeUndefined();
    expect(memory.size()).toBe(reqs.length);
  });

  it('keeps a request larger than a slot (concatenated options) whole', () => {
    const memory = new ClientMemory(60_000, 4);
    const big: BootRequest = {
      mac: mac(9),
      archs: Array.from({ length: 200 }, (_, i) => i),
      vendorClass: 'v'.repeat(255),
      userClasses: Array.from({ length: 40 }, (_, i) => `class-${i}-${'u'.repeat(i)}`),
      hasIpxeEncap: true,
    };
    memory.remember(big, 0);
    expect(memory.recall(mac(9), 1)).toEqual(big);
    // Evicted like any other, and its aside copy goes with it.
    for (let i = 0; i < 4; i++) memory.remember(bios(mac(100 + i)), 2);
    expect(memory.recall(mac(9), 3)).toBeUndefined();
    expect(memory.size()).toBe(4);
  });

  it('forgets after the TTL and remembers nothing when the TTL is 0', () => {
    const memory = new ClientMemory(1000, 8);
    memory.remember(bios(mac(1)), 5000);
    expect(memory.recall(mac(1), 6000)).toBeDefined();
    expect(memory.recall(mac(1), 6001)).toBeUndefined();
    const off = new ClientMemory(0, 8);
    off.remember(bios(mac(1)), 0);
    expect(off.recall(mac(1), 0)).toBeUndefined();
    expect(off.size()).toBe(0);
  });

  it('matches the model over a long random run with collisions, re-remembers and evictions', () => {
    const next = rng(12345);
    const rnd = (n: number): number => Math.floor(next() * n);
    for (const [capacity, universe] of [
      [1, 3],
      [7, 20],
      [64, 100],
      [64, 5000],
    ] as const) {
      const memory = new ClientMemory(50, capacity);
      const model = new Model(50, capacity);
      for (let step = 0; step < 20_000; step++) {
        const now = step;
        const m = mac(rnd(universe));
        if (rnd(3) === 0) {
          expect(memory.recall(m, now)).toEqual(model.recall(m, now));
        } else {
          const req: BootRequest = { ...bios(m), archs: [rnd(12)] };
          memory.remember(req, now);
          model.remember(req, now);
        }
        expect(memory.size()).toBe(model.size());
      }
      for (let i = 0; i < universe; i++)
        expect(memory.recall(mac(i), 20_000)).toEqual(model.recall(mac(i), 20_000));
    }
  });

  it('stays bounded under a flood of new MACs (D30)', () => {
    const memory = new ClientMemory(300_000, 4096);
    for (let i = 0; i < 100_000; i++) memory.remember(bios(mac(i)), i);
    expect(memory.size()).toBe(4096);
    expect(memory.recall(mac(99_999), 100_000)?.archs).toEqual([0]);
    expect(memory.recall(mac(100_000 - 4096), 100_000)).toBeDefined();
    expect(memory.recall(mac(100_000 - 4097), 100_000)).toBeUndefined();
  });
});
