/**
 * A minimal, bounded DER reader (ITU-T X.690 §8, §10): just what Authenticode's PKCS#7 needs: TLVs with
 * one-byte tags, definite lengths up to 4 bytes, OIDs, INTEGERs and the X.520 string types. It never
 * recurses on its own (the caller walks a fixed structure) and every read is checked against the enclosing
 * value, so a hostile length can only produce PeError('bad-signature-data').
 * Indefinite lengths (BER, X.690 §8.1.3.6) are refused: Authenticode signatures are DER (the Authenticode
 * spec requires it), and signtool, sbsign and pesign all write DER.
 */
import { PeError } from './pe-error.js';

export interface Tlv {
  /** The identifier octet: class (bits 8-7), constructed (bit 6), tag number (bits 5-1). */
  readonly tag: number;
  /** The contents octets (a view into the input, never a copy). */
  readonly value: Uint8Array;
  /** The whole TLV, header included (what a signature covers, or what openssl would print). */
  readonly whole: Uint8Array;
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Context-specific tag [n], constructed (EXPLICIT or IMPLICIT over a constructed type) or primitive. */
export const ctx = (n: number, constructed = true): number => 0x80 | (constructed ? 0x20 : 0) | n;

/** Most children any one SEQUENCE/SET may have: no certificate or name comes near it. */
const MAX_CHILDREN = 4096;

function bad(message: string): never {
  throw new PeError('bad-signature-data', message);
}

/** Read one TLV starting at `at` in `b`; it must end inside `b`. */
export function readTlv(b: Uint8Array, at: number): Tlv {
  if (at + 2 > b.length) bad(`DER header at ${at} past the end (${b.length})`);
  const tag = b[at] as number;
  // High tag numbers (X.690 §8.1.2.4) never occur in CMS / X.509.
  if ((tag & 0x1f) === 0x1f) bad(`DER multi-byte tag at ${at}`);
  const first = b[at + 1] as number;
  let length: number;
  let header = 2;
  if (first < 0x80) {
    length = first;
  } else {
    const n = first & 0x7f;
    if (n === 0) bad(`indefinite length at ${at} (BER, not DER)`);
    if (n > 4) bad(`length of ${n} octets at ${at}`);
    if (at + 2 + n > b.length) bad(`DER length at ${at} past the end`);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + (b[at + 2 + i] as number);
    header += n;
  }
  const end = at + header + length;
  if (end > b.length) bad(`DER value at ${at} (${length} bytes) past the end (${b.length})`);
  return { tag, value: b.subarray(at + header, end), whole: b.subarray(at, end) };
}

/** The TLVs inside a constructed value, in order. */
export function children(t: Tlv): Tlv[] {
  if ((t.tag & 0x20) === 0) bad(`tag 0x${t.tag.toString(16)} is primitive, expected constructed`);
  const out: Tlv[] = [];
  let at = 0;
  while (at < t.value.length) {
    if (out.length >= MAX_CHILDREN) bad(`more than ${MAX_CHILDREN} elements`);
    const c = readTlv(t.value, at);
    out.push(c);
    at += c.whole.length;
  }
  return out;
}

/** Children of a SEQUENCE/SET (or [n] constructed) with the given tag, checked. */
export function childrenOf(t: Tlv, tag: number, what: string): Tlv[] {
  if (t.tag !== tag) bad(`${what}: tag 0x${t.tag.toString(16)}, expected 0x${tag.toString(16)}`);
  return children(t);
}

/** The only element of a single-element constructed value (an EXPLICIT [n] wrapper). */
export function only(t: Tlv, what: string): Tlv {
  const c = children(t);
  if (c.length !== 1 || !c[0]) bad(`${what}: ${c.length} elements, expected 1`);
  return c[0];
}

/** OBJECT IDENTIFIER contents → dotted form (X.690 §8.19). */
export function oid(t: Tlv): string {
  if (t.tag !== TAG.OID) bad(`tag 0x${t.tag.toString(16)}, expected an OID`);
  const v = t.value;
  if (v.length === 0 || v.length > 64) bad(`OID of ${v.length} bytes`);
  const arcs: number[] = [];
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const byte = v[i] as number;
    if (n > 0x1fffffffffff) bad('OID arc too large');
    n = n * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      if (arcs.length === 0) arcs.push(n < 80 ? Math.floor(n / 40) : 2, n < 80 ? n % 40 : n - 80);
      else arcs.push(n);
      n = 0;
    } else if (i === v.length - 1) {
      bad('OID ends inside an arc');
    }
  }
  return arcs.join('.');
}

/** INTEGER contents as lower-case hex (serial numbers: compared, never used as numbers). */
export function integerHex(t: Tlv): string {
  if (t.tag !== TAG.INTEGER) bad(`tag 0x${t.tag.toString(16)}, expected an INTEGER`);
  return hex(t.value);
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** A directory string (X.520): UTF8String, PrintableString, IA5String, T61String, BMPString, UniversalString. */
export function directoryString(t: Tlv): string | undefined {
  const v = t.value;
  switch (t.tag) {
    case 0x0c: // UTF8String
      return utf8.decode(v);
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x14: // TeletexString: Latin-1 in practice
    case 0x1a: {
      // VisibleString
      let s = '';
      for (const c of v) s += String.fromCharCode(c);
      return s;
    }
    case 0x1e: {
      // BMPString: UCS-2 big-endian
      let s = '';
      for (let i = 0; i + 1 < v.length; i += 2)
        s += String.fromCharCode(((v[i] as number) << 8) | (v[i + 1] as number));
      return s;
    }
    case 0x1c: {
      // UniversalString: UCS-4 big-endian
      let s = '';
      for (let i = 0; i + 3 < v.length; i += 4) {
        const cp =
          (v[i] as number) * 0x1000000 +
          (((v[i + 1] as number) << 16) | ((v[i + 2] as number) << 8) | (v[i + 3] as number));
        s += cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
      }
      return s;
    }
    default:
      return undefined;
  }
}

/** Bytes as lower-case hex. */
export function hex(v: Uint8Array): string {
  let s = '';
  for (const byte of v) s += byte.toString(16).padStart(2, '0');
  return s;
}
