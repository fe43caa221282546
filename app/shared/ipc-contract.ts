/**
 * The ONE renderer ⇄ main contract (docs/decisions.md, "UI contract"): the same channels,
 * payloads and results travel over Electron IPC (shell + preload) and over the CLI's `serve --ui`
 * WebSocket. Every request payload is `unknown` until its guard accepts it; main never trusts the renderer
 * (a compromised renderer or a hostile WebSocket peer must not reach the filesystem or the network).
 *
 * Pure: imports only types, so the renderer, the shell, the CLI and tests share it.
 *
 * Over ~400 lines on purpose: one contract file per process boundary, so every channel, payload type
 * and guard of this boundary is read (and versioned, test/fixtures/ipc-contract/) in one place.
 */
import type { FirmwareKind } from './events.js';
import type { LibraryEntry, MacOverride } from './library-types.js';
import type { Result } from './runtime.js';
import type { SecureBootMode } from './secure-boot.js';
import type {
  DhcpPoolConfig,
  NicInfo,
  ProbeResult,
  SessionConfig,
  SessionEvent,
  SessionMode,
  SessionSnapshot,
} from './session-types.js';

/**
 * Bumped whenever a channel, a request or a response changes shape: a window from another build says so
 * instead of half-working. 2: `ui.defaults` (the command line's starting mode and netboot folder).
 * 3: `session.start` takes `secureBoot` (auto | on | off) and `ui.defaults` may carry it; client records carry
 * `chain` / `chainReason`.
 * 4: `library.import` links on request and answers what it linked, `library.update` edits one boot entry of
 * an ISO (`bootEntry`), events `library-import` (copy progress) and `library-changed`.
 * 5: `library.cancelImport` stops the imports into a folder (what was not complete is removed).
 * test/unit/ipc-contract-golden.test.ts holds the channel list and the version together.
 */
export const CONTRACT_VERSION = 5;

/** Upper bounds: a hostile peer must not make main allocate or loop without limit. */
export const LIMITS = {
  string: 4096,
  path: 4096,
  name: 255,
  listItems: 1024,
  importFiles: 256,
  objectKeys: 64,
} as const;

/** A file or kernel command line the renderer wants to attach to a library entry. */
export interface LibraryImportFile {
  /** Absolute path on the machine running main (Electron: from the drop; WebSocket: an upload id). */
  readonly source: string;
  /** Name inside the netboot folder: a plain base name, never a path. */
  readonly name: string;
}

export type ClientAction =
  | { readonly kind: 'boot-entry'; readonly entry: string }
  | { readonly kind: 'boot-once'; readonly entry: string }
  /** Clears a boot-entry / boot-once override: the machine gets the menu again. */
  | { readonly kind: 'boot-menu' }
  | { readonly kind: 'block' }
  | { readonly kind: 'unblock' }
  | { readonly kind: 'forget' };

/** What `library.list` answers: the files, the entries the netboot library recognised, its settings. */
export interface LibraryListing {
  /** False when the folder does not exist (yet): the UI says so instead of showing an empty library. */
  readonly exists: boolean;
  readonly files: readonly { readonly name: string; readonly size: number }[];
  readonly entries: readonly LibraryEntry[];
  readonly defaultEntry?: string;
  /** Per-MAC boot overrides (row actions "boot entry X" / "boot once"). */
  readonly perMac: Readonly<Record<string, MacOverride>>;
  /** Free space in the folder's filesystem (bytes), for the drop-time disk-space check. */
  readonly freeBytes?: number;
}

export interface LibraryUpdate {
  readonly root: string;
  /** Entry id (root-relative path). */
  readonly entry: string;
  /**
   * One boot entry of an ISO (`LibraryEntry.iso.entries[].id`): `cmdline` and `title` then apply to it,
   * not to the ISO's row.
   */
  readonly bootEntry?: string;
  /** Title in the boot menu; '' restores the generated one. */
  readonly title?: string;
  /** Kernel command line (Linux entries); '' clears it. */
  readonly cmdline?: string;
  /** Make this the menu's default entry. */
  readonly makeDefault?: boolean;
}

/**
 * What the command line chose before the window opened (`serve --ui --mode files --root DIR`): the UI's
 * starting values. The UI never guesses a network card from this; it only suggests one (nothing is sent
 * on a card until the user picks it).
 */
