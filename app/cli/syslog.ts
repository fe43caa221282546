/**
 * `--syslog [HOST[:PORT]]`. Without a value: the local syslog socket, through one long-lived
 * `logger` process fed line by line on stdin (Node's dgram has no Unix datagram sockets).
 * With HOST[:PORT]: RFC 3164 datagrams over UDP (default port 514).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import type { LogLevel, LogRecord } from '../shared/runtime.js';

// RFC 5424 §6.2.1 severities; facility daemon (3).
const SEVERITY: Record<LogLevel, number> = { error: 3, warn: 4, info: 6, debug: 7 };
const FACILITY_DAEMON = 3;

export interface SyslogSink {
  write(record: LogRecord): void;
  close(): void;
}

export function parseSyslogTarget(value: string): { host: string; port: number } | undefined {
  if (value === '') return undefined;
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(value);
  if (!m) throw new Error(`--syslog wants HOST[:PORT] (got ${value})`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : 514 };
}

export function formatSyslog(record: LogRecord, hostname = 'pxe-desk'): string {
  const pri = FACILITY_DAEMON * 8 + SEVERITY[record.level];
  const d = new Date(record.time);
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const ts = `${months[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${d.toTimeString().slice(0, 8)}`;
  return `<${pri}>${ts} ${hostname} pxe-desk[${process.pid}]: ${record.source}: ${record.message}`;
}

export function createSyslogSink(value: string): SyslogSink {
  const target = parseSyslogTarget(value);
  if (target) {
    const socket: Socket = createSocket(target.host.includes(':') ? 'udp6' : 'udp4');
    socket.unref();
    return {
      write: (record) => socket.send(formatSyslog(record), target.port, target.host, () => undefined),
      close: () => socket.close(),
    };
  }
  let child: ChildProcess | undefined = spawn('logger', ['-t', 'pxe-desk', '--id=' + String(process.pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  child.on('error', () => (child = undefined));
  child.unref();
  return {
    write: (record) => {
      child?.stdin?.write(`${record.level}: ${record.source}: ${record.message}\n`);
    },
    close: () => {
      child?.stdin?.end();
      child = undefined;
    },
  };
}
