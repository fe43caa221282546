/**
 * `serve` options to a SessionConfig: flags over config files (PyPXE JSON, proxyDHCPd INI, our own
 * JSON), then every value checked. Malformed values throw UsageError (exit 2, docs/cli.md).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { importProxyDhcpdIni, importPyPxeJson, isPyPxeJson, type Imported } from '../core/config-import.js';
import {
  checkChainloadUrl,
  ConfigError,
  normalizeMac,
  parseIpv4,
  parsePrefix,
  parseVendorOptions,
} from '../core/config-validate.js';
import type { FirmwareKind } from '../shared/events.js';
import { FIRMWARE_LABEL } from '../shared/firmware.js';
import type { PxeMenuConfig, PxeMenuItem, SessionConfig, StaticLease } from '../shared/session-types.js';
import { helperPolicy, list, num, secureBootMode, text, UsageError, type ParsedArgs } from './args.js';
import { errorText } from './cli-shared.js';

/** What --boot-file ARCH= accepts: every firmware kind but `unknown`, in the order of the one table. */
const FIRMWARE: readonly FirmwareKind[] = (Object.keys(FIRMWARE_LABEL) as FirmwareKind[]).filter(
  (k) => k !== 'unknown',
);

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${errorText(error)}`);
  }
}

function readJson(path: string): Record<string, unknown> {
  const raw = readText(path);
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${errorText(error)}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new UsageError(`${path} must hold a JSON object`);
  return data as Record<string, unknown>;
}

function readStaticLeases(path: string): StaticLease[] {
  const data = readJson(path);
  // PyPXE static config: { "aa:bb:..": { "ipaddr": "...", ... } }; ours: { "leases": [{mac, ip}] }.
  if (Array.isArray(data.leases))
    return data.leases.filter(
      (l): l is StaticLease =>
        typeof l === 'object' &&
        l !== null &&
        typeof (l as StaticLease).mac === 'string' &&
        typeof (l as StaticLease).ip === 'string',
    );
  const out: StaticLease[] = [];
  for (const [mac, v] of Object.entries(data)) {
    if (typeof v === 'object' && v !== null && typeof (v as { ipaddr?: unknown }).ipaddr === 'string')
      out.push({ mac: normalizeMac(mac) ?? mac, ip: (v as { ipaddr: string }).ipaddr });
  }
  return out;
}

/** Flags over config files: returns the merged option record. */
export function mergeArgs(args: ParsedArgs): ParsedArgs {
  let base: Imported = typeof args.ini === 'string' ? importProxyDhcpdIni(readText(args.ini)) : {};
  if (typeof args.config === 'string') {
    const data = readJson(args.config);
    const imported = isPyPxeJson(data) ? importPyPxeJson(data) : (data as Imported);
    const notes = [...importNotes(base), ...importNotes(imported)];
    base = { ...base, ...imported, ...(notes.length ? { importNotes: notes } : {}) };
  }
  return { ...base, ...args };
}

/**
 * The mode the flags ask for: --mode, or PyPXE's --dhcp / --dhcp-proxy and proxyDHCPd's -p; undefined when
 * none is given. One rule for `serve` and for the window `serve --ui` opens.
 */
export function modeFromArgs(args: ParsedArgs): SessionConfig['mode'] | undefined {
  let mode = text(args, 'mode');
  if (!mode) {
    if (args.dhcp === true) mode = 'dhcp';
    else if (args.dhcpProxy === true || args.proxyOnly === true) mode = 'proxy';
    else return undefined;
  }
  if (mode !== 'proxy' && mode !== 'dhcp' && mode !== 'files')
    throw new UsageError(`--mode must be proxy, dhcp or files (got ${mode})`);
  return mode;
}

/** Turns parsed (merged) CLI options into a SessionConfig; throws UsageError on malformed values. */
export function buildConfig(args: ParsedArgs): SessionConfig {
  const mode = modeFromArgs(args) ?? 'files';
  const helper = helperPolicy(args);
  const secureBoot = secureBootMode(args);

  const bootFiles: Partial<Record<FirmwareKind, string>> = {};
  for (const entry of list(args, 'bootFile') ?? []) {
    const eq = entry.indexOf('=');
    const arch = entry.slice(0, eq) as FirmwareKind;
    if (eq < 1 || !FIRMWARE.includes(arch))
      throw new UsageError(
        `--boot-file wants ARCH=FILE with ARCH one of ${FIRMWARE.join(', ')} (got ${entry})`,
      );
    bootFiles[arch] = entry.slice(eq + 1);
  }
  const netbootFile = text(args, 'netbootFile');
  // PyPXE -i: "PXE boot file name (after iPXE if --ipxe)". With --ipxe, or when it is an iPXE script
  // (which firmware cannot run), it is what iPXE chains to; otherwise the firmware's boot file.
  const netbootIsChain = netbootFile !== undefined && (args.ipxe === true || /\.ipxe$/i.test(netbootFile));
  if (netbootFile && !netbootIsChain) for (const fw of FIRMWARE) bootFiles[fw] ??= netbootFile;

  // PXE boot menu for BIOS ROMs: --menu-item LABEL[=FILE] (repeatable), --menu-local LABEL, prompt, timeout.
  const menuItems: PxeMenuItem[] = (list(args, 'menuItem') ?? []).map((entry) => {
    const eq = entry.indexOf('=');
    return eq < 0 ? { label: entry } : { label: entry.slice(0, eq), bootFile: entry.slice(eq + 1) };
  });
  const menuLocal = text(args, 'menuLocal');
  if (menuLocal) menuItems.push({ label: menuLocal, local: true });
  const menuPrompt = text(args, 'menuPrompt');
  const menuTimeout = num(args, 'menuTimeout');
  if (menuItems.length === 0 && (menuPrompt !== undefined || menuTimeout !== undefined))
    throw new UsageError('--menu-prompt and --menu-timeout need at least one --menu-item');
  const pxeMenu: PxeMenuConfig | undefined =
    menuItems.length > 0
      ? {
          items: menuItems,
          ...(menuPrompt !== undefined ? { prompt: menuPrompt } : {}),
          ...(menuTimeout !== undefined ? { timeoutSeconds: menuTimeout } : {}),
        }
      : undefined;

  const ports: Record<string, number> = {};
  for (const [key, role] of [
    ['httpPort', 'http'],
    ['dhcpPort', 'dhcp'],
    ['proxyPort', 'proxy'],
    ['tftpPort', 'tftp'],
    ['clientPort', 'client'],
  ] as const) {
    const n = num(args, key);
    if (n !== undefined) ports[role] = n;
  }

  let dhcp: SessionConfig['dhcp'];
  if (mode === 'dhcp') {
    let start = text(args, 'rangeStart');
    let end = text(args, 'rangeEnd');
    const range = text(args, 'range');
    if (range) {
      const m = /^\s*([\d.]+)\s*-\s*([\d.]+)\s*$/.exec(range);
      if (!m) throw new UsageError(`--range wants START-END (got ${range})`);
      [start, end] = [m[1]!, m[2]!];
    }
    if (start && end) {
      const subnet = text(args, 'subnet');
      const prefixLength = subnet ? parsePrefix(subnet) : 24;
      if (prefixLength === undefined)
        throw new UsageError(`--subnet wants a mask or /prefix (got ${subnet})`);
      const leaseTime = num(args, 'leaseTime');
      const staticFile = text(args, 'staticLeases');
      const router = text(args, 'router');
      const dns = list(args, 'dns');
      const leasesFile = text(args, 'leasesFile');
      dhcp = {
        rangeStart: start,
        rangeEnd: end,
        prefixLength,
        ...(router ? { router } : {}),
        ...(dns ? { dns } : {}),
        ...(leaseTime !== undefined ? { leaseTimeSeconds: leaseTime } : {}),
        ...(staticFile ? { staticLeases: readStaticLeases(staticFile) } : {}),
        ...(leasesFile ? { leasesFile: resolve(leasesFile) } : {}),
      };
    }
  }
  const iface = text(args, 'iface');
  const address = text(args, 'address');
  if (address !== undefined && parseIpv4(address) === undefined)
    throw new UsageError(`--address wants an IPv4 address (got ${address})`);
  const fileServer = text(args, 'fileServer');
  if (fileServer !== undefined && parseIpv4(fileServer) === undefined)
    throw new UsageError(`-f/--dhcp-fileserver-ip wants an IPv4 address (got ${fileServer})`);
  const chainloadUrl = text(args, 'chainloadUrl') ?? (netbootIsChain ? netbootFile : undefined);
  const vendorOptions = text(args, 'vendorOptions');
  try {
    if (chainloadUrl !== undefined) checkChainloadUrl(chainloadUrl);
    if (vendorOptions !== undefined) parseVendorOptions(vendorOptions);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
  let allow = list(args, 'allow');
  if (args.whitelist === true) {
    // PyPXE --dhcp-whitelist: only the machines listed in the static config are answered.
    const statics = dhcp?.staticLeases ?? readStaticOrFail(text(args, 'staticLeases'));
    allow = [...(allow ?? []), ...statics.map((l) => l.mac)];
  }
  const deny = list(args, 'deny');
  const probeWindowMs = num(args, 'probeWindow');
  return {
    mode,
    root: resolve(text(args, 'root') ?? '.'),
    ...(iface ? { iface } : {}),
    ...(address ? { address } : {}),
    ...(dhcp ? { dhcp } : {}),
    ...(allow ? { allow: allow.map((m) => normalizeMac(m) ?? m) } : {}),
    ...(deny ? { deny: deny.map((m) => normalizeMac(m) ?? m) } : {}),
    ...(Object.keys(bootFiles).length ? { bootFiles } : {}),
    ...(pxeMenu ? { pxeMenu } : {}),
    ...(Object.keys(ports).length ? { ports } : {}),
    helper,
    ...(fileServer ? { fileServer } : {}),
    ...(chainloadUrl ? { chainloadUrl } : {}),
    ...(vendorOptions ? { vendorOptions } : {}),
    ...(args.forceDhcp === true ? { overrideForeignDhcp: true } : {}),
    ...(args.noProbe === true ? { skipProbe: true } : {}),
    ...(probeWindowMs !== undefined ? { probeWindowMs } : {}),
    // Absent means auto (the session's default): a config printed without it stays as short as it was.
    ...(args.secureBoot !== undefined ? { secureBoot } : {}),
  };
}

function readStaticOrFail(path: string | undefined): StaticLease[] {
  if (!path)
    throw new UsageError(
      '--dhcp-whitelist answers only the MACs of --static-config FILE: give that file too',
    );
  return readStaticLeases(path);
}

/** Options given that the chosen mode does not use, so a typo'd mode does not fail silently. */
export function ignoredOptions(args: ParsedArgs, mode: SessionConfig['mode']): string[] {
  const notes: string[] = [];
  const given = (keys: readonly string[]): string[] => keys.filter((k) => args[k] !== undefined);
  if (mode !== 'dhcp') {
    const pool = given([
      'range',
      'rangeStart',
      'rangeEnd',
      'subnet',
      'router',
      'dns',
      'leaseTime',
      'leasesFile',
    ]);
    if (pool.length)
      notes.push(
        `${pool.join(', ')} ignored in ${mode} mode: only --mode dhcp hands out addresses${mode === 'proxy' ? ' (here the site DHCP server does)' : ''}.`,
      );
  }
  if (mode === 'files') {
    const dhcp = given(['allow', 'deny', 'whitelist', 'bootFile', 'chainloadUrl', 'secureBoot']);
    if (dhcp.length)
      notes.push(
        `${dhcp.join(', ')} ignored in files mode: no DHCP answers are sent (use --mode proxy or dhcp).`,
      );
  }
  return notes;
}

/** Notes from importing another tool's config (settings that have no effect here), for stderr. */
export function importNotes(args: ParsedArgs): string[] {
  const v = args.importNotes;
  return Array.isArray(v) ? v : [];
}