export interface UiDefaults {
  readonly mode?: SessionMode;
  /** Absolute path of the netboot folder. */
  readonly root?: string;
  /** `--secure-boot` as given on the command line. */
  readonly secureBoot?: SecureBootMode;
}

/** What `library.import` is asked: the files, and whether to hard-link them instead of copying. */
export interface LibraryImport {
  readonly root: string;
  readonly files: LibraryImportFile[];
  /** Hard links (same disk only; else `cross-device`): nothing copied, the file shared with its source. */
  readonly link?: boolean;
}

/** Progress of one file of a `library.import`, pushed as it copies (at most every 250 ms, then done). */
export interface ImportProgress {
  readonly root: string;
  readonly name: string;
  /** Position of this file in the import (1-based) and how many files it has. */
  readonly index: number;
  readonly count: number;
  readonly bytes: number;
  readonly total: number;
  /** Since this file's copy began (ms): the UI's rate and time left. */
  readonly elapsedMs: number;
  readonly state: 'copying' | 'done' | 'failed' | 'cancelled';
  readonly link?: true;
}

/** Library events pushed to the UI beside the session's. */
export type LibraryEvent =
  | { readonly type: 'library-import'; readonly progress: ImportProgress }
  /** Something in the library at `path` changed on its own (an ISO analysis finished): list it again. */
  | { readonly type: 'library-changed'; readonly path: string };

/** Request and response of every channel. `void` requests carry `null`. */
export interface Channels {
  'app.version': { req: null; res: { contract: number; app: string } };
  /** The UI's starting mode and folder as given on the command line (empty in the desktop app). */
  'ui.defaults': { req: null; res: UiDefaults };
  'interfaces.list': { req: null; res: NicInfo[] };
  'session.snapshot': { req: null; res: SessionSnapshot };
  'session.start': { req: SessionConfig; res: SessionSnapshot };
  'session.stop': { req: null; res: SessionSnapshot };
  'client.action': { req: { mac: string; action: ClientAction }; res: null };
  'library.list': { req: { root: string }; res: LibraryListing };
  /** Copies (or links) dropped files into the folder; progress comes as `library-import` events. */
  'library.import': { req: LibraryImport; res: { copied: string[]; linked: string[] } };
  /**
   * Stops the imports into `root` under way: the file being copied is removed (it never had its name), the
   * ones not started are not copied; finished ones stay. The import answers `cancelled`.
   */
  'library.cancelImport': { req: { root: string }; res: null };
  /** Per-entry settings from the library view: title, kernel command line, default entry. */
  'library.update': { req: LibraryUpdate; res: LibraryListing };
  'dialog.pickFolder': { req: null; res: string | null };
  /** Preflight probe on one NIC (issue 10): which DHCP / proxyDHCP servers answer there. */
  'probe.run': { req: { iface: string }; res: ProbeResult };
  /** The session report (NIC, mode, probe, every client's timeline + diagnosis, log) as JSON and HTML. */
  'report.export': { req: null; res: { json: string; html: string } };
}

export type Channel = keyof Channels;
export type Req<C extends Channel> = Channels[C]['req'];
export type Res<C extends Channel> = Channels[C]['res'];

/** Main → renderer push channel. */
export const EVENT_CHANNEL = 'pxe:event';
export type ContractEvent = SessionEvent | LibraryEvent;

/** IPC channel name for a contract channel (namespaced so nothing else collides). */
export const ipcName = (c: Channel): string => `pxe:${c}`;

/** WebSocket frames. */
export interface WsRequest {
  readonly id: number;
  readonly channel: Channel;
  readonly payload: unknown;
}
export type WsFrame =
  | { readonly kind: 'response'; readonly id: number; readonly result: Result<unknown> }
  | { readonly kind: 'event'; readonly event: ContractEvent };

/** The API exposed as `window.pxe` (preload) and by the WebSocket client. */
export interface PxeApi {
  readonly transport: 'ipc' | 'websocket';
  invoke<C extends Channel>(channel: C, payload: Req<C>): Promise<Result<Res<C>>>;
  onEvent(listener: (event: ContractEvent) => void): () => void;
  /**
   * Electron only: the real path of a dropped File (webUtils.getPathForFile), so main copies it
   * without an upload. Absent over WebSocket, where the bytes are uploaded instead.
   */
  pathForFile?(file: unknown): string | undefined;
}

