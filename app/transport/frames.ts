/**
 * Frame contract with the native helper (mirror of native-helper/frames.go; keep both in step).
 *
 * Every frame: u32 big-endian length L (of what follows), u8 protocol version, u8 type, body (L-2 bytes).
 * Golden frames in test/fixtures/helper-frames/ are checked by both `go test` and vitest.
 */
import { ipv4TextAt } from '../shared/bounded-memo.js';
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

/** Dotted quad to its 32-bit value; FrameError for anything else (no split/map: it runs per reply). */
function ipValue(address: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c >= 48 && c <= 57 && digits < 3) {
      part = part * 10 + c - 48;
      digits++;
    } else if (c === 46 && digits > 0 && dots < 3 && part <= 255) {
      value = value * 256 + part;
      part = digits = 0;
      dots++;
    } else throw new FrameError(`not an IPv4 address: ${address}`);
  }
  if (dots !== 3 || digits === 0 || part > 255) throw new FrameError(`not an IPv4 address: ${address}`);
  return value * 256 + part;
}

function ipBytes(address: string): number[] {
  const v = ipValue(address);
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
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
      // One buffer, written in place: this runs once per reply.
      const address = ipValue(f.to.address);
      if (!Number.isInteger(f.to.port) || f.to.port < 0 || f.to.port > 0xffff)
        throw new FrameError(`bad port ${String(f.to.port)}`);
      const out = Buffer.allocUnsafe(13 + f.payload.length);
      out.writeUInt32BE(9 + f.payload.length, 0);
      out[4] = PROTOCOL_VERSION;
      out[5] = FrameType.dgramOut;
      out[6] = ROLE_OF_CHANNEL[f.channel];
      out.writeUInt32BE(address, 7);
      out.writeUInt16BE(f.to.port, 11);
      out.set(f.payload, 13);
      return out;
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

function decodePorts(b: Buffer, at: number, end: number): ChannelPort[] {
  const n = b[at] ?? 0;
  if (n === 0 || end !== at + 1 + 3 * n) throw new FrameError('bad port list');
  const ports: ChannelPort[] = [];
  for (let i = 0; i < n; i++) {
    const o = at + 1 + 3 * i;
    ports.push({ channel: channelOf(b[o]), port: b.readUInt16BE(o + 1) });
  }
  return ports;
}

/** Decode one complete frame (length prefix included). Throws FrameError on anything malformed. */
export function decodeFrame(buf: Uint8Array): HelperFrame {
  return decodeAt(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength), 0, buf.byteLength);
}

/**
 * Decodes the frame in b[start, end). Offsets instead of subarrays: this runs once per datagram. A payload
 * is its own copy (pooled for small ones): a view would keep the whole stream chunk alive for as long as
 * any decoded message that points into it, and the caller may reuse its buffer.
 */
function decodeAt(b: Buffer, start: number, end: number): HelperFrame {
  if (end - start < 6) throw new FrameError('short frame');
  const len = b.readUInt32BE(start);
  if (len < 2 || len > MAX_FRAME || len !== end - start - 4) throw new FrameError('bad frame length');
  if (b[start + 4] !== PROTOCOL_VERSION)
    throw new FrameError(`protocol version ${String(b[start + 4])} unsupported`);
  const o = start + 6; // the body
  const size = end - o;
  const payload = (at: number): Uint8Array => {
    const copy = Buffer.allocUnsafe(end - at);
    b.copy(copy, 0, at, end);
    return copy;
  };
  switch (b[start + 5]) {
    case FrameType.hello:
      return { type: 'hello', agent: b.toString('utf8', o, end) };
    case FrameType.bind: {
      const l = b[o] ?? 0;
      if (size < 1 || l === 0 || l > 15 || size < l + 2) throw new FrameError('bad bind frame');
      return {
        type: 'bind',
        iface: b.toString('utf8', o + 1, o + 1 + l),
        ports: decodePorts(b, o + 1 + l, end),
      };
    }
    case FrameType.bound:
      if (size < 5) throw new FrameError('bad bound frame');
      return { type: 'bound', ifindex: b.readUInt32BE(o), ports: decodePorts(b, o + 4, end) };
    case FrameType.dgramIn:
      if (size < 15) throw new FrameError('bad datagram-in frame');
      return {
        type: 'dgram-in',
        channel: channelOf(b[o]),
        ifindex: b.readUInt32BE(o + 1),
        source: { address: ipv4TextAt(b, o + 5), port: b.readUInt16BE(o + 9) },
        destination: ipv4TextAt(b, o + 11),
        payload: payload(o + 15),
      };
    case FrameType.dgramOut:
      if (size < 7) throw new FrameError('bad datagram-out frame');
      return {
        type: 'dgram-out',
        channel: channelOf(b[o]),
        to: { address: ipv4TextAt(b, o + 1), port: b.readUInt16BE(o + 5) },
        payload: payload(o + 7),
      };
    case FrameType.error:
      if (size < 2) throw new FrameError('bad error frame');
      return {
        type: 'error',
        code: b[o] ?? 0,
        fatal: b[o + 1] === 1,
        message: b.toString('utf8', o + 2, end),
      };
    case FrameType.bye:
      return { type: 'bye' };
    default:
      throw new FrameError(`unknown frame type ${String(b[start + 5])}`);
  }
}

/** Splits a byte stream into frames; throws FrameError (fail closed) on a bad length. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Uint8Array): HelperFrame[] {
    const b =
      this.pending.length === 0
        ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
        : Buffer.concat([this.pending, chunk]);
    const frames: HelperFrame[] = [];
    let at = 0;
    while (b.length - at >= 4) {
      const len = b.readUInt32BE(at);
      if (len < 2 || len > MAX_FRAME) throw new FrameError('bad frame length');
      const end = at + 4 + len;
      if (b.length < end) break;
      frames.push(decodeAt(b, at, end));
      at = end;
    }
    // Only a partial frame is kept, as our own copy: the caller may reuse its chunk.
    this.pending = at === b.length ? Buffer.alloc(0) : Buffer.from(b.subarray(at));
    return frames;
  }
}
