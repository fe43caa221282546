/**
 * LeaseTable (the full server's leases in typed arrays) against the two Maps it replaced, over long random
 * runs that grow the storage, re-lease addresses held by stale entries and delete in the middle of probe
 * runs.
 */
import { describe, expect, it } from 'vitest';
import { rng } from '../helpers/fuzz.js';
import { LeaseTable, type Lease } from '../../app/engines/dhcp/lease-table.js';
import { intToIp } from '../../app/engines/dhcp/codec.js';

class Model {
  readonly leases = new Map<string, Lease>();
  readonly byIp = new Map<number, string>();
  set(key: string, ip: number, state: Lease['state'], expires: number): void {
    this.delete(key);
    const other = this.byIp.get(ip);
    if (other !== undefined) this.delete(other);
    this.leases.set(key, { mac: key, ip: intToIp(ip), expires, state });
    this.byIp.set(ip, key);
  }
  delete(key: string): boolean {
    const l = this.leases.get(key);
    if (!l) return false;
    this.leases.delete(key);
    this.byIp.delete(ipInt(l.ip));
    return true;
  }
  isHeld(ip: number, now: number, except?: string): boolean {
    const key = this.byIp.get(ip);
    if (key === undefined || (this.leases.get(key)?.expires ?? 0) <= now) return false;
    return key !== except;
  }
}

const ipInt = (ip: string): number => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);

describe('LeaseTable', () => {
  it('stores, finds by MAC and by address, and lists oldest first', () => {
    const t = new LeaseTable(16);
    t.set('52:54:00:00:00:01', ipInt('10.0.0.100'), 'offered', 1000);
    t.set('52:54:00:00:00:02', ipInt('10.0.0.101'), 'bound', 2000);
    t.set('declined:10.0.0.102', ipInt('10.0.0.102'), 'bound', 3000);
    expect(t.get('52:54:00:00:00:02')).toEqual({
      mac: '52:54:00:00:00:02',
      ip: '10.0.0.101',
      expires: 2000,
      state: 'bound',
    });
    expect(t.ipOf('52:54:00:00:00:01')).toBe(ipInt('10.0.0.100'));
    expect(t.ipOf('52:54:00:00:00:09')).toBe(-1);
    expect(t.ownerOf(ipInt('10.0.0.102'))).toBe('declined:10.0.0.102');
    expect(t.isHeld(ipInt('10.0.0.100'), 999)).toBe(true);
    expect(t.isHeld(ipInt('10.0.0.100'), 1000)).toBe(false); // expired
    expect(t.isHeld(ipInt('10.0.0.101'), 0, '52:54:00:00:00:02')).toBe(false); // its own
    // A MAC leased again moves to the end; re-leasing an address takes it from its stale holder.
    t.set('52:54:00:00:00:01', ipInt('10.0.0.103'), 'bound', 4000);
    t.set('52:54:00:00:00:04', ipInt('10.0.0.101'), 'offered', 5000);
    expect(t.list().map((l) => [l.mac, l.ip])).toEqual([
      ['declined:10.0.0.102', '10.0.0.102'],
      ['52:54:00:00:00:01', '10.0.0.103'],
      ['52:54:00:00:00:04', '10.0.0.101'],
    ]);
    expect(t.get('52:54:00:00:00:02')).toBeUndefined();
    expect(t.size).toBe(3);
  });

  it('refuses keys it could not find again', () => {
    const t = new LeaseTable();
    expect(() => t.set('x'.repeat(48), 1, 'bound', 1)).toThrow(RangeError);
    expect(() => t.set('mac-\u0100', 1, 'bound', 1)).toThrow(RangeError);
    expect(t.size).toBe(0);
  });

  it('matches the Map model over long random runs, growing from 16 slots', () => {
    const next = rng(99);
    const rnd = (n: number): number => Math.floor(next() * n);
    for (const [macs, ips] of [
      [5, 5],
      [50, 20],
      [3000, 5000],
    ] as const) {
      const t = new LeaseTable(16);
      const m = new Model();
      for (let step = 0; step < 30_000; step++) {
        const key = `52:54:00:00:${(rnd(macs) >> 8).toString(16).padStart(2, '0')}:${(rnd(macs) & 255).toString(16).padStart(2, '0')}`;
        const ip = 0x0a000000 + rnd(ips);
        const op = rnd(10);
        if (op < 5) {
          const state = rnd(2) ? 'bound' : 'offered';
          const expires = step + rnd(100);
          t.set(key, ip, state, expires);
          m.set(key, ip, state, expires);
        } else if (op < 7) {
          expect(t.delete(key)).toBe(m.delete(key));
        } else if (op < 9) {
          expect(t.get(key)).toEqual(m.leases.get(key));
          expect(t.ownerOf(ip)).toBe(m.byIp.get(ip));
        } else {
          expect(t.isHeld(ip, step, key)).toBe(m.isHeld(ip, step, key));
          expect(t.isHeld(ip, step)).toBe(m.isHeld(ip, step));
        }
        expect(t.size).toBe(m.leases.size);
      }
      expect(t.list()).toEqual([...m.leases.values()]);
    }
  });
});
