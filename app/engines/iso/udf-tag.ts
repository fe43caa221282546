/**
 * UDF descriptor tags (ECMA-167 3/7.2) and OSTA CS0 strings (OSTA UDF 2.60 §2.1.1, §2.1.3).
 * A descriptor is used only after its tag passes: identifier, checksum over the 16-byte tag, CRC
 * (CRC-ITU-T, ECMA-167 1/7.2.6) over the descriptor body, and the recorded tag location.
 */
import { u16be, u16le, u32le, u8 } from './bytes.js';
import { IsoError } from './iso-error.js';

/** ECMA-167 tag identifiers used here. */
export const TAG = {
  primaryVolume: 1,
  anchor: 2,
  volumePointer: 3,
  partition: 5,
  logicalVolume: 6,
  terminating: 8,
  fileSet: 256,
  fileIdentifier: 257,
  allocationExtent: 258,
  indirectEntry: 259,
  fileEntry: 261,
  extendedFileEntry: 266,
} as const;

const CRC_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

/** CRC-ITU-T (x^16 + x^12 + x^5 + 1, initial 0), ECMA-167 1/7.2.6. */
export function crc16(b: Uint8Array): number {
  let crc = 0;
  for (const x of b) crc = ((crc << 8) & 0xffff) ^ (CRC_TABLE[((crc >> 8) ^ x) & 0xff] as number);
  return crc;
}

/**
 * Check the tag at the start of `d`; returns the tag identifier. `ids`: accepted identifiers;
 * `location`: the block number the tag must record (skipped when undefined).
 */
export function checkTag(d: Uint8Array, ids: readonly number[], location?: number): number {
  if (d.length < 16) throw new IsoError('bad-tag', 'descriptor shorter than its tag');
  let sum = 0;
  for (let i = 0; i < 16; i++) if (i !== 4) sum = (sum + (d[i] as number)) & 0xff;
  if (sum !== u8(d, 4)) throw new IsoError('bad-tag', 'descriptor tag checksum mismatch');
  const id = u16le(d, 0);
  if (!ids.includes(id)) throw new IsoError('bad-tag', `descriptor tag ${id}, expected ${ids.join('/')}`);
  const version = u16le(d, 2);
  if (version !== 2 && version !== 3) throw new IsoError('bad-tag', `descriptor version ${version}`);
  const crcLen = u16le(d, 10);
  if (16 + crcLen > d.length) throw new IsoError('bad-tag', `descriptor CRC length ${crcLen} past its block`);
  if (crcLen > 0 && crc16(d.subarray(16, 16 + crcLen)) !== u16le(d, 8)) {
    throw new IsoError('bad-tag', `descriptor ${id} CRC mismatch`);
  }
  if (location !== undefined && u32le(d, 12) !== location) {
    throw new IsoError('bad-tag', `descriptor ${id} records location ${u32le(d, 12)}, found at ${location}`);
  }
  return id;
}

/** True when `d` starts with a tag that would pass `checkTag` (probing without throwing). */
export function isTag(d: Uint8Array, ids: readonly number[], location?: number): boolean {
  try {
    checkTag(d, ids, location);
    return true;
  } catch (e) {
    if (e instanceof IsoError) return false;
    throw e;
  }
}

/**
 * OSTA CS0 compressed Unicode (UDF 2.60 §2.1.1): compression ID 8 (one byte per character) or 16
 * (big-endian UTF-16 units); 254/255 are the same as 8/16 for "deleted" names (UDF 2.50+).
 */
export function cs0(b: Uint8Array): string {
  if (b.length === 0) return '';
  const comp = b[0];
  let out = '';
  if (comp === 8 || comp === 254) {
    for (let i = 1; i < b.length; i++) out += String.fromCharCode(b[i] as number);
  } else if (comp === 16 || comp === 255) {
    for (let i = 1; i + 1 < b.length; i += 2) out += String.fromCharCode(u16be(b, i));
  } else {
    throw new IsoError('bad-record', `CS0 compression ID ${String(comp)}`);
  }
  return out;
}

/** A fixed-length dstring (UDF 2.60 §2.1.3): the last byte holds the used length. */
export function dstring(field: Uint8Array): string {
  const used = field[field.length - 1] ?? 0;
  if (used === 0 || used > field.length - 1) return '';
  return cs0(field.subarray(0, used)).replace(/[\s\0]+$/, '');
}
