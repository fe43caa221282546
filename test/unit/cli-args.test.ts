import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from '../../app/cli/args.js';
import { buildConfig, ignoredOptions, modeFromArgs } from '../../app/cli/config-from-args.js';

describe('serve argument parsing', () => {
  it('maps PyPXE short and long aliases onto the same keys', () => {
    const a = parseArgs([
      '--dhcp',
      '-s',
      '10.0.0.1',
      '-b',
      '10.0.0.100',
      '-e',
      '10.0.0.150',
      '-n',
      '255.255.255.0',
      '-r',
      '10.0.0.254',
      '-d',
      '1.1.1.1',
      '--dhcp-dns=9.9.9.9',
      '-a',
      '/srv',
      '--allow',
      'AA-BB-CC-00-11-22,aa:bb:cc:00:11:33',
      '--iface',
      'eth0',
      '--tftp-port',
      '6969',
    ]);
    const c = buildConfig(a);
    expect(c.mode).toBe('dhcp');
    expect(c.address).toBe('10.0.0.1');
    expect(c.root).toBe('/srv');
    expect(c.dhcp).toEqual({
      rangeStart: '10.0.0.100',
      rangeEnd: '10.0.0.150',
      prefixLength: 24,
      router: '10.0.0.254',
      dns: ['1.1.1.1', '9.9.9.9'],
    });
    expect(c.allow).toEqual(['aa:bb:cc:00:11:22', 'aa:bb:cc:00:11:33']);
    expect(c.ports).toEqual({ tftp: 6969 });
  });

  it('--range and /prefix, boot files per arch, -p is proxy', () => {
    const c = buildConfig(
      parseArgs([
        '--mode',
        'dhcp',
        '--range',
        '172.16.1.10-172.16.1.20',
        '--subnet',
        '/20',
        '--boot-file',
        'bios=a.kpxe',
        '--boot-file',
        'uefi-x64=b.efi',
        '--helper',
        'never',
      ]),
    );
    expect(c.dhcp?.prefixLength).toBe(20);
    expect(c.dhcp?.rangeStart).toBe('172.16.1.10');
    expect(c.bootFiles).toEqual({ bios: 'a.kpxe', 'uefi-x64': 'b.efi' });
    expect(c.helper).toBe('never');
    expect(buildConfig(parseArgs(['-p'])).mode).toBe('proxy');
    expect(buildConfig(parseArgs(['--dhcp-proxy'])).mode).toBe('proxy');
    expect(buildConfig(parseArgs([])).mode).toBe('files');
  });

  it('--syslog takes an optional value', () => {
    expect(parseArgs(['--syslog', '--json']).syslog).toBe('');
    expect(parseArgs(['--syslog', 'logs.lan:514']).syslog).toBe('logs.lan:514');
  });

  it('rejects unknown options and malformed values', () => {
    expect(() => parseArgs(['--bogus'])).toThrow(UsageError);
    expect(() => parseArgs(['--root'])).toThrow(/needs a value/);
    expect(() => parseArgs(['--root', '--json'])).toThrow(/--root needs a value/);
    expect(() => parseArgs(['-c', 'proxy.ini', '-d'])).toThrow(/daemon mode is the systemd unit/);
    expect(() => parseArgs(['-d', '-p'])).toThrow(/-d needs a value/);
    expect(parseArgs(['--root', '-weird-folder-name']).root).toBe('-weird-folder-name');
    expect(() => buildConfig(parseArgs(['--mode', 'x']))).toThrow(/proxy, dhcp or files/);
    expect(() => buildConfig(parseArgs(['--boot-file', 'ppc=x']))).toThrow(/ARCH=FILE/);
    expect(() => buildConfig(parseArgs(['--mode', 'dhcp', '--range', '1-2-3']))).toThrow(/START-END/);
    expect(() => buildConfig(parseArgs(['--helper', 'sometimes']))).toThrow(/auto, always or never/);
    expect(() => buildConfig(parseArgs(['--tftp-port', 'abc']))).toThrow(/whole number/);
    expect(() => buildConfig(parseArgs(['-f', '10.0.0.300']))).toThrow(
      /-f\/--dhcp-fileserver-ip wants an IPv4/,
    );
    expect(() => buildConfig(parseArgs(['-p', '--vendor-options', 'proxyDHCPd']))).toThrow(/hex bytes/);
    expect(() => buildConfig(parseArgs(['--chainload-url', 'ftp://x/y']))).toThrow(/scheme "ftp"/);
    expect(() => buildConfig(parseArgs(['--dhcp-whitelist']))).toThrow(/--static-config FILE/);
  });

  it('file server, chainload target and option 43 reach the SessionConfig', () => {
    const c = buildConfig(
      parseArgs([
        '-p',
        '--iface',
        'eth0',
        '--dhcp-fileserver-ip',
        '10.0.0.5',
        '--chainload-url',
        'http://10.0.0.5/menu.ipxe',
        '--vendor-options',
        '06:01:08:ff',
      ]),
    );
    expect(c).toMatchObject({
      mode: 'proxy',
      fileServer: '10.0.0.5',
      chainloadUrl: 'http://10.0.0.5/menu.ipxe',
      vendorOptions: '06:01:08:ff',
    });
    expect(buildConfig(parseArgs(['-f', '10.0.0.6'])).fileServer).toBe('10.0.0.6');
    expect(buildConfig(parseArgs(['--dhcp-fileserver', '10.0.0.7'])).fileServer).toBe('10.0.0.7');
  });

  it('PyPXE --dhcp-whitelist answers only the MACs of --static-config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pxd-wl-'));
    try {
      const file = join(dir, 'static.json');
      // PyPXE's static config: MAC → { ipaddr, … }.
      writeFileSync(
        file,
        JSON.stringify({
          '52:54:00:12:34:56': { ipaddr: '10.0.0.61', subnet: '255.255.255.0' },
          '52-54-00-AB-CD-EF': { ipaddr: '10.0.0.62' },
        }),
      );
      const c = buildConfig(
        parseArgs([
          '--dhcp',
          '-b',
          '10.0.0.100',
          '-e',
          '10.0.0.150',
          '--static-config',
          file,
          '--dhcp-whitelist',
        ]),
      );
      expect(c.allow).toEqual(['52:54:00:12:34:56', '52:54:00:ab:cd:ef']);
      expect(c.dhcp?.staticLeases).toEqual([
        { mac: '52:54:00:12:34:56', ip: '10.0.0.61' },
        { mac: '52:54:00:ab:cd:ef', ip: '10.0.0.62' },
      ]);
      // Proxy mode has no pool, the whitelist still reads the file.
      expect(buildConfig(parseArgs(['-p', '--static-config', file, '--dhcp-whitelist'])).allow).toHaveLength(
        2,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('PyPXE -i: the firmware boot file, or with --ipxe / for an iPXE script the chain target', () => {
    expect(buildConfig(parseArgs(['-i', 'pxelinux.0'])).bootFiles?.bios).toBe('pxelinux.0');
    const script = buildConfig(parseArgs(['--netboot-file', 'boot.http.ipxe']));
    expect(script.chainloadUrl).toBe('boot.http.ipxe');
    expect(script.bootFiles).toBeUndefined();
    expect(buildConfig(parseArgs(['-i', 'menu.cfg', '--ipxe']))).toMatchObject({ chainloadUrl: 'menu.cfg' });
    // An explicit chain target wins over -i.
    expect(buildConfig(parseArgs(['-i', 'a.ipxe', '--chainload-url', 'b.ipxe'])).chainloadUrl).toBe('b.ipxe');
  });

  it('options the mode does not use are named in a note', () => {
    const proxy = parseArgs([
      '-p',
      '--iface',
      'eth0',
      '--range',
      '10.0.0.10-10.0.0.20',
      '--router',
      '10.0.0.1',
    ]);
    expect(ignoredOptions(proxy, 'proxy')).toEqual([
      'range, router ignored in proxy mode: only --mode dhcp hands out addresses (here the site DHCP server does).',
    ]);
    expect(ignoredOptions(parseArgs(['--allow', '52:54:00:00:00:01', '-b', '10.0.0.5']), 'files')).toEqual([
      'rangeStart ignored in files mode: only --mode dhcp hands out addresses.',
      'allow ignored in files mode: no DHCP answers are sent (use --mode proxy or dhcp).',
    ]);
    expect(ignoredOptions(parseArgs(['--dhcp', '--range', '10.0.0.10-10.0.0.20']), 'dhcp')).toEqual([]);
  });

  it('PyPXE leftovers: --syslog-port, --dhcp-server-port, --dump-config-merged', () => {
    const a = parseArgs([
      '--syslog',
      'logs.lan',
      '--syslog-port',
      '5514',
      '--dhcp-server-port',
      '6767',
      '--dump-config-merged',
    ]);
    expect(a).toMatchObject({ syslog: 'logs.lan', syslogPort: '5514', printConfig: true });
    expect(buildConfig(a).ports).toEqual({ dhcp: 6767 });
  });

  it('takes the mode from --mode and from the PyPXE / proxyDHCPd aliases, for serve and serve --ui alike', () => {
    expect(modeFromArgs(parseArgs(['--ui', '--dhcp']))).toBe('dhcp');
    expect(modeFromArgs(parseArgs(['--ui', '--dhcp-proxy']))).toBe('proxy');
    expect(modeFromArgs(parseArgs(['--ui', '-p']))).toBe('proxy');
    expect(modeFromArgs(parseArgs(['--ui', '--mode', 'files']))).toBe('files');
    expect(modeFromArgs(parseArgs(['--ui']))).toBeUndefined();
    expect(() => modeFromArgs(parseArgs(['--mode', 'bogus']))).toThrow(UsageError);
  });
});
