import { describe, expect, it } from 'vitest';
import { REFUSAL_ANSWER, splitHttpTarget } from '../../app/engines/files/confine.js';
import { contentTypeFor, parseRange } from '../../app/engines/http/index.js';

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

describe('splitHttpTarget (the shared confinement rule, answered with HTTP statuses)', () => {
  it('returns segments for normal paths and drops the query', () => {
    expect(splitHttpTarget('/a/b%20c.iso?x=1')).toEqual({ ok: true, parts: ['a', 'b c.iso'] });
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
    const split = splitHttpTarget(p);
    if (split.ok) expect.unreachable(p);
    else expect(REFUSAL_ANSWER[split.refusal].http).toBe(status);
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
