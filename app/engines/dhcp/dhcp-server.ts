/**
 * Full DHCP server with PXE (RFC 2131; docs/protocol-notes.md §6). Any prefix length, one pool, static leases,
 * relays via giaddr, leases persisted atomically (temp file + rename) and reloaded on start.
 * Kept whole (~410 lines): it is the RFC 2131 §4.3 state machine (DISCOVER/REQUEST/DECLINE/RELEASE/
 * INFORM) over one lease table; the table (lease-table.ts) and the reply layout (pxe-reply.ts) are apart.
 */
import { promises as fs } from 'node:fs';
import type { BootRequest } from './boot-decision.js';
import { decideBoot, exclusionOf } from './boot-decision.js';
import type { Datagram, Endpoint } from '../../shared/datagram-transport.js';
import type { Engine } from '../../shared/engine.js';
import type { DhcpEvent } from '../../shared/events.js';
import type { DhcpPoolConfig } from '../../shared/session-types.js';
import type { DhcpMessage } from './codec.js';
import { MessageType, Opt, intToIp, ipOption, ipToBytes, ipToInt, macOf, messageType } from './codec.js';
import type { DhcpEngineOptions } from './engine-base.js';
import { DhcpEngineBase } from './engine-base.js';
import type { Lease } from './lease-table.js';
import { LeaseTable, MAX_KEY_LENGTH } from './lease-table.js';
import { isNetbootClient } from './netboot-client.js';
import { addBootFields, addMenu, bootRequestOf, identityOf, replySkeleton } from './pxe-reply.js';
import { receiveDatagram } from './receive.js';

export interface DhcpServerOptions extends DhcpEngineOptions {
  readonly pool: DhcpPoolConfig;
  readonly clientPort?: number;
  readonly relayPort?: number;
  /** How long an OFFER reserves its address (ms, default 60 000). */
  readonly offerHoldMs?: number;
}

export type { Lease } from './lease-table.js';

const ZERO = '0.0.0.0';
/** Placeholder identity when no one listens (emit drops the event before it is built). */
const UNOBSERVED: DhcpEvent['client'] = { mac: '' };

