/**
 * What a technician sees when the setup is wrong, through the built CLI on real interfaces inside a
 * namespace: `pxe-desk interfaces` (text and --json) and every start refusal the namespace can stage
 * (link down, no IPv4, unknown NIC, range outside the subnet, range holding our address, missing
 * folder, missing range, port in use, bad option values). Each must exit with the documented code and
 * a message that says what to change. Nothing here reaches the point of sending DHCP, except the
 * port-in-use case, which stays inside the namespace.
 * (Wi-Fi cannot be staged in a namespace: it is covered by test/unit/config-validate.test.ts.)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetLab, type NetLab } from '../helpers/netns.js';
import { haveNetns } from '../helpers/tools.js';
import { cliBin, ensureBuilt } from './cli-run.js';
import type { NicInfo } from '../../app/shared/session-types.js';

const SRV = '10.236.0.1';
let lab: NetLab | undefined;
let root = '';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in the srv namespace; resolves with its exit code and output. */
function cli(args: string[], timeoutMs = 30_000): Promise<Run> {
  const child = spawn('ip', ['netns', 'exec', lab!.ns('srv'), process.execPath, cliBin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((ok) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      ok({ code, stdout, stderr });
    });
  });
}

describe.skipIf(!haveNetns())('pxe-desk in a namespace: interfaces and refusals', () => {
  beforeAll(() => {
    ensureBuilt();
    root = mkdtempSync(join(tmpdir(), 'pxd-refuse-'));
    lab = createNetLab({ hosts: [{ name: 'srv', address: `${SRV}/24`, defaultRoute: true }] });
    // d0: address but link down (no cable); d1: up without IPv4.
    // (veth pairs: the dummy driver is not available everywhere.)
    lab.run('srv', 'ip', ['link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd0p']);
    lab.run('srv', 'ip', ['addr', 'add', '10.237.0.1/24', 'dev', 'd0']);
    lab.run('srv', 'ip', ['link', 'add', 'd1', 'type', 'veth', 'peer', 'name', 'd1p']);
    lab.run('srv', 'ip', ['link', 'set', 'd1p', 'up']);
    lab.run('srv', 'ip', ['link', 'set', 'd1', 'up']);
  }, 120_000);
  afterAll(async () => {
    await lab?.destroy();
    lab = undefined;
    rmSync(root, { recursive: true, force: true });
  });

  it('interfaces --json: type, link, IPv4/prefix, MAC, MTU and why a NIC is unsuitable', async () => {
    const r = await cli(['interfaces', '--json']);
    expect(r.code).toBe(0);
    const nics = JSON.parse(r.stdout) as NicInfo[];
    const by = new Map(nics.map((n) => [n.name, n]));
    const mac = lab!.run('srv', 'cat', ['/sys/class/net/eth0/address']).trim();
    expect(by.get('eth0')).toMatchObject({
      type: 'virtual',
      up: true,
      mac,
      mtu: 1500,
      ipv4: { address: SRV, prefixLength: 24 },
      unsuitable: expect.stringMatching(/virtual/),
    });
    expect(by.get('d0')).toMatchObject({ up: false, unsuitable: expect.stringMatching(/link down/) });
    expect(by.get('d1')).toMatchObject({ up: true, unsuitable: 'no IPv4 address' });
    expect(by.get('d1')?.ipv4).toBeUndefined();
    expect(by.get('lo')).toMatchObject({ type: 'loopback', unsuitable: 'loopback' });

    const text = await cli(['interfaces']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      new RegExp(`^eth0\\s+virtual\\s+up\\s+${SRV.replace(/\./g, '\\.')}/24\\s+${mac}\\s+mtu 1500`, 'm'),
    );
    expect(text.stdout).toMatch(/^d0\s+\S+\s+down .*\(unsuitable: link down/m);
  }, 60_000);

  const refusals: ReadonlyArray<readonly [string, string[], number, RegExp]> = [
    ['link down', ['-p', '--iface', 'd0'], 1, /d0 is down: plug in the cable or bring the link up/],
    ['no IPv4', ['-p', '--iface', 'd1'], 1, /d1 has no IPv4 address: give it a static address/],
    ['unknown NIC', ['-p', '--iface', 'enp9s9'], 1, /"enp9s9" not found: pick one of .*eth0/],
    [
      'no --iface',
      ['--mode', 'dhcp', '--range', '10.236.0.100-10.236.0.120'],
      1,
      /--iface NAME\). PXE Desk never picks/,
    ],
    [
      'range outside the subnet',
      ['--dhcp', '--iface', 'eth0', '--range', '10.99.0.10-10.99.0.20'],
      1,
      /outside eth0's subnet 10\.236\.0\.0\/24: choose addresses in that subnet/,
    ],
    [
      'range holds our address',
      ['--dhcp', '--iface', 'eth0', '-b', '10.236.0.1', '-e', '10.236.0.9'],
      1,
      /includes this machine's own address 10\.236\.0\.1: start or end the range elsewhere/,
    ],
    ['no range', ['--dhcp', '--iface', 'eth0'], 1, /needs an address range \(--range/],
    [
      'lease too short',
      ['--dhcp', '--iface', 'eth0', '--range', '10.236.0.100-10.236.0.120', '--lease-time', '20'],
      1,
      /use at least 60 seconds/,
    ],
    [
      'folder missing',
      ['-p', '--iface', 'eth0', '--root', '/nonexistent/netboot'],
      1,
      /does not exist: create it or choose another one/,
    ],
    ['bad mode', ['--mode', 'pxe'], 2, /--mode must be proxy, dhcp or files/],
    [
      'bad subnet',
      ['--dhcp', '--iface', 'eth0', '--range', '10.236.0.100-10.236.0.120', '-n', '255.0.255.0'],
      2,
      /--subnet wants a mask or \/prefix/,
    ],
    [
      'bad boot file',
      ['-p', '--iface', 'eth0', '--boot-file', 'mips=x.efi'],
      2,
      /ARCH=FILE with ARCH one of bios/,
    ],
    [
      'bad option 43',
      ['-p', '--iface', 'eth0', '--vendor-options', 'hello'],
      2,
      /not hex bytes: give PXE sub-options/,
    ],
    ['bad log level', ['-p', '--iface', 'eth0', '--debug', 'nfs'], 2, /unknown service "nfs"/],
  ];

  for (const [name, args, code, message] of refusals)
    it(`refuses: ${name} → exit ${code} with a fix-it message`, async () => {
      const useRoot = args.includes('--root') ? [] : ['--root', root];
      const r = await cli(['serve', ...args, ...useRoot, '--helper', 'never', '--json']);
      expect(r.code, r.stdout + r.stderr).toBe(code);
      expect(r.stderr).toMatch(message);
      if (code === 1) expect(r.stdout).toContain('"state":"error"');
    }, 30_000);

  it('refuses: port 4011 in use → exit 1, port-in-use, nothing left listening', async () => {
    const blocker = lab!.spawn(
      'srv',
      process.execPath,
      ['-e', "require('node:dgram').createSocket('udp4').bind(4011, () => console.log('bound'))"],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    await new Promise<void>((ok) => blocker.stdout?.once('data', () => ok()));
    try {
      const r = await cli(['serve', '-p', '--iface', 'eth0', '--root', root, '--helper', 'never', '--json']);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('"code":"port-in-use"');
      expect(r.stderr).toMatch(/another server uses this port; stop it or choose another port/);
      // Everything it opened before the failure (TFTP 69, HTTP 8080, DHCP 67) is closed again.
      const ss = lab!.run('srv', 'ss', ['-lunpt']);
      expect(ss).not.toMatch(/:(67|69|8080)\s/);
    } finally {
      blocker.kill('SIGKILL');
    }
  }, 30_000);
});
