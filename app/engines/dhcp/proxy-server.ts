/**
 * proxyDHCP (the PXE 2.1 proxy DHCP service, beside the site's DHCP server): answers only PXE/HTTP-boot
 * DISCOVERs on 67 and boot-server REQUESTs on 4011. Never leases, never answers plain DHCP clients or
 * REQUESTs on 67 — but reports every client REQUEST it overhears on 67 (a 'request' event with the address
 * the site server leases), so the session learns IP → MAC without decoding the datagram a second time.
 *
 * Hot path (bench/dhcp-bench.sh, 20 000 DISCOVER/s): per packet one decode, one boot decision, one encode
 * and one send; constants are built once, and event objects only when someone listens.
 */
import { decideBoot } from './boot-decision.js';
import type { Datagram, Endpoint } from '../../shared/datagram-transport.js';
import type { Engine } from '../../shared/engine.js';
import type { ClientIdentity, DhcpEvent } from '../../shared/events.js';
import type { DhcpMessage } from './codec.js';
import { MessageType, Opt, ipOption, macOf, messageType } from './codec.js';
import type { DhcpEngineOptions } from './engine-base.js';
import { DhcpEngineBase } from './engine-base.js';
import { isNetbootClient } from './netboot-client.js';
import { addBootFields, addMenu, bootRequestOf, identityOf, replySkeleton } from './pxe-reply.js';
import { receiveDatagram } from './receive.js';

export interface ProxyDhcpServerOptions extends DhcpEngineOptions {
  /** Port clients listen on for broadcasts (68; tests may change it). */
  readonly clientPort?: number;
  /** Port relays listen on (67). */
  readonly relayPort?: number;
  /**
   * Delay before a proxy OFFER, per MAC (ms; default 0). dnsmasq's --dhcp-reply-delay: some PXE firmware
   * misbehaves on an instant reply (docs/protocol-notes.md §5, test-catalogue P15). Keep it well under iPXE's 2 s.
   */
  readonly replyDelayMs?: (mac: string) => number;
}

export class ProxyDhcpServer extends DhcpEngineBase implements Engine<DhcpEvent> {
  private readonly broadcastTo: Endpoint;
  private unsubscribe: (() => void) | undefined;
  private readonly pending = new Set<ReturnType<typeof setTimeout>>();

  constructor(private readonly opts: ProxyDhcpServerOptions) {
    super(opts, 'proxy');
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

  /** Number of MACs the rate limiter tracks (bounded; used by fuzz tests). */
  stateSize(): number {
    return this.limiter.size();
  }

  /** Per-client state: rate-limit buckets and remembered DISCOVERs (both bounded, test-catalogue D30). */
  stateSizes(): { rate: number; remembered: number } {
    return { rate: this.limiter.size(), remembered: this.memory.size() };
  }

  /** Receive path: never throws (a hostile packet must not stop the loop). */
  handle(d: Datagram): void {
    if (d.channel !== 'dhcp' && d.channel !== 'pxe') return;
    receiveDatagram(d, this.stats, this.logger, (msg) => {
      if (d.channel === 'dhcp') this.onDhcp(msg);
      else this.onBootServerRequest(msg, d.source);
    });
  }

  private onDhcp(msg: DhcpMessage): void {
    if (msg.op !== 1) return; // D4: a reply on 67 is another server's or a loop
    const type = messageType(msg);
    // REQUESTs on 67 belong to the site's DHCP server (P6): never answered, only reported.
    if (type === MessageType.Request) return this.onOverheardRequest(msg);
    if (type !== MessageType.Discover) return;
    // Plain DHCP clients are not ours; stay silent without even an event (P4/P5).
    if (!isNetbootClient(msg.options.get(Opt.vendorClass))) return;
    const req = bootRequestOf(msg);
    if (!this.limiter.allow(req.mac)) {
      this.stats.rateLimited++;
      return;
    }
    const plan = decideBoot(req, this.boot);
    const client: ClientIdentity | undefined = this.observed ? identityOf(msg, req) : undefined;
    if (client) this.emit({ type: 'discover', client, xid: msg.xid });
    if (plan.kind === 'refuse') {
      this.logRefusal(plan, req.mac);
      if (client)
        this.emit({ type: 'refusal', client, xid: msg.xid, reason: plan.reason, refusal: plan.code });
      return;
    }
    this.memory.remember(req, this.clock.now());
    const reply = replySkeleton(msg);
    reply.options.set(Opt.messageType, OFFER);
    // dnsmasq forces the broadcast flag in proxy replies when ciaddr is 0.
    reply.flags = 0x8000;
    // UEFI PXE (not iPXE) gets no 43, so EDK2 goes BINL to 4011 (EDK2 PxeBcHandleDhcp4Offer; docs/protocol-notes.md §5).
    const with43 = plan.firmware === 'bios' || plan.ipxe;
    addBootFields(reply, msg, plan, this.serverId, with43);
    if (plan.menu) addMenu(reply, msg, plan.menu, this.opts.serverAddress, this.logger);
    // proxyDHCPd `vendor_specific_information`: the operator's sub-options replace ours (docs/cli.md).
    if (this.opts.vendorOptions && plan.vendorClass === 'PXEClient')
      reply.options.set(Opt.vendorSpecific, Buffer.from(this.opts.vendorOptions));
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

  /**
   * A client's DHCPREQUEST to the site server, overheard on 67: the site server leases the address, so
   * none of our replies carries it, yet a PXE ROM downloads its NBP from that address right after (BIOS
   * with discovery control 8 never even asks us on 4011). SELECTING and INIT-REBOOT requests name the
   * address in option 50, RENEWING/REBINDING ones in ciaddr (RFC 2131 §4.3.2); without one there is
   * nothing to learn. Reported for every client, `client.netboot` telling whether it is a boot client:
   * the session decides whose requests join a record. Nothing is sent, nothing is rate-limited.
   */
  private onOverheardRequest(msg: DhcpMessage): void {
    if (!this.observed) return;
    const ip = ipOption(msg, Opt.requestedIp) ?? (msg.ciaddr !== '0.0.0.0' ? msg.ciaddr : undefined);
    // A MAC the session can key a record by: Ethernet's 6 bytes (hlen 0 reads as 6, as macOf does).
    if (!ip || ip === '0.0.0.0' || macOf(msg).length !== 17) return;
    const server = ipOption(msg, Opt.serverId);
    const client = identityOf(msg, bootRequestOf(msg));
    this.emit({ type: 'request', client, xid: msg.xid, ip, ...(server ? { server } : {}) });
  }
}

const OFFER = Buffer.from([MessageType.Offer]);
