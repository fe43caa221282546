/** Cases T/S/U of docs/test-catalogue.md at packet level with the raw client (loopback high ports). */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TftpServer } from '../../app/engines/tftp/index.js';
import type { TransferEvent } from '../../app/shared/events.js';
import { createLogger, type LogRecord } from '../../app/shared/runtime.js';
import { RawTftpClient, block, oackOptions, opcode, until } from '../helpers/tftp-raw-client.js';
import { buildNativeTftp } from './helper-build.js';

// Every case runs twice: transfers in this process (Node), and in the native data path (the Go
// pxe-desk-tftp built from native-tftp/ for this run), which a session on Linux uses.
describe.each([
  { path: 'in-process', native: false },
  { path: 'native data path', native: true },
])('TftpServer packet-level cases ($path)', ({ native }) => {
  let dir: string;
  let server: TftpServer;
  let port: number;
  let client: RawTftpClient;
  const events: TransferEvent[] = [];
  const logs: LogRecord[] = [];
  const data = randomBytes(1000);
  const twenty = randomBytes(10_000); // 20 blocks of 512 (the last one 272 bytes)
  // Descriptors of this process plus the native data path's (its sockets and files live there).
  const fdCount = (): number => {
    const pid = server.nativeDataPathPid();
    return readdirSync('/proc/self/fd').length + (pid ? readdirSync(`/proc/${pid}/fd`).length : 0);
  };
  const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tftp-raw-'));
    writeFileSync(join(dir, 'a.bin'), data);
    writeFileSync(join(dir, 'k.bin'), Buffer.alloc(1024, 7));
    writeFileSync(join(dir, 'nl.txt'), 'a\nb\r');
    writeFileSync(join(dir, 'empty.bin'), Buffer.alloc(0));
    writeFileSync(join(dir, 'twenty.bin'), twenty);
    writeFileSync(join(dir, 'carry.txt'), `${'x'.repeat(511)}\ny`);
    writeFileSync(join(dir, 'locked.bin'), 'secret');
    chmodSync(join(dir, 'locked.bin'), 0o000);
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    mkdirSync(join(dir, 'sub'));
    symlinkSync('/etc', join(dir, 'link'));
    server = new TftpServer({
      root: dir,
      address: '127.0.0.1',
      port: 0,
      mtu: 1500,
      retransmitMs: 150,
      maxRetries: 2,
      maxTransfers: 8,
      lateCopyMs: 2000, // the late-copy case below must hold on a loaded box too
      fallbackDirs: ['/dev'], // S7: /dev/zero and friends must be refused, never read
      logger: createLogger((r) => logs.push(r)),
      ...(native ? { nativeDataPath: buildNativeTftp(dir) } : { workers: 0 }),
    });
    server.onEvent((e) => events.push(e));
    await server.start();
    port = server.port() ?? 0;
    expect(server.nativeDataPathActive()).toBe(native);
  }, 60_000);
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

  it('T5/T7/T11: OACK echoes only requested, accepted options (any case), clamped to MTU', async () => {
    client.rrq(port, 'a.bin', 'octet', { BLKSIZE: '65464', foo: 'bar', timeout: '300', TSize: '0' });
    const o = await client.next();
    expect(opcode(o!)).toBe(6);
    expect(oackOptions(o!)).toEqual({ blksize: '1468', tsize: '1000' });
    client.error(o!.from.port, 8, 'done');
  });

  it('U7: an RRQ with only blksize gets an OACK with only blksize (no tsize)', async () => {
    client.rrq(port, 'a.bin', 'octet', { blksize: '1024' });
    const o = await client.next();
    expect(opcode(o!)).toBe(6);
    expect(oackOptions(o!)).toEqual({ blksize: '1024' });
    client.error(o!.from.port, 8, 'done');
  });

  it('T4/U6: tsize probe, ERROR 8, new RRQ from a new port: first freed at once, second completes, no failure', async () => {
    client.rrq(port, 'a.bin', 'octet', { blksize: '1468', tsize: '0' });
    const o = await client.next();
    expect(oackOptions(o!)).toEqual({ blksize: '1468', tsize: '1000' });
    client.error(o!.from.port, 8, 'User aborted the transfer');
    // Freed by the ERROR itself: timeouts would take 150 + 300 + 600 ms to give up.
    await until(() => server.activeTransfers() === 0, 800);
    const second = new RawTftpClient();
    await second.open();
    try {
      second.rrq(port, 'a.bin', 'octet', { blksize: '1468', tsize: '0' });
      const o2 = await second.next();
      expect(oackOptions(o2!)).toEqual({ blksize: '1468', tsize: '1000' });
      second.ack(o2!.from.port, 0);
      const d = await second.next();
      expect(d!.data.subarray(4).equals(data)).toBe(true);
      second.ack(o2!.from.port, 1);
      const ports = [client.localPort(), second.localPort()];
      await until(() => events.some((e) => e.type === 'done' && e.client.port === ports[1]));
      const mine = events.filter((e) => ports.includes(e.client.port));
      expect(mine.filter((e) => e.type === 'failed')).toEqual([]);
      expect(
        mine.some((e) => e.type === 'done' && e.detail?.['probe'] === true && e.client.port === ports[0]),
      ).toBe(true);
      expect(mine.find((e) => e.type === 'done' && e.client.port === ports[1])?.bytes).toBe(1000);
      const failedLogs = logs.filter(
        (r) =>
          r.message.startsWith('transfer failed') &&
          ports.some((p) => JSON.stringify(r.fields).includes(`"port":${p}`)),
      );
      expect(failedLogs).toEqual([]);
      await settle(30);
    } finally {
      second.close();
    }
  });

  it('T13: DATA is resent only on timeouts, with growing intervals, then the session ends', async () => {
    client.rrq(port, 'a.bin');
    const d1 = await client.next();
    const t0 = Date.now();
    expect(block(d1!)).toBe(1);
    const r1 = await client.next(3000);
    const t1 = Date.now();
    const r2 = await client.next(3000);
    const t2 = Date.now();
    expect(r1 && block(r1)).toBe(1);
    expect(r2 && block(r2)).toBe(1);
    expect(t1 - t0).toBeGreaterThanOrEqual(120); // retransmitMs 150
    expect(t2 - t1).toBeGreaterThanOrEqual(250); // doubled: 300
    expect(await client.next(1000)).toBeUndefined(); // maxRetries 2: no third resend
    await until(() =>
      events.some(
        (e) =>
          e.type === 'failed' &&
          e.client.port === client.localPort() &&
          e.failure?.code === 'client-silent' &&
          e.failure.block === 1,
      ),
    );
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
    const failed = events.find((e) => e.type === 'failed' && e.client.port === client.localPort());
    expect(failed?.failure).toEqual({ code: 'client-silent', block: 2 });
  });

  it('T13: after a back-off, progress brings the short retransmit interval back', async () => {
    client.rrq(port, 'a.bin');
    const d1 = await client.next();
    await client.next(3000); // resend 1 after 150 ms
    const r2 = await client.next(3000); // resend 2 after 300 ms; the next wait would be 600 ms
    expect(r2 && block(r2)).toBe(1);
    client.ack(d1!.from.port, 1);
    const d2 = await client.next();
    const t0 = Date.now();
    expect(block(d2!)).toBe(2);
    const again = await client.next(3000); // lost: resent after ~150 ms again, not the 600 ms back-off
    expect(again && block(again)).toBe(2);
    expect(Date.now() - t0).toBeLessThan(450);
    client.ack(d1!.from.port, 2);
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

  it('T20: junk from the client to its own transfer is dropped and counted; the transfer carries on', async () => {
    client.rrq(port, 'a.bin');
    const d1 = await client.next();
    const tid = d1!.from.port;
    const before = server.counters().malformed;
    client.send(tid, Buffer.from([0, 4])); // short
    client.send(tid, Buffer.from([0, 3, 0, 1, 9, 9])); // DATA to a read transfer
    client.send(tid, Buffer.from('\0\x01a.bin\0octet\0', 'latin1')); // RRQ to the transfer port
    client.send(tid, Buffer.from([0x12, 0x34, 0, 0])); // unknown opcode
    client.ack(tid, 1);
    // No reply to any of the junk: before DATA 2 only timer resends of DATA 1 may show up.
    let next = await client.next();
    while (next && opcode(next) === 3 && block(next) === 1) next = await client.next();
    expect(next && opcode(next)).toBe(3);
    expect(block(next!)).toBe(2);
    await until(() => server.counters().malformed === before + 4);
    client.ack(tid, 2);
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
    ['T21 mode binary', 'a.bin', 'binary', 4],
    ['S13 unreadable (mode 000)', 'locked.bin', 'octet', 2],
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

  it('S8/S9/T19/T20: embedded NUL → illegal mode; unterminated and bad opcodes dropped', async () => {
    client.send(port, Buffer.from('\0\x01ok.bin\0../../x\0octet\0', 'latin1'));
    const e = await client.next();
    expect(block(e!)).toBe(4);
    client.send(port, Buffer.from('\0\x01noterminator', 'latin1'));
    client.send(port, Buffer.from([0, 7, 0, 0]));
    client.send(port, Buffer.from([0, 0, 0, 0]));
    client.send(port, Buffer.from([0xff, 0xff, 0, 0]));
    client.send(port, Buffer.from([0, 4, 0, 1])); // T20: ACK, DATA and OACK to the request port
    client.send(port, Buffer.from([0, 3, 0, 1, 1, 2, 3]));
    client.send(port, Buffer.from('\0\x06blksize\x001468\0', 'latin1'));
    expect(await client.next(400)).toBeUndefined();
    expect(server.activeTransfers()).toBe(0);
  });

  it('T3: an empty file is one empty DATA 1 (plain), or OACK tsize 0, ACK 0, empty DATA 1', async () => {
    client.rrq(port, 'empty.bin');
    const d = await client.next();
    expect(opcode(d!)).toBe(3);
    expect(block(d!)).toBe(1);
    expect(d!.data.length).toBe(4);
    client.ack(d!.from.port, 1);
    const other = new RawTftpClient();
    await other.open();
    try {
      other.rrq(port, 'empty.bin', 'octet', { tsize: '0' });
      const o = await other.next();
      expect(oackOptions(o!)).toEqual({ tsize: '0' });
      other.ack(o!.from.port, 0);
      const e = await other.next();
      expect(opcode(e!)).toBe(3);
      expect(block(e!)).toBe(1);
      expect(e!.data.length).toBe(4);
      other.ack(o!.from.port, 1);
      await settle(50);
    } finally {
      other.close();
    }
  });

  it('T8: timeout 3 is echoed and becomes the retransmit interval; timeout 0 and 300 are left out', async () => {
    client.rrq(port, 'a.bin', 'octet', { timeout: '3' });
    const o = await client.next();
    expect(oackOptions(o!)).toEqual({ timeout: '3' });
    const t0 = Date.now();
    const again = await client.next(9000); // no ACK 0: the OACK is resent after ~3 s, not 150 ms
    const waited = Date.now() - t0;
    expect(again && opcode(again)).toBe(6);
    expect(again!.from.port).toBe(o!.from.port);
    expect(waited).toBeGreaterThanOrEqual(2800);
    expect(waited).toBeLessThan(7500); // generous: a loaded CI box fires timers late
    client.error(o!.from.port, 8, 'enough');
    for (const value of ['0', '300']) {
      const c = new RawTftpClient();
      await c.open();
      try {
        c.rrq(port, 'a.bin', 'octet', { timeout: value });
        const d = await c.next();
        expect(opcode(d!)).toBe(3); // nothing accepted → no OACK at all, plain DATA 1
        c.error(d!.from.port, 0, 'bye');
        await settle(30);
      } finally {
        c.close();
      }
    }
  }, 15_000);

  it('T9: windowsize 8 sends 8 blocks per window; an ACK short of the window resends from ack+1', async () => {
    client.rrq(port, 'twenty.bin', 'octet', { windowsize: '8' });
    const o = await client.next();
    expect(oackOptions(o!)).toEqual({ windowsize: '8' });
    const tid = o!.from.port;
    client.ack(tid, 0);
    const got = new Map<number, Buffer>();
    const first: number[] = [];
    for (let i = 0; i < 8; i++) {
      const d = await client.next();
      first.push(block(d!));
      if (block(d!) !== 5) got.set(block(d!), d!.data.subarray(4)); // "lose" DATA 5
    }
    expect(first).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await client.next(100)).toBeUndefined(); // the window is full: nothing more before an ACK
    client.ack(tid, 4); // last block received in order
    const second: number[] = [];
    for (let i = 0; i < 8; i++) {
      const d = await client.next();
      second.push(block(d!));
      got.set(block(d!), d!.data.subarray(4));
    }
    expect(second).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    client.ack(tid, 12);
    for (let b = 13; b <= 20; b++) {
      const d = await client.next();
      expect(block(d!)).toBe(b);
      got.set(b, d!.data.subarray(4));
    }
    client.ack(tid, 20);
    const joined = Buffer.concat([...got.keys()].sort((a, b) => a - b).map((b) => got.get(b)!));
    expect(joined.equals(twenty)).toBe(true);
    await until(() => events.some((e) => e.type === 'done' && e.client.port === client.localPort()));
  });

  it('T14: lost final ACK — the last DATA is resent, then the session ends quietly as done', async () => {
    client.rrq(port, 'a.bin');
    const d1 = await client.next();
    client.ack(d1!.from.port, 1);
    const d2 = await client.next();
    expect(block(d2!)).toBe(2);
    const resent = await client.next(2000);
    expect(resent && block(resent)).toBe(2);
    // By port and file: a new client socket may get the port of an earlier test's client, whose
    // transfer's last event can still arrive (the native data path reports asynchronously).
    const mine = (): TransferEvent[] =>
      events.filter((e) => e.client.port === client.localPort() && e.file === 'a.bin');
    await until(() => mine().some((e) => e.type === 'done'));
    expect(mine().filter((e) => e.type === 'failed')).toEqual([]);
    const myPort = client.localPort();
    const failedLogs = logs.filter(
      (r) => r.message.startsWith('transfer failed') && JSON.stringify(r.fields).includes(`"port":${myPort}`),
    );
    expect(failedLogs).toEqual([]);
    await until(() => server.activeTransfers() === 0);
  });

  it('T14: a client still acknowledging the previous block after the last resend never got the last one — failed, not done', async () => {
    client.rrq(port, 'a.bin');
    const d1 = await client.next();
    client.ack(d1!.from.port, 1);
    // The last DATA never "arrives": every copy of it is answered like a lockstep client's timeout, by
    // acknowledging block 1 again (its own ACK seems lost to it).
    let copies = 0;
    for (let d = await client.next(); d; d = await client.next(1500)) {
      expect(block(d)).toBe(2);
      copies++;
      client.ack(d.from.port, 1);
    }
    expect(copies).toBe(3); // the first send and maxRetries (2) resends
    // By port and file: a new client socket may get the port of an earlier test's client, whose
    // transfer's last event can still arrive (the native data path reports asynchronously).
    const mine = (): TransferEvent[] =>
      events.filter((e) => e.client.port === client.localPort() && e.file === 'a.bin');
    await until(() => mine().some((e) => e.type === 'failed' || e.type === 'done'));
    expect(mine().filter((e) => e.type === 'done')).toEqual([]);
    const failed = mine().find((e) => e.type === 'failed');
    expect(failed?.reason).toContain('never received the last block (2)');
    expect(failed?.failure).toEqual({ code: 'last-block-unacked', block: 2 });
    await until(() => server.activeTransfers() === 0);
  });

  it('T17: the same RRQ resent while the OACK is in flight gets the OACK again from the same port', async () => {
    client.rrq(port, 'a.bin', 'octet', { blksize: '512', tsize: '0' });
    const o1 = await client.next();
    expect(opcode(o1!)).toBe(6);
    client.rrq(port, 'a.bin', 'octet', { blksize: '512', tsize: '0' });
    const o2 = await client.next(140); // before the 150 ms retransmit timer could have fired
    expect(o2 && opcode(o2)).toBe(6);
    expect(o2!.from.port).toBe(o1!.from.port);
    expect(server.activeTransfers()).toBe(1);
    client.ack(o1!.from.port, 0);
    const d1 = await client.next();
    expect(d1!.from.port).toBe(o1!.from.port);
    expect(block(d1!)).toBe(1);
    client.ack(o1!.from.port, 1);
    const d2 = await client.next();
    client.ack(o1!.from.port, block(d2!));
    await until(() => server.activeTransfers() === 0);
  });

  it('T17: a different RRQ from the same port abandons the old transfer and starts the new one', async () => {
    client.rrq(port, 'twenty.bin');
    const d1 = await client.next();
    expect(block(d1!)).toBe(1);
    client.rrq(port, 'a.bin'); // the client gave up on twenty.bin and asks for something else
    const n1 = await client.next();
    expect(opcode(n1!)).toBe(3);
    expect(n1!.from.port).not.toBe(d1!.from.port);
    expect(n1!.data.subarray(4).equals(data.subarray(0, 512))).toBe(true);
    client.error(n1!.from.port, 0, 'bye');
    await until(() => server.activeTransfers() === 0);
    const old = events.find(
      (e) => e.type === 'failed' && e.file === 'twenty.bin' && e.client.port === client.localPort(),
    );
    expect(old?.reason).toBe('client sent a new request from the same port');
    expect(old?.failure?.code).toBe('superseded');
  });

  it('T17: a late copy of the RRQ, read after its transfer finished, starts nothing; asked again later, it is served', async () => {
    const mine = (type: string): TransferEvent[] =>
      events.filter((e) => e.type === type && e.client.port === client.localPort());
    client.rrq(port, 'a.bin');
    const d1 = await client.next();
    client.ack(d1!.from.port, 1);
    const d2 = await client.next();
    client.ack(d1!.from.port, block(d2!));
    await until(() => mine('done').length === 1);
    const finishedAt = Date.now();
    // The copy the client sent before it heard DATA 1, read by the server only now (a lagging thread).
    client.rrq(port, 'a.bin');
    expect(await client.next(400)).toBeUndefined();
    expect(server.activeTransfers()).toBe(0);
    expect(mine('start').length).toBe(1);
    // A different request from the same port is new, at once.
    client.rrq(port, 'k.bin');
    const k1 = await client.next();
    expect(k1 && block(k1)).toBe(1);
    client.error(k1!.from.port, 0, 'enough');
    await until(() => server.activeTransfers() === 0);
    // The same request asked again once the window has passed: served.
    await settle(Math.max(0, 2100 - (Date.now() - finishedAt)));
    client.rrq(port, 'a.bin');
    const again = await client.next();
    expect(again && block(again)).toBe(1);
    expect(again!.data.subarray(4).equals(data.subarray(0, 512))).toBe(true);
    client.error(again!.from.port, 0, 'enough');
    await until(() => server.activeTransfers() === 0);
  });

  it('T18: a client ERROR in mid-transfer ends the session and frees it', async () => {
    client.rrq(port, 'twenty.bin');
    const d1 = await client.next();
    client.ack(d1!.from.port, 1);
    await client.next();
    client.error(d1!.from.port, 0, 'disk full on my side');
    await until(() => server.activeTransfers() === 0);
    const failed = events.find((e) => e.type === 'failed' && e.client.port === client.localPort());
    expect(failed?.reason).toMatch(/client aborted at block 2 \(error 0: disk full on my side\)/);
    expect(failed?.failure).toEqual({ code: 'client-error', block: 2 });
    expect(await client.next(400)).toBeUndefined(); // nothing more is sent after the abort
  });

  it('T21/T22: NETASCII (upper case) carries CR LF over a block boundary without losing a byte', async () => {
    client.rrq(port, 'carry.txt', 'NETASCII');
    const d1 = await client.next();
    expect(d1!.data.length - 4).toBe(512);
    client.ack(d1!.from.port, 1);
    const d2 = await client.next();
    client.ack(d1!.from.port, 2);
    const text = Buffer.concat([d1!.data.subarray(4), d2!.data.subarray(4)]).toString('latin1');
    expect(text).toBe(`${'x'.repeat(511)}\r\ny`);
  });

  it('T23: transfers beyond the concurrency limit are refused with ERROR 0; one open file is shared', async () => {
    const clients = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const c = new RawTftpClient();
        await c.open();
        return c;
      }),
    );
    try {
      for (const c of clients) c.rrq(port, 'twenty.bin');
      const first = await Promise.all(clients.map((c) => c.next()));
      const data = first.filter((p) => p && opcode(p) === 3);
      const refused = first.filter((p) => p && opcode(p) === 5);
      expect(data.length).toBe(8);
      expect(refused.length).toBe(2);
      expect(refused.every((p) => block(p!) === 0)).toBe(true);
      expect(server.openFiles()).toBe(1); // eight transfers of one file share one handle
      clients.forEach((c, i) => {
        const p = first[i];
        if (p && opcode(p) === 3) c.error(p.from.port, 0, 'done');
      });
      // The native data path reports the file released in its 'closed' message, just after the event
      // that ends the transfer: the count follows shortly, so wait for both.
      await until(() => server.activeTransfers() === 0 && server.openFiles() === 0);
      expect(server.openFiles()).toBe(0);
    } finally {
      for (const c of clients) c.close();
    }
  });

  it('T24: a client silent after ACK 0 times out; socket and file are released (fd count)', async () => {
    const before = fdCount();
    client.rrq(port, 'twenty.bin', 'octet', { blksize: '1024' });
    const o = await client.next();
    client.ack(o!.from.port, 0);
    const d1 = await client.next();
    expect(block(d1!)).toBe(1);
    expect(fdCount()).toBeGreaterThan(before); // the transfer's socket and the file
    await until(() => server.activeTransfers() === 0, 6000);
    const failed = events.find((e) => e.type === 'failed' && e.client.port === client.localPort());
    expect(failed?.reason).toMatch(/stopped acknowledging at block 1/);
    expect(failed?.failure).toEqual({ code: 'client-silent', block: 1 });
    await until(() => fdCount() <= before && server.openFiles() === 0);
    expect(server.openFiles()).toBe(0);
  });

  it('S7: a FIFO or a device is refused at once, and no thread-pool worker is left blocked on it', async () => {
    // More refusals than libuv has pool threads (4): a blocking open of a FIFO would starve the pool.
    for (const name of ['pipe', 'zero', 'null', 'pipe', 'pipe', 'pipe']) {
      const t0 = Date.now();
      client.rrq(port, name);
      const e = await client.next(2000);
      expect(e && opcode(e)).toBe(5);
      expect(block(e!)).toBe(2);
      expect(Date.now() - t0).toBeLessThan(1500);
    }
    client.rrq(port, 'a.bin');
    const d = await client.next();
    expect(opcode(d!)).toBe(3);
    client.error(d!.from.port, 0, 'bye');
  });

  it('S11: a 2000-byte file name (datagram over 512 bytes) is dropped and counted; the server carries on', async () => {
    const malformed = server.counters().malformed;
    client.rrq(port, 'x'.repeat(2000));
    expect(await client.next(400)).toBeUndefined();
    expect(server.counters().malformed).toBe(malformed + 1);
    client.rrq(port, 'a.bin');
    const d = await client.next();
    expect(opcode(d!)).toBe(3);
    client.error(d!.from.port, 0, 'bye');
  });

  it('S15: control characters and terminal escapes are logged in sanitised form', async () => {
    client.rrq(port, 'evil\x1b]0;pwned\x07\x1b[2J.bin');
    const e = await client.next();
    expect(opcode(e!)).toBe(5);
    const record = logs.find(
      (r) => r.message === 'request refused' && String(r.fields?.['file']).includes('pwned'),
    );
    expect(record?.fields?.['file']).toBe('evil\\x1b]0;pwned\\x07\\x1b[2J.bin');
    // No raw control byte reaches any logged string (messages and field values alike).
    const raw = (v: unknown): boolean =>
      typeof v === 'string' && [...v].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
    expect(logs.filter((r) => raw(r.message) || Object.values(r.fields ?? {}).some(raw))).toEqual([]);
  });

  it('U8: ERROR 4 "Malformatted OACK packet" ends the session as failed and logs the options sent', async () => {
    client.rrq(port, 'a.bin', 'octet', { blksize: '1468', tsize: '0' });
    const o = await client.next();
    client.error(o!.from.port, 4, 'Malformatted OACK packet');
    await until(() => server.activeTransfers() === 0);
    const failed = events.find((e) => e.type === 'failed' && e.client.port === client.localPort());
    expect(failed?.reason).toContain('options sent: blksize=1468 tsize=1000');
    expect(failed?.failure).toEqual({ code: 'option-refused', block: 0 });
    const warn = logs.find((r) => r.level === 'warn' && r.message === 'client rejected the option reply');
    expect(warn?.fields?.['options']).toBe('blksize=1468 tsize=1000');
  });
});

