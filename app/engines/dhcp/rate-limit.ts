import type { Clock } from '../../shared/runtime.js';

/**
 * Per-key and global token buckets with a bounded key map (catalogue D30): a flood from random MACs
 * can neither starve the server nor grow state without bound.
 */
export class RateLimiter {
  private readonly perKey = new Map<string, { tokens: number; at: number }>();
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
    let b = this.perKey.get(key);
    if (!b) {
      if (this.perKey.size >= this.maxKeys) {
        // Evict the oldest entry (Map keeps insertion order).
        const first = this.perKey.keys().next().value;
        if (first !== undefined) this.perKey.delete(first);
      }
      b = { tokens: this.perKeyPerSecond, at: now };
      this.perKey.set(key, b);
    } else {
      b.tokens = Math.min(this.perKeyPerSecond, b.tokens + ((now - b.at) * this.perKeyPerSecond) / 1000);
      b.at = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    this.globalTokens -= 1;
    return true;
  }

  size(): number {
    return this.perKey.size;
  }
}
