/**
 * Batched row announcements: under a flood, a DISCOVER must not build and send a UI row. MACs whose row
 * changed are collected and announced every `batchMs`, BATCH_SLICE at a time with the event loop free in
 * between (2 000 rows at once, a flood's batch, held the DISCOVERs queued behind them for milliseconds).
 * A row that changes again meanwhile goes to the back and waits for the next batch.
 */
const BATCH_SLICE = 128;

export class RowBatch {
  /** MACs whose row changed since the last batch, in order of first change. */
  private readonly dirty = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private slice: ReturnType<typeof setImmediate> | undefined;

  /** `announce(mac)` sends that MAC's row (the book looks the client up; a dropped one is skipped). */
  constructor(
    private readonly batchMs: number,
    private readonly announce: (mac: string) => void,
  ) {}

  /** The row of `mac` changed: announced with the next batch. */
  mark(mac: string): void {
    this.dirty.add(mac);
    if (this.timer || this.slice) return;
    this.arm();
  }

  /** `mac` is gone (evicted, forgotten) or was just announced at once: not in the next batch. */
  forget(mac: string): void {
    this.dirty.delete(mac);
  }

  /** Announces every pending row now and stops the timers. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.slice) clearImmediate(this.slice);
    this.slice = undefined;
    if (this.dirty.size === 0) return;
    const macs = [...this.dirty];
    this.dirty.clear();
    for (const mac of macs) this.announce(mac);
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.run(this.dirty.size);
    }, this.batchMs);
    this.timer.unref?.();
  }

  /** Announces the `due` rows that changed first, a slice at a time. */
  private run(due: number): void {
    this.slice = undefined;
    let n = Math.min(due, BATCH_SLICE);
    for (const mac of this.dirty) {
      if (n-- <= 0) break;
      this.dirty.delete(mac);
      this.announce(mac);
    }
    const left = due - BATCH_SLICE;
    if (left > 0 && this.dirty.size > 0) {
      this.slice = setImmediate(() => this.run(Math.min(left, this.dirty.size)));
      this.slice.unref?.();
    } else if (this.dirty.size > 0 && !this.timer) this.arm();
  }
}