export class DhcpServer extends DhcpEngineBase implements Engine<DhcpEvent> {
  /** By MAC and by address; by construction at most one entry per pool address plus static leases. */
  private readonly leases: LeaseTable;
  private readonly statics = new Map<string, string>();
  private readonly staticIps = new Set<number>();
  private readonly serverIp: number;
  private readonly mask: number;
  private readonly subnet: number;
  private readonly first: number;
  private readonly last: number;
  private readonly leaseSeconds: number;
  private readonly maskBytes: Buffer;
  private readonly broadcastBytes: Buffer;
  private readonly leaseTimes: readonly [Buffer, Buffer, Buffer];
  private readonly routerBytes: Buffer | undefined;
  private readonly dnsBytes: Buffer | undefined;
  private unsubscribe: (() => void) | undefined;
  private cursor: number;
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly opts: DhcpServerOptions) {
    super(opts, 'dhcp');
    const p = opts.pool.prefixLength;
    if (!Number.isInteger(p) || p < 1 || p > 30) throw new RangeError(`prefix length ${p} is not 1-30`);
    this.mask = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
    this.first = ipToInt(opts.pool.rangeStart);
    this.last = ipToInt(opts.pool.rangeEnd);
    this.subnet = (this.first & this.mask) >>> 0;
    if (this.last < this.first || (this.last & this.mask) >>> 0 !== this.subnet) {
      throw new RangeError('range end must be in the same subnet as, and not before, range start');
    }
    this.cursor = this.first;
    // Sized for the whole pool up front (up to 131 072 leases, about 12 MB): doubling a table of tens of
    // thousands of leases mid-flood is a pause of several ms in front of every queued DISCOVER.
    const leasable = this.last - this.first + 1 + (opts.pool.staticLeases?.length ?? 0);
    this.leases = new LeaseTable(Math.min(leasable, 1 << 17));
    this.serverIp = ipToInt(opts.serverAddress);
    this.leaseSeconds = opts.pool.leaseTimeSeconds ?? 3600;
    for (const s of opts.pool.staticLeases ?? []) {
      this.statics.set(s.mac.toLowerCase(), s.ip);
      this.staticIps.add(ipToInt(s.ip));
    }
    // Per-reply constants, built once (hot path).
    this.maskBytes = u32(this.mask);
    this.broadcastBytes = u32((this.subnet | ~this.mask) >>> 0);
    const secs = this.leaseSeconds;
    this.leaseTimes = [u32(secs), u32(Math.floor(secs / 2)), u32(Math.floor((secs * 7) / 8))];
    this.routerBytes = opts.pool.router ? ipToBytes(opts.pool.router) : undefined;
    this.dnsBytes =
      opts.pool.dns && opts.pool.dns.length > 0 ? Buffer.concat(opts.pool.dns.map(ipToBytes)) : undefined;
  }

  async start(): Promise<void> {
    await this.load();
    // 4011 too: a BIOS ROM asks there for the menu item it chose, and EDK2 goes there when an offer has
    // 60 = PXEClient without 43 (tianocore/edk2#8149; docs/protocol-notes.md §6, test-catalogue F5).
    await this.opts.transport.open(['dhcp', 'pxe']);
    this.unsubscribe = this.opts.transport.onDatagram((d) => this.handle(d));
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.saving;
  }

  /** Current leases (copies). */
  leaseList(): Lease[] {
    return this.leases.list();
  }

  /** Per-client state (test-catalogue D30): leases (bounded by the pool), rate buckets, remembered DISCOVERs. */
  stateSize(): { leases: number; rate: number; remembered: number } {
    return { leases: this.leases.size, rate: this.limiter.size(), remembered: this.memory.size() };
  }

  /** Resolves when pending lease writes are on disk. */
  flush(): Promise<void> {
    return this.saving;
  }

  handle(d: Datagram): void {
    if (d.channel === 'dhcp') receiveDatagram(d, this.stats, this.logger, (msg) => this.onMessage(msg));
    else if (d.channel === 'pxe')
      receiveDatagram(d, this.stats, this.logger, (msg) => this.onBootServerRequest(msg, d.source));
  }

  private inSubnet(ip: string): boolean {
    return (ipToInt(ip) & this.mask) >>> 0 === this.subnet;
  }

  private inRange(ip: string): boolean {
    const n = ipToInt(ip);
    return n >= this.first && n <= this.last;
  }

  /** Whether `ip` is leased (unexpired) to someone other than `mac`. */
  private heldByOther(ip: string, mac: string): boolean {
    return this.leases.isHeld(ipToInt(ip), this.clock.now(), mac);
  }

  private setLease(mac: string, ip: string, state: Lease['state'], ms: number): void {
    this.leases.set(mac, ipToInt(ip), state, this.clock.now() + ms);
  }

  private isFree(ip: number): boolean {
    return ip !== this.serverIp && !this.staticIps.has(ip) && !this.leases.isHeld(ip, this.clock.now());
  }

  /** An address for `mac`: static, its current one, the requested one if free, else the next free one. */
  private allocate(mac: string, requested?: string): string | undefined {
    const st = this.statics.get(mac);
    if (st) return st;
    // One exit and the same property loads for a new and a returning client: V8 then has type feedback for
    // both before the first flood, and the first returning client does not deoptimise this (see LeaseTable).
    const first = this.first;
    const last = this.last;
    const cur = this.leases.ipOf(mac);
    // Both compares always run (no short-circuit): a new client (-1) and a returning one take the same code.
    const above = cur >= first;
    const below = cur <= last;
    let found = above && below ? cur : -1;
    if (found < 0 && requested) {
      const want = ipToInt(requested);
      if (want >= first && want <= last && this.isFree(want)) found = want;
    }
    for (let i = last - first; found < 0 && i >= 0; i--) {
      const n = this.cursor;
      this.cursor = n >= last ? first : n + 1;
      if ((n & ~this.mask) === 0 || (n | this.mask) >>> 0 === 0xffffffff) continue; // network/broadcast
      // An expired holder's entry goes when the address is leased again (LeaseTable.set).
      if (this.isFree(n)) found = n;
    }
    return found < 0 ? undefined : intToIp(found);
  }

  private onMessage(msg: DhcpMessage): void {
    if (msg.op !== 1) return;
    const type = messageType(msg);
    if (type === undefined) return; // BOOTP is not served (D12)
    // Relayed requests must come from a relay in our subnet (F7); others are for another server.
    if (msg.giaddr !== ZERO && !this.inSubnet(msg.giaddr)) return;
    const mac = macOf(msg);
    if (
      (type === MessageType.Discover || type === MessageType.Request || type === MessageType.Inform) &&
      !this.limiter.allow(mac)
    ) {
      this.stats.rateLimited++;
      return;
    }
    const req = bootRequestOf(msg);
    // Identities are built only when someone listens (20 000 DISCOVER/s must not pay for unused events).
    const client = this.observed ? identityOf(msg, req) : UNOBSERVED;
    const serverId = ipOption(msg, Opt.serverId);
    // Operator exclusions cover the lease too, not only the boot file (PyPXE --dhcp-whitelist: "only
    // respond to DHCP clients present in --static-config"); a REQUEST from one is left unanswered.
    const excluded = exclusionOf(mac, this.boot);
    if (excluded && (type === MessageType.Discover || type === MessageType.Request)) {
      if (type === MessageType.Discover && this.observed) {
        this.emit({ type: 'discover', client, xid: msg.xid });
        this.emit({ type: 'refusal', client, xid: msg.xid, reason: excluded.reason, refusal: excluded.code });
      }
      return;
    }
    switch (type) {
      case MessageType.Discover: {
        this.emit({ type: 'discover', client, xid: msg.xid });
        const ip = this.allocate(mac, ipOption(msg, Opt.requestedIp));
        if (!ip) {
          const reason = 'address pool exhausted';
          this.logger.warn(reason, { mac });
          this.emit({ type: 'refusal', client, xid: msg.xid, reason, refusal: 'pool-exhausted' });
          return;
        }
        this.setLease(mac, ip, 'offered', this.opts.offerHoldMs ?? 60_000);
        const bootFile = this.reply(msg, req, MessageType.Offer, ip);
        this.emit({ type: 'offer', client, xid: msg.xid, ip, ...(bootFile ? { bootFile } : {}) });
        return;
      }
      case MessageType.Request: {
        this.emit({ type: 'request', client, xid: msg.xid, ...(serverId ? { server: serverId } : {}) });
        const requested = ipOption(msg, Opt.requestedIp);
        const lease = this.leases.get(mac);
        let ip: string | undefined;
        if (serverId !== undefined) {
          // SELECTING (RFC 2131 §4.3.2).
          if (serverId !== this.opts.serverAddress) {
            // The client chose another server: release our tentative offer (F3).
            if (lease?.state === 'offered') this.leases.delete(mac);
            return;
          }
          ip = requested ?? (msg.ciaddr !== ZERO ? msg.ciaddr : undefined);
          if (!ip || !lease || lease.ip !== ip)
            return this.nak(msg, client, 'requested address was not offered');
        } else if (requested && msg.ciaddr === ZERO) {
          // INIT-REBOOT: NAK when the address is wrong for this network or belongs to someone else.
          if (!this.inSubnet(requested)) return this.nak(msg, client, `${requested} is not on this network`);
          const st = this.statics.get(mac);
          if (st && st !== requested) return this.nak(msg, client, `${mac} has static address ${st}`);
          if (this.heldByOther(requested, mac))
            return this.nak(msg, client, `${requested} is leased to another client`);
          if (!st && (!this.inRange(requested) || this.staticIps.has(ipToInt(requested)))) {
            return this.nak(msg, client, `${requested} is outside the address range`);
          }
          ip = requested;
        } else if (msg.ciaddr !== ZERO) {
          // RENEWING/REBINDING.
          if (!this.inSubnet(msg.ciaddr))
            return this.nak(msg, client, `${msg.ciaddr} is not on this network`);
          if (this.heldByOther(msg.ciaddr, mac))
            return this.nak(msg, client, `${msg.ciaddr} is leased to another client`);
          if (!lease || lease.ip !== msg.ciaddr) return; // not ours to judge: stay silent (RFC 2131 §4.3.2)
          ip = msg.ciaddr;
        } else {
          return;
        }
        this.setLease(mac, ip, 'bound', this.leaseSeconds * 1000);
        this.persist();
        const bootFile = this.reply(msg, req, MessageType.Ack, ip);
        this.emit({ type: 'ack', client, xid: msg.xid, ip, ...(bootFile ? { bootFile } : {}) });
        return;
      }
      case MessageType.Decline: {
        if (serverId && serverId !== this.opts.serverAddress) return;
        const ip = ipOption(msg, Opt.requestedIp);
        this.emit({ type: 'decline', client, xid: msg.xid, ...(ip ? { ip } : {}) });
        const lease = this.leases.get(mac);
        if (lease && ip && lease.ip === ip) {
          // Someone else uses this address: park it under a pseudo-owner for a lease time (RFC 2131 §4.3.3).
          this.leases.delete(mac);
          this.setLease(`declined:${ip}`, ip, 'bound', this.leaseSeconds * 1000);
          this.persist();
        }
        return;
      }
      case MessageType.Release: {
        if (serverId && serverId !== this.opts.serverAddress) return;
        this.emit({ type: 'release', client, xid: msg.xid, ip: msg.ciaddr });
        const lease = this.leases.get(mac);
        if (lease && lease.ip === msg.ciaddr) {
          this.leases.delete(mac);
          this.persist();
        }
        return;
      }
      case MessageType.Inform: {
        this.emit({ type: 'inform', client, xid: msg.xid, ip: msg.ciaddr });
        this.reply(msg, req, MessageType.Ack, undefined);
        return;
      }
      default:
        return;
    }
  }

  private destination(msg: DhcpMessage, nak: boolean): Endpoint {
    const clientPort = this.opts.clientPort ?? 68;
    if (msg.giaddr !== ZERO) return { address: msg.giaddr, port: this.opts.relayPort ?? 67 };
    // A DISCOVER's ciaddr is ignored: "some buggy clients set ciaddr when they shouldn't" (dnsmasq rfc2131.c; D27).
    if (!nak && msg.ciaddr !== ZERO && messageType(msg) !== MessageType.Discover) {
      return { address: msg.ciaddr, port: clientPort };
    }
    // No ARP injection from Node: broadcast (RFC 2131 §4.1 allows it), docs/protocol-notes.md §2.
    return { address: '255.255.255.255', port: clientPort };
  }

  private nak(msg: DhcpMessage, client: DhcpEvent['client'], reason: string): void {
    const reply = replySkeleton(msg);
    reply.options.set(Opt.messageType, Buffer.from([MessageType.Nak]));
    reply.options.set(Opt.serverId, this.serverId);
    if (msg.giaddr !== ZERO) reply.flags = 0x8000;
    this.send('dhcp', this.destination(msg, true), reply, msg);
    this.emit({ type: 'nak', client, xid: msg.xid, reason });
  }

  /** Sends OFFER/ACK (ip set) or INFORM-ACK (ip undefined); returns the boot file handed out. */
  private reply(
    msg: DhcpMessage,
    req: BootRequest,
    type: MessageType,
    ip: string | undefined,
  ): string | undefined {
    const reply = replySkeleton(msg);
    const o = reply.options;
    o.set(Opt.messageType, Buffer.from([type]));
    o.set(Opt.serverId, this.serverId);
    if (ip !== undefined) {
      reply.yiaddr = ip;
      if (type === MessageType.Ack) reply.ciaddr = msg.ciaddr;
      o.set(Opt.leaseTime, this.leaseTimes[0]);
      o.set(Opt.renewalTime, this.leaseTimes[1]);
      o.set(Opt.rebindingTime, this.leaseTimes[2]);
    } else {
      reply.ciaddr = msg.ciaddr;
    }
    o.set(Opt.subnetMask, this.maskBytes);
    o.set(Opt.broadcast, this.broadcastBytes);
    if (this.routerBytes) o.set(Opt.router, this.routerBytes);
    if (this.dnsBytes) o.set(Opt.dns, this.dnsBytes);
    let bootFile: string | undefined;
    if (isNetbootClient(req.vendorClass)) {
      const plan = decideBoot(req, this.boot);
      if (plan.kind === 'boot') {
        // Full mode always sends 43 so EDK2 does not go BINL (tianocore/edk2#8149, F1): "boot at once", or
        // the menu for BIOS ROMs (the chosen item is then asked for on 4011, which we serve too).
        addBootFields(reply, msg, plan, this.serverId, true);
        if (plan.menu) addMenu(reply, msg, plan.menu, this.opts.serverAddress, this.logger);
        else bootFile = plan.bootFile;
        this.memory.remember(req, this.clock.now());
      } else {
        // Still leased (full mode hands out addresses to everyone), but no boot file: say why.
        this.logRefusal(plan, req.mac);
        if (this.observed) {
          const client = identityOf(msg, req);
          this.emit({ type: 'refusal', client, xid: msg.xid, reason: plan.reason, refusal: plan.code });
        }
      }
    }
    this.send('dhcp', this.destination(msg, false), reply, msg);
    return bootFile;
  }

  private persist(): void {
    const file = this.opts.pool.leasesFile;
    if (!file) return;
    this.saving = this.saving.then(async () => {
      const bound = this.leases.list().filter((l) => l.state === 'bound');
      const tmp = `${file}.${process.pid}.tmp`;
      try {
        // Atomic: a reader (or a crash) never sees a half-written file.
        await fs.writeFile(tmp, JSON.stringify({ version: 1, leases: bound }, null, 1));
        await fs.rename(tmp, file);
      } catch (err) {
        this.logger.warn('could not save leases', { file, error: String(err) });
      }
    });
  }

  private async load(): Promise<void> {
    const file = this.opts.pool.leasesFile;
    if (!file) return;
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch {
      return;
    }
    try {
      const data: unknown = JSON.parse(text);
      const list = isRecord(data) && Array.isArray(data.leases) ? (data.leases as unknown[]) : [];
      const now = this.clock.now();
      for (const item of list) {
        if (!isRecord(item)) continue;
        const { mac, ip, expires } = item;
        if (typeof mac !== 'string' || typeof ip !== 'string' || typeof expires !== 'number') continue;
        if (expires <= now || !/^\d+\.\d+\.\d+\.\d+$/.test(ip) || !this.inSubnet(ip)) continue;
        // Keys this server writes are MACs or declined:<ip>; anything else is not from us.
        if (mac.length > MAX_KEY_LENGTH || !/^[\x20-\x7e]+$/.test(mac)) continue;
        this.leases.set(mac, ipToInt(ip), 'bound', expires);
      }
    } catch (err) {
      this.logger.warn('ignoring unreadable leases file', { file, error: String(err) });
    }
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}
