/**
 * Preflight probe (issue 10; docs/decisions.md, "preflight probe"): before PXE Desk serves on someone else's LAN, look
 * at who already answers there. On the chosen NIC it listens on the DHCP client port (68), sends ONE
 * DHCPDISCOVER from a random locally-administered MAC, collects every DHCP and proxyDHCP server that
 * answers within a bounded window, then RELEASEs every address it was offered.
 *
 * Why the DISCOVER looks like a PXE ROM (option 60 "PXEClient:Arch:…", 93, 94, 97): a proxyDHCP server
 * (dnsmasq `dhcp-range=…,proxy`, WDS, FOG, another PXE Desk) stays silent for plain DHCP clients, and a
 * site server configured with a vendor-class policy sends its boot options (66/67/43) only to PXE
 * clients. One PXE-shaped DISCOVER therefore reveals both: offers with `yiaddr` set come from address
 * servers, offers without `yiaddr` but with 60=PXEClient are proxies (PXE 2.1 §2.2.5).
 *
 * Why a broadcast flag: the probe's MAC is invented, so a server's unicast OFFER to `yiaddr` (addressed
 * at Ethernet level to chaddr) would never reach us; RFC 2131 §4.1 makes servers broadcast when the
 * flag is set.
 *
 * Why RELEASE and never DECLINE: a DISCOVER creates no lease (RFC 2131 §4.3.1: the server "need not
 * reserve" the address), but some servers (ISC dhcpd, Windows) hold the offered address for a short
 * while. A RELEASE (§4.4.6) with ciaddr = the offered address and option 54 = that server frees such a
 * hold at once and is ignored where nothing was held (dnsmasq). A DECLINE would do the opposite: the
 * server marks the address as in use by someone else and quarantines it (§4.3.3) — state on the
 * network. The RELEASE is broadcast (the helper only lets the `dhcp-client` role broadcast the probe's
 * own DISCOVER/RELEASE to :67), and carries option 54 so only the server that offered acts on it.
 */
import { randomBytes } from 'node:crypto';
import { chooseTransport } from '../transport/choose-transport.js';
import type { BroadcastRouteLookup } from '../transport/broadcast-route.js';
import { listInterfaces } from './interfaces.js';
import { netbootClassOf } from '../engines/dhcp/netboot-client.js';
import type { Datagram, DatagramTransport } from '../shared/datagram-transport.js';
import { silentLogger, systemClock, type Clock, type Logger } from '../shared/runtime.js';
import type { NicInfo, ProbeResult, ProbeServer } from '../shared/session-types.js';
import {
  MessageType,
  Opt,
  decode,
  encode,
  macOf,
  messageType,
  subOptions,
  type DhcpMessage,
} from '../engines/dhcp/codec.js';

import { assessProbe } from './probe-policy.js';

// The verdicts on a probe's answers live in probe-policy.ts; re-exported for the probe's callers.
export { NO_DHCP_SERVER, assessProbe, probeRefusal, sendsBootOptions, warningsFor } from './probe-policy.js';

export const DEFAULT_PROBE_WINDOW_MS = 3500;

