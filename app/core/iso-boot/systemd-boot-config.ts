/**
 * systemd-boot menus (UEFI only): `loader/loader.conf` and the Boot Loader Specification's Type #1 entries
 * `loader/entries/*.conf` (Boot Loader Specification, "Type #1 Boot Loader Specification Entries" and
 * "Sorting"; systemd-boot's loader.conf(5) for `default` and `timeout`).
 *
 * - An entry file holds `key value` lines (`#` comments): `title`, `version`, `machine-id`, `sort-key`,
 *   `linux`, `initrd` (repeatable, in order), `options` (repeatable, joined with spaces), `efi` (an EFI
 *   program, not Linux), `architecture` (entries for another architecture than x64 are not shown),
 *   `devicetree` (ignored on x86). Paths are absolute from the root of the partition — the ISO's root here.
 * - Order: entries with a `sort-key` first, by sort-key, then machine-id, then version newest first; the
 *   others by file name, newest version first (systemd-boot compares with its version comparison).
 * - Default: loader.conf `default` is a glob over entry ids (file names, with or without `.conf`); the first
 *   match in menu order, else the first entry. `@saved` and the EFI variables are not known here.
 * - Titles that repeat get their version appended, as systemd-boot disambiguates them in the menu.
 */
import {
  isoPath,
  listSafe,
  MAX_ENTRIES,
  readConfig,
  type ConfigBootEntry,
  type ConfigLog,
  type ConfigReader,
  type LoaderMenu,
} from './types.js';

const LOADER_CONF = 'loader/loader.conf';
const ENTRIES_DIR = 'loader/entries';

interface RawEntry {
  readonly id: string;
  readonly path: string;
  readonly keys: Map<string, string[]>;
}

/** `key value` lines; repeated keys keep every value in order. */
function parseKeys(text: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  for (const raw of text.split(/\r?\n|\r/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+)(?:\s+(.*))?$/.exec(line);
    if (!m) continue;
    const k = (m[1] as string).toLowerCase();
    const list = keys.get(k) ?? [];
    list.push((m[2] ?? '').trim());
    keys.set(k, list);
  }
  return keys;
}

/**
 * Version comparison in the spirit of systemd's `strverscmp_improved`: runs of digits compare as numbers,
 * other characters by code point, `~` sorts before anything (pre-releases). Negative when a < b.
 */
export function versionCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const ca = a[i];
    const cb = b[j];
    if (ca === '~' || cb === '~') {
      if (ca !== '~') return 1;
      if (cb !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (ca === undefined) return -1;
    if (cb === undefined) return 1;
    const da = /[0-9]/.test(ca);
    const db = /[0-9]/.test(cb);
    if (da && db) {
      let ea = i;
      while (ea < a.length && /[0-9]/.test(a[ea] as string)) ea++;
      let eb = j;
      while (eb < b.length && /[0-9]/.test(b[eb] as string)) eb++;
      const na = a.slice(i, ea).replace(/^0+/, '');
      const nb = b.slice(j, eb).replace(/^0+/, '');
      if (na.length !== nb.length) return na.length - nb.length;
      if (na !== nb) return na < nb ? -1 : 1;
      i = ea;
      j = eb;
      continue;
    }
    if (da !== db) return da ? 1 : -1;
    if (ca !== cb) return ca < cb ? -1 : 1;
    i++;
    j++;
  }
  return 0;
}

const first = (e: RawEntry, k: string): string | undefined => e.keys.get(k)?.[0];

/** Boot Loader Specification "Sorting" (see the file header). */
function compareEntries(a: RawEntry, b: RawEntry): number {
  const sa = first(a, 'sort-key');
  const sb = first(b, 'sort-key');
  if ((sa === undefined) !== (sb === undefined)) return sa === undefined ? 1 : -1;
  if (sa !== undefined && sb !== undefined) {
    if (sa !== sb) return sa < sb ? -1 : 1;
    const ma = first(a, 'machine-id') ?? '';
    const mb = first(b, 'machine-id') ?? '';
    if (ma !== mb) return ma < mb ? -1 : 1;
    const v = -versionCompare(first(a, 'version') ?? '', first(b, 'version') ?? '');
    if (v !== 0) return v;
  }
  return -versionCompare(a.id, b.id);
}