// ---------------------------------------------------------------------------------------------------
// Guards. Each returns an error message (string) or undefined when valid, so main can answer
// `{ ok: false, code: 'invalid-payload', message }` with a reason a developer can act on.

type Check = string | undefined;

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** A plain JSON-like object with a bounded number of keys and no prototype-pollution keys. */
export function isPlainRecord(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  const keys = Object.keys(v);
  if (keys.length > LIMITS.objectKeys) return false;
  return !keys.some((k) => FORBIDDEN_KEYS.has(k));
}

function checkRecord(v: unknown, what: string, allowed: readonly string[]): Check {
  if (!isPlainRecord(v)) return `${what} must be a plain object`;
  const extra = Object.keys(v).find((k) => !allowed.includes(k));
  return extra === undefined ? undefined : `${what}: unknown field "${extra}"`;
}

const isStr = (v: unknown, max: number = LIMITS.string): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= max && !v.includes('\0');

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
export const isIpv4 = (v: unknown): v is string => typeof v === 'string' && IPV4.test(v);
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
export const isMac = (v: unknown): v is string => typeof v === 'string' && MAC.test(v);
/** Linux IFNAMSIZ is 16 (15 + NUL); Windows/macOS names are longer but printable. */
const IFACE = /^[A-Za-z0-9][A-Za-z0-9_.:@ ()-]{0,63}$/;
export const isIfaceName = (v: unknown): v is string => typeof v === 'string' && IFACE.test(v);

/** Absolute path without `..` segments (main resolves it again; this rejects the obvious). */
export function isAbsolutePath(v: unknown): v is string {
  if (!isStr(v, LIMITS.path)) return false;
  const posix = v.startsWith('/');
  const win = /^[A-Za-z]:[\\/]/.test(v);
  if (!posix && !win) return false;
  return !v.split(/[\\/]/).some((seg) => seg === '..');
}

/** A plain file name inside the netboot folder: no separators, no `.`/`..`, no control characters. */
export function isBaseName(v: unknown): v is string {
  if (!isStr(v, LIMITS.name)) return false;
  if (v === '.' || v === '..') return false;
  // eslint-disable-next-line no-control-regex
  return !/[\\/\x00-\x1f]/.test(v);
}

/** A '/'-separated path inside the netboot folder (library entry ids): never absolute, never `..`. */
export function isRelativePath(v: unknown): v is string {
  if (!isStr(v, LIMITS.path)) return false;
  if (v.startsWith('/') || /^[A-Za-z]:/.test(v) || v.includes('\\')) return false;
  // eslint-disable-next-line no-control-regex
  return !/[\x00-\x1f]/.test(v) && !v.split('/').some((seg) => seg === '..' || seg === '.' || seg === '');
}

const isPort = (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535;

function checkStringList(v: unknown, what: string, item: (x: unknown) => boolean): Check {
  if (!Array.isArray(v)) return `${what} must be an array`;
  if (v.length > LIMITS.listItems) return `${what}: too many items (max ${LIMITS.listItems})`;
  return v.every(item) ? undefined : `${what}: invalid item`;
}

/** Record<FirmwareKind, true> so adding a firmware kind in events.ts fails compilation here. */
const FIRMWARE_SET: Record<FirmwareKind, true> = {
  bios: true,
  'uefi-ia32': true,
  'uefi-x64': true,
  'uefi-arm64': true,
  'uefi-x64-http': true,
  'uefi-ia32-http': true,
  'uefi-arm64-http': true,
  unknown: true,
};
const FIRMWARE = Object.keys(FIRMWARE_SET);

function checkPool(v: unknown): Check {
  const bad = checkRecord(v, 'dhcp', [
    'rangeStart',
    'rangeEnd',
    'prefixLength',
    'router',
    'dns',
    'leaseTimeSeconds',
    'staticLeases',
    'leasesFile',
  ]);
  if (bad) return bad;
  const p = v as Record<string, unknown>;
  if (!isIpv4(p.rangeStart) || !isIpv4(p.rangeEnd)) return 'dhcp: range must be two IPv4 addresses';
  if (typeof p.prefixLength !== 'number' || !Number.isInteger(p.prefixLength)) return 'dhcp: prefixLength';
  if (p.prefixLength < 1 || p.prefixLength > 30) return 'dhcp: prefixLength must be 1..30';
  if (p.router !== undefined && !isIpv4(p.router)) return 'dhcp: router must be IPv4';
  if (p.dns !== undefined) {
    const d = checkStringList(p.dns, 'dhcp.dns', isIpv4);
    if (d) return d;
    if ((p.dns as unknown[]).length > 8) return 'dhcp.dns: at most 8 servers';
  }
  if (p.leaseTimeSeconds !== undefined) {
    const t = p.leaseTimeSeconds;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 60 || t > 31_536_000)
      return 'dhcp: leaseTimeSeconds';
  }
  if (p.staticLeases !== undefined) {
    if (!Array.isArray(p.staticLeases) || p.staticLeases.length > LIMITS.listItems)
      return 'dhcp.staticLeases';
    for (const l of p.staticLeases) {
      const lb = checkRecord(l, 'static lease', ['mac', 'ip', 'hostname']);
      if (lb) return lb;
      const r = l as Record<string, unknown>;
      if (!isMac(r.mac) || !isIpv4(r.ip)) return 'static lease: mac/ip';
      if (r.hostname !== undefined && !isStr(r.hostname, 63)) return 'static lease: hostname';
    }
  }
  // The renderer never chooses where leases are written: main derives that (a path is a write primitive).
  if (p.leasesFile !== undefined) return 'dhcp.leasesFile is set by main, not the UI';
  return undefined;
}

