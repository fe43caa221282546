/**
 * "Nothing is sent before the user chooses" (issue 17): opening the window must not put a DHCP packet on
 * any network card. `pxe-desk serve --ui` and Chromium run in a namespace whose card looks like a wired
 * NIC to the inventory, so the page has a card it could pick on its own (as on a technician's laptop on a
 * wired LAN), and tcpdump captures every UDP 67/68/4011 packet on that card.
 *
 * The lab's card is a veth, which the inventory rightly calls virtual (unsuitable, never suggested). The
 * CLI therefore runs in a mount namespace of its own where /sys/class/net/eth0 is a copy of the real
 * entry plus a `device` link, what a physical NIC has (app/core/interfaces.ts classifies by it).
 *
 * Also here: the command line's mode is the page's starting mode (`serve --mode files --ui`), and an
 * upload whose answer is not JSON, or an error status, fails visibly instead of leaving the page waiting.
 */
import { type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetLab, waitFor, type NetLab } from '../helpers/netns.js';
import { readPcapUdp, type UdpPacket } from '../helpers/pcap.js';
import { haveNetns, haveTools } from '../helpers/tools.js';
import { errorText, launchChromium } from './browser.js';
import { uiUrl } from './ui-harness.js';

const repo = resolve(import.meta.dirname, '..', '..');
const SRV = '10.238.0.1';
const DHCP_PORTS = new Set([67, 68, 4011]);

let lab: NetLab | undefined;
let work = '';
let browser: Browser | undefined;
let capture: ChildProcess | undefined;
const clis: { child: ChildProcess; out: string; err: string }[] = [];

/** Every DHCP / proxyDHCP / PXE boot-server packet tcpdump saw on the server's card so far. */
function dhcpOnWire(): UdpPacket[] {
  const pcap = join(work, 'wire.pcap');
  if (!existsSync(pcap)) return [];
  return readPcapUdp(pcap).filter((p) => DHCP_PORTS.has(p.dstPort) || DHCP_PORTS.has(p.srcPort));
}

/** DHCP message type (option 53) of a BOOTP payload, or undefined. */
function messageType(p: Buffer): number | undefined {
  if (p.length < 240 || p.readUInt32BE(236) !== 0x63825363) return undefined;
  for (let o = 240; o < p.length;) {
    const code = p[o]!;
    if (code === 255) break;
    if (code === 0) {
      o++;
      continue;
    }
    const len = p[o + 1] ?? 0;
    if (code === 53) return p[o + 2];
    o += 2 + len;
  }
  return undefined;
}

/** `pxe-desk serve --ui ARGS` in the server namespace, seeing eth0 as a wired card; returns its URL. */
async function startCli(args: string[]): Promise<string> {
  const fake = join(work, 'sys-eth0');
  const script = `mount --bind "$1" /sys/devices/virtual/net/eth0 && shift && exec "$@"`;
  const entry = { out: '', err: '', child: undefined as unknown as ChildProcess };
  entry.child = lab!.spawn('srv', 'unshare', [
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-c',
    script,
    'sh',
    fake,
    process.execPath,
    join(repo, 'bin', 'pxe-desk.js'),
    'serve',
    '--ui',
    ...args,
  ]);
  entry.child.stdout?.on('data', (d: Buffer) => (entry.out += d.toString()));
  entry.child.stderr?.on('data', (d: Buffer) => (entry.err += d.toString()));
  clis.push(entry);
  await waitFor(() => /"type":"ui"/.test(entry.out), 20_000, `serve --ui URL (stderr: ${entry.err})`);
  return uiUrl(entry.out);
}

