/**
 * ERROR replies to requests (refusals, busy, bad mode). They go from one shared ephemeral socket of
 * ours, never through the helper relay (docs/helper.md, "Reply rules"), and are bounded: a flood of
 * bad requests must not become a flood of replies or of sockets, so at most ERROR_BURST go out per
 * second and the rest are dropped and counted as rate-limited.
 */
import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../shared/runtime.js';
import { encodeError } from './packet.js';

/** ERROR replies to requests per second before further ones are dropped (and counted as rate-limited). */
const ERROR_BURST = 200;

export interface ErrorReplyCounters {
  sent(): void;
  rateLimited(): void;
}

export class ErrorReplies {
  private socket: Socket | undefined;
  private ready = false;
  private queue: ((socket: Socket) => void)[] = [];
  private windowStart = -Infinity;
  private inWindow = 0;

  constructor(
    private readonly address: string,
    private readonly log: Logger,
    private readonly count: ErrorReplyCounters,
    /** Whether the server is stopping or stopped: no reply then. */
    private readonly stopped: () => boolean,
  ) {}

  send(address: string, port: number, code: number, message: string): void {
    if (this.stopped()) return;
    const now = performance.now(); // real time, whatever clock the events are stamped with
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.inWindow = 0;
    }
    if (++this.inWindow > ERROR_BURST) {
      this.count.rateLimited();
      return;
    }
    const packet = encodeError(code, message);
    const send = (socket: Socket): void => {
      this.count.sent();
      socket.send(packet, port, address);
    };
    if (this.socket) {
      if (this.ready) send(this.socket);
      else this.queue.push(send);
      return;
    }
    const socket = createSocket({ type: 'udp4' });
    this.socket = socket;
    this.queue.push(send);
    socket.on('error', (error) => {
      this.log.warn('error-reply socket failed', { error: error.message });
      if (this.socket === socket) this.socket = undefined;
      this.ready = false;
      this.queue = [];
      socket.close();
    });
    socket.bind(0, this.address, () => {
      this.ready = true;
      const queued = this.queue;
      this.queue = [];
      for (const q of queued) q(socket);
    });
  }

  /** Closes the socket (a later reply opens a new one). */
  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    this.ready = false;
    this.queue = [];
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
