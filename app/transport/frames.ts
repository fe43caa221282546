/**
 * Frame contract with the native helper (mirror of native-helper/frames.go; keep both in step).
 *
 * Every frame: u32 big-endian length L (of what follows), u8 protocol version, u8 type, body (L-2 bytes).
 * Golden frames in test/fixtures/helper-frames/ are checked by both `go test` and vitest.
 */
import type { Channel } from '../shared/datagram-transport.js';

export const PROTOCOL_VERSION = 1;
/** Largest UDP payload plus the largest header (the helper refuses anything longer). */
export const MAX_FRAME = 65507 + 64;

export const FrameType = {
  hello: 1,
  bind: 2,
  bound: 3,
  dgramIn: 4,
  dgramOut: 5,
  error: 6,
  bye: 7,
} as const;

export const ROLE_OF_CHANNEL: Readonly<Record<Channel, number>> = {
  dhcp: 1,
  'dhcp-client': 2,
  tftp: 3,
  pxe: 4,
};
const CHANNEL_OF_ROLE: Readonly<Record<number, Channel>> = {
  1: 'dhcp',
  2: 'dhcp-client',
  3: 'tftp',
  4: 'pxe',
};

export const HelperErrorCode = {
  malformed: 1,
  portInUse: 2,
  permission: 3,
  ifaceMissing: 4,
  ifaceDown: 5,
  sendRefused: 6,
  io: 7,
  badPort: 8,
} as const;

export interface ChannelPort {
  readonly channel: Channel;
  readonly port: number;
}

export type HelperFrame =
  | { readonly type: 'hello'; readonly agent: string }
  | { readonly type: 'bind'; readonly iface: string; readonly ports: readonly ChannelPort[] }
  | { readonly type: 'bound'; readonly ifindex: number; readonly ports: readonly ChannelPort[] }
  | {
      readonly type: 'dgram-in';
      readonly channel: Channel;
      readonly ifindex: number;
      readonly source: { address: string; port: number };
      readonly destination: string;
      readonly payload: Uint8Array;
    }
  | {
      readonly type: 'dgram-out';
      readonly channel: Channel;
      readonly to: { address: string; port: number };
      readonly payload: Uint8Array;
    }
  | { readonly type: 'error'; readonly code: number; readonly fatal: boolean; readonly message: string }
  | { readonly type: 'bye' };

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

function ipBytes(address: string): number[] {
  const parts = address.split('.').map((p) => Number(p));
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new FrameError(`not an IPv4 address: ${address}`);
  }
  return parts;
}

