/**
 * SessionController: idle → starting → running → stopping → idle (or error), wiring the engines a
 * mode needs. Engines and the transport come from an injectable factory, so the state machine is
 * unit-testable with fakes while the CLI and the app use the real engines.
 *
 * Invariant: start() either ends `running` or has stopped every engine it started and closed the
 * transport (no socket, process or half-written lease file left behind).
 *
 * The jobs around it live beside it: preflight.ts (transport, probe, policy, port 68), engine-plan.ts
 * (which engines with which options), client-pipeline.ts (events into the client model), loop-breaker.ts
 * and errors.ts. What the session knows per client is the client model's (app/core/clients).
 */
import { statSync } from 'node:fs';
import type { Channel, DatagramTransport, TransportError } from '../../shared/datagram-transport.js';
import type { Engine } from '../../shared/engine.js';
import type { LibraryEntry, MacOverride } from '../../shared/library-types.js';
import {
  loggerFrom,
  silentLogger,
  systemClock,
  type Clock,
  type LogLevel,
  type LogRecord,
  type Logger,
} from '../../shared/runtime.js';
import type {
  ClientRecord,
  NicInfo,
  ProbeResult,
  SessionConfig,
  SessionError,
  SessionEvent,
  SessionSnapshot,
  SessionState,
} from '../../shared/session-types.js';
import { ClientBook } from '../clients/index.js';
import { ConfigError, normalizeMac, validateConfig, type ValidatedConfig } from '../config-validate.js';
import { listInterfaces } from '../interfaces.js';
import type { NetbootLibrary } from '../netboot-library.js';
import { createOuiLookup, type OuiLookup } from '../oui.js';
import { sendsBootOptions } from '../probe.js';
import { ClientPipeline } from './client-pipeline.js';
import { realEngineFactory, type EngineFactory } from './engine-factory.js';
import { startEngines } from './engine-plan.js';
import { toSessionError } from './errors.js';
import { LoopBreaker } from './loop-breaker.js';
import type { SessionControllerOptions } from './options.js';
import { preflight, ServerNotices } from './preflight.js';

export { realEngineFactory, toSessionError };
export type { EngineFactory, PortedEngine, TransportRequest } from './engine-factory.js';
export type { PreflightProbeOptions, SessionControllerOptions } from './options.js';

/** Default batch of engine-driven `client` events (options.ts, clientBatchMs). */
const CLIENT_BATCH_MS = 100;

/** Bounded copy of the session's log for the report. */
const MAX_LOG_RECORDS = 2000;

/** A Logger that forwards to `inner` and also keeps each record (for the session report). */
function recordingLogger(inner: Logger, source: string, keep: (r: LogRecord) => void, clock: Clock): Logger {
  const log = (level: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    keep({ time: clock.now(), level, source, message, ...(fields ? { fields } : {}) });
    inner.log(level, message, fields);
  };
  return loggerFrom(log, (child) => recordingLogger(inner.child(child), child, keep, clock));
}

export type ClientAction = 'forget' | 'block' | 'unblock';

/**
 * Whether an override names something the menu can boot: a library entry, or one boot entry of an ISO as
 * `<ISO entry id>#<boot entry id>` (isoEntryMetaKey; the menu generator reads the same form).
 */
function namesLibraryEntry(entries: readonly LibraryEntry[], wanted: string): boolean {
  if (entries.some((e) => e.id === wanted)) return true;
  const hash = wanted.lastIndexOf('#');
  if (hash < 0) return false;
  const iso = entries.find((e) => e.id === wanted.slice(0, hash))?.iso;
  return iso?.entries.some((b) => b.id === wanted.slice(hash + 1)) ?? false;
}

export class SessionController {
  private state: SessionState = 'idle';
  private error: SessionError | undefined;
  private config: SessionConfig | undefined;
  private startedAt: number | undefined;
  private endpoints: Record<string, string> = {};
  private transportKind: SessionSnapshot['transport'];
  private warnings: string[] = [];
  private readonly listeners = new Set<(e: SessionEvent) => void>();
  private engines: Engine[] = [];
  private transport: DatagramTransport | undefined;
  /** The client model: one for the controller's life, reset on each start (blocks stay). */
  private readonly book: ClientBook;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly factory: EngineFactory;
  private library: NetbootLibrary | undefined;
  private probe: ProbeResult | undefined;
  private nic: NicInfo | undefined;
  private logRecords: LogRecord[] = [];
  private offClientPort: (() => void) | undefined;
  /** MAC vendors for new rows, read while the session starts (not on the first DISCOVER). */
  private readonly oui: OuiLookup = createOuiLookup();

