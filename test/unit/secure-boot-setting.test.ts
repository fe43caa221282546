/**
 * The Secure Boot setting (issue 19, "Per client, not per session"): `--secure-boot auto|on|off` on the
 * command line and in a config file, the session's validation, the UI contract, and the words the CLI's
 * --help and the UI show (one home: app/shared/secure-boot.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs, serveHelp, UsageError } from '../../app/cli/args.js';
import { buildConfig, ignoredOptions, mergeArgs } from '../../app/cli/config-from-args.js';
import { renderClient } from '../../app/cli/live-view.js';
import { formatEvent } from '../../app/cli/serve.js';
import { uiDefaults } from '../../app/cli/ui-server.js';
import { buildReport, renderReport } from '../../app/core/report.js';
import { ConfigError, validateConfig } from '../../app/core/config-validate.js';
import { validateRequest } from '../../app/shared/ipc-contract.js';
import { SECURE_BOOT_HELP, SECURE_BOOT_MODES } from '../../app/shared/secure-boot.js';
import type { SessionConfig } from '../../app/shared/session-types.js';

const dir = mkdtempSync(join(tmpdir(), 'pxe-sb-setting-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ctx = {
  interfaces: [
    { name: 'eth0', type: 'wired' as const, up: true, ipv4: { address: '10.0.0.1', prefixLength: 24 } },
  ],
  folderExists: () => true,
};

describe('--secure-boot on the command line', () => {
  it('each mode reaches the SessionConfig; absent means the default (auto) and is left out', () => {
    for (const m of SECURE_BOOT_MODES)
      expect(buildConfig(parseArgs(['--mode', 'proxy', '--secure-boot', m])).secureBoot).toBe(m);
    expect(buildConfig(parseArgs(['--secure-boot=on'])).secureBoot).toBe('on');
    expect(buildConfig(parseArgs(['--mode', 'proxy'])).secureBoot).toBeUndefined();
  });

  it('a bad value is a usage error that names the values and what to choose', () => {
    const bad = () => buildConfig(parseArgs(['--secure-boot', 'yes']));
    expect(bad).toThrow(UsageError);
    expect(bad).toThrow(/--secure-boot .*must be auto, on, off \(got "yes"\): use auto unless/);
    expect(() => parseArgs(['--secure-boot'])).toThrow(/needs a value/);
  });

  it('from a config file: "secureBoot" is read, a flag wins, and `true` is refused with the fix', () => {
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ mode: 'proxy', iface: 'eth0', secureBoot: 'on' }));
    expect(buildConfig(mergeArgs(parseArgs(['--config', good]))).secureBoot).toBe('on');
    expect(buildConfig(mergeArgs(parseArgs(['--config', good, '--secure-boot', 'off']))).secureBoot).toBe(
      'off',
    );
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ mode: 'proxy', iface: 'eth0', secureBoot: true }));
    expect(() => buildConfig(mergeArgs(parseArgs(['--config', bad])))).toThrow(
      /"secureBoot" in a config file\) must be auto, on, off \(got true\)/,
    );
  });

  it('files mode says the setting has no effect there (no boot answers are sent)', () => {
    const args = parseArgs(['--secure-boot', 'on']);
    expect(ignoredOptions(args, 'files').join(' ')).toMatch(/secureBoot.*ignored in files mode/);
    expect(ignoredOptions(parseArgs(['--mode', 'proxy', '--secure-boot', 'on']), 'proxy')).toEqual([]);
  });

  it('--help lists the option and one sentence per value, the same words as the UI', () => {
    const help = serveHelp();
    expect(help).toContain('--secure-boot auto|on|off');
    for (const m of SECURE_BOOT_MODES) expect(help).toContain(SECURE_BOOT_HELP[m]);
    expect(SECURE_BOOT_HELP.auto).toMatch(
      /refuse iPXE get the signed Microsoft-trusted chain \(shim → GRUB\)/,
    );
  });

  it('serve --ui hands the flag to the page as its starting value', () => {
    expect(uiDefaults(undefined, 'proxy', 'on')).toEqual({ mode: 'proxy', secureBoot: 'on' });
    expect(uiDefaults(undefined, undefined)).toEqual({});
  });
});

describe('the session validates the setting (a config from the UI or a file)', () => {
  const base: SessionConfig = { mode: 'proxy', iface: 'eth0', root: '/srv' };

  it('accepts every mode and none', () => {
    for (const m of SECURE_BOOT_MODES)
      expect(validateConfig({ ...base, secureBoot: m }, ctx).config.secureBoot).toBe(m);
    expect(validateConfig(base, ctx).config.secureBoot).toBeUndefined();
  });

  it('refuses anything else with code bad-secure-boot and a message that names the fix', () => {
    const config = { ...base, secureBoot: 'enabled' } as unknown as SessionConfig;
    try {
      validateConfig(config, ctx);
      expect.unreachable('validateConfig accepted "enabled"');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).code).toBe('bad-secure-boot');
      expect((error as ConfigError).message).toMatch(
        /"enabled" is not one of auto, on, off: use auto .*--secure-boot auto, or "secureBoot": "auto"/,
      );
    }
  });
});

describe('the UI contract carries the setting', () => {
  it('session.start accepts secureBoot auto|on|off and refuses other values', () => {
    for (const m of SECURE_BOOT_MODES)
      expect(
        validateRequest('session.start', { mode: 'proxy', iface: 'eth0', root: '/srv', secureBoot: m }),
      ).toMatchObject({ ok: true });
    for (const bad of ['yes', true, 1, ''])
      expect(
        validateRequest('session.start', { mode: 'proxy', iface: 'eth0', root: '/srv', secureBoot: bad }),
      ).toMatchObject({ ok: false, message: expect.stringMatching(/secureBoot must be auto, on or off/) });
  });
});

describe('the report and the terminal list the chain', () => {
  const client = {
    mac: '52:54:00:5b:00:01',
    stage: 'offered' as const,
    firstSeen: 0,
    lastSeen: 0,
    timeline: [],
    firmware: 'uefi-x64-http' as const,
    chain: 'signed' as const,
    chainReason: 'refused-unsigned' as const,
  };
  const snapshot = {
    state: 'running' as const,
    config: { mode: 'proxy' as const, iface: 'eth0', root: '/srv', secureBoot: 'auto' as const },
    clients: [
      client,
      { ...client, mac: '52:54:00:5b:00:02', chain: 'ipxe' as const, chainReason: undefined },
    ],
    warnings: [],
  };

  it('the report names the setting and, per machine, the signed chain and why', () => {
    const r = buildReport({ snapshot, log: [] }, 0);
    expect(r.secureBoot).toBe('auto');
    expect(r.clients[0]).toMatchObject({ chain: 'signed', chainReason: 'refused-unsigned' });
    const { html } = renderReport({ snapshot, log: [] }, 0);
    expect(html).toContain('Secure Boot: signed chain (shim → GRUB): its firmware did not run iPXE');
    expect(html.match(/Secure Boot: signed chain/g)).toHaveLength(1);
    expect(
      buildReport(
        { snapshot: { ...snapshot, config: { ...snapshot.config, secureBoot: undefined } }, log: [] },
        0,
      ).secureBoot,
    ).toBe('auto');
  });

  it('the live view and the plain lines mark a machine on the signed chain', () => {
    expect(renderClient(client)).toContain('[Secure Boot: signed chain]');
    expect(renderClient({ ...client, chain: 'ipxe' })).not.toContain('Secure Boot');
    expect(formatEvent({ type: 'client', client })).toMatch(
      /52:54:00:5b:00:01 \[offered\] \[Secure Boot: signed chain\]/,
    );
    expect(formatEvent({ type: 'client', client: { ...client, chain: 'ipxe' } })).not.toContain(
      'Secure Boot',
    );
  });
});

describe('an own UEFI boot file and the signed chain', () => {
  it('the session warns that an own UEFI x64 file is never served with Secure Boot on (auto serves it until refused)', () => {
    const base: SessionConfig = { mode: 'proxy', iface: 'eth0', root: '/srv' };
    const own = { ...base, bootFiles: { 'uefi-x64': 'my/loader.efi' } };
    expect(validateConfig({ ...own, secureBoot: 'on' }, ctx).warnings.join('\n')).toMatch(
      /--boot-file uefi-x64=my\/loader\.efi is not served: Secure Boot setting on .* --secure-boot auto/,
    );
    expect(validateConfig(own, ctx).warnings).toEqual([]);
    expect(validateConfig({ ...own, secureBoot: 'off' }, ctx).warnings).toEqual([]);
    expect(validateConfig({ ...base, bootFiles: { bios: 'x.kpxe' } }, ctx).warnings).toEqual([]);
  });
});
