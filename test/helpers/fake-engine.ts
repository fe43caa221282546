/**
 * Fake engines for session tests: an Engine that does nothing but let a test emit events as if a real
 * engine had seen traffic, and a factory typed like the real one (EngineFactory), so the options the
 * session builds are checked against each engine's own option type at compile time.
 */
import type { EngineFactory } from '../../app/core/session/index.js';
import type { DatagramTransport } from '../../app/shared/datagram-transport.js';
import type { Engine } from '../../app/shared/engine.js';
import type { EngineEvent } from '../../app/shared/events.js';

export type EngineName = 'proxy' | 'dhcp' | 'tftp' | 'http';

export class FakeEngine<O extends object = object> implements Engine<EngineEvent> {
  readonly listeners = new Set<(e: EngineEvent) => void>();
  running = false;
  /** The options as a plain record, for assertions (`toMatchObject`, one field by name). */
  readonly opts: Readonly<Record<string, unknown>>;
  constructor(
    readonly name = 'fake',
    /** The options exactly as the session built them (typed by the factory method that made this fake). */
    readonly options?: O,
    /** Make start() fail the way a busy port does (EADDRINUSE), for the session's error path. */
    private readonly failStart = false,
  ) {
    this.opts = options ? Object.fromEntries(Object.entries(options)) : {};
  }
  async start(): Promise<void> {
    if (this.failStart)
      throw Object.assign(new Error(`${this.name}: address in use`), { code: 'EADDRINUSE' });
    this.running = true;
  }
  async stop(): Promise<void> {
    this.running = false;
  }
  onEvent(l: (e: EngineEvent) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  counters() {
    return { received: 0, malformed: 0, rateLimited: 0, sent: 0 };
  }
  emit(e: EngineEvent): void {
    for (const l of this.listeners) l(e);
  }
}

/**
 * An EngineFactory of fakes over `transport`; `made` lists the engines in creation order. `fail` names
 * an engine whose start() fails with EADDRINUSE.
 */
export function fakeEngines(
  transport: DatagramTransport | (() => Promise<DatagramTransport>),
  options: { fail?: EngineName } = {},
): { factory: EngineFactory; made: FakeEngine[]; engine: (name: EngineName) => FakeEngine | undefined } {
  const made: FakeEngine[] = [];
  const mk = async (name: EngineName, o: object): Promise<FakeEngine> => {
    const e = new FakeEngine(name, o, options.fail === name);
    made.push(e);
    return e;
  };
  const factory: EngineFactory = {
    transport: typeof transport === 'function' ? transport : async () => transport,
    proxy: (o) => mk('proxy', o),
    dhcp: (o) => mk('dhcp', o),
    tftp: (o) => mk('tftp', o),
    http: (o) => mk('http', o),
  };
  return { factory, made, engine: (name) => made.find((e) => e.name === name) };
}