export interface DhcpProbeOptions {
  readonly transport: DatagramTransport;
  /** NIC name, for the result (the transport is already pinned to it). */
  readonly iface: string;
  /** How long to collect answers (ms, default 3500; clamped to 100–10 000). */
  readonly windowMs?: number;
  /** Server port the DISCOVER goes to (67; tests may mirror the helper's high-port pair). */
  readonly serverPort?: number;
  /** Our own addresses: replies from them are not "another server" (a probe during a running session). */
  readonly ownAddresses?: readonly string[];
  /** Option 93 the DISCOVER carries (default 0 = BIOS x86, what most proxy configs answer). */
  readonly arch?: number;
  readonly clock?: Clock;
  /** Random bytes (MAC, xid, UUID); injected so tests are deterministic. */
  readonly random?: (size: number) => Uint8Array;
  /** Waits `ms`; injected so unit tests need not sleep. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly logger?: Logger;
}

/** A random unicast, locally-administered MAC (IEEE 802: bit 1 of the first octet set, bit 0 clear). */
export function probeMacFrom(bytes: Uint8Array): string {
  const b = [...bytes.subarray(0, 6)];
  while (b.length < 6) b.push(0);
  b[0] = ((b[0] ?? 0) & 0xfc) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

function macBytes(mac: string): Buffer {
  const chaddr = Buffer.alloc(16);
  Buffer.from(mac.split(':').map((h) => parseInt(h, 16))).copy(chaddr);
  return chaddr;
}

function request(mac: string, xid: number): DhcpMessage {
  return {
    op: 1,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid,
    secs: 0,
    flags: 0x8000,
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr: macBytes(mac),
    sname: '',
    file: '',
    options: new Map(),
    hasCookie: true,
  };
}

/** The probe's DISCOVER: shaped like a PXE ROM's so proxyDHCP servers answer too (see file comment). */
export function buildProbeDiscover(mac: string, xid: number, uuid: Uint8Array, arch = 0): Buffer {
  const msg = request(mac, xid);
  const archHex = String(arch).padStart(5, '0');
  msg.options.set(Opt.messageType, Buffer.from([MessageType.Discover]));
  msg.options.set(Opt.maxMessageSize, Buffer.from([0x05, 0xc0])); // 1472
  // Ask for everything we report: mask, router, DNS, 43, 54, 60, 66, 67.
  msg.options.set(Opt.paramRequest, Buffer.from([1, 3, 6, 43, 54, 60, 66, 67, 128, 129, 130]));
  msg.options.set(Opt.clientArch, Buffer.from([arch >> 8, arch & 255]));
  msg.options.set(Opt.clientNdi, Buffer.from([1, 2, 1]));
  msg.options.set(Opt.clientUuid, Buffer.concat([Buffer.from([0]), Buffer.from(uuid.subarray(0, 16))]));
  msg.options.set(Opt.vendorClass, Buffer.from(`PXEClient:Arch:${archHex}:UNDI:002001`, 'latin1'));
  return encode(msg, { maxMessageSize: 1500 });
}

/** RELEASE of `address` back to `serverId` (RFC 2131 §4.4.6; why not DECLINE: file comment). */
export function buildProbeRelease(mac: string, xid: number, address: string, serverId: string): Buffer {
  const msg = request(mac, xid);
  msg.flags = 0;
  msg.ciaddr = address;
  msg.options.set(Opt.messageType, Buffer.from([MessageType.Release]));
  msg.options.set(Opt.serverId, Buffer.from(serverId.split('.').map(Number)));
  return encode(msg);
}

function ipOf(v: Buffer | undefined, at = 0): string | undefined {
  if (!v || v.length < at + 4) return undefined;
  return `${v[at]}.${v[at + 1]}.${v[at + 2]}.${v[at + 3]}`;
}

function prefixOf(mask: Buffer | undefined): number | undefined {
  if (!mask || mask.length !== 4) return undefined;
  const n = mask.readUInt32BE(0);
  // Only contiguous masks are prefixes; anything else is reported as absent rather than guessed.
  for (let p = 0; p <= 32; p++) if ((p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0) === n) return p;
  return undefined;
}

function text(v: Buffer | undefined): string | undefined {
  if (!v || v.length === 0) return undefined;
  const s = v.toString('latin1').replace(/\0+$/, '');
  // Shown in the UI and report: keep it printable (a hostile server controls these bytes).
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 255) || undefined;
}

/**
 * What one reply tells about its server; undefined when it is not an OFFER/ACK (or not a reply).
 * Pure: `source` is where it came from ("ip:port").
 */
export function parseProbeReply(msg: DhcpMessage, source: string): ProbeServer | undefined {
  if (msg.op !== 2) return undefined;
  const type = messageType(msg);
  if (type !== MessageType.Offer && type !== MessageType.Ack) return undefined;
  const serverId = ipOf(msg.options.get(Opt.serverId)) ?? source.split(':')[0] ?? source;
  const vendorClass = text(msg.options.get(Opt.vendorClass));
  const leases = msg.yiaddr !== '0.0.0.0';
  const bootFile =
    text(msg.options.get(Opt.bootFile)) ?? (msg.file ? text(Buffer.from(msg.file, 'latin1')) : undefined);
  const tftp = text(msg.options.get(Opt.tftpServer));
  const pxe = subOptions(msg.options.get(Opt.vendorSpecific));
  // PXE 2.1 §2.4 vendor options: 9 = boot menu, 10 = menu prompt (only meaningful with 60=PXEClient).
  const pxeMenu = netbootClassOf(vendorClass) === 'PXEClient' && (pxe.has(9) || pxe.has(10));
  const dns: string[] = [];
  const dnsRaw = msg.options.get(Opt.dns);
  for (let i = 0; dnsRaw && i + 4 <= dnsRaw.length && dns.length < 4; i += 4) dns.push(ipOf(dnsRaw, i)!);
  const prefixLength = prefixOf(msg.options.get(Opt.subnetMask));
  const router = ipOf(msg.options.get(Opt.router));
  // siaddr alone is not a boot option (many servers fill it with themselves); it counts next to a file.
  const nextServer = tftp ?? (bootFile && msg.siaddr !== '0.0.0.0' ? msg.siaddr : undefined);
  return {
    serverId,
    source,
    kind: leases ? 'dhcp' : 'proxy',
    ...(leases ? { offeredAddress: msg.yiaddr } : {}),
    ...(prefixLength !== undefined ? { prefixLength } : {}),
    ...(router ? { router } : {}),
    ...(dns.length ? { dns } : {}),
    ...(bootFile ? { bootFile } : {}),
    ...(nextServer ? { nextServer } : {}),
    ...(vendorClass ? { vendorClass } : {}),
    ...(pxeMenu ? { pxeMenu } : {}),
  };
}

/** True when a server already hands PXE clients a way to boot (66/67, file, or a PXE menu). */
/** One bounded probe run. Opens the transport's `dhcp-client` channel (no-op when already open). */
export class DhcpProbe {
  private readonly clock: Clock;
  private readonly random: (size: number) => Uint8Array;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly logger: Logger;

