/**
 * Pure BOOTP/DHCP codec (RFC 2131 §2, RFC 2132). `decode` throws only DhcpDecodeError and never reads
 * out of bounds; `encode` writes replies that PXE ROMs accept (protocol.md §0.1).
 */

export class DhcpDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DhcpDecodeError';
  }
}

export const MAGIC_COOKIE = 0x63825363;

export const enum MessageType {
  Discover = 1,
  Offer = 2,
  Request = 3,
  Decline = 4,
  Ack = 5,
  Nak = 6,
  Release = 7,
  Inform = 8,
}

/** Option codes PXE Desk reads or writes. */
export const Opt = {
  pad: 0,
  subnetMask: 1,
  router: 3,
  dns: 6,
  broadcast: 28,
  vendorSpecific: 43,
  requestedIp: 50,
  leaseTime: 51,
  overload: 52,
  messageType: 53,
  serverId: 54,
  paramRequest: 55,
  maxMessageSize: 57,
  renewalTime: 58,
  rebindingTime: 59,
  vendorClass: 60,
  clientId: 61,
  tftpServer: 66,
  bootFile: 67,
  userClass: 77,
  clientArch: 93,
  clientNdi: 94,
  clientUuid: 97,
  ipxeEncap: 175,
  end: 255,
} as const;

export interface DhcpMessage {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** 16 raw bytes. */
  chaddr: Buffer;
  /** NUL-terminated text (empty when the field carried overloaded options). */
  sname: string;
  file: string;
  /** Options after RFC 3396 concatenation, in first-seen order. Never contains 0, 52 or 255. */
  options: Map<number, Buffer>;
  /** False when the cookie was absent or wrong (BOOTP). */
  hasCookie: boolean;
}

/** Cap on a concatenated option (catalogue D20: no concatenation bomb). */
const MAX_OPTION_BYTES = 1500;

