/**
 * `pxe-desk` headless CLI entry. Subcommands: serve, interfaces, probe (see docs/cli.md).
 * Exit codes: 0 ok / clean stop, 1 session failed to start or died, 2 usage or config error.
 */
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { locateBootFiles } from '../core/boot-files.js';
import { importProxyDhcpdIni, importPyPxeJson, isPyPxeJson, type Imported } from '../core/config-import.js';
import {
  checkChainloadUrl,
  ConfigError,
  normalizeMac,
  parseIpv4,
  parsePrefix,
  parseVendorOptions,
} from '../core/config-validate.js';
import { listInterfaces } from '../core/interfaces.js';
import { formatProbe, probeInterface } from '../core/probe.js';
import { foreignLanHooks, renderReport } from '../core/report.js';
import { SessionController, toSessionError } from '../core/session.js';
import type { FirmwareKind } from '../shared/events.js';
import type { PxeMenuConfig, PxeMenuItem } from '../shared/session-types.js';
import { createLogger, type LogRecord } from '../shared/runtime.js';
import type { SessionConfig, SessionEvent, StaticLease } from '../shared/session-types.js';
import { parseArgs, serveHelp, UsageError, type OptSpec, type ParsedArgs } from './args.js';
import { LiveView } from './live-view.js';
import { createLogFilter, logLevels } from './log-filter.js';
import { createSyslogSink, type SyslogSink } from './syslog.js';

export const CLI_VERSION = '0.1.0';

export const EXIT = { ok: 0, startFailed: 1, usage: 2 } as const;

const USAGE = 'usage: pxe-desk <serve|interfaces|probe> [options]   (pxe-desk <command> --help)\n';

const FIRMWARE: readonly FirmwareKind[] = [
  'bios',
  'uefi-ia32',
  'uefi-x64',
  'uefi-arm64',
  'uefi-x64-http',
  'uefi-ia32-http',
  'uefi-arm64-http',
];

function readJson(path: string): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new UsageError(`${path} must hold a JSON object`);
  return data as Record<string, unknown>;
}

function num(args: ParsedArgs, key: string): number | undefined {
  // JSON config files may hold numbers where flags hold strings.
  const v: unknown = args[key];
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UsageError(`${key}: "${v}" is not a whole number`);
  return n;
}

