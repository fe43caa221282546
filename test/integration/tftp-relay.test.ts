/** Requests fed from the transport's 'tftp' channel (helper relay): replies come from the transfer's own socket. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TftpServer } from '../../app/engines/tftp/index.js';
import { MemoryTransport } from '../helpers/memory-transport.js';
import { RawTftpClient, block, opcode } from '../helpers/tftp-raw-client.js';

describe('TftpServer fed by a transport', () => {
  it('serves a relayed RRQ from an ephemeral socket and never replies via the transport', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tftp-relay-'));
    const data = randomBytes(700);
    writeFileSync(join(dir, 'r.bin'), data);
    const transport = new MemoryTransport();
    const server = new TftpServer({ root: dir, address: '127.0.0.1', transport });
    await server.start();
    const client = new RawTftpClient();
    await client.open();
    try {
      const port = client.localPort();
      transport.inject({
        channel: 'tftp',
        data: Buffer.from('\0\x01r.bin\0octet\0', 'latin1'),
        source: { address: '127.0.0.1', port },
      });
      const d1 = await client.next();
      expect(opcode(d1!)).toBe(3);
      expect(block(d1!)).toBe(1);
      client.ack(d1!.from.port, 1);
      const d2 = await client.next();
      expect(Buffer.concat([d1!.data.subarray(4), d2!.data.subarray(4)]).equals(data)).toBe(true);
      client.ack(d1!.from.port, 2);
      await new Promise((r) => setTimeout(r, 100));
      expect(transport.sent.length).toBe(0);
      expect(server.activeTransfers()).toBe(0);
    } finally {
      client.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
