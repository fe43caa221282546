/**
 * SessionController: idle → starting → running → stopping → idle (or error), wiring the engines a
 * mode needs. Engines and the transport come from an injectable factory, so the state machine is
 * unit-testable with fakes while the CLI and the app use the real engines.
 *
 * Invariant: start() either ends `running` or has stopped every engine it started and closed the
 * transport (no socket, process or half-written lease file left behind).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chooseTransport } from '../../transport/choose-transport.js';
import {
  DhcpServer,
  ProxyDhcpServer,
  type DhcpServerOptions,
  type ProxyDhcpServerOptions,
} from '../../engines/dhcp/index.js';
import { HttpBootServer, type HttpBootServerOptions } from '../../engines/http/index.js';
import { TftpServer, type TftpServerOptions } from '../../engines/tftp/index.js';
import { defaultNativeTftpPath } from '../../engines/tftp/native-data-path.js';
import { MessageType, decode, macOf, messageType } from '../../engines/dhcp/codec.js';
import type {
  Channel,
  Datagram,
  DatagramTransport,
  TransportError,
} from '../../shared/datagram-transport.js';
import type { Engine } from '../../shared/engine.js';
import type { MacOverride } from '../../shared/library-types.js';
import type { DhcpEvent, EngineEvent, FirmwareKind, TransferEvent } from '../../shared/events.js';
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
  ProbeServer,
  SessionConfig,
  SessionError,
  SessionEvent,
  SessionSnapshot,
  SessionState,
} from '../../shared/session-types.js';
import {
  ConfigError,
  normalizeMac,
  parseVendorOptions,
  validateConfig,
  type ValidatedConfig,
} from '../config-validate.js';
import { listInterfaces } from '../interfaces.js';
import { createScriptHandler, parseScriptQuery } from '../ipxe-script.js';
import { NetbootLibrary } from '../netboot-library.js';
import { createOuiLookup } from '../oui.js';
import { Timeline } from '../clients/timeline.js';
import { decideBoot, type OperatorExclusion } from '../../engines/dhcp/boot-decision.js';
import { ClientDiagnoser, type LoopFinding } from '../clients/diagnosis.js';
import {
  DEFAULT_PROBE_WINDOW_MS,
  DhcpProbe,
  parseProbeReply,
  probeRefusal,
  sendsBootOptions,
  warningsFor,
} from '../probe.js';

/** An engine that may report the port it actually bound (port 0 → ephemeral). */
export type PortedEngine = Engine & { port?: () => number | undefined };

export interface EngineFactory {
  transport(opts: {
    policy: 'auto' | 'always' | 'never';
    iface?: string;
    bindAddress: string;
    ports: Partial<Record<Channel, number>>;
    helperPath?: string;
  }): Promise<DatagramTransport>;
  proxy(opts: Record<string, unknown>): Promise<Engine>;
  dhcp(opts: Record<string, unknown>): Promise<Engine>;
  tftp(opts: Record<string, unknown>): Promise<PortedEngine>;
  http(opts: Record<string, unknown>): Promise<PortedEngine>;
}

/**
 * The real engines. Options are assembled by the controller as plain records (the factory seam is
 * untyped so fakes stay trivial); each engine validates its own options.
 */
export const realEngineFactory: EngineFactory = {
  async transport({ policy, iface, ports, helperPath }) {
    // Direct sockets must bind 0.0.0.0 to receive broadcasts (docs/protocol-notes.md §11).
    return chooseTransport({
      policy,
      bindAddress: '0.0.0.0',
      ports,
      ...(iface !== undefined ? { iface } : {}),
      ...(helperPath !== undefined ? { helperPath } : {}),
    });
  },
  proxy: async (o) => new ProxyDhcpServer(o as unknown as ProxyDhcpServerOptions),
  dhcp: async (o) => new DhcpServer(o as unknown as DhcpServerOptions),
  tftp: async (o) => new TftpServer(o as unknown as TftpServerOptions),
  http: async (o) => new HttpBootServer(o as unknown as HttpBootServerOptions),
};

