/**
 * The full server's leases, by MAC and by address, in typed arrays instead of a Map of objects.
 *
 * Why: every DISCOVER from a new client creates a lease that lives for the offer hold (60 s) or the lease
 * time. As heap objects (a Lease, its two strings and two Map entries) they were copied by every
 * scavenge and then promoted, and the Maps rehashed as they grew: at 20 000 DISCOVER/s that cost more CPU
 * per offer than the rest of the engine and put 10-16 ms pauses in front of the replies (bench/README.md).
 * Here a lease is a slot: its owner key in a byte arena, address, expiry, state and a recency stamp in
 * typed arrays, found through two SlotIndexes. Storage doubles when full (rare, O(leases)); lookups and
 * updates allocate nothing.
 */
import { SlotIndex, hashInt, hashString } from './slot-index.js';

export interface Lease {
  mac: string;
  ip: string;
  /** Epoch ms. */
  expires: number;
  state: 'offered' | 'bound';
}

/** Owner keys are MACs (at most 47 characters: 16 chaddr bytes) or `declined:<ip>`; longer is refused. */
export const MAX_KEY_LENGTH = 47;
const KEY_BYTES = MAX_KEY_LENGTH + 1;
const OFFERED = 1;
const BOUND = 2;

export class LeaseTable {
  private capacity: number;
  private keys: Buffer;
  private ips: Uint32Array;
  private expiries: Float64Array;
  /** 0 = free slot. */
  private states: Uint8Array;
  /** Insertion stamp: the list comes out oldest first, like the Map it replaced. */
  private stamps: Float64Array;
  private readonly byKey: SlotIndex<string>;
  private readonly byIp: SlotIndex<number>;
  private freeSlots: Int32Array;
  private freeCount: number;
  private count = 0;
  private stamp = 0;

  constructor(initialCapacity = 256) {
    this.capacity = Math.max(16, initialCapacity);
    this.keys = Buffer.alloc(this.capacity * KEY_BYTES);
    this.ips = new Uint32Array(this.capacity);
    this.expiries = new Float64Array(this.capacity);
    this.states = new Uint8Array(this.capacity);
    this.stamps = new Float64Array(this.capacity);
    this.byKey = new SlotIndex(this.capacity, (slot, key) => this.keyIs(slot, key));
    this.byIp = new SlotIndex(this.capacity, (slot, ip) => this.ips[slot] === ip);
    this.freeSlots = new Int32Array(this.capacity);
    for (let i = 0; i < this.capacity; i++) this.freeSlots[i] = this.capacity - 1 - i;
    this.freeCount = this.capacity;
    primeLeaseTable();
  }

  get size(): number {
    return this.count;
  }

  /** The lease of `key`, as a fresh object (not on the DISCOVER path). */
  get(key: string): Lease | undefined {
    const slot = this.byKey.find(key, hashString(key));
    return slot < 0 ? undefined : this.leaseAt(slot);
  }

  /** The address leased to `key` as an integer, or -1. */
  ipOf(key: string): number {
    const slot = this.byKey.find(key, hashString(key));
    return slot < 0 ? -1 : (this.ips[slot] as number);
  }

  /** The key holding `ip` (any state, expired or not), or undefined. */
  ownerOf(ip: number): string | undefined {
    const slot = this.byIp.find(ip >>> 0, hashInt(ip >>> 0));
    return slot < 0 ? undefined : this.keyAt(slot);
  }

  /** Whether `ip` is held by a lease that has not expired at `now`; `except` (a key) does not count. */
  isHeld(ip: number, now: number, except?: string): boolean {
    const slot = this.byIp.find(ip >>> 0, hashInt(ip >>> 0));
    if (slot < 0 || (this.expiries[slot] as number) <= now) return false;
    return except === undefined || !this.keyIs(slot, except);
  }

  /**
   * Leases `ip` to `key` (replacing the key's old lease, and any other holder of `ip`, whose entry went
   * stale). Throws a RangeError for a key longer than MAX_KEY_LENGTH or with a character above U+00FF.
   */
  set(key: string, ip: number, state: Lease['state'], expires: number): void {
    if (key.length > MAX_KEY_LENGTH) throw new RangeError(`lease key longer than ${MAX_KEY_LENGTH}`);
    for (let k = 0; k < key.length; k++) {
      if (key.charCodeAt(k) > 255) throw new RangeError('lease key is not latin1');
    }
    this.delete(key);
    const other = this.byIp.find(ip >>> 0, hashInt(ip >>> 0));
    if (other >= 0) this.free(other);
    if (this.freeCount === 0) this.grow();
    const slot = this.freeSlots[--this.freeCount] as number;
    const base = slot * KEY_BYTES;
    this.keys[base] = key.length;
    this.keys.write(key, base + 1, 'latin1');
    this.ips[slot] = ip >>> 0;
    this.expiries[slot] = expires;
    this.states[slot] = state === 'bound' ? BOUND : OFFERED;
    this.stamps[slot] = ++this.stamp;
    this.byKey.insert(slot, hashString(key));
    this.byIp.insert(slot, hashInt(ip >>> 0));
    this.count++;
  }

