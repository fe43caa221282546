import { describe, expect, it } from 'vitest';
import { ConfigError, normalizeMac, parsePrefix, validateConfig } from '../../app/core/config-validate.js';
import type { NicInfo, SessionConfig } from '../../app/shared/session-types.js';

const nics: NicInfo[] = [
  { name: 'eth0', type: 'wired', up: true, ipv4: { address: '10.0.0.1', prefixLength: 24 } },
  { name: 'eth1', type: 'wired', up: false, ipv4: { address: '10.1.0.1', prefixLength: 24 } },
  { name: 'wlan0', type: 'wireless', up: true, ipv4: { address: '192.168.1.5', prefixLength: 24 } },
  { name: 'eth2', type: 'wired', up: true },
  { name: 'eth3', type: 'wired', up: true, ipv4: { address: '172.16.5.1', prefixLength: 20 } },
];
const ctx = { interfaces: nics, folderExists: (p: string) => p === '/srv' };
const dhcp = (start: string, end: string, prefixLength = 24) => ({
  rangeStart: start,
  rangeEnd: end,
  prefixLength,
});

function codeOf(config: SessionConfig): { code: string; message: string } {
  try {
    validateConfig(config, ctx);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    return { code: e.code, message: e.message };
  }
  throw new Error('expected a ConfigError');
}

describe('validateConfig', () => {
  it.each([
    [{ mode: 'files', root: '/nope', address: '127.0.0.1' }, 'root-missing', /does not exist/],
    [{ mode: 'proxy', root: '/srv' }, 'iface-required', /--iface/],
    [{ mode: 'dhcp', root: '/srv' }, 'iface-required', /never picks/],
    [{ mode: 'proxy', root: '/srv', iface: 'eth9' }, 'iface-missing', /eth0/],
    [{ mode: 'proxy', root: '/srv', iface: 'eth1' }, 'iface-down', /down/],
    [{ mode: 'proxy', root: '/srv', iface: 'wlan0' }, 'iface-wireless', /Wi-Fi/],
    [{ mode: 'proxy', root: '/srv', iface: 'eth2' }, 'iface-no-ipv4', /no IPv4/],
    [{ mode: 'files', root: '/srv' }, 'address-required', /--address/],
    [{ mode: 'files', root: '/srv', address: '1.2.3' }, 'bad-address', /IPv4/],
    [{ mode: 'proxy', root: '/srv', iface: 'eth0', allow: ['zz:00'] }, 'bad-mac', /allow list/],
    [
      { mode: 'proxy', root: '/srv', iface: 'eth0', ports: { dhcp: 6767, tftp: 6767 } },
      'port-conflict',
      /own port/,
    ],
    [{ mode: 'proxy', root: '/srv', iface: 'eth0', ports: { tftp: 70000 } }, 'bad-port', /port number/],
    [{ mode: 'dhcp', root: '/srv', iface: 'eth0' }, 'range-missing', /--range/],
    [
      { mode: 'dhcp', root: '/srv', iface: 'eth0', dhcp: dhcp('10.0.0.200', '10.0.0.100') },
      'range-reversed',
      /swap/,
    ],
    [
      { mode: 'dhcp', root: '/srv', iface: 'eth0', dhcp: dhcp('10.0.1.100', '10.0.1.200') },
      'range-outside-subnet',
      /10\.0\.0\.0\/24/,
    ],
    [
      { mode: 'dhcp', root: '/srv', iface: 'eth0', dhcp: dhcp('10.0.0.1', '10.0.0.9') },
      'range-contains-server',
      /own address/,
    ],
    [
      { mode: 'dhcp', root: '/srv', iface: 'eth3', dhcp: dhcp('172.16.16.1', '172.16.16.9', 20) },
      'range-outside-subnet',
      /172\.16\.0\.0\/20/,
    ],
  ] as const)('%j → %s', (config, code, message) => {
    const result = codeOf(config as SessionConfig);
    expect(result.code).toBe(code);
    expect(result.message).toMatch(message);
  });

  it('accepts a /20 range inside the NIC subnet and returns the derived address', () => {
    const v = validateConfig(
      { mode: 'dhcp', root: '/srv', iface: 'eth3', dhcp: dhcp('172.16.10.1', '172.16.15.254', 20) },
      ctx,
    );
    expect(v.address).toBe('172.16.5.1');
    expect(v.prefixLength).toBe(20);
  });

  it('files mode with only an address is fine', () => {
    expect(validateConfig({ mode: 'files', root: '/srv', address: '127.0.0.1' }, ctx).address).toBe(
      '127.0.0.1',
    );
  });
});

describe('helpers', () => {
  it('parses masks and prefixes', () => {
    expect(parsePrefix('/24')).toBe(24);
    expect(parsePrefix('255.255.240.0')).toBe(20);
    expect(parsePrefix('255.0.255.0')).toBeUndefined();
    expect(parsePrefix('33')).toBeUndefined();
  });
  it('normalises MACs', () => {
    expect(normalizeMac('AA-BB-CC-00-11-22')).toBe('aa:bb:cc:00:11:22');
    expect(normalizeMac('aabb.cc00.1122')).toBe('aa:bb:cc:00:11:22');
    expect(normalizeMac('aa:bb')).toBeUndefined();
  });
});
