/**
 * Before anything serves: open the DHCP transport with the client port (68) as well, run the preflight
 * probe on it and apply the policy (issue 10). One transport for probe and engines: the helper binds
 * once, so a pkexec user is asked once. Port 68 may be held by this machine's own DHCP client: then the
 * session runs without the probe — proxy mode warns, full mode refuses unless overridden (we could not
 * look). While running, other servers' offers on 68 are decoded here (foreignOfferOf, ServerNotices).
 */
import { decode, macOf, messageType } from '../../engines/dhcp/codec.js';
import type {
  Channel,
  Datagram,
  DatagramTransport,
  TransportError,
} from '../../shared/datagram-transport.js';
import type { DhcpEvent } from '../../shared/events.js';
import type { Clock, Logger } from '../../shared/runtime.js';
import type { ProbeResult, ProbeServer, SessionMode } from '../../shared/session-types.js';
import { ConfigError, type ValidatedConfig } from '../config-validate.js';
import { DEFAULT_PROBE_WINDOW_MS, DhcpProbe, parseProbeReply, probeRefusal, warningsFor } from '../probe.js';
import type { EngineFactory } from './engine-factory.js';
import type { PreflightProbeOptions, SessionControllerOptions } from './options.js';

export interface PreflightContext {
  readonly factory: EngineFactory;
  readonly options: SessionControllerOptions;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Takes ownership of each transport as soon as it exists, so a failed start still closes it. */
  adopt(transport: DatagramTransport | undefined): void;
  onTransportError(error: TransportError): void;
  warn(message: string): void;
  onProbe(result: ProbeResult): void;
}

export interface PreflightResult {
  readonly transport: DatagramTransport;
  /** Port 68 is open on the transport: other servers' offers can be watched. */
  readonly clientPort: boolean;
  readonly probe?: ProbeResult;
}

export async function preflight(
  v: ValidatedConfig,
  channelPorts: Partial<Record<Channel, number>>,
  ctx: PreflightContext,
): Promise<PreflightResult> {
  const c = v.config;
  const make = async (): Promise<DatagramTransport> => {
    const t = await ctx.factory.transport({
      policy: c.helper ?? 'auto',
      ...(c.iface !== undefined ? { iface: c.iface } : {}),
      bindAddress: v.address,
      ports: channelPorts,
      ...(ctx.options.helperPath ? { helperPath: ctx.options.helperPath } : {}),
    });
    ctx.adopt(t);
    return t;
  };
  // Both DHCP engines serve 4011 too (full mode: BIOS menus and EDK2's BINL request, test-catalogue F5).
  const serving: Channel[] = ['dhcp', 'pxe'];
  let clientPortError: string | undefined;
  let transport = await make();
  // The helper binds once per start: every well-known port on the NIC together, TFTP's 69 included
  // (relayed to the TFTP engine), so no engine needs privilege (issue 6).
  if (transport.kind === 'helper') serving.push('tftp');
  try {
    await transport.open([...serving, 'dhcp-client']);
  } catch (error) {
    // Was it the client port? Retry without it: a failure now is the real (serving) problem.
    await transport.close().catch(() => undefined);
    ctx.adopt(undefined);
    transport = await make();
    await transport.open(serving);
    clientPortError = error instanceof Error ? error.message : String(error);
  }
  // The helper dying mid-session (killed, crashed) ends the session with its error, so the UI/CLI
  // report it and Start works again (docs/helper.md); refused sends are only logged by the helper.
  transport.onError?.((e) => ctx.onTransportError(e));
  const override = c.mode === 'dhcp' && c.overrideForeignDhcp === true;
  // No unpinned case here: chooseTransport hands out plain sockets only while the OS routes
  // 255.255.255.255 through the chosen NIC (app/transport/broadcast-route.ts), so the probe may run on any
  // transport it returned.
  let cannotLook = clientPortError
    ? `Could not look for other DHCP servers on ${c.iface ?? 'this network'} (${clientPortError})`
    : c.skipProbe
      ? 'The preflight probe was skipped'
      : undefined;
  let result: ProbeResult | undefined;
  if (!cannotLook) {
    const opts: PreflightProbeOptions = {
      transport,
      iface: c.iface ?? v.address,
      windowMs: c.probeWindowMs ?? ctx.options.probeWindowMs ?? DEFAULT_PROBE_WINDOW_MS,
      serverPort: c.ports?.dhcp ?? 67,
      ownAddresses: [v.address],
      logger: ctx.logger,
      clock: ctx.clock,
    };
    try {
      result = await (ctx.options.runProbe ?? ((o) => new DhcpProbe(o).run()))(opts);
    } catch (error) {
      // e.g. the helper refused the send, or no route for the broadcast: same as not looking.
      cannotLook = `The preflight probe failed on ${c.iface ?? 'this network'} (${error instanceof Error ? error.message : String(error)})`;
    }
  }
  if (cannotLook) {
    if (c.mode === 'dhcp' && !override)
      throw new ConfigError(
        'probe-unavailable',
        `${cannotLook}: full DHCP mode starts only after checking that no other DHCP server answers. Free UDP port 68 (stop this NIC's DHCP client) or, if you are sure the network is isolated, use the override (--force-dhcp).`,
      );
    ctx.warn(`${cannotLook}: other DHCP/PXE servers on this network were not checked.`);
  } else if (result) {
    ctx.onProbe(result);
    for (const w of warningsFor(result, c.mode)) ctx.warn(w);
    const refusal = probeRefusal(result, c.mode);
    if (refusal && override) {
      ctx.logger.warn('OVERRIDE: full DHCP mode started although another DHCP server answered', {
        servers: result.servers.filter((s) => s.kind === 'dhcp').map((s) => s.serverId),
      });
      ctx.warn(`Full DHCP mode started despite another DHCP server (expert override): ${refusal}`);
    } else if (refusal)
      throw new ConfigError(
        'foreign-dhcp',
        `${refusal} (Experts who know the other server will not answer these machines can override: --force-dhcp.)`,
      );
  }
  return { transport, clientPort: !clientPortError, ...(result ? { probe: result } : {}) };
}

