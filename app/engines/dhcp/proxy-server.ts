/**
 * proxyDHCP (protocol.md §1.2): answers only PXE/HTTP-boot DISCOVERs on 67 and boot-server REQUESTs on
 * 4011. Never leases, never answers plain DHCP clients or REQUESTs on 67.
 *
 * Hot path (bench/dhcp-bench.sh, 20 000 DISCOVER/s): per packet one decode, one boot decision, one encode
 * and one send; constants are built once, and event objects only when someone listens.
 */
import type { BootConfig } from '../../core/boot-decision.js';
import { decideBoot } from '../../core/boot-decision.js';
import type { Datagram, DatagramTransport, Endpoint } from '../../shared/datagram-transport.js';
import type { Engine } from '../../shared/engine.js';
import type { ClientIdentity, DhcpEvent, EngineCounters } from '../../shared/events.js';
import type { Clock, Logger } from '../../shared/runtime.js';
import { silentLogger, systemClock } from '../../shared/runtime.js';
import type { DhcpMessage } from './codec.js';
import { MessageType, Opt, encode, ipToBytes, messageType } from './codec.js';
import { RateLimiter } from './rate-limit.js';
import { emitEvent, receiveDatagram } from './receive.js';
import {
  ClientMemory,
  addBootFields,
  addMenu,
  answerBootServer,
  bootRequestOf,
  identityOf,
  maxSizeOf,
  replySkeleton,
} from './pxe-reply.js';

export interface ProxyDhcpServerOptions {
  readonly transport: DatagramTransport;
  readonly serverAddress: string;
  readonly boot: BootConfig;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Per-MAC replies per second (default 20) and global (default 50 000). */
  readonly perMacRate?: number;
  readonly globalRate?: number;
  /** Port clients listen on for broadcasts (68; tests may change it). */
  readonly clientPort?: number;
  /** Port relays listen on (67). */
  readonly relayPort?: number;
  /**
   * Delay before a proxy OFFER, per MAC (ms; default 0). dnsmasq's --dhcp-reply-delay: some PXE firmware
   * misbehaves on an instant reply (protocol.md §1.2, catalogue P15). Keep it well under iPXE's 2 s.
   */
  readonly replyDelayMs?: (mac: string) => number;
  /**
   * How long (ms) a client's DISCOVER is remembered so that its 4011 REQUEST is answered even when it
   * carries no option 93 (catalogue P12). Default 300 000 (5 min); 0 = never: such requests get no reply.
   * At most `maxRemembered` MACs (default 4096), oldest first out.
   */
  readonly rememberMs?: number;
  readonly maxRemembered?: number;
}

interface MutableCounters {
  received: number;
  malformed: number;
  rateLimited: number;
  sent: number;
}

const VC_PXE = 'PXEClient';
const VC_HTTP = 'HTTPClient';

export class ProxyDhcpServer implements Engine<DhcpEvent> {
  private readonly listeners = new Set<(e: DhcpEvent) => void>();
  private readonly stats: MutableCounters = { received: 0, malformed: 0, rateLimited: 0, sent: 0 };
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly limiter: RateLimiter;
  private readonly memory: ClientMemory;
  private readonly boot: BootConfig;
  private readonly serverId: Buffer;
  private readonly broadcastTo: Endpoint;
  private unsubscribe: (() => void) | undefined;
  private readonly pending = new Set<ReturnType<typeof setTimeout>>();

  constructor(private readonly opts: ProxyDhcpServerOptions) {
    this.logger = (opts.logger ?? silentLogger).child('proxy');
    this.clock = opts.clock ?? systemClock;
    this.limiter = new RateLimiter(this.clock, opts.perMacRate ?? 20, opts.globalRate ?? 50_000);
    this.memory = new ClientMemory(opts.rememberMs ?? 300_000, opts.maxRemembered ?? 4096);
    this.boot = { ...opts.boot, mode: 'proxy' };
    this.serverId = ipToBytes(opts.serverAddress);
    this.broadcastTo = { address: '255.255.255.255', port: opts.clientPort ?? 68 };
  }

  async start(): Promise<void> {
    await this.opts.transport.open(['dhcp', 'pxe']);
    this.unsubscribe = this.opts.transport.onDatagram((d) => this.handle(d));
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
    // The transport is injected and may be shared (TFTP relay, full server): its owner closes it.
  }