  delete(key: string): boolean {
    const slot = this.byKey.find(key, hashString(key));
    if (slot < 0) return false;
    this.free(slot);
    return true;
  }

  /** Every lease, oldest first (fresh objects). */
  list(): Lease[] {
    const slots: number[] = [];
    for (let slot = 0; slot < this.capacity; slot++) if (this.states[slot] !== 0) slots.push(slot);
    slots.sort((a, b) => (this.stamps[a] as number) - (this.stamps[b] as number));
    return slots.map((slot) => this.leaseAt(slot));
  }

  private free(slot: number): void {
    this.byKey.remove(slot);
    this.byIp.remove(slot);
    this.states[slot] = 0;
    this.freeSlots[this.freeCount++] = slot;
    this.count--;
  }

  /** Doubles the storage; slot numbers stay, so only the indexes are rebuilt. */
  private grow(): void {
    const old = this.capacity;
    const capacity = old * 2;
    const keys = Buffer.alloc(capacity * KEY_BYTES);
    this.keys.copy(keys);
    this.keys = keys;
    this.ips = grown(this.ips, new Uint32Array(capacity));
    this.expiries = grown(this.expiries, new Float64Array(capacity));
    this.states = grown(this.states, new Uint8Array(capacity));
    this.stamps = grown(this.stamps, new Float64Array(capacity));
    this.freeSlots = new Int32Array(capacity);
    this.freeCount = 0;
    for (let slot = capacity - 1; slot >= old; slot--) this.freeSlots[this.freeCount++] = slot;
    this.capacity = capacity;
    this.byKey.reset(capacity);
    this.byIp.reset(capacity);
    for (let slot = 0; slot < old; slot++) {
      if (this.states[slot] === 0) continue;
      this.byKey.insert(slot, this.byKey.hashOfSlot(slot));
      this.byIp.insert(slot, this.byIp.hashOfSlot(slot));
    }
  }

  private keyIs(slot: number, key: string): boolean {
    const base = slot * KEY_BYTES;
    if (this.keys[base] !== key.length) return false;
    for (let k = 0; k < key.length; k++) if (this.keys[base + 1 + k] !== key.charCodeAt(k)) return false;
    return true;
  }

  private keyAt(slot: number): string {
    const base = slot * KEY_BYTES;
    return this.keys.toString('latin1', base + 1, base + 1 + (this.keys[base] as number));
  }

  private leaseAt(slot: number): Lease {
    const ip = this.ips[slot] as number;
    return {
      mac: this.keyAt(slot),
      ip: `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`,
      expires: this.expiries[slot] as number,
      state: this.states[slot] === BOUND ? 'bound' : 'offered',
    };
  }
}

function grown<T extends Uint32Array | Float64Array | Uint8Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

let primed = false;

/**
 * Once per process, runs every path (new key, key found, lease replaced, stale holder taken over, delete,
 * growth) on a throw-away table: see primeClientMemory in client-memory.ts for why.
 */
function primeLeaseTable(): void {
  if (primed) return;
  primed = true;
  const t = new LeaseTable(16);
  // Addresses above 2^31, like most real ones (192.168/10/172 as u32): a small int would teach V8 that
  // an address fits an int32, and the first real one would deoptimise ("lost precision").
  const ip = (i: number): number => 0xc0a80000 + i;
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 40; i++) t.set(`prime:${i}`, ip(i), i % 2 ? 'bound' : 'offered', i);
    for (let i = 0; i < 40; i++) {
      t.ipOf(`prime:${i}`);
      t.ipOf(`absent:${i}`);
      t.isHeld(ip(i), 0, `prime:${i}`);
      t.isHeld(ip(100 + i), 0);
      t.ownerOf(ip(i));
      t.get(`prime:${i}`);
      t.set(`prime:${i}`, ip(64 + i), 'bound', i);
      t.set(`other:${i}`, ip(64 + i), 'offered', i);
    }
    for (let i = 0; i < 40; i++) t.delete(`other:${i}`);
  }
}
