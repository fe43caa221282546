/**
 * `pxe-desk serve` (headless): check the options, start the session, show its events (JSON lines,
 * the live view on a TTY, or plain lines), copy the log to syslog, write the report, stop on a signal.
 * `serve --ui` hands over to serve-ui.ts. Exit codes: cli-shared.ts.
 */
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { locateBootFiles } from '../core/boot-files.js';
import { formatProbe } from '../core/probe.js';
import { renderReport } from '../core/report.js';
import { SessionController } from '../core/session/index.js';
import { createLogger, type LogRecord } from '../shared/runtime.js';
import type { SessionConfig, SessionEvent } from '../shared/session-types.js';
import { parseArgs, secureBootMode, serveHelp, text, type ParsedArgs } from './args.js';
import { CLI_VERSION, EXIT, fail } from './cli-shared.js';
import { buildConfig, ignoredOptions, importNotes, mergeArgs, modeFromArgs } from './config-from-args.js';
import { LineBudget, LiveView } from './live-view.js';
import { createLogFilter, logLevels } from './log-filter.js';
import { serveUi } from './serve-ui.js';
import { CommandSignals } from './signals.js';
import { createSyslogSink, type SyslogSink } from './syslog.js';

/** One plain line (or a few) per event, for stdout that is not a terminal. */
export function formatEvent(e: SessionEvent): string | undefined {
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
      const signed = c.chain === 'signed' ? ' [Secure Boot: signed chain]' : '';
      return `${ts} ${c.mac}${c.ip ? ` ${c.ip}` : ''} [${c.stage}]${signed} ${last?.text ?? ''}${why ? `\n${ts}   diagnosis: ${why.text}${why.fix ? ` (fix: ${why.fix})` : ''}` : ''}`;
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

/** --log-level / --debug / --verbose to a record filter; throws UsageError on a bad level. */
function logFilter(args: ParsedArgs): (record: LogRecord) => boolean {
  // Not text(): a bare --debug / --verbose is '' and means every service.
  const opt = (k: string): string | undefined =>
    typeof args[k] === 'string' ? (args[k] as string) : undefined;
  const logLevel = opt('logLevel');
  const debug = opt('debug');
  const verbose = opt('verbose');
  return createLogFilter(
    logLevels({
      ...(logLevel !== undefined ? { logLevel } : {}),
      ...(debug !== undefined ? { debug } : {}),
      ...(verbose !== undefined ? { verbose } : {}),
    }),
  );
}

/** --syslog [HOST[:PORT]] with PyPXE's --syslog-port; undefined when not asked. Throws on a bad target. */
function syslogFrom(args: ParsedArgs): SyslogSink | undefined {
  if (typeof args.syslog !== 'string') return undefined;
  const port = text(args, 'syslogPort');
  const target =
    port && args.syslog !== '' && !args.syslog.includes(':') ? `${args.syslog}:${port}` : args.syslog;
  return createSyslogSink(target);
}

/** --report FILE: writes the session report (HTML for .html, else JSON); a no-op without the option. */
function reportWriter(reportFile: string | undefined, session: SessionController): () => void {
  return () => {
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
}

/**
 * A native data path option (`--tftp-native`, `--http-native`): a binary to run, or off (false); a named
 * file that does not exist is a usage error that says what to give instead.
 */
function nativeOption(
  args: ParsedArgs,
  key: 'tftpNative' | 'httpNative',
  flag: string,
  binary: string,
): { path: string | false } | { missing: string } | undefined {
  const value = text(args, key);
  if (!value) return undefined;
  if (value === 'off') return { path: false };
  if (!existsSync(resolve(value)))
    return { missing: `${flag} ${value}: no such file (give the ${binary} binary, or off)` };
  return { path: resolve(value) };
}

export async function serve(argv: readonly string[]): Promise<number> {
  let config: SessionConfig;
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
    if (args.help === true) {
      process.stdout.write(serveHelp());
      return EXIT.ok;
    }
    // --ui: the session is configured and started from the browser UI (app/cli/ui-server.ts).
    if (args.ui === true) {
      const secureBoot = args.secureBoot !== undefined ? secureBootMode(args) : undefined;
      return await serveUi(text(args, 'root'), modeFromArgs(args), secureBoot);
    }
    args = mergeArgs(args);
    config = buildConfig(args);
  } catch (error) {
    return fail('serve', error, EXIT.usage);
  }
  for (const note of [...importNotes(args), ...ignoredOptions(args, config.mode)])
    process.stderr.write(`pxe-desk serve: note: ${note}\n`);
  let keep: (record: LogRecord) => boolean;
  try {
    keep = logFilter(args);
  } catch (error) {
    return fail('serve', error, EXIT.usage);
  }
  if (args.printConfig === true) {
    process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
    return EXIT.ok;
  }
  const json = args.json === true;
  const live =
    !json && process.stdout.isTTY === true ? new LiveView((t) => process.stdout.write(t)) : undefined;
  // Plain lines: a flood of new machines is summed up once a second rather than printed line by line.
  const budget = new LineBudget();
  const heldBack = (): void => {
    const more = budget.summary();
    if (more) process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${more}\n`);
  };
  const summaries = !json && !live ? setInterval(heldBack, 1000) : undefined;
  summaries?.unref();
  const write = (e: SessionEvent): void => {
    if (json) process.stdout.write(`${JSON.stringify(e)}\n`);
    else if (live) live.handle(e);
    else {
      if (e.type === 'client' && !budget.admit(e.client.mac)) return;
      const line = formatEvent(e);
      if (line) process.stdout.write(`${line}\n`);
    }
  };
  let syslog: SyslogSink | undefined;
  try {
    syslog = syslogFrom(args);
  } catch (error) {
    return fail('serve', error, EXIT.usage);
  }
  const closeOutputs = (): void => {
    if (summaries) clearInterval(summaries);
    if (!json && !live) heldBack();
    live?.close();
    syslog?.close();
  };
  // In --json mode stdout is for machines: say why on stderr too (plain mode already printed it).
  const failed = (why: string): number => (json ? fail('serve', why, EXIT.startFailed) : EXIT.startFailed);
  const sink = (record: LogRecord): void => {
    if (!keep(record)) return;
    syslog?.write(record);
    write({ type: 'log', record });
  };
  const bootFilesDir = locateBootFiles();
  const helperPath = text(args, 'helperPath');
  // --tftp-native off keeps every TFTP transfer in Node, --http-native off every HTTP body
  // (troubleshooting; the native data paths are the faster default).
  const tftpNative = nativeOption(args, 'tftpNative', '--tftp-native', 'pxe-desk-tftp');
  const httpNative = nativeOption(args, 'httpNative', '--http-native', 'pxe-desk-http');
  for (const o of [tftpNative, httpNative])
    if (o && 'missing' in o) return fail('serve', o.missing, EXIT.usage);
  const session = new SessionController({
    logger: createLogger(sink, 'session'),
    ...(bootFilesDir ? { bootFilesDir } : {}),
    ...(helperPath ? { helperPath: resolve(helperPath) } : {}),
    ...(tftpNative && 'path' in tftpNative ? { nativeTftpPath: tftpNative.path } : {}),
    ...(httpNative && 'path' in httpNative ? { nativeHttpPath: httpNative.path } : {}),
  });
  session.onEvent((e) => {
    if (e.type !== 'log') write(e);
  });
  const writeReport = reportWriter(text(args, 'report'), session);
  // Every signal listener before start(): its "running" line is out before start() resolves.
  const signals = new CommandSignals('serve', {
    // A report asked during start shows the starting session.
    report: writeReport,
    // Engines read the folder per request; the library watcher (when present) reloads menus.
    rescan: () =>
      void session.rescan().then(
        (n) =>
          write({ type: 'warning', message: `SIGHUP: rescanned the netboot folder (${n} boot entries)` }),
        (error: unknown) => write({ type: 'warning', message: `SIGHUP: rescan failed: ${String(error)}` }),
      ),
  });
  const snap = await session.start(config);
  if (snap.state !== 'running') {
    writeReport();
    closeOutputs();
    return failed(snap.error?.message ?? 'failed to start');
  }

  return await new Promise<number>((done) => {
    let stopping = false;
    signals.onStop(() => {
      if (stopping) return;
      stopping = true;
      void session.stop().then(() => {
        writeReport();
        closeOutputs();
        done(EXIT.ok);
      });
    });
    // The session ended by itself (the native helper died; the error line is already out): exit 1 so
    // a supervisor (systemd Restart=on-failure) starts it again.
    session.onEvent((e) => {
      if (e.type !== 'state' || e.snapshot.state !== 'error' || stopping) return;
      stopping = true;
      closeOutputs();
      done(failed(e.snapshot.error?.message ?? 'session failed'));
    });
    signals.running();
  });
}
