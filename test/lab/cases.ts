/**
 * The lab's case table. `LAB_CASE=<name>[,<name>]` runs only those; `LAB_SERVERS=pxe-desk,dnsmasq`
 * chooses which servers boot each case (default: PXE Desk when its CLI exists, plus the dnsmasq
 * reference for the benchmark line).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, type Firmware, type Mode, type ServerKind } from './lab.js';

export interface LabCase {
  readonly name: string;
  readonly fw: Firmware;
  readonly mode: Mode;
  /** dnsmasq cannot play this case (menu, loop guard, HTTP boot offer); PXE Desk only. */
  readonly pxeDeskOnly?: boolean;
  /** PXE Desk through the native helper (a capability-bearing temp copy), the CLI run as nobody. */
  readonly viaHelper?: boolean;
}

export const CASES: readonly LabCase[] = [
  { name: 'bios-proxy', fw: 'bios', mode: 'proxy' }, // (1)
  { name: 'uefi-proxy', fw: 'uefi', mode: 'proxy' }, // (2)
  { name: 'bios-dhcp', fw: 'bios', mode: 'dhcp' }, // (3)
  { name: 'uefi-dhcp', fw: 'uefi', mode: 'dhcp' }, // (4)
  // (5) native helper, engines unprivileged (dnsmasq plays them as bios/uefi-proxy, for the benchmark line).
  { name: 'bios-proxy-helper', fw: 'bios', mode: 'proxy', viaHelper: true },
  // UEFI through the helper: OVMF's TFTP download of snponly.efi arrives through the helper's port 69.
  { name: 'uefi-proxy-helper', fw: 'uefi', mode: 'proxy', viaHelper: true },
  { name: 'bios-menu', fw: 'bios', mode: 'dhcp', pxeDeskOnly: true }, // (6)
  // (7) loop guard: asserted in EVERY PXE Desk case (timeline + pcap: no iPXE binary after boot.ipxe).
  { name: 'uefi-http-boot', fw: 'uefi-http', mode: 'dhcp', pxeDeskOnly: true }, // (8)
];

export function selected(name: string): boolean {
  const only = process.env.LAB_CASE;
  if (!only) return true;
  return only
    .split(',')
    .map((s) => s.trim())
    .includes(name);
}

/** True once the session engineer's CLI `serve` command has landed. */
export function pxeDeskCliReady(): boolean {
  if (!existsSync(join(REPO, 'app', 'core', 'session', 'session.ts'))) return false;
  // The CLI's serve command lives in serve.ts since main.ts was split by job.
  return ['main.ts', 'serve.ts'].some((f) => {
    try {
      return readFileSync(join(REPO, 'app', 'cli', f), 'utf8').includes('SessionController');
    } catch {
      return false;
    }
  });
}

export function servers(): ServerKind[] {
  const env = process.env.LAB_SERVERS;
  if (env)
    return env
      .split(',')
      .map((s) => s.trim())
      .filter((s): s is ServerKind => s === 'pxe-desk' || s === 'dnsmasq');
  const list: ServerKind[] = [];
  if (pxeDeskCliReady()) list.push('pxe-desk');
  // The dnsmasq reference always runs: it proves the lab itself and gives the benchmark line.
  list.push('dnsmasq');
  return list;
}