const MODES: readonly SessionMode[] = ['proxy', 'dhcp', 'files'];
export const isSessionMode = (v: unknown): v is SessionMode => MODES.includes(v as SessionMode);

export function checkSessionConfig(v: unknown): Check {
  const bad = checkRecord(v, 'config', [
    'mode',
    'iface',
    'address',
    'root',
    'dhcp',
    'allow',
    'deny',
    'bootFiles',
    'ports',
    'helper',
    'overrideForeignDhcp',
    'probeWindowMs',
    'skipProbe',
    'pxeMenu',
    'fileServer',
    'chainloadUrl',
    'vendorOptions',
    'secureBoot',
  ]);
  if (bad) return bad;
  const c = v as Record<string, unknown>;
  if (!isSessionMode(c.mode)) return 'config.mode must be proxy, dhcp or files';
  if (c.iface !== undefined && !isIfaceName(c.iface)) return 'config.iface: invalid interface name';
  if (c.address !== undefined && !isIpv4(c.address)) return 'config.address must be IPv4';
  if (!isAbsolutePath(c.root)) return 'config.root must be an absolute folder path without ".."';
  if (c.mode === 'dhcp' && c.dhcp === undefined) return 'config.dhcp is required in dhcp mode';
  if (c.dhcp !== undefined) {
    const p = checkPool(c.dhcp);
    if (p) return p;
  }
  for (const k of ['allow', 'deny'] as const) {
    if (c[k] !== undefined) {
      const e = checkStringList(c[k], `config.${k}`, isMac);
      if (e) return e;
    }
  }
  if (c.bootFiles !== undefined) {
    const e = checkRecord(c.bootFiles, 'config.bootFiles', FIRMWARE);
    if (e) return e;
    for (const f of Object.values(c.bootFiles as Record<string, unknown>)) {
      // Boot file names are relative to the netboot root: subfolders allowed, never `..` or absolute.
      if (!isStr(f, LIMITS.name) || f.startsWith('/') || f.split(/[\\/]/).includes('..')) {
        return 'config.bootFiles: names must be relative to the netboot folder';
      }
    }
  }
  if (c.ports !== undefined) {
    const e = checkRecord(c.ports, 'config.ports', ['dhcp', 'proxy', 'tftp', 'http', 'client']);
    if (e) return e;
    if (!Object.values(c.ports as Record<string, unknown>).every(isPort)) return 'config.ports: 0..65535';
  }
  if (c.helper !== undefined && !['auto', 'always', 'never'].includes(c.helper as string))
    return 'config.helper';
  if (c.overrideForeignDhcp !== undefined && typeof c.overrideForeignDhcp !== 'boolean') {
    return 'config.overrideForeignDhcp must be boolean';
  }
  if (c.skipProbe !== undefined && typeof c.skipProbe !== 'boolean')
    return 'config.skipProbe must be boolean';
  if (
    c.probeWindowMs !== undefined &&
    (typeof c.probeWindowMs !== 'number' ||
      !Number.isInteger(c.probeWindowMs) ||
      c.probeWindowMs < 100 ||
      c.probeWindowMs > 10_000)
  )
    return 'config.probeWindowMs must be a whole number of ms between 100 and 10000';
  // Shape only here; the session's validation explains what to change (config-validate.ts).
  if (c.fileServer !== undefined && !isIpv4(c.fileServer)) return 'config.fileServer must be IPv4';
  if (c.chainloadUrl !== undefined && (!isStr(c.chainloadUrl, 1024) || /[\s\0]/.test(c.chainloadUrl)))
    return 'config.chainloadUrl: a URL or file name without spaces, up to 1024 characters';
  if (
    c.vendorOptions !== undefined &&
    (!isStr(c.vendorOptions, 1024) || !/^(0x)?[0-9a-f\s:.-]+$/i.test(c.vendorOptions))
  )
    return 'config.vendorOptions: hex bytes (e.g. 06:01:08)';
  if (c.secureBoot !== undefined && !['auto', 'on', 'off'].includes(c.secureBoot as string))
    return 'config.secureBoot must be auto, on or off';
  if (c.pxeMenu !== undefined) return checkPxeMenu(c.pxeMenu);
  return undefined;
}

