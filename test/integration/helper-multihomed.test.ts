/**
 * Test-catalogue case P18 (multi-homed server), through the native helper (docs/decisions.md, "DHCP sockets on Linux"):
 * the server namespace has eth0 (10.247.0.1/24, LAN A, where its default route points) and eth1
 * (10.248.0.1/24, LAN B). `pxe-desk serve --mode proxy --iface eth1 --helper always` runs as nobody with
 * a capability-bearing temp copy of the helper. A DISCOVER arriving on eth1 is answered with option 54
 * and siaddr = 10.248.0.1, out of eth1 only (tcpdump on eth0 sees no server packet); a DISCOVER on eth0
 * is not answered at all (the helper listens on the chosen NIC only). Killing the helper makes the CLI
 * report helper-died and exit 1.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createNetLab, joinSecondLan, waitFor, type NetLab } from '../helpers/netns.js';
import { haveNetns, haveTools } from '../helpers/tools.js';
import { buildHelperWithCapabilities, pxeDiscoverScript, startCapture, tsxAsNobody } from './helper-build.js';

const repo = resolve(__dirname, '../..');
const A_SRV = '10.247.0.1';
const B_SRV = '10.248.0.1';

interface Reply {
  type?: string;
  from?: string;
  hex?: string;
}

function discover(lab: NetLab, host: string, script: string): Reply {
  const out = lab.run(host, process.execPath, [script], { timeoutMs: 30_000 });
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as Reply;
}

/** Value of a DHCP option in a BOOTP packet (RFC 2132), or undefined. */
function option(packet: Buffer, code: number): Buffer | undefined {
  for (let i = 240; i + 1 < packet.length && packet[i] !== 255;) {
    if (packet[i] === 0) {
      i++;
      continue;
    }
    const len = packet[i + 1]!;
    if (packet[i] === code) return packet.subarray(i + 2, i + 2 + len);
    i += 2 + len;
  }
  return undefined;
}

describe.skipIf(!haveNetns() || !haveTools('go', 'setcap', 'setpriv', 'tcpdump'))(
  'P18 multi-homed server through the helper',
  () => {
    it('answers a DISCOVER on the chosen eth1 with 54/siaddr = eth1, out of eth1 only; eth0 gets nothing', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'pxd-p18-'));
      chmodSync(dir, 0o755);
      const labA = createNetLab({
        hosts: [
          // the server's default route points at the link that is NOT chosen
          { name: 'srv', address: `${A_SRV}/24`, defaultRoute: true },
          { name: 'clia', address: '10.247.0.2/24', defaultRoute: true },
        ],
      });
      let labB: NetLab | undefined;
      try {
        labB = createNetLab({ hosts: [{ name: 'clib', address: '10.248.0.2/24', defaultRoute: true }] });
        // eth1 of the server joins LAN B's bridge (the veth lives in LAN B's namespaces: removed with it).
        joinSecondLan(labA, 'srv', labB, `${B_SRV}/24`);

        const helperPath = buildHelperWithCapabilities(dir);
        const root = join(dir, 'root');
        mkdirSync(root);
        writeFileSync(join(root, 'undionly.kpxe'), 'not really iPXE, only named in the offer');
        chmodSync(root, 0o755);
        const client = join(dir, 'client.mjs');
        writeFileSync(client, pxeDiscoverScript(8000));
        const quietClient = join(dir, 'client-quiet.mjs');
        writeFileSync(quietClient, pxeDiscoverScript(4000));

        // Every packet the server sends on eth0 from a DHCP/PXE/TFTP port.
        const dumped = await startCapture(
          labA,
          'srv',
          'eth0',
          'udp src port 67 or udp src port 4011 or udp src port 69',
        );

        const serve = labA.spawn(
          'srv',
          'setpriv',
          tsxAsNobody(
            join(repo, 'test', 'lab', 'run-cli.ts'),
            'serve',
            '--mode',
            'proxy',
            '--iface',
            'eth1',
            '--root',
            root,
            '--json',
            '--helper',
            'always',
            '--helper-path',
            helperPath,
          ),
          { cwd: repo },
        );
        let out = '';
        let err = '';
        serve.stdout?.on('data', (d: Buffer) => (out += d.toString()));
        serve.stderr?.on('data', (d: Buffer) => (err += d.toString()));
        await waitFor(
          () => /"state":"(running|error)"/.test(out) || serve.exitCode !== null,
          60_000,
          'pxe-desk serve running',
        );
        expect(out, `${out}\n${err}`).toMatch(/"state":"running".*"transport":"helper"/);
        // The engines run as nobody without capabilities: they could not bind 67 themselves.
        const status = readFileSync(`/proc/${serve.pid}/status`, 'utf8');
        expect(status).toMatch(/^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
        expect(status).toMatch(/^CapEff:\s+0000000000000000$/m);

        const reply = discover(labA, 'clia', quietClient);
        expect(reply.type, 'a DISCOVER on the unchosen eth0 must not be answered').toBe('timeout');

        const got = discover(labB, 'clib', client);
        expect(got.type).toBe('reply');
        expect(got.from).toBe(`${B_SRV}:67`);
        const offer = Buffer.from(got.hex ?? '', 'hex');
        expect(offer[0]).toBe(2); // BOOTREPLY
        expect([...offer.subarray(20, 24)].join('.')).toBe(B_SRV); // siaddr
        expect([...(option(offer, 54) ?? [])].join('.')).toBe(B_SRV); // server identifier
        expect(option(offer, 60)?.toString()).toBe('PXEClient');

        await new Promise((r) => setTimeout(r, 500));
        expect(dumped().trim(), 'the server sent on eth0').toBe('');
        // The helper dies (killed by its PID, a child of the CLI): the CLI reports it and exits 1, so a
        // supervisor can restart it.
        const helperPid = readFileSync(`/proc/${serve.pid}/task/${serve.pid}/children`, 'utf8')
          .trim()
          .split(/\s+/)
          .map(Number)
          .find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(helperPath));
        expect(helperPid).toBeGreaterThan(0);
        process.kill(helperPid!, 'SIGKILL');
        await waitFor(() => serve.exitCode !== null, 15_000, 'pxe-desk serve exit');
        expect(serve.exitCode).toBe(1);
        expect(err).toMatch(/pxe-desk serve: the helper exited \(SIGKILL\)/);
        expect(out).toMatch(/"state":"error".*"code":"helper-died"/);
      } finally {
        await labB?.destroy();
        await labA.destroy();
        rmSync(dir, { recursive: true, force: true });
      }
      expect(existsSync(dir)).toBe(false);
    }, 180_000);
  },
);
