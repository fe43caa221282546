/**
 * The one seam between the protocol engines and the network.
 *
 * Engines never open UDP sockets for their well-known ports themselves: they are handed a
 * DatagramTransport. Production on Linux uses the native-helper relay (it alone can pin a socket to
 * one NIC with SO_BINDTODEVICE and bind ports < 1024 without running the engines as root); Windows,
 * root runs on high ports and tests use direct node:dgram sockets; unit tests use an in-memory
 * transport. All three implement exactly this interface.
 *
 * Ports are named by role ("channel"), not number, so the same engine code runs on 67/4011/69 in
 * production and on high ports in tests; the transport maps a channel to its configured port.
 */

/** Well-known roles. `dhcp` = 67 (server), `pxe` = 4011 (PXE boot server), `tftp` = 69, `dhcp-client` = 68 (listen-only, to see other servers' offers). */
export type Channel = 'dhcp' | 'pxe' | 'tftp' | 'dhcp-client';

export const DEFAULT_CHANNEL_PORTS: Readonly<Record<Channel, number>> = Object.freeze({
  dhcp: 67,
  pxe: 4011,
  tftp: 69,
  'dhcp-client': 68,
});

export interface Endpoint {
  /** IPv4 dotted quad. */
  readonly address: string;
  readonly port: number;
}

export interface Datagram {
  /** Which bound role received it. */
  readonly channel: Channel;
  readonly data: Uint8Array;
  readonly source: Endpoint;
  /** Destination address as seen by the receiver (e.g. 255.255.255.255 for a broadcast) when known. */
  readonly destination?: Endpoint;
  /** OS interface index the datagram arrived on, when the transport can tell (the helper can, dgram cannot). */
  readonly interfaceIndex?: number;
}

export type DatagramListener = (datagram: Datagram) => void;

export interface DatagramTransport {
  /** 'direct' (node:dgram), 'helper' (native relay) or 'memory' (tests). */
  readonly kind: 'direct' | 'helper' | 'memory';
  /** Bind the given roles. Rejects with a TransportError (code says why: port in use, no such interface, …). */
  open(channels: readonly Channel[]): Promise<void>;
  /** Subscribe to received datagrams; returns the unsubscribe function. */
  onDatagram(listener: DatagramListener): () => void;
  /**
   * Send from the socket bound for `channel` to `to`. Broadcasts use address 255.255.255.255.
   * Resolves when handed to the OS; rejects with a TransportError (never throws synchronously).
   */
  send(channel: Channel, to: Endpoint, data: Uint8Array): Promise<void>;
  /** Close every socket this transport opened. Idempotent. */
  close(): Promise<void>;
  /** Errors after open (the helper died, a send was refused); only transports that can have them. */
  onError?(listener: (error: TransportError) => void): () => void;
}

export type TransportErrorCode =
  | 'port-in-use'
  | 'permission-denied'
  | 'interface-missing'
  | 'interface-down'
  | 'elevation-refused'
  | 'helper-died'
  | 'not-open'
  | 'send-refused'
  /**
   * Plain sockets cannot be pinned to the chosen NIC and the kernel would send 255.255.255.255 out of
   * another one (or the route cannot be told): refused before binding, or per send if the route moves.
   */
  | 'unpinned-broadcast'
  | 'io';

export class TransportError extends Error {
  constructor(
    readonly code: TransportErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}
