/**
 * What runs transfers outside TftpServer's thread: worker threads (transfer-worker.ts) or the native
 * data path (native-data-path.ts), both speaking worker-protocol.ts. The pool starts and stops them,
 * hands each negotiated transfer to the next live one (round-robin), turns their messages back into
 * events through its host, and takes a runner that fails out of the rotation: its transfers fail and
 * the clients' retries are served by the others, or in-process once none is left.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../shared/runtime.js';
import type { Source } from './file-cache.js';
import { NativeDataPath, type TransferRunner } from './native-data-path.js';
import { detailOf, type Negotiated } from './negotiate.js';
import type { RunningTransfer } from './registry.js';
import type { OnDisk } from './request.js';
import type { TransferHost, TransferInfo } from './transfer-host.js';
import {
  TFTP_WORKER_PROTOCOL,
  isFromWorker,
  type FromWorker,
  type StartTransfer,
  type WorkerSetup,
} from './worker-protocol.js';

/** tsx's ESM API module (a devDependency), for worker threads started from TypeScript sources. */
function tsxApi(): string {
  const root = dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  return pathToFileURL(join(root, 'dist', 'esm', 'api', 'index.mjs')).href;
}

/** A transfer running in a worker thread or the native data path, as the main thread sees it. */
export class RemoteTransfer implements RunningTransfer {
  readonly detail: Record<string, string | number | boolean>;
  constructor(
    readonly id: string,
    readonly key: string,
    readonly client: { readonly address: string; readonly port: number },
    readonly file: string,
    readonly size: number,
    neg: Negotiated,
    readonly worker: number,
    private readonly post: (message: { kind: 'resend' | 'supersede'; id: string }) => void,
  ) {
    this.detail = detailOf(neg);
  }

  /** The RRQ that asked for a resend, handled as a new request if the transfer has just ended. */
  repeated: { msg: Buffer; address: string; port: number } | undefined;

  resendCurrent(): void {
    this.post({ kind: 'resend', id: this.id });
  }

  supersede(): void {
    this.post({ kind: 'supersede', id: this.id });
  }

  close(): Promise<void> {
    return Promise.resolve(); // the worker closes its transfers when it is stopped
  }
}

/** A negotiated transfer handed to a runner. */
export interface RemoteStart {
  readonly id: string;
  readonly key: string;
  readonly client: { address: string; port: number };
  readonly file: string;
  readonly size: number;
  /** Bytes in memory (virtual file, netascii text): they travel with the request. */
  readonly source?: Source;
  /** An octet file (or a file inside an ISO image: extents of it) the runner opens itself. */
  readonly onDisk?: OnDisk;
  readonly neg: Negotiated;
  readonly oack?: Buffer;
  readonly retransmitMs: number;
  readonly maxRetries: number;
}

/** What the pool needs from its server. */
export interface RunnerPoolHost extends Pick<TransferHost, 'emitTransfer' | 'release'> {
  /** The RRQ taken for a repeat arrived after its transfer ended: serve it as a new request. */
  request(msg: Buffer, address: string, port: number): void;
  /** The runner could not open the file: the client gets an ERROR. */
  refuse(transfer: TransferInfo, reason: string): void;
  /** Packets a runner's transfer sent, and malformed datagrams it dropped. */
  count(sent: number, malformed: number): void;
}

export interface RunnerPoolOptions {
  readonly address: string;
  readonly progressMs: number;
  readonly chunkSize?: number;
  readonly cacheBytes?: number;
  readonly workerEntry?: string | URL;
  readonly nativeDataPath?: string;
}

export class RunnerPool {
  /** Transfers run in the native data path (one runner) instead of worker threads. */
  native = false;
  private runners: TransferRunner[] = [];
  private files: number[] = [];
  private stopped: (() => void)[] = [];
  private dead: boolean[] = [];
  private stopping = false;
  private next = 0;
  private readonly remote = new Map<string, RemoteTransfer>();

  constructor(
    private readonly options: RunnerPoolOptions,
    private readonly host: RunnerPoolHost,
    private readonly log: Logger,
  ) {}

  /** Runners started (live or failed). */
  get started(): number {
    return this.runners.length;
  }

  /** Starts one more runner. */
  spawn(): void {
    this.runners.push(this.spawnRunner(this.runners.length));
  }

  /** Runners still able to take transfers (a failed one is taken out of the rotation). */
  live(): number {
    let live = 0;
    for (let i = 0; i < this.runners.length; i++) if (!this.dead[i]) live++;
    return live;
  }

  /** Files the runners hold open. */
  openFiles(): number {
    return this.files.reduce((a, b) => a + b, 0);
  }

  /** The native data path's process id while it runs. */
  nativePid(): number | undefined {
    const runner = this.native ? this.runners[0] : undefined;
    return runner instanceof NativeDataPath ? runner.pid : undefined;
  }