async function openPage(url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser!.newPage({ viewport: { width: 1360, height: 820 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  await expect.poll(() => page.getByTestId('state').textContent(), { timeout: 15_000 }).toContain('idle');
  return { page, errors };
}

describe.skipIf(!haveNetns() || !haveTools('chromium', 'tcpdump', 'unshare'))(
  'the UI sends no DHCP before the user chooses a card (serve --ui in a namespace, tcpdump on the wire)',
  () => {
    beforeAll(async () => {
      execFileSync(process.execPath, [join(repo, 'scripts', 'build.mjs'), 'main', 'renderer', 'helper'], {
        cwd: repo,
        stdio: 'ignore',
      });
      // As in renderer.test.ts: the built CLI looks for the helper next to itself.
      const arch = process.arch === 'x64' ? 'amd64' : process.arch;
      const helperRel = join('native-helper', 'bin', `linux-${arch}`, 'pxe-desk-helper');
      mkdirSync(join(repo, 'dist', helperRel, '..'), { recursive: true });
      copyFileSync(join(repo, helperRel), join(repo, 'dist', helperRel));
      chmodSync(join(repo, 'dist', helperRel), 0o755);
      work = mkdtempSync(join(tmpdir(), 'pxe-ui-nodhcp-'));
      mkdirSync(join(work, 'netboot'));
      lab = createNetLab({ hosts: [{ name: 'srv', address: `${SRV}/24`, defaultRoute: true }] });
      // A copy of eth0's sysfs entry (as the namespace shows it) plus the `device` link of a physical NIC.
      const fake = join(work, 'sys-eth0');
      mkdirSync(join(fake, 'device'), { recursive: true });
      lab.run('srv', 'sh', [
        '-c',
        'cd /sys/class/net/eth0 && for f in *; do [ -f "$f" ] && cat "$f" > "$1/$f" 2>/dev/null; done; true',
        'sh',
        fake,
      ]);
      capture = lab.spawn('srv', 'tcpdump', [
        '-i',
        'eth0',
        '-n',
        '-U',
        '-w',
        join(work, 'wire.pcap'),
        'udp and (port 67 or port 68 or port 4011)',
      ]);
      let capErr = '';
      capture.stderr?.on('data', (d: Buffer) => (capErr += d.toString()));
      await waitFor(() => capErr.includes('listening on'), 15_000, `tcpdump to listen (${capErr})`);
      browser = await launchChromium({ netns: lab.ns('srv'), workDir: work });
    }, 180_000);

    afterAll(async () => {
      await browser?.close().catch(() => undefined);
      for (const c of clis) c.child.kill('SIGINT');
      capture?.kill('SIGINT');
      await lab?.destroy();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it('loading the page suggests the card and sends nothing; Check sends the DISCOVER (control)', async () => {
      const url = await startCli(['--root', join(work, 'netboot')]);
      const { page, errors } = await openPage(url);
      // The page knows the card (seen as wired: suitable, the one the old page picked on its own) …
      await expect.poll(() => page.getByTestId('nic-eth0').count(), { timeout: 15_000 }).toBe(1);
      expect(await page.getByTestId('nic-eth0').getByTestId('unsuitable').count()).toBe(0);
      // … and after far longer than the 400 ms after which the old page sent its DISCOVER, nothing on the wire.
      await new Promise((ok) => setTimeout(ok, 4000));
      expect(dhcpOnWire()).toEqual([]);
      // The card is marked as a suggestion, not chosen; proxy mode (no --mode given) stays idle.
      expect(await page.getByTestId('nic-eth0').getByTestId('suggested').count()).toBe(1);
      expect(await page.getByTestId('nic-eth0').locator('input').isChecked()).toBe(false);
      expect(await page.getByTestId('mode-proxy').locator('input').isChecked()).toBe(true);
      expect(await page.getByTestId('probe-idle').textContent()).toContain('Nothing sent yet');
      // A reload starts from nothing chosen again, and sends nothing either.
      await page.reload();
      await expect.poll(() => page.getByTestId('suggested').count(), { timeout: 15_000 }).toBe(1);
      await new Promise((ok) => setTimeout(ok, 2000));
      expect(dhcpOnWire()).toEqual([]);

      // Control: the capture sees DHCP when there is some. Check runs on the suggested card, which it picks.
      await page.getByRole('button', { name: 'Check the network for DHCP servers' }).click();
      await expect
        .poll(() => dhcpOnWire().filter((p) => p.dstPort === 67 && messageType(p.payload) === 1).length, {
          timeout: 15_000,
        })
        .toBeGreaterThan(0);
      expect(await page.getByTestId('nic-eth0').locator('input').isChecked()).toBe(true);
      await expect
        .poll(() => page.getByTestId('probe-summary').textContent(), { timeout: 20_000 })
        .toContain('No DHCP server answered on eth0');
      expect(errors).toEqual([]);
      await page.close();
    }, 120_000);

    it('serve --mode files --ui starts the page in files mode; a bad upload answer fails visibly', async () => {
      const before = dhcpOnWire().length;
      const url = await startCli(['--mode', 'files', '--root', join(work, 'netboot')]);
      const { page, errors } = await openPage(url);
      await expect
        .poll(() => page.getByTestId('mode-files').locator('input').isChecked(), { timeout: 15_000 })
        .toBe(true);
      expect(await page.getByTestId('mode-proxy').locator('input').isChecked()).toBe(false);
      expect(await page.getByTestId('probe').count()).toBe(0); // files mode: no network check
      // The folder came over the contract too (ui.defaults), not from the page address.
      expect(url).not.toContain('root=');
      await expect
        .poll(() => page.getByRole('textbox', { name: 'Netboot folder' }).inputValue())
        .toBe(join(work, 'netboot'));

      // An upload answered by something that is not PXE Desk (a proxy's HTML page), then an error status.
      const drop = (name: string): Promise<unknown> =>
        page.evaluate(`(() => {
          const dt = new DataTransfer();
          dt.items.add(new File([new Uint8Array(4096)], ${JSON.stringify(name)}));
          window.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
        })()`);
      await page.route(/\/upload\?/, (route) =>
        route.fulfill({ status: 200, contentType: 'text/html', body: '<html>502 Bad Gateway</html>' }),
      );
      await drop('vmlinuz');
      await expect
        .poll(() => errorText(page), {
          timeout: 10_000,
        })
        .toContain('not JSON');
      expect(await page.getByTestId('upload').count()).toBe(0); // the copy ended, nothing left waiting
      await page.unroute(/\/upload\?/);
      await page.route(/\/upload\?/, (route) =>
        route.fulfill({ status: 507, contentType: 'text/plain', body: 'disk full' }),
      );
      await drop('initrd.img');
      await expect
        .poll(() => page.getByTestId('error').textContent(), { timeout: 10_000 })
        .toContain('HTTP 507');
      expect(await page.getByTestId('upload').count()).toBe(0);
      await page.unroute(/\/upload\?/);

      await new Promise((ok) => setTimeout(ok, 1000));
      expect(dhcpOnWire().length).toBe(before);
      expect(errors).toEqual([]);
      await page.close();
    }, 120_000);
  },
);
