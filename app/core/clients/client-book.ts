/**
 * The client model: the one owner of what a session knows per client. It resolves which MAC an event
 * belongs to (IP → MAC for TFTP/HTTP, which only see an address), folds each event once into the
 * client's timeline (timeline.ts) and its facts (facts.ts), finds boot loops (file-roles.ts), decides
 * stalls, and holds the operator's blocks and the loop breaker's pauses. The UI row, the diagnoses and
 * the report are views of it (`row`, `rows`).
 *
 * Memory is bounded for a flood of new MACs: at most `maxClients` records; a new client evicts the
 * least recently active one without an open transfer (counted in `evicted`, shown in the snapshot),
 * and at most `maxEntries` timeline lines per client.
 *
 * Over ~400 lines on purpose: it is the one place the per-client state is changed (records, addresses,
 * blocks, pauses, the Secure Boot chain); what can be pure lives beside it (timeline.ts, facts.ts,
 * diagnosis.ts, row-view.ts, row-batch.ts, activity-order.ts, secure-boot-chain.ts).
 */
import type { OperatorExclusion } from '../../engines/dhcp/boot-decision.js';
import { normalizeMac } from '../../engines/dhcp/exclusion.js';
import type { DhcpEvent, EngineEvent, FirmwareKind, TransferEvent } from '../../shared/events.js';
import type { MacOverride } from '../../shared/library-types.js';
import { systemClock, type Clock, type Logger } from '../../shared/runtime.js';
import type { BootChain, SecureBootMode } from '../../shared/secure-boot.js';
import type { ClientRecord, Diagnosis, SessionMode } from '../../shared/session-types.js';
import { diagnose, type DiagnosisOptions } from './diagnosis.js';
import { ActivityOrder } from './activity-order.js';
import { RowBatch } from './row-batch.js';
import { findingsKey, rowView } from './row-view.js';
import { foldDhcp, foldTransfer, newFacts, setLoopBroken, type ClientFacts } from './facts.js';
import { loopRun } from './file-roles.js';
import { kernelRefusedWords } from './secure-boot-findings.js';
import { applyDhcp, applyTransfer, markStalled, newRecord, noteLine, type RecordDraft } from './timeline.js';
import { chainAfterEvent, chainOnRequest, initialChain, signedChainFirmware } from './secure-boot-chain.js';

export interface ClientBookOptions extends Omit<DiagnosisOptions, 'mode'> {
  /** Session mode (the site-boot-file rule applies in proxy mode only); default 'files'. */
  readonly mode?: SessionMode;
  /** The Secure Boot setting (which chain UEFI x64 clients get, chainFor); default 'auto'. */
  readonly secureBoot?: SecureBootMode;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Client records kept (default 4096); the least recently active idle one goes first. */
  readonly maxClients?: number;
  /** Timeline lines kept per client (default 50). */
  readonly maxEntries?: number;
  readonly vendorOf?: (mac: string) => string | undefined;
  /** The library's per-MAC boot override, shown in the row. */
  readonly bootOverride?: (mac: string) => MacOverride | undefined;
  /**
   * Rows changed by engine events (and the tick) are announced at most this often per MAC (ms), each with
   * everything that changed meanwhile: a flood of 20 000 new MACs/s must not build and send a row per
   * event. The timeline itself keeps every line. 0 (default): one row per change, synchronously.
   * Operator actions (block, unblock, pause, boot override) are always announced at once.
   */
  readonly batchMs?: number;
}

/** A boot loop the client model found; the session's loop breaker decides what to do about it. */
export interface LoopFinding {
  readonly mac: string;
  readonly file: string;
  readonly count: number;
}

interface Client {
  readonly record: RecordDraft;
  readonly facts: ClientFacts;
  /** Signature of the findings last emitted (tick re-emits a row only when they change). */
  findings?: string;
  /** Its last activity's number (activity-order.ts). */
  active: number;
  /** Dropped from the book (evicted, forgotten): its activity entries are stale. */
  dropped: boolean;
}