/** Another server's OFFER/ACK seen on 68, as the event the client model ingests. */
export interface ForeignOffer {
  readonly event: DhcpEvent;
  readonly server: ProbeServer;
  /** The address it gives the client ('0.0.0.0' for a proxyDHCP offer). */
  readonly yiaddr: string;
  /** DHCP message type (OFFER or ACK). */
  readonly type: number | undefined;
}

/** Decodes a datagram on 68 that is another server's reply (not ours); undefined for anything else. Never throws. */
export function foreignOfferOf(
  d: Datagram,
  ownAddress: string | undefined,
  mode: SessionMode | undefined,
  time: number,
): ForeignOffer | undefined {
  if (d.channel !== 'dhcp-client') return undefined;
  let reply;
  try {
    reply = decode(d.data);
  } catch {
    return undefined;
  }
  const server = parseProbeReply(reply, `${d.source.address}:${d.source.port}`);
  if (!server || server.serverId === ownAddress || d.source.address === ownAddress) return undefined;
  const ip = server.offeredAddress;
  const event: DhcpEvent = {
    engine: mode === 'dhcp' ? 'dhcp' : 'proxy',
    type: 'foreign-offer',
    time,
    client: { mac: macOf(reply) },
    xid: reply.xid,
    server: server.serverId,
    ...(ip ? { ip } : {}),
    ...(server.bootFile ? { bootFile: server.bootFile } : {}),
  };
  return { event, server, yiaddr: reply.yiaddr, type: messageType(reply) };
}

/**
 * A server the preflight probe did not see starts answering while we serve: in full DHCP mode that is
 * the conflict the policy exists to prevent, in any mode another PXE server competes for the clients.
 * Said once per server.
 */
export class ServerNotices {
  private readonly noticed = new Set<string>();

  constructor(
    private readonly mode: SessionMode,
    private readonly probe: ProbeResult | undefined,
    private readonly warn: (message: string) => void,
  ) {}

  notice(server: ProbeServer): void {
    const key = `${server.kind}/${server.serverId}`;
    if (this.noticed.has(key) || this.noticed.size > 64) return;
    this.noticed.add(key);
    const known = this.probe?.servers.some((s) => s.kind === server.kind && s.serverId === server.serverId);
    if (known) return;
    if (server.kind === 'dhcp' && this.mode === 'dhcp')
      this.warn(
        `Another DHCP server (${server.serverId}) started answering on this network while PXE Desk serves full DHCP: clients may get conflicting addresses. Stop one of them, or use proxy mode.`,
      );
    else if (server.kind === 'proxy')
      this.warn(
        `Another proxyDHCP/PXE server (${server.serverId}) started answering here: clients may boot from it instead of PXE Desk.`,
      );
  }
}
