/**
 * The client model's eviction order: clients by last activity, least recent first. Each activity appends
 * (client, number); an entry is stale once its client has a newer number or is gone, and stale entries are
 * dropped lazily. Not a Map whose entries move to its end: deleting a Map's oldest entries leaves holes
 * that every later scan from the start walks over again (at 20 000 new MACs/s that walk was the largest
 * cost of a DISCOVER in the product's profile, issue 17). Entries hold the client itself, not its MAC:
 * telling a stale entry from a current one then reads a field instead of looking the MAC up in the book
 * (three lookups per DISCOVER under a flood of new MACs).
 */
export class ActivityOrder<T extends object> {
  private items: (T | undefined)[] = [];
  private nums: number[] = [];
  private head = 0;
  private seq = 0;

  /**
   * @param current the activity number an item has now (undefined: no longer tracked), as its owner keeps it
   */
  constructor(private readonly current: (item: T) => number | undefined) {}

  /** The number of the latest activity (an item with this number needs no new entry). */
  get latest(): number {
    return this.seq;
  }

  clear(): void {
    this.items = [];
    this.nums = [];
    this.head = 0;
  }

  /** `item` is now the most recently active; returns the number its owner keeps for it. `live`: items tracked. */
  touch(item: T, live: number): number {
    const num = ++this.seq;
    this.items.push(item);
    this.nums.push(num);
    if (this.items.length - this.head > 2 * live + 1024) this.compact();
    return num;
  }

  /**
   * The least recently active item for which `idle` holds, looking at most `scan` current entries; else
   * the least recently active one; undefined when none is tracked.
   */
  oldest(idle: (item: T) => boolean, scan: number): T | undefined {
    let found: T | undefined;
    let scanned = 0;
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i];
      if (item === undefined || this.current(item) !== this.nums[i]) {
        if (i === this.head) {
          // Stale at the head: never needed again, and its slot must not keep a dropped client alive.
          this.items[i] = undefined;
          this.head++;
        }
        continue;
      }
      found ??= item;
      if (idle(item)) {
        found = item;
        break;
      }
      if (++scanned >= scan) break;
    }
    if (this.head > 4096 && this.head * 2 > this.items.length) this.compact();
    return found;
  }

  /** Drops the stale entries and the consumed head. */
  private compact(): void {
    const items: T[] = [];
    const nums: number[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i];
      if (item !== undefined && this.current(item) === this.nums[i]) {
        items.push(item);
        nums.push(this.nums[i]!);
      }
    }
    this.items = items;
    this.nums = nums;
    this.head = 0;
  }
}
