/**
 * docs/pxe-desk.service + docs/example-config.json, the "-d daemon" of proxyDHCPd in modern form:
 * the unit's ExecStart must be a command line our parser accepts with that config, reload must be
 * SIGHUP (folder rescan), and the state directory must hold the lease file the example writes.
 * When systemd-analyze is installed, the unit is also verified by systemd itself.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../app/cli/args.js';
import { buildConfig, mergeArgs } from '../../app/cli/config-from-args.js';
import { parseIni } from '../../app/core/config-import.js';
import { which } from '../helpers/tools.js';

const repo = resolve(import.meta.dirname, '..', '..');
const unitText = readFileSync(join(repo, 'docs', 'pxe-desk.service'), 'utf8');
const unit = parseIni(unitText);

describe('systemd unit and example config', () => {
  it('ExecStart is a valid `serve` command line; with the example config it yields a full session config', () => {
    const exec = unit.service?.execstart ?? '';
    const words = exec.split(/\s+/);
    expect(words.slice(1, 3)).toEqual(['/opt/pxe-desk/bin/pxe-desk.js', 'serve']);
    const args = parseArgs(words.slice(3));
    expect(args.config).toBe('/etc/pxe-desk/config.json');
    // Same flags, but the example config from docs/ instead of /etc.
    const merged = mergeArgs({ ...args, config: join(repo, 'docs', 'example-config.json') });
    const config = buildConfig(merged);
    expect(config).toMatchObject({ mode: 'dhcp', iface: 'enp3s0', helper: 'never' });
    // The lease file the example writes lies in the unit's only writable path.
    const rw = unit.service?.readwritepaths ?? '';
    expect(dirname(config.dhcp!.leasesFile!)).toBe(rw);
  });

  it('reload sends SIGHUP, stop is SIGTERM (both handled by serve), low ports via capabilities', () => {
    expect(unit.service?.execreload).toBe('/bin/kill -HUP $MAINPID');
    expect(unit.service?.killsignal ?? 'SIGTERM').toBe('SIGTERM');
    expect(unit.service?.ambientcapabilities).toMatch(/CAP_NET_BIND_SERVICE/);
    expect(unit.install?.wantedby).toBe('multi-user.target');
  });

  it.runIf(which('systemd-analyze'))('systemd-analyze verify accepts the unit', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pxd-unit-'));
    try {
      copyFileSync(join(repo, 'docs', 'pxe-desk.service'), join(dir, 'pxe-desk.service'));
      const out = execFileSync('systemd-analyze', ['verify', join(dir, 'pxe-desk.service')], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 30_000,
      });
      expect(out).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
