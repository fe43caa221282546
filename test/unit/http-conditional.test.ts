import { describe, expect, it } from 'vitest';
import {
  evaluatePreconditions,
  multipartFraming,
  validatorsOf,
} from '../../app/engines/http/http-conditional.js';

const mtime = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
const v = validatorsOf(4096, mtime, mtime.getTime());

describe('evaluatePreconditions (RFC 9110 §13)', () => {
  it('derives a strong ETag from size and mtime and an HTTP-date', () => {
    expect(v.etag).toBe(`"1000-${mtime.getTime().toString(16)}"`);
    expect(v.lastModified).toBe('Fri, 02 Jan 2026 03:04:05 GMT');
  });
  it('If-Match is strong (412 on a weak or other tag), If-None-Match weak (304)', () => {
    expect(evaluatePreconditions({ 'if-match': `W/${v.etag}` }, v)).toEqual({ answer: 412 });
    expect(evaluatePreconditions({ 'if-match': `"x", ${v.etag}` }, v)).toEqual({ range: undefined });
    expect(evaluatePreconditions({ 'if-none-match': `W/${v.etag}` }, v)).toEqual({ answer: 304 });
    expect(evaluatePreconditions({ 'if-none-match': '*' }, v)).toEqual({ answer: 304 });
  });
  it('If-Modified-Since counts whole seconds and is ignored beside If-None-Match', () => {
    expect(evaluatePreconditions({ 'if-modified-since': v.lastModified }, v)).toEqual({ answer: 304 });
    const before = new Date(mtime.getTime() - 1000).toUTCString();
    expect(evaluatePreconditions({ 'if-modified-since': before }, v)).toEqual({ range: undefined });
    expect(
      evaluatePreconditions({ 'if-modified-since': v.lastModified, 'if-none-match': '"other"' }, v),
    ).toEqual({ range: undefined });
  });
  it('If-Range keeps the Range only on a strong ETag or the exact date', () => {
    const range = 'bytes=0-9';
    expect(evaluatePreconditions({ range, 'if-range': v.etag }, v)).toEqual({ range });
    expect(evaluatePreconditions({ range, 'if-range': v.lastModified }, v)).toEqual({ range });
    expect(evaluatePreconditions({ range, 'if-range': `W/${v.etag}` }, v)).toEqual({ range: undefined });
    expect(evaluatePreconditions({ range, 'if-range': '"stale"' }, v)).toEqual({ range: undefined });
  });
});

describe('multipartFraming (RFC 9110 §14.6)', () => {
  it('frames each part and counts the exact body length', () => {
    const ranges = [
      { start: 0, end: 0 },
      { start: 10, end: 19 },
    ];
    const f = multipartFraming(ranges, 'application/octet-stream', 100, 'B');
    const body = Buffer.concat([
      f.heads[0] as Buffer,
      Buffer.alloc(1),
      f.heads[1] as Buffer,
      Buffer.alloc(10),
      f.tail,
    ]);
    expect(f.total).toBe(body.length);
    expect(body.toString('latin1')).toMatch(
      /^--B\r\nContent-Type: application\/octet-stream\r\nContent-Range: bytes 0-0\/100\r\n\r\n\0\r\n--B\r\n.*bytes 10-19\/100\r\n\r\n\0{10}\r\n--B--\r\n$/s,
    );
  });
});
