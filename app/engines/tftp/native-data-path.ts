/**
 * The native TFTP data path (native-tftp/, `pxe-desk-tftp`) as the TftpServer sees it: a transfer
 * runner that speaks the worker contract (worker-protocol.ts), one JSON object per line over the
 * child's stdin/stdout, so the server treats it like a worker thread.
 *
 * Why: lockstep TFTP is bound by the time from an ACK to the next DATA; Node's per-datagram cost caps
 * a bare dgram responder at ~0.75x tftpd-hpa (bench/README.md), so the data phase runs in Go with
 * blocking syscalls, while requests, confinement, negotiation and events stay in the engine.
 * Linux only (it wakes transfers with shutdown(2) on UDP sockets); elsewhere the Node path serves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { findNativeBinary } from '../native-binary.js';
import {
  TFTP_WORKER_PROTOCOL,
  decodeWorkerLine,
  encodeWorkerLine,
  type ToWorker,
} from './worker-protocol.js';

/** What TftpServer needs from a worker thread or the native data path. */
export interface TransferRunner {
  postMessage(message: ToWorker): void;
  terminate(): Promise<number>;
  on(event: 'message', listener: (message: unknown) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'exit', listener: (code: number) => void): this;
}

/** The built binary, where native-binary.ts finds it. */
export function defaultNativeTftpPath(): string | undefined {
  return findNativeBinary('pxe-desk-tftp');
}

export class NativeDataPath extends EventEmitter implements TransferRunner {
  private readonly child: ChildProcess;
  private exited = false;
  private readonly exitCode: Promise<number>;
  private settle: (code: number) => void = () => undefined;

  constructor(binary: string, options: { address: string; progressMs: number }) {
    super();
    this.child = spawn(
      binary,
      [
        '--address',
        options.address,
        '--progress-ms',
        String(options.progressMs),
        '--protocol',
        String(TFTP_WORKER_PROTOCOL),
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    this.exitCode = new Promise<number>((done) => (this.settle = done));
    this.child.once('exit', (code, signal) => {
      this.exited = true;
      const result = code ?? (signal ? 128 : 1);
      this.settle(result);
      this.emit('exit', result);
    });
    // Could not start (not executable, wrong architecture): no 'exit' may follow.
    this.child.once('error', (error) => {
      this.exited = true;
      this.settle(127);
      this.emit('error', error);
    });
    // A write after the child died must not throw out of postMessage (the exit event reports it).
    this.child.stdin?.on('error', () => undefined);
    let stderr = '';
    this.child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    this.child.once('exit', () => {
      if (stderr.trim())
        this.emit('message', {
          kind: 'log',
          level: 'warn',
          message: 'native tftp: ' + stderr.trim(),
          fields: {},
        });
    });
    const lines = createInterface({ input: this.child.stdout! });
    // A line that is not JSON arrives as undefined: the server logs it, like a bad worker message.
    lines.on('line', (line) => this.emit('message', decodeWorkerLine(line)));
  }

  /** The pump's process id (diagnostics; tests count its open descriptors). */
  get pid(): number | undefined {
    return this.exited ? undefined : this.child.pid;
  }

  postMessage(message: ToWorker): void {
    if (this.exited) return;
    this.child.stdin?.write(`${encodeWorkerLine(message)}\n`);
  }

  /** Closing stdin ends the pump (its orphan rule); a pump that does not go is killed. */
  async terminate(): Promise<number> {
    if (!this.exited) {
      this.child.stdin?.end();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
      timer.unref();
      const code = await this.exitCode;
      clearTimeout(timer);
      return code;
    }
    return this.exitCode;
  }
}
