/**
 * The real helper binary behind HelperTransport, on loopback with unprivileged test ports (the only
 * traffic is 127.0.0.1 unicast on the pxe role; nothing is broadcast from the root namespace).
 */
import { createSocket } from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransportError, type Datagram } from '../../app/shared/datagram-transport.js';
import { HelperTransport } from '../../app/transport/helper-transport.js';
import { haveTools } from '../helpers/tools.js';
import { buildHelper, tsxAsNobody } from './helper-build.js';

const repo = resolve(__dirname, '../..');
let dir = '';
let helperPath = '';

// Below the kernel's ephemeral range, so no concurrent test's client socket can already hold it.
const port = 25000 + (process.pid % 2000);

describe.skipIf(process.platform !== 'linux' || !haveTools('go'))(
  'HelperTransport with the real helper (loopback)',
  () => {
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'pxd-helper-'));
      helperPath = buildHelper(dir);
    }, 120_000);
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('relays a datagram in with ifindex/destination and a reply out only to a seen peer', async () => {
      const t = new HelperTransport({ iface: 'lo', helperPath, ports: { pxe: port } });
      const errors: TransportError[] = [];
      t.onError((e) => errors.push(e));
      const client = createSocket('udp4');
      try {
        await t.open(['pxe']);
        expect(t.ifindex).toBe(1);
        const got = new Promise<Datagram>((ok) => t.onDatagram(ok));
        await new Promise<void>((ok) => client.bind(0, '127.0.0.1', ok));
        const reply = new Promise<Buffer>((ok) => client.once('message', ok));
        client.send(Buffer.from('ping'), port, '127.0.0.1');
        const d = await got;
        expect(Buffer.from(d.data).toString()).toBe('ping');
        expect(d).toMatchObject({
          channel: 'pxe',
          interfaceIndex: 1,
          destination: { address: '127.0.0.1', port },
        });
        expect(d.source).toEqual({ address: '127.0.0.1', port: client.address().port });
        await t.send('pxe', d.source, Buffer.from('pong'));
        expect((await reply).toString()).toBe('pong');
        // A peer never seen on 4011 is refused by the helper.
        await t.send('pxe', { address: '127.0.0.1', port: d.source.port + 1 }, Buffer.from('x'));
        await expect.poll(() => errors.map((e) => e.code)).toContain('send-refused');
        await expect(t.send('dhcp', d.source, Buffer.from('x'))).rejects.toMatchObject({ code: 'not-open' });
      } finally {
        client.close();
        await t.close();
      }
    });

    it('maps bind failures to TransportError codes', async () => {
      const squatter = createSocket('udp4');
      await new Promise<void>((ok) => squatter.bind(port + 1, ok));
      try {
        // The holder is named when we may see it: here this very process.
        const busy = new HelperTransport({ iface: 'lo', helperPath, ports: { pxe: port + 1 } });
        await expect(busy.open(['pxe'])).rejects.toMatchObject({
          code: 'port-in-use',
          message: expect.stringContaining(`(in use by node (pid ${process.pid}))`),
        });
      } finally {
        squatter.close();
      }
      // Another PXE Desk on the same NIC and port: refused, not silently sharing the port.
      const first = new HelperTransport({ iface: 'lo', helperPath, ports: { pxe: port + 1 } });
      await first.open(['pxe']);
      try {
        const second = new HelperTransport({ iface: 'lo', helperPath, ports: { pxe: port + 1 } });
        await expect(second.open(['pxe'])).rejects.toMatchObject({
          code: 'port-in-use',
          message: expect.stringMatching(/in use by another PXE Desk \(pid \d+\)\); stop it/),
        });
      } finally {
        await first.close();
      }
      const missing = new HelperTransport({ iface: 'nosuch0', helperPath, ports: { pxe: port + 2 } });
      await expect(missing.open(['pxe'])).rejects.toMatchObject({ code: 'interface-missing' });
      const gone = new HelperTransport({
        iface: 'lo',
        helperPath: join(dir, 'absent'),
        ports: { pxe: port + 2 },
      });
      await expect(gone.open(['pxe'])).rejects.toBeInstanceOf(TransportError);
    });

    // Run as nobody (setpriv): the helper copy has no file capabilities and nobody has no sudo rights.
    // Nothing is bound or sent: both attempts fail before any socket exists.
    it.skipIf(!haveTools('setpriv', 'sudo'))(
      'maps an unprivileged bind to permission-denied and a refused sudo (explicit or auto) to elevation-refused',
      () => {
        chmodSync(dir, 0o755);
        const script = join(dir, 'unprivileged.mts');
        writeFileSync(
          script,
          `import { HelperTransport } from ${JSON.stringify(join(repo, 'app/transport/helper-transport.ts'))};
const out = {};
for (const launch of ['direct', 'sudo', 'auto']) {
  const t = new HelperTransport({ iface: 'lo', helperPath: process.argv[2], launch, ports: { dhcp: 67 }, startTimeoutMs: 20000 });
  try { await t.open(['dhcp']); out[launch] = 'opened'; await t.close(); }
  catch (e) { out[launch] = { code: e.code, message: e.message }; }
}
console.log(JSON.stringify(out));
`,
        );
        const text = execFileSync('setpriv', tsxAsNobody(script, helperPath), {
          cwd: repo,
          encoding: 'utf8',
          timeout: 60_000,
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        });
        const out = JSON.parse(text.trim().split('\n').pop() ?? '{}') as Record<
          string,
          { code?: string; message?: string }
        >;
        expect(out.direct?.code).toBe('permission-denied');
        expect(out.direct?.message).toMatch(/port 67 .*cap_net_bind_service/);
        expect(out.sudo?.code).toBe('elevation-refused');
        expect(out.sudo?.message).toMatch(/sudo refused to start the helper: .*password/);
        // auto: direct is refused for lack of privilege, then sudo -n (no display, so no pkexec) too;
        // the message says how to fix it.
        expect(out.auto?.code).toBe('elevation-refused');
        expect(out.auto?.message).toMatch(
          /sudo setcap cap_net_bind_service,cap_net_raw\+ep .*pxe-desk-helper/,
        );
      },
      90_000,
    );

    it('reports helper-died when the helper exits after start', async () => {
      const t = new HelperTransport({ iface: 'lo', helperPath, ports: { tftp: port + 3 } });
      await t.open(['tftp']);
      const died = new Promise<TransportError>((ok) => t.onError(ok));
      // Our own child, by PID (test-only reach into the private field).
      (t as unknown as { child: { kill: (s: string) => void } }).child.kill('SIGKILL');
      expect((await died).code).toBe('helper-died');
      await t.close();
    });
  },
);