  /** Hands a negotiated transfer to the next live runner (round-robin). */
  start(t: RemoteStart): RemoteTransfer {
    let index = this.next++ % this.runners.length;
    for (let tries = 0; this.dead[index] && tries < this.runners.length; tries++) {
      index = (index + 1) % this.runners.length;
    }
    const runner = this.runners[index]!;
    const remote = new RemoteTransfer(t.id, t.key, t.client, t.file, t.size, t.neg, index, (m) =>
      runner.postMessage(m),
    );
    let data: Uint8Array | undefined;
    if (!t.onDisk && t.source) {
      // Virtual file or netascii text: the bytes travel with the request (copied by postMessage).
      const bytes = t.source.chunk(0) ?? Buffer.alloc(0);
      data = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    const oack = t.oack;
    const message: StartTransfer = {
      kind: 'start',
      id: t.id,
      key: t.key,
      client: t.client,
      file: t.file,
      ...(t.onDisk ? { path: t.onDisk.path, identity: t.onDisk.identity } : {}),
      ...(t.onDisk?.extents ? { extents: t.onDisk.extents } : {}),
      ...(data ? { data } : {}),
      neg: t.neg,
      ...(oack ? { oack: new Uint8Array(oack.buffer, oack.byteOffset, oack.byteLength) } : {}),
      retransmitMs: t.retransmitMs,
      maxRetries: t.maxRetries,
    };
    this.remote.set(t.id, remote);
    runner.postMessage(message);
    return remote;
  }

  /** Asks each runner to stop (its transfers end), waits up to 2 s for it, then ends it. */
  async stop(): Promise<void> {
    const runners = this.runners;
    this.stopping = true;
    this.runners = [];
    await Promise.all(
      runners.map(async (runner, i) => {
        if (this.dead[i]) return runner.terminate();
        await new Promise<void>((resolve) => {
          // Not unref'd: a runner that neither answers nor exits must not leave `stop()` pending on
          // an empty event loop (the process would end with "unsettled top-level await", exit 13).
          const timer = setTimeout(resolve, 2000);
          this.stopped[i] = () => {
            clearTimeout(timer);
            resolve();
          };
          runner.postMessage({ kind: 'stop' });
        });
        await runner.terminate();
      }),
    );
    this.files = [];
    this.stopped = [];
    this.dead = [];
    this.stopping = false;
  }

  /** Worker threads run compiled JavaScript; from TypeScript sources (tests) they load through tsx. */
  private spawnRunner(index: number): TransferRunner {
    if (this.native && this.options.nativeDataPath !== undefined) {
      return this.watch(
        index,
        new NativeDataPath(this.options.nativeDataPath, {
          address: this.options.address,
          progressMs: this.options.progressMs,
        }),
        'native tftp data path',
      );
    }
    const here = import.meta.url;
    const configured = this.options.workerEntry;
    const entry = configured
      ? configured instanceof URL
        ? configured
        : pathToFileURL(configured)
      : new URL(here.endsWith('.ts') ? './transfer-worker.ts' : './transfer-worker.js', here);
    const fromSource = entry.pathname.endsWith('.ts');
    const setup: WorkerSetup = {
      protocol: TFTP_WORKER_PROTOCOL,
      address: this.options.address,
      progressMs: this.options.progressMs,
      ...(this.options.chunkSize !== undefined ? { chunkSize: this.options.chunkSize } : {}),
      ...(this.options.cacheBytes !== undefined ? { cacheBytes: this.options.cacheBytes } : {}),
    };
    // From sources (tests, dev), a tiny bootstrap loads the TypeScript entry through tsx's API.
    const worker = fromSource
      ? new Worker(
          `import(${JSON.stringify(tsxApi())}).then((tsx) => tsx.tsImport(${JSON.stringify(entry.href)}, ` +
            `${JSON.stringify(entry.href)}))`,
          { eval: true, workerData: setup },
        )
      : new Worker(entry, { workerData: setup });
    return this.watch(index, worker, 'transfer worker');
  }

  private watch(index: number, runner: TransferRunner, what: string): TransferRunner {
    this.files[index] = 0;
    runner.on('message', (message: unknown) => {
      if (isFromWorker(message)) this.handle(index, message);
      else this.log.warn('ignored a malformed message from a transfer worker', { worker: index });
    });
    const lost = (why: string): void => {
      this.stopped[index]?.(); // gone while being stopped: nothing left to wait for
      if (this.dead[index] || this.stopping) return;
      this.dead[index] = true;
      this.files[index] = 0;
      this.log.error(`${what} failed`, { worker: index, error: why });
      for (const t of [...this.remote.values()]) {
        if (t.worker !== index) continue;
        this.remote.delete(t.id);
        const failure = { code: 'internal' } as const;
        this.host.emitTransfer(t, 'failed', 0, { reason: `${what} failed`, failure });
        this.host.release(t);
      }
    };
    runner.on('error', (error) => lost(error.message));
    runner.on('exit', (code) => lost(`exited with code ${code}`));
    return runner;
  }

  private handle(index: number, message: FromWorker): void {
    switch (message.kind) {
      case 'event': {
        const t = this.remote.get(message.id);
        if (!t) break;
        const { rate, reason, failure, extra } = message;
        this.host.emitTransfer(t, message.type, message.bytes, { rate, reason, failure, extra });
        // Ended: the client's address and port are free for its next request at once (the runner
        // still reports 'closed' once the socket and file are released).
        if (message.type === 'done' || message.type === 'failed') this.host.release(t);
        break;
      }
      case 'stale': {
        // The RRQ we took for a repeat arrived after the transfer ended: serve it as a new request.
        const t = this.remote.get(message.id);
        if (!t) break;
        this.host.release(t);
        const repeated = t.repeated;
        t.repeated = undefined;
        if (repeated) this.host.request(repeated.msg, repeated.address, repeated.port);
        break;
      }
      case 'refused': {
        const t = this.remote.get(message.id);
        if (!t) break;
        this.remote.delete(message.id);
        this.host.release(t);
        this.host.refuse(t, message.reason);
        break;
      }
      case 'closed': {
        const t = this.remote.get(message.id);
        this.remote.delete(message.id);
        if (t) this.host.release(t);
        this.host.count(message.sent, message.malformed);
        this.files[index] = message.openFiles;
        break;
      }
      case 'opened':
        this.files[index] = message.openFiles;
        break;
      case 'log':
        if (message.level === 'warn') this.log.warn(message.message, message.fields);
        else this.log.debug(message.message, message.fields);
        break;
      case 'stopped':
        this.stopped[index]?.();
        break;
    }
  }
}