  onEvent(listener: (e: DhcpEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  counters(): EngineCounters {
    return { ...this.stats };
  }

  /** Number of MACs the rate limiter tracks (bounded; used by fuzz tests). */
  stateSize(): number {
    return this.limiter.size();
  }

  /** Per-client state: rate-limit buckets and remembered DISCOVERs (both bounded, catalogue D30). */
  stateSizes(): { rate: number; remembered: number } {
    return { rate: this.limiter.size(), remembered: this.memory.size() };
  }

  private emit(e: Omit<DhcpEvent, 'engine' | 'time'>): void {
    emitEvent(this.listeners, { engine: 'proxy', time: this.clock.now(), ...e }, this.logger);
  }

  /** Receive path: never throws (a hostile packet must not stop the loop). */
  handle(d: Datagram): void {
    if (d.channel !== 'dhcp' && d.channel !== 'pxe') return;
    receiveDatagram(d, this.stats, this.logger, (msg) => {
      if (d.channel === 'dhcp') this.onDhcp(msg);
      else this.onPxe(msg, d.source);
    });
  }

  private onDhcp(msg: DhcpMessage): void {
    if (msg.op !== 1) return; // D4: a reply on 67 is another server's or a loop
    // Only DISCOVERs: REQUESTs on 67 belong to the site's DHCP server (P6).
    if (messageType(msg) !== MessageType.Discover) return;
    const vcBytes = msg.options.get(Opt.vendorClass);
    // Plain DHCP clients are not ours; stay silent without even an event (P4/P5). Case-sensitive prefix (D23-D25).
    if (!vcBytes || !(startsWith(vcBytes, VC_PXE) || startsWith(vcBytes, VC_HTTP))) return;
    const req = bootRequestOf(msg);
    if (!this.limiter.allow(req.mac)) {
      this.stats.rateLimited++;
      return;
    }
    const plan = decideBoot(req, this.boot);
    const client: ClientIdentity | undefined = this.listeners.size > 0 ? identityOf(msg, req) : undefined;
    if (client) this.emit({ type: 'discover', client, xid: msg.xid });
    if (plan.kind === 'refuse') {
      this.logger.info('not answering', { mac: req.mac, reason: plan.reason });
      if (client) this.emit({ type: 'refusal', client, xid: msg.xid, reason: plan.reason });
      return;
    }
    this.memory.remember(req, this.clock.now());
    const reply = replySkeleton(msg);
    reply.options.set(Opt.messageType, OFFER);
    // DNSMASQ forces the broadcast flag in proxy replies when ciaddr is 0.
    reply.flags = 0x8000;
    // UEFI PXE (not iPXE) gets no 43, so EDK2 goes BINL to 4011 (protocol.md §1.2 UEFI variant).
    const with43 = plan.firmware === 'bios' || plan.ipxe;
    addBootFields(reply, msg, plan, this.serverId, with43);
    if (plan.menu) addMenu(reply, msg, plan.menu, this.opts.serverAddress, this.logger);
    const to: Endpoint =
      msg.giaddr !== '0.0.0.0' ? { address: msg.giaddr, port: this.opts.relayPort ?? 67 } : this.broadcastTo;
    const delay = this.opts.replyDelayMs ? Math.min(1500, Math.max(0, this.opts.replyDelayMs(req.mac))) : 0;
    if (delay > 0) {
      const timer = setTimeout(() => {
        this.pending.delete(timer);
        if (this.unsubscribe) this.send('dhcp', to, reply, msg);
      }, delay);
      this.pending.add(timer);
    } else this.send('dhcp', to, reply, msg);
    if (client) {
      this.emit({
        type: 'offer',
        client: { ...client, ipxe: plan.ipxe },
        xid: msg.xid,
        ...(plan.menu ? {} : { bootFile: plan.bootFile }),
      });
    }
  }

  private onPxe(msg: DhcpMessage, source: Endpoint): void {
    if (msg.op !== 1) return;
    const type = messageType(msg);
    if (type !== MessageType.Request && type !== MessageType.Inform) return;
    const mac = bootRequestOf(msg).mac;
    if (!this.limiter.allow(mac)) {
      this.stats.rateLimited++;
      return;
    }
    const answer = answerBootServer(msg, source, this.boot, this.serverId, this.memory, this.clock.now());
    if (!answer) return;
    const observed = this.listeners.size > 0;
    if (observed) {
      this.emit({ type: 'pxe-request', client: identityOf(msg, answer.req), xid: msg.xid, ip: msg.ciaddr });
    }
    if (answer.kind === 'refuse') {
      this.logger.info('not answering 4011 request', { mac, reason: answer.reason });
      if (observed) {
        this.emit({
          type: 'refusal',
          client: identityOf(msg, answer.req),
          xid: msg.xid,
          reason: answer.reason,
        });
      }
      return;
    }
    this.send('pxe', answer.to, answer.reply, msg);
    if (observed) {
      this.emit({
        type: 'pxe-ack',
        client: identityOf(msg, answer.req, answer.ipxe),
        xid: msg.xid,
        bootFile: answer.bootFile,
      });
    }
  }

  private send(channel: 'dhcp' | 'pxe', to: Endpoint, reply: DhcpMessage, req: DhcpMessage): void {
    const max = maxSizeOf(req);
    const data = encode(reply, max !== undefined ? { maxMessageSize: max } : {});
    this.stats.sent++;
    this.opts.transport.send(channel, to, data).catch((err: unknown) => {
      this.logger.warn('send failed', { to: `${to.address}:${to.port}`, error: String(err) });
    });
  }
}

const OFFER = Buffer.from([MessageType.Offer]);

/** ASCII prefix compare on raw option bytes (no string per packet). */
function startsWith(b: Buffer, prefix: string): boolean {
  if (b.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[i] !== prefix.charCodeAt(i)) return false;
  return true;
}
