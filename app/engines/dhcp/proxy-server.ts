/**
 * proxyDHCP (protocol.md §1.2): answers only PXE/HTTP-boot DISCOVERs on 67 and boot-server REQUESTs on
 * 4011. Never leases, never answers plain DHCP clients or REQUESTs on 67.
 */
import type { BootConfig } from '../../core/boot-decision.js';
import { decideBoot } from '../../core/boot-decision.js';
import type { Datagram, DatagramTransport, Endpoint } from '../../shared/datagram-transport.js';
import type { Engine } from '../../shared/engine.js';
import type { DhcpEvent, EngineCounters } from '../../shared/events.js';
import type { Clock, Logger } from '../../shared/runtime.js';
import { silentLogger, systemClock } from '../../shared/runtime.js';
import type { DhcpMessage } from './codec.js';
import { MessageType, Opt, encode, encodeSubOptions, messageType, strOpt, subOptions } from './codec.js';
import { RateLimiter } from './rate-limit.js';
import { emitEvent, receiveDatagram } from './receive.js';
import { addBootFields, bootRequestOf, identityOf, maxSizeOf, replySkeleton } from './pxe-reply.js';

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
   * Operator's raw option 43 (well-formed PXE sub-options, proxyDHCPd `vendor_specific_information`):
   * replaces ours in every PXEClient reply; a 4011 ACK still echoes the client's boot item (71).
   */
  readonly vendorOptions?: Uint8Array;
}

interface MutableCounters {
  received: number;
  malformed: number;
  rateLimited: number;
  sent: number;
}

export class ProxyDhcpServer implements Engine<DhcpEvent> {
  private readonly listeners = new Set<(e: DhcpEvent) => void>();
  private readonly stats: MutableCounters = { received: 0, malformed: 0, rateLimited: 0, sent: 0 };
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly limiter: RateLimiter;
  private unsubscribe: (() => void) | undefined;
  private readonly pending = new Set<ReturnType<typeof setTimeout>>();

  constructor(private readonly opts: ProxyDhcpServerOptions) {
    this.logger = (opts.logger ?? silentLogger).child('proxy');
    this.clock = opts.clock ?? systemClock;
    this.limiter = new RateLimiter(this.clock, opts.perMacRate ?? 20, opts.globalRate ?? 50_000);
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
    const type = messageType(msg);
    // Only DISCOVERs: REQUESTs on 67 belong to the site's DHCP server (P6).
    if (type !== MessageType.Discover) return;
    const req = bootRequestOf(msg);
    const vc = req.vendorClass ?? '';
    // Plain DHCP clients are not ours; stay silent without even an event (P4/P5).
    if (!vc.startsWith('PXEClient') && !vc.startsWith('HTTPClient')) return;
    if (!this.limiter.allow(req.mac)) {
      this.stats.rateLimited++;
      return;
    }
    const plan = decideBoot(req, { ...this.opts.boot, mode: 'proxy' });
    this.emit({ type: 'discover', client: identityOf(msg, req), xid: msg.xid });
    if (plan.kind === 'refuse') {
      this.logger.info('not answering', { mac: req.mac, reason: plan.reason });
      this.emit({ type: 'refusal', client: identityOf(msg, req), xid: msg.xid, reason: plan.reason });
      return;
    }
    const reply = replySkeleton(msg);
    reply.options.set(Opt.messageType, Buffer.from([MessageType.Offer]));
    // DNSMASQ forces the broadcast flag in proxy replies when ciaddr is 0.
    reply.flags = 0x8000;
    // UEFI PXE (not iPXE) gets no 43, so EDK2 goes BINL to 4011 (protocol.md §1.2 UEFI variant).
    const with43 = plan.firmware === 'bios' || plan.ipxe;
    addBootFields(reply, msg, plan, this.opts.serverAddress, with43);
    if (this.opts.vendorOptions && plan.vendorClass === 'PXEClient')
      reply.options.set(Opt.vendorSpecific, Buffer.from(this.opts.vendorOptions));
    const to: Endpoint =
      msg.giaddr !== '0.0.0.0'
        ? { address: msg.giaddr, port: this.opts.relayPort ?? 67 }
        : { address: '255.255.255.255', port: this.opts.clientPort ?? 68 };
    const delay = Math.min(1500, Math.max(0, this.opts.replyDelayMs?.(req.mac) ?? 0));
    if (delay > 0) {
      const timer = setTimeout(() => {
        this.pending.delete(timer);
        if (this.unsubscribe) this.send('dhcp', to, reply, msg);
      }, delay);
      this.pending.add(timer);
    } else this.send('dhcp', to, reply, msg);
    this.emit({
      type: 'offer',
      client: identityOf(msg, req, plan.ipxe),
      xid: msg.xid,
      bootFile: plan.bootFile,
    });
  }

