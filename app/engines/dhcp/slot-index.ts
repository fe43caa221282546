/**
 * A hash index from a key to a slot number, in one Int32Array: open addressing, linear probing and
 * backward-shift deletion (Knuth, TAOCP vol. 3, 6.4 algorithm R), so there are no tombstones and a probe run
 * never grows with deletions. It keeps each slot's hash; the owner's storage (typed arrays) holds the key,
 * compared through `matches(slot, key)` only when the hashes are equal.
 *
 * Why: per-client state that lives for thousands of packets must not be heap objects, or every scavenge
 * copies it (see client-memory.ts and bench/README.md). Lookups allocate nothing.
 */
export class SlotIndex<K> {
  private table: Int32Array;
  private mask: number;
  /** Per slot: the hash it was inserted with. */
  private hashes: Uint32Array;

  constructor(
    capacity: number,
    private readonly matches: (slot: number, key: K) => boolean,
  ) {
    this.table = new Int32Array(tableSize(capacity));
    this.mask = this.table.length - 1;
    this.hashes = new Uint32Array(capacity);
  }

  /** The slot holding `key`, or -1. */
  find(key: K, hash: number): number {
    for (let i = hash & this.mask; this.table[i] !== 0; i = (i + 1) & this.mask) {
      const slot = (this.table[i] as number) - 1;
      if (this.hashes[slot] === hash && this.matches(slot, key)) return slot;
    }
    return -1;
  }

  /** Adds a slot whose key is not in the index yet (the caller checked with `find`). */
  insert(slot: number, hash: number): void {
    this.hashes[slot] = hash;
    let i = hash & this.mask;
    while (this.table[i] !== 0) i = (i + 1) & this.mask;
    this.table[i] = slot + 1;
  }

  /** Removes a slot that is in the index; later entries of its probe run shift back into the hole. */
  remove(slot: number): void {
    let hole = (this.hashes[slot] as number) & this.mask;
    while (this.table[hole] !== slot + 1) {
      if (this.table[hole] === 0) return;
      hole = (hole + 1) & this.mask;
    }
    for (let j = (hole + 1) & this.mask; this.table[j] !== 0; j = (j + 1) & this.mask) {
      const home = (this.hashes[(this.table[j] as number) - 1] as number) & this.mask;
      // The entry at j may fill the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!stays) {
        this.table[hole] = this.table[j] as number;
        hole = j;
      }
    }
    this.table[hole] = 0;
  }

  /** The hash `slot` was inserted with. */
  hashOfSlot(slot: number): number {
    return this.hashes[slot] as number;
  }

  /** Empties the index and sizes it for `capacity` slots (at most half full); slots keep their hashes. */
  reset(capacity: number): void {
    if (capacity > this.hashes.length) {
      const hashes = new Uint32Array(capacity);
      hashes.set(this.hashes);
      this.hashes = hashes;
    }
    const size = tableSize(capacity);
    if (size !== this.table.length) {
      this.table = new Int32Array(size);
      this.mask = size - 1;
    } else this.table.fill(0);
  }
}

function tableSize(capacity: number): number {
  let size = 2;
  while (size < capacity * 2) size *= 2;
  return size;
}

/** FNV-1a over a string's char codes (no bytes or strings allocated per packet). */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < s.length; k++) h = Math.imul(h ^ s.charCodeAt(k), 0x01000193);
  return h >>> 0;
}

/** A 32-bit integer mix (murmur3 finaliser): IPv4 addresses in a pool are sequential. */
export function hashInt(n: number): number {
  let h = n >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
