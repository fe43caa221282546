/**
 * What a BootRequest looked like at DISCOVER time, per MAC, for a while (test-catalogue P12): a 4011 REQUEST
 * without option 93 (and no Arch in 60) is answered from it. Bounded in size and age, so a flood of new
 * MACs cannot grow it without limit (test-catalogue D30); the oldest entry goes first.
 *
 * Why typed arrays and not a Map of objects: every DISCOVER is remembered, and a remembered request lives
 * for thousands of DISCOVERs more. Such middle-aged objects are the worst case for V8's generational GC:
 * each scavenge copies them, then promotes them, then a mark-compact frees them. Measured at 20 000
 * DISCOVER/s (bench/README.md): with a Map of request objects scavenges took up to 13 ms and replies queued
 * behind them (p99 10-16 ms, perfdhcp lost 0.4-0.6 %); with the records here (no heap object outlives its
 * packet) scavenges take 0.3 ms. Records are written into fixed slots kept in a recency list (typed
 * arrays, O(1) move and eviction); a SlotIndex finds the slot of a MAC. A record larger than a slot
 * (hostile, concatenated options) is kept as an object beside it, still one per slot, so still bounded.
 */
import type { BootRequest } from './boot-decision.js';
import { SlotIndex, hashString } from './slot-index.js';

/** Bytes per slot: a MAC, a few archs, option 60 and a user class fit easily (a real ROM's take < 100). */
const SLOT_BYTES = 384;
const FLAG_ARCHS = 1;
const FLAG_VENDOR_CLASS = 2;
const FLAG_IPXE_ENCAP = 4;
const FLAG_OVERSIZE = 8;
const FLAG_USER_CLASSES = 16;
const FLAG_IPXE_ENCAP_KNOWN = 32;

export class ClientMemory {
  private readonly capacity: number;
  private readonly arena: Buffer;
  /** Per slot: when remembered. */
  private readonly at: Float64Array;
  /** Recency list over the live slots (-1 = none): oldest at `head`, newest at `tail`. */
  private readonly older: Int32Array;
  private readonly newer: Int32Array;
  private head = -1;
  private tail = -1;
  /** Free slots (a stack). */
  private readonly spare: Int32Array;
  private spareCount = 0;
  private readonly index: SlotIndex<string>;
  private readonly oversize = new Map<number, BootRequest>();
  private count = 0;

  constructor(
    private readonly ttlMs: number,
    maxEntries = 4096,
  ) {
    this.capacity = Math.max(1, Math.floor(maxEntries));
    this.arena = Buffer.alloc(this.capacity * SLOT_BYTES);
    this.at = new Float64Array(this.capacity);
    this.older = new Int32Array(this.capacity);
    this.newer = new Int32Array(this.capacity);
    this.spare = new Int32Array(this.capacity);
    this.index = new SlotIndex(this.capacity, (slot, mac) => this.macIs(slot, mac));
    this.clear();
    primeClientMemory();
  }

  remember(req: BootRequest, now: number): void {
    // A slot stores the MAC's length in one byte; codec MACs are at most 47 characters (16 bytes of chaddr).
    if (this.ttlMs <= 0 || req.mac.length > 255) return;
    const hash = hashString(req.mac);
    let slot = this.index.find(req.mac, hash);
    if (slot >= 0)
      this.unlink(slot); // seen again: rewritten in place, moved to the newest end
    else {
      if (this.spareCount > 0) slot = this.spare[--this.spareCount] as number;
      else {
        // Full: the oldest goes.
        slot = this.head;
        this.unlink(slot);
        this.index.remove(slot);
        this.count--;
      }
      this.index.insert(slot, hash);
      this.count++;
    }
    this.oversize.delete(slot);
    if (!this.write(slot, req)) this.oversize.set(slot, req);
    this.at[slot] = now;
    // Newest at the tail.
    this.older[slot] = this.tail;
    this.newer[slot] = -1;
    if (this.tail >= 0) this.newer[this.tail] = slot;
    else this.head = slot;
    this.tail = slot;
  }

  recall(mac: string, now: number): BootRequest | undefined {
    const slot = this.index.find(mac, hashString(mac));
    if (slot < 0 || now - (this.at[slot] as number) > this.ttlMs) return undefined;
    return this.oversize.get(slot) ?? this.read(slot);
  }

  size(): number {
    return this.count;
  }

  private unlink(slot: number): void {
    const o = this.older[slot] as number;
    const n = this.newer[slot] as number;
    if (o >= 0) this.newer[o] = n;
    else this.head = n;
    if (n >= 0) this.older[n] = o;
    else this.tail = o;
  }

  private clear(): void {
    this.index.reset(this.capacity);
    this.oversize.clear();
    this.head = -1;
    this.tail = -1;
    this.count = 0;
    this.spareCount = 0;
    for (let slot = this.capacity - 1; slot >= 0; slot--) this.spare[this.spareCount++] = slot;
  }