  constructor(private readonly opts: DhcpProbeOptions) {
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? ((n) => randomBytes(n));
    this.sleep = opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.logger = (opts.logger ?? silentLogger).child('probe');
  }

  async run(): Promise<ProbeResult> {
    const { transport, iface } = this.opts;
    const windowMs = Math.min(10_000, Math.max(100, this.opts.windowMs ?? DEFAULT_PROBE_WINDOW_MS));
    const serverPort = this.opts.serverPort ?? 67;
    const own = new Set(this.opts.ownAddresses ?? []);
    const probeMac = probeMacFrom(this.random(6));
    const xid = Buffer.from(this.random(4)).readUInt32BE(0);
    const startedAt = this.clock.now();
    const found = new Map<string, ProbeServer>();
    let malformed = 0;
    await transport.open(['dhcp-client']);
    const onDatagram = (d: Datagram): void => {
      if (d.channel !== 'dhcp-client') return;
      let msg: DhcpMessage;
      try {
        msg = decode(d.data);
      } catch {
        malformed++;
        return;
      }
      // Passive part: any server's OFFER/ACK seen on 68 during the window counts, not only ours.
      const server = parseProbeReply(msg, `${d.source.address}:${d.source.port}`);
      if (!server || own.has(server.serverId) || own.has(d.source.address)) return;
      const mine = msg.xid === xid && macOf(msg) === probeMac;
      const key = `${server.serverId}/${server.kind}`;
      const prev = found.get(key);
      // Our own reply carries what a PXE client would be told; someone else's offer only proves the
      // server exists (its address and boot options were meant for that client).
      if (mine) found.set(key, { ...prev, ...server });
      else if (!prev) found.set(key, { serverId: server.serverId, source: server.source, kind: server.kind });
    };
    const off = transport.onDatagram(onDatagram);
    try {
      const uuid = this.random(16);
      await transport.send(
        'dhcp-client',
        { address: '255.255.255.255', port: serverPort },
        buildProbeDiscover(probeMac, xid, uuid, this.opts.arch ?? 0),
      );
      this.logger.info('probe DISCOVER sent', { iface, mac: probeMac, windowMs });
      await this.sleep(windowMs);
    } finally {
      off();
    }
    const servers = [...found.values()].sort((a, b) =>
      a.kind === b.kind ? a.serverId.localeCompare(b.serverId) : a.kind === 'dhcp' ? -1 : 1,
    );
    // Leave nothing behind: release every address offered to the probe MAC.
    for (const s of servers) {
      if (s.kind !== 'dhcp' || !s.offeredAddress) continue;
      try {
        await transport.send(
          'dhcp-client',
          { address: '255.255.255.255', port: serverPort },
          buildProbeRelease(probeMac, xid, s.offeredAddress, s.serverId),
        );
      } catch (error) {
        this.logger.warn('probe RELEASE failed', { server: s.serverId, error: String(error) });
      }
    }
    if (malformed) this.logger.debug('probe ignored malformed datagrams', { count: malformed });
    const result: ProbeResult = {
      iface,
      probeMac,
      startedAt,
      durationMs: Math.max(0, this.clock.now() - startedAt),
      servers,
      ...assessProbe(servers),
    };
    this.logger.info('probe finished', {
      iface,
      servers: servers.map((s) => `${s.kind} ${s.serverId}`),
    });
    return result;
  }
}

export interface ProbeInterfaceOptions {
  readonly iface: string;
  readonly helper?: 'auto' | 'always' | 'never';
  readonly helperPath?: string;
  readonly windowMs?: number;
  /** DHCP client port to bind (68; tests). The DISCOVER goes to `clientPort - 1` unless `serverPort`. */
  readonly clientPort?: number;
  readonly serverPort?: number;
  readonly ownAddresses?: readonly string[];
  readonly logger?: Logger;
  /** NIC list (default: the OS's); the probe refuses a NIC that is missing, down or has no IPv4. */
  readonly interfaces?: () => Promise<NicInfo[]>;
  /** For tests: the platform to decide for (default process.platform). */
  readonly platform?: NodeJS.Platform;
  /** For tests: where the OS sends 255.255.255.255 from a plain socket (default: asks the OS). */
  readonly broadcastRoute?: BroadcastRouteLookup;
}

export class ProbeError extends Error {
  constructor(
    readonly code: 'iface-missing' | 'iface-down' | 'iface-no-ipv4',
    message: string,
  ) {
    super(message);
    this.name = 'ProbeError';
  }
}

/**
 * A stand-alone probe (`pxe-desk probe`, the UI's "Check network" before Start): its own transport on
 * `iface` (the helper on Linux, so the broadcast leaves only through that NIC), closed afterwards.
 */
export async function probeInterface(o: ProbeInterfaceOptions): Promise<ProbeResult> {
  // Check the NIC before any socket exists: a DISCOVER must never leave through another interface.
  const nic = (await (o.interfaces ?? listInterfaces)()).find((n) => n.name === o.iface);
  if (!nic)
    throw new ProbeError(
      'iface-missing',
      `There is no network interface "${o.iface}" (see \`pxe-desk interfaces\`).`,
    );
  if (!nic.up)
    throw new ProbeError(
      'iface-down',
      `${o.iface} is down: connect the cable or enable it, then probe again.`,
    );
  if (!nic.ipv4)
    throw new ProbeError(
      'iface-no-ipv4',
      `${o.iface} has no IPv4 address: give it one (DHCP or static) before probing.`,
    );
  const policy = o.helper ?? 'auto';
  // Plain sockets cannot pin a broadcast to one NIC (docs/helper.md): chooseTransport hands them out only
  // while the OS routes 255.255.255.255 through o.iface, and otherwise refuses ('unpinned-broadcast')
  // before any socket exists, naming the fix.
  const platform = o.platform ?? process.platform;
  const clientPort = o.clientPort ?? 68;
  const transport = chooseTransport({
    policy,
    iface: o.iface,
    bindAddress: '0.0.0.0',
    ports: { 'dhcp-client': clientPort },
    ...(o.helperPath ? { helperPath: o.helperPath } : {}),
    ...(o.logger ? { logger: o.logger } : {}),
    platform,
    ...(o.broadcastRoute ? { broadcastRoute: o.broadcastRoute } : {}),
  });
  try {
    return await new DhcpProbe({
      transport,
      iface: o.iface,
      serverPort: o.serverPort ?? (clientPort === 68 ? 67 : clientPort - 1),
      ...(o.windowMs !== undefined ? { windowMs: o.windowMs } : {}),
      ...(o.ownAddresses ? { ownAddresses: o.ownAddresses } : {}),
      ...(o.logger ? { logger: o.logger } : {}),
    }).run();
  } finally {
    await transport.close();
  }
}

/** Plain-text rendering for the CLI. */
export function formatProbe(r: ProbeResult): string {
  const lines = [
    `probe on ${r.iface} (MAC ${r.probeMac}, ${r.durationMs} ms): ${r.servers.length} server(s) answered`,
  ];
  for (const s of r.servers) {
    const parts = [
      s.kind === 'dhcp' ? 'DHCP server' : 'proxyDHCP server',
      s.serverId,
      s.offeredAddress
        ? `offered ${s.offeredAddress}${s.prefixLength !== undefined ? `/${s.prefixLength}` : ''}`
        : '',
      s.router ? `router ${s.router}` : '',
      s.dns ? `dns ${s.dns.join(',')}` : '',
      s.bootFile ? `boot file ${s.bootFile}` : '',
      s.nextServer ? `next server ${s.nextServer}` : '',
      s.vendorClass ? `class ${s.vendorClass}` : '',
      s.pxeMenu ? 'PXE menu' : '',
    ].filter(Boolean);
    lines.push(`  ${parts.join('  ')}`);
  }
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  if (r.refuse?.dhcp) lines.push(`full DHCP mode: refused. ${r.refuse.dhcp}`);
  else lines.push('full DHCP mode: allowed (no other DHCP server answered).');
  return `${lines.join('\n')}\n`;
}
