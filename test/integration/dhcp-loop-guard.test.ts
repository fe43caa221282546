/**
 * Test-catalogue I7: the iPXE loop guard end to end. A scripted client plays a machine that reboots after
 * every NBP: firmware PXE DISCOVER → TFTP the file it was offered (real curl) → the NBP (iPXE) DISCOVERs
 * again with its real option 77/175 bytes (taken from the lab capture) → fetches what it was offered over
 * HTTP (real curl) → reboot. Per boot cycle and MAC the NBP must be fetched over TFTP exactly once; a broken
 * guard (iPXE offered the NBP again) makes the client download it twice and the test fail.
 *
 * DHCP runs over the in-memory transport (nothing may send DHCP outside a namespace); TFTP and HTTP are
 * the real engines on 127.0.0.1 with real clients.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Opt, ProxyDhcpServer, decode, messageType } from '../../app/engines/dhcp/index.js';
import { HttpBootServer } from '../../app/engines/http/index.js';
import { TftpServer } from '../../app/engines/tftp/index.js';
import type { TransferEvent } from '../../app/shared/events.js';
import { pxeDiscover } from '../helpers/dhcp-packets.js';
import { MemoryTransport } from '../helpers/memory-transport.js';
import { readPcapUdp } from '../helpers/pcap.js';
import { haveTools } from '../helpers/tools.js';

const run = promisify(execFile);
const ipxeDiscover = readPcapUdp(join(import.meta.dirname, '../fixtures/pcaps/bios-proxy-tftp.pcap'))[0]!
  .payload;

describe.skipIf(!haveTools('curl'))('I7 loop guard end to end (scripted rebooting client)', () => {
  let dir = '';
  let tftp: TftpServer;
  let http: HttpBootServer;
  const transfers: TransferEvent[] = [];
  const nbp = randomBytes(64 * 1024);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pxe-i7-'));
    writeFileSync(join(dir, 'undionly.kpxe'), nbp);
    tftp = new TftpServer({ root: dir, address: '127.0.0.1', port: 0 });
    http = new HttpBootServer({
      root: dir,
      address: '127.0.0.1',
      port: 0,
      scripts: (path, query) =>
        path === 'boot.ipxe' ? `#!ipxe\necho menu for ${query.get('mac')}\n` : undefined,
    });
    for (const e of [tftp, http]) e.onEvent((ev) => transfers.push(ev));
    await tftp.start();
    await http.start();
  });
  afterAll(async () => {
    await tftp?.stop();
    await http?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('I7 three boot cycles: one TFTP NBP download per cycle, iPXE always gets the HTTP script', async () => {
    const t = new MemoryTransport();
    const proxy = new ProxyDhcpServer({
      transport: t,
      serverAddress: '127.0.0.1',
      boot: {
        mode: 'proxy',
        serverAddress: '127.0.0.1',
        tftpServer: '127.0.0.1',
        httpBaseUrl: `http://127.0.0.1:${http.port()}`,
      },
    });
    await proxy.start();
    // The firmware and the iPXE it loads share the NIC, so both stages use the capture's MAC.
    const mac = [...ipxeDiscover.subarray(28, 34)];
    /** One DHCP exchange: returns the proxy OFFER (xid checked, as iPXE does). */
    const dhcp = (packet: Buffer, xid: number) => {
      const p = Buffer.from(packet);
      p.writeUInt32BE(xid, 4);
      t.inject({ channel: 'dhcp', data: p, source: { address: '0.0.0.0', port: 68 } });
      const [out] = t.drain();
      expect(out).toBeDefined();
      const offer = decode(out!.data);
      expect(messageType(offer)).toBe(2);
      expect(offer.xid).toBe(xid);
      return offer;
    };
    /** What a client does with an offer: TFTP a plain name from siaddr, HTTP a URL. */
    const fetchBoot = async (file: string, siaddr: string): Promise<Buffer> => {
      const out = join(dir, `got-${Date.now()}-${Math.random()}`);
      const url = /^http:\/\//.test(file) ? file : `tftp://${siaddr}:${tftp.port()}/${file}`;
      await run('curl', ['-sS', '--fail', '--max-time', '20', '-o', out, url]);
      const data = readFileSync(out);
      rmSync(out);
      return data;
    };
    const cycles = 3;
    for (let cycle = 0; cycle < cycles; cycle++) {
      const before = transfers.filter((e) => e.engine === 'tftp' && e.type === 'done').length;
      // Stage 1: the NIC's PXE firmware (no 77, no 175).
      const first = dhcp(pxeDiscover(0, [], undefined, mac), 0x1000 + cycle);
      expect(first.file).toBe('undionly.kpxe');
      expect(first.options.get(Opt.vendorSpecific)?.toString('hex')).toBe('060108ff');
      expect((await fetchBoot(first.file, first.siaddr)).equals(nbp)).toBe(true);
      // Stage 2: the NBP is iPXE and DISCOVERs again with its real options.
      const second = dhcp(ipxeDiscover, 0x2000 + cycle);
      expect(second.file).not.toBe('undionly.kpxe');
      expect(second.file).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/boot\.ipxe\?mac=52:54:00:77:00:01&arch=bios$/);
      const script = (await fetchBoot(second.file, second.siaddr)).toString();
      expect(script).toContain('#!ipxe');
      // Wait for the TFTP engine's 'done' (events, not sleeps), then count this cycle's NBP downloads.
      for (let i = 0; i < 200; i++) {
        if (transfers.filter((e) => e.engine === 'tftp' && e.type === 'done').length > before) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      const nbpDownloads = transfers.filter(
        (e) => e.engine === 'tftp' && e.type === 'done' && e.file === 'undionly.kpxe',
      ).length;
      expect(nbpDownloads).toBe(cycle + 1);
    }
    const httpScripts = transfers.filter((e) => e.engine === 'http' && e.type === 'done');
    expect(httpScripts.length).toBe(cycles);
    await proxy.stop();
  }, 90_000);
});