  private onPxe(msg: DhcpMessage, source: Endpoint): void {
    if (msg.op !== 1) return;
    const type = messageType(msg);
    if (type !== MessageType.Request && type !== MessageType.Inform) return;
    const req = bootRequestOf(msg);
    if (!this.limiter.allow(req.mac)) {
      this.stats.rateLimited++;
      return;
    }
    this.emit({ type: 'pxe-request', client: identityOf(msg, req), xid: msg.xid, ip: msg.ciaddr });
    const refuse = (reason: string): void => {
      this.logger.info('not answering 4011 request', { mac: req.mac, reason });
      this.emit({ type: 'refusal', client: identityOf(msg, req), xid: msg.xid, reason });
    };
    // P12: without option 93 (or Arch in 60) we do not guess.
    const plan = decideBoot(req, { ...this.opts.boot, mode: 'proxy' });
    if (plan.kind === 'refuse') return refuse(plan.reason);
    const reply = replySkeleton(msg);
    reply.flags = msg.flags & 0x8000;
    reply.ciaddr = msg.ciaddr;
    reply.options.set(Opt.messageType, Buffer.from([MessageType.Ack]));
    let bootFile = plan.bootFile;
    const item = subOptions(msg.options.get(Opt.vendorSpecific)).get(71);
    addBootFields(reply, msg, { ...plan, bootFile }, this.opts.serverAddress, false);
    if (item && item.length === 4) {
      const itemType = item.readUInt16BE(0);
      const layer = item.readUInt16BE(2);
      // PXE21: BIS credentials are not supported (DNSMASQ "PXE BIS not supported"), P10.
      if (layer & 0x8000) return refuse('client requested PXE BIS credentials, which are not supported');
      // We offer one boot server type: 0x8001 (vendor range, dnsmasq numbering) or 0 local boot; others unknown (P11).
      if (itemType !== 0x8001) return refuse(`unknown PXE boot server type ${itemType}`);
      // DNSMASQ: the file for a menu item is basename.<layer> unless it already has an extension.
      if (!/\.[^/]*$/.test(bootFile)) bootFile = `${bootFile}.${layer}`;
      reply.file = bootFile.length <= 127 ? bootFile : '';
      reply.options.set(Opt.bootFile, strOpt(bootFile));
      reply.options.set(Opt.vendorSpecific, encodeSubOptions([[71, Buffer.from(item)]]));
    }
    if (this.opts.vendorOptions && plan.vendorClass === 'PXEClient') {
      const subs = subOptions(Buffer.from(this.opts.vendorOptions));
      if (item && item.length === 4) subs.set(71, Buffer.from(item));
      reply.options.set(Opt.vendorSpecific, encodeSubOptions([...subs]));
    }
    // Reply to the request's source address AND port (EDK2 listens on :4011; claytono/infra#1362).
    const to: Endpoint =
      msg.ciaddr !== '0.0.0.0' ? { address: msg.ciaddr, port: source.port } : { ...source };
    this.send('pxe', to, reply, msg);
    this.emit({ type: 'pxe-ack', client: identityOf(msg, req, plan.ipxe), xid: msg.xid, bootFile });
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
