/**
 * What the proxy and the full DHCP server share: listeners and counters, the rate limiter, the per-MAC
 * memory of DISCOVERs, encoding and sending a reply, and the boot-server port 4011 (both serve it:
 * docs/protocol-notes.md §5 and §6, test-catalogue F5).
 */
import type { BootConfig, BootRefusal } from './boot-decision.js';
import { refusalNeedsAction } from './boot-decision.js';
import type { DatagramTransport, Endpoint } from '../../shared/datagram-transport.js';
import type { DhcpEvent, EngineCounters } from '../../shared/events.js';
import type { Clock, Logger } from '../../shared/runtime.js';
import { silentLogger, systemClock } from '../../shared/runtime.js';
import type { DhcpMessage } from './codec.js';
import { Opt, encode, encodeSubOptions, ipToBytes, macOf, subOptions } from './codec.js';
import { ClientMemory } from './client-memory.js';
import { netbootClassOf } from './netboot-client.js';
import { answerBootServer, identityOf, maxSizeOf } from './pxe-reply.js';
import { RateLimiter } from './rate-limit.js';
import { emitEvent } from './receive.js';

export interface DhcpEngineOptions {
  readonly transport: DatagramTransport;
  readonly serverAddress: string;
  readonly boot: BootConfig;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Per-MAC replies per second (default 20) and global (default 50 000). */
  readonly perMacRate?: number;
  readonly globalRate?: number;
  /**
   * How long (ms) a client's DISCOVER is remembered so that its 4011 REQUEST is answered even when it
   * carries no option 93 (docs/protocol-notes.md §5, test-catalogue P12). Default 300 000 (5 min); 0 = never: such requests get no reply.
   * At most `maxRemembered` MACs (default 4096), oldest first out.
   */
  readonly rememberMs?: number;
  readonly maxRemembered?: number;
  /**
   * Operator's raw option 43 (well-formed PXE sub-options, proxyDHCPd `vendor_specific_information`):
   * replaces ours in every PXEClient reply; a 4011 ACK still echoes the client's boot item (71).
   * The session passes it in proxy mode only.
   */
  readonly vendorOptions?: Uint8Array;
}

export abstract class DhcpEngineBase {
  protected readonly listeners = new Set<(e: DhcpEvent) => void>();
  protected readonly stats = { received: 0, malformed: 0, rateLimited: 0, sent: 0 };
  protected readonly logger: Logger;
  protected readonly clock: Clock;
  protected readonly limiter: RateLimiter;
  protected readonly memory: ClientMemory;
  protected readonly boot: BootConfig;
  /** Our address as option 54 bytes, built once (hot path). */
  protected readonly serverId: Buffer;

  protected constructor(
    private readonly base: DhcpEngineOptions,
    private readonly engine: DhcpEvent['engine'],
  ) {
    this.logger = (base.logger ?? silentLogger).child(engine === 'proxy' ? 'proxy' : 'dhcp');
    this.clock = base.clock ?? systemClock;
    this.limiter = new RateLimiter(this.clock, base.perMacRate ?? 20, base.globalRate ?? 50_000);
    this.memory = new ClientMemory(base.rememberMs ?? 300_000, base.maxRemembered ?? 4096);
    this.boot = { ...base.boot, mode: engine === 'proxy' ? 'proxy' : 'dhcp' };
    this.serverId = ipToBytes(base.serverAddress);
  }

  onEvent(listener: (e: DhcpEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  counters(): EngineCounters {
    return { ...this.stats };
  }

  /** Events are built only when someone listens (20 000 DISCOVER/s must not pay for unused ones). */
  protected get observed(): boolean {
    return this.listeners.size > 0;
  }

  protected emit(e: Omit<DhcpEvent, 'engine' | 'time'>): void {
    if (this.listeners.size === 0) return;
    emitEvent(this.listeners, { engine: this.engine, time: this.clock.now(), ...e }, this.logger);
  }

  protected send(channel: 'dhcp' | 'pxe', to: Endpoint, reply: DhcpMessage, req: DhcpMessage): void {
    const max = maxSizeOf(req);
    const data = encode(reply, max !== undefined ? { maxMessageSize: max } : {});
    this.stats.sent++;
    this.base.transport.send(channel, to, data).catch((err: unknown) => {
      this.logger.warn('send failed', { to: `${to.address}:${to.port}`, error: String(err) });
    });
  }

  /**
   * Logs why a boot client gets no boot answer: a warning when it is a network-boot client we recognised
   * but cannot serve (no or missing boot file, unsupported architecture: the user must act, test-catalogue
   * U5), info for deliberate refusals (allow/deny lists, blocks).
   */
  protected logRefusal(plan: BootRefusal, mac: string): void {
    const fields = { mac, reason: plan.reason, code: plan.code };
    if (refusalNeedsAction(plan.code)) this.logger.warn('not answering boot client', fields);
    else this.logger.info('not answering boot client', fields);
  }

  /** A REQUEST/INFORM on 4011: the boot file (BINL) or the chosen menu item, to the request's source. */
  protected onBootServerRequest(msg: DhcpMessage, source: Endpoint): void {
    if (msg.op !== 1) return;
    const mac = macOf(msg);
    if (!this.limiter.allow(mac)) {
      this.stats.rateLimited++;
      return;
    }
    const answer = answerBootServer(msg, source, this.boot, this.serverId, this.memory, this.clock.now());
    if (!answer) return;
    const observed = this.observed;
    if (observed) {
      this.emit({ type: 'pxe-request', client: identityOf(msg, answer.req), xid: msg.xid, ip: msg.ciaddr });
    }
    if (answer.kind === 'refuse') {
      this.logger.info('not answering 4011 request', { mac, reason: answer.reason, code: answer.code });
      if (observed) {
        const client = identityOf(msg, answer.req);
        this.emit({ type: 'refusal', client, xid: msg.xid, reason: answer.reason, refusal: answer.code });
      }
      return;
    }
    const own43 = this.base.vendorOptions;
    if (own43 && netbootClassOf(answer.req.vendorClass) === 'PXEClient') {
      const subs = subOptions(Buffer.from(own43));
      const item = subOptions(msg.options.get(Opt.vendorSpecific)).get(71);
      if (item && item.length === 4) subs.set(71, Buffer.from(item));
      answer.reply.options.set(Opt.vendorSpecific, encodeSubOptions([...subs]));
    }
    this.send('pxe', answer.to, answer.reply, msg);
    if (observed) {
      const client = identityOf(msg, answer.req, answer.ipxe);
      this.emit({ type: 'pxe-ack', client, xid: msg.xid, bootFile: answer.bootFile });
    }
  }
}
