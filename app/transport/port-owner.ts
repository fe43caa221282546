/**
 * Who holds a local UDP port (Linux), for "port in use" errors: /proc/net/udp maps the port to socket
 * inodes, and the process with an fd linking to `socket:[inode]` owns it. Only processes we may
 * inspect are found (our own user's, or all as root); otherwise undefined and the caller names the
 * likely services instead. /proc/net/udp is this network namespace's, the same one the helper binds in.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export interface PortOwner {
  readonly pid: number;
  /** `comm` of the process (at most 15 characters, e.g. "dnsmasq", "pxe-desk-helper"). */
  readonly name: string;
}

/** Socket inodes bound to local UDP `port` (any address) in a /proc/net/udp text. */
export function udpInodes(procNetUdp: string, port: number): Set<string> {
  const inodes = new Set<string>();
  for (const line of procNetUdp.split('\n').slice(1)) {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
    const cols = line.trim().split(/\s+/);
    const local = cols[1]?.split(':')[1];
    if (local === undefined || cols[9] === undefined || cols[9] === '0') continue;
    if (Number.parseInt(local, 16) === port) inodes.add(cols[9]);
  }
  return inodes;
}

export function udpPortOwner(port: number, proc = '/proc'): PortOwner | undefined {
  let inodes: Set<string>;
  try {
    inodes = udpInodes(readFileSync(join(proc, 'net', 'udp'), 'utf8'), port);
  } catch {
    return undefined;
  }
  if (inodes.size === 0) return undefined;
  for (const entry of readdirSync(proc)) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(join(proc, entry, 'fd'));
    } catch {
      continue; // not ours to inspect, or gone
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(join(proc, entry, 'fd', fd));
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (!m || !inodes.has(m[1]!)) continue;
      let name = '?';
      try {
        name = readFileSync(join(proc, entry, 'comm'), 'utf8').trim();
      } catch {
        /* exited meanwhile */
      }
      return { pid: Number(entry), name };
    }
  }
  return undefined;
}
