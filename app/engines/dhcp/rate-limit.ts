import type { Clock } from '../../shared/runtime.js';

/**
 * Per-key and global token buckets with a bounded key map (catalogue D30): a flood from random MACs
 * can neither starve the server nor grow state without bound. Keys live in two generations (a full
 * current map becomes the previous one, the old previous is dropped): O(1) per packet, no iterator or
 * eviction walk under a flood, at most `maxKeys` keys. A key dropped this way starts with a full bucket
 * again, which only matters once more than maxKeys / 2 other MACs have spoken since.
 */
export class RateLimiter {
  private current = new Map<string, { tokens: number; at: number }>();
  private previous = new Map<string, { tokens: number; at: number }>();
  private globalTokens: number;
  private globalAt: number;

  constructor(
    private readonly clock: Clock,
    private readonly perKeyPerSecond = 20,
    private readonly globalPerSecond = 50_000,
    private readonly maxKeys = 4096,
  ) {
    this.globalTokens = globalPerSecond;
    this.globalAt = clock.now();
  }

  allow(key: string): boolean {
    const now = this.clock.now();
    this.globalTokens = Math.min(
      this.globalPerSecond,
      this.globalTokens + ((now - this.globalAt) * this.globalPerSecond) / 1000,
    );
    this.globalAt = now;
    if (this.globalTokens < 1) return false;
    let b = this.current.get(key);
    if (!b) {
      b = this.previous.get(key);
      if (b) this.previous.delete(key);
      if (this.current.size >= this.maxKeys / 2) {
        this.previous = this.current;
        this.current = new Map();
      }
      if (!b) b = { tokens: this.perKeyPerSecond, at: now };
      this.current.set(key, b);
    }
    b.tokens = Math.min(this.perKeyPerSecond, b.tokens + ((now - b.at) * this.perKeyPerSecond) / 1000);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    this.globalTokens -= 1;
    return true;
  }

  size(): number {
    return this.current.size + this.previous.size;
  }
}