const DEFAULT_MAX_CLIENTS = 4096;
/** Rows announced in one go before the event loop gets a turn (batchMs > 0). */
/** Clients a sliced tick looks at in one go. */
const TICK_SLICE = 256;
/** How far from the least recently active end eviction looks for a client without an open transfer. */
const EVICTION_SCAN = 64;

/** A client that eviction may take without cutting a download short. */
const idleClient = (c: Client): boolean => c.facts.transfers.size === 0;

/** Events that tell which address a MAC has (our offers/acks, requests naming it, INFORM's ciaddr). */
const TEACHES_IP: ReadonlySet<DhcpEvent['type']> = new Set([
  'offer',
  'ack',
  'request',
  'pxe-request',
  'inform',
]);

export class ClientBook {
  /** Every client by MAC (in order of creation). */
  private readonly clients = new Map<string, Client>();
  /** Eviction order (least recently active first). */
  private readonly activity = new ActivityOrder<Client>((c) => (c.dropped ? undefined : c.active));
  private readonly ipToMac = new Map<string, string>();
  private readonly blocked = new Set<string>();
  private readonly paused = new Map<string, { until: number; reason: string }>();
  private readonly listeners = new Set<(row: ClientRecord) => void>();
  private readonly clock: Clock;
  private readonly maxClients: number;
  private readonly maxEntries: number;
  private rules: DiagnosisOptions;
  private evictions = 0;
  /** Row announcements batched every batchMs (row-batch.ts); undefined: each row at once. */
  private readonly batch: RowBatch | undefined;
  /** A sliced tick under way (tickSlices). */
  private ticking: ReturnType<typeof setImmediate> | undefined;

  constructor(private readonly options: ClientBookOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.maxClients = Math.max(1, options.maxClients ?? DEFAULT_MAX_CLIENTS);
    this.maxEntries = options.maxEntries ?? 50;
    this.rules = { ...options, mode: options.mode ?? 'files', secureBoot: options.secureBoot ?? 'auto' };
    const batchMs = options.batchMs ?? 0;
    if (batchMs > 0)
      this.batch = new RowBatch(batchMs, (mac) => {
        const client = this.clients.get(mac);
        if (client) this.emit(mac, client);
      });
  }

  /**
   * A new session run: clients, addresses, pauses and the eviction count start afresh; the operator's
   * blocks stay (they are about machines, not about one run).
   */
  reset(mode: SessionMode, secureBoot: SecureBootMode = 'auto'): void {
    this.flush();
    if (this.ticking) clearImmediate(this.ticking);
    this.ticking = undefined;
    this.clients.clear();
    this.activity.clear();
    this.ipToMac.clear();
    this.paused.clear();
    this.evictions = 0;
    this.rules = { ...this.rules, mode, secureBoot };
  }

  /** Client records dropped so far to keep the book bounded. */
  get evicted(): number {
    return this.evictions;
  }