/** A loader.conf glob (`*`, `?`, `[…]`) as a whole-string matcher. */
function globMatcher(pattern: string): (s: string) => boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${pattern
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  try {
    const rx = new RegExp(`^${re}$`);
    return (s) => rx.test(s);
  } catch {
    return (s) => s === pattern;
  }
}

/**
 * The systemd-boot menu of the image: undefined when it has no `loader/entries/*.conf` (and no loader.conf).
 * Entries that do not boot Linux (`efi`) are left out and noted.
 */
export async function readSystemdBootMenu(
  reader: ConfigReader,
  log: ConfigLog,
): Promise<LoaderMenu | undefined> {
  const names = (await listSafe(reader, ENTRIES_DIR))
    .filter((n) => /\.conf$/i.test(n) && !n.startsWith('.'))
    .sort()
    .slice(0, MAX_ENTRIES + 1);
  if (names.length === 0) return undefined;
  if (names.length > MAX_ENTRIES) {
    log.note({
      code: 'too-many',
      source: 'systemd-boot',
      configPath: ENTRIES_DIR,
      detail: `more than ${MAX_ENTRIES}`,
    });
    names.length = MAX_ENTRIES;
  }
  const loaderText = await readConfig(reader, LOADER_CONF, 'systemd-boot', log);
  const loader = parseKeys(loaderText ?? '');
  const raws: RawEntry[] = [];
  for (const name of names) {
    const path = `${ENTRIES_DIR}/${name}`;
    const text = await readConfig(reader, path, 'systemd-boot', log);
    if (text === undefined) continue;
    raws.push({ id: name, path, keys: parseKeys(text) });
  }
  raws.sort(compareEntries);

  const entries: ConfigBootEntry[] = [];
  const ids: string[] = [];
  for (const e of raws) {
    const arch = first(e, 'architecture')?.toLowerCase();
    if (arch !== undefined && arch !== 'x64') continue; // shown only on that architecture's firmware
    const title = first(e, 'title') || first(e, 'version') || e.id.replace(/\.conf$/i, '');
    const linux = isoPath(first(e, 'linux') ?? '');
    if (!linux) {
      const efi = first(e, 'efi');
      log.note({
        code: efi ? 'not-linux' : 'malformed',
        source: 'systemd-boot',
        configPath: e.path,
        detail: efi ? `"${title}": EFI program ${efi}` : `"${title}": no linux`,
      });
      continue;
    }
    entries.push({
      title,
      group: [],
      kernel: linux,
      initrds: (e.keys.get('initrd') ?? []).map(isoPath).filter(Boolean),
      args: (e.keys.get('options') ?? []).join(' ').replace(/\s+/g, ' ').trim(),
      isDefault: false,
      source: 'systemd-boot',
      configPath: e.path,
      loaderId: e.id.replace(/\.conf$/i, ''),
    });
    ids.push(e.id);
  }
  // Repeated titles get their version, as systemd-boot's menu disambiguates them.
  const withVersion = entries.map((en, i) => {
    const version = first(raws.find((r) => r.id === ids[i]) as RawEntry, 'version');
    const dup = entries.some((o, j) => j !== i && o.title === en.title);
    return dup && version ? { ...en, title: `${en.title} (${version})` } : en;
  });
  const pattern = loader.get('default')?.at(-1);
  let def = 0;
  if (pattern && !pattern.startsWith('@')) {
    const match = globMatcher(pattern);
    const i = ids.findIndex((id) => match(id) || match(id.replace(/\.conf$/i, '')));
    if (i >= 0) def = i;
  }
  const out = withVersion.map((en, i) => (i === def ? { ...en, isDefault: true } : en));
  const t = loader.get('timeout')?.at(-1);
  const seconds = t === undefined ? NaN : Number(t);
  return { entries: out, ...(Number.isFinite(seconds) ? { timeoutSeconds: seconds } : {}) };
}
