/**
 * Importing the seed tools' config files, written from their documented formats:
 * - proxyDHCPd (gmoro/proxyDHCPd): an INI read by Python's ConfigParser, `[proxy]` listen_address,
 *   tftpd, interface, filename, filename_efi32, filename_efi64, vendor_specific_information; `[ipxe]`
 *   enabled, legacy_bootstrap, efi_bootstrap, chainload_url. Comments start with `;` or `#`.
 * - PyPXE: the JSON settings file of `--config` (the SETTINGS keys of pypxe/server.py).
 * Each is merged with flags (flags win) and turned into the SessionConfig `--print-config` prints.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../app/cli/args.js';
import { buildConfig, importNotes, mergeArgs } from '../../app/cli/config-from-args.js';
import { importProxyDhcpdIni, importPyPxeJson, isPyPxeJson, parseIni } from '../../app/core/config-import.js';

const dir = mkdtempSync(join(tmpdir(), 'pxd-import-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PROXY_INI = `; proxyDHCPd configuration (/etc/proxydhcpd/proxy.ini)
[proxy]
listen_address=192.168.50.4
tftpd=192.168.50.9
#interface=
filename=pxelinux.0
vendor_specific_information="proxyDHCPd"

[ipxe]
enabled=true
legacy_bootstrap=undionly.kpxe
efi_bootstrap=snponly.efi
chainload_url=http://192.168.50.9/boot/menu.ipxe
`;

const PYPXE_JSON = {
  NETBOOT_DIR: 'netboot',
  NETBOOT_FILE: 'boot.http.ipxe',
  DHCP_SERVER_IP: '192.168.2.2',
  DHCP_SERVER_PORT: 67,
  DHCP_OFFER_BEGIN: '192.168.2.100',
  DHCP_OFFER_END: '192.168.2.150',
  DHCP_SUBNET: '255.255.255.0',
  DHCP_ROUTER: '192.168.2.1',
  DHCP_DNS: '8.8.8.8',
  DHCP_BROADCAST: '',
  DHCP_FILESERVER: '192.168.2.3',
  DHCP_WHITELIST: false,
  LEASES_FILE: '',
  STATIC_CONFIG: '',
  SYSLOG_SERVER: null,
  SYSLOG_PORT: 514,
  USE_IPXE: true,
  USE_HTTP: false,
  USE_TFTP: true,
  USE_DHCP: true,
  DHCP_MODE_PROXY: false,
  NBD_BLOCK_DEVICE: '',
  MODE_DEBUG: 'dhcp',
  MODE_VERBOSE: '',
};

describe('proxyDHCPd INI', () => {
  it('parses sections, comments and both separators', () => {
    expect(parseIni('; c\n# c\n[Proxy]\na = 1\nb: two\n[ipxe]\nenabled=true\n')).toEqual({
      proxy: { a: '1', b: 'two' },
      ipxe: { enabled: 'true' },
    });
  });

  it('iPXE enabled: bootstraps per firmware, chainload_url, tftpd as the file server; text 43 is a note', () => {
    const r = importProxyDhcpdIni(PROXY_INI);
    expect(r).toEqual({
      mode: 'proxy',
      address: '192.168.50.4',
      fileServer: '192.168.50.9',
      chainloadUrl: 'http://192.168.50.9/boot/menu.ipxe',
      bootFile: ['bios=undionly.kpxe', 'uefi-x64=snponly.efi'],
      importNotes: [expect.stringMatching(/"proxyDHCPd" is text, not PXE sub-options/)],
    });
  });

  it('iPXE disabled: filename / filename_efi32 / filename_efi64; hex 43 is taken over', () => {
    const r = importProxyDhcpdIni(
      '[proxy]\nlisten_address=0.0.0.0\ninterface=enp3s0\ntftpd=10.1.1.1\nfilename=pxelinux.0\nfilename_efi32=syslinux.efi32\nfilename_efi64=syslinux.efi64\nvendor_specific_information=06:01:08:ff\n[ipxe]\nenabled=false\n',
    );
    expect(r).toEqual({
      mode: 'proxy',
      iface: 'enp3s0',
      fileServer: '10.1.1.1',
      netbootFile: 'pxelinux.0',
      bootFile: ['uefi-ia32=syslinux.efi32', 'uefi-x64=syslinux.efi64'],
      vendorOptions: '06:01:08:ff',
    });
    const c = buildConfig(r);
    // Per-firmware files win over the catch-all filename.
    expect(c.bootFiles).toMatchObject({
      bios: 'pxelinux.0',
      'uefi-ia32': 'syslinux.efi32',
      'uefi-x64': 'syslinux.efi64',
    });
  });

  it('merged with flags from a file on disk: flags win', () => {
    const ini = join(dir, 'proxy.ini');
    writeFileSync(ini, PROXY_INI);
    const merged = mergeArgs(parseArgs(['-c', ini, '--iface', 'eth1', '--root', dir, '-f', '192.168.50.10']));
    expect(importNotes(merged)).toHaveLength(1);
    expect(buildConfig(merged)).toEqual({
      mode: 'proxy',
      root: dir,
      iface: 'eth1',
      address: '192.168.50.4',
      bootFiles: { bios: 'undionly.kpxe', 'uefi-x64': 'snponly.efi' },
      helper: 'auto',
      fileServer: '192.168.50.10',
      chainloadUrl: 'http://192.168.50.9/boot/menu.ipxe',
    });
  });
});

describe('PyPXE JSON', () => {
  it('maps every documented key it can honour and notes the rest', () => {
    expect(isPyPxeJson(PYPXE_JSON)).toBe(true);
    const r = importPyPxeJson(PYPXE_JSON);
    expect(r).toEqual({
      root: 'netboot',
      netbootFile: 'boot.http.ipxe',
      address: '192.168.2.2',
      fileServer: '192.168.2.3',
      rangeStart: '192.168.2.100',
      rangeEnd: '192.168.2.150',
      subnet: '255.255.255.0',
      router: '192.168.2.1',
      dhcpPort: '67',
      dns: ['8.8.8.8'],
      ipxe: true,
      debug: 'dhcp',
      mode: 'dhcp',
      importNotes: ['PyPXE USE_HTTP=false ignored: PXE Desk always serves HTTP.'],
    });
    expect(importPyPxeJson({ DHCP_MODE_PROXY: true, USE_DHCP: true }).mode).toBe('proxy');
    expect(importPyPxeJson({ SYSLOG_SERVER: 'logs.lan', SYSLOG_PORT: 5514 }).syslog).toBe('logs.lan:5514');
    expect(importPyPxeJson({ DHCP_WHITELIST: true }).whitelist).toBe(true);
    // Some forks list the MACs themselves.
    expect(importPyPxeJson({ DHCP_WHITELIST: ['00:11:22:33:44:55'] }).allow).toEqual(['00:11:22:33:44:55']);
    expect(importPyPxeJson({ DHCP_FILESERVER_IP: '10.9.9.9' }).fileServer).toBe('10.9.9.9');
    expect(isPyPxeJson({ mode: 'proxy', root: '/srv' })).toBe(false);
  });

  it('merged with flags from a file on disk: flags win, the pool is built', () => {
    const file = join(dir, 'pypxe.json');
    writeFileSync(file, JSON.stringify(PYPXE_JSON, null, 4));
    const merged = mergeArgs(parseArgs(['--config', file, '--iface', 'eth0', '-e', '192.168.2.120']));
    expect(buildConfig(merged)).toEqual({
      mode: 'dhcp',
      root: resolve('netboot'),
      iface: 'eth0',
      address: '192.168.2.2',
      dhcp: {
        rangeStart: '192.168.2.100',
        rangeEnd: '192.168.2.120',
        prefixLength: 24,
        router: '192.168.2.1',
        dns: ['8.8.8.8'],
      },
      // USE_IPXE + NETBOOT_FILE: the file iPXE loads after chainloading (PyPXE's -i semantics).
      chainloadUrl: 'boot.http.ipxe',
      ports: { dhcp: 67 },
      helper: 'auto',
      fileServer: '192.168.2.3',
    });
    expect(importNotes(merged)).toEqual(['PyPXE USE_HTTP=false ignored: PXE Desk always serves HTTP.']);
  });

  it('a PXE Desk JSON config (docs/example-config.json) is taken as is', () => {
    const merged = mergeArgs(parseArgs(['--config', resolve('docs/example-config.json')]));
    const c = buildConfig(merged);
    expect(c).toMatchObject({
      mode: 'dhcp',
      iface: 'enp3s0',
      root: '/srv/netboot',
      dhcp: { rangeStart: '10.0.0.100', rangeEnd: '10.0.0.200', prefixLength: 24, leaseTimeSeconds: 3600 },
      bootFiles: { bios: 'undionly.kpxe' },
      // No UEFI x64 boot file of its own: with Secure Boot on it would never be served (the session warns).
      secureBoot: 'auto',
    });
  });

  it('unreadable or non-object files are usage errors naming the file', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '[1,2]');
    expect(() => mergeArgs(parseArgs(['--config', bad]))).toThrow(/must hold a JSON object/);
    writeFileSync(bad, '{nope');
    expect(() => mergeArgs(parseArgs(['--config', bad]))).toThrow(/cannot read .*bad\.json/);
    expect(() => mergeArgs(parseArgs(['-c', join(dir, 'missing.ini')]))).toThrow(
      /cannot read .*missing\.ini/,
    );
  });
});
