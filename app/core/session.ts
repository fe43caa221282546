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
import { chooseTransport } from '../transport/choose-transport.js';
import {
  DhcpServer,
  ProxyDhcpServer,
  type DhcpServerOptions,
  type ProxyDhcpServerOptions,
} from '../engines/dhcp/index.js';
import { HttpBootServer, type HttpBootServerOptions } from '../engines/http/index.js';
import { TftpServer, type TftpServerOptions } from '../engines/tftp/index.js';
import type { Channel, DatagramTransport } from '../shared/datagram-transport.js';
import type { Engine } from '../shared/engine.js';
import type { MacOverride } from '../shared/library-types.js';
import { silentLogger, systemClock, type Clock, type Logger } from '../shared/runtime.js';
import type {
  ClientRecord,
  NicInfo,
  SessionConfig,
  SessionError,
  SessionEvent,
  SessionSnapshot,
  SessionState,
} from '../shared/session-types.js';
import { ConfigError, normalizeMac, validateConfig, type ValidatedConfig } from './config-validate.js';
import { listInterfaces } from './interfaces.js';
import { createScriptHandler, parseScriptQuery } from './ipxe-script.js';
import { NetbootLibrary } from './netboot-library.js';
import { createOuiLookup } from './oui.js';
import { Timeline } from './timeline.js';

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
    // Direct sockets must bind 0.0.0.0 to receive broadcasts (DESIGN Clarifications: --helper never).
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
  readonly interfaces?: () => Promise<NicInfo[]>;
  readonly engines?: EngineFactory;
  readonly folderExists?: (path: string) => boolean;
  /** Stall window for the timeline (ms). */
  readonly stallMs?: number;
  /** Where the DHCP leases file goes when the config names none (default `<root>/../` is never used: a state dir). */
  readonly stateDir?: string;
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

  constructor(private readonly options: SessionControllerOptions = {}) {
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? systemClock;
    this.factory = options.engines ?? realEngineFactory;
    this.timeline = this.newTimeline();
  }

  private newTimeline(): Timeline {
    const t = new Timeline({
      clock: this.clock,
      vendorOf: this.vendorOf,
      ...(this.options.stallMs ? { stallMs: this.options.stallMs } : {}),
    });
    t.onChange((client) => this.emit({ type: 'client', client }));
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
      clients: this.timeline.snapshot(),
      warnings: [...this.warnings],
    };
  }

  clientAction(mac: string, action: ClientAction): ClientRecord[] {
    const m = normalizeMac(mac);
    if (!m) throw new ConfigError('bad-mac', `"${mac}" is not a MAC address.`);
    if (action === 'block') this.blocked.add(m);
    else if (action === 'unblock') this.blocked.delete(m);
    else if (action === 'forget') this.timeline.forget(m);
    this.logger.info(`${action} ${m}`);
    return this.timeline.snapshot();
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
    this.timeline = this.newTimeline();
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
      for (const w of valid.warnings) this.warn(w);
      await this.startEngines(valid);
      this.startedAt = this.clock.now();
      this.ticker = setInterval(() => this.timeline.tick(), 1000);
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
      engine.onEvent((event) => this.timeline.ingest(event));
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

    const httpPort = ports.http ?? 8080;
    const tftp = await this.factory.tftp({
      ...common,
      root: c.root,
      address: v.address,
      port: ports.tftp ?? 69,
      fallbackDirs,
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
    const httpBaseUrl = `http://${v.address}:${realHttpPort}`;
    httpBase = httpBaseUrl;
    this.endpoints.http = `${httpBaseUrl}/`;

    if (!needsDhcp) return;
    this.transport = await this.factory.transport({
      policy: c.helper ?? 'auto',
      ...(c.iface !== undefined ? { iface: c.iface } : {}),
      bindAddress: v.address,
      ports: channelPorts,
      ...(this.options.helperPath ? { helperPath: this.options.helperPath } : {}),
    });
    this.transportKind = this.transport.kind;
    const boot = {
      mode: c.mode,
      serverAddress: v.address,
      tftpServer: v.address,
      httpBaseUrl,
      ...(c.bootFiles ? { bootFiles: c.bootFiles } : {}),
      ...(c.allow ? { allow: c.allow.map((m) => normalizeMac(m) ?? m) } : {}),
      ...(c.deny ? { deny: c.deny.map((m) => normalizeMac(m) ?? m) } : {}),
      hasFile: (name: string) =>
        existsSync(join(c.root, name)) || fallbackDirs.some((d) => existsSync(join(d, name))),
      isBlocked: (mac: string) => (this.blocked.has(mac) ? 'blocked by the operator' : undefined),
    };
    if (c.mode === 'proxy') {
      const proxy = await this.factory.proxy({
        ...common,
        transport: this.transport,
        serverAddress: v.address,
        boot,
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

  /** SIGHUP / UI "rescan": re-reads the netboot folder so new images appear in the menu. */
  async rescan(): Promise<void> {
    await this.library?.scan();
  }

  private async teardown(): Promise<void> {
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
    if (code === 'EADDRINUSE' || code === 'port-in-use')
      return {
        code: 'port-in-use',
        message: `${raw}: another server uses this port; stop it or choose another port.`,
      };
    if (code === 'EACCES' || code === 'permission-denied')
      return {
        code: 'permission-denied',
        message: `${raw}: ports below 1024 need the helper or root; use --helper auto or high ports.`,
      };
    return { code, message: raw };
  }
  return { code: 'start-failed', message: String(error) };
}
