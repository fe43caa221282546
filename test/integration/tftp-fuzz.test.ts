/**
 * Real firmware requests (iPXE and OVMF RRQs captured in the QEMU lab pcaps) replayed against the engine,
 * and mutated/random datagrams thrown at its request port and at a live transfer's port: every
 * firmware RRQ gets the OACK that firmware accepts (EDK2's strict rules, docs/protocol-notes.md §9, test-catalogue Q6); junk is dropped
 * and counted, never crashes, and the server keeps serving.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRequest, TftpDecodeError, TftpServer } from '../../app/engines/tftp/index.js';
import { mutate, rng } from '../helpers/fuzz.js';
import { readPcapUdp } from '../helpers/pcap.js';
import { RawTftpClient, block, oackOptions, opcode } from '../helpers/tftp-raw-client.js';

const pcaps = join(import.meta.dirname, '../fixtures/pcaps');
const seeds = [
  ...new Map(
    readdirSync(pcaps)
      .flatMap((f) => readPcapUdp(join(pcaps, f)))
      .filter((p) => p.dstPort === 69)
      .map((p) => [p.payload.toString('latin1'), p.payload] as const),
  ).values(),
];

describe('TftpServer with firmware requests and junk', () => {
  let dir: string;
  let server: TftpServer;
  let port: number;
  const names = new Set<string>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tftp-fuzz-'));
    for (const s of seeds) names.add(decodeRequest(s).filename);
    for (const n of names) writeFileSync(join(dir, n), randomBytes(5000));
    server = new TftpServer({
      root: dir,
      address: '127.0.0.1',
      port: 0,
      mtu: 1500,
      retransmitMs: 200,
      maxRetries: 1,
    });
    await server.start();
    port = server.port() ?? 0;
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has firmware RRQs to replay (iPXE BIOS and OVMF UEFI, from the lab pcaps)', () => {
    expect(seeds.length).toBeGreaterThanOrEqual(4);
    expect(seeds.some((s) => s.includes('windowsize'))).toBe(true);
  });

  it('Q6/U7: each captured firmware RRQ gets an OACK with exactly its options, never above the request', async () => {
    for (const seed of seeds) {
      const request = decodeRequest(seed);
      const client = new RawTftpClient();
      await client.open();
      try {
        client.send(port, seed);
        const o = await client.next();
        expect(opcode(o!)).toBe(6);
        const got = oackOptions(o!);
        expect(Object.keys(got).sort()).toEqual(request.options.map((x) => x.name.toLowerCase()).sort());
        for (const { name, value } of request.options) {
          const key = name.toLowerCase();
          if (key === 'tsize') expect(got[key]).toBe('5000');
          else expect(Number(got[key])).toBeLessThanOrEqual(Number(value));
        }
        client.error(o!.from.port, 8, 'User aborted the transfer');
        await new Promise((r) => setTimeout(r, 20));
      } finally {
        client.close();
      }
    }
  });

  it('decodeRequest only ever throws TftpDecodeError on mutated firmware requests', () => {
    const r = rng(4);
    for (let i = 0; i < 20_000; i++) {
      const input = r() < 0.2 ? randomBytes(Math.floor(r() * 600)) : mutate(r, seeds[i % seeds.length]!);
      try {
        decodeRequest(input);
      } catch (error) {
        expect(error).toBeInstanceOf(TftpDecodeError);
      }
    }
  });

  it('junk to the request port and to a live transfer never crashes the server; it keeps serving', async () => {
    const r = rng(7);
    const junk = new RawTftpClient();
    const client = new RawTftpClient();
    await junk.open();
    await client.open();
    try {
      client.rrq(port, [...names][0]!);
      const d1 = await client.next();
      expect(opcode(d1!)).toBe(3);
      const tid = d1!.from.port;
      const malformedBefore = server.counters().malformed;
      for (let i = 0; i < 1500; i++) {
        const seed = seeds[i % seeds.length]!;
        const packet = r() < 0.3 ? randomBytes(1 + Math.floor(r() * 700)) : mutate(r, seed);
        // Junk from a stranger to the transfer port gets ERROR 5 at most; to port 69, dropped or refused.
        junk.send(i % 2 === 0 ? port : tid, packet);
        if (i % 100 === 0) await new Promise((res) => setTimeout(res, 5));
      }
      // The live transfer was not disturbed: it carries on from block 2.
      client.ack(tid, 1);
      let d2 = await client.next();
      // DATA 1 resent while the junk went out (a loaded box takes over a second) is no disturbance.
      while (d2 && opcode(d2) === 3 && block(d2) === 1 && d2.from.port === tid) d2 = await client.next();
      expect(opcode(d2!)).toBe(3);
      expect(block(d2!)).toBe(2);
      expect(d2!.from.port).toBe(tid);
      expect(server.counters().malformed).toBeGreaterThan(malformedBefore);
      client.error(tid, 0, 'done');
      // And a fresh request is still served.
      const fresh = new RawTftpClient();
      await fresh.open();
      try {
        fresh.rrq(port, [...names][0]!);
        const f = await fresh.next(5000);
        expect(opcode(f!)).toBe(3);
        fresh.error(f!.from.port, 0, 'done');
      } finally {
        fresh.close();
      }
    } finally {
      junk.close();
      client.close();
    }
    // Junk that happened to form valid RRQs started transfers from the junk port: they end by timeout.
    const end = Date.now() + 10_000;
    while (server.activeTransfers() > 0 && Date.now() < end) await new Promise((res) => setTimeout(res, 50));
    expect(server.activeTransfers()).toBe(0);
  }, 30_000);
});