  constructor(private readonly options: SessionControllerOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.logger = recordingLogger(
      options.logger ?? silentLogger,
      'session',
      (r) => {
        if (r.level === 'debug') return;
        this.logRecords.push(r);
        if (this.logRecords.length > MAX_LOG_RECORDS) this.logRecords.shift();
      },
      this.clock,
    );
    this.factory = options.engines ?? realEngineFactory;
    const o = options;
    this.book = new ClientBook({
      clock: this.clock,
      logger: this.logger,
      vendorOf: this.oui,
      ...(o.maxClients !== undefined ? { maxClients: o.maxClients } : {}),
      batchMs: o.clientBatchMs ?? CLIENT_BATCH_MS,
      ...(o.loopCount !== undefined ? { loopCount: o.loopCount } : {}),
      ...(o.loopWindowMs !== undefined ? { loopWindowMs: o.loopWindowMs } : {}),
      ...(o.siteGraceMs !== undefined ? { siteGraceMs: o.siteGraceMs } : {}),
      ...(o.nextStepMs !== undefined ? { nextStepMs: o.nextStepMs } : {}),
      ...(o.stallMs ? { stallMs: o.stallMs } : {}),
      bootingServers: () =>
        new Map((this.probe?.servers ?? []).filter(sendsBootOptions).map((s) => [s.serverId, s.bootFile])),
      bootOverride: (mac) => this.library?.metadata().perMac[mac],
      // Kernels the signed chain fetched: signed or not (library-signature.ts), for the Secure Boot finding.
      signatureOf: (file) => this.library?.entries().find((e) => e.path === file)?.signature,
    });
    this.book.onChange((client) => this.emit({ type: 'client', client }));
  }

  onEvent(listener: (e: SessionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): SessionSnapshot {
    return {
      state: this.state,
      ...(this.config ? { config: this.config } : {}),
      ...(this.error ? { error: this.error } : {}),
      ...(this.startedAt !== undefined ? { startedAt: this.startedAt } : {}),
      ...(Object.keys(this.endpoints).length ? { endpoints: { ...this.endpoints } } : {}),
      ...(this.transportKind ? { transport: this.transportKind } : {}),
      clients: this.book.rows(),
      warnings: [...this.warnings],
      ...(this.probe ? { probe: this.probe } : {}),
      ...(this.book.evicted > 0 ? { clientsEvicted: this.book.evicted } : {}),
    };
  }

  /** What the session report needs beyond the snapshot: the NIC and the log (bounded, no debug). */
  reportData(): { snapshot: SessionSnapshot; nic?: NicInfo; log: LogRecord[] } {
    return { snapshot: this.snapshot(), ...(this.nic ? { nic: this.nic } : {}), log: [...this.logRecords] };
  }

  clientAction(mac: string, action: ClientAction): ClientRecord[] {
    const m = normalizeMac(mac);
    if (!m) throw new ConfigError('bad-mac', `"${mac}" is not a MAC address.`);
    if (action === 'block') this.book.block(m);
    else if (action === 'unblock') {
      if (this.book.unblock(m).liftedPause)
        this.logger.info('loop breaker lifted by the operator', { mac: m });
    } else if (action === 'forget') this.book.forget(m);
    this.logger.info(`${action} ${m}`);
    return this.book.rows();
  }

  /**
   * Per-MAC boot override (UI row actions "boot entry X" / "boot once"; undefined → the menu again).
   * Stored by the running session's library, so the very next `boot.ipxe?mac=` for that MAC serves it.
   */
  async setBootOverride(mac: string, override: MacOverride | undefined): Promise<void> {
    const m = normalizeMac(mac);
    if (!m) throw new ConfigError('bad-mac', `"${mac}" is not a MAC address.`);
    const library = this.library;
    if (this.state !== 'running' || !library)
      throw new ConfigError('not-running', 'Start the session first: boot entries are served by it.');
    if (override && !namesLibraryEntry(library.entries(), override.entry))
      throw new ConfigError('unknown-entry', `"${override.entry}" is not in the netboot library.`);
    await library.setMacOverride(m, override);
    this.book.touch(m); // the row shows the override (a reload too: it comes from the library)
    this.logger.info(
      override
        ? `${m} will boot ${override.entry}${override.once ? ' once' : ''} (no menu)`
        : `${m} gets the boot menu again`,
    );
  }

  private emit(event: SessionEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (error) {
        this.logger.warn('session listener threw', { error: String(error) });
      }
    }
  }

  private setState(state: SessionState): void {
    // Rows changed before a state change are announced before it (a stop's last rows, then "stopping").
    this.book.flush();
    this.state = state;
    this.emit({ type: 'state', snapshot: this.snapshot() });
  }

  private warn(message: string): void {
    this.warnings.push(message);
    this.logger.warn(message);
    this.emit({ type: 'warning', message });
  }

