/** What a TftpServer is given: folders, limits, where transfers run, and its logger and clock. */
import type { DatagramTransport } from '../../shared/datagram-transport.js';
import type { Clock, Logger } from '../../shared/runtime.js';

export type VirtualFiles = (
  path: string,
  client: { address: string; port: number },
) => Buffer | undefined | Promise<Buffer | undefined>;

export interface TftpServerOptions {
  readonly root: string;
  readonly address: string;
  readonly port?: number;
  readonly transport?: DatagramTransport;
  readonly fallbackDirs?: readonly string[];
  /** NIC MTU: blksize is clamped to mtu - 32 (IPv4 + UDP + TFTP headers, RFC 2348). */
  readonly mtu?: number;
  /**
   * Cap on the granted blksize, 0 to refuse the option (dnsmasq --tftp-no-blocksize): some clients ask
   * for blksize and then misbehave when it is granted (dnsmasq --tftp-no-blocksize; docs/protocol-notes.md §9).
   */
  readonly maxBlksize?: number;
  /** Cap on the granted windowsize (RFC 7440); 1 refuses the option (lockstep for everyone). */
  readonly maxWindowsize?: number;
  readonly caseInsensitive?: boolean;
  readonly virtualFiles?: VirtualFiles;
  /** Concurrent transfers; more get ERROR 0 "server busy" (dnsmasq tftp-max). Default 512. */
  readonly maxTransfers?: number;
  /** First retransmit interval when the client did not negotiate `timeout` (ms, default 1000). */
  readonly retransmitMs?: number;
  /** Retransmissions before giving up (default 5). */
  readonly maxRetries?: number;
  /**
   * How long after a transfer delivered its file an identical RRQ from the same address and port is
   * taken for a late copy of the first and ignored (ms, default 750; below clients' RRQ retry interval).
   */
  readonly lateCopyMs?: number;
  /** Progress event period (ms, default 250). */
  readonly progressMs?: number;
  /** Bytes per shared file read (default 128 KiB). */
  readonly chunkSize?: number;
  /** File bytes kept in memory across transfers (default 64 MiB). */
  readonly cacheBytes?: number;
  /** Largest file served in netascii mode, which is converted in memory (default 16 MiB). */
  readonly maxNetasciiBytes?: number;
  /**
   * Worker threads for transfers. A number N > 0: every transfer runs on one of N worker threads
   * (requests, confinement and negotiation stay here). 0: all on this thread. 'auto' (default): the
   * first `offloadAt` concurrent transfers run here; beyond that, new ones go to up to two workers
   * started on first need — a classroom boot storm then uses more than one core (bench/README.md),
   * while a handful of clients never starts a thread.
   */
  readonly workers?: number | 'auto';
  /** With `workers: 'auto'`: concurrent in-process transfers before new ones are offloaded (default 16). */
  readonly offloadAt?: number;
  /**
   * The worker thread's script, when the default (`transfer-worker.js` next to this module) cannot be
   * loaded as is — e.g. a packaged app that unpacks it from its archive. `.ts` loads through tsx.
   */
  readonly workerEntry?: string | URL;
  /**
   * The native data path binary (`pxe-desk-tftp`, native-tftp/; defaultNativeTftpPath() finds the
   * built one). When set on Linux, every transfer's data phase runs there (lockstep throughput beyond
   * what Node's dgram allows, bench/README.md) and `workers` is not used; should it fail, transfers
   * fall back to this process.
   */
  readonly nativeDataPath?: string;
  readonly logger?: Logger;
  readonly clock?: Clock;
}
