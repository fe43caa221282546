import { describe, expect, it } from 'vitest';
import { MemoryTransport } from '../helpers/memory-transport.js';
import { TransportError } from '../../app/shared/datagram-transport.js';

describe('MemoryTransport', () => {
  it('delivers injected datagrams and records sends per channel', async () => {
    const t = new MemoryTransport();
    await t.open(['dhcp', 'pxe']);
    const got: string[] = [];
    const off = t.onDatagram((d) =>
      got.push(`${d.channel}:${d.source.address}:${Buffer.from(d.data).toString()}`),
    );
    t.inject({ channel: 'dhcp', source: { address: '0.0.0.0', port: 68 }, data: Buffer.from('x') });
    off();
    t.inject({ channel: 'dhcp', source: { address: '0.0.0.0', port: 68 }, data: Buffer.from('y') });
    expect(got).toEqual(['dhcp:0.0.0.0:x']);
    await t.send('pxe', { address: '10.0.0.5', port: 4011 }, Buffer.from('r'));
    expect(t.drain()).toEqual([
      { channel: 'pxe', to: { address: '10.0.0.5', port: 4011 }, data: Buffer.from('r') },
    ]);
  });

  it('refuses to send on a channel that was not opened', async () => {
    const t = new MemoryTransport();
    await t.open(['dhcp']);
    await expect(t.send('tftp', { address: '1.2.3.4', port: 69 }, new Uint8Array(1))).rejects.toBeInstanceOf(
      TransportError,
    );
  });
});
