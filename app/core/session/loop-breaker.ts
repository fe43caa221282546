/**
 * The loop breaker's policy: a boot loop the client model found (the same file `loopCount` times within
 * `loopWindowMs`) pauses that MAC for `loopPauseMs`: the boot decision then refuses it ('paused'), so the
 * loop ends instead of hammering the server. Unblock (or the pause running out) lifts it.
 */
import type { ClientBook, LoopFinding } from '../clients/index.js';
import { DEFAULT_LOOP_WINDOW_MS } from '../clients/file-roles.js';
import type { Clock } from '../../shared/runtime.js';

export const DEFAULT_LOOP_PAUSE_MS = 5 * 60_000;

export interface LoopBreakerOptions {
  readonly loopWindowMs?: number;
  readonly loopPauseMs?: number;
}

export class LoopBreaker {
  constructor(
    private readonly book: ClientBook,
    private readonly options: LoopBreakerOptions,
    private readonly clock: Clock,
    /** A session warning (shown by the UI and CLI until the session ends), not only a log line. */
    private readonly warn: (message: string) => void,
  ) {}

  /** Pauses the looping MAC (transfers not yet tied to a MAC cannot be paused: the boot decision needs one). */
  onLoop(loop: LoopFinding): void {
    if (loop.mac.startsWith('ip:')) return;
    const pauseMs = this.options.loopPauseMs ?? DEFAULT_LOOP_PAUSE_MS;
    const windowS = Math.round((this.options.loopWindowMs ?? DEFAULT_LOOP_WINDOW_MS) / 1000);
    const pauseS = Math.round(pauseMs / 1000);
    const reason = `loop breaker: ${loop.file} was downloaded ${loop.count} times in ${windowS} s (boot loop); no boot file for ${pauseS} s or until unblocked`;
    this.book.pause(loop, this.clock.now() + pauseMs, reason);
    this.warn(
      `loop breaker: stopped serving ${loop.file} to ${loop.mac} for ${pauseS} s (downloaded ${loop.count} times in ${windowS} s); Unblock it once the cause is fixed`,
    );
  }
}
