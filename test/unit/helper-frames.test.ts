import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DirectTransport } from '../../app/transport/direct-transport.js';
import { chooseTransport } from '../../app/transport/choose-transport.js';
import {
  FrameError,
  FrameReader,
  decodeFrame,
  encodeFrame,
  type HelperFrame,
} from '../../app/transport/frames.js';
import {
  HelperTransport,
  defaultHelperPath,
  helperCandidates,
} from '../../app/transport/helper-transport.js';
import { TransportError } from '../../app/shared/datagram-transport.js';
import type { BroadcastRoute } from '../../app/transport/broadcast-route.js';

const golden = (name: string): Buffer => readFileSync(resolve(__dirname, '../fixtures/helper-frames', name));

// The same values native-helper/frames_test.go encodes: both sides must agree byte for byte.
const expected: Record<string, HelperFrame> = {
  'hello.bin': { type: 'hello', agent: 'pxe-desk-helper/1' },
  'bind.bin': {
    type: 'bind',
    iface: 'eth0',
    ports: [
      { channel: 'dhcp', port: 67 },
      { channel: 'pxe', port: 4011 },
    ],
  },
  'bound.bin': {
    type: 'bound',
    ifindex: 2,
    ports: [
      { channel: 'dhcp', port: 67 },
      { channel: 'pxe', port: 4011 },
    ],
  },
  'dgram-in.bin': {
    type: 'dgram-in',
    channel: 'dhcp',
    ifindex: 2,
    source: { address: '0.0.0.0', port: 68 },
    destination: '255.255.255.255',
    payload: Buffer.from([1, 2, 3]), // decoded payloads are Buffers (a Uint8Array subclass: engines skip a conversion)
  },
  'dgram-out.bin': {
    type: 'dgram-out',
    channel: 'dhcp',
    to: { address: '255.255.255.255', port: 68 },
    payload: Buffer.from([2, 1, 6]),
  },
  'error.bin': {
    type: 'error',
    code: 2,
    fatal: true,
    message: 'bind udp port 67 on eth0: address already in use',
  },
  'bye.bin': { type: 'bye' },
};

