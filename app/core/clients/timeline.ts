/**
 * Per-client timeline: folds DhcpEvents and TransferEvents into one ClientRecord per MAC.
 * TFTP/HTTP only know the client's IP, so the IP → MAC map is learnt from offers, acks and
 * proxy requests (ciaddr). Memory is bounded: at most `maxClients` records (oldest evicted) and
 * `maxEntries` timeline lines per client.
 */
import type { DhcpEvent, EngineEvent, TransferEvent } from '../../shared/events.js';
import { systemClock, type Clock } from '../../shared/runtime.js';
import type { ClientRecord, ClientStage, TimelineEntry } from '../../shared/session-types.js';

export interface TimelineOptions {
  readonly clock?: Clock;
  readonly maxClients?: number;
  readonly maxEntries?: number;
  /** No progress for this long marks an unfinished client stalled. */
  readonly stallMs?: number;
  /** Files whose completion means "booted" (default: anything not a small script). */
  readonly isFinalFile?: (file: string) => boolean;
  readonly vendorOf?: (mac: string) => string | undefined;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const TERMINAL: readonly ClientStage[] = ['booted', 'refused', 'failed', 'stalled'];

function defaultFinal(file: string): boolean {
  // Chainloaded bootloaders (undionly.kpxe, ipxe.efi) and scripts are intermediate steps.
  return !/\.(kpxe|pxe|efi|ipxe|cfg|0)$/i.test(file) && !/boot\.ipxe/.test(file);
}

function kb(bytes: number): string {
  if (bytes >= 1_000_000) return `${(bytes / 1_000_000).toFixed(1)} MB`;
  return bytes >= 1000 ? `${Math.round(bytes / 1000)} kB` : `${bytes} B`;
}

export class Timeline {
  private readonly clients = new Map<string, Mutable<ClientRecord>>();
  private readonly ipToMac = new Map<string, string>();
  private readonly listeners = new Set<(client: ClientRecord) => void>();
  private readonly clock: Clock;
  private readonly maxClients: number;
  private readonly maxEntries: number;
  private readonly stallMs: number;
  private readonly isFinal: (file: string) => boolean;
  private readonly vendorOf: (mac: string) => string | undefined;
  private readonly transferStart = new Map<string, number>();

  constructor(options: TimelineOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.maxClients = options.maxClients ?? 256;
    this.maxEntries = options.maxEntries ?? 50;
    this.stallMs = options.stallMs ?? 30_000;
    this.isFinal = options.isFinalFile ?? defaultFinal;
    this.vendorOf = options.vendorOf ?? (() => undefined);
  }

