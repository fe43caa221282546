/**
 * NIC inventory for the interface picker and `pxe-desk interfaces`: os.networkInterfaces for
 * addresses, /sys/class/net (Linux) for link state, type, MTU and speed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { NicInfo } from '../shared/session-types.js';

function readSys(name: string, file: string): string | undefined {
  try {
    return readFileSync(`/sys/class/net/${name}/${file}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function classify(name: string, internal: boolean): NicInfo['type'] {
  if (internal || name === 'lo') return 'loopback';
  if (existsSync(`/sys/class/net/${name}/wireless`) || existsSync(`/sys/class/net/${name}/phy80211`))
    return 'wireless';
  if (/^(tun|tap|wg|ppp|tailscale|zt)/.test(name)) return 'vpn';
  if (process.platform === 'linux') {
    // Physical NICs have a `device` link; bridges, veths, docker etc. do not.
    if (existsSync(`/sys/class/net/${name}/device`)) return 'wired';
    if (/^(veth|docker|br-|virbr|vnet|lxc|cni|flannel)/.test(name)) return 'virtual';
    return existsSync(`/sys/class/net/${name}`) ? 'virtual' : 'unknown';
  }
  return /^(wl|wi-?fi)/i.test(name) ? 'wireless' : 'wired';
}

/** Why a NIC cannot serve PXE clients, or undefined when it can. */
export function unsuitableReason(nic: Omit<NicInfo, 'unsuitable'>): string | undefined {
  if (nic.type === 'loopback') return 'loopback';
  if (!nic.up) return 'link down (no cable?)';
  if (nic.type === 'wireless') return 'Wi-Fi (PXE boots over a cable only)';
  if (!nic.ipv4) return 'no IPv4 address';
  if (nic.type === 'vpn') return 'VPN tunnel';
  // Still selectable (labs, VMs bridged to a real NIC), but rarely what a user means.
  if (nic.type === 'virtual') return 'virtual interface (bridge, veth or container)';
  return undefined;
}

export async function listInterfaces(): Promise<NicInfo[]> {
  const table = networkInterfaces();
  const names = new Set(Object.keys(table));
  if (process.platform === 'linux') {
    try {
      const { readdirSync } = await import('node:fs');
      for (const n of readdirSync('/sys/class/net')) names.add(n);
    } catch {
      /* not Linux sysfs */
    }
  }
  const result: NicInfo[] = [];
  for (const name of [...names].sort()) {
    const entries = table[name] ?? [];
    const v4 = entries.find((e) => e.family === 'IPv4');
    const internal = entries.some((e) => e.internal);
    const operstate = readSys(name, 'operstate');
    const flags = Number.parseInt(readSys(name, 'flags') ?? '', 16);
    // operstate "unknown" is normal for loopback and some virtual links; fall back to IFF_UP.
    const up =
      operstate === undefined
        ? entries.length > 0
        : operstate === 'up' || (operstate === 'unknown' && Number.isFinite(flags) && (flags & 1) === 1);
    const macText = readSys(name, 'address') ?? entries[0]?.mac;
    const mtu = Number(readSys(name, 'mtu'));
    const speed = Number(readSys(name, 'speed'));
    const base: Omit<NicInfo, 'unsuitable'> = {
      name,
      type: classify(name, internal),
      up,
      ...(macText && macText !== '00:00:00:00:00:00' ? { mac: macText.toLowerCase() } : {}),
      ...(Number.isFinite(mtu) && mtu > 0 ? { mtu } : {}),
      ...(Number.isFinite(speed) && speed > 0 ? { speedMbps: speed } : {}),
      ...(v4
        ? { ipv4: { address: v4.address, prefixLength: Number((v4.cidr ?? '/32').split('/')[1]) } }
        : {}),
    };
    const unsuitable = unsuitableReason(base);
    result.push(unsuitable ? { ...base, unsuitable } : base);
  }
  return result;
}
