/**
 * The seam between the session and the engines: a factory typed with each engine's own options, so the
 * session's plan (engine-plan.ts) is checked against what the engines accept, and tests inject fakes
 * (test/helpers/fake-engine.ts) through the same types.
 */
import { chooseTransport } from '../../transport/choose-transport.js';
import {
  DhcpServer,
  ProxyDhcpServer,
  type DhcpServerOptions,
  type ProxyDhcpServerOptions,
} from '../../engines/dhcp/index.js';
import { HttpBootServer, type HttpBootServerOptions } from '../../engines/http/index.js';
import { TftpServer, type TftpServerOptions } from '../../engines/tftp/index.js';
import type { Channel, DatagramTransport } from '../../shared/datagram-transport.js';
import type { Engine } from '../../shared/engine.js';
import type { HelperPolicy } from '../../shared/session-types.js';

export type { DhcpServerOptions, HttpBootServerOptions, ProxyDhcpServerOptions, TftpServerOptions };

/** An engine that may report the port it actually bound (port 0 → ephemeral). */
export type PortedEngine = Engine & { port?: () => number | undefined };

/** What the session asks of the transport: the NIC, our address and the UDP ports per channel. */
export interface TransportRequest {
  readonly policy: HelperPolicy;
  readonly iface?: string;
  readonly bindAddress: string;
  readonly ports: Partial<Record<Channel, number>>;
  readonly helperPath?: string;
}

export interface EngineFactory {
  transport(opts: TransportRequest): Promise<DatagramTransport>;
  proxy(opts: ProxyDhcpServerOptions): Promise<Engine>;
  dhcp(opts: DhcpServerOptions): Promise<Engine>;
  tftp(opts: TftpServerOptions): Promise<PortedEngine>;
  http(opts: HttpBootServerOptions): Promise<PortedEngine>;
}

/** The real engines and transport. */
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
  proxy: async (o) => new ProxyDhcpServer(o),
  dhcp: async (o) => new DhcpServer(o),
  tftp: async (o) => new TftpServer(o),
  http: async (o) => new HttpBootServer(o),
};