function ipString(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

function frame(type: number, body: Uint8Array): Buffer {
  const out = Buffer.alloc(6 + body.length);
  out.writeUInt32BE(2 + body.length, 0);
  out[4] = PROTOCOL_VERSION;
  out[5] = type;
  out.set(body, 6);
  return out;
}

function portList(ports: readonly ChannelPort[]): number[] {
  const b = [ports.length];
  for (const p of ports) b.push(ROLE_OF_CHANNEL[p.channel], (p.port >> 8) & 0xff, p.port & 0xff);
  return b;
}

export function encodeFrame(f: HelperFrame): Buffer {
  switch (f.type) {
    case 'hello':
      return frame(FrameType.hello, Buffer.from(f.agent, 'utf8'));
    case 'bind': {
      const name = Buffer.from(f.iface, 'utf8');
      if (name.length === 0 || name.length > 15) throw new FrameError(`bad interface name: ${f.iface}`);
      return frame(FrameType.bind, Buffer.from([name.length, ...name, ...portList(f.ports)]));
    }
    case 'bound': {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(f.ifindex, 0);
      return frame(FrameType.bound, Buffer.concat([b, Buffer.from(portList(f.ports))]));
    }
    case 'dgram-in': {
      const h = Buffer.alloc(15);
      h[0] = ROLE_OF_CHANNEL[f.channel];
      h.writeUInt32BE(f.ifindex, 1);
      h.set(ipBytes(f.source.address), 5);
      h.writeUInt16BE(f.source.port, 9);
      h.set(ipBytes(f.destination), 11);
      return frame(FrameType.dgramIn, Buffer.concat([h, f.payload]));
    }
    case 'dgram-out': {
      const h = Buffer.alloc(7);
      h[0] = ROLE_OF_CHANNEL[f.channel];
      h.set(ipBytes(f.to.address), 1);
      h.writeUInt16BE(f.to.port, 5);
      return frame(FrameType.dgramOut, Buffer.concat([h, f.payload]));
    }
    case 'error':
      return frame(
        FrameType.error,
        Buffer.concat([Buffer.from([f.code, f.fatal ? 1 : 0]), Buffer.from(f.message, 'utf8')]),
      );
    case 'bye':
      return frame(FrameType.bye, new Uint8Array(0));
  }
}

function channelOf(role: number | undefined): Channel {
  const c = role === undefined ? undefined : CHANNEL_OF_ROLE[role];
  if (!c) throw new FrameError(`unknown role ${String(role)}`);
  return c;
}

function decodePorts(b: Buffer, at: number): ChannelPort[] {
  const n = b[at] ?? 0;
  if (n === 0 || b.length !== at + 1 + 3 * n) throw new FrameError('bad port list');
  const ports: ChannelPort[] = [];
  for (let i = 0; i < n; i++) {
    const o = at + 1 + 3 * i;
    ports.push({ channel: channelOf(b[o]), port: b.readUInt16BE(o + 1) });
  }
  return ports;
}

/** Decode one complete frame (length prefix included). Throws FrameError on anything malformed. */
export function decodeFrame(buf: Uint8Array): HelperFrame {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 6) throw new FrameError('short frame');
  const len = b.readUInt32BE(0);
  if (len < 2 || len > MAX_FRAME || len !== b.length - 4) throw new FrameError('bad frame length');
  if (b[4] !== PROTOCOL_VERSION) throw new FrameError(`protocol version ${String(b[4])} unsupported`);
  const body = b.subarray(6);
  switch (b[5]) {
    case FrameType.hello:
      return { type: 'hello', agent: body.toString('utf8') };
    case FrameType.bind: {
      const l = body[0] ?? 0;
      if (l === 0 || l > 15 || body.length < l + 2) throw new FrameError('bad bind frame');
      return {
        type: 'bind',
        iface: body.subarray(1, 1 + l).toString('utf8'),
        ports: decodePorts(body, 1 + l),
      };
    }
    case FrameType.bound:
      if (body.length < 5) throw new FrameError('bad bound frame');
      return { type: 'bound', ifindex: body.readUInt32BE(0), ports: decodePorts(body, 4) };
    case FrameType.dgramIn:
      if (body.length < 15) throw new FrameError('bad datagram-in frame');
      return {
        type: 'dgram-in',
        channel: channelOf(body[0]),
        ifindex: body.readUInt32BE(1),
        source: { address: ipString(body, 5), port: body.readUInt16BE(9) },
        destination: ipString(body, 11),
        payload: new Uint8Array(body.subarray(15)),
      };
    case FrameType.dgramOut:
      if (body.length < 7) throw new FrameError('bad datagram-out frame');
      return {
        type: 'dgram-out',
        channel: channelOf(body[0]),
        to: { address: ipString(body, 1), port: body.readUInt16BE(5) },
        payload: new Uint8Array(body.subarray(7)),
      };
    case FrameType.error:
      if (body.length < 2) throw new FrameError('bad error frame');
      return {
        type: 'error',
        code: body[0] ?? 0,
        fatal: body[1] === 1,
        message: body.subarray(2).toString('utf8'),
      };
    case FrameType.bye:
      return { type: 'bye' };
    default:
      throw new FrameError(`unknown frame type ${String(b[5])}`);
  }
}

/** Splits a byte stream into frames; throws FrameError (fail closed) on a bad length. */
export class FrameReader {
  private pending = Buffer.alloc(0);

  push(chunk: Uint8Array): HelperFrame[] {
    this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    const frames: HelperFrame[] = [];
    while (this.pending.length >= 4) {
      const len = this.pending.readUInt32BE(0);
      if (len < 2 || len > MAX_FRAME) throw new FrameError('bad frame length');
      if (this.pending.length < 4 + len) break;
      frames.push(decodeFrame(this.pending.subarray(0, 4 + len)));
      this.pending = this.pending.subarray(4 + len);
    }
    return frames;
  }
}
