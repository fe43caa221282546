/** Catalogue cases T/S/U at packet level with the raw client (loopback high ports). */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TftpServer } from '../../app/engines/tftp/index.js';
import type { TransferEvent } from '../../app/shared/events.js';
import { RawTftpClient, block, oackOptions, opcode } from '../helpers/tftp-raw-client.js';

describe('TftpServer packet-level cases', () => {
  let dir: string;
  let server: TftpServer;
  let port: number;
  let client: RawTftpClient;
  const events: TransferEvent[] = [];
  const data = randomBytes(1000);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tftp-raw-'));
    writeFileSync(join(dir, 'a.bin'), data);
    writeFileSync(join(dir, 'k.bin'), Buffer.alloc(1024, 7));
    writeFileSync(join(dir, 'nl.txt'), 'a\nb\r');
    mkdirSync(join(dir, 'sub'));
    symlinkSync('/etc', join(dir, 'link'));
    server = new TftpServer({
      root: dir,
      address: '127.0.0.1',
      port: 0,
      mtu: 1500,
      retransmitMs: 150,
      maxRetries: 2,
    });
    server.onEvent((e) => events.push(e));
    await server.start();
    port = server.port() ?? 0;
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    client = new RawTftpClient();
    await client.open();
  });
  afterEach(async () => {
    // dgram sends are queued: let the last ACK leave before closing the socket.
    await new Promise((r) => setTimeout(r, 50));
    client.close();
  });

  it('T1: no options → DATA 1 (512) then DATA 2 (488), no OACK', async () => {
    client.rrq(port, 'a.bin');
    const d1 = await client.next();
    expect(d1 && opcode(d1)).toBe(3);
    expect(d1!.data.length - 4).toBe(512);
    expect(d1!.from.port).not.toBe(port);
    client.ack(d1!.from.port, 1);
    const d2 = await client.next();
    expect(block(d2!)).toBe(2);
    expect(Buffer.concat([d1!.data.subarray(4), d2!.data.subarray(4)]).equals(data)).toBe(true);
    client.ack(d2!.from.port, 2);
  });

  it('T2: exact multiple gets a zero-length final DATA', async () => {
    client.rrq(port, 'k.bin');
    for (let b = 1; b <= 3; b++) {
      const d = await client.next();
      expect(block(d!)).toBe(b);
      expect(d!.data.length - 4).toBe(b === 3 ? 0 : 512);
      client.ack(d!.from.port, b);
    }
  });

  it('T5/T7/T11/U7: OACK echoes only requested, accepted options, clamped to MTU', async () => {
    client.rrq(port, 'a.bin', 'octet', { BLKSIZE: '65464', foo: 'bar', timeout: '300' });
    const o = await client.next();
    expect(opcode(o!)).toBe(6);
    expect(oackOptions(o!)).toEqual({ blksize: '1468' });
    client.error(o!.from.port, 8, 'done');
  });

  it('T4/U6: tsize probe then ERROR 8 is normal, not a failure', async () => {
    client.rrq(port, 'a.bin', 'octet', { blksize: '1468', tsize: '0' });
    const o = await client.next();
    expect(oackOptions(o!)).toEqual({ blksize: '1468', tsize: '1000' });
    client.error(o!.from.port, 8, 'User aborted the transfer');
    await new Promise((r) => setTimeout(r, 1500));
    const mine = events.filter((e) => e.client.port === o!.from.port || e.detail?.['probe'] === true);
    expect(events.some((e) => e.type === 'done' && e.detail?.['probe'] === true)).toBe(true);
    expect(mine.some((e) => e.type === 'failed')).toBe(false);
    expect(server.activeTransfers()).toBe(0);
  });

  it('T6/T10: illegal blksize and windowsize ignored → no OACK', async () => {
    client.rrq(port, 'a.bin', 'octet', { blksize: '7', windowsize: '70000' });
    const d = await client.next();
    expect(opcode(d!)).toBe(3);
    expect(d!.data.length - 4).toBe(512);
    client.error(d!.from.port, 0, 'bye');
  });

  it('T12/T13: duplicate ACK triggers no resend; lost ACKs end the session and free it', async () => {
    client.rrq(port, 'k.bin');
    const d1 = await client.next();
    client.ack(d1!.from.port, 1);
    const d2 = await client.next();
    expect(block(d2!)).toBe(2);
    client.ack(d1!.from.port, 1);
    client.ack(d1!.from.port, 1);
    // Only timer-driven resends (150 ms, back-off) may follow, never immediate duplicates.
    const t0 = Date.now();
    const again = await client.next(1000);
    expect(again && block(again)).toBe(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100);
    await new Promise((r) => setTimeout(r, 1500));
    expect(server.activeTransfers()).toBe(0);
    expect(
      events.some((e) => e.type === 'failed' && /stopped acknowledging at block 2/.test(e.reason ?? '')),
    ).toBe(true);
  });

  it('T16: a stranger gets ERROR 5, the transfer continues', async () => {
    client.rrq(port, 'a.bin');
    const d1 = await client.next();
    const stranger = new RawTftpClient();
    await stranger.open();
    stranger.ack(d1!.from.port, 1);
    const e = await stranger.next();
    expect(opcode(e!)).toBe(5);
    expect(block(e!)).toBe(5);
    stranger.close();
    client.ack(d1!.from.port, 1);
    const d2 = await client.next();
    expect(block(d2!)).toBe(2);
    client.ack(d2!.from.port, 2);
  });

  it('T22: netascii converts LF and CR, no tsize', async () => {
    client.rrq(port, 'nl.txt', 'NETASCII', { tsize: '0', blksize: '512' });
    const o = await client.next();
    expect(oackOptions(o!)).toEqual({ blksize: '512' });
    client.ack(o!.from.port, 0);
    const d = await client.next();
    expect(d!.data.subarray(4).equals(Buffer.from('a\r\nb\r\0', 'latin1'))).toBe(true);
    client.ack(o!.from.port, 1);
  });

  const refusals: [string, string | Buffer, string, number][] = [
    ['S2 traversal', '../../etc/passwd', 'octet', 2],
    ['S3 absolute', '/etc/passwd', 'octet', 1],
    ['S4 backslash traversal', '..\\..\\windows\\win.ini', 'octet', 2],
    ['S5 symlink out', 'link/passwd', 'octet', 2],
    ['S6 directory', 'sub', 'octet', 2],
    ['S10 empty', '', 'octet', 1],
    ['S12 percent', '%2e%2e/etc/passwd', 'octet', 1],
    ['S15 control chars', 'a\x1b[31m.bin', 'octet', 2],
    ['T21 mode mail', 'a.bin', 'mail', 4],
    ['S14 case', 'A.BIN', 'octet', 1],
  ];
  for (const [label, name, mode, code] of refusals) {
    it(`${label}: ERROR ${code}`, async () => {
      client.rrq(port, name, mode);
      const e = await client.next();
      expect(opcode(e!)).toBe(5);
      expect(block(e!)).toBe(code);
    });
  }

  it('S1: WRQ refused with ERROR 2', async () => {
    client.rrq(port, 'evil.bin', 'octet', {}, 2);
    const e = await client.next();
    expect(opcode(e!)).toBe(5);
    expect(block(e!)).toBe(2);
  });

  it('S8/S9/T19: embedded NUL → illegal mode; unterminated and bad opcodes dropped', async () => {
    client.send(port, Buffer.from('\0\x01ok.bin\0../../x\0octet\0', 'latin1'));
    const e = await client.next();
    expect(block(e!)).toBe(4);
    client.send(port, Buffer.from('\0\x01noterminator', 'latin1'));
    client.send(port, Buffer.from([0, 7, 0, 0]));
    client.send(port, Buffer.from([0, 4, 0, 1]));
    expect(await client.next(400)).toBeUndefined();
  });
});
