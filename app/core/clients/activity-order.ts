/**
 * The client model's eviction order: MACs by last activity, least recent first. Each activity appends
 * (MAC, number); an entry is stale once its MAC has a newer number or is gone, and stale entries are
 * dropped lazily. Not a Map whose entries move to its end: deleting a Map's oldest entries leaves holes
 * that every later scan from the start walks over again (at 20 000 new MACs/s that walk was the largest
 * cost of a DISCOVER in the product's profile, issue 17).
 */
export class ActivityOrder {
  private macs: string[] = [];
  private nums: number[] = [];
  private head = 0;
  private seq = 0;

  /**
   * @param current the activity number a MAC has now (undefined: no longer tracked), as its owner keeps it
   */
  constructor(private readonly current: (mac: string) => number | undefined) {}

  /** The number of the latest activity (a MAC with this number needs no new entry). */
  get latest(): number {
    return this.seq;
  }

  clear(): void {
    this.macs = [];
    this.nums = [];
    this.head = 0;
  }

  /** `mac` is now the most recently active; returns the number its owner keeps for it. `live`: MACs tracked. */
  touch(mac: string, live: number): number {
    const num = ++this.seq;
    this.macs.push(mac);
    this.nums.push(num);
    if (this.macs.length - this.head > 2 * live + 1024) this.compact();
    return num;
  }

  /**
   * The least recently active MAC for which `idle` holds, looking at most `scan` current entries; else
   * the least recently active one; undefined when none is tracked.
   */
  oldest(idle: (mac: string) => boolean, scan: number): string | undefined {
    let found: string | undefined;
    let scanned = 0;
    for (let i = this.head; i < this.macs.length; i++) {
      const mac = this.macs[i]!;
      if (this.current(mac) !== this.nums[i]) {
        if (i === this.head) this.head++; // stale at the head: never needed again
        continue;
      }
      found ??= mac;
      if (idle(mac)) {
        found = mac;
        break;
      }
      if (++scanned >= scan) break;
    }
    if (this.head > 4096 && this.head * 2 > this.macs.length) this.compact();
    return found;
  }

  /** Drops the stale entries and the consumed head. */
  private compact(): void {
    const macs: string[] = [];
    const nums: number[] = [];
    for (let i = this.head; i < this.macs.length; i++) {
      const mac = this.macs[i]!;
      if (this.current(mac) === this.nums[i]) {
        macs.push(mac);
        nums.push(this.nums[i]!);
      }
    }
    this.macs = macs;
    this.nums = nums;
    this.head = 0;
  }
}