  onChange(listener: (client: ClientRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): ClientRecord[] {
    return [...this.clients.values()].map((c) => ({ ...c, timeline: [...c.timeline] }));
  }

  /** Whether this MAC has a record (it network-booted at us in this session). */
  knows(mac: string): boolean {
    return this.clients.has(mac.toLowerCase());
  }

  /** Drops a client's record (UI "Forget"); it reappears with a fresh timeline when it boots again. */
  forget(mac: string): boolean {
    return this.clients.delete(mac.toLowerCase());
  }

  macForIp(ip: string): string | undefined {
    return this.ipToMac.get(ip);
  }

  /**
   * Record that `ip` belongs to `mac` when it is learnt outside DHCP. In proxy mode the site server
   * leases the address, so we never see it in an OFFER/ACK of ours; iPXE's `boot.ipxe?mac=…` request
   * is the first place the pair shows up, and the kernel/initrd downloads that follow must join that
   * machine's record rather than an `ip:` one.
   */
  learnIp(ip: string, mac: string): void {
    const key = mac.toLowerCase();
    this.ipToMac.set(ip, key);
    const client = this.clients.get(key);
    if (client && client.ip !== ip) {
      client.ip = ip;
      this.emit(client);
    }
  }

  ingest(event: EngineEvent): void {
    if (event.engine === 'tftp' || event.engine === 'http') this.onTransfer(event as TransferEvent);
    else this.onDhcp(event as DhcpEvent);
  }

  /** Marks clients with no progress within the stall window; call periodically. */
  tick(): void {
    const now = this.clock.now();
    for (const client of this.clients.values()) {
      if (TERMINAL.includes(client.stage)) continue;
      if (now - client.lastSeen < this.stallMs) continue;
      const where = client.transfer
        ? ` during ${client.transfer.file} at ${kb(client.transfer.bytes)}`
        : ` after ${client.stage}`;
      const diagnosis = `No progress for ${Math.round(this.stallMs / 1000)} s${where}: check the cable, firewall, or that the firmware accepted the boot file.`;
      this.push(client, { time: now, stage: 'stalled', text: `stalled${where}` });
      client.stage = 'stalled';
      client.diagnosis = diagnosis;
      this.emit(client);
    }
  }

  private record(mac: string, time: number): Mutable<ClientRecord> {
    let client = this.clients.get(mac);
    if (!client) {
      if (this.clients.size >= this.maxClients) {
        const oldest = [...this.clients.values()].sort((a, b) => a.lastSeen - b.lastSeen)[0];
        if (oldest) {
          this.clients.delete(oldest.mac);
          if (oldest.ip) this.ipToMac.delete(oldest.ip);
        }
      }
      const vendor = this.vendorOf(mac);
      client = {
        mac,
        stage: 'dhcp',
        firstSeen: time,
        lastSeen: time,
        timeline: [],
        ...(vendor ? { vendor } : {}),
      };
      this.clients.set(mac, client);
    }
    return client;
  }

  private push(client: Mutable<ClientRecord>, entry: TimelineEntry): void {
    const lines = [...client.timeline, entry];
    client.timeline = lines.length > this.maxEntries ? lines.slice(lines.length - this.maxEntries) : lines;
    client.lastSeen = Math.max(client.lastSeen, entry.time);
  }

  private emit(client: ClientRecord): void {
    const copy = { ...client, timeline: [...client.timeline] };
    for (const listener of this.listeners) listener(copy);
  }

  private onDhcp(event: DhcpEvent): void {
    const id = event.client;
    const client = this.record(id.mac, event.time);
    if (id.firmware) client.firmware = id.firmware;
    if (id.arch !== undefined) client.arch = id.arch;
    if (id.vendorClass) client.vendorClass = id.vendorClass;
    if (id.userClass) client.userClass = id.userClass;
    if (id.uuid) client.uuid = id.uuid;
    if (event.ip && ['offer', 'ack', 'request', 'pxe-request', 'inform'].includes(event.type)) {
      client.ip = event.ip;
      this.ipToMac.set(event.ip, id.mac);
    }
    let stage: ClientStage = client.stage;
    let text: string = event.type.toUpperCase();
    const fw = id.firmware ? ` (${id.firmware}${id.ipxe ? ', iPXE' : ''})` : '';
    switch (event.type) {
      case 'discover':
        stage = 'dhcp';
        text = `DISCOVER${fw}`;
        break;
      case 'request':
        // After an offer the REQUEST is progress, not a restart: keep 'offered'.
        stage = client.stage === 'offered' ? 'offered' : 'dhcp';
        text = `REQUEST${event.ip ? ` ${event.ip}` : ''}${event.server ? ` from ${event.server}` : ''}${fw}`;
        break;
      case 'offer':
      case 'ack':
        stage = 'offered';
        text = `${event.type.toUpperCase()}${event.ip ? ` ${event.ip}` : ''}${event.bootFile ? ` → ${event.bootFile}` : ''}`;
        break;
      case 'pxe-request':
      case 'pxe-ack':
        stage = 'boot-server';
        text = `boot server ${event.type === 'pxe-ack' ? 'answer' : 'request'}${event.bootFile ? ` → ${event.bootFile}` : ''}`;
        break;
      case 'refusal':
        stage = 'refused';
        text = `not served: ${event.reason ?? 'refused'}`;
        client.diagnosis = event.reason;
        break;
      case 'nak':
        text = `NAK${event.reason ? `: ${event.reason}` : ''}`;
        break;
      case 'foreign-offer':
        // Seen on 68 (issue 10): which offer the client may take instead of ours.
        text = `another DHCP server ${event.server ?? ''} answered${event.ip ? ` ${event.ip}` : ''}${event.bootFile ? ` → ${event.bootFile}` : ''}`;
        break;
      default:
        break;
    }
    // A fresh DISCOVER after booting is a new boot attempt (reboot); anything else keeps the terminal stage.
    if (TERMINAL.includes(client.stage) && event.type !== 'discover' && stage !== 'refused')
      stage = client.stage;
    else if (event.type === 'discover') delete client.diagnosis;
    client.stage = stage;
    this.push(client, { time: event.time, stage, text });
    this.emit(client);
  }

  private onTransfer(event: TransferEvent): void {
    const mac = event.client.mac ?? this.ipToMac.get(event.client.address) ?? `ip:${event.client.address}`;
    const client = this.record(mac, event.time);
    if (!client.ip && !mac.startsWith('ip:')) client.ip = event.client.address;
    if (mac.startsWith('ip:')) client.ip = event.client.address;
    const key = `${event.engine}/${event.transferId}`;
    const stage: ClientStage = event.engine;
    client.transfer = event;
    client.lastSeen = Math.max(client.lastSeen, event.time);
    const label = event.engine.toUpperCase();
    switch (event.type) {
      case 'start':
        this.transferStart.set(key, event.time);
        client.stage = stage;
        this.push(client, {
          time: event.time,
          stage,
          text: `${label} ${event.file}`,
          file: event.file,
          ...(event.size !== undefined ? { size: event.size } : {}),
        });
        break;
      case 'progress':
        client.stage = stage;
        break;
      case 'done': {
        const began = this.transferStart.get(key) ?? event.time;
        this.transferStart.delete(key);
        const secs = ((event.time - began) / 1000).toFixed(1);
        // EDK2 asks for tsize and aborts (test-catalogue U6): a size question, not a finished download.
        const probe = event.detail?.probe === true;
        const final = !probe && this.isFinal(event.file);
        client.stage = final ? 'booted' : stage;
        if (final) delete client.diagnosis;
        this.push(client, {
          time: event.time,
          stage: client.stage,
          text: probe
            ? `${label} ${event.file}: size asked${event.size !== undefined ? ` (${kb(event.size)})` : ''}, download follows`
            : `${label} ${event.file} ${kb(event.bytes)} in ${secs} s`,
          file: event.file,
          bytes: event.bytes,
        });
        break;
      }
      case 'failed':
        this.transferStart.delete(key);
        client.stage = 'failed';
        client.diagnosis = event.reason ?? `${label} transfer of ${event.file} failed`;
        this.push(client, {
          time: event.time,
          stage: 'failed',
          text: `${label} ${event.file} failed: ${event.reason ?? 'unknown'}`,
          file: event.file,
          bytes: event.bytes,
        });
        break;
    }
    this.emit(client);
  }
}
