/**
 * What every engine class (ProxyDhcpServer, DhcpServer, TftpServer, HttpBootServer) offers the
 * session controller and library users: start/stop, typed per-client events, counters.
 */
import type { EngineCounters, EngineEvent } from './events.js';

export interface Engine<E extends EngineEvent = EngineEvent> {
  /** Bind/listen. Rejects with a clear error (port in use, address missing, …); leaves nothing behind on failure. */
  start(): Promise<void>;
  /** Close every socket, timer and file handle. Idempotent; resolves when all is released. */
  stop(): Promise<void>;
  /** Subscribe to per-client events; returns the unsubscribe function. */
  onEvent(listener: (event: E) => void): () => void;
  counters(): EngineCounters;
}
