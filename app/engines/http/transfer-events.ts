/**
 * The events of one HTTP body transfer (start, progress at most every PROGRESS_INTERVAL_MS, then exactly
 * one of done or failed) built from what a body sender reports through its FileBodyListener, whichever
 * sender it is (file-body.ts in Node, native-body-path.ts in the Go child).
 */
import type { ServerResponse } from 'node:http';
import type { TransferEvent, TransferFailureCode } from '../../shared/events.js';
import type { Clock, Logger } from '../../shared/runtime.js';
import type { FileBodyListener } from './file-body.js';

export const PROGRESS_INTERVAL_MS = 500;

export interface BodyTransferContext {
  readonly res: ServerResponse;
  /** Every field of the transfer's events but type and bytes (and time, refreshed per event). */
  readonly base: Omit<TransferEvent, 'type' | 'bytes'>;
  /** The name asked for, for the log. */
  readonly file: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly emit: (event: TransferEvent) => void;
  /** The whole body reached the socket (the server counts it as sent). */
  readonly onDone: () => void;
}

export interface BodyTransfer {
  /** For the body sender. */
  readonly listener: FileBodyListener;
  /** The sender's stop; the response's 'close' calls it, and ends an unfinished transfer as aborted. */
  attach(stop: () => void): void;
}

/** Emits the transfer's 'start' now; the rest follows from the listener and the response's 'close'. */
export function trackBodyTransfer(ctx: BodyTransferContext): BodyTransfer {
  const { res, base, clock } = ctx;
  const started = clock.now();
  let sent = 0;
  let lastProgress = started;
  let finished = false;
  let stop = (): void => undefined;
  const rate = (): number => {
    const dt = (clock.now() - started) / 1000;
    return dt > 0 ? Math.round(sent / dt) : 0;
  };
  ctx.emit({ ...base, type: 'start', bytes: 0 });
  const fail = (reason: string, code: TransferFailureCode): void => {
    if (finished) return;
    finished = true;
    stop();
    ctx.emit({
      ...base,
      time: clock.now(),
      type: 'failed',
      bytes: sent,
      rate: rate(),
      reason,
      failure: { code },
    });
  };
  const listener: FileBodyListener = {
    bytes: (n) => {
      sent = n;
      const now = clock.now();
      if (now - lastProgress >= PROGRESS_INTERVAL_MS) {
        lastProgress = now;
        ctx.emit({ ...base, time: now, type: 'progress', bytes: sent, rate: rate() });
      }
    },
    done: () => {
      if (finished) return;
      finished = true;
      ctx.onDone();
      ctx.emit({
        ...base,
        time: clock.now(),
        type: 'done',
        bytes: sent,
        rate: rate(),
        detail: { method: 'GET', status: res.statusCode },
      });
    },
    failed: (err, code = 'read-error') => {
      if (code === 'aborted') fail(err.message, 'aborted');
      else {
        ctx.logger.warn('read failed', { file: ctx.file, error: err.message });
        fail(`read error: ${err.message}`, code);
      }
      res.destroy();
    },
  };
  return {
    listener,
    attach(senderStop) {
      stop = senderStop;
      res.on('close', () => {
        stop();
        if (!finished) fail('client closed the connection before the transfer completed', 'aborted');
      });
    },
  };
}
