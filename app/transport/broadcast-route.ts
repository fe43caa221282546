/**
 * Which NIC a limited broadcast (255.255.255.255) leaves through when it is sent from a plain socket,
 * and whether that is the NIC the user chose.
 *
 * Why: node:dgram cannot pin a socket to a device (no SO_BINDTODEVICE, no IP_BOUND_IF), and a socket
 * bound to 0.0.0.0 — which DHCP needs to receive broadcasts — sends 255.255.255.255 wherever the
 * routing table says: on Linux a route lookup for the destination, which without an explicit
 * 255.255.255.255 route is the default route's device (a laptop's office Wi-Fi). Plain sockets may
 * therefore serve DHCP/proxyDHCP only while the chosen NIC IS that device; otherwise the native helper
 * (SO_BINDTODEVICE, docs/helper.md) is the only transport that keeps the DISCOVER, OFFER and ACK on the
 * chosen NIC. The lookups here ask the OS the same question the kernel answers when sending.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { TransportError } from '../shared/datagram-transport.js';

/** Where the OS would send 255.255.255.255 from an unpinned socket right now. */
export type BroadcastRoute =
  /** Out of this NIC (OS interface name, as `--iface` spells it). */
  | { readonly kind: 'device'; readonly device: string }
  /** No route: the send would fail (ENETUNREACH), nothing leaves. */
  | { readonly kind: 'none'; readonly detail: string }
  /** The lookup failed or its answer was not understood: treated as "not pinned" (fail closed). */
  | { readonly kind: 'unknown'; readonly detail: string };

/** Injected where tests need another routing table; the default asks the OS (broadcastRouteOf). */
export type BroadcastRouteLookup = () => BroadcastRoute;

/** Why the transport is plain sockets: shapes the fix the refusal names. */
export type UnpinnedReason =
  /** `--helper never` / `helper: 'never'`. */
  | 'policy-never'
  /** `auto` on Linux, helper binary not found at `helperPath`. */
  | 'helper-missing'
  /** No helper exists for this platform (Windows, macOS). */
  | 'no-helper-platform';

export interface PinningContext {
  readonly iface: string;
  readonly reason: UnpinnedReason;
  readonly platform: NodeJS.Platform;
  readonly helperPath?: string;
}

const BUILD_HELPER =
  'build the native helper (node scripts/build.mjs helper) or install a PXE Desk package that ships it';

/**
 * undefined when broadcasts from plain sockets leave only through `ctx.iface`; else the refusal, a
 * TransportError with code 'unpinned-broadcast' whose message names the fix.
 */
export function unpinnedBroadcastError(
  route: BroadcastRoute,
  ctx: PinningContext,
): TransportError | undefined {
  if (route.kind === 'device' && route.device === ctx.iface) return undefined;
  const why =
    ctx.reason === 'policy-never'
      ? 'with --helper never PXE Desk sends through plain sockets, which cannot be pinned to one NIC'
      : ctx.reason === 'helper-missing'
        ? `the native helper was not found${ctx.helperPath ? ` at ${ctx.helperPath}` : ''}, and plain sockets cannot be pinned to one NIC`
        : `on ${ctx.platform} PXE Desk sends through plain sockets, which cannot be pinned to one NIC`;
  const helperFix =
    ctx.platform === 'linux'
      ? ctx.reason === 'policy-never'
        ? 'use the native helper (--helper auto; build it: node scripts/build.mjs helper)'
        : BUILD_HELPER
      : `make ${ctx.iface} the preferred network (lowest interface metric / first in the service order) or disconnect the other network`;
  const where =
    route.kind === 'device'
      ? `DHCP broadcasts (the preflight DISCOVER, OFFERs, ACKs) would leave through ${route.device}, not ${ctx.iface}`
      : route.kind === 'none'
        ? `DHCP broadcasts (the preflight DISCOVER, OFFERs, ACKs) have no route to leave through ${ctx.iface} (${route.detail})`
        : `cannot tell which NIC DHCP broadcasts would leave through (${route.detail}), so they might not stay on ${ctx.iface}`;
  const choose =
    route.kind === 'device' ? `, or choose ${route.device}, the NIC that holds the broadcast route` : '';
  return new TransportError(
    'unpinned-broadcast',
    `${capitalize(where)}: ${why}. Fix: ${helperFix}${choose}.`,
  );
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The OS's answer for this platform; never throws (a failed lookup is `unknown`). */
export function broadcastRouteOf(platform: NodeJS.Platform = process.platform): BroadcastRoute {
  try {
    switch (platform) {
      case 'linux':
        return linuxBroadcastRoute();
      case 'darwin':
        return parseDarwinRouteGet(run('route', ['-n', 'get', '255.255.255.255']));
      case 'win32':
        return parseWindowsRoutePrint(run('route', ['print', '255.255.255.255']), windowsAddressOwners());
      default:
        return { kind: 'unknown', detail: `no broadcast route lookup for ${platform}` };
    }
  } catch (error) {
    return { kind: 'unknown', detail: `route lookup failed: ${errorText(error)}` };
  }
}

function run(command: string, args: readonly string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] });
}

function errorText(error: unknown): string {
  const stderr = (error as { stderr?: unknown }).stderr;
  const text =
    typeof stderr === 'string' && stderr.trim() !== ''
      ? stderr
      : error instanceof Error
        ? error.message
        : String(error);
  // The first line says why (a usage text would swamp the refusal it ends up in).
  return (text.trim().split('\n')[0] ?? '').slice(0, 200);
}