  private macIs(slot: number, mac: string): boolean {
    const base = slot * SLOT_BYTES;
    if (this.arena[base + 1] !== mac.length) return false;
    for (let k = 0; k < mac.length; k++) if (this.arena[base + 2 + k] !== mac.charCodeAt(k)) return false;
    return true;
  }

  /**
   * Layout: flags u8, mac length u8, mac (latin1), then with FLAG_ARCHS a count u8 and u16 archs, with
   * FLAG_VENDOR_CLASS a length u8 and the bytes, then a user-class count u8 and per class a length u8 and
   * the bytes. Every string here came from `toString('latin1')`, so the bytes give the same string back.
   * False when it does not fit: the MAC is still written (the index compares it), the rest kept aside.
   */
  private write(slot: number, req: BootRequest): boolean {
    const a = this.arena;
    const base = slot * SLOT_BYTES;
    const end = base + SLOT_BYTES;
    const mac = req.mac;
    a[base + 1] = mac.length;
    a.write(mac, base + 2, 'latin1');
    let p = base + 2 + mac.length;
    const archs = req.archs;
    const vc = req.vendorClass;
    const uc = req.userClasses ?? [];
    let fits = uc.length <= 255;
    if (archs) fits &&= archs.length <= 255 && p + 1 + archs.length * 2 <= end;
    if (fits && archs) {
      a[p++] = archs.length;
      for (const arch of archs) p = a.writeUInt16BE(arch & 0xffff, p);
    }
    if (vc !== undefined) fits &&= vc.length <= 255 && p + 1 + vc.length <= end;
    if (fits && vc !== undefined) {
      a[p++] = vc.length;
      p += a.write(vc, p, 'latin1');
    }
    fits &&= p + 1 <= end;
    if (fits) {
      a[p++] = uc.length;
      for (const c of uc) {
        if (c.length > 255 || p + 1 + c.length > end) {
          fits = false;
          break;
        }
        a[p++] = c.length;
        p += a.write(c, p, 'latin1');
      }
    }
    a[base] =
      (archs ? FLAG_ARCHS : 0) |
      (vc !== undefined ? FLAG_VENDOR_CLASS : 0) |
      (req.userClasses ? FLAG_USER_CLASSES : 0) |
      (req.hasIpxeEncap !== undefined ? FLAG_IPXE_ENCAP_KNOWN : 0) |
      (req.hasIpxeEncap ? FLAG_IPXE_ENCAP : 0) |
      (fits ? 0 : FLAG_OVERSIZE);
    return fits;
  }

  private read(slot: number): BootRequest {
    const a = this.arena;
    const base = slot * SLOT_BYTES;
    const flags = a[base] as number;
    const macLength = a[base + 1] as number;
    const mac = a.toString('latin1', base + 2, base + 2 + macLength);
    let p = base + 2 + macLength;
    let archs: number[] | undefined;
    if (flags & FLAG_ARCHS) {
      const n = a[p++] as number;
      archs = [];
      for (let k = 0; k < n; k++, p += 2) archs.push(a.readUInt16BE(p));
    }
    let vendorClass: string | undefined;
    if (flags & FLAG_VENDOR_CLASS) {
      const n = a[p++] as number;
      vendorClass = a.toString('latin1', p, p + n);
      p += n;
    }
    const userClasses: string[] = [];
    for (let k = 0, n = a[p++] as number; k < n; k++) {
      const len = a[p++] as number;
      userClasses.push(a.toString('latin1', p, p + len));
      p += len;
    }
    return {
      mac,
      ...(archs ? { archs } : {}),
      ...(vendorClass !== undefined ? { vendorClass } : {}),
      ...(flags & FLAG_USER_CLASSES ? { userClasses } : {}),
      ...(flags & FLAG_IPXE_ENCAP_KNOWN ? { hasIpxeEncap: (flags & FLAG_IPXE_ENCAP) !== 0 } : {}),
    };
  }
}

let primed = false;

/**
 * Once per process, runs every remember/recall path (new, seen again, evicted, too large, absent) on a
 * throw-away instance. V8 optimises on the type feedback it has seen; a path first taken mid-flood (the first
 * returning client) deoptimised the whole DISCOVER path and the engine ran 2-3x slower for ~100 ms while it
 * re-optimised (bench/README.md). Feedback belongs to the functions, so a small instance primes them all.
 */
function primeClientMemory(): void {
  if (primed) return;
  primed = true;
  const m = new ClientMemory(1000, 8);
  for (let round = 0; round < 40; round++) {
    for (let i = 0; i < 12; i++) {
      const mac = `prime:${(round + i) % 12}`;
      m.remember({ mac, archs: [i], vendorClass: 'v', userClasses: ['u'], hasIpxeEncap: false }, round);
      m.recall(mac, round);
      m.recall(`absent:${i}`, round);
    }
    m.remember({ mac: 'prime:big', userClasses: ['u'.repeat(200), 'u'.repeat(200)] }, round);
  }
}
