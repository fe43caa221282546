/**
 * Conditional requests (RFC 9110 §13) and multipart/byteranges framing (RFC 9110 §14.6) for one file.
 * Pure: headers and the file's validators in, a decision out.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ByteRange } from './http-range.js';

export interface FileValidators {
  /** Strong ETag: size and mtime in hex, quoted. */
  readonly etag: string;
  /** HTTP-date of the mtime. */
  readonly lastModified: string;
  readonly mtimeMs: number;
}

/**
 * `member`: the tag of a file inside an ISO image (iso-members.ts), appended to the image's own
 * size and mtime, so each member of one image version has its own strong ETag and a rewritten image
 * changes them all.
 */
export function validatorsOf(size: number, mtime: Date, mtimeMs: number, member?: string): FileValidators {
  return {
    etag: `"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}${member !== undefined ? `-${member}` : ''}"`,
    lastModified: mtime.toUTCString(),
    mtimeMs,
  };
}

/** Answer 412 or 304 now, or go on with `range` (undefined: send the whole file). */
export type Precondition =
  { readonly answer: 412 | 304 } | { readonly answer?: undefined; readonly range: string | undefined };

export function evaluatePreconditions(headers: IncomingHttpHeaders, v: FileValidators): Precondition {
  const ifMatch = headers['if-match'];
  if (ifMatch !== undefined && !etagListMatches(ifMatch, v.etag, true)) return { answer: 412 };
  const inm = headers['if-none-match'];
  if (inm !== undefined) {
    if (etagListMatches(inm, v.etag, false)) return { answer: 304 };
  } else {
    const ims = headers['if-modified-since'];
    if (ims !== undefined) {
      const t = Date.parse(ims);
      if (!Number.isNaN(t) && Math.floor(v.mtimeMs / 1000) * 1000 <= t) return { answer: 304 };
    }
  }
  const range = headers.range;
  const ifRangeRaw = headers['if-range'];
  const ifRange = typeof ifRangeRaw === 'string' ? ifRangeRaw : undefined;
  if (range !== undefined && ifRange !== undefined) {
    // RFC 9110 §13.1.5: strong ETag match or exact Last-Modified date; else send the whole file.
    const ok =
      ifRange.startsWith('"') || ifRange.startsWith('W/') ? ifRange === v.etag : ifRange === v.lastModified;
    if (!ok) return { range: undefined };
  }
  return { range };
}

/** RFC 9110 §13.1.1/§13.1.2: If-Match uses strong comparison, If-None-Match weak. */
export function etagListMatches(header: string, etag: string, strong: boolean): boolean {
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => {
    const tag = t.trim();
    if (strong) return tag === etag;
    return tag.replace(/^W\//, '') === etag;
  });
}

/** The part heads, the closing delimiter and the body's exact length (for Content-Length). */
export function multipartFraming(
  ranges: readonly ByteRange[],
  type: string,
  size: number,
  boundary: string,
): { heads: Buffer[]; tail: Buffer; total: number } {
  const heads = ranges.map((r, i) =>
    Buffer.from(
      `${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`,
    ),
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const total =
    heads.reduce((n, h) => n + h.length, 0) +
    ranges.reduce((n, r) => n + r.end - r.start + 1, 0) +
    tail.length;
  return { heads, tail, total };
}
