import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  normalizeMac,
  parsePrefix,
  parseVendorOptions,
  validateConfig,
} from '../../app/core/config-validate.js';
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
    [{ mode: 'x', root: '/srv' }, 'bad-mode', /use proxy, dhcp or files/],
    [{ mode: 'files', root: '' }, 'root-missing', /--root DIR/],
    [{ mode: 'proxy', root: '/srv', iface: 'eth0', deny: ['nope'] }, 'bad-mac', /deny list .*aa:bb/],
    [{ mode: 'proxy', root: '/srv', iface: 'eth0', ports: { proxy: -1 } }, 'bad-port', /1-65535/],
    [
      { mode: 'dhcp', root: '/srv', iface: 'eth0', dhcp: dhcp('10.0.0.x', '10.0.0.9') },
      'bad-range',
      /not two IPv4/,
    ],
    [
      { mode: 'dhcp', root: '/srv', iface: 'eth0', dhcp: dhcp('10.0.0.2', '10.0.0.3', 31) },
      'bad-subnet',
      /\/8 to \/30/,
    ],
    [
      {
        mode: 'dhcp',
        root: '/srv',
        iface: 'eth0',
        dhcp: { ...dhcp('10.0.0.100', '10.0.0.200'), router: '10.0.0' },
      },
      'bad-router',
      /--router 10\.0\.0\.1, or leave it out/,
    ],
    [
      {
        mode: 'dhcp',
        root: '/srv',
        iface: 'eth0',
        dhcp: { ...dhcp('10.0.0.100', '10.0.0.200'), dns: ['8.8.8.8', 'dns.lan'] },
      },
      'bad-dns',
      /"dns\.lan".*--dns/,
    ],
    [
      {
        mode: 'dhcp',
        root: '/srv',
        iface: 'eth0',
        dhcp: { ...dhcp('10.0.0.100', '10.0.0.200'), leaseTimeSeconds: 30 },
      },
      'bad-lease-time',
      /at least 60 seconds/,
    ],
    [
      {
        mode: 'dhcp',
        root: '/srv',
        iface: 'eth0',
        dhcp: {
          ...dhcp('10.0.0.100', '10.0.0.200'),
          staticLeases: [{ mac: '52:54:00:00:00:01', ip: '10.9.0.5' }],
        },
      },
      'bad-static-lease',
      /10\.0\.0\.0\/24: give it one inside/,
    ],
    [
      {
        mode: 'dhcp',
        root: '/srv',
        iface: 'eth0',
        dhcp: { ...dhcp('10.0.0.100', '10.0.0.200'), staticLeases: [{ mac: 'host-1', ip: '10.0.0.5' }] },
      },
      'bad-mac',
      /aa:bb:cc:dd:ee:ff/,
    ],
    [
      { mode: 'proxy', root: '/srv', iface: 'eth0', fileServer: 'files.lan' },
      'bad-file-server',
      /-f 10\.0\.0\.5/,
    ],
    [
      { mode: 'proxy', root: '/srv', iface: 'eth0', chainloadUrl: 'ftp://x/m.ipxe' },
      'bad-chainload-url',
      /scheme "ftp"/,
    ],
    [
      { mode: 'proxy', root: '/srv', iface: 'eth0', chainloadUrl: '../etc/m.ipxe' },
      'bad-chainload-url',
      /leaves the netboot folder/,
    ],
    [{ mode: 'proxy', root: '/srv', iface: 'eth0', chainloadUrl: 'a b' }, 'bad-chainload-url', /use a URL/],
    [
      { mode: 'proxy', root: '/srv', iface: 'eth0', vendorOptions: '"proxyDHCPd"' },
      'bad-vendor-options',
      /not hex bytes.*06:01:08:ff/,
    ],
    [
      { mode: 'proxy', root: '/srv', iface: 'eth0', vendorOptions: '06:05:08' },
      'bad-vendor-options',
      /runs past the end/,
    ],
    [
      { mode: 'proxy', root: '/srv', iface: 'eth0', vendorOptions: '06:01:08:ff:01' },
      'bad-vendor-options',
      /after its end marker/,
    ],
    [
      { mode: 'proxy', root: '/srv', iface: 'eth0', vendorOptions: '01'.repeat(256) },
      'bad-vendor-options',
      /at most 255/,
    ],
    [
      {
        mode: 'dhcp',
        root: '/srv',
        iface: 'eth0',
        dhcp: dhcp('10.0.0.100', '10.0.0.200'),
        vendorOptions: '060108ff',
      },
      'bad-vendor-options',
      /only sent in proxy mode/,
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

  it('accepts well-formed option 43, chainload targets and a file server', () => {
    const base = { mode: 'proxy', root: '/srv', iface: 'eth0' } as const;
    expect(() =>
      validateConfig({ ...base, vendorOptions: '06 01 08 0a 04 00 50 58 45 ff 00' }, ctx),
    ).not.toThrow();
    expect([...parseVendorOptions('0x060108ff')]).toEqual([6, 1, 8, 255]);
    for (const chainloadUrl of ['http://10.0.0.1/m.ipxe', 'https://x/y', 'tftp://10.0.0.1/a', 'menus/a.ipxe'])
      expect(() => validateConfig({ ...base, chainloadUrl }, ctx)).not.toThrow();
    expect(validateConfig({ ...base, fileServer: '10.0.0.5' }, ctx).address).toBe('10.0.0.1');
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