function text(args: ParsedArgs, key: string): string | undefined {
  const v = args[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function list(args: ParsedArgs, key: string): string[] | undefined {
  const v = args[key];
  return Array.isArray(v) && v.length ? v : undefined;
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
  let base: Imported = {};
  if (typeof args.ini === 'string') {
    let text: string;
    try {
      text = readFileSync(args.ini, 'utf8');
    } catch (error) {
      throw new UsageError(
        `cannot read ${args.ini}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    base = { ...base, ...importProxyDhcpdIni(text) };
  }
  if (typeof args.config === 'string') {
    const data = readJson(args.config);
    const imported = isPyPxeJson(data) ? importPyPxeJson(data) : (data as Imported);
    const notes = [...importNotes(base), ...importNotes(imported)];
    base = { ...base, ...imported, ...(notes.length ? { importNotes: notes } : {}) };
  }
  return { ...base, ...args };
}

/** Turns parsed (merged) CLI options into a SessionConfig; throws UsageError on malformed values. */
export function buildConfig(args: ParsedArgs): SessionConfig {
  let mode = text(args, 'mode');
  if (!mode) {
    if (args.dhcp === true) mode = 'dhcp';
    else if (args.dhcpProxy === true || args.proxyOnly === true) mode = 'proxy';
    else mode = 'files';
  }
  if (mode !== 'proxy' && mode !== 'dhcp' && mode !== 'files')
    throw new UsageError(`--mode must be proxy, dhcp or files (got ${mode})`);
  const helper = text(args, 'helper') ?? 'auto';
  if (helper !== 'auto' && helper !== 'always' && helper !== 'never')
    throw new UsageError(`--helper must be auto, always or never (got ${helper})`);

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
    const dhcp = given(['allow', 'deny', 'whitelist', 'bootFile', 'chainloadUrl']);
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

function formatEvent(e: SessionEvent): string | undefined {
  const ts = new Date().toISOString().slice(11, 19);
  switch (e.type) {
    case 'state': {
      const s = e.snapshot;
      if (s.state === 'error')
        return `${ts} error: ${s.error?.message ?? 'unknown'} [${s.error?.code ?? ''}]`;
      const eps = s.endpoints
        ? ' ' +
          Object.entries(s.endpoints)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')
        : '';
      return `${ts} session ${s.state}${s.state === 'running' ? eps : ''}`;
    }
    case 'client': {
      const c = e.client;
      const last = c.timeline.at(-1);
      const why = c.diagnoses?.[0];
      return `${ts} ${c.mac}${c.ip ? ` ${c.ip}` : ''} [${c.stage}] ${last?.text ?? ''}${why ? `\n${ts}   diagnosis: ${why.text}${why.fix ? ` (fix: ${why.fix})` : ''}` : ''}`;
    }
    case 'warning':
      return `${ts} warning: ${e.message}`;
    case 'log':
      return `${ts} ${e.record.level} ${e.record.source}: ${e.record.message}`;
    case 'probe':
      return formatProbe(e.result)
        .trimEnd()
        .split('\n')
        .map((l) => `${ts} ${l}`)
        .join('\n');
  }
}

async function serve(argv: readonly string[]): Promise<number> {
  let config: SessionConfig;
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
    if (args.help === true) {
      process.stdout.write(serveHelp());
      return EXIT.ok;
    }
    // --ui: the session is configured and started from the browser UI (app/cli/ui-server.ts).
    if (args.ui === true) return await serveUi(text(args, 'root'));
    args = mergeArgs(args);
    config = buildConfig(args);
  } catch (error) {
    process.stderr.write(`pxe-desk serve: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.usage;
  }
  for (const note of [...importNotes(args), ...ignoredOptions(args, config.mode)])
    process.stderr.write(`pxe-desk serve: note: ${note}\n`);
  let keep: (record: LogRecord) => boolean;
  try {
    const opt = (k: string): string | undefined =>
      typeof args[k] === 'string' ? (args[k] as string) : undefined;
    const logLevel = opt('logLevel');
    const debug = opt('debug');
    const verbose = opt('verbose');
    keep = createLogFilter(
      logLevels({
        ...(logLevel !== undefined ? { logLevel } : {}),
        ...(debug !== undefined ? { debug } : {}),
        ...(verbose !== undefined ? { verbose } : {}),
      }),
    );
  } catch (error) {
    process.stderr.write(`pxe-desk serve: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.usage;
  }
  if (args.printConfig === true) {
    process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
    return EXIT.ok;
  }
  const json = args.json === true;
  const live =
    !json && process.stdout.isTTY === true ? new LiveView((t) => process.stdout.write(t)) : undefined;
  const write = (e: SessionEvent): void => {
    if (json) process.stdout.write(`${JSON.stringify(e)}\n`);
    else if (live) live.handle(e);
    else {
      const line = formatEvent(e);
      if (line) process.stdout.write(`${line}\n`);
    }
  };
  let syslog: SyslogSink | undefined;
  if (typeof args.syslog === 'string') {
    const port = text(args, 'syslogPort');
    const target =
      port && args.syslog !== '' && !args.syslog.includes(':') ? `${args.syslog}:${port}` : args.syslog;
    try {
      syslog = createSyslogSink(target);
    } catch (error) {
      process.stderr.write(`pxe-desk serve: ${error instanceof Error ? error.message : String(error)}\n`);
      return EXIT.usage;
    }
  }
  const sink = (record: LogRecord): void => {
    if (!keep(record)) return;
    syslog?.write(record);
    write({ type: 'log', record });
  };
  const bootFilesDir = locateBootFiles();
  const helperPath = text(args, 'helperPath');
  // --tftp-native off keeps every TFTP transfer in Node (troubleshooting; the default is faster).
  const tftpNative = text(args, 'tftpNative');
  if (tftpNative && tftpNative !== 'off' && !existsSync(resolve(tftpNative))) {
    process.stderr.write(
      `pxe-desk serve: --tftp-native ${tftpNative}: no such file (give the pxe-desk-tftp binary, or off)\n`,
    );
    return EXIT.usage;
  }
  const session = new SessionController({
    logger: createLogger(sink, 'session'),
    ...(bootFilesDir ? { bootFilesDir } : {}),
    ...(helperPath ? { helperPath: resolve(helperPath) } : {}),
    ...(tftpNative ? { nativeTftpPath: tftpNative === 'off' ? false : resolve(tftpNative) } : {}),
  });
  session.onEvent((e) => {
    if (e.type !== 'log') write(e);
  });
  const reportFile = text(args, 'report');
  const writeReport = (): void => {
    if (!reportFile) return;
    try {
      const r = renderReport(session.reportData(), Date.now(), CLI_VERSION);
      // Atomic: a ticket tool (or SIGUSR1 reader) never sees half a report.
      const tmp = `${reportFile}.${process.pid}.tmp`;
      writeFileSync(tmp, /\.html?$/i.test(reportFile) ? r.html : r.json);
      renameSync(tmp, reportFile);
      process.stderr.write(`pxe-desk serve: report written to ${reportFile}\n`);
    } catch (error) {
      process.stderr.write(`pxe-desk serve: cannot write the report to ${reportFile}: ${String(error)}\n`);
    }
  };
  // Ctrl-C / SIGTERM during start: the "running" line is already out before start() resolves, so a
  // supervisor (or a test) may signal at once; the signal is held and stops the session once it is up.
  const signals = new StopSignals('serve');
  // SIGUSR1 and SIGHUP too, before the "running" line: without a listener, SIGUSR1 starts Node's
  // inspector and SIGHUP ends the process. A report asked during start shows the starting session.
  process.on('SIGUSR1', writeReport);
  let up = false;
  let rescanHeld = false;
  const rescan = (): void => {
    if (!up) {
      rescanHeld = true;
      return;
    }
    // Rescan: engines read the folder per request; the library watcher (when present) reloads menus.
    void session.rescan().then(
      (n) => write({ type: 'warning', message: `SIGHUP: rescanned the netboot folder (${n} boot entries)` }),
      (error: unknown) => write({ type: 'warning', message: `SIGHUP: rescan failed: ${String(error)}` }),
    );
  };
  process.on('SIGHUP', rescan);
  const snap = await session.start(config);
  if (snap.state !== 'running') {
    writeReport();
    live?.close();
    syslog?.close();
    // In --json mode stdout is for machines: say why on stderr too (plain mode already printed it).
    if (json) process.stderr.write(`pxe-desk serve: ${snap.error?.message ?? 'failed to start'}\n`);
    return EXIT.startFailed;
  }

  return await new Promise<number>((done) => {
    let stopping = false;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      void session.stop().then(() => {
        writeReport();
        live?.close();
        syslog?.close();
        done(EXIT.ok);
      });
    };
    signals.onStop(stop);
    // The session ended by itself (the native helper died; the error line is already out): exit 1 so
    // a supervisor (systemd Restart=on-failure) starts it again.
    session.onEvent((e) => {
      if (e.type !== 'state' || e.snapshot.state !== 'error' || stopping) return;
      stopping = true;
      live?.close();
      syslog?.close();
      if (json) process.stderr.write(`pxe-desk serve: ${e.snapshot.error?.message ?? 'session failed'}\n`);
      done(EXIT.startFailed);
    });
    // SIGUSR1 (installed above) writes the report now, e.g. to attach it to a ticket; SIGHUP rescans.
    up = true;
    if (rescanHeld) rescan();
  });
}

/**
 * SIGINT and SIGTERM for the rest of a command's life: one listener each, installed before the command
 * says it runs and never swapped. A signal libuv has caught but not yet delivered is dropped when its
 * listener is removed (the signal handle closes), so swapping an early listener for the final one lost a
 * Ctrl-C that fell between the "running" line and the swap: the process kept serving (a CI hang). A
 * second signal while stopping exits at once, for an operator who will not wait.
 */
class StopSignals {
  private held = false;
  private stop: (() => void) | undefined;
  private stopping = false;

  constructor(private readonly command: string) {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  /** Runs `stop` on the first signal, at once if one already came. */
  onStop(stop: () => void): void {
    this.stop = stop;
    if (this.held) this.fire();
  }

  private readonly onSignal = (signal: NodeJS.Signals): void => {
    if (this.stopping) {
      process.stderr.write(
        `pxe-desk ${this.command}: ${signal} again, exiting without waiting for the stop\n`,
      );
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    if (this.stop) this.fire();
    else this.held = true;
  };

  private fire(): void {
    this.stopping = true;
    this.stop?.();
  }
}

/** `serve --ui`: web UI on 127.0.0.1 (random port + token) speaking the UI contract over WebSocket. */
async function serveUi(root: string | undefined): Promise<number> {
  const { startUiServer } = await import('./ui-server.js');
  const { createUiApi } = await import('../core/ui-api.js');
  const here = dirname(fileURLToPath(import.meta.url));
  const rendererDir = [join(here, '..', '..', 'renderer'), join(here, '..', '..', 'dist', 'renderer')].find(
    (d) => existsSync(join(d, 'index.html')),
  );
  if (!rendererDir) {
    process.stderr.write(
      'pxe-desk serve --ui: renderer build missing (run `node scripts/build.mjs renderer`)\n',
    );
    return EXIT.usage;
  }
  const logListeners = new Set<(e: SessionEvent) => void>();
  const bootFilesDir = locateBootFiles();
  const session = new SessionController({
    logger: createLogger((record) => logListeners.forEach((l) => l({ type: 'log', record })), 'session'),
    ...(bootFilesDir ? { bootFilesDir } : {}),
  });
  const uiSession = {
    start: (c: SessionConfig) => session.start(c),
    stop: () => session.stop(),
    snapshot: () => session.snapshot(),
    clientAction: (mac: string, a: 'forget' | 'block' | 'unblock') => session.clientAction(mac, a),
    setBootOverride: (mac: string, o: Parameters<SessionController['setBootOverride']>[1]) =>
      session.setBootOverride(mac, o),
    rescan: () => session.rescan(),
    onEvent(l: (e: SessionEvent) => void) {
      logListeners.add(l);
      const off = session.onEvent(l);
      return () => {
        logListeners.delete(l);
        off();
      };
    },
  };
  const server = await startUiServer({
    rendererDir,
    makeApi: (resolveSource) =>
      createUiApi({
        session: uiSession,
        listInterfaces,
        resolveSource,
        appVersion: CLI_VERSION,
        ...foreignLanHooks(session, { appVersion: CLI_VERSION }),
      }),
  });
  const url = root ? `${server.url}&root=${encodeURIComponent(resolve(root))}` : server.url;
  const signals = new StopSignals('serve --ui'); // before the line: a launcher may signal as soon as it reads it
  process.stdout.write(`${JSON.stringify({ type: 'ui', url })}\n`);
  return await new Promise<number>((done) => {
    signals.onStop(() => {
      void session
        .stop()
        .then(() => server.close())
        .then(() => done(EXIT.ok));
    });
  });
}

async function interfaces(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write('usage: pxe-desk interfaces [--json]\n');
    return EXIT.ok;
  }
  const nics = await listInterfaces();
  if (argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(nics)}\n`);
    return EXIT.ok;
  }
  for (const n of nics) {
    const ip = n.ipv4 ? `${n.ipv4.address}/${n.ipv4.prefixLength}` : '-';
    process.stdout.write(
      `${n.name.padEnd(16)} ${n.type.padEnd(9)} ${(n.up ? 'up' : 'down').padEnd(5)} ${ip.padEnd(19)} ${(n.mac ?? '-').padEnd(18)} mtu ${n.mtu ?? '-'}${n.unsuitable ? `  (unsuitable: ${n.unsuitable})` : ''}\n`,
    );
  }
  return EXIT.ok;
}

const PROBE_OPTIONS: readonly OptSpec[] = [
  { key: 'iface', kind: 'string', names: ['--iface'], help: 'network interface to look at (required)' },
  { key: 'json', kind: 'boolean', names: ['--json'], help: 'print the ProbeResult as JSON' },
  { key: 'window', kind: 'string', names: ['--window'], help: 'listen this many ms (default 3500)' },
  { key: 'helper', kind: 'string', names: ['--helper'], help: 'auto | always | never' },
  { key: 'clientPort', kind: 'string', names: ['--client-port'], help: 'DHCP client port (68; tests)' },
  { key: 'help', kind: 'boolean', names: ['--help', '-h'], help: 'this help' },
];

/** `pxe-desk probe --iface NAME`: which DHCP / proxyDHCP servers answer on that NIC (never picks one). */
async function probe(argv: readonly string[]): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv, PROBE_OPTIONS);
  } catch (error) {
    process.stderr.write(`pxe-desk probe: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.usage;
  }
  if (args.help === true) {
    const lines = PROBE_OPTIONS.map((s) => `  ${s.names.join(', ').padEnd(20)} ${s.help}`);
    process.stdout.write(`usage: pxe-desk probe --iface NAME [--json]\n\n${lines.join('\n')}\n`);
    return EXIT.ok;
  }
  const iface = text(args, 'iface');
  const helper = text(args, 'helper') ?? 'auto';
  let windowMs: number | undefined;
  let clientPort: number | undefined;
  try {
    windowMs = num(args, 'window');
    clientPort = num(args, 'clientPort');
  } catch (error) {
    process.stderr.write(`pxe-desk probe: ${(error as Error).message}\n`);
    return EXIT.usage;
  }
  if (!iface) {
    process.stderr.write(
      'pxe-desk probe: --iface is required (PXE Desk never picks a network interface; see `pxe-desk interfaces`)\n',
    );
    return EXIT.usage;
  }
  if (helper !== 'auto' && helper !== 'always' && helper !== 'never') {
    process.stderr.write(`pxe-desk probe: --helper must be auto, always or never (got ${helper})\n`);
    return EXIT.usage;
  }
  try {
    const result = await probeInterface({
      iface,
      helper,
      ...(windowMs !== undefined ? { windowMs } : {}),
      ...(clientPort !== undefined ? { clientPort } : {}),
    });
    process.stdout.write(args.json === true ? `${JSON.stringify(result)}\n` : formatProbe(result));
    return EXIT.ok;
  } catch (error) {
    const e = toSessionError(error);
    process.stderr.write(`pxe-desk probe: ${e.message}\n`);
    return EXIT.startFailed;
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-V') {
    process.stdout.write(`pxe-desk ${CLI_VERSION}\n`);
    return EXIT.ok;
  }
  if (command === 'serve') return serve(rest);
  if (command === 'interfaces') return interfaces(rest);
  if (command === 'probe') return probe(rest);
  process.stdout.write(USAGE);
  return command === undefined || command === '--help' || command === '-h' ? EXIT.ok : EXIT.usage;
}

/** Used by tests: whether a path is a directory. */
export function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
