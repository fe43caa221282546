/**
 * Proxy mode through the built CLI, in namespaces, next to a real site DHCP server (busybox udhcpd):
 * - the NBP's TFTP download, which comes from the leased IP before any boot.ipxe?mac= request, joins
 *   the MAC's timeline record because the proxy overheard the REQUEST's option 50;
 * - PyPXE `-f` hands out another file server (siaddr, option 66, boot-URL host) and the client
 *   really downloads from it (a second `pxe-desk serve --mode files`);
 * - a proxyDHCPd INI: `chainload_url` is what iPXE gets, `vendor_specific_information` (hex) is option 43.
 * The client is a scripted PXE ROM (cli-pxe-client.mjs); downloads use curl.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createNetLab, waitFor, type NetLab } from '../helpers/netns.js';
import { haveNetns, haveTools } from '../helpers/tools.js';
import { cliBin, ensureBuilt, follow, type ServeRun, untilStarted } from './cli-run.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const clientScript = join(import.meta.dirname, 'cli-pxe-client.mjs');
const NET = '10.235.0';
const SRV = `${NET}.1`;
const SITE = `${NET}.2`;
const FILES = `${NET}.3`;

let lab: NetLab | undefined;
let dir: string | undefined;

cleanupAfterEach(() => ({ lab, dir }));

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface Reply {
  from: string;
  type: number;
  yiaddr: string;
  siaddr: string;
  file: string;
  serverId?: string;
  vendorClass?: string;
  opt43?: string;
  opt66?: string;
  opt67?: string;
}
interface ClientResult {
  mac: string;
  offers: Reply[];
  ack?: Reply;
  pxeAck?: Reply;
  error?: string;
}

/** The client downloads `url` with curl into `out` (inside the client namespace). */
function curlTo(l: NetLab, url: string, out: string): Promise<string> {
  return runAsync(l, 'cli', 'curl', ['-sS', '--max-time', '15', '-o', out, url]);
}

/** Runs a command in a namespace without blocking the event loop (pxe-desk's stdout keeps draining). */
function runAsync(l: NetLab, host: string, cmd: string, args: string[], timeoutMs = 20_000): Promise<string> {
  const child = l.spawn(host, cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`${cmd} timed out: ${err}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) ok(out);
      else fail(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}${out}`));
    });
  });
}

async function pxeClient(l: NetLab, opts: Record<string, unknown>): Promise<ClientResult> {
  const out = await runAsync(l, 'cli', process.execPath, [clientScript, JSON.stringify(opts)], 20_000);
  return JSON.parse(out) as ClientResult;
}

