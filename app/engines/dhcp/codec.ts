/**
 * Pure BOOTP/DHCP codec (RFC 2131 §2, RFC 2132). `decode` throws only DhcpDecodeError and never reads
 * out of bounds; `encode` writes replies that PXE ROMs accept (RFC 2131 §2; docs/protocol-notes.md §1).
 * Kept whole (~430 lines): decode and encode share the option table and the bounds rules, and the
 * fuzz test holds them to each other.
 */
import { ipv4TextAt } from '../../shared/bounded-memo.js';
import { netbootClassOf } from './netboot-client.js';

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

/** Cap on a concatenated option (test-catalogue D20: no concatenation bomb). */
const MAX_OPTION_BYTES = 1500;

function cString(buf: Buffer, start: number, len: number): string {
  if (buf[start] === 0) return '';
  let end = start;
  while (end < start + len && buf[end] !== 0) end++;
  return buf.toString('latin1', start, end);
}

/**
 * Parses one option area into `into` (RFC 3396: parts of a repeated code are concatenated in order).
 * Values are views into the datagram, not copies (hot path: 20 000 packets/s must not allocate per option).
 */
function parseArea(buf: Buffer, start: number, end: number, into: Map<number, Buffer>): void {
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
    const value = buf.subarray(p + 2, p + 2 + len);
    const prev = into.get(code);
    if (prev === undefined) into.set(code, value);
    else {
      // A single option is at most 255 bytes, so only a repeated code can reach the cap (D20).
      if (prev.length + len > MAX_OPTION_BYTES) throw new DhcpDecodeError(`option ${code} too long`);
      into.set(code, Buffer.concat([prev, value]));
    }
    p += 2 + len;
  }
}

/**
 * Decodes a BOOTP/DHCP datagram. `chaddr` and option values are views into `input`: callers that keep a
 * message while reusing the buffer must copy.
 */
export function decode(input: Uint8Array): DhcpMessage {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (buf.length < 240) throw new DhcpDecodeError(`datagram too short (${buf.length} bytes)`);
  const hlen = buf[2] as number;
  const htype = buf[1] as number;
  if (hlen > 16) throw new DhcpDecodeError(`hlen ${hlen} > 16`);
  if (htype === 0 && hlen !== 0) throw new DhcpDecodeError('htype 0 with non-zero hlen');
  const hasCookie = buf.readUInt32BE(236) === MAGIC_COOKIE;
  const options = new Map<number, Buffer>();
  let sname = '';
  let file = '';
  let ov = 0;
  if (hasCookie) {
    parseArea(buf, 240, buf.length, options);
    // RFC 2132 §9.3: only the main area's option 52 counts (test-catalogue D17); values outside 1-3 are ignored (D18).
    const overload = options.get(Opt.overload);
    options.delete(Opt.overload);
    ov = overload && overload.length === 1 ? (overload[0] as number) : 0;
    if (ov >= 1 && ov <= 3) {
      // Overloaded fields hold options, not text; a broken one must not undo what the main area gave (D16).
      const extra = (s: number, e: number): void => {
        const more = new Map<number, Buffer>();
        try {
          parseArea(buf, s, e, more);
        } catch {
          return;
        }
        more.delete(Opt.overload);
        for (const [code, value] of more) {
          const cur = options.get(code);
          if (cur === undefined) options.set(code, value);
          else if (cur.length + value.length <= MAX_OPTION_BYTES)
            options.set(code, Buffer.concat([cur, value]));
        }
      };
      if (ov & 1) extra(108, 236);
      if (ov & 2) extra(44, 108);
    } else ov = 0;
  } else if (buf[240] === Opt.messageType) {
    // dnsmasq insists on the cookie when option 53 is present (test-catalogue D3).
    throw new DhcpDecodeError('bad magic cookie');
  }
  if (!(ov & 2)) sname = cString(buf, 44, 64);
  if (!(ov & 1)) file = cString(buf, 108, 128);
  return {
    op: buf[0] as number,
    htype,
    hlen,
    hops: buf[3] as number,
    xid: buf.readUInt32BE(4),
    secs: buf.readUInt16BE(8),
    flags: buf.readUInt16BE(10),
    ciaddr: ipv4TextAt(buf, 12),
    yiaddr: ipv4TextAt(buf, 16),
    siaddr: ipv4TextAt(buf, 20),
    giaddr: ipv4TextAt(buf, 24),
    chaddr: buf.subarray(28, 44),
    sname,
    file,
    options,
    hasCookie,
  };
}