describe('helper frame contract (golden frames shared with go test)', () => {
  for (const [name, frame] of Object.entries(expected)) {
    it(`${name} decodes and re-encodes byte-exactly`, () => {
      const bytes = golden(name);
      expect(decodeFrame(bytes)).toEqual(frame);
      expect(Buffer.compare(encodeFrame(frame), bytes)).toBe(0);
    });
  }

  it('splits a stream delivered one byte at a time', () => {
    const stream = Buffer.concat(Object.keys(expected).map(golden));
    const reader = new FrameReader();
    const got: HelperFrame[] = [];
    for (const byte of stream) got.push(...reader.push(Uint8Array.of(byte)));
    expect(got.map((f) => f.type)).toEqual([
      'hello',
      'bind',
      'bound',
      'dgram-in',
      'dgram-out',
      'error',
      'bye',
    ]);
  });

  it('rejects malformed frames with FrameError', () => {
    const bad = [
      Buffer.from([0, 0, 0, 2, 9, 1]), // version
      Buffer.from([0, 0, 0, 2, 1, 99]), // type
      Buffer.from([0, 0, 0, 3, 1, 4, 0]), // short dgram-in
      golden('bind.bin').subarray(0, 10), // truncated
    ];
    for (const b of bad) expect(() => decodeFrame(b)).toThrow(FrameError);
    expect(() => new FrameReader().push(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow(FrameError);
    expect(() =>
      encodeFrame({
        type: 'dgram-out',
        channel: 'pxe',
        to: { address: '1.2.3', port: 1 },
        payload: new Uint8Array(),
      }),
    ).toThrow(FrameError);
  });
});

describe('helper frame fast paths (one per datagram)', () => {
  const out = (address: string, port = 68): Buffer =>
    encodeFrame({ type: 'dgram-out', channel: 'dhcp', to: { address, port }, payload: Uint8Array.of(7) });

  it('encodes exactly the dotted quads, and refuses everything else', () => {
    for (const a of ['0.0.0.0', '255.255.255.255', '10.0.2.15', '192.168.001.010']) {
      const f = decodeFrame(out(a));
      expect(f.type === 'dgram-out' && f.to.address).toBe(a.replace(/\b0+(\d)/g, '$1'));
    }
    for (const a of [
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '1.2.3.256',
      '1..2.3',
      '.1.2.3',
      '1.2.3.',
      '',
      ' 1.2.3.4',
      '1.2.3.4 ',
      'a.b.c.d',
      '1e1.0.0.1',
      '1.2.3.-4',
      '1000.1.1.1',
      '1.2.3.0004',
    ])
      expect(() => out(a), a).toThrow(FrameError);
    for (const port of [-1, 65536, 1.5, NaN]) expect(() => out('1.2.3.4', port)).toThrow(FrameError);
  });

  it('payloads stay intact while later chunks arrive and partial frames carry over', () => {
    const dgram = (n: number): Buffer =>
      encodeFrame({
        type: 'dgram-in',
        channel: 'dhcp',
        ifindex: n,
        source: { address: `10.0.0.${n}`, port: 68 },
        destination: '255.255.255.255',
        payload: Buffer.alloc(300 + n, n),
      });
    const stream = Buffer.concat(Array.from({ length: 40 }, (_, i) => dgram(i + 1)));
    const reader = new FrameReader();
    const got: HelperFrame[] = [];
    for (let at = 0; at < stream.length; at += 997) {
      // The caller reuses its chunk buffer: what was returned must not change with it.
      const chunk = Buffer.from(stream.subarray(at, at + 997));
      got.push(...reader.push(chunk));
      chunk.fill(0xee);
    }
    expect(got).toHaveLength(40);
    got.forEach((f, i) => {
      if (f.type !== 'dgram-in') throw new Error(f.type);
      expect(f.ifindex).toBe(i + 1);
      expect(f.source.address).toBe(`10.0.0.${i + 1}`);
      expect(Buffer.from(f.payload).equals(Buffer.alloc(300 + i + 1, i + 1))).toBe(true);
    });
  });

  it('decodeFrame copies the payload: the caller may reuse its buffer', () => {
    const bytes = Buffer.from(out('10.1.2.3'));
    const f = decodeFrame(bytes);
    bytes.fill(0);
    expect(f.type === 'dgram-out' && [...f.payload]).toEqual([7]);
  });
});

describe('helper frame decoder fuzz (the app side of fail closed)', () => {
  it('random, truncated and bit-flipped streams yield frames or FrameError, never another exception', () => {
    // Deterministic PRNG (xorshift32), so a failure reproduces.
    let seed = 0x8badf00d;
    const rnd = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const seeds = Object.keys(expected).map(golden);
    for (let i = 0; i < 20_000; i++) {
      let b: Buffer;
      const s = seeds[rnd(seeds.length)]!;
      if (i % 3 === 0) b = Buffer.from(Array.from({ length: rnd(64) }, () => rnd(256)));
      else if (i % 3 === 1) b = Buffer.from(s.subarray(0, rnd(s.length + 1)));
      else {
        b = Buffer.from(s);
        const at = rnd(b.length);
        b[at] = b[at]! ^ (1 + rnd(255));
      }
      const reader = new FrameReader();
      try {
        // split at a random point: the reader must carry partial frames across chunks
        const cut = rnd(b.length + 1);
        reader.push(b.subarray(0, cut));
        reader.push(b.subarray(cut));
      } catch (error) {
        if (!(error instanceof FrameError)) throw new Error(`${b.toString('hex')}: ${String(error)}`);
      }
    }
  });
});

describe('chooseTransport', () => {
  // The chosen NIC holds the broadcast route here, so plain sockets are allowed (broadcast-route.test.ts
  // has the refusals).
  const viaEth0 = (): BroadcastRoute => ({ kind: 'device', device: 'eth0' });

  it('auto: direct off Linux or without a helper binary, helper on Linux with one', () => {
    expect(
      chooseTransport({ policy: 'auto', platform: 'win32', iface: 'eth0', broadcastRoute: viaEth0 }),
    ).toBeInstanceOf(DirectTransport);
    expect(
      chooseTransport({
        policy: 'auto',
        platform: 'linux',
        helperPath: '/nonexistent/helper',
        iface: 'eth0',
        broadcastRoute: viaEth0,
      }),
    ).toBeInstanceOf(DirectTransport);
    expect(
      chooseTransport({ policy: 'auto', platform: 'linux', helperPath: process.execPath, iface: 'eth0' }),
    ).toBeInstanceOf(HelperTransport);
    expect(
      chooseTransport({
        policy: 'never',
        platform: 'linux',
        helperPath: process.execPath,
        iface: 'eth0',
        broadcastRoute: viaEth0,
      }),
    ).toBeInstanceOf(DirectTransport);
  });

  it('always: clear errors when the helper cannot be used', () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return e instanceof TransportError ? e.code : 'other';
      }
      return undefined;
    };
    expect(
      code(() =>
        chooseTransport({
          policy: 'always',
          platform: 'linux',
          helperPath: '/nonexistent/helper',
          iface: 'eth0',
        }),
      ),
    ).toBe('helper-died');
    expect(
      code(() => chooseTransport({ policy: 'always', platform: 'linux', helperPath: process.execPath })),
    ).toBe('interface-missing');
    expect(code(() => chooseTransport({ policy: 'always', platform: 'darwin' }))).toBe('io');
  });
});

describe('helper binary lookup', () => {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;

  it('a packaged app looks in its resources first, then the checkout seen from sources or dist/', () => {
    const proc = process as { resourcesPath?: string };
    proc.resourcesPath = '/opt/PXE Desk/resources';
    try {
      const c = helperCandidates();
      expect(c[0]).toBe(`/opt/PXE Desk/resources/helper/linux-${arch}/pxe-desk-helper`);
      const repo = resolve(__dirname, '../..');
      expect(c).toContain(join(repo, 'native-helper', 'bin', `linux-${arch}`, 'pxe-desk-helper'));
    } finally {
      delete proc.resourcesPath;
    }
    expect(helperCandidates()[0]).not.toContain('/opt/PXE Desk');
  });

  it('outside a packaged app it is the checkout build path (existing or, for the error, expected)', () => {
    const path = defaultHelperPath();
    expect(helperCandidates()).toContain(path);
    expect(path).toMatch(new RegExp(`native-helper/bin/linux-${arch}/pxe-desk-helper$`));
  });
});
