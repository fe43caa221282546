/**
 * MAC vendor lookup from the IEEE OUI registry as Debian ships it (ieee-data: /usr/share/ieee-data/oui.txt).
 * Loaded once, off the DISCOVER path: the session calls `load()` while it starts, and a lookup before
 * that finishes reads the file synchronously. Absent file → no vendor (never an error). QEMU's 52:54:00
 * is locally administered and not in the registry, so it is special-cased for the lab.
 *
 * Memory: the file stays one Buffer (5 MB, outside the JS heap) with a small index of where each name
 * is; a name becomes a string only when a MAC with that prefix shows up. A table of 32 000 JS strings
 * (slices that kept the whole file alive as a two-byte string) made the heap three times as large, and
 * V8 lets a heap grow in proportion to what it holds (issue 17: peak RSS under a flood of new MACs).
 */
import { BoundedMemo } from '../shared/bounded-memo.js';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

export const DEFAULT_OUI_FILE = '/usr/share/ieee-data/oui.txt';

const HEX = Buffer.from('(hex)');

/** Where each vendor name is in the registry text: 24-bit prefix → start * 1024 + length. */
export type OuiIndex = Map<number, number>;

function hexDigit(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  const l = b | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
}

/** The "(hex)" lines: `00-22-72   (hex)\t\tAmerican Micro-Fuel Device Corp.` */
export function indexOui(buf: Buffer): OuiIndex {
  const index: OuiIndex = new Map();
  for (let hex = buf.indexOf(HEX); hex >= 0; hex = buf.indexOf(HEX, hex + HEX.length)) {
    const start = buf.lastIndexOf(0x0a, hex) + 1;
    let prefix = 0;
    let ok = hex - start >= 9 && buf[start + 2] === 0x2d && buf[start + 5] === 0x2d;
    for (const at of [0, 1, 3, 4, 6, 7]) {
      const d = ok ? hexDigit(buf[start + at]!) : -1;
      ok = d >= 0;
      prefix = prefix * 16 + d;
    }
    for (let i = start + 8; ok && i < hex; i++) ok = buf[i] === 0x20 || buf[i] === 0x09;
    if (!ok) continue;
    let from = hex + HEX.length;
    let to = buf.indexOf(0x0a, from);
    if (to < 0) to = buf.length;
    while (from < to && (buf[from] === 0x20 || buf[from] === 0x09)) from++;
    while (to > from && (buf[to - 1] === 0x20 || buf[to - 1] === 0x09 || buf[to - 1] === 0x0d)) to--;
    if (to > from && to - from < 1024) index.set(prefix, from * 1024 + (to - from));
  }
  return index;
}

function nameAt(buf: Buffer, at: number): string {
  const start = Math.floor(at / 1024);
  return buf.toString('utf8', start, start + (at % 1024));
}

/** The whole registry as `aa:bb:cc` → vendor (for tests and tools; the session uses the index). */
export function parseOuiText(text: string): Map<string, string> {
  const buf = Buffer.from(text, 'utf8');
  const table = new Map<string, string>();
  for (const [prefix, at] of indexOui(buf)) {
    const hex = prefix.toString(16).padStart(6, '0');
    table.set(`${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4)}`, nameAt(buf, at));
  }
  return table;
}

export interface OuiLookup {
  (mac: string): string | undefined;
  /** Reads and indexes the registry now (idempotent; never rejects). */
  load(): Promise<void>;
}

export function createOuiLookup(file = DEFAULT_OUI_FILE): OuiLookup {
  let registry: { buf: Buffer; index: OuiIndex } | undefined;
  let loading: Promise<void> | undefined;
  const empty = { buf: Buffer.alloc(0), index: new Map() };
  const lookup = (mac: string): string | undefined => {
    const prefix = mac.toLowerCase().slice(0, 8);
    if (prefix === '52:54:00') return 'QEMU virtual NIC';
    if (!registry) {
      try {
        const buf = readFileSync(file);
        registry = { buf, index: indexOui(buf) };
      } catch {
        registry = empty;
      }
    }
    const key = Number.parseInt(prefix.replace(/[:-]/g, ''), 16);
    const held = registry;
    const at = Number.isNaN(key) ? undefined : held.index.get(key);
    if (at === undefined) return undefined;
    // The vendors named lately, one string each (bounded): every record of a vendor's machines shows the
    // same name, and a flood of new MACs kept one decoded copy per record alive (issue 17).
    return names.get(at, (a) => nameAt(held.buf, a));
  };
  const names = new BoundedMemo<number, string>(256);
  lookup.load = (): Promise<void> =>
    (loading ??= readFile(file).then(
      (buf) => {
        registry ??= { buf, index: indexOui(buf) };
      },
      () => {
        registry ??= empty;
      },
    ));
  return lookup;
}
