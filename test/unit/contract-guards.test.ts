import { describe, expect, it } from 'vitest';
import {
  CHANNELS,
  LIMITS,
  REQUEST_GUARDS,
  isBaseName,
  isResult,
  isWsRequest,
  validateRequest,
} from '../../app/shared/ipc-contract.js';

const goodConfig = { mode: 'proxy', iface: 'eth0', root: '/srv/netboot' };

describe('ipc contract guards', () => {
  it('has a guard for every channel', () => {
    expect(CHANNELS.length).toBeGreaterThanOrEqual(9);
    for (const c of CHANNELS) expect(typeof REQUEST_GUARDS[c]).toBe('function');
  });

  it('accepts valid payloads', () => {
    expect(validateRequest('session.start', goodConfig).ok).toBe(true);
    expect(
      validateRequest('session.start', {
        mode: 'dhcp',
        iface: 'eth0',
        root: '/srv/nb',
        dhcp: {
          rangeStart: '10.0.0.100',
          rangeEnd: '10.0.0.200',
          prefixLength: 24,
          router: '10.0.0.1',
          dns: ['10.0.0.1'],
        },
      }).ok,
    ).toBe(true);
    expect(validateRequest('client.action', { mac: 'aa:bb:cc:dd:ee:ff', action: { kind: 'block' } }).ok).toBe(
      true,
    );
    expect(
      validateRequest('library.import', {
        root: '/srv/nb',
        files: [{ source: '/tmp/vmlinuz', name: 'vmlinuz' }],
      }).ok,
    ).toBe(true);
    expect(validateRequest('session.stop', null).ok).toBe(true);
    // PyPXE / proxyDHCPd options the CLI takes reach the session from the UI too.
    expect(
      validateRequest('session.start', {
        ...goodConfig,
        fileServer: '10.0.0.5',
        chainloadUrl: 'http://10.0.0.5/menu.ipxe',
        vendorOptions: '06:01:08',
      }).ok,
    ).toBe(true);
  });

  it('rejects wrong types on every channel with an invalid-payload result', () => {
    const hostile: unknown[] = [42, 'x', [1, 2], { a: 1 }, true];
    for (const c of CHANNELS) {
      for (const h of hostile) {
        const r = validateRequest(c, h);
        expect(r.ok, `${c} ${JSON.stringify(h)}`).toBe(false);
        if (!r.ok) {
          expect(r.code).toBe('invalid-payload');
          expect(r.message).toContain(c);
        }
      }
    }
  });

  it('rejects paths outside (relative, ..) and path-like names', () => {
    expect(validateRequest('session.start', { ...goodConfig, root: 'relative/dir' }).ok).toBe(false);
    expect(validateRequest('session.start', { ...goodConfig, root: '/srv/../etc' }).ok).toBe(false);
    expect(validateRequest('library.list', { root: '/a/b/..' }).ok).toBe(false);
    const imp = (name: string, source = '/tmp/f') =>
      validateRequest('library.import', { root: '/srv/nb', files: [{ source, name }] }).ok;
    expect(imp('../evil')).toBe(false);
    expect(imp('sub/evil')).toBe(false);
    expect(imp('..')).toBe(false);
    expect(imp('a\\b')).toBe(false);
    expect(imp('ok', '/tmp/../etc/shadow')).toBe(false);
    expect(
      validateRequest('session.start', { ...goodConfig, bootFiles: { bios: '../../etc/passwd' } }).ok,
    ).toBe(false);
    expect(isBaseName('vmlinuz-6.1')).toBe(true);
    expect(isBaseName('a\0b')).toBe(false);
  });

  it('rejects huge arrays and oversized strings', () => {
    const macs = Array.from({ length: LIMITS.listItems + 1 }, () => 'aa:bb:cc:dd:ee:ff');
    expect(validateRequest('session.start', { ...goodConfig, allow: macs }).ok).toBe(false);
    const files = Array.from({ length: LIMITS.importFiles + 1 }, (_, i) => ({
      source: `/tmp/${i}`,
      name: `${i}`,
    }));
    expect(validateRequest('library.import', { root: '/srv/nb', files }).ok).toBe(false);
    expect(validateRequest('library.list', { root: '/' + 'a'.repeat(LIMITS.path + 1) }).ok).toBe(false);
  });

  it('rejects prototype-pollution keys and unknown fields', () => {
    const polluted = JSON.parse(
      '{"mode":"proxy","iface":"eth0","root":"/srv","__proto__":{"admin":true}}',
    ) as unknown;
    expect(validateRequest('session.start', polluted).ok).toBe(false);
    const nested = JSON.parse(
      '{"mac":"aa:bb:cc:dd:ee:ff","action":{"kind":"block","constructor":{"prototype":{}}}}',
    ) as unknown;
    expect(validateRequest('client.action', nested).ok).toBe(false);
    expect(validateRequest('session.start', { ...goodConfig, extra: 1 }).ok).toBe(false);
    expect(validateRequest('session.start', Object.create({ mode: 'proxy' }) as unknown).ok).toBe(false);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('rejects bad field values', () => {
    expect(validateRequest('session.start', { ...goodConfig, mode: 'evil' }).ok).toBe(false);
    expect(validateRequest('session.start', { ...goodConfig, iface: 'eth0; rm -rf /' }).ok).toBe(false);
    expect(validateRequest('session.start', { ...goodConfig, address: '999.1.1.1' }).ok).toBe(false);
    expect(validateRequest('session.start', { ...goodConfig, ports: { tftp: 70000 } }).ok).toBe(false);
    expect(validateRequest('session.start', { ...goodConfig, fileServer: 'files.local' }).ok).toBe(false);
    expect(validateRequest('session.start', { ...goodConfig, chainloadUrl: 'a b' }).ok).toBe(false);
    expect(validateRequest('session.start', { ...goodConfig, chainloadUrl: 'x'.repeat(2000) }).ok).toBe(
      false,
    );
    expect(validateRequest('session.start', { ...goodConfig, vendorOptions: 'proxyDHCPd' }).ok).toBe(false);
    expect(validateRequest('session.start', { mode: 'dhcp', iface: 'eth0', root: '/srv' }).ok).toBe(false);
    expect(
      validateRequest('session.start', {
        ...goodConfig,
        mode: 'dhcp',
        dhcp: { rangeStart: '10.0.0.1', rangeEnd: '10.0.0.9', prefixLength: 24, leasesFile: '/etc/passwd' },
      }).ok,
    ).toBe(false);
    expect(validateRequest('client.action', { mac: 'AA-BB-CC-DD-EE-FF', action: { kind: 'block' } }).ok).toBe(
      false,
    );
    expect(
      validateRequest('client.action', { mac: 'aa:bb:cc:dd:ee:ff', action: { kind: 'reboot' } }).ok,
    ).toBe(false);
  });

  it('guards websocket frames and results', () => {
    expect(isWsRequest({ id: 1, channel: 'session.stop', payload: null })).toBe(true);
    expect(isWsRequest({ id: 1, channel: 'toString', payload: null })).toBe(false);
    expect(isWsRequest({ id: -1, channel: 'session.stop', payload: null })).toBe(false);
    expect(isWsRequest({ id: 1, channel: 'session.stop' })).toBe(false);
    expect(isResult({ ok: true, value: 1 })).toBe(true);
    expect(isResult({ ok: false, code: 'x', message: 'y' })).toBe(true);
    expect(isResult({ ok: false })).toBe(false);
  });

  it('guards the per-row boot actions, the probe and the report channels', () => {
    const act = (action: unknown) =>
      validateRequest('client.action', { mac: 'aa:bb:cc:dd:ee:ff', action }).ok;
    expect(act({ kind: 'boot-entry', entry: 'debian/vmlinuz' })).toBe(true);
    expect(act({ kind: 'boot-once', entry: 'memtest.efi' })).toBe(true);
    expect(act({ kind: 'boot-menu' })).toBe(true);
    expect(act({ kind: 'forget' })).toBe(true);
    for (const entry of [
      '../etc/passwd',
      '/etc/passwd',
      'a/../b',
      'a//b',
      './x',
      'C:\\x',
      'a\\b',
      '',
      'x'.repeat(5000),
      7,
    ])
      expect(act({ kind: 'boot-entry', entry }), String(entry)).toBe(false);
    expect(act({ kind: 'boot-menu', entry: 'x' })).toBe(false);
    expect(act({ kind: 'boot-once' })).toBe(false);
    expect(act({ kind: 'reboot' })).toBe(false);
    expect(validateRequest('probe.run', { iface: 'eth0' }).ok).toBe(true);
    for (const p of [
      null,
      {},
      { iface: '' },
      { iface: 'x'.repeat(100) },
      { iface: '../eth0' },
      { iface: 'eth0', x: 1 },
    ])
      expect(validateRequest('probe.run', p).ok, JSON.stringify(p)).toBe(false);
    expect(validateRequest('report.export', null).ok).toBe(true);
    expect(validateRequest('report.export', { path: '/etc/passwd' }).ok).toBe(false);
    expect(validateRequest('session.start', { ...goodConfig, overrideForeignDhcp: 'yes' }).ok).toBe(false);
    expect(validateRequest('session.start', { ...goodConfig, overrideForeignDhcp: true }).ok).toBe(true);
  });
});
