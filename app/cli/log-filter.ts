/**
 * Per-service log levels, PyPXE style: `--debug dhcp,tftp`, `--verbose http`, `--debug all,-dhcp`,
 * plus `--log-level LEVEL[,service=LEVEL…]`. Each engine logs under its own source (proxy, dhcp, tftp,
 * http, library, session, helper); a record passes when its level reaches its service's threshold.
 *
 * PyPXE semantics: `--debug`/`--verbose` *add* verbosity to the listed services; the others stay quiet
 * (warnings and errors only) unless `--log-level` sets their level. Without any of these flags every
 * service logs at info.
 */
import { LOG_LEVELS, type LogLevel, type LogRecord } from '../shared/runtime.js';
import { UsageError } from './args.js';

/** Services a user can name. `dhcp` covers both DHCP engines (proxy and full), `ipxe` the generated menus. */
export const LOG_SERVICES = ['dhcp', 'tftp', 'http', 'ipxe', 'session', 'helper'] as const;
export type LogService = (typeof LOG_SERVICES)[number];

/** Which service a logger source belongs to. */
export function serviceOf(source: string): LogService {
  switch (source) {
    case 'proxy':
    case 'dhcp':
      return 'dhcp';
    case 'tftp':
      return 'tftp';
    case 'http':
      return 'http';
    case 'library':
    case 'ipxe':
      return 'ipxe';
    case 'helper':
    case 'transport':
      return 'helper';
    default:
      return 'session';
  }
}

export interface LogFilterOptions {
  /** `--log-level`: "info", or "warn,tftp=debug". */
  readonly logLevel?: string;
  /** `--debug [LIST]`: '' means all services. */
  readonly debug?: string;
  /** `--verbose [LIST]`: '' means all services. */
  readonly verbose?: string;
}

function isLevel(v: string): v is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(v);
}

function isService(v: string): v is LogService {
  return (LOG_SERVICES as readonly string[]).includes(v);
}

/** PyPXE service list: "dhcp,tftp", "all", "all,-dhcp". Returns the selected services. */
function selection(list: string, flag: string): Set<LogService> {
  const out = new Set<LogService>();
  const items = list.trim() === '' ? ['all'] : list.split(',').map((s) => s.trim().toLowerCase());
  for (const item of items) {
    if (!item) continue;
    const negate = item.startsWith('-');
    const name = negate ? item.slice(1) : item;
    const names: readonly LogService[] = name === 'all' ? LOG_SERVICES : isService(name) ? [name] : [];
    if (names.length === 0)
      throw new UsageError(`${flag}: unknown service "${name}" (use ${LOG_SERVICES.join(', ')} or all)`);
    for (const n of names) {
      if (negate) out.delete(n);
      else out.add(n);
    }
  }
  return out;
}

/** Level threshold per service; throws UsageError on malformed input. */
export function logLevels(o: LogFilterOptions): Record<LogService, LogLevel> {
  const picked = o.debug !== undefined || o.verbose !== undefined;
  let base: LogLevel = picked ? 'warn' : 'info';
  const explicit: Partial<Record<LogService, LogLevel>> = {};
  for (const part of (o.logLevel ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    const level = eq < 0 ? part : part.slice(eq + 1);
    if (!isLevel(level))
      throw new UsageError(`--log-level: "${level}" is not one of ${LOG_LEVELS.join(', ')}`);
    if (eq < 0) {
      base = level;
      continue;
    }
    const service = part.slice(0, eq);
    if (!isService(service))
      throw new UsageError(
        `--log-level: unknown service "${service}" (use ${LOG_SERVICES.join(', ')}), e.g. --log-level warn,tftp=debug`,
      );
    explicit[service] = level;
  }
  const out = {} as Record<LogService, LogLevel>;
  for (const s of LOG_SERVICES) out[s] = base;
  if (o.verbose !== undefined) for (const s of selection(o.verbose, '--verbose')) out[s] = 'info';
  if (o.debug !== undefined) for (const s of selection(o.debug, '--debug')) out[s] = 'debug';
  return { ...out, ...explicit };
}

/** A predicate for log records under the given thresholds. */
export function createLogFilter(levels: Record<LogService, LogLevel>): (record: LogRecord) => boolean {
  return (record) => LOG_LEVELS.indexOf(record.level) >= LOG_LEVELS.indexOf(levels[serviceOf(record.source)]);
}
