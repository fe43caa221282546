import { describe, expect, it } from 'vitest';
import { listInterfaces, unsuitableReason } from '../../app/core/interfaces.js';

describe('NIC inventory', () => {
  it('explains why a NIC is unsuitable', () => {
    const ok = {
      name: 'eth0',
      type: 'wired' as const,
      up: true,
      ipv4: { address: '10.0.0.1', prefixLength: 24 },
    };
    expect(unsuitableReason(ok)).toBeUndefined();
    expect(unsuitableReason({ ...ok, up: false })).toMatch(/down/);
    expect(unsuitableReason({ ...ok, type: 'wireless' })).toMatch(/Wi-Fi/);
    expect(unsuitableReason({ name: 'eth0', type: 'wired', up: true })).toMatch(/no IPv4/);
    expect(unsuitableReason({ ...ok, type: 'loopback' })).toBe('loopback');
    expect(unsuitableReason({ ...ok, type: 'virtual' })).toMatch(/virtual/);
  });
  it('lists loopback with its address and prefix', async () => {
    const lo = (await listInterfaces()).find((n) => n.name === 'lo');
    expect(lo?.type).toBe('loopback');
    expect(lo?.ipv4).toEqual({ address: '127.0.0.1', prefixLength: 8 });
    expect(lo?.unsuitable).toBe('loopback');
  });
});
