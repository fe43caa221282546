/**
 * Picks the DatagramTransport for a session's DHCP sockets (the preflight probe, proxyDHCP and DHCP
 * replies: every caller broadcasts). Only the helper can pin a socket to one NIC (SO_BINDTODEVICE,
 * docs/helper.md), so plain sockets are handed out only while the OS routes 255.255.255.255 through the
 * chosen NIC anyway; otherwise the broadcasts would leave through another network (a laptop's office
 * Wi-Fi) and the start is refused with TransportError 'unpinned-broadcast', naming the fix.
 *   auto:   Linux with a helper binary -> helper; elsewhere -> direct node:dgram, if the NIC is pinned by route.
 *   always: helper, or a clear error if it cannot be used.
 *   never:  direct, if the NIC is pinned by route.
 */
import { existsSync } from 'node:fs';
import { TransportError, type Channel, type DatagramTransport } from '../shared/datagram-transport.js';
import type { Logger } from '../shared/runtime.js';
import {
  broadcastRouteOf,
  unpinnedBroadcastError,
  type BroadcastRouteLookup,
  type UnpinnedReason,
} from './broadcast-route.js';
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
  /** Where the OS sends 255.255.255.255 from a plain socket (default: asks the OS, broadcastRouteOf). */
  readonly broadcastRoute?: BroadcastRouteLookup;
}

export function chooseTransport(options: ChooseTransportOptions): DatagramTransport {
  const platform = options.platform ?? process.platform;
  const helperPath = options.helperPath ?? defaultHelperPath();
  const direct = (reason: UnpinnedReason): DatagramTransport => {
    if (!options.iface)
      throw new TransportError(
        'interface-missing',
        'DHCP broadcasts must stay on one interface: choose the NIC the clients are cabled to (--iface)',
      );
    const lookup = options.broadcastRoute ?? (() => broadcastRouteOf(platform));
    const pin = { iface: options.iface, reason, platform, helperPath, lookup };
    // Decided before any socket is bound: a refused start sends nothing at all.
    const refusal = unpinnedBroadcastError(lookup(), pin);
    if (refusal) throw refusal;
    return new DirectTransport({
      ...(options.bindAddress !== undefined ? { bindAddress: options.bindAddress } : {}),
      ...(options.ports ? { ports: options.ports } : {}),
      broadcastPin: pin,
    });
  };
  if (options.policy === 'never') return direct('policy-never');
  const helperUsable = platform === 'linux' && existsSync(helperPath);
  if (options.policy === 'auto' && !helperUsable)
    return direct(platform === 'linux' ? 'helper-missing' : 'no-helper-platform');
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