/**
 * `ip route get` runs the kernel's own output route lookup (policy rules, metrics, explicit
 * 255.255.255.255 routes), so it answers exactly what a send from 0.0.0.0 would do. Without iproute2
 * (minimal images), /proc/net/route gives the main table: longest prefix, then lowest metric.
 */
function linuxBroadcastRoute(): BroadcastRoute {
  let out: string;
  try {
    out = run('ip', ['-j', 'route', 'get', '255.255.255.255']);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT') return parseProcNetRoute(readFileSync('/proc/net/route', 'utf8'));
    const text = errorText(error);
    // "RTNETLINK answers: Network is unreachable" / "No route to host" (unreachable route) / "Invalid
    // argument" (blackhole): the kernel would refuse the send, nothing leaves.
    if (/unreachable|no route|invalid argument|prohibit/i.test(text)) return { kind: 'none', detail: text };
    return { kind: 'unknown', detail: text };
  }
  return parseIpRouteGet(out);
}

/** Output of `ip -j route get 255.255.255.255`: `[{"type":"broadcast","dev":"eth0",…}]`. */
export function parseIpRouteGet(json: string): BroadcastRoute {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return { kind: 'unknown', detail: 'ip route get printed no JSON' };
  }
  const first: unknown = Array.isArray(parsed) ? parsed[0] : undefined;
  const dev = typeof first === 'object' && first !== null ? (first as { dev?: unknown }).dev : undefined;
  return typeof dev === 'string' && dev !== ''
    ? { kind: 'device', device: dev }
    : { kind: 'unknown', detail: 'ip route get named no device' };
}

const RTF_UP = 0x1;
const RTF_REJECT = 0x200;

/**
 * /proc/net/route (main table; Destination and Mask are little-endian hex): the route for
 * 255.255.255.255 is the longest matching prefix (an explicit /32 beats the default route), ties
 * broken by the lowest metric. Reject and device-less (`*`, blackhole) routes mean nothing leaves.
 */
export function parseProcNetRoute(text: string): BroadcastRoute {
  let best: { iface: string; bits: number; metric: number; flags: number } | undefined;
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [iface, destHex, , flagsHex, , , metricText, maskHex] = f as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const dest = Number.parseInt(destHex, 16) >>> 0;
    const mask = Number.parseInt(maskHex, 16) >>> 0;
    const flags = Number.parseInt(flagsHex, 16);
    const metric = Number.parseInt(metricText, 10);
    if (![dest, mask, flags, metric].every(Number.isFinite) || (flags & RTF_UP) === 0) continue;
    // 255.255.255.255 & mask === dest: byte order does not matter for an all-ones address.
    if ((0xffffffff & mask) >>> 0 !== dest) continue;
    const bits = popcount(mask);
    if (!best || bits > best.bits || (bits === best.bits && metric < best.metric))
      best = { iface, bits, metric, flags };
  }
  if (!best) return { kind: 'none', detail: 'no route matches 255.255.255.255 in /proc/net/route' };
  if ((best.flags & RTF_REJECT) !== 0 || best.iface === '*')
    return { kind: 'none', detail: 'the route for 255.255.255.255 rejects or drops it' };
  return { kind: 'device', device: best.iface };
}

function popcount(n: number): number {
  let bits = 0;
  for (let v = n >>> 0; v !== 0; v >>>= 1) bits += v & 1;
  return bits;
}

/** `route -n get 255.255.255.255` on macOS: the line `interface: en0`. */
export function parseDarwinRouteGet(text: string): BroadcastRoute {
  const dev = /^\s*interface:\s*(\S+)\s*$/m.exec(text)?.[1];
  return dev ? { kind: 'device', device: dev } : { kind: 'unknown', detail: 'route get named no interface' };
}

/**
 * `route print 255.255.255.255` on Windows lists one on-link 255.255.255.255/32 route per interface
 * (by its address) with a metric; the lowest metric wins. A tie cannot be decided from the table, so
 * it is `unknown` (fail closed). `owners` maps an interface address to its name (os.networkInterfaces).
 */
export function parseWindowsRoutePrint(text: string, owners: ReadonlyMap<string, string>): BroadcastRoute {
  const routes: { address: string; metric: number }[] = [];
  for (const m of text.matchAll(
    /^\s*255\.255\.255\.255\s+255\.255\.255\.255\s+\S+\s+(\d{1,3}(?:\.\d{1,3}){3})\s+(\d+)\s*$/gm,
  ))
    routes.push({ address: m[1]!, metric: Number(m[2]) });
  if (routes.length === 0) return { kind: 'none', detail: 'no 255.255.255.255 route in the route table' };
  routes.sort((a, b) => a.metric - b.metric);
  const [first, second] = routes as [
    { address: string; metric: number },
    ...{ address: string; metric: number }[],
  ];
  if (second && second.metric === first.metric)
    return { kind: 'unknown', detail: `two 255.255.255.255 routes with metric ${first.metric}` };
  const name = owners.get(first.address);
  return name
    ? { kind: 'device', device: name }
    : { kind: 'unknown', detail: `no interface holds ${first.address}` };
}

function windowsAddressOwners(): Map<string, string> {
  const owners = new Map<string, string>();
  for (const [name, addresses] of Object.entries(networkInterfaces()))
    for (const a of addresses ?? []) if (a.family === 'IPv4') owners.set(a.address, name);
  return owners;
}
