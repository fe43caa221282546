import type { Clock } from '../../shared/runtime.js';

/**
 * Per-key and global token buckets (test-catalogue D30): a flood from random MACs can neither starve the server
 * nor grow state without bound. The per-key buckets live in a fixed table indexed by a hash of the key
 * (FNV-1a): memory is allocated once, nothing is created or evicted per packet (no GC churn at 20 000
 * DISCOVER/s), and the state is bounded by construction. Keys that share a slot share a bucket; with
 * `slots` buckets refilling at `perKeyPerSecond`, a flood must exceed slots × rate per second before a
 * well-behaved client that shares a slot with it is ever limited, and the global bucket stops it long before.
 */
export class RateLimiter {
  private readonly tokens: Float64Array;
  private readonly at: Float64Array;
  private readonly mask: number;
  private used = 0;
  private globalTokens: number;
  private globalAt: number;

  constructor(
    private readonly clock: Clock,
    private readonly perKeyPerSecond = 20,
    private readonly globalPerSecond = 50_000,
    slots = 4096,
  ) {
    let n = 1;
    while (n < slots) n <<= 1;
    this.mask = n - 1;
    this.tokens = new Float64Array(n);
    this.at = new Float64Array(n).fill(-1);
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
    const i = slotOf(key) & this.mask;
    const last = this.at[i]!;
    let t: number;
    if (last < 0) {
      this.used++;
      t = this.perKeyPerSecond;
    } else {
      t = Math.min(this.perKeyPerSecond, this.tokens[i]! + ((now - last) * this.perKeyPerSecond) / 1000);
    }
    this.at[i] = now;
    if (t < 1) {
      this.tokens[i] = t;
      return false;
    }
    this.tokens[i] = t - 1;
    this.globalTokens -= 1;
    return true;
  }

  /** Buckets in use (at most the table size). */
  size(): number {
    return this.used;
  }
}

/** FNV-1a over the key's UTF-16 code units (MACs are ASCII). */
function slotOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