  async start(config: SessionConfig): Promise<SessionSnapshot> {
    if (this.state === 'starting' || this.state === 'running' || this.state === 'stopping')
      throw new ConfigError('already-running', 'A session is already running: stop it first.');
    this.error = undefined;
    this.warnings = [];
    this.endpoints = {};
    this.config = config;
    this.transportKind = undefined;
    this.probe = undefined;
    this.nic = undefined;
    this.logRecords = [];
    this.book.reset(config.mode, config.secureBoot ?? 'auto');
    this.setState('starting');
    try {
      const interfaces =
        config.iface !== undefined ? await (this.options.interfaces ?? listInterfaces)() : [];
      const folderExists =
        this.options.folderExists ??
        ((p: string) => {
          try {
            return statSync(p).isDirectory();
          } catch {
            return false;
          }
        });
      const valid = validateConfig(config, { interfaces, folderExists });
      this.nic = interfaces.find((n) => n.name === config.iface);
      for (const w of valid.warnings) this.warn(w);
      const vendors = this.oui.load(); // read during the preflight's wait
      await this.run(valid);
      await vendors;
      this.startedAt = this.clock.now();
      this.ticker = setInterval(() => this.book.tickSlices(), 1000);
      this.ticker.unref?.();
      this.setState('running');
      this.logger.info('session running', { mode: config.mode, endpoints: this.endpoints });
      return this.snapshot();
    } catch (error) {
      await this.teardown();
      this.error = toSessionError(error);
      this.logger.error(this.error.message, { code: this.error.code });
      this.setState('error');
      return this.snapshot();
    }
  }

  /** Preflight (DHCP modes), then the engine plan, with every event going through the client pipeline. */
  private async run(v: ValidatedConfig): Promise<void> {
    const c = v.config;
    const ports = c.ports ?? {};
    const channelPorts: Partial<Record<Channel, number>> = {};
    if (ports.dhcp !== undefined) channelPorts.dhcp = ports.dhcp;
    if (ports.proxy !== undefined) channelPorts.pxe = ports.proxy;
    if (ports.client !== undefined) channelPorts['dhcp-client'] = ports.client;
    if (ports.tftp !== undefined) channelPorts.tftp = ports.tftp;
    const warn = (m: string): void => this.warn(m);
    // Preflight before anything serves: look at the LAN, refuse full DHCP next to another DHCP server.
    const checked =
      c.mode === 'files'
        ? undefined
        : await preflight(v, channelPorts, {
            factory: this.factory,
            options: this.options,
            logger: this.logger,
            clock: this.clock,
            adopt: (t) => {
              this.transport = t;
              this.transportKind = t?.kind;
            },
            onTransportError: (e) => void this.transportFailed(e),
            warn,
            onProbe: (result) => {
              this.probe = result;
              this.emit({ type: 'probe', result });
            },
          });
    const pipeline = new ClientPipeline(
      this.book,
      new LoopBreaker(this.book, this.options, this.clock, warn),
      new ServerNotices(c.mode, checked?.probe, warn),
      c.mode,
      v.address,
      this.clock,
    );
    await startEngines(v, {
      factory: this.factory,
      options: this.options,
      logger: this.logger,
      clock: this.clock,
      transport: checked?.transport,
      book: this.book,
      track: (engine) => this.engines.push(engine),
      onEvent: (event) => pipeline.onEngineEvent(event),
      adoptLibrary: (library) => {
        this.library = library;
      },
      warn,
      endpoints: this.endpoints,
    });
    // From now on, other servers' offers to the clients we serve join their records (port 68).
    if (checked?.clientPort)
      this.offClientPort = checked.transport.onDatagram((d) => {
        if (this.state === 'running') pipeline.onClientPort(d);
      });
  }

  private async transportFailed(error: TransportError): Promise<void> {
    if (this.state !== 'running') return;
    // The broadcast route left the chosen NIC mid-session: the transport now refuses broadcasts (nothing
    // leaves through another card); say so where the user looks, the session keeps serving unicast.
    if (error.code === 'unpinned-broadcast') {
      if (!this.warnings.includes(error.message)) this.warn(error.message);
      return;
    }
    if (error.code !== 'helper-died') return;
    await this.teardown();
    this.startedAt = undefined;
    this.endpoints = {};
    this.error = toSessionError(error);
    this.logger.error(this.error.message, { code: this.error.code });
    this.setState('error');
  }

  /** SIGHUP / UI "rescan": re-reads the netboot folder so new images appear in the menu; returns the entry count. */
  async rescan(): Promise<number> {
    return (await this.library?.scan())?.length ?? 0;
  }

  private async teardown(): Promise<void> {
    this.offClientPort?.();
    this.offClientPort = undefined;
    this.library?.close();
    this.library = undefined;
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    // Reverse order: DHCP first so no client is pointed at a TFTP server that is already gone.
    const engines = this.engines.reverse();
    this.engines = [];
    for (const engine of engines) {
      try {
        await engine.stop();
      } catch (error) {
        this.logger.warn('engine stop failed', { error: String(error) });
      }
    }
    const transport = this.transport;
    this.transport = undefined;
    if (transport) {
      try {
        await transport.close();
      } catch (error) {
        this.logger.warn('transport close failed', { error: String(error) });
      }
    }
  }

  async stop(): Promise<SessionSnapshot> {
    if (this.state === 'idle' || this.state === 'stopping') return this.snapshot();
    if (this.state === 'error') {
      this.error = undefined;
      this.setState('idle');
      return this.snapshot();
    }
    this.setState('stopping');
    await this.teardown();
    this.startedAt = undefined;
    this.endpoints = {};
    this.setState('idle');
    return this.snapshot();
  }
}
