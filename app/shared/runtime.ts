/** Injected time source, so tests can drive timers and timestamps deterministically. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export interface LogRecord {
  readonly time: number;
  readonly level: LogLevel;
  /** Subsystem: 'dhcp', 'proxy', 'tftp', 'http', 'session', 'helper', … */
  readonly source: string;
  readonly message: string;
  readonly fields?: Readonly<Record<string, unknown>>;
}

export interface Logger {
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger whose records carry `source`. */
  child(source: string): Logger;
}

/** Builds a Logger from one sink; used by the session (fan-out to UI, CLI, syslog) and tests (capture). */
export function createLogger(
  sink: (record: LogRecord) => void,
  source = 'pxe-desk',
  clock: Clock = systemClock,
): Logger {
  const log = (level: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    sink(
      fields
        ? { time: clock.now(), level, source, message, fields }
        : { time: clock.now(), level, source, message },
    );
  };
  return loggerFrom(log, (child) => createLogger(sink, child, clock));
}

/** The Logger shape around one `log` function: the level shortcuts and `child` (wrappers reuse it). */
export function loggerFrom(
  log: (level: LogLevel, message: string, fields?: Record<string, unknown>) => void,
  child: (source: string) => Logger,
): Logger {
  return {
    log,
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child,
  };
}

/** Discards everything; the default for library users who pass no logger. */
export const silentLogger: Logger = createLogger(() => undefined);

/** Result shape used at every process boundary (IPC, WebSocket, helper). */
export type Result<T> = { ok: true; value: T } | { ok: false; code: string; message: string };