export interface SessionControllerOptions {
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly bootFilesDir?: string;
  readonly helperPath?: string;
  /**
   * The native TFTP data path binary (`pxe-desk-tftp`); default: the built or packaged one when present
   * (defaultNativeTftpPath). `false` keeps every transfer in Node.
   */
  readonly nativeTftpPath?: string | false;
  readonly interfaces?: () => Promise<NicInfo[]>;
  readonly engines?: EngineFactory;
  readonly folderExists?: (path: string) => boolean;
  /** Stall window for the timeline (ms). */
  readonly stallMs?: number;
  /** Where the DHCP leases file goes when the config names none (default `<root>/../` is never used: a state dir). */
  readonly stateDir?: string;
  /** Preflight probe window (ms) when the config gives none (default 3500). */
  readonly probeWindowMs?: number;
  /** Replaces the preflight probe (tests inject results; default: DhcpProbe on the session transport). */
  readonly runProbe?: (o: PreflightProbeOptions) => Promise<ProbeResult>;
  /** Loop breaker: the same file this many times (3) within loopWindowMs (60 s) pauses the MAC for loopPauseMs (5 min). */
  readonly loopCount?: number;
  readonly loopWindowMs?: number;
  readonly loopPauseMs?: number;
  /** After another server's offer, how long a client has to come to us before "site-boot-file" (10 s). */
  readonly siteGraceMs?: number;
  /** A finished boot loader with nothing after it for this long is "no-next-step" (30 s). */
  readonly nextStepMs?: number;
}

export interface PreflightProbeOptions {
  readonly transport: DatagramTransport;
  readonly iface: string;
  readonly windowMs: number;
  readonly serverPort: number;
  readonly ownAddresses: readonly string[];
  readonly logger: Logger;
  readonly clock: Clock;
}