function ipAt(buf: Uint8Array, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

function cString(buf: Uint8Array, start: number, len: number): string {
  let end = start;
  while (end < start + len && buf[end] !== 0) end++;
  return Buffer.from(buf.subarray(start, end)).toString('latin1');
}

/** Parses one option area into `into` (RFC 3396: parts of a repeated code are collected in order). */
function parseArea(
  buf: Uint8Array,
  start: number,
  end: number,
  into: Map<number, Buffer[]>,
  sizes: Map<number, number>,
): void {
  let p = start;
  while (p < end) {
    const code = buf[p] as number;
    if (code === Opt.pad) {
      p++;
      continue;
    }
    if (code === Opt.end) return;
    if (p + 1 >= end) throw new DhcpDecodeError(`option ${code} has no length byte`);
    const len = buf[p + 1] as number;
    if (p + 2 + len > end) throw new DhcpDecodeError(`option ${code} runs past the end`);
    const size = (sizes.get(code) ?? 0) + len;
    if (size > MAX_OPTION_BYTES) throw new DhcpDecodeError(`option ${code} too long`);
    sizes.set(code, size);
    let parts = into.get(code);
    if (!parts) into.set(code, (parts = []));
    parts.push(Buffer.from(buf.subarray(p + 2, p + 2 + len)));
    p += 2 + len;
  }
}

export function decode(input: Uint8Array): DhcpMessage {
  const buf = input;
  if (buf.length < 240) throw new DhcpDecodeError(`datagram too short (${buf.length} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hlen = buf[2] as number;
  const htype = buf[1] as number;
  if (hlen > 16) throw new DhcpDecodeError(`hlen ${hlen} > 16`);
  if (htype === 0 && hlen !== 0) throw new DhcpDecodeError('htype 0 with non-zero hlen');
  const hasCookie = view.getUint32(236) === MAGIC_COOKIE;
  const parts = new Map<number, Buffer[]>();
  const sizes = new Map<number, number>();
  let sname = cString(buf, 44, 64);
  let file = cString(buf, 108, 128);
  if (hasCookie) {
    parseArea(buf, 240, buf.length, parts, sizes);
    // RFC 2132 §9.3: only the main area's option 52 counts (catalogue D17); values outside 1-3 are ignored (D18).
    const overload = parts.get(Opt.overload)?.[0];
    parts.delete(Opt.overload);
    const ov = overload && overload.length === 1 ? (overload[0] as number) : 0;
    if (ov >= 1 && ov <= 3) {
      // Overloaded fields hold options, not text; a broken one must not undo what the main area gave (D16).
      const extra = (s: number, e: number): void => {
        const p2 = new Map<number, Buffer[]>();
        try {
          parseArea(buf, s, e, p2, new Map(sizes));
        } catch {
          return;
        }
        p2.delete(Opt.overload);
        for (const [code, list] of p2) {
          const cur = parts.get(code);
          if (cur) cur.push(...list);
          else parts.set(code, list);
        }
      };
      if (ov & 1) {
        extra(108, 236);
        file = '';
      }
      if (ov & 2) {
        extra(44, 108);
        sname = '';
      }
    }
  } else if (buf[240] === Opt.messageType) {
    // DNSMASQ insists on the cookie when option 53 is present (catalogue D3).
    throw new DhcpDecodeError('bad magic cookie');
  }
  const options = new Map<number, Buffer>();
  for (const [code, list] of parts) options.set(code, list.length === 1 ? list[0]! : Buffer.concat(list));
  return {
    op: buf[0] as number,
    htype,
    hlen,
    hops: buf[3] as number,
    xid: view.getUint32(4),
    secs: view.getUint16(8),
    flags: view.getUint16(10),
    ciaddr: ipAt(buf, 12),
    yiaddr: ipAt(buf, 16),
    siaddr: ipAt(buf, 20),
    giaddr: ipAt(buf, 24),
    chaddr: Buffer.from(buf.subarray(28, 44)),
    sname,
    file,
    options,
    hasCookie,
  };
}

export function ipToBytes(ip: string): Buffer {
  const parts = ip.split('.').map((x) => Number(x));
  if (parts.length !== 4 || parts.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) {
    throw new RangeError(`not an IPv4 address: ${ip}`);
  }
  return Buffer.from(parts);
}

export function ipToInt(ip: string): number {
  return ipToBytes(ip).readUInt32BE(0);
}

export function intToIp(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** NUL-terminated string option value (DNSMASQ `do_options`: some PXE ROMs need it). */
export function strOpt(s: string): Buffer {
  return Buffer.concat([Buffer.from(s, 'latin1'), Buffer.from([0])]);
}

export interface EncodeOptions {
  /** Client's option 57 value (IP datagram size); below 576 is clamped up to 576 (catalogue D28). */
  maxMessageSize?: number;
}

/**
 * Encodes a reply. Options are written in map order, split into 255-byte chunks (RFC 3396); option 52
 * is never written (iPXE does not understand overload). Pads to 300 bytes (BOOTP minimum) and throws
 * RangeError if the packet would exceed the client's limit (576 − 28 by default, 1472 for EDK2).
 */
export function encode(msg: DhcpMessage, opts: EncodeOptions = {}): Buffer {
  const head = Buffer.alloc(240);
  head[0] = msg.op;
  head[1] = msg.htype;
  head[2] = msg.hlen;
  head[3] = msg.hops;
  head.writeUInt32BE(msg.xid >>> 0, 4);
  head.writeUInt16BE(msg.secs, 8);
  head.writeUInt16BE(msg.flags, 10);
  ipToBytes(msg.ciaddr).copy(head, 12);
  ipToBytes(msg.yiaddr).copy(head, 16);
  ipToBytes(msg.siaddr).copy(head, 20);
  ipToBytes(msg.giaddr).copy(head, 24);
  msg.chaddr.copy(head, 28, 0, 16);
  const sname = Buffer.from(msg.sname, 'latin1');
  const file = Buffer.from(msg.file, 'latin1');
  // Leave room for the terminating NUL in both fields.
  if (sname.length > 63 || file.length > 127) throw new RangeError('sname or file too long');
  sname.copy(head, 44);
  file.copy(head, 108);
  head.writeUInt32BE(MAGIC_COOKIE, 236);
  const chunks: Buffer[] = [head];
  for (const [code, value] of msg.options) {
    if (code === Opt.pad || code === Opt.end || code === Opt.overload) continue;
    for (let off = 0; off < value.length || off === 0; off += 255) {
      const part = value.subarray(off, off + 255);
      chunks.push(Buffer.from([code, part.length]), part);
      if (value.length === 0) break;
    }
  }
  chunks.push(Buffer.from([Opt.end]));
  let out = Buffer.concat(chunks);
  if (out.length < 300) out = Buffer.concat([out, Buffer.alloc(300 - out.length)]);
  const limit = Math.min(1472, Math.max(576, opts.maxMessageSize ?? 576) - 28);
  if (out.length > limit) throw new RangeError(`reply of ${out.length} bytes exceeds ${limit}`);
  return out;
}

export function macOf(msg: DhcpMessage): string {
  const n = Math.min(msg.hlen || 6, 16);
  return [...msg.chaddr.subarray(0, n)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function messageType(msg: DhcpMessage): number | undefined {
  const v = msg.options.get(Opt.messageType);
  // Length must be exactly 1 and the value 1-8 (catalogue D13; D14: a repeated 53 concatenates to 2 bytes and is invalid).
  if (!v || v.length !== 1) return undefined;
  const t = v[0] as number;
  return t >= 1 && t <= 8 ? t : undefined;
}

/** Option 93 as a list of u16 (RFC 4578 §2.1); undefined when absent or malformed (D21). */
export function clientArchs(msg: DhcpMessage): number[] | undefined {
  const v = msg.options.get(Opt.clientArch);
  if (v && v.length > 0 && v.length % 2 === 0) {
    const out: number[] = [];
    for (let i = 0; i < v.length; i += 2) out.push(v.readUInt16BE(i));
    return out;
  }
  const vc = msg.options.get(Opt.vendorClass)?.toString('latin1');
  const m = vc ? /^(?:PXEClient|HTTPClient):Arch:(\d{5})/.exec(vc) : null;
  return m ? [Number(m[1])] : undefined;
}

/** Option 97 only when well-formed: 17 bytes, type 0 (D22). */
export function clientUuid(msg: DhcpMessage): Buffer | undefined {
  const v = msg.options.get(Opt.clientUuid);
  return v && v.length === 17 && v[0] === 0 ? v : undefined;
}

export function uuidString(v: Buffer): string {
  const h = v.subarray(1).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** User class items (RFC 3004), or the raw string iPXE sends without length prefixes. */
export function userClasses(msg: DhcpMessage): string[] {
  const v = msg.options.get(Opt.userClass);
  if (!v || v.length === 0) return [];
  const items: string[] = [];
  let p = 0;
  while (p < v.length) {
    const len = v[p] as number;
    if (len === 0 || p + 1 + len > v.length) return [v.toString('latin1')];
    items.push(v.subarray(p + 1, p + 1 + len).toString('latin1'));
    p += 1 + len;
  }
  return items;
}

/** Sub-options of an encapsulated option (43, 175). Malformed tails are ignored. */
export function subOptions(v: Buffer | undefined): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  if (!v) return out;
  let p = 0;
  while (p < v.length) {
    const code = v[p] as number;
    if (code === 0) {
      p++;
      continue;
    }
    if (code === 255 || p + 1 >= v.length) break;
    const len = v[p + 1] as number;
    if (p + 2 + len > v.length) break;
    out.set(code, v.subarray(p + 2, p + 2 + len));
    p += 2 + len;
  }
  return out;
}

export function encodeSubOptions(entries: ReadonlyArray<readonly [number, Buffer]>): Buffer {
  const parts: Buffer[] = [];
  for (const [code, value] of entries) parts.push(Buffer.from([code, value.length]), value);
  parts.push(Buffer.from([255]));
  return Buffer.concat(parts);
}
