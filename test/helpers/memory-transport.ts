/**
 * In-memory DatagramTransport for unit tests: the engines run their real code, the "network" is an
 * array. `inject()` plays a client's datagram into the engine; `sent` records every reply with its
 * channel and destination, so tests assert reply addressing (port 68 broadcast, 4011 source port, …).
 */
import type {
  Channel,
  Datagram,
  DatagramListener,
  DatagramTransport,
  Endpoint,
} from '../../app/shared/datagram-transport.js';
import { TransportError } from '../../app/shared/datagram-transport.js';

export interface SentDatagram {
  readonly channel: Channel;
  readonly to: Endpoint;
  readonly data: Buffer;
}

export class MemoryTransport implements DatagramTransport {
  readonly kind = 'memory' as const;
  readonly sent: SentDatagram[] = [];
  readonly opened = new Set<Channel>();
  private readonly listeners = new Set<DatagramListener>();
  private closed = false;

  async open(channels: readonly Channel[]): Promise<void> {
    for (const channel of channels) this.opened.add(channel);
  }

  onDatagram(listener: DatagramListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async send(channel: Channel, to: Endpoint, data: Uint8Array): Promise<void> {
    if (this.closed || !this.opened.has(channel)) {
      throw new TransportError('not-open', `channel ${channel} is not open`);
    }
    this.sent.push({ channel, to, data: Buffer.from(data) });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.opened.clear();
  }

  /** Deliver a datagram to the engine as if it arrived from the network. */
  inject(datagram: Omit<Datagram, 'data'> & { data: Uint8Array }): void {
    for (const listener of this.listeners) listener(datagram);
  }

  /** Sent datagrams since the last call. */
  drain(): SentDatagram[] {
    return this.sent.splice(0, this.sent.length);
  }
}
