/**
 * System Use Sharing Protocol (IEEE P1281 SUSP 1.12) entries in a directory record's system use
 * area, and the Rock Ridge (IEEE P1282 RRIP 1.12) entries the reader uses: NM (alternate name, with
 * CONTINUE across entries and CE continuation areas), PX (POSIX mode), CL/RE (deep directory
 * relocation, RRIP §4.1.5). Continuation areas are bounded: at most MAX_CE per record, never the
 * same area twice, at most MAX_SUSP_BYTES in total.
 */
import { both32, equalsAscii, slice, u8 } from './bytes.js';
import { IsoError } from './iso-error.js';
import { readAt, type IsoSource } from './source.js';

const MAX_CE = 32;
const MAX_SUSP_BYTES = 64 * 1024;
/** RRIP names are bytes; a name longer than this is not a file name (Linux caps at 255). */
const MAX_NAME = 1024;

export interface RockRidge {
  name?: string;
  mode?: number;
  /** CL: this record stands for a directory relocated to this logical block. */
  childLink?: number;
  /** RE: this directory is the relocated copy; it is listed under its CL parent only. */
  relocated?: boolean;
  /** SL: symbolic link target (RRIP §4.1.3), components joined with "/". */
  symlink?: string;
}

/** SUSP SP entry (SUSP §5.3) in the root "." record: Rock Ridge is present; returns len_skp. */
export function findSp(area: Uint8Array): number | undefined {
  if (area.length >= 7 && equalsAscii(area, 0, 'SP') && area[4] === 0xbe && area[5] === 0xef) return area[6];
  return undefined;
}

/** Parse the system use area `sua` (and any CE areas it chains to). */
export async function readRockRidge(src: IsoSource, blockSize: number, sua: Uint8Array): Promise<RockRidge> {
  const out: RockRidge = {};
  const nameParts: Uint8Array[] = [];
  let nameBytes = 0;
  let nameDone = false;
  let sawNm = false;
  const sl: SlState = { parts: [], current: '' };
  let slDone = false;
  const seen = new Set<string>();
  let total = sua.length;
  let area: Uint8Array | undefined = sua;
  for (let hops = 0; area; hops++) {
    let next: { at: number; len: number } | undefined;
    let p = 0;
    while (p + 4 <= area.length) {
      const len = u8(area, p + 2);
      if (area[p] === 0 && area[p + 1] === 0) break; // padding
      if (len < 4 || p + len > area.length)
        throw new IsoError('bad-record', `SUSP entry length ${len} at ${p}`);
      const e = area.subarray(p, p + len);
      p += len;
      if (equalsAscii(e, 0, 'ST')) break;
      if (equalsAscii(e, 0, 'CE') && len >= 28) {
        next = { at: both32(e, 4) * blockSize + both32(e, 12), len: both32(e, 20) };
      } else if (equalsAscii(e, 0, 'NM') && len >= 5 && !nameDone) {
        const flags = u8(e, 4);
        sawNm = true;
        // RRIP §4.1.4: CURRENT/PARENT flags name "." and ".."; those records are skipped anyway.
        if (flags & 0x06) nameDone = true;
        else {
          nameParts.push(slice(e, 5, len - 5));
          nameBytes += len - 5;
          if (!(flags & 0x01)) nameDone = true;
          if (nameBytes > MAX_NAME) throw new IsoError('too-large', 'Rock Ridge name too long');
        }
      } else if (equalsAscii(e, 0, 'PX') && len >= 12) {
        out.mode = both32(e, 4);
      } else if (equalsAscii(e, 0, 'CL') && len >= 12) {
        out.childLink = both32(e, 4);
      } else if (equalsAscii(e, 0, 'RE')) {
        out.relocated = true;
      } else if (equalsAscii(e, 0, 'SL') && len >= 5 && !slDone) {
        slDone = readSl(e, sl);
      }
    }
    area = undefined;
    if (next) {
      if (hops >= MAX_CE) throw new IsoError('loop', `more than ${MAX_CE} SUSP continuation areas`);
      const key = `${next.at}:${next.len}`;
      if (seen.has(key)) throw new IsoError('loop', `SUSP continuation area at ${next.at} chains to itself`);
      seen.add(key);
      total += next.len;
      if (total > MAX_SUSP_BYTES) throw new IsoError('too-large', 'SUSP continuation areas too large');
      area = await readAt(src, next.at, next.len);
    }
  }
  if (sawNm && nameBytes > 0) out.name = decodeName(nameParts, nameBytes);
  if (sl.parts.length > 0 || sl.current) {
    if (sl.current) sl.parts.push(sl.current);
    const root = sl.parts[0] === '';
    out.symlink = root && sl.parts.length === 1 ? '/' : sl.parts.join('/');
  }
  return out;
}

interface SlState {
  parts: string[];
  /** A component whose record had CONTINUE: its next record adds to it. */
  current: string;
}

/**
 * One SL entry (RRIP §4.1.3.1): flags (bit 0: the link continues in the next SL), then component
 * records of flags (0x01 CONTINUE, 0x02 CURRENT, 0x04 PARENT, 0x08 ROOT), length, content.
 * Returns whether the link is complete.
 */
function readSl(e: Uint8Array, st: SlState): boolean {
  let p = 5;
  while (p + 2 <= e.length) {
    const flags = u8(e, p);
    const n = u8(e, p + 1);
    if (p + 2 + n > e.length) throw new IsoError('bad-record', 'SL component overruns its entry');
    let text: string;
    if (flags & 0x08) text = '';
    else if (flags & 0x04) text = '..';
    else if (flags & 0x02) text = '.';
    else text = decodeName([slice(e, p + 2, n)], n);
    st.current += text;
    if (!(flags & 0x01)) {
      st.parts.push(st.current);
      st.current = '';
    }
    if (st.parts.length > MAX_NAME) throw new IsoError('too-large', 'Rock Ridge symlink too long');
    p += 2 + n;
  }
  return !(u8(e, 4) & 0x01);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** RRIP names are bytes (POSIX); mastering tools write the host's UTF-8. Not UTF-8: read as Latin-1. */
function decodeName(parts: Uint8Array[], n: number): string {
  const all = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  try {
    return utf8.decode(all);
  } catch {
    let s = '';
    for (const c of all) s += String.fromCharCode(c);
    return s;
  }
}

/** RRIP PX file type bits (POSIX st_mode S_IFMT). */
export function modeKind(mode: number): 'file' | 'directory' | 'symlink' | 'other' {
  switch (mode & 0o170000) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'directory';
    case 0o120000:
      return 'symlink';
    default:
      return 'other';
  }
}