/** Starts `pxe-desk serve … --json` in a namespace and waits until it is running. */
async function serve(l: NetLab, host: string, args: string[]): Promise<ServeRun> {
  const run = follow(
    l.spawn(host, process.execPath, [cliBin, 'serve', ...args, '--helper', 'never', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  expect((await untilStarted(run, `${host}: session`)).state, run.stderr()).toBe('running');
  return run;
}

describe.skipIf(!haveNetns() || !haveTools('busybox', 'curl'))(
  'pxe-desk serve, proxy mode (built CLI)',
  () => {
    beforeAll(() => {
      ensureBuilt();
    }, 120_000);

    it('the NBP download from the site-leased IP joins the MAC record (REQUEST option 50): ONE record', async () => {
      dir = mkdtempSync(join(tmpdir(), 'pxd-cli-proxy-'));
      const root = join(dir, 'root');
      mkdirSync(root);
      const nbp = randomBytes(70_000);
      writeFileSync(join(root, 'undionly.kpxe'), nbp);
      // The site's DHCP server: busybox udhcpd, a peer nobody here wrote.
      const conf = join(dir, 'udhcpd.conf');
      writeFileSync(
        conf,
        [
          `start ${NET}.150`,
          `end ${NET}.160`,
          'interface eth0',
          `lease_file ${join(dir, 'udhcpd.leases')}`,
          `pidfile ${join(dir, 'udhcpd.pid')}`,
          'option subnet 255.255.255.0',
          'option lease 600',
          '',
        ].join('\n'),
      );
      writeFileSync(join(dir, 'udhcpd.leases'), '');
      lab = createNetLab({
        hosts: [
          { name: 'srv', address: `${SRV}/24`, defaultRoute: true },
          { name: 'site', address: `${SITE}/24`, defaultRoute: true },
          // No address yet (the site server leases one); the route lets the ROM's broadcast out.
          { name: 'cli', defaultRoute: true },
        ],
      });
      lab.spawn('site', 'busybox', ['udhcpd', '-f', '-a', '100', conf], { stdio: 'ignore' });
      const srv = await serve(lab, 'srv', ['--mode', 'proxy', '--iface', 'eth0', '--root', root]);

      const result = await pxeClient(lab, { arch: 0, lease: true, waitMs: 3000 });
      expect(result.error, JSON.stringify(result)).toBeUndefined();
      const ours = result.offers.find((o) => o.from.startsWith(SRV));
      const site = result.offers.find((o) => o.from.startsWith(SITE));
      expect(ours).toMatchObject({
        yiaddr: '0.0.0.0',
        siaddr: SRV,
        file: 'undionly.kpxe',
        opt43: '060108ff',
      });
      expect(site?.yiaddr).toMatch(/^10\.235\.0\.1[56]\d$/);
      const ip = result.ack!.yiaddr;
      expect(ip).toBe(site!.yiaddr);

      // The ROM now fetches the NBP over TFTP from its new address (BIOS, discovery control 8: no 4011).
      const out = join(dir, 'nbp.bin');
      await curlTo(lab, `tftp://${SRV}/undionly.kpxe`, out);
      expect(sha(readFileSync(out))).toBe(sha(nbp));

      await waitFor(
        () =>
          srv
            .clients()
            .get(result.mac)
            ?.timeline.some((t) => t.bytes === nbp.length) ?? false,
        10_000,
        'TFTP download in the MAC record',
      );
      const all = srv.clients();
      expect([...all.keys()]).toEqual([result.mac]); // ONE record, no `ip:` stray
      const client = all.get(result.mac)!;
      expect(client.ip).toBe(ip);
      expect(client.firmware).toBe('bios');
      const texts = client.timeline.map((t) => t.text);
      expect(texts[0]).toMatch(/^DISCOVER/);
      expect(texts).toContainEqual(
        expect.stringMatching(new RegExp(`^REQUEST ${ip.replace(/\./g, '\\.')} from ${SITE}`)),
      );
      expect(texts.at(-1)).toMatch(/^TFTP undionly\.kpxe 70 kB/);

      srv.child.kill('SIGINT');
      expect(await srv.exit).toBe(0);
    }, 120_000);

    it('-f hands out another file server (siaddr, option 66, URL host) and the client downloads from it', async () => {
      dir = mkdtempSync(join(tmpdir(), 'pxd-cli-proxy-'));
      const srvRoot = join(dir, 'srv');
      const filesRoot = join(dir, 'files');
      mkdirSync(srvRoot);
      mkdirSync(filesRoot);
      writeFileSync(join(srvRoot, 'undionly.kpxe'), randomBytes(20_000));
      const remote = randomBytes(50_000);
      writeFileSync(join(filesRoot, 'undionly.kpxe'), remote);
      lab = createNetLab({
        hosts: [
          { name: 'srv', address: `${SRV}/24`, defaultRoute: true },
          { name: 'files', address: `${FILES}/24`, defaultRoute: true },
          { name: 'cli', address: `${NET}.50/24`, defaultRoute: true },
        ],
      });
      const files = await serve(lab, 'files', ['--mode', 'files', '--address', FILES, '--root', filesRoot]);
      const srv = await serve(lab, 'srv', ['--dhcp-proxy', '--iface', 'eth0', '-a', srvRoot, '-f', FILES]);
      expect(srv.events.find((e) => e.type === 'state' && e.snapshot.state === 'running')).toMatchObject({
        snapshot: { config: { fileServer: FILES } },
      });

      const bios = await pxeClient(lab, { arch: 0, waitMs: 1500 });
      const offer = bios.offers.find((o) => o.from.startsWith(SRV));
      expect(offer).toMatchObject({ siaddr: FILES, opt66: FILES, file: 'undionly.kpxe', serverId: SRV });
      const out = join(dir, 'nbp.bin');
      await curlTo(lab, `tftp://${offer!.siaddr}/${offer!.file}`, out);
      expect(sha(readFileSync(out))).toBe(sha(remote));

      const ipxe = await pxeClient(lab, { arch: 7, userClass: 'iPXE', waitMs: 1500 });
      const url = ipxe.offers.find((o) => o.from.startsWith(SRV))?.opt67;
      expect(url).toBe(`http://${FILES}:8080/boot.ipxe?mac=${ipxe.mac}&arch=uefi-x64`);
      const script = await runAsync(lab, 'cli', 'curl', ['-sS', '--max-time', '15', url!]);
      expect(script).toMatch(/^#!ipxe/);
      // The file server (not us) served both downloads.
      await waitFor(() => files.clients().size > 0, 5_000, 'file server saw the client');
      expect(
        [...files.clients().values()].some((c) => c.timeline.some((t) => t.file === 'undionly.kpxe')),
      ).toBe(true);

      srv.child.kill('SIGINT');
      files.child.kill('SIGINT');
      expect(await srv.exit).toBe(0);
      expect(await files.exit).toBe(0);
    }, 120_000);

    it('proxyDHCPd INI (-c): chainload_url for iPXE, vendor_specific_information as option 43, --print-config', async () => {
      dir = mkdtempSync(join(tmpdir(), 'pxd-cli-proxy-'));
      const root = join(dir, 'root');
      mkdirSync(root);
      writeFileSync(join(root, 'undionly.kpxe'), randomBytes(10_000));
      writeFileSync(join(root, 'ipxe.efi'), randomBytes(10_000));
      const chain = `http://${SRV}:8080/menus/custom.ipxe`;
      // proxyDHCPd's documented layout (gmoro/proxyDHCPd proxy.ini), with hex sub-options in 43:
      // 06 01 08 (discovery control: boot the file at once), 0a 04 00 50 58 45 (menu prompt, 0 s, "PXE").
      const ini = join(dir, 'proxy.ini');
      writeFileSync(
        ini,
        [
          '; None of the configuration options below are optional',
          '[proxy]',
          'listen_address=0.0.0.0',
          `tftpd=${SRV}`,
          'interface=eth0',
          'filename=undionly.kpxe',
          'vendor_specific_information="06:01:08:0a:04:00:50:58:45:ff"',
          '',
          '[ipxe]',
          'enabled=true',
          'legacy_bootstrap=undionly.kpxe',
          'efi_bootstrap=ipxe.efi',
          `chainload_url=${chain}`,
          '',
        ].join('\n'),
      );
      const printed = JSON.parse(
        execFileSync(process.execPath, [cliBin, 'serve', '-c', ini, '--root', root, '--print-config'], {
          encoding: 'utf8',
        }),
      ) as Record<string, unknown>;
      expect(printed).toEqual({
        mode: 'proxy',
        root,
        iface: 'eth0',
        bootFiles: { bios: 'undionly.kpxe', 'uefi-x64': 'ipxe.efi' },
        helper: 'auto',
        fileServer: SRV,
        chainloadUrl: chain,
        vendorOptions: '06:01:08:0a:04:00:50:58:45:ff',
      });

      lab = createNetLab({
        hosts: [
          { name: 'srv', address: `${SRV}/24`, defaultRoute: true },
          { name: 'cli', address: `${NET}.60/24`, defaultRoute: true },
        ],
      });
      const srv = await serve(lab, 'srv', ['-c', ini, '--root', root]);
      const ipxe = await pxeClient(lab, { arch: 0, userClass: 'iPXE', waitMs: 1500 });
      expect(ipxe.offers.find((o) => o.from.startsWith(SRV))?.opt67).toBe(chain);
      // UEFI normally gets no 43 (EDK2 then asks on 4011); the operator's 43 is sent to it as to BIOS.
      const uefi = await pxeClient(lab, {
        arch: 7,
        waitMs: 1500,
        pxe4011: SRV,
        ciaddr: `${NET}.60`,
        bootItem: true,
      });
      const offer = uefi.offers.find((o) => o.from.startsWith(SRV));
      expect(offer).toMatchObject({ file: 'ipxe.efi', opt43: '0601080a0400505845ff' });
      // 4011: the operator's sub-options plus the echo of the client's boot item (71).
      expect(uefi.pxeAck?.opt43).toBe('0601080a0400505845470480010000ff');
      srv.child.kill('SIGINT');
      expect(await srv.exit).toBe(0);
    }, 120_000);
  },
);