/** Shape only; sizes that must fit option 43 are checked by the session (fix-it messages). */
function checkPxeMenu(v: unknown): Check {
  const bad = checkRecord(v, 'config.pxeMenu', ['items', 'prompt', 'timeoutSeconds']);
  if (bad) return bad;
  const m = v as Record<string, unknown>;
  if (!Array.isArray(m.items) || m.items.length === 0 || m.items.length > 64) {
    return 'config.pxeMenu.items: 1-64 items';
  }
  for (const item of m.items as unknown[]) {
    const e = checkRecord(item, 'config.pxeMenu item', ['label', 'bootFile', 'local']);
    if (e) return e;
    const it = item as Record<string, unknown>;
    if (!isStr(it.label, 250)) return 'config.pxeMenu item: label of 1-250 characters';
    const f = it.bootFile;
    if (f !== undefined && (!isStr(f, LIMITS.name) || f.startsWith('/') || f.split(/[\\/]/).includes('..'))) {
      return 'config.pxeMenu item: bootFile must be relative to the netboot folder';
    }
    if (it.local !== undefined && typeof it.local !== 'boolean')
      return 'config.pxeMenu item: local is boolean';
  }
  if (m.prompt !== undefined && !isStr(m.prompt, 200)) return 'config.pxeMenu.prompt: 1-200 characters';
  const t = m.timeoutSeconds;
  if (t !== undefined && !(Number.isInteger(t) && (t as number) >= 0 && (t as number) <= 255)) {
    return 'config.pxeMenu.timeoutSeconds: 0-255';
  }
  return undefined;
}

function checkNull(v: unknown): Check {
  return v === null || v === undefined ? undefined : 'this channel takes no payload';
}

function checkClientAction(v: unknown): Check {
  const bad = checkRecord(v, 'payload', ['mac', 'action']);
  if (bad) return bad;
  const p = v as Record<string, unknown>;
  if (!isMac(p.mac)) return 'mac must be lower-case aa:bb:cc:dd:ee:ff';
  const a = p.action;
  if (!isPlainRecord(a)) return 'action must be an object';
  switch (a.kind) {
    case 'boot-entry':
    case 'boot-once':
      return (
        checkRecord(a, 'action', ['kind', 'entry']) ??
        (isRelativePath(a.entry)
          ? undefined
          : 'action.entry must be a library entry id (a path inside the folder)')
      );
    case 'boot-menu':
    case 'block':
    case 'unblock':
    case 'forget':
      return checkRecord(a, 'action', ['kind']);
    default:
      return 'action.kind must be boot-entry, boot-once, boot-menu, block, unblock or forget';
  }
}

function checkProbe(v: unknown): Check {
  return (
    checkRecord(v, 'payload', ['iface']) ??
    (isIfaceName((v as { iface: unknown }).iface) ? undefined : 'iface: invalid interface name')
  );
}

function checkLibraryList(v: unknown): Check {
  return (
    checkRecord(v, 'payload', ['root']) ??
    (isAbsolutePath((v as { root: unknown }).root) ? undefined : 'root')
  );
}

