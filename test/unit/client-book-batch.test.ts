/**
 * The client model under a flood (issue 17, "Measure the product"): engine-driven rows announced in
 * batches per MAC with every timeline line kept, operator actions at once, eviction by least recent
 * activity however often clients come back; the serve output's line budget; the boot-file check's cache.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LineBudget, LiveView } from '../../app/cli/live-view.js';
import { ClientBook } from '../../app/core/clients/index.js';
import { cachedExists } from '../../app/core/session/engine-plan.js';
import type { DhcpEvent } from '../../app/shared/events.js';
import type { ClientRecord } from '../../app/shared/session-types.js';

const mac = (i: number) =>
  `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
const ev = (type: DhcpEvent['type'], i: number, time: number): DhcpEvent => ({
  engine: 'proxy',
  type,
  time,
  client: { mac: mac(i), netboot: true, firmware: 'bios', arch: 0 },
});

describe('ClientBook batches', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('announces each changed row once per batch with all its lines; operator actions at once', () => {
    const book = new ClientBook({ batchMs: 100, clock: { now: () => 5000 } });
    const rows: ClientRecord[] = [];
    book.onChange((r) => rows.push(r));
    for (let i = 0; i < 3; i++) {
      book.ingest(ev('discover', i, 5000));
      book.ingest(ev('offer', i, 5000));
    }
    expect(rows).toHaveLength(0); // nothing per datagram
    vi.advanceTimersByTime(100);
    expect(rows.map((r) => r.mac)).toEqual([mac(0), mac(1), mac(2)]);
    expect(rows.every((r) => r.timeline.map((l) => l.text.split(' ')[0]).join() === 'DISCOVER,OFFER')).toBe(
      true,
    );
    expect(rows.every((r) => r.stage === 'offered')).toBe(true);
    rows.length = 0;
    book.ingest(ev('discover', 1, 5001));
    book.block(mac(1)); // at once, and the pending row goes with it
    expect(rows).toEqual([expect.objectContaining({ mac: mac(1), blocked: true })]);
    vi.advanceTimersByTime(100);
    expect(rows).toHaveLength(1);
    // flush() sends what is pending now (the session calls it before a state change).
    book.ingest(ev('discover', 2, 5002));
    book.flush();
    expect(rows.at(-1)?.mac).toBe(mac(2));
  });

  it("a flood's batch goes out in slices with the event loop free in between, every row once", () => {
    const book = new ClientBook({ batchMs: 100, clock: { now: () => 1 } });
    const rows: string[] = [];
    book.onChange((r) => rows.push(r.mac));
    for (let i = 0; i < 300; i++) book.ingest(ev('discover', i, 1));
    vi.advanceTimersToNextTimer(); // the batch timer: the first slice
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(300);
    vi.advanceTimersByTime(100);
    expect(rows).toEqual(Array.from({ length: 300 }, (_, i) => mac(i)));
  });

  it("the session's tick looks at the clients in slices, every one once", () => {
    let now = 1;
    const book = new ClientBook({ clock: { now: () => now }, stallMs: 1000 });
    for (let i = 0; i < 600; i++) book.ingest(ev('discover', i, 1));
    const stalled: string[] = [];
    book.onChange((r) => r.stage === 'stalled' && stalled.push(r.mac));
    now = 5000;
    book.tickSlices(256);
    expect(stalled).toHaveLength(256); // the event loop gets a turn before the rest
    vi.runAllTimers();
    expect(new Set(stalled).size).toBe(600);
    expect(stalled).toHaveLength(600);
  });

  it('a client evicted before its batch is not announced; one that came back is kept over idle ones', () => {
    const book = new ClientBook({ batchMs: 100, maxClients: 3, clock: { now: () => 1 } });
    const rows: string[] = [];
    book.onChange((r) => rows.push(r.mac));
    // 0 keeps coming back (many stale activity entries), 1..n come once each.
    for (let i = 1; i <= 2000; i++) {
      book.ingest(ev('discover', 0, i));
      book.ingest(ev('discover', i, i));
    }
    expect(book.knows(mac(0))).toBe(true);
    expect(
      book
        .rows()
        .map((r) => r.mac)
        .sort(),
    ).toEqual([mac(0), mac(1999), mac(2000)].sort());
    expect(book.evicted).toBe(1998);
    vi.advanceTimersByTime(100);
    expect(rows.sort()).toEqual([mac(0), mac(1999), mac(2000)].sort());
  });
});

describe('serve output under a flood', () => {
  it('plain lines: a budget per second, the rest summed up once', () => {
    const budget = new LineBudget(3);
    const shown = Array.from({ length: 10 }, (_, i) => budget.admit(mac(i % 4)));
    expect(shown.filter(Boolean)).toHaveLength(3);
    expect(budget.summary()).toBe('7 more client updates from 4 machines not shown (--json has every one)');
    expect(budget.summary()).toBeUndefined();
    expect(budget.admit(mac(1))).toBe(true); // a new second's budget
  });

  it('the live view draws the newest rows and counts the others', () => {
    let frame = '';
    const view = new LiveView(
      (t) => (frame = t),
      0,
      () => 0,
    );
    for (let i = 0; i < 100; i++)
      view.handle({
        type: 'client',
        client: { mac: mac(i), stage: 'dhcp', firstSeen: i, lastSeen: i, timeline: [] },
      });
    view.draw();
    expect(frame).toContain('… 60 earlier machines not shown');
    expect(frame).toContain(mac(99));
    expect(frame).not.toContain(`${mac(59)} `);
    view.close();
  });
});

describe('boot file check', () => {
  it('asks the disk once per name per second', () => {
    let t = 0;
    const asked: string[] = [];
    let present = false;
    const has = cachedExists((n) => (asked.push(n), present), { now: () => t });
    expect(has('a.efi')).toBe(false);
    present = true;
    expect(has('a.efi')).toBe(false); // still the answer of this second
    expect(has('b.efi')).toBe(true);
    t = 1000;
    expect(has('a.efi')).toBe(true); // a file copied in is seen within a second
    expect(asked).toEqual(['a.efi', 'b.efi', 'a.efi']);
  });
});
