import { describe, expect, it } from 'vitest';
import {
  contentTypeFor,
  parseRange,
  PathRefused,
  sanitiseRequestPath,
} from '../../app/engines/http/index.js';

describe('parseRange', () => {
  it('parses single, open, suffix and multiple ranges, clamping the end', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual([{ start: 0, end: 9 }]);
    expect(parseRange('bytes=90-', 100)).toEqual([{ start: 90, end: 99 }]);
    expect(parseRange('bytes=-10', 100)).toEqual([{ start: 90, end: 99 }]);
    expect(parseRange('bytes=95-200', 100)).toEqual([{ start: 95, end: 99 }]);
    expect(parseRange('bytes=0-0, 5-6', 100)).toEqual([
      { start: 0, end: 0 },
      { start: 5, end: 6 },
    ]);
    const big = 5 * 1024 ** 3;
    expect(parseRange(`bytes=${4.5 * 1024 ** 3}-`, big)).toEqual([{ start: 4.5 * 1024 ** 3, end: big - 1 }]);
  });
  it('ignores malformed headers and reports unsatisfiable ones', () => {
    expect(parseRange(undefined, 100)).toBeUndefined();
    expect(parseRange('items=0-1', 100)).toBeUndefined();
    expect(parseRange('bytes=5-1', 100)).toBeUndefined();
    expect(parseRange('bytes=a-b', 100)).toBeUndefined();
    expect(
      parseRange(`bytes=${Array.from({ length: 65 }, (_, i) => `${i}-${i}`).join(',')}`, 100),
    ).toBeUndefined();
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-', 0)).toBe('unsatisfiable');
  });
});

describe('sanitiseRequestPath', () => {
  it('returns segments for normal paths and drops the query', () => {
    expect(sanitiseRequestPath('/a/b%20c.iso?x=1')).toEqual(['a', 'b c.iso']);
  });
  it.each([
    ['/../etc/passwd', 400],
    ['/%2e%2e/etc/passwd', 400],
    ['/..%2fetc/passwd', 400],
    ['/%252e%252e/etc/passwd', 400],
    ['/a\\..\\b', 400],
    ['/a%5c..%5cb', 400],
    ['/a%00b', 400],
    ['/%zz', 400],
    ['/.pxe-desk/library.json', 404],
    ['relative', 400],
  ])('refuses %s with %i', (p, status) => {
    try {
      sanitiseRequestPath(p);
      expect.unreachable(p);
    } catch (err) {
      expect(err).toBeInstanceOf(PathRefused);
      expect((err as PathRefused).status).toBe(status);
    }
  });
});

describe('contentTypeFor', () => {
  it('maps boot file types', () => {
    expect(contentTypeFor('x/IPXE.EFI')).toBe('application/efi');
    expect(contentTypeFor('boot.ipxe')).toMatch(/^text\/plain/);
    expect(contentTypeFor('a.iso')).toBe('application/vnd.efi-iso');
    expect(contentTypeFor('a.img')).toBe('application/vnd.efi-img');
    expect(contentTypeFor('vmlinuz')).toBe('application/octet-stream');
  });
});
