/** What a SessionController can be given (all optional: the CLI and the app use the defaults, tests inject). */
import type { DatagramTransport } from '../../shared/datagram-transport.js';
import type { Clock, Logger } from '../../shared/runtime.js';
import type { NicInfo, ProbeResult } from '../../shared/session-types.js';
import type { EngineFactory } from './engine-factory.js';

export interface SessionControllerOptions {
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly bootFilesDir?: string;
  readonly helperPath?: string;
  /**
   * The native TFTP data path binary (`pxe-desk-tftp`); default: the built or packaged one when present
   * (defaultNativeTftpPath). `false` keeps every transfer in Node.
   */
  readonly nativeTftpPath?: string | false;
  /**
   * The native HTTP body path binary (`pxe-desk-http`); default: the built or packaged one when present
   * (defaultNativeHttpPath). `false` sends every body from Node.
   */
  readonly nativeHttpPath?: string | false;
  readonly interfaces?: () => Promise<NicInfo[]>;
  readonly engines?: EngineFactory;
  readonly folderExists?: (path: string) => boolean;
  /** Stall window for the timeline (ms). */
  readonly stallMs?: number;
  /** Where the DHCP leases file goes when the config names none (default `<root>/../` is never used: a state dir). */
  readonly stateDir?: string;
  /** Preflight probe window (ms) when the config gives none (default 3500). */
  readonly probeWindowMs?: number;
  /** Replaces the preflight probe (tests inject results; default: DhcpProbe on the session transport). */
  readonly runProbe?: (o: PreflightProbeOptions) => Promise<ProbeResult>;
  /** Loop breaker: the same file this many times (3) within loopWindowMs (60 s) pauses the MAC for loopPauseMs (5 min). */
  readonly loopCount?: number;
  readonly loopWindowMs?: number;
  readonly loopPauseMs?: number;
  /** After another server's offer, how long a client has to come to us before "site-boot-file" (10 s). */
  readonly siteGraceMs?: number;
  /** A finished boot loader with nothing after it for this long is "no-next-step" (30 s). */
  readonly nextStepMs?: number;
  /** Client records kept (default 4096); the least recently active idle ones are evicted and counted. */
  readonly maxClients?: number;
  /**
   * `client` events from engine traffic are batched per MAC and sent at most this often (ms, default 100;
   * 0 = one per change): under a flood the UI and the CLI get each changed row once per batch, with every
   * timeline line, instead of one row per datagram. Operator actions are sent at once.
   */
  readonly clientBatchMs?: number;
}

export interface PreflightProbeOptions {
  readonly transport: DatagramTransport;
  readonly iface: string;
  readonly windowMs: number;
  readonly serverPort: number;
  readonly ownAddresses: readonly string[];
  readonly logger: Logger;
  readonly clock: Clock;
}
