/**
 * DatagramTransport over plain node:dgram sockets: Windows (no privilege needed for low ports), root
 * or capability runs, and engine tests on high ports (loopback, or inside a test network namespace).
 *
 * Limits that make the helper relay necessary on Linux (docs/protocol-notes.md §11): dgram cannot pin a
 * socket to one NIC (SO_BINDTODEVICE), so a broadcast reply leaves by the routing table's choice, and
 * it cannot tell which NIC or destination address a datagram arrived on. chooseTransport therefore hands
 * out a direct transport for DHCP only while the chosen NIC holds the broadcast route, and with
 * `broadcastPin` every limited broadcast re-checks that route before it is sent (broadcast-route.ts).
 */
import { createSocket, type Socket } from 'node:dgram';
import {
  DEFAULT_CHANNEL_PORTS,
  TransportError,
  type Channel,
  type DatagramListener,
  type DatagramTransport,
  type Endpoint,
} from '../shared/datagram-transport.js';
import { unpinnedBroadcastError, type BroadcastRouteLookup, type PinningContext } from './broadcast-route.js';

/** The chosen NIC and how to ask where 255.255.255.255 leaves (see DirectTransportOptions.broadcastPin). */
export interface BroadcastPin extends PinningContext {
  readonly lookup: BroadcastRouteLookup;
  /** Re-ask the OS at most this often while broadcasting (default 1000 ms; the lookup forks `ip`). */
  readonly recheckMs?: number;
  /** Clock for the re-check interval (tests). */
  readonly now?: () => number;
}

const LIMITED_BROADCAST = '255.255.255.255';

export interface DirectTransportOptions {
  /**
   * Address to bind. DHCP roles must receive broadcasts, so on Linux they need 0.0.0.0 (default);
   * loopback tests may pass 127.0.0.1.
   */
  readonly bindAddress?: string;
  /** Port per role; defaults to 67/4011/69/68. */
  readonly ports?: Partial<Record<Channel, number>>;
  /**
   * SO_RCVBUF for the DHCP roles (default 4 MiB; the kernel caps it at net.core.rmem_max). The default
   * ~208 KiB holds only ~100 ms of DISCOVERs at 1 000/s and ~5 ms at 20 000/s, so a GC pause or a busy CPU
   * dropped most of a burst (bench/README.md, DHCP section). 0 keeps the OS default.
   */
  readonly receiveBufferBytes?: number;
  /**
   * Refuse limited broadcasts (TransportError 'unpinned-broadcast', also reported to onError) whenever
   * the OS would send them out of another NIC than `iface`: the route is checked when chooseTransport
   * picks this transport, but it can move while serving (a Wi-Fi joins and takes the default route).
   */
  readonly broadcastPin?: BroadcastPin;
}

export class DirectTransport implements DatagramTransport {
  readonly kind = 'direct' as const;
  private readonly sockets = new Map<Channel, Socket>();
  private readonly listeners = new Set<DatagramListener>();
  private readonly bindAddress: string;
  private readonly ports: Record<Channel, number>;
  private readonly receiveBufferBytes: number;
  private readonly pin: BroadcastPin | undefined;
  private pinCheckedAt = Number.NEGATIVE_INFINITY;
  private pinRefusal: TransportError | undefined;
  private readonly errorListeners = new Set<(error: TransportError) => void>();

  constructor(options: DirectTransportOptions = {}) {
    this.bindAddress = options.bindAddress ?? '0.0.0.0';
    this.ports = { ...DEFAULT_CHANNEL_PORTS, ...options.ports };
    this.receiveBufferBytes = options.receiveBufferBytes ?? 4 * 1024 * 1024;
    this.pin = options.broadcastPin;
  }

  /** The port actually bound for a role (useful when a test asked for port 0). */
  portOf(channel: Channel): number | undefined {
    const socket = this.sockets.get(channel);
    return socket ? socket.address().port : undefined;
  }

