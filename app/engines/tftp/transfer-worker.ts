/**
 * Transfer worker thread (TftpServer `workers` option): runs Transfers on its own event loop so the
 * per-datagram work of many clients spreads over CPU cores (Node's dgram cost per packet is the
 * bottleneck at 200 clients, see bench/README.md). Protocol: worker-protocol.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FileCache, bufferSource, type Source } from './file-cache.js';
import { Transfer } from './transfer.js';
import type { TransferHost, TransferInfo } from './transfer-host.js';
import {
  TFTP_WORKER_PROTOCOL,
  isToWorker,
  type FromWorker,
  type StartTransfer,
  type WorkerSetup,
} from './worker-protocol.js';

const port = parentPort;
const setup = workerData as WorkerSetup;
if (!port || setup.protocol !== TFTP_WORKER_PROTOCOL) throw new Error('tftp worker: bad setup');

const post = (message: FromWorker): void => port.postMessage(message);
const files = new FileCache({
  ...(setup.chunkSize !== undefined ? { chunkSize: setup.chunkSize } : {}),
  ...(setup.cacheBytes !== undefined ? { budget: setup.cacheBytes } : {}),
});
const transfers = new Map<string, Transfer>();
/**
 * Transfers told to start that are still opening their file. A resend asked meanwhile (the client
 * resent its RRQ while this thread was starting up) is answered by the first packet itself; answering
 * 'stale' made the engine serve that copy as a second transfer, which OACKed a client locked onto the
 * first for ~31 s. A supersede asked meanwhile ends the transfer as soon as it exists.
 */
const starting = new Map<string, { superseded: boolean }>();

const host: TransferHost = {
  now: () => Date.now(),
  progressMs: setup.progressMs,
  countSent: () => undefined, // reported per transfer in its 'closed' message
  countMalformed: () => undefined,
  release: (t: TransferInfo) => {
    transfers.delete(t.id);
  },
  logDebug: (message, fields) => post({ kind: 'log', level: 'debug', message, fields }),
  logWarn: (message, fields) => post({ kind: 'log', level: 'warn', message, fields }),
  emitTransfer: (t, type, bytes, outcome = {}) => {
    const { rate, reason, failure, extra } = outcome;
    post({
      kind: 'event',
      id: t.id,
      type,
      bytes,
      ...(rate !== undefined ? { rate } : {}),
      ...(reason !== undefined ? { reason } : {}),
      ...(failure ? { failure } : {}),
      ...(extra ? { extra } : {}),
    });
  },
};

async function start(m: StartTransfer): Promise<void> {
  starting.set(m.id, { superseded: false });
  try {
    await startTransfer(m);
  } finally {
    starting.delete(m.id);
  }
}

async function startTransfer(m: StartTransfer): Promise<void> {
  let source: Source;
  if (m.data) source = bufferSource(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength));
  else if (m.path && m.identity) {
    const opened = await files.open(m.path, m.identity, m.extents);
    if (!opened.ok) {
      post({ kind: 'refused', id: m.id, reason: opened.reason });
      return;
    }
    source = opened.source;
    post({ kind: 'opened', openFiles: files.openFiles() });
  } else {
    post({ kind: 'refused', id: m.id, reason: 'nothing to send' });
    return;
  }
  const oack = m.oack ? Buffer.from(m.oack.buffer, m.oack.byteOffset, m.oack.byteLength) : undefined;
  const transfer = new Transfer(host, m.id, m.key, m.client, m.file, source, m.neg, oack, {
    retransmitMs: m.retransmitMs,
    maxRetries: m.maxRetries,
  });
  transfers.set(m.id, transfer);
  void transfer.whenClosed.then(() =>
    post({
      kind: 'closed',
      id: m.id,
      sent: transfer.packetsSent,
      malformed: transfer.malformed,
      openFiles: files.openFiles(),
    }),
  );
  const superseded = starting.get(m.id)?.superseded === true;
  starting.delete(m.id); // from here on, resend and supersede reach the transfer itself
  if (superseded) {
    transfer.fail('client sent a new request from the same port', 'superseded');
    return;
  }
  try {
    await transfer.begin(setup.address);
  } catch (error) {
    transfer.fail(
      `cannot open transfer socket: ${error instanceof Error ? error.message : String(error)}`,
      'internal',
    );
  }
}

port.on('message', (message: unknown) => {
  if (!isToWorker(message)) return;
  if (message.kind === 'start') void start(message);
  else if (message.kind === 'supersede') {
    const pending = starting.get(message.id);
    if (pending) pending.superseded = true;
    else transfers.get(message.id)?.supersede();
  } else if (message.kind === 'resend') {
    const transfer = transfers.get(message.id);
    if (transfer) transfer.resendCurrent();
    else if (!starting.has(message.id)) post({ kind: 'stale', id: message.id });
  } else {
    void Promise.all([...transfers.values()].map((t) => t.close())).then(() => post({ kind: 'stopped' }));
  }
});