/** How long another server's offer waits for our engine to see the same client's DISCOVER. */
const HOLD_FOREIGN_MS = 5000;

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
  private timeline: Timeline;
  private readonly blocked = new Set<string>();
  private ticker: ReturnType<typeof setInterval> | undefined;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly factory: EngineFactory;
  private readonly vendorOf = createOuiLookup();
  private library: NetbootLibrary | undefined;
  private probe: ProbeResult | undefined;
  private nic: NicInfo | undefined;
  private diagnoser: ClientDiagnoser;
  /** Loop breaker: MAC → until when and why we stopped naming a boot file to it. */
  private readonly paused = new Map<string, { until: number; reason: string }>();
  private logRecords: LogRecord[] = [];
  private ownAddress: string | undefined;
  private offClientPort: (() => void) | undefined;
  /** Other servers' offers for MACs we have not seen yet (bounded, a few seconds). */
  private readonly heldOffers = new Map<string, { event: DhcpEvent; type: number | undefined }>();
  /** Servers seen on 68 while running (for the "new server appeared" warning). */
  private readonly noticed = new Set<string>();

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
    this.timeline = this.newTimeline();
    this.diagnoser = this.newDiagnoser('files');
  }

  private newDiagnoser(mode: SessionConfig['mode']): ClientDiagnoser {
    const o = this.options;
    return new ClientDiagnoser({
      mode,
      ...(o.loopCount !== undefined ? { loopCount: o.loopCount } : {}),
      ...(o.loopWindowMs !== undefined ? { loopWindowMs: o.loopWindowMs } : {}),
      ...(o.siteGraceMs !== undefined ? { siteGraceMs: o.siteGraceMs } : {}),
      ...(o.nextStepMs !== undefined ? { nextStepMs: o.nextStepMs } : {}),
      ...(o.stallMs !== undefined ? { stallMs: o.stallMs } : {}),
      bootFileAvailable: (firmware, arch) => this.bootFileAvailable(firmware, arch),
      bootingServers: () =>
        new Map((this.probe?.servers ?? []).filter(sendsBootOptions).map((s) => [s.serverId, s.bootFile])),
    });
  }

  /** Set while engines run: whether the library would give this firmware a boot file. */
  private bootFileAvailable: (firmware: FirmwareKind, arch: number) => boolean = () => true;

  /** The client record with its current findings (diagnoses + headline). */
  private decorate(client: ClientRecord): ClientRecord {
    const found = this.diagnoser.diagnoses(client.mac, this.clock.now());
    if (found.length === 0) return client;
    return { ...client, diagnoses: found, diagnosis: found[0]!.text };
  }

  private newTimeline(): Timeline {
    const t = new Timeline({
      clock: this.clock,
      vendorOf: this.vendorOf,
      ...(this.options.stallMs ? { stallMs: this.options.stallMs } : {}),
    });
    t.onChange((client) => this.emit({ type: 'client', client: this.decorate(client) }));
    return t;
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
      clients: this.timeline.snapshot().map((c) => this.decorate(c)),
      warnings: [...this.warnings],
      ...(this.probe ? { probe: this.probe } : {}),
    };
  }

  /** What the session report needs beyond the snapshot: the NIC and the log (bounded, no debug). */
  reportData(): { snapshot: SessionSnapshot; nic?: NicInfo; log: LogRecord[] } {
    return { snapshot: this.snapshot(), ...(this.nic ? { nic: this.nic } : {}), log: [...this.logRecords] };
  }

  clientAction(mac: string, action: ClientAction): ClientRecord[] {
    const m = normalizeMac(mac);
    if (!m) throw new ConfigError('bad-mac', `"${mac}" is not a MAC address.`);
    if (action === 'block') this.blocked.add(m);
    else if (action === 'unblock') {
      this.blocked.delete(m);
      if (this.paused.delete(m)) this.logger.info('loop breaker lifted by the operator', { mac: m });
      this.diagnoser.clearLoop(m);
    } else if (action === 'forget') this.timeline.forget(m);
    this.logger.info(`${action} ${m}`);
    return this.timeline.snapshot().map((c) => this.decorate(c));
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
    if (override && !library.entries().some((e) => e.id === override.entry))
      throw new ConfigError('unknown-entry', `"${override.entry}" is not in the netboot library.`);
    await library.setMacOverride(m, override);
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
    this.probe = undefined;
    this.nic = undefined;
    this.logRecords = [];
    this.paused.clear();
    this.heldOffers.clear();
    this.noticed.clear();
    this.timeline = this.newTimeline();
    this.diagnoser = this.newDiagnoser(config.mode);
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
      await this.startEngines(valid);
      this.startedAt = this.clock.now();
      this.ticker = setInterval(() => this.tick(), 1000);
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

  private async startEngines(v: ValidatedConfig): Promise<void> {
    const c = v.config;
    const ports = c.ports ?? {};
    const fallbackDirs =
      this.options.bootFilesDir && existsSync(this.options.bootFilesDir) ? [this.options.bootFilesDir] : [];
    const common = { logger: this.logger, clock: this.clock };
    const subscribe = (engine: Engine): void => {
      engine.onEvent((event) => this.onEngineEvent(event));
    };
    const startOne = async (engine: Engine): Promise<void> => {
      subscribe(engine);
      // Record before start(): if start() throws, teardown still calls stop() (engines' stop is idempotent).
      this.engines.push(engine);
      await engine.start();
    };

    const needsDhcp = c.mode !== 'files';
    const channelPorts: Partial<Record<Channel, number>> = {};
    if (ports.dhcp !== undefined) channelPorts.dhcp = ports.dhcp;
    if (ports.proxy !== undefined) channelPorts.pxe = ports.proxy;
    if (ports.client !== undefined) channelPorts['dhcp-client'] = ports.client;
    if (ports.tftp !== undefined) channelPorts.tftp = ports.tftp;
    this.ownAddress = v.address;
    // Preflight before anything serves: look at the LAN, refuse full DHCP next to another DHCP server.
    if (needsDhcp) await this.preflight(v, channelPorts);

    const viaHelper = this.transport?.kind === 'helper' ? { transport: this.transport } : {};

    const httpPort = ports.http ?? 8080;
    const nativeTftp =
      this.options.nativeTftpPath === false
        ? undefined
        : (this.options.nativeTftpPath ?? defaultNativeTftpPath());
    const tftp = await this.factory.tftp({
      ...common,
      root: c.root,
      address: v.address,
      port: ports.tftp ?? 69,
      fallbackDirs,
      ...viaHelper,
      ...(nativeTftp ? { nativeDataPath: nativeTftp } : {}),
    });
    await startOne(tftp);
    const tftpPort = tftp.port?.() ?? ports.tftp ?? 69;
    this.endpoints.tftp = `${v.address}:${tftpPort}`;

    // Generated iPXE menu (boot.ipxe) from the netboot library; a library failure only loses the menu.
    let httpBase = '';
    let scripts: ReturnType<typeof createScriptHandler> | undefined;
    try {
      const library = new NetbootLibrary({ root: c.root, logger: this.logger.child('library') });
      await library.scan();
      library.watch();
      this.library = library;
      const menu = createScriptHandler(library, {
        baseUrl: () => httpBase,
        onBootOnce: (mac, entry) => this.logger.info(`${mac} booted ${entry} once; the menu is back`),
      });
      // The boot-script request carries the client's MAC: learn its IP here so the downloads that
      // follow join its timeline record (in proxy mode we never see the site server's lease).
      scripts = (path, query, clientIp) => {
        const mac = parseScriptQuery(query)?.mac;
        if (path === 'boot.ipxe' && mac) this.timeline.learnIp(clientIp, mac);
        return menu(path, query, clientIp);
      };
    } catch (error) {
      this.warn(`The netboot folder could not be scanned (${String(error)}): no generated boot menu.`);
    }
    const http = await this.factory.http({
      ...common,
      root: c.root,
      address: v.address,
      port: httpPort,
      fallbackDirs,
      macForIp: (ip: string) => this.timeline.macForIp(ip),
      ...(scripts ? { scripts } : {}),
    });
    await startOne(http);
    const realHttpPort = http.port?.() ?? httpPort;
    // PyPXE -f: clients fetch files from this host (siaddr, option 66, boot URLs and the menu's URLs).
    const fileHost = c.fileServer ?? v.address;
    const httpBaseUrl = `http://${fileHost}:${realHttpPort}`;
    httpBase = httpBaseUrl;
    this.endpoints.http = `http://${v.address}:${realHttpPort}/`;

    if (!needsDhcp || !this.transport) return;
    const chain = c.chainloadUrl?.trim();
    const boot = {
      mode: c.mode,
      serverAddress: v.address,
      tftpServer: fileHost,
      httpBaseUrl,
      // A bare file name (proxyDHCPd's default "boot.ipxe") is fetched from our HTTP server.
      ...(chain
        ? {
            chainloadUrl: /^[a-z]+:\/\//i.test(chain) ? chain : `${httpBaseUrl}/${chain.replace(/^\/+/, '')}`,
          }
        : {}),
      ...(c.bootFiles ? { bootFiles: c.bootFiles } : {}),
      ...(c.pxeMenu ? { pxeMenu: c.pxeMenu } : {}),
      ...(c.allow ? { allow: c.allow.map((m) => normalizeMac(m) ?? m) } : {}),
      ...(c.deny ? { deny: c.deny.map((m) => normalizeMac(m) ?? m) } : {}),
      hasFile: (name: string) =>
        existsSync(join(c.root, name)) || fallbackDirs.some((d) => existsSync(join(d, name))),
      isBlocked: (mac: string) => this.blockReason(mac),
    };
    // Structural "is there a boot file for this firmware" for the missing-arch diagnosis.
    this.bootFileAvailable = (firmware, arch) =>
      decideBoot(
        {
          mac: '00:00:00:00:00:00',
          archs: [arch],
          vendorClass: firmware.endsWith('-http') ? 'HTTPClient' : 'PXEClient',
          userClasses: [],
        },
        {
          ...boot,
          mode: c.mode === 'dhcp' ? 'dhcp' : 'proxy',
          allow: [],
          deny: [],
          isBlocked: () => undefined,
        },
      ).kind === 'boot';
    if (c.mode === 'proxy') {
      const proxy = await this.factory.proxy({
        ...common,
        transport: this.transport,
        serverAddress: v.address,
        boot,
        ...(c.vendorOptions ? { vendorOptions: parseVendorOptions(c.vendorOptions) } : {}),
      });
      await startOne(proxy);
      this.endpoints.proxy = `${v.address}:${ports.dhcp ?? 67}+${ports.proxy ?? 4011}`;
    } else {
      const pool = c.dhcp!;
      const dhcp = await this.factory.dhcp({
        ...common,
        transport: this.transport,
        serverAddress: v.address,
        pool,
        boot,
      });
      await startOne(dhcp);
      this.endpoints.dhcp = `${v.address}:${ports.dhcp ?? 67}`;
    }
  }

  private async transportFailed(error: TransportError): Promise<void> {
    if (error.code !== 'helper-died' || this.state !== 'running') return;
    await this.teardown();
    this.startedAt = undefined;
    this.endpoints = {};
    this.error = toSessionError(error);
    this.logger.error(this.error.message, { code: this.error.code });
    this.setState('error');
  }

  /**
   * Opens the DHCP transport with the client port (68) as well, runs the preflight probe on it and
   * applies the policy (issue 10). One transport for probe and engines: the helper binds once, so a
   * pkexec user is asked once. Port 68 may be held by this machine's own DHCP client: then the session
   * runs without the probe — proxy mode warns, full mode refuses unless overridden (we could not look).
   */
  private async preflight(v: ValidatedConfig, channelPorts: Partial<Record<Channel, number>>): Promise<void> {
    const c = v.config;
    const make = (): Promise<DatagramTransport> =>
      this.factory.transport({
        policy: c.helper ?? 'auto',
        ...(c.iface !== undefined ? { iface: c.iface } : {}),
        bindAddress: v.address,
        ports: channelPorts,
        ...(this.options.helperPath ? { helperPath: this.options.helperPath } : {}),
      });
    // Both DHCP engines serve 4011 too (full mode: BIOS menus and EDK2's BINL request, test-catalogue F5).
    const serving: Channel[] = ['dhcp', 'pxe'];
    let clientPortError: string | undefined;
    this.transport = await make();
    // The helper binds once per start: every well-known port on the NIC together, TFTP's 69 included
    // (relayed to the TFTP engine), so no engine needs privilege (issue 6).
    if (this.transport.kind === 'helper') serving.push('tftp');
    try {
      await this.transport.open([...serving, 'dhcp-client']);
    } catch (error) {
      // Was it the client port? Retry without it: a failure now is the real (serving) problem.
      await this.transport.close().catch(() => undefined);
      this.transport = await make();
      await this.transport.open(serving);
      clientPortError = error instanceof Error ? error.message : String(error);
    }
    this.transportKind = this.transport.kind;
    // The helper dying mid-session (killed, crashed) ends the session with its error, so the UI/CLI
    // report it and Start works again (docs/helper.md); refused sends are only logged by the helper.
    this.transport.onError?.((e) => void this.transportFailed(e));
    const override = c.mode === 'dhcp' && c.overrideForeignDhcp === true;
    // Plain sockets cannot pin the probe's broadcast to the chosen NIC on Linux (docs/protocol-notes.md §11):
    // only an explicit `helper: 'never'` (isolated namespaces, Windows-like setups) may probe with them.
    const unpinned = process.platform === 'linux' && this.transport.kind === 'direct' && c.helper !== 'never';
    let cannotLook = clientPortError
      ? `Could not look for other DHCP servers on ${c.iface ?? 'this network'} (${clientPortError})`
      : c.skipProbe
        ? 'The preflight probe was skipped'
        : unpinned
          ? `Could not look for other DHCP servers: without the native helper the probe could leave through another interface than ${c.iface ?? 'the chosen one'} (build it: node scripts/build.mjs helper)`
          : undefined;
    let result: ProbeResult | undefined;
    if (!cannotLook) {
      const opts: PreflightProbeOptions = {
        transport: this.transport,
        iface: c.iface ?? v.address,
        windowMs: c.probeWindowMs ?? this.options.probeWindowMs ?? DEFAULT_PROBE_WINDOW_MS,
        serverPort: c.ports?.dhcp ?? 67,
        ownAddresses: [v.address],
        logger: this.logger,
        clock: this.clock,
      };
      try {
        result = await (this.options.runProbe ?? ((o) => new DhcpProbe(o).run()))(opts);
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
      this.warn(`${cannotLook}: other DHCP/PXE servers on this network were not checked.`);
    } else if (result) {
      this.probe = result;
      this.emit({ type: 'probe', result });
      for (const w of warningsFor(result, c.mode)) this.warn(w);
      const refusal = probeRefusal(result, c.mode);
      if (refusal && override) {
        this.logger.warn('OVERRIDE: full DHCP mode started although another DHCP server answered', {
          servers: result.servers.filter((s) => s.kind === 'dhcp').map((s) => s.serverId),
        });
        this.warn(`Full DHCP mode started despite another DHCP server (expert override): ${refusal}`);
      } else if (refusal)
        throw new ConfigError(
          'foreign-dhcp',
          `${refusal} (Experts who know the other server will not answer these machines can override: --force-dhcp.)`,
        );
    }
    // From now on, other servers' offers to the clients we serve join their timelines (port 68).
    if (!clientPortError) this.offClientPort = this.transport.onDatagram((d) => this.onClientPort(d));
  }

  /** Another server's OFFER/ACK seen on 68 for a client we know: timeline + diagnosis (site-boot-file). */
  private onClientPort(d: Datagram): void {
    if (d.channel !== 'dhcp-client' || this.state !== 'running') return;
    let reply;
    try {
      reply = decode(d.data);
    } catch {
      return;
    }
    const server = parseProbeReply(reply, `${d.source.address}:${d.source.port}`);
    if (!server || server.serverId === this.ownAddress || d.source.address === this.ownAddress) return;
    this.noticeServer(server);
    const mac = macOf(reply);
    const ip = server.offeredAddress;
    const event: DhcpEvent = {
      engine: this.config?.mode === 'dhcp' ? 'dhcp' : 'proxy',
      type: 'foreign-offer',
      time: this.clock.now(),
      client: { mac },
      xid: reply.xid,
      server: server.serverId,
      ...(ip ? { ip } : {}),
      ...(server.bootFile ? { bootFile: server.bootFile } : {}),
    };
    // Only machines that asked us (PXE clients): a busy LAN's other DHCP traffic is not our business.
    // The site's offer may be relayed before our engine has handled the same DISCOVER: hold it briefly.
    if (this.diagnoser.has(mac)) this.onForeignOffer(event, reply.yiaddr, messageType(reply));
    else {
      const now = this.clock.now();
      for (const [m, held] of this.heldOffers)
        if (now - held.event.time > HOLD_FOREIGN_MS || this.heldOffers.size > 256) this.heldOffers.delete(m);
      this.heldOffers.set(mac, { event, type: messageType(reply) });
    }
  }

  /**
   * A server the preflight probe did not see starts answering while we serve: in full DHCP mode that is
   * the conflict the policy exists to prevent, in any mode another PXE server competes for the clients.
   * Said once per server.
   */
  private noticeServer(server: ProbeServer): void {
    const key = `${server.kind}/${server.serverId}`;
    if (this.noticed.has(key) || this.noticed.size > 64) return;
    this.noticed.add(key);
    const known = this.probe?.servers.some((s) => s.kind === server.kind && s.serverId === server.serverId);
    if (known) return;
    if (server.kind === 'dhcp' && this.config?.mode === 'dhcp')
      this.warn(
        `Another DHCP server (${server.serverId}) started answering on this network while PXE Desk serves full DHCP: clients may get conflicting addresses. Stop one of them, or use proxy mode.`,
      );
    else if (server.kind === 'proxy')
      this.warn(
        `Another proxyDHCP/PXE server (${server.serverId}) started answering here: clients may boot from it instead of PXE Desk.`,
      );
  }

  private onForeignOffer(event: DhcpEvent, yiaddr: string, type: number | undefined): void {
    const mac = event.client.mac;
    // In proxy mode the site server leases the address: learn it so TFTP/HTTP join this MAC's record.
    if (yiaddr !== '0.0.0.0' && (type === MessageType.Ack || !this.timeline.macForIp(yiaddr)))
      this.timeline.learnIp(yiaddr, mac);
    this.onEngineEvent(event);
  }

  /** Every engine event: diagnosis facts first (so the timeline's emit carries current findings). */
  private onEngineEvent(event: EngineEvent): void {
    if (event.engine === 'proxy' && event.type === 'request') {
      // A REQUEST the proxy overheard on 67 (to the site server, whose lease is invisible to us): it binds
      // IP → MAC, only for machines that network-boot or already have a record (not every laptop on the LAN).
      if (event.client.netboot || this.timeline.knows(event.client.mac)) this.timeline.ingest(event);
      return;
    }
    let mac: string;
    if (event.engine === 'tftp' || event.engine === 'http') {
      const a = (event as TransferEvent).client.address;
      mac = event.client.mac ?? this.timeline.macForIp(a) ?? `ip:${a}`;
    } else mac = (event as DhcpEvent).client.mac;
    const loop = this.diagnoser.ingest(event, mac);
    if (loop && !mac.startsWith('ip:')) this.breakLoop(loop);
    this.timeline.ingest(event);
    const held = event.engine !== 'tftp' && event.engine !== 'http' ? this.heldOffers.get(mac) : undefined;
    if (held) {
      this.heldOffers.delete(mac);
      if (this.clock.now() - held.event.time <= HOLD_FOREIGN_MS)
        this.onForeignOffer(held.event, held.event.ip ?? '0.0.0.0', held.type);
    }
  }

  /** Loop breaker: stop naming a boot file to a MAC caught in a boot loop, for a while, and say so. */
  private breakLoop(loop: LoopFinding): void {
    const now = this.clock.now();
    const pauseMs = this.options.loopPauseMs ?? 5 * 60_000;
    const until = now + pauseMs;
    const windowS = Math.round((this.options.loopWindowMs ?? 60_000) / 1000);
    const reason = `loop breaker: ${loop.file} was downloaded ${loop.count} times in ${windowS} s (boot loop); no boot file for ${Math.round(pauseMs / 1000)} s or until unblocked`;
    this.paused.set(loop.mac, { until, reason });
    this.diagnoser.markLoopBroken(loop.mac, loop, now, until);
    // A warning, not only a log line: the UI and CLI show it until the session ends.
    this.warn(
      `loop breaker: stopped serving ${loop.file} to ${loop.mac} for ${Math.round(pauseMs / 1000)} s (downloaded ${loop.count} times in ${windowS} s); Unblock it once the cause is fixed`,
    );
  }

  private blockReason(mac: string): OperatorExclusion | undefined {
    if (this.blocked.has(mac)) return { kind: 'blocked', reason: 'blocked by the operator' };
    const p = this.paused.get(mac);
    if (!p) return undefined;
    if (this.clock.now() < p.until) return { kind: 'paused', reason: p.reason };
    this.paused.delete(mac);
    this.diagnoser.clearLoop(mac);
    this.logger.info('loop breaker pause ended', { mac });
    return undefined;
  }

  /** Once a second: stalls (timeline) and time-based findings (diagnosis) are re-evaluated. */
  private tick(): void {
    this.timeline.tick();
    const changed = new Set(this.diagnoser.changed(this.clock.now()));
    if (changed.size === 0) return;
    for (const client of this.timeline.snapshot())
      if (changed.has(client.mac)) this.emit({ type: 'client', client: this.decorate(client) });
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

export function toSessionError(error: unknown): SessionError {
  if (error instanceof ConfigError) return { code: error.code, message: error.message };
  if (typeof error === 'object' && error !== null) {
    const e = error as { code?: unknown; message?: unknown };
    const code = typeof e.code === 'string' ? e.code : 'start-failed';
    const raw = typeof e.message === 'string' ? e.message : String(error);
    // Engines wrap the socket error in their own message (e.g. "HTTP server cannot listen on …:
    // listen EADDRINUSE …"): recognise the errno inside the text too, so every start error gets its fix.
    if (code === 'EADDRINUSE' || code === 'port-in-use' || /\bEADDRINUSE\b/.test(raw))
      return {
        code: 'port-in-use',
        message: `${raw}: another server uses this port; stop it or choose another port.`,
      };
    if (code === 'EACCES' || code === 'permission-denied' || /\bEACCES\b/.test(raw))
      return {
        code: 'permission-denied',
        message: `${raw}: ports below 1024 need the helper or root; use --helper auto or high ports.`,
      };
    return { code, message: raw };
  }
  return { code: 'start-failed', message: String(error) };
}