  async open(channels: readonly Channel[]): Promise<void> {
    try {
      for (const channel of channels) {
        if (this.sockets.has(channel)) continue;
        await this.bindOne(channel);
      }
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  private bindOne(channel: Channel): Promise<void> {
    const port = this.ports[channel];
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    return new Promise<void>((resolve, reject) => {
      socket.once('error', (error: NodeJS.ErrnoException) => {
        socket.close();
        reject(describeBindError(error, channel, this.bindAddress, port));
      });
      socket.bind({ address: this.bindAddress, port, exclusive: true }, () => {
        socket.removeAllListeners('error');
        // A receive socket must never die: errors after bind (ICMP unreachable, …) are ignored.
        socket.on('error', () => undefined);
        socket.setBroadcast(true);
        if (this.receiveBufferBytes > 0 && (channel === 'dhcp' || channel === 'pxe')) {
          try {
            socket.setRecvBufferSize(this.receiveBufferBytes);
          } catch {
            // Best effort: the OS default still works, it just absorbs shorter bursts.
          }
        }
        socket.on('message', (data, rinfo) => {
          const datagram = { channel, data, source: { address: rinfo.address, port: rinfo.port } };
          for (const listener of this.listeners) {
            try {
              listener(datagram);
            } catch {
              // A listener's bug must not stop delivery to the others or kill the socket.
            }
          }
        });
        this.sockets.set(channel, socket);
        resolve();
      });
    });
  }

  onDatagram(listener: DatagramListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onError(listener: (error: TransportError) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  send(channel: Channel, to: Endpoint, data: Uint8Array): Promise<void> {
    if (to.address === LIMITED_BROADCAST) {
      const refusal = this.broadcastRefusal();
      if (refusal) return Promise.reject(refusal);
    }
    const socket = this.sockets.get(channel);
    if (!socket) return Promise.reject(new TransportError('not-open', `channel ${channel} is not open`));
    return new Promise((resolve, reject) => {
      socket.send(data, to.port, to.address, (error) => {
        if (error)
          reject(
            new TransportError('send-refused', `send to ${to.address}:${to.port} failed: ${error.message}`),
          );
        else resolve();
      });
    });
  }

  /** The current refusal for a limited broadcast, re-asking the OS at most every recheckMs. */
  private broadcastRefusal(): TransportError | undefined {
    const pin = this.pin;
    if (!pin) return undefined;
    const now = (pin.now ?? Date.now)();
    if (now - this.pinCheckedAt < (pin.recheckMs ?? 1000)) return this.pinRefusal;
    this.pinCheckedAt = now;
    const before = this.pinRefusal;
    this.pinRefusal = unpinnedBroadcastError(pin.lookup(), pin);
    // Reported once per change, so a session can stop instead of logging every refused reply.
    if (this.pinRefusal && !before)
      for (const listener of this.errorListeners) {
        try {
          listener(this.pinRefusal);
        } catch {
          // A listener's bug must not turn a refused send into a thrown one.
        }
      }
    return this.pinRefusal;
  }

  async close(): Promise<void> {
    const sockets = [...this.sockets.values()];
    this.sockets.clear();
    await Promise.all(
      sockets.map(
        (socket) =>
          new Promise<void>((resolve) => {
            try {
              socket.close(() => resolve());
            } catch {
              resolve();
            }
          }),
      ),
    );
  }
}

/** Likely owners of each well-known port, named in "port in use" errors. */
const LIKELY_OWNERS: Record<Channel, string> = {
  dhcp: 'dnsmasq, systemd-networkd, libvirt (virbr0 dnsmasq), isc-dhcp-server or another PXE Desk',
  pxe: 'dnsmasq in proxy mode, a WDS/FOG server or another PXE Desk',
  tftp: 'tftpd-hpa, atftpd, dnsmasq --enable-tftp or another PXE Desk',
  'dhcp-client': 'a DHCP client (dhclient, NetworkManager) on this machine',
};

function describeBindError(
  error: NodeJS.ErrnoException,
  channel: Channel,
  address: string,
  port: number,
): TransportError {
  if (error.code === 'EADDRINUSE') {
    return new TransportError(
      'port-in-use',
      `UDP port ${port} on ${address} is already in use (likely ${LIKELY_OWNERS[channel]}); stop it or choose another port`,
    );
  }
  if (error.code === 'EACCES' || error.code === 'EPERM') {
    return new TransportError(
      'permission-denied',
      `binding UDP port ${port} needs privilege: use the native helper or run as root`,
    );
  }
  if (error.code === 'EADDRNOTAVAIL') {
    return new TransportError('interface-missing', `address ${address} is not configured on any interface`);
  }
  return new TransportError('io', `cannot bind UDP ${address}:${port}: ${error.message}`);
}
