/**
 * Test-catalogue P13 against a real peer: dnsmasq in proxy mode with the same two-item menu and prompt answers a
 * BIOS PXE DISCOVER inside a namespace; its option 43 must carry the same sub-options as ours (6 discovery
 * control, 8 boot servers, 9 menu, 10 prompt, END) with the same labels, prompt, timeout and server
 * address, and in fact byte for byte (both number boot server types from 0x8000).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Opt, ProxyDhcpServer, decode, subOptions } from '../../app/engines/dhcp/index.js';
import { pxeDiscover, setIp } from '../helpers/dhcp-packets.js';
import { MemoryTransport } from '../helpers/memory-transport.js';
import { createNetLab, type NetLab } from '../helpers/netns.js';
import { haveNetns, haveTools, which } from '../helpers/tools.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const SRV = '10.235.0.1';
const CLI = '10.235.0.50';
let lab: NetLab | undefined;
let dir: string | undefined;
cleanupAfterEach(() => ({ lab, dir }));

/** Parsed PXE option 43: sub-options 8 and 9 as lists, 6 and 10 raw. */
function pxeOptions(v: Buffer | undefined) {
  const sub = subOptions(v);
  const servers: { type: number; ips: string[] }[] = [];
  const s8 = sub.get(8) ?? Buffer.alloc(0);
  for (let p = 0; p + 3 <= s8.length;) {
    const n = s8[p + 2]!;
    const ips = Array.from({ length: n }, (_, i) => [...s8.subarray(p + 3 + 4 * i, p + 7 + 4 * i)].join('.'));
    servers.push({ type: s8.readUInt16BE(p), ips });
    p += 3 + 4 * n;
  }
  const menu: { type: number; label: string }[] = [];
  const s9 = sub.get(9) ?? Buffer.alloc(0);
  for (let p = 0; p + 3 <= s9.length; p += 3 + s9[p + 2]!) {
    menu.push({ type: s9.readUInt16BE(p), label: s9.subarray(p + 3, p + 3 + s9[p + 2]!).toString('latin1') });
  }
  return { codes: [...sub.keys()], control: sub.get(6)?.toString('hex'), prompt: sub.get(10), servers, menu };
}

describe.skipIf(!haveNetns() || !haveTools('dnsmasq'))('P13 PXE menu beside dnsmasq (real peer)', () => {
  it('P13 dnsmasq and PXE Desk send the same menu structure for the same configuration', async () => {
    lab = createNetLab({
      hosts: [
        { name: 'srv', address: `${SRV}/24`, defaultRoute: true },
        { name: 'cli', address: `${CLI}/24`, defaultRoute: true },
      ],
    });
    dir = mkdtempSync(join(tmpdir(), 'pxd-menu-'));
    const dnsmasq = which('dnsmasq') ?? '/usr/sbin/dnsmasq';
    lab.spawn('srv', dnsmasq, [
      '-k',
      '--conf-file=/dev/null',
      '--port=0',
      '--interface=eth0',
      '--bind-interfaces',
      '--log-facility=/dev/null',
      `--dhcp-leasefile=${join(dir, 'leases')}`,
      `--dhcp-range=${SRV.replace(/\.1$/, '.0')},proxy,255.255.255.0`,
      '--pxe-service=x86PC,Linux,pxelinux',
      '--pxe-service=x86PC,Memtest,memtest',
      '--pxe-prompt=Press F8 for the menu,5',
    ]);
    for (let i = 0; i < 100; i++) {
      if (/:67\b/.test(lab.run('srv', 'ss', ['-uln']))) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // Relay-style DISCOVER (giaddr = the client, from port 67): dnsmasq answers it by unicast to giaddr:67.
    const discover = pxeDiscover(0, [], setIp(24, CLI));
    const probe = `
const s = require('node:dgram').createSocket({ type: 'udp4', reuseAddr: true });
s.on('message', (m) => { if (m[0] === 2) { console.log(m.toString('hex')); process.exit(0); } });
s.bind(67, '${CLI}', () => s.send(Buffer.from('${discover.toString('hex')}', 'hex'), 67, '${SRV}'));
setTimeout(() => { console.log('timeout'); process.exit(0); }, 4000);`;
    const out = lab.run('cli', process.execPath, ['-e', probe], { timeoutMs: 10_000 }).trim();
    expect(out).not.toBe('timeout');
    const theirs = decode(Buffer.from(out, 'hex'));

    const t = new MemoryTransport();
    const ours = new ProxyDhcpServer({
      transport: t,
      serverAddress: SRV,
      boot: {
        mode: 'proxy',
        serverAddress: SRV,
        tftpServer: SRV,
        httpBaseUrl: `http://${SRV}:8080`,
        pxeMenu: {
          items: [
            { label: 'Linux', bootFile: 'pxelinux.0' },
            { label: 'Memtest', bootFile: 'memtest.0' },
          ],
          prompt: 'Press F8 for the menu',
          timeoutSeconds: 5,
        },
      },
    });
    await ours.start();
    t.inject({ channel: 'dhcp', data: discover, source: { address: CLI, port: 67 } });
    const mine = decode(t.drain()[0]!.data);

    const a = pxeOptions(theirs.options.get(Opt.vendorSpecific));
    const b = pxeOptions(mine.options.get(Opt.vendorSpecific));
    expect(b.codes).toEqual(a.codes);
    expect(b.control).toBe(a.control);
    expect(b.prompt?.toString('hex')).toBe(a.prompt?.toString('hex'));
    expect(b.menu.map((m) => m.label)).toEqual(a.menu.map((m) => m.label));
    expect(b.servers.map((s) => s.ips)).toEqual(a.servers.map((s) => s.ips));
    // Each menu item has its own vendor-range type, listed with the same server in 8 (PXE 2.1 Table 2-1).
    for (const side of [a, b]) {
      const types = side.menu.map((m) => m.type);
      expect(new Set(types).size).toBe(types.length);
      expect(types.every((x) => x >= 0x8000)).toBe(true);
      expect(side.servers.map((s) => s.type)).toEqual(types);
    }
    expect(mine.options.get(Opt.vendorSpecific)?.toString('hex')).toBe(
      theirs.options.get(Opt.vendorSpecific)?.toString('hex'),
    );
    // Both leave the file empty: the ROM asks 4011 for the chosen item.
    expect(mine.file).toBe('');
    expect(theirs.file).toBe('');
    await ours.stop();
  }, 60_000);
});
