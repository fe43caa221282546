/**
 * MAC vendor lookup from the IEEE OUI registry as Debian ships it (ieee-data: /usr/share/ieee-data/oui.txt).
 * Loaded once, off the DISCOVER path: the session calls `load()` while it starts (a 5 MB file), and a
 * lookup before that finishes reads it synchronously. Absent file → no vendor (never an error). QEMU's
 * 52:54:00 is locally administered and not in the registry, so it is special-cased for the lab.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

export const DEFAULT_OUI_FILE = '/usr/share/ieee-data/oui.txt';

const OUI_PREFIX = /^[0-9A-F]{2}-[0-9A-F]{2}-[0-9A-F]{2}\s/i;

/** Parses the "(hex)" lines: `00-22-72   (hex)\t\tAmerican Micro-Fuel Device Corp.` */
export function parseOuiText(text: string): Map<string, string> {
  const table = new Map<string, string>();
  // From one "(hex)" to the next (a sixth of the file's lines), not a regex over every line: the table
  // is read while the session starts and should not hold the event loop long.
  for (let hex = text.indexOf('(hex)'); hex >= 0; hex = text.indexOf('(hex)', hex + 5)) {
    const start = text.lastIndexOf('\n', hex) + 1;
    const head = text.slice(start, start + 9);
    if (!OUI_PREFIX.test(head) || text.slice(start + 8, hex).trim() !== '') continue;
    let end = text.indexOf('\n', hex);
    if (end < 0) end = text.length;
    const name = text.slice(hex + 5, end).trim();
    if (name) table.set(`${head.slice(0, 2)}:${head.slice(3, 5)}:${head.slice(6, 8)}`.toLowerCase(), name);
  }
  return table;
}

export interface OuiLookup {
  (mac: string): string | undefined;
  /** Reads and parses the registry now (idempotent; never rejects). */
  load(): Promise<void>;
}

export function createOuiLookup(file = DEFAULT_OUI_FILE): OuiLookup {
  let table: Map<string, string> | undefined;
  let loading: Promise<void> | undefined;
  const lookup = (mac: string): string | undefined => {
    const prefix = mac.toLowerCase().slice(0, 8);
    if (prefix === '52:54:00') return 'QEMU virtual NIC';
    if (!table) {
      try {
        table = parseOuiText(readFileSync(file, 'utf8'));
      } catch {
        table = new Map();
      }
    }
    return table.get(prefix);
  };
  lookup.load = (): Promise<void> =>
    (loading ??= readFile(file, 'utf8').then(
      (text) => {
        table ??= parseOuiText(text);
      },
      () => {
        table ??= new Map();
      },
    ));
  return lookup;
}
