/**
 * Picks the DatagramTransport for a session (docs/decisions.md, "DHCP sockets on Linux": they always go through
 * the helper, because only it can pin a socket to one NIC).
 *   auto:   Linux with a helper binary -> helper; elsewhere -> direct node:dgram.
 *   always: helper, or a clear error if it cannot be used.
 *   never:  direct.
 */
import { existsSync } from 'node:fs';
import { TransportError, type Channel, type DatagramTransport } from '../shared/datagram-transport.js';
import type { Logger } from '../shared/runtime.js';
import { DirectTransport } from './direct-transport.js';
import { HelperTransport, defaultHelperPath, type HelperLaunch } from './helper-transport.js';

export { defaultHelperPath };

export type TransportPolicy = 'auto' | 'always' | 'never';

export interface ChooseTransportOptions {
  readonly policy: TransportPolicy;
  readonly iface?: string;
  readonly bindAddress?: string;
  readonly ports?: Partial<Record<Channel, number>>;
  readonly helperPath?: string;
  readonly launch?: HelperLaunch;
  readonly logger?: Logger;
  /** For tests: the platform to decide for (default process.platform). */
  readonly platform?: NodeJS.Platform;
}

export function chooseTransport(options: ChooseTransportOptions): DatagramTransport {
  const platform = options.platform ?? process.platform;
  const helperPath = options.helperPath ?? defaultHelperPath();
  const direct = (): DatagramTransport =>
    new DirectTransport({
      ...(options.bindAddress !== undefined ? { bindAddress: options.bindAddress } : {}),
      ...(options.ports ? { ports: options.ports } : {}),
    });
  if (options.policy === 'never') return direct();
  const helperUsable = platform === 'linux' && existsSync(helperPath);
  if (options.policy === 'auto' && !helperUsable) return direct();
  if (platform !== 'linux')
    throw new TransportError(
      'io',
      `the native helper exists only for Linux (this is ${platform}); use transport policy "never"`,
    );
  if (!helperUsable)
    throw new TransportError(
      'helper-died',
      `helper binary not found at ${helperPath} (build it: node scripts/build.mjs helper)`,
    );
  if (!options.iface)
    throw new TransportError('interface-missing', 'the helper binds on one interface: choose one (--iface)');
  return new HelperTransport({
    iface: options.iface,
    helperPath,
    ...(options.ports ? { ports: options.ports } : {}),
    ...(options.launch ? { launch: options.launch } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
}