/**
 * Writes a dotted quad at `off` without allocating (reply hot path). Throws RangeError on anything else.
 */
export function writeIp(ip: string, out: Uint8Array, off: number): void {
  let part = 0;
  let n = -1;
  for (let i = 0; i <= ip.length; i++) {
    const c = i < ip.length ? ip.charCodeAt(i) : 46;
    if (c >= 48 && c <= 57) {
      n = n < 0 ? c - 48 : n * 10 + (c - 48);
      if (n > 255) throw new RangeError(`not an IPv4 address: ${ip}`);
    } else if (c === 46 && n >= 0 && part < 4) {
      out[off + part++] = n;
      n = -1;
    } else throw new RangeError(`not an IPv4 address: ${ip}`);
  }
  if (part !== 4) throw new RangeError(`not an IPv4 address: ${ip}`);
}

export function ipToBytes(ip: string): Buffer {
  const out = Buffer.allocUnsafe(4);
  writeIp(ip, out, 0);
  return out;
}

const ipScratch = Buffer.alloc(4);
export function ipToInt(ip: string): number {
  writeIp(ip, ipScratch, 0);
  return ipScratch.readUInt32BE(0);
}

export function intToIp(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** NUL-terminated string option value (dnsmasq `do_options`: some PXE ROMs need it). */
export function strOpt(s: string): Buffer {
  const n = Buffer.byteLength(s, 'latin1');
  const out = Buffer.allocUnsafe(n + 1);
  out.write(s, 0, 'latin1');
  out[n] = 0;
  return out;
}

export interface EncodeOptions {
  /** Client's option 57 value (IP datagram size); below 576 is clamped up to 576 (test-catalogue D28). */
  maxMessageSize?: number;
}

/**
 * Largest reply (bytes of DHCP payload) for a client's option 57: 576 − 28 unless the client allows more,
 * below 576 clamped up (test-catalogue D28), never above 1472 (EDK2 drops longer replies: PXEBC_DHCP4_PACKET_MAX_SIZE).
 */
export function replyLimit(maxMessageSize?: number): number {
  return Math.min(1472, Math.max(576, maxMessageSize ?? 576) - 28);
}

/** Bytes `encode` will write before padding to 300 (header, options with RFC 3396 splits, END). */
export function encodedSize(msg: DhcpMessage): number {
  let size = 241;
  // By key, not by [code, value] entries: an entry array per option per reply was most of what encoding
  // allocated (issue 17).
  for (const code of msg.options.keys()) {
    if (code === Opt.pad || code === Opt.end || code === Opt.overload) continue;
    const length = (msg.options.get(code) as Buffer).length;
    size += length === 0 ? 2 : length + 2 * Math.ceil(length / 255);
  }
  return size;
}

/**
 * Encodes a reply. Options are written in map order, split into 255-byte chunks (RFC 3396); option 52
 * is never written (iPXE does not understand overload). Pads to 300 bytes (BOOTP minimum) and throws
 * RangeError if the packet would exceed the client's limit (576 − 28 by default, 1472 for EDK2).
 */
export function encode(msg: DhcpMessage, opts: EncodeOptions = {}): Buffer {
  const sname = msg.sname;
  const file = msg.file;
  // Leave room for the terminating NUL in both fields.
  if (Buffer.byteLength(sname, 'latin1') > 63 || Buffer.byteLength(file, 'latin1') > 127) {
    throw new RangeError('sname or file too long');
  }
  // Size first, then one zero-filled buffer written in place (no per-option allocations).
  const size = encodedSize(msg);
  const limit = replyLimit(opts.maxMessageSize);
  if (size > limit) throw new RangeError(`reply of ${size} bytes exceeds ${limit}`);
  // From Node's buffer pool (cheaper than a zeroed allocation per reply); every byte is written below.
  const total = Math.max(300, size);
  const out = Buffer.allocUnsafe(total);
  out.fill(0, 0, 240);
  out[0] = msg.op;
  out[1] = msg.htype;
  out[2] = msg.hlen;
  out[3] = msg.hops;
  out.writeUInt32BE(msg.xid >>> 0, 4);
  out.writeUInt16BE(msg.secs, 8);
  out.writeUInt16BE(msg.flags, 10);
  writeIp(msg.ciaddr, out, 12);
  writeIp(msg.yiaddr, out, 16);
  writeIp(msg.siaddr, out, 20);
  writeIp(msg.giaddr, out, 24);
  out.set(msg.chaddr.subarray(0, 16), 28);
  out.write(sname, 44, 'latin1');
  out.write(file, 108, 'latin1');
  out.writeUInt32BE(MAGIC_COOKIE, 236);
  let p = 240;
  for (const code of msg.options.keys()) {
    if (code === Opt.pad || code === Opt.end || code === Opt.overload) continue;
    const value = msg.options.get(code) as Buffer;
    if (value.length <= 255) {
      out[p] = code;
      out[p + 1] = value.length;
      out.set(value, p + 2);
      p += 2 + value.length;
      continue;
    }
    for (let off = 0; off < value.length; off += 255) {
      const n = Math.min(255, value.length - off);
      out[p] = code;
      out[p + 1] = n;
      out.set(value.subarray(off, off + n), p + 2);
      p += 2 + n;
    }
  }
  out[p] = Opt.end;
  if (p + 1 < total) out.fill(0, p + 1); // BOOTP minimum padding (300 bytes)
  return out;
}

/**
 * Text of MACs and UUIDs is written into one scratch buffer and read out as one string: a string built by
 * `+=` is a tree of pieces (eleven for a MAC) that every map, record and list keyed by the MAC keeps alive,
 * and young-generation GCs copy it for as long as the client's record lives (issue 17, flood of new MACs).
 */
const textScratch = Buffer.alloc(64);
const HEX_DIGIT = Buffer.from('0123456789abcdef', 'latin1');

function hexByte(at: number, byte: number): number {
  textScratch[at] = HEX_DIGIT[byte >> 4] as number;
  textScratch[at + 1] = HEX_DIGIT[byte & 15] as number;
  return at + 2;
}

export function macOf(msg: DhcpMessage): string {
  const n = Math.min(msg.hlen || 6, 16, msg.chaddr.length);
  let at = 0;
  for (let i = 0; i < n; i++) {
    if (i > 0) textScratch[at++] = 0x3a; // ':'
    at = hexByte(at, msg.chaddr[i] as number);
  }
  return textScratch.toString('latin1', 0, at);
}

export function messageType(msg: DhcpMessage): number | undefined {
  const v = msg.options.get(Opt.messageType);
  // Length must be exactly 1 and the value 1-8 (test-catalogue D13; D14: a repeated 53 concatenates to 2 bytes and is invalid).
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
  // "PXEClient:Arch:00007:UNDI:003016" (PXE 2.1): the Arch field of a netboot client's option 60.
  const vc = msg.options.get(Opt.vendorClass)?.toString('latin1');
  const netboot = netbootClassOf(vc);
  const m = netboot ? /^:Arch:(\d{5})/.exec(vc!.slice(netboot.length)) : null;
  return m ? [Number(m[1])] : undefined;
}

/** A 4-byte address option as dotted text, or undefined when absent or malformed. */
export function ipOption(msg: DhcpMessage, code: number): string | undefined {
  const v = msg.options.get(code);
  return v && v.length === 4 ? `${v[0]}.${v[1]}.${v[2]}.${v[3]}` : undefined;
}

/** Option 97 only when well-formed: 17 bytes, type 0 (D22). */
export function clientUuid(msg: DhcpMessage): Buffer | undefined {
  const v = msg.options.get(Opt.clientUuid);
  return v && v.length === 17 && v[0] === 0 ? v : undefined;
}

/** Option 97's GUID as 8-4-4-4-12 hex digits (its 16 bytes after the type octet, in wire order). */
export function uuidString(v: Buffer): string {
  let at = 0;
  for (let i = 1; i < 17; i++) {
    if (i === 5 || i === 7 || i === 9 || i === 11) textScratch[at++] = 0x2d; // '-'
    at = hexByte(at, v[i] ?? 0);
  }
  return textScratch.toString('latin1', 0, at);
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
