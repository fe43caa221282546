import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decode, Opt } from '../../app/engines/dhcp/index.js';
import { createNetLab, type NetLab } from '../helpers/netns.js';
import { haveNetns, haveTools } from '../helpers/tools.js';

const root = join(import.meta.dirname, '../..');
const serveScript = join(root, 'bench/dhcp-serve.ts');
const SRV = '10.233.0.1';

/** Starts the server child in the srv namespace; resolves once "ready" is printed. */
function startServer(lab: NetLab, args: string[]): Promise<{ child: ChildProcess; lines: string[] }> {
  const child = lab.spawn('srv', process.execPath, ['--import', 'tsx', serveScript, ...args], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let buf = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server not ready: ${lines.join('\n')}`)), 15_000);
    child.stderr?.on('data', (d: Buffer) => lines.push(d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        if (line === 'ready') {
          clearTimeout(timer);
          resolve({ child, lines });
        }
      }
    });
  });
}

/** Node one-liner (plain JS) that sends one datagram and prints the first reply as hex. */
function udpProbe(bindPort: number, to: string, toPort: number, hex: string): string {
  return `
const s = require('node:dgram').createSocket({ type: 'udp4', reuseAddr: true });
s.on('message', (m, r) => { console.log(JSON.stringify({ from: r.address + ':' + r.port, hex: m.toString('hex') })); process.exit(0); });
s.bind(${bindPort}, () => { s.setBroadcast(true); s.send(Buffer.from('${hex}', 'hex'), ${toPort}, '${to}'); });
setTimeout(() => { console.log('timeout'); process.exit(0); }, 3000);`;
}

function pxeDiscover(type: number, arch: number, ciaddr = '0.0.0.0'): string {
  const b = Buffer.alloc(240);
  b[0] = 1;
  b[1] = 1;
  b[2] = 6;
  b.writeUInt32BE(0x1234abcd, 4);
  Buffer.from(ciaddr.split('.').map(Number)).copy(b, 12);
  Buffer.from([0x52, 0x54, 0, 0x12, 0x34, 0x56]).copy(b, 28);
  b.writeUInt32BE(0x63825363, 236);
  const vc = Buffer.from(`PXEClient:Arch:${String(arch).padStart(5, '0')}:UNDI:003000`);
  return Buffer.concat([b, Buffer.from([53, 1, type, 60, vc.length, ...vc, 93, 2, 0, arch, 255])]).toString(
    'hex',
  );
}

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}

let lab: NetLab | undefined;
afterEach(async () => {
  await lab?.destroy();
  lab = undefined;
});

describe.skipIf(!haveNetns() || !haveTools('busybox'))('DHCP engines on real sockets in namespaces', () => {
  it('full mode: busybox udhcpc leases an address', async () => {
    lab = createNetLab({
      hosts: [{ name: 'srv', address: `${SRV}/24`, defaultRoute: true }, { name: 'cli' }],
    });
    const { lines } = await startServer(lab, ['dhcp', SRV, '10.233.0.100', '10.233.0.110', '24']);
    const out = lab.run('cli', 'sh', ['-c', 'busybox udhcpc -i eth0 -f -q -n -t 3 -T 1 -s /bin/true 2>&1'], {
      timeoutMs: 20_000,
    });
    expect(out).toMatch(/lease of 10\.233\.0\.10\d obtained/);
    await waitFor(() => lines.some((l) => l.includes('"type":"ack"')));
    expect(lines.some((l) => l.includes('"type":"ack"'))).toBe(true);
  }, 40_000);

  it('proxy mode: udhcpc gets no reply; a PXE DISCOVER gets the proxy OFFER; 4011 answers to port 4011', async () => {
    lab = createNetLab({
      hosts: [
        { name: 'srv', address: `${SRV}/24`, defaultRoute: true },
        { name: 'cli', address: '10.233.0.50/24', defaultRoute: true },
      ],
    });
    const { child, lines } = await startServer(lab, ['proxy', SRV]);
    let failed = false;
    try {
      lab.run('cli', 'sh', ['-c', 'busybox udhcpc -i eth0 -f -q -n -t 2 -T 1 -s /bin/true 2>&1'], {
        timeoutMs: 20_000,
      });
    } catch {
      failed = true; // -n: exits non-zero without a lease
    }
    expect(failed).toBe(true);
    child.stdin?.write('\n');
    await waitFor(() => lines.some((l) => l.startsWith('{"type":"counters"')));
    const counters = lines
      .filter((l) => l.startsWith('{"type":"counters"'))
      .map((l) => JSON.parse(l) as { received: number; sent: number });
    expect(counters.at(-1)?.received).toBeGreaterThan(0); // it saw udhcpc's DISCOVERs …
    expect(counters.at(-1)?.sent).toBe(0); // … and answered none of them

    const t0 = Date.now();
    const offer = JSON.parse(
      lab.run('cli', process.execPath, ['-e', udpProbe(68, '255.255.255.255', 67, pxeDiscover(1, 0))], {
        timeoutMs: 10_000,
      }),
    ) as { from: string; hex: string };
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(offer.from).toBe(`${SRV}:67`);
    const m = decode(Buffer.from(offer.hex, 'hex'));
    expect(m.file).toBe('undionly.kpxe');
    expect(m.yiaddr).toBe('0.0.0.0');
    expect(m.options.get(Opt.vendorSpecific)?.toString('hex')).toBe('060108ff');

    const ack = JSON.parse(
      lab.run('cli', process.execPath, ['-e', udpProbe(4011, SRV, 4011, pxeDiscover(3, 7, '10.233.0.50'))], {
        timeoutMs: 10_000,
      }),
    ) as { from: string; hex: string };
    expect(ack.from).toBe(`${SRV}:4011`);
    expect(decode(Buffer.from(ack.hex, 'hex')).file).toBe('snponly.efi');
  }, 60_000);
});
