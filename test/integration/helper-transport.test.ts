/**
 * The real helper binary behind HelperTransport, on loopback with unprivileged test ports (the only
 * traffic is 127.0.0.1 unicast on the pxe role; nothing is broadcast from the root namespace).
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransportError, type Datagram } from '../../app/shared/datagram-transport.js';
import { HelperTransport } from '../../app/transport/helper-transport.js';
import { haveTools } from '../helpers/tools.js';
import { buildHelper } from './helper-build.js';

let dir = '';
let helperPath = '';

const port = 41000 + (process.pid % 2000);

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
        const busy = new HelperTransport({ iface: 'lo', helperPath, ports: { pxe: port + 1 } });
        await expect(busy.open(['pxe'])).rejects.toMatchObject({
          code: 'port-in-use',
          message: expect.stringMatching(/another PXE Desk/),
        });
      } finally {
        squatter.close();
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
