/**
 * What to answer for a GET or HEAD of a confined file, decided from the request's headers and the file's
 * stats alone (pure: no socket, no clock): validators (RFC 9110 §8.8), preconditions (§13), ranges
 * (RFC 9110 §14) and the response head. The server writes the head and hands the body to a sender.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ConfinedFile } from '../files/confine.js';
import { contentTypeFor } from './content-type.js';
import { evaluatePreconditions, multipartFraming, validatorsOf } from './http-conditional.js';
import { parseRange, type ByteRange } from './http-range.js';

export type FileResponse =
  | {
      readonly kind: 'refused';
      readonly status: 412 | 416;
      readonly message: string;
      readonly headers: Record<string, string>;
    }
  | { readonly kind: 'not-modified'; readonly headers: Record<string, string> }
  | {
      readonly kind: 'body';
      readonly status: 200 | 206;
      readonly headers: Record<string, string>;
      /** File (or member) byte ranges, in order. */
      readonly ranges: readonly ByteRange[];
      /** multipart/byteranges framing around the ranges (several ranges asked at once). */
      readonly multipart?: { readonly heads: Buffer[]; readonly tail: Buffer };
      /** Bytes of the body, framing included. */
      readonly total: number;
    };

export function planFileResponse(headers: IncomingHttpHeaders, file: ConfinedFile): FileResponse {
  const member = file.member;
  const size = member ? member.size : file.info.size;
  const v = validatorsOf(file.info.size, file.info.mtime, file.info.mtimeMs, member?.tag);
  const common: Record<string, string> = {
    'Accept-Ranges': 'bytes', // iPXE sanboot needs it to treat the URL as a disk
    ETag: v.etag,
    'Last-Modified': v.lastModified,
  };
  const pre = evaluatePreconditions(headers, v);
  if (pre.answer !== undefined)
    return pre.answer === 412
      ? { kind: 'refused', status: 412, message: 'precondition failed', headers: common }
      : { kind: 'not-modified', headers: common };
  const ranges = parseRange(pre.range, size);
  const type = contentTypeFor(file.requested);
  if (ranges === 'unsatisfiable')
    return {
      kind: 'refused',
      status: 416,
      message: 'range not satisfiable',
      headers: { ...common, 'Content-Range': `bytes */${size}` },
    };
  if (ranges === undefined)
    return {
      kind: 'body',
      status: 200,
      headers: { ...common, 'Content-Type': type, 'Content-Length': String(size) },
      ranges: [{ start: 0, end: size - 1 }],
      total: size,
    };
  if (ranges.length === 1) {
    const r = ranges[0] as ByteRange;
    const len = r.end - r.start + 1;
    return {
      kind: 'body',
      status: 206,
      headers: {
        ...common,
        'Content-Type': type,
        'Content-Length': String(len),
        'Content-Range': `bytes ${r.start}-${r.end}/${size}`,
      },
      ranges: [r],
      total: len,
    };
  }
  const boundary = `pxedesk${Math.random().toString(16).slice(2)}${Date.now().toString(16)}`;
  const { heads, tail, total } = multipartFraming(ranges, type, size, boundary);
  return {
    kind: 'body',
    status: 206,
    headers: {
      ...common,
      'Content-Type': `multipart/byteranges; boundary=${boundary}`,
      'Content-Length': String(total),
    },
    ranges,
    multipart: { heads, tail },
    total,
  };
}
