/** An Engine that does nothing but let a test emit events as if a real engine had seen traffic. */
import type { Engine } from '../../app/shared/engine.js';
import type { EngineEvent } from '../../app/shared/events.js';

export class FakeEngine implements Engine<EngineEvent> {
  readonly listeners = new Set<(e: EngineEvent) => void>();
  running = false;
  constructor(
    readonly name = 'fake',
    readonly opts: Record<string, unknown> = {},
    /** Make start() fail the way a busy port does (EADDRINUSE), for the session's error path. */
    private readonly failStart = false,
  ) {}
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
