/** The renderer's pure helpers: the full-DHCP form (prefill + validation as you type) and row progress. */
import { describe, expect, it } from 'vitest';
import {
  dhcpFormErrors,
  fmtBytes,
  fmtElapsed,
  NOT_BOOTABLE_NAME,
  prefillDhcp,
  progressOf,
} from '../../renderer/src/format.js';
import type { ClientRecord, NicInfo } from '../../app/shared/session-types.js';

const nic = (address: string, prefixLength: number): NicInfo => ({
  name: 'eth0',
  type: 'wired',
  up: true,
  ipv4: { address, prefixLength },
});

describe('renderer format helpers', () => {
  it('prefills a pool inside the subnet that never includes this computer', () => {
    expect(prefillDhcp(nic('10.0.0.1', 24))).toEqual({
      rangeStart: '10.0.0.100',
      rangeEnd: '10.0.0.200',
      router: '10.0.0.1',
      dns: '10.0.0.1',
    });
    // Our own address inside the default range: the range starts after it.
    expect(prefillDhcp(nic('10.0.0.150', 24))?.rangeStart).toBe('10.0.0.151');
    // Small subnets: the range stays inside (no network/broadcast address).
    expect(prefillDhcp(nic('192.168.5.1', 28))).toMatchObject({
      rangeStart: '192.168.5.8',
      rangeEnd: '192.168.5.14',
    });
    expect(prefillDhcp(nic('10.0.0.1', 31))).toBeUndefined();
    expect(prefillDhcp(undefined)).toBeUndefined();
  });

  it('explains every problem of the pool in plain words', () => {
    const n = nic('10.0.0.1', 24);
    const ok = { rangeStart: '10.0.0.100', rangeEnd: '10.0.0.200', router: '', dns: '' };
    expect(dhcpFormErrors(ok, n)).toEqual([]);
    expect(dhcpFormErrors({ ...ok, rangeStart: '10.9.9.9' }, n)).toEqual([
      'Range start must be an address in 10.0.0.1/24.',
    ]);
    expect(dhcpFormErrors({ ...ok, rangeStart: '10.0.0.250' }, n)).toEqual([
      'Range start must not be after range end.',
    ]);
    expect(dhcpFormErrors({ ...ok, rangeStart: '10.0.0.1' }, n)).toEqual([
      'The range must not include this computer (10.0.0.1).',
    ]);
    expect(dhcpFormErrors({ ...ok, rangeEnd: '10.0.0.300' }, n)).toEqual([
      'Range end must be an address in 10.0.0.1/24.',
    ]);
    expect(dhcpFormErrors({ ...ok, router: '192.168.1.1', dns: '10.0.0.1, nope' }, n)).toEqual([
      'Router must be in the subnet (or empty).',
      'DNS: comma-separated IPv4 addresses (or empty).',
    ]);
    expect(dhcpFormErrors(ok, { name: 'wlan0', type: 'wireless', up: true })).toEqual([
      'Choose a network card with an IPv4 address first.',
    ]);
  });

  it('shows a finished bar for a booted client or a finished transfer, a partial one in between', () => {
    const base: ClientRecord = {
      mac: 'aa:bb:cc:dd:ee:ff',
      stage: 'http',
      firstSeen: 0,
      lastSeen: 0,
      timeline: [],
    };
    const t = (type: 'progress' | 'done', bytes: number, size?: number) =>
      ({
        engine: 'http',
        type,
        time: 0,
        transferId: '1',
        client: { address: '10.0.0.5', port: 1 },
        file: 'vmlinuz',
        bytes,
        ...(size !== undefined ? { size } : {}),
      }) as const;
    expect(progressOf(base)).toBeUndefined();
    expect(progressOf({ ...base, transfer: t('progress', 250, 1000) })).toBe(0.25);
    expect(progressOf({ ...base, transfer: t('progress', 250) })).toBeUndefined();
    expect(progressOf({ ...base, transfer: t('done', 1000) })).toBe(1);
    expect(progressOf({ ...base, stage: 'booted' })).toBe(1);
  });

  it('formats sizes and durations; refuses obvious documents by name', () => {
    expect(fmtBytes(8_247_232)).toBe('8.2 MB');
    expect(fmtBytes(999)).toBe('999 B');
    expect(fmtElapsed(75_000)).toBe('1m15s');
    expect(NOT_BOOTABLE_NAME.test('notes.txt')).toBe(true);
    expect(NOT_BOOTABLE_NAME.test('vmlinuz')).toBe(false);
    expect(NOT_BOOTABLE_NAME.test('memtest86+.bin')).toBe(false);
  });
});