/** Printable text without line breaks (a command line or a menu title ends up in an iPXE script line). */
const isLine = (v: unknown, max: number): v is string =>
  // eslint-disable-next-line no-control-regex
  typeof v === 'string' && v.length <= max && !/[\x00-\x1f\x7f]/.test(v);

function checkLibraryUpdate(v: unknown): Check {
  const bad = checkRecord(v, 'payload', ['root', 'entry', 'bootEntry', 'title', 'cmdline', 'makeDefault']);
  if (bad) return bad;
  const p = v as Record<string, unknown>;
  if (!isAbsolutePath(p.root)) return 'root must be an absolute folder path without ".."';
  if (!isRelativePath(p.entry)) return 'entry must be a library entry id (a path inside the folder)';
  if (p.bootEntry !== undefined && !(isLine(p.bootEntry, 200) && p.bootEntry !== ''))
    return 'bootEntry: the id of one boot entry of the ISO';
  if (p.title !== undefined && !isLine(p.title, 100)) return 'title: one line, at most 100 characters';
  if (p.cmdline !== undefined && !isLine(p.cmdline, 2048))
    return 'cmdline: one line, at most 2048 characters';
  if (p.makeDefault !== undefined && typeof p.makeDefault !== 'boolean') return 'makeDefault must be boolean';
  return undefined;
}

function checkLibraryImport(v: unknown): Check {
  const bad = checkRecord(v, 'payload', ['root', 'files', 'link']);
  if (bad) return bad;
  const p = v as Record<string, unknown>;
  if (!isAbsolutePath(p.root)) return 'root must be an absolute folder path without ".."';
  if (p.link !== undefined && typeof p.link !== 'boolean') return 'link must be boolean';
  if (!Array.isArray(p.files) || p.files.length === 0) return 'files must be a non-empty array';
  if (p.files.length > LIMITS.importFiles) return `files: at most ${LIMITS.importFiles} per import`;
  for (const f of p.files) {
    const e = checkRecord(f, 'file', ['source', 'name']);
    if (e) return e;
    const r = f as Record<string, unknown>;
    if (!isAbsolutePath(r.source)) return 'file.source must be an absolute path without ".."';
    if (!isBaseName(r.name)) return 'file.name must be a plain file name (no folders)';
  }
  return undefined;
}

/** One guard per channel: the compiler makes sure none is missing. */
export const REQUEST_GUARDS: { readonly [C in Channel]: (v: unknown) => Check } = {
  'app.version': checkNull,
  'ui.defaults': checkNull,
  'interfaces.list': checkNull,
  'session.snapshot': checkNull,
  'session.start': checkSessionConfig,
  'session.stop': checkNull,
  'client.action': checkClientAction,
  'library.list': checkLibraryList,
  'library.import': checkLibraryImport,
  'library.cancelImport': checkLibraryList,
  'library.update': checkLibraryUpdate,
  'dialog.pickFolder': checkNull,
  'probe.run': checkProbe,
  'report.export': checkNull,
};

export const CHANNELS = Object.keys(REQUEST_GUARDS) as Channel[];

export const isChannel = (v: unknown): v is Channel =>
  typeof v === 'string' && Object.prototype.hasOwnProperty.call(REQUEST_GUARDS, v);

/** Validates a request; on success the payload is narrowed to the channel's request type. */
export function validateRequest<C extends Channel>(
  channel: C,
  payload: unknown,
): { ok: true; value: Req<C> } | { ok: false; code: 'invalid-payload'; message: string } {
  const err = REQUEST_GUARDS[channel](payload);
  if (err !== undefined) return { ok: false, code: 'invalid-payload', message: `${channel}: ${err}` };
  return { ok: true, value: (payload ?? null) as Req<C> };
}

/** Guards a WebSocket frame from the renderer. */
export function isWsRequest(v: unknown): v is WsRequest {
  if (!isPlainRecord(v)) return false;
  return (
    typeof v.id === 'number' &&
    Number.isSafeInteger(v.id) &&
    v.id >= 0 &&
    isChannel(v.channel) &&
    'payload' in v
  );
}

/** Guards a Result coming back (renderer side, defence in depth against a broken main). */
export function isResult(v: unknown): v is Result<unknown> {
  if (!isPlainRecord(v)) return false;
  if (v.ok === true) return 'value' in v;
  return v.ok === false && typeof v.code === 'string' && typeof v.message === 'string';
}

export type { DhcpPoolConfig };
