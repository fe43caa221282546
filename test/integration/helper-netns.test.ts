/**
 * End to end inside network namespaces: the real helper (given cap_net_bind_service,cap_net_raw on a temp
 * copy that is removed afterwards), the Node side (HelperTransport + ProxyDhcpServer) running as nobody,
 * a PXE DISCOVER broadcast from a client namespace, and the proxy OFFER back. A second link in the
 * server namespace, where the default route points, must see nothing (SO_BINDTODEVICE pins every send
 * to the chosen NIC). Negative controls prove that capture would have seen a stray broadcast: the same
 * send from a helper bound to eth0 stays off it, while a plain unpinned socket's broadcast and a helper
 * bound to the second link show up in it.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createNetLab, waitFor } from '../helpers/netns.js';
import { haveNetns, haveTools } from '../helpers/tools.js';
import {
  buildHelper,
  buildHelperWithCapabilities,
  pxeDiscoverScript,
  startCapture,
  tsxAsNobody,
} from './helper-build.js';

const repo = resolve(__dirname, '../..');
const SRV = '10.243.0.1';

const serverScript = `
import { HelperTransport } from ${JSON.stringify(join(repo, 'app/transport/helper-transport.ts'))};
import { ProxyDhcpServer } from ${JSON.stringify(join(repo, 'app/engines/dhcp/index.ts'))};
const [helperPath, iface, addr] = process.argv.slice(2);
const transport = new HelperTransport({ iface, helperPath });
transport.onDatagram((d) => console.log(JSON.stringify({ type: 'in', channel: d.channel, ifindex: d.interfaceIndex, dst: d.destination })));
transport.onError((e) => console.log(JSON.stringify({ type: 'error', code: e.code, message: e.message })));
const server = new ProxyDhcpServer({ transport, serverAddress: addr, boot: { mode: 'proxy', serverAddress: addr, tftpServer: addr, httpBaseUrl: 'http://' + addr + ':8080' } });
try {
  await server.start();
  console.log(JSON.stringify({ type: 'ready', uid: process.getuid(), ifindex: transport.ifindex }));
} catch (e) {
  console.log(JSON.stringify({ type: 'failed', code: e.code, message: e.message }));
  process.exit(1);
}
setInterval(() => undefined, 1000);
`;

// Negative control: a helper bound to <iface> (root, unprivileged test ports 1067/1068) broadcasts
// three datagrams from its dhcp role to 255.255.255.255:1068, the shape of a proxy OFFER's destination.
const controlScript = `
import { HelperTransport } from ${JSON.stringify(join(repo, 'app/transport/helper-transport.ts'))};
const [helperPath, iface] = process.argv.slice(2);
const t = new HelperTransport({ iface, helperPath, ports: { dhcp: 1067 } });
await t.open(['dhcp']);
for (let i = 0; i < 3; i++) await t.send('dhcp', { address: '255.255.255.255', port: 1068 }, Buffer.from('ctl'));
await new Promise((r) => setTimeout(r, 200));
await t.close();
console.log('sent on ' + iface);
`;

// What the helper prevents: a plain node:dgram socket (no SO_BINDTODEVICE) broadcasting to :1068.
const unpinnedScript = `
import { createSocket } from 'node:dgram';
const s = createSocket('udp4');
s.bind(1069, () => {
  s.setBroadcast(true);
  s.send(Buffer.from('unpinned'), 1068, '255.255.255.255', (e) => { console.log(e ? 'error ' + e.message : 'sent'); s.close(); });
});
`;

describe.skipIf(!haveNetns() || !haveTools('go', 'setcap', 'setpriv', 'tcpdump'))(
  'helper relay in namespaces (unprivileged engines)',
  () => {
    it('a proxy DISCOVER reaches ProxyDhcpServer through the helper and the OFFER comes back on eth0 only', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'pxd-helper-ns-'));
      chmodSync(dir, 0o755);
      const lab = createNetLab({
        hosts: [
          { name: 'srv', address: `${SRV}/24` },
          { name: 'cli', address: '10.243.0.2/24', defaultRoute: true },
        ],
      });
      try {
        const helperPath = buildHelperWithCapabilities(dir);
        writeFileSync(join(dir, 'server.mts'), serverScript);
        writeFileSync(join(dir, 'client.mjs'), pxeDiscoverScript(8000));
        writeFileSync(join(dir, 'control.mts'), controlScript);
        writeFileSync(join(dir, 'unpinned.mjs'), unpinnedScript);
        // The interface that is NOT chosen: one end of a veth pair with an address, watched by tcpdump.
        lab.run('srv', 'ip', ['link', 'add', 'vx0', 'type', 'veth', 'peer', 'name', 'vx1']);
        lab.run('srv', 'ip', ['addr', 'add', '10.244.0.1/24', 'dev', 'vx0']);
        lab.run('srv', 'ip', ['link', 'set', 'vx1', 'up']);
        lab.run('srv', 'ip', ['link', 'set', 'vx0', 'up']);
        // The default route leads to the WRONG link (docs/protocol-notes.md §11: without SO_BINDTODEVICE a broadcast leaves
        // by the default route, maybe Wi-Fi): only the pin keeps the OFFER on eth0.
        lab.run('srv', 'ip', ['route', 'add', 'default', 'dev', 'vx0']);
        const dumped = await startCapture(lab, 'srv', 'vx0', 'ip');

        const server = lab.spawn(
          'srv',
          'setpriv',
          tsxAsNobody(join(dir, 'server.mts'), helperPath, 'eth0', SRV),
          { cwd: repo },
        );
        let out = '';
        let err = '';
        server.stdout?.on('data', (d: Buffer) => (out += d.toString()));
        server.stderr?.on('data', (d: Buffer) => (err += d.toString()));
        await waitFor(
          () => /"type":"(ready|failed)"/.test(out) || server.exitCode !== null,
          30_000,
          `server ready (${err})`,
        );
        const lines = (): Array<Record<string, unknown>> =>
          out
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .map((l) => JSON.parse(l) as Record<string, unknown>);
        const ready = lines().find((l) => l.type === 'ready');
        expect(ready, `${out}\n${err}`).toBeDefined();
        expect(ready?.uid).toBe(65534);

        const clientOut = lab.run('cli', process.execPath, [join(dir, 'client.mjs')], { timeoutMs: 15_000 });
        const reply = JSON.parse(clientOut.trim().split('\n').pop() ?? '{}') as {
          type?: string;
          from?: string;
          hex?: string;
        };
        expect(reply.type).toBe('reply');
        expect(reply.from).toBe(`${SRV}:67`);
        const offer = Buffer.from(reply.hex ?? '', 'hex');
        // Proxy OFFER: BOOTREPLY, yiaddr 0.0.0.0, option 60 "PXEClient", option 54 = the server.
        expect(offer[0]).toBe(2);
        expect(offer.readUInt32BE(16)).toBe(0);
        expect(offer.includes(Buffer.from('PXEClient'))).toBe(true);
        expect(offer.includes(Buffer.from([54, 4, 10, 243, 0, 1]))).toBe(true);
        // lab.run blocked the event loop: let the server's stdout arrive.
        await waitFor(() => lines().some((l) => l.type === 'in'), 5000, 'datagram-in line');
        const seen = lines().find((l) => l.type === 'in');
        expect(seen).toMatchObject({ channel: 'dhcp', dst: { address: '255.255.255.255', port: 67 } });
        expect(seen?.ifindex).toBe(ready?.ifindex);

        await new Promise((r) => setTimeout(r, 500));
        expect(dumped().trim()).toBe('');

        // Negative control: the capture on vx0 is live and would show a stray broadcast.
        const control = (iface: string): string =>
          lab.run('srv', process.execPath, ['--import', 'tsx', join(dir, 'control.mts'), helperPath, iface], {
            timeoutMs: 30_000,
          });
        expect(control('eth0')).toContain('sent on eth0');
        await new Promise((r) => setTimeout(r, 500));
        expect(dumped().trim(), 'a broadcast pinned to eth0 leaked onto vx0').toBe('');
        expect(lab.run('srv', process.execPath, [join(dir, 'unpinned.mjs')])).toContain('sent');
        await waitFor(
          () => /\.1069 > 255\.255\.255\.255\.1068/.test(dumped()),
          10_000,
          'the unpinned broadcast in the vx0 capture',
        );
        expect(control('vx0')).toContain('sent on vx0');
        await waitFor(
          () => (dumped().match(/10\.244\.0\.1\.1067 > 255\.255\.255\.255\.1068/g) ?? []).length === 3,
          10_000,
          "the control's 3 broadcasts in the vx0 capture",
        );

        // The app crashes (SIGKILL, no bye frame): its pipe closes and the helper exits at once, so no
        // orphan keeps 67/4011 bound.
        const helperPid = readFileSync(`/proc/${server.pid}/task/${server.pid}/children`, 'utf8')
          .trim()
          .split(/\s+/)
          .map(Number)
          .find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(helperPath));
        expect(helperPid).toBeGreaterThan(0);
        process.kill(server.pid!, 'SIGKILL');
        await waitFor(() => !existsSync(`/proc/${helperPid}`), 10_000, 'the orphaned helper to exit');
        expect(lab.run('srv', 'ss', ['-Hulnp', 'sport = :67 or sport = :4011']).trim()).toBe('');
      } finally {
        await lab.destroy();
        rmSync(dir, { recursive: true, force: true });
      }
      expect(existsSync(dir)).toBe(false);
    }, 120_000);

    it('reports interface-down and interface-missing before binding anything', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'pxd-helper-down-'));
      const lab = createNetLab({ hosts: [{ name: 'srv', address: '10.249.0.1/24' }] });
      try {
        const helperPath = buildHelper(dir);
        // A link that exists but is down (a fresh veth pair is created down).
        lab.run('srv', 'ip', ['link', 'add', 'vd0', 'type', 'veth', 'peer', 'name', 'vd1']);
        writeFileSync(
          join(dir, 'open.mts'),
          `import { HelperTransport } from ${JSON.stringify(join(repo, 'app/transport/helper-transport.ts'))};
const out = {};
for (const iface of ['vd0', 'nosuch9']) {
  const t = new HelperTransport({ iface, helperPath: process.argv[2], ports: { dhcp: 1067 } });
  try { await t.open(['dhcp']); out[iface] = 'opened'; await t.close(); }
  catch (e) { out[iface] = { code: e.code, message: e.message }; }
}
console.log(JSON.stringify(out));
`,
        );
        const text = lab.run('srv', process.execPath, ['--import', 'tsx', join(dir, 'open.mts'), helperPath]);
        const out = JSON.parse(text.trim().split('\n').pop() ?? '{}') as Record<
          string,
          { code?: string; message?: string }
        >;
        expect(out.vd0).toMatchObject({ code: 'interface-down' });
        expect(out.vd0?.message).toMatch(/vd0 is down.*ip link set vd0 up/);
        expect(out.nosuch9).toMatchObject({ code: 'interface-missing' });
      } finally {
        await lab.destroy();
        rmSync(dir, { recursive: true, force: true });
      }
    }, 60_000);

    it.skipIf(!haveTools('dnsmasq'))(
      'names dnsmasq holding port 67 in a port-in-use error',
      async () => {
        const dir = mkdtempSync(join(tmpdir(), 'pxd-helper-busy-'));
        const lab = createNetLab({ hosts: [{ name: 'srv', address: '10.251.0.1/24' }] });
        try {
          const helperPath = buildHelper(dir);
          // A real peer on 67: dnsmasq as a DHCP server on eth0 (no client, so it sends nothing).
          const dnsmasq = lab.spawn('srv', 'dnsmasq', [
            '--conf-file=/dev/null',
            '--keep-in-foreground',
            '--port=0',
            '--pid-file=',
            '--user=root',
            '--interface=eth0',
            '--dhcp-range=10.251.0.100,10.251.0.150,1h',
            `--dhcp-leasefile=${join(dir, 'leases')}`,
          ]);
          await waitFor(
            () => lab.run('srv', 'ss', ['-Hulnp', 'sport = :67']).includes('dnsmasq'),
            10_000,
            'dnsmasq on 67',
          );
          writeFileSync(
            join(dir, 'busy.mts'),
            `import { HelperTransport } from ${JSON.stringify(join(repo, 'app/transport/helper-transport.ts'))};
const t = new HelperTransport({ iface: 'eth0', helperPath: process.argv[2] });
try { await t.open(['dhcp', 'pxe']); console.log(JSON.stringify({ opened: true })); await t.close(); }
catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }
`,
          );
          const text = lab.run('srv', process.execPath, [
            '--import',
            'tsx',
            join(dir, 'busy.mts'),
            helperPath,
          ]);
          const out = JSON.parse(text.trim().split('\n').pop() ?? '{}') as {
            code?: string;
            message?: string;
          };
          expect(out.code).toBe('port-in-use');
          expect(out.message).toContain(
            `bind udp port 67 on eth0: address already in use (in use by dnsmasq (pid ${dnsmasq.pid}))`,
          );
        } finally {
          await lab.destroy();
          rmSync(dir, { recursive: true, force: true });
        }
      },
      60_000,
    );
  },
);