  onChange(listener: (row: ClientRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The MAC an event is about: DHCP carries it; a transfer's address is resolved, else `ip:<address>`. */
  macOf(event: EngineEvent): string {
    if (event.engine === 'tftp' || event.engine === 'http') {
      const a = (event as TransferEvent).client.address;
      return event.client.mac ?? this.ipToMac.get(a) ?? `ip:${a}`;
    }
    return (event as DhcpEvent).client.mac;
  }

  /**
   * One engine event: folded once into the client's timeline and facts, then the row is emitted.
   * Returns a boot loop when this download completed one (and the MAC is not paused for it already).
   */
  ingest(event: EngineEvent): LoopFinding | undefined {
    const mac = this.macOf(event);
    const overheard = event.engine === 'proxy' && event.type === 'request';
    // A REQUEST the proxy overheard on 67 (to the site server, whose lease is invisible to us) binds
    // IP → MAC for machines that network-boot or already have a record (not every laptop on the LAN);
    // it is not an exchange with us, so the diagnosis facts do not count it.
    if (overheard && !(event as DhcpEvent).client.netboot && !this.clients.has(mac)) return undefined;
    const client = this.client(mac, event.time);
    // Anything but another server's offer is progress (a stalled boot that moves again is not stalled).
    if (event.type !== 'foreign-offer') delete client.facts.stalled;
    let loop: LoopFinding | undefined;
    if (event.engine === 'tftp' || event.engine === 'http') {
      const e = event as TransferEvent;
      const r = client.record;
      if (mac.startsWith('ip:') || !r.ip) r.ip = e.client.address;
      const started = client.facts.transfers.get(`${e.engine}/${e.transferId}`)?.started;
      applyTransfer(r, e, started, this.maxEntries);
      if (foldTransfer(client.facts, e) && !mac.startsWith('ip:') && !client.facts.loopBroken) {
        const run = loopRun(client.facts.downloads, e.file, this.rules);
        if (run) loop = { mac, file: run.file, count: run.count };
      }
    } else {
      const e = event as DhcpEvent;
      if (e.ip && TEACHES_IP.has(e.type)) this.bind(e.ip, mac);
      applyDhcp(client.record, e, this.maxEntries);
      if (!overheard) foldDhcp(client.facts, e);
    }
    // Which chain (Secure Boot): a new UEFI x64 client starts on one; a refusal of iPXE moves it (auto).
    const setting = this.rules.secureBoot ?? 'auto';
    if (!overheard && chainAfterEvent(client.facts, client.record, event, setting, this.maxEntries))
      this.options.logger?.info('signed chain from now on: its firmware did not run iPXE', { mac });
    this.changed(mac, client);
    return loop;
  }

  /**
   * The chain for a firmware request of `mac` (never asked for iPXE's own requests), before the request's
   * event arrives: in `auto` this very request may be the one that shows the refusal (secure-boot-chain.ts).
   */
  chainFor(rawMac: string, firmware: FirmwareKind): BootChain {
    const setting = this.rules.secureBoot ?? 'auto';
    if (!signedChainFirmware(firmware) || setting !== 'auto') return initialChain(setting, firmware);
    const mac = normalizeMac(rawMac);
    const client = this.clients.get(mac);
    if (client && chainOnRequest(client.facts, client.record, this.clock.now(), this.maxEntries)) {
      this.options.logger?.info('signed chain from now on: its firmware did not run iPXE', { mac });
      this.changed(mac, client);
    }
    return client?.facts.chain?.chain ?? 'ipxe';
  }

  /** The signed chain's GRUB refused a library entry's kernel (it fetched grub/refused/<entry>: grub-script.ts). */
  kernelRefused(mac: string | undefined, entry: string): void {
    const key = mac?.toLowerCase() ?? '';
    const client = this.clients.get(key);
    if (!client) return;
    client.facts.kernelRefused = { entry, time: this.clock.now() };
    client.record.stage = 'failed'; // its kernel arrived ('booted') but did not start
    noteLine(client.record, this.clock.now(), kernelRefusedWords(entry), this.maxEntries);
    this.changed(key, client);
  }

  macForIp(ip: string): string | undefined {
    return this.ipToMac.get(ip);
  }

  /**
   * `ip` belongs to `mac`, learnt outside our own DHCP replies: in proxy mode the site server leases the
   * address, so iPXE's `boot.ipxe?mac=…` request or the site's ACK seen on 68 is the first place the pair
   * shows up, and the downloads that follow must join that machine's record rather than an `ip:` one.
   */
  learnIp(ip: string, mac: string): void {
    const key = mac.toLowerCase();
    const client = this.clients.get(key);
    const changed = client !== undefined && client.record.ip !== ip;
    this.bind(ip, key);
    if (client && changed) this.changed(key, client);
  }

  private bind(ip: string, mac: string): void {
    if (this.ipToMac.get(ip) !== mac) {
      this.ipToMac.delete(ip); // re-inserted last: the map stays in learning order for its bound
      this.ipToMac.set(ip, mac);
      // Addresses of MACs without a record (learnt from a site ACK or a script request) stay bounded too.
      if (this.ipToMac.size > 2 * this.maxClients) {
        const oldest = this.ipToMac.keys().next().value;
        if (oldest !== undefined) this.ipToMac.delete(oldest);
      }
    }
    const client = this.clients.get(mac);
    if (client) client.record.ip = ip;
  }

  /** Whether this MAC has a record (it network-booted at us in this session). */
  knows(mac: string): boolean {
    return this.clients.has(mac.toLowerCase());
  }

  /** Drops a client's record (UI "Forget"); it reappears with a fresh timeline when it boots again. */
  forget(mac: string): boolean {
    return this.drop(mac.toLowerCase());
  }

  private drop(mac: string): boolean {
    const client = this.clients.get(mac);
    if (!client) return false;
    client.dropped = true;
    this.clients.delete(mac);
    this.batch?.forget(mac);
    const ip = client.record.ip;
    if (ip && this.ipToMac.get(ip) === mac) this.ipToMac.delete(ip);
    return true;
  }

  /** The operator blocks a MAC: no boot answer until unblocked. */
  block(mac: string): void {
    this.blocked.add(mac);
    this.touch(mac);
  }

  /** Unblock also lifts a loop-breaker pause (and forgets the loop) so the machine may boot again. */
  unblock(mac: string): { liftedPause: boolean } {
    this.blocked.delete(mac);
    const liftedPause = this.unpause(mac);
    this.touch(mac);
    return { liftedPause };
  }

  /** The loop breaker pauses `loop.mac` until `until` (epoch ms). */
  pause(loop: LoopFinding, until: number, reason: string): void {
    this.paused.set(loop.mac, { until, reason });
    const facts = this.clients.get(loop.mac)?.facts;
    if (facts) setLoopBroken(facts, { file: loop.file, count: loop.count, until, time: this.clock.now() });
    this.touch(loop.mac);
  }

  /** Ends a pause and forgets the loop's downloads, so the next boot starts counting afresh. */
  private unpause(mac: string): boolean {
    const had = this.paused.delete(mac);
    const facts = this.clients.get(mac)?.facts;
    if (facts) setLoopBroken(facts, undefined);
    return had;
  }

  /** A pause whose time is up ends (lazily here and on every tick). */
  private pauseOf(mac: string, now: number): { until: number; reason: string } | undefined {
    const p = this.paused.get(mac);
    if (!p || now < p.until) return p;
    this.unpause(mac);
    this.options.logger?.info('loop breaker pause ended', { mac });
    return undefined;
  }

  /** The session's own exclusion of a MAC, for the boot decision: blocked by the operator or paused. */
  exclusion(mac: string): OperatorExclusion | undefined {
    if (this.blocked.has(mac)) return { kind: 'blocked', reason: 'blocked by the operator' };
    const p = this.pauseOf(mac, this.clock.now());
    return p ? { kind: 'paused', reason: p.reason } : undefined;
  }

  /** Re-emits a client's row after something outside the events changed it (block, pause, boot override). */
  touch(mac: string): void {
    const client = this.clients.get(mac);
    if (!client) return;
    this.batch?.forget(mac);
    this.emit(mac, client);
  }

  /** Announces every row changed since the last batch now (batchMs > 0; the session calls it on stop). */
  flush(): void {
    this.batch?.flush();
  }

  diagnoses(mac: string): Diagnosis[] {
    const client = this.clients.get(mac);
    return client ? diagnose(client.facts, this.clock.now(), this.rules) : [];
  }

  /** One client's row: its timeline record with the findings, block, pause and boot override. */
  row(mac: string): ClientRecord | undefined {
    const client = this.clients.get(mac);
    return client ? this.view(mac, client, this.clock.now()) : undefined;
  }

  /** Every row in the order the clients first appeared (the table's order; activity reorders the book). */
  rows(): ClientRecord[] {
    const now = this.clock.now();
    return [...this.clients]
      .sort(([, a], [, b]) => a.record.firstSeen - b.record.firstSeen)
      .map(([mac, client]) => this.view(mac, client, now));
  }

  /**
   * Once a second: pauses that ran out end, unfinished boots without progress become stalled, and a row
   * whose time-based findings changed (site-boot-file, no-next-step, stalls) is emitted again.
   */
  tick(): void {
    this.tickSlices(Number.POSITIVE_INFINITY);
  }

  /**
   * The session's tick: the same, `TICK_SLICE` clients at a time with the event loop free in between
   * (4 096 diagnoses at once held a flood's DISCOVERs for about 10 ms every second). The clients there
   * were when it began are looked at, at that time; a tick still under way when the next is due is
   * not started again.
   */
  tickSlices(slice = TICK_SLICE): void {
    if (this.ticking) return;
    const now = this.clock.now();
    for (const mac of [...this.paused.keys()]) if (!this.pauseOf(mac, now)) this.touch(mac);
    const stallMs = this.options.stallMs ?? 30_000;
    const clients = this.clients.entries();
    let left = this.clients.size;
    const step = (): void => {
      this.ticking = undefined;
      for (let n = 0; n < slice && left > 0; n++, left--) {
        const next = clients.next();
        if (next.done) return;
        const [mac, client] = next.value;
        const where = markStalled(client.record, now, stallMs, this.maxEntries);
        if (where !== undefined) client.facts.stalled = { time: now, where };
        const stalled = where !== undefined;
        const sig = findingsKey(diagnose(client.facts, now, this.rules));
        if (stalled || sig !== client.findings) this.changed(mac, client);
      }
      if (left > 0) {
        this.ticking = setImmediate(step);
        this.ticking.unref?.();
      }
    };
    step();
  }

  private view(mac: string, client: Client, now: number): ClientRecord {
    const found = diagnose(client.facts, now, this.rules);
    client.findings = findingsKey(found);
    const paused = this.paused.get(mac);
    return rowView(client.record, client.facts, found, {
      blocked: this.blocked.has(mac),
      ...(paused && now < paused.until ? { paused } : {}),
      ...(mac.startsWith('ip:') ? {} : { override: this.options.bootOverride?.(mac) }),
    });
  }

  /** A row changed through an engine event or the tick: announced now, or with the next batch. */
  private changed(mac: string, client: Client): void {
    if (this.listeners.size === 0) return;
    if (this.batch) this.batch.mark(mac);
    else this.emit(mac, client);
  }

  private emit(mac: string, client: Client): void {
    if (this.listeners.size === 0) return;
    const row = this.view(mac, client, this.clock.now());
    for (const listener of this.listeners) listener(row);
  }

  /** The client's state, created (evicting if full) or moved to the most recently active end. */
  private client(mac: string, time: number): Client {
    let client = this.clients.get(mac);
    if (client) {
      // A DISCOVER and its OFFER come in a row: the most recently active client stays where it is.
      if (client.active !== this.activity.latest)
        client.active = this.activity.touch(client, this.clients.size);
      return client;
    }
    if (this.clients.size >= this.maxClients) this.evictOne();
    client = {
      record: newRecord(mac, time, this.options.vendorOf?.(mac)),
      facts: newFacts(mac),
      active: 0,
      dropped: false,
    };
    this.clients.set(mac, client);
    client.active = this.activity.touch(client, this.clients.size);
    return client;
  }

  /** Drops the least recently active client that has no transfer open (else the least recent one). */
  private evictOne(): void {
    const victim = this.activity.oldest(idleClient, EVICTION_SCAN);
    if (victim !== undefined && this.drop(victim.facts.mac)) this.evictions++;
  }
}
