/**
 * TFTP packet codec (RFC 1350, RFC 2347 OACK). Pure: `decodeRequest` throws TftpDecodeError, the
 * encoders return fresh Buffers (the hot DATA path builds its packets in place in the engine instead).
 */

export const OP_RRQ = 1;
export const OP_WRQ = 2;
export const OP_DATA = 3;
export const OP_ACK = 4;
export const OP_ERROR = 5;
export const OP_OACK = 6;

/** RFC 1350 §5 + RFC 2347 error codes. */
export const ERR_UNDEFINED = 0;
export const ERR_NOT_FOUND = 1;
export const ERR_ACCESS = 2;
export const ERR_ILLEGAL = 4;
export const ERR_UNKNOWN_TID = 5;
export const ERR_OPTIONS = 8;

export class TftpDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TftpDecodeError';
  }
}

export interface TftpRequest {
  readonly opcode: typeof OP_RRQ | typeof OP_WRQ;
  /** Raw file name bytes as latin1 (TFTP names are bytes; never URL-decoded, S12). */
  readonly filename: string;
  /** Lower-cased mode. */
  readonly mode: string;
  /** Options in request order; names as sent (case kept for echoing, T7). */
  readonly options: readonly { readonly name: string; readonly value: string }[];
}

/** Max RRQ we accept (RFC 2347 allows the request to reach 512 bytes; S11 says refuse more). */
export const MAX_REQUEST = 512;

function readString(buf: Uint8Array, start: number): { text: string; next: number } | undefined {
  const end = buf.indexOf(0, start);
  if (end < 0) return undefined;
  return {
    text: Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1'),
    next: end + 1,
  };
}

/** Decodes an RRQ/WRQ. The filename ends at the first NUL (S8: what follows is the mode). */
export function decodeRequest(buf: Uint8Array): TftpRequest {
  if (buf.length < 4) throw new TftpDecodeError('short request');
  if (buf.length > MAX_REQUEST) throw new TftpDecodeError('request longer than 512 bytes');
  const opcode = (buf[0]! << 8) | buf[1]!;
  if (opcode !== OP_RRQ && opcode !== OP_WRQ) throw new TftpDecodeError(`not a request (opcode ${opcode})`);
  const name = readString(buf, 2);
  if (!name) throw new TftpDecodeError('filename not terminated');
  const mode = readString(buf, name.next);
  if (!mode) throw new TftpDecodeError('mode not terminated');
  const options: { name: string; value: string }[] = [];
  let at = mode.next;
  while (at < buf.length) {
    const key = readString(buf, at);
    if (!key) break; // trailing garbage: ignore the unterminated tail (lenient like dnsmasq)
    const value = readString(buf, key.next);
    if (!value) break;
    options.push({ name: key.text, value: value.text });
    at = value.next;
  }
  return { opcode, filename: name.text, mode: mode.text.toLowerCase(), options };
}

export function encodeError(code: number, message: string): Buffer {
  const text = Buffer.from(message, 'latin1');
  const out = Buffer.allocUnsafe(5 + text.length);
  out.writeUInt16BE(OP_ERROR, 0);
  out.writeUInt16BE(code, 2);
  text.copy(out, 4);
  out[4 + text.length] = 0;
  return out;
}

export function encodeOack(options: readonly { name: string; value: string }[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0, OP_OACK])];
  for (const o of options) parts.push(Buffer.from(`${o.name}\0${o.value}\0`, 'latin1'));
  return Buffer.concat(parts);
}

export function encodeAck(block: number): Buffer {
  return Buffer.from([0, OP_ACK, (block >> 8) & 0xff, block & 0xff]);
}

/** Escapes control characters and caps length so hostile names are safe to log (S15). */
export function sanitiseName(name: string, max = 128): string {
  let out = '';
  for (const ch of name) {
    const c = ch.charCodeAt(0);
    out += c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0) ? `\\x${c.toString(16).padStart(2, '0')}` : ch;
    if (out.length >= max) return `${out.slice(0, max)}…`;
  }
  return out;
}

/** RFC 1350 netascii (NVT, RFC 764): LF → CR LF, bare CR → CR NUL. Whole-buffer, so no carry bug (T22). */
export function toNetascii(data: Buffer): Buffer {
  let extra = 0;
  for (let i = 0; i < data.length; i++) if (data[i] === 0x0a || data[i] === 0x0d) extra++;
  if (extra === 0) return data;
  const out = Buffer.allocUnsafe(data.length + extra);
  let o = 0;
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    if (b === 0x0a) {
      out[o++] = 0x0d;
      out[o++] = 0x0a;
    } else if (b === 0x0d) {
      out[o++] = 0x0d;
      out[o++] = 0;
    } else out[o++] = b;
  }
  return out;
}