describe('TftpServer case folding', () => {
  it('S14: PXELINUX.0 is served from pxelinux.0 when case-insensitive lookup is on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tftp-case-'));
    mkdirSync(join(dir, 'EFI'));
    writeFileSync(join(dir, 'EFI', 'pxelinux.0'), 'hello');
    const server = new TftpServer({ root: dir, address: '127.0.0.1', port: 0, caseInsensitive: true });
    await server.start();
    const client = new RawTftpClient();
    await client.open();
    try {
      client.rrq(server.port() ?? 0, '\\efi\\PXELINUX.0');
      const d = await client.next();
      expect(opcode(d!)).toBe(3);
      expect(d!.data.subarray(4).toString()).toBe('hello');
      client.ack(d!.from.port, 1);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      client.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('TftpServer error replies under a flood', () => {
  it('answers at most 200 bad requests per second from one socket, counts the rest as rate-limited', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tftp-flood-'));
    const server = new TftpServer({ root: dir, address: '127.0.0.1', port: 0 });
    await server.start();
    const client = new RawTftpClient();
    await client.open();
    try {
      // WRQs are refused straight away (no file lookup), so all 400 reach the reply path at once.
      // Batches with short pauses so the kernel's receive buffer never drops any (well within 1 s).
      for (let i = 0; i < 400; i++) {
        client.rrq(server.port() ?? 0, `upload-${i}.bin`, 'octet', {}, 2);
        if (i % 50 === 49) await new Promise((r) => setTimeout(r, 5));
      }
      const replies = [];
      for (;;) {
        const p = await client.next(400);
        if (!p) break;
        replies.push(p);
      }
      expect(replies.length).toBeGreaterThan(0);
      expect(replies.length).toBeLessThanOrEqual(200);
      expect(replies.every((p) => opcode(p) === 5 && block(p) === 2)).toBe(true);
      expect(new Set(replies.map((p) => p.from.port)).size).toBe(1); // one shared reply socket
      const { received, rateLimited } = server.counters();
      expect(rateLimited).toBe(received - replies.length); // every request either answered or counted
      expect(rateLimited).toBeGreaterThan(0);
    } finally {
      client.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('TftpServer operator caps (Q17)', () => {
  it('grants at most maxBlksize and refuses windowsize when capped to 1; bad caps are refused at start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tftp-caps-'));
    writeFileSync(join(dir, 'f.bin'), randomBytes(3000));
    const server = new TftpServer({
      root: dir,
      address: '127.0.0.1',
      port: 0,
      maxBlksize: 1024,
      maxWindowsize: 1,
    });
    await server.start();
    const client = new RawTftpClient();
    await client.open();
    try {
      client.rrq(server.port() ?? 0, 'f.bin', 'octet', { blksize: '1468', windowsize: '16' });
      const o = await client.next();
      expect(oackOptions(o!)).toEqual({ blksize: '1024' });
      client.ack(o!.from.port, 0);
      const d = await client.next();
      expect(d!.data.length - 4).toBe(1024);
      expect(await client.next(100)).toBeUndefined(); // lockstep: nothing before the ACK
      client.error(o!.from.port, 0, 'done');
      await expect(
        new TftpServer({ root: dir, address: '127.0.0.1', port: 0, maxBlksize: 70000 }).start(),
      ).rejects.toThrow(/maxBlksize must be a whole number from 0 to 65535/);
    } finally {
      client.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
