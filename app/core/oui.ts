/**
 * MAC vendor lookup from the IEEE OUI registry as Debian ships it (ieee-data: /usr/share/ieee-data/oui.txt).
 * Loaded lazily once; absent file → no vendor (never an error). QEMU's 52:54:00 is locally
 * administered and not in the registry, so it is special-cased for the lab.
 */
import { readFileSync } from 'node:fs';

export const DEFAULT_OUI_FILE = '/usr/share/ieee-data/oui.txt';

/** Parses the "(hex)" lines: `00-22-72   (hex)\t\tAmerican Micro-Fuel Device Corp.` */
export function parseOuiText(text: string): Map<string, string> {
  const table = new Map<string, string>();
  for (const m of text.matchAll(/^([0-9A-F]{2})-([0-9A-F]{2})-([0-9A-F]{2})\s+\(hex\)\s+(.+?)\s*$/gim))
    table.set(`${m[1]}:${m[2]}:${m[3]}`.toLowerCase(), m[4]!);
  return table;
}

export function createOuiLookup(file = DEFAULT_OUI_FILE): (mac: string) => string | undefined {
  let table: Map<string, string> | undefined;
  return (mac) => {
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
}
