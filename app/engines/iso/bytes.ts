/**
 * Bounds-checked field readers for on-disc structures. Every accessor throws IsoError('bad-record')
 * instead of returning undefined or a RangeError when a field lies past the structure's end.
 */
import { IsoError } from './iso-error.js';

function need(b: Uint8Array, at: number, n: number): void {
  if (at < 0 || at + n > b.length) {
    throw new IsoError('bad-record', `field ${at}+${n} past the structure end ${b.length}`);
  }
}

export function u8(b: Uint8Array, at: number): number {
  need(b, at, 1);
  return b[at] as number;
}
export function u16le(b: Uint8Array, at: number): number {
  need(b, at, 2);
  return (b[at] as number) | ((b[at + 1] as number) << 8);
}
export function u16be(b: Uint8Array, at: number): number {
  need(b, at, 2);
  return ((b[at] as number) << 8) | (b[at + 1] as number);
}
export function u32le(b: Uint8Array, at: number): number {
  need(b, at, 4);
  return (
    ((b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16)) +
    (b[at + 3] as number) * 0x1000000
  );
}
/** A u64 as a number; values past 2^53 are rejected (no image is that large). */
export function u64le(b: Uint8Array, at: number): number {
  const lo = u32le(b, at);
  const hi = u32le(b, at + 4);
  if (hi >= 0x200000) throw new IsoError('bad-record', `64-bit field at ${at} too large`);
  return hi * 0x100000000 + lo;
}
/**
 * ECMA-119 §7.2.3/§7.3.3 both-byte orders: the little-endian half is used. Some mastering tools
 * write a wrong big-endian half; every reader in practice (Linux isofs, libisofs) trusts the LE half.
 */
export const both16 = u16le;
export const both32 = u32le;

export function slice(b: Uint8Array, at: number, n: number): Uint8Array {
  need(b, at, n);
  return b.subarray(at, at + n);
}

/** ASCII / a-characters / d-characters, trailing spaces and NULs removed. */
export function ascii(b: Uint8Array, at: number, n: number): string {
  const s = slice(b, at, n);
  let out = '';
  for (const c of s) out += String.fromCharCode(c);
  return out.replace(/[\s\0]+$/, '');
}

/** UCS-2 big-endian (Joliet names, UDF 16-bit CS0); an odd trailing byte is dropped. */
export function ucs2be(b: Uint8Array, at: number, n: number): string {
  const s = slice(b, at, n);
  let out = '';
  for (let i = 0; i + 1 < s.length; i += 2)
    out += String.fromCharCode(((s[i] as number) << 8) | (s[i + 1] as number));
  return out;
}

export function equalsAscii(b: Uint8Array, at: number, text: string): boolean {
  if (at < 0 || at + text.length > b.length) return false;
  for (let i = 0; i < text.length; i++) if (b[at + i] !== text.charCodeAt(i)) return false;
  return true;
}
