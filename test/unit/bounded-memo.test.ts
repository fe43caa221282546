import { describe, expect, it } from 'vitest';
import { BoundedMemo, ipv4TextAt } from '../../app/shared/bounded-memo.js';

describe('BoundedMemo', () => {
  it('makes a value once per key while held, and starts over at its limit', () => {
    const made: string[] = [];
    const memo = new BoundedMemo<string, string>(2);
    const make = (k: string): string => {
      made.push(k);
      return k.toUpperCase();
    };
    expect(memo.get('a', make)).toBe('A');
    expect(memo.get('a', make)).toBe('A');
    expect(memo.get('b', make)).toBe('B');
    expect(made).toEqual(['a', 'b']);
    expect(memo.get('c', make)).toBe('C'); // the limit: a and b are dropped
    expect(memo.get('a', make)).toBe('A');
    expect(made).toEqual(['a', 'b', 'c', 'a']);
  });
});

describe('ipv4TextAt', () => {
  it('spells the 4 bytes at an offset, high bytes included', () => {
    const b = Uint8Array.from([9, 0, 0, 0, 0, 255, 255, 255, 255, 192, 168, 1, 254, 10, 0, 2, 15]);
    expect(ipv4TextAt(b, 1)).toBe('0.0.0.0');
    expect(ipv4TextAt(b, 5)).toBe('255.255.255.255');
    expect(ipv4TextAt(b, 9)).toBe('192.168.1.254');
    expect(ipv4TextAt(b, 13)).toBe('10.0.2.15');
    expect(ipv4TextAt(b, 13)).toBe('10.0.2.15'); // held
  });
});
