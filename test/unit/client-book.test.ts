/**
 * The client model (app/core/clients/client-book.ts): one owner per client fact. Eviction with its
 * counter, IP → MAC for transfers, one loop count for breaker and diagnosis, pauses that end, blocks and
 * boot overrides in the row, and the overheard-REQUEST filter.
 */
import { describe, expect, it } from 'vitest';
import { ClientBook, fileRole, loopRun } from '../../app/core/clients/index.js';
import type { DhcpEvent, TransferEvent } from '../../app/shared/events.js';
import type { ClientRecord } from '../../app/shared/session-types.js';

const MAC = '52:54:00:12:34:56';
const IP = '10.0.0.50';

function clock(start = 1000) {
  let t = start;
  return { now: () => t, set: (v: number) => (t = v) };
}

const dhcp = (type: DhcpEvent['type'], time: number, extra: Partial<DhcpEvent> = {}): DhcpEvent => ({
  engine: 'proxy',
  type,
  time,
  client: { mac: MAC, arch: 7, firmware: 'uefi-x64', netboot: true },
  ...extra,
});

let tid = 0;
const tx = (
  type: TransferEvent['type'],
  time: number,
  file: string,
  id: string,
  bytes = 0,
): TransferEvent => ({
  engine: 'tftp',
  type,
  time,
  transferId: id,
  client: { address: IP, port: 2000 },
  file,
  bytes,
});

/** A completed download of `file` at `time`; returns what ingest reported for the 'done'. */
function download(book: ClientBook, time: number, file: string) {
  const id = `t${++tid}`;
  book.ingest(tx('start', time, file, id));
  return book.ingest(tx('done', time + 10, file, id, 70_000));
}

describe('ClientBook', () => {
  it('bounded: a flood of new MACs keeps maxClients records, evicts idle ones first, and counts them', () => {
    const c = clock();
    const book = new ClientBook({ clock: c, maxClients: 4 });
    // The first client has a transfer open: it is not idle and must survive the flood.
    book.ingest(dhcp('ack', 1000, { ip: IP }));
    book.ingest(tx('start', 1001, 'big.img', 'open'));
    for (let i = 0; i < 20; i++)
      book.ingest({
        engine: 'proxy',
        type: 'discover',
        time: 1100 + i,
        client: { mac: `02:00:00:00:01:${String(i).padStart(2, '0')}` },
      });
    const macs = book.rows().map((r) => r.mac);
    expect(macs).toHaveLength(4);
    expect(macs).toContain(MAC);
    expect(macs).toEqual(
      expect.arrayContaining(['02:00:00:00:01:17', '02:00:00:00:01:18', '02:00:00:00:01:19']),
    );
    expect(book.evicted).toBe(17);
    // The evicted clients' addresses are forgotten with them; the kept one's still resolves.
    expect(book.macForIp(IP)).toBe(MAC);
  });

  it("a long flood of new MACs (default bound) keeps 4096 records and forgets the evicted ones' addresses", () => {
    const c = clock(0);
    const book = new ClientBook({ clock: c });
    let emitted = 0; // a listener, as the session has: every event builds its row
    book.onChange(() => emitted++);
    const mac = (i: number) =>
      `02:00:${[i >> 16, (i >> 8) & 255, i & 255, 0].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
    const ip = (i: number) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`;
    for (let i = 0; i < 30_000; i++) {
      c.set(i);
      book.ingest({ engine: 'dhcp', type: 'discover', time: i, client: { mac: mac(i), netboot: true } });
      book.ingest({ engine: 'dhcp', type: 'offer', time: i, ip: ip(i), client: { mac: mac(i) } });
    }
    expect(book.rows()).toHaveLength(4096);
    expect(book.evicted).toBe(30_000 - 4096);
    expect(emitted).toBe(60_000);
    expect(book.macForIp(ip(0))).toBeUndefined();
    expect(book.macForIp(ip(29_999))).toBe(mac(29_999));
    expect(book.rows()[0]?.mac).toBe(mac(30_000 - 4096));
  });

  it('IP → MAC: transfers join the MAC our offer named, or an ip: record when nothing is known', () => {
    const book = new ClientBook({ clock: clock() });
    book.ingest(tx('start', 900, 'a.iso', 'x'));
    expect(book.rows().map((r) => r.mac)).toEqual([`ip:${IP}`]);
    book.ingest(dhcp('offer', 1000, { ip: IP, bootFile: 'snponly.efi' }));
    book.ingest(tx('start', 1100, 'snponly.efi', 'y'));
    const row = book.row(MAC)!;
    expect(row.ip).toBe(IP);
    expect(row.timeline.map((e) => e.text)).toContain('TFTP snponly.efi');
    // learnIp (a boot-script request or the site's ACK) rebinds an address to another machine.
    book.learnIp(IP, '52:54:00:AA:BB:CC');
    expect(book.macForIp(IP)).toBe('52:54:00:aa:bb:cc');
  });

  it('a boot loop is counted once: the breaker hears of it on the download that completes it, the diagnosis shows the same run', () => {
    const c = clock();
    const book = new ClientBook({ clock: c, mode: 'proxy' });
    book.learnIp(IP, MAC);
    expect(download(book, 1000, 'snponly.efi')).toBeUndefined();
    expect(download(book, 2000, 'snponly.efi')).toBeUndefined();
    const loop = download(book, 3000, 'snponly.efi');
    expect(loop).toEqual({ mac: MAC, file: 'snponly.efi', count: 3 });
    c.set(3100);
    const [finding] = book.diagnoses(MAC);
    expect(finding?.code).toBe('boot-loop');
    expect(finding?.text).toMatch(/^Downloaded snponly\.efi 3 times in 2 s/);
    // The same rule the diagnosis uses, on the same facts.
    expect(
      loopRun(
        [1000, 2000, 3000].map((time) => ({ file: 'snponly.efi', time })),
        'snponly.efi',
        {},
      ),
    ).toMatchObject({ count: 3 });
    // Scripts are fetched on every boot: never a loop, and never the end of a boot.
    for (const t of [4000, 5000, 6000, 7000]) expect(download(book, t, 'boot.ipxe')).toBeUndefined();
    expect(fileRole('boot.ipxe')).toBe('script');
    expect(fileRole('pxelinux.0')).toBe('loader');
    expect(fileRole('vmlinuz')).toBe('payload');
  });

  it('HTTP range reads of one image (sanboot of an ISO) are one download, never a boot loop', () => {
    const c = clock();
    const book = new ClientBook({ clock: c, mode: 'proxy' });
    book.learnIp(IP, MAC);
    const httpDone = (time: number, id: string, status: number): TransferEvent => ({
      engine: 'http',
      type: 'done',
      time,
      transferId: id,
      client: { address: IP, port: 40000 },
      file: 'live.iso',
      bytes: 65_536,
      size: 700_000_000,
      detail: { method: 'GET', status },
    });
    // 40 range answers in 4 s: what iPXE's sanboot does when the OS reads the CD.
    for (let i = 0; i < 40; i++) {
      const id = `r${i}`;
      book.ingest({ ...httpDone(1000 + i * 100, id, 206), type: 'start', bytes: 0 });
      expect(book.ingest(httpDone(1000 + i * 100 + 50, id, 206))).toBeUndefined();
    }
    c.set(6000);
    expect(book.diagnoses(MAC).map((d) => d.code)).not.toContain('boot-loop');
    // The same image fetched whole three times in a minute still is a loop: the rule itself is unchanged.
    for (const [i, t] of [7000, 8000, 9000].entries()) {
      book.ingest({ ...httpDone(t, `w${i}`, 200), type: 'start', bytes: 0 });
      const loop = book.ingest(httpDone(t + 50, `w${i}`, 200));
      if (i === 2) expect(loop).toEqual({ mac: MAC, file: 'live.iso', count: 3 });
      else expect(loop).toBeUndefined();
    }
  });

  it('pause: excludes the MAC as "paused", shows in the row, ends on time (tick re-emits the row), and the loop starts counting afresh', () => {
    const c = clock();
    const book = new ClientBook({ clock: c, mode: 'proxy' });
    const rows: ClientRecord[] = [];
    book.onChange((r) => rows.push(r));
    book.learnIp(IP, MAC);
    download(book, 1000, 'undionly.kpxe');
    download(book, 1500, 'undionly.kpxe');
    const loop = download(book, 2000, 'undionly.kpxe')!;
    c.set(2100);
    book.pause(loop, 62_100, 'loop breaker: test');
    expect(book.exclusion(MAC)).toEqual({ kind: 'paused', reason: 'loop breaker: test' });
    expect(rows.at(-1)?.paused).toEqual({ until: 62_100, reason: 'loop breaker: test' });
    expect(rows.at(-1)?.diagnoses?.[0]?.code).toBe('loop-broken');
    // Already paused: another download does not report the loop again.
    expect(download(book, 3000, 'undionly.kpxe')).toBeUndefined();
    c.set(62_100);
    rows.length = 0;
    book.tick();
    expect(rows.find((r) => r.mac === MAC)?.paused).toBeUndefined();
    expect(book.exclusion(MAC)).toBeUndefined();
    expect(book.row(MAC)?.diagnoses?.map((d) => d.code) ?? []).not.toContain('loop-broken');
    // Downloads before the pause ended no longer count towards a loop.
    expect(download(book, 63_000, 'undionly.kpxe')).toBeUndefined();
  });

  it('unblock lifts a pause at once; block and unblock are reflected in the row and the exclusion', () => {
    const c = clock();
    const book = new ClientBook({ clock: c });
    const rows: ClientRecord[] = [];
    book.onChange((r) => rows.push(r));
    book.ingest(dhcp('discover', 1000));
    book.block(MAC);
    expect(rows.at(-1)).toMatchObject({ mac: MAC, blocked: true });
    expect(book.exclusion(MAC)).toEqual({ kind: 'blocked', reason: 'blocked by the operator' });
    expect(book.unblock(MAC)).toEqual({ liftedPause: false });
    expect(rows.at(-1)?.blocked).toBeUndefined();
    book.pause({ mac: MAC, file: 'x.efi', count: 3 }, 500_000, 'loop breaker: test');
    expect(book.row(MAC)?.paused?.until).toBe(500_000);
    expect(book.unblock(MAC)).toEqual({ liftedPause: true });
    expect(book.row(MAC)?.paused).toBeUndefined();
    expect(book.exclusion(MAC)).toBeUndefined();
  });

  it('blocks outlive a new run; clients, pauses and the eviction count do not', () => {
    const book = new ClientBook({ clock: clock(), maxClients: 1 });
    book.ingest(dhcp('discover', 1000));
    book.ingest({ ...dhcp('discover', 1001), client: { mac: '02:00:00:00:00:01' } });
    book.block(MAC);
    book.pause({ mac: '02:00:00:00:00:01', file: 'x.efi', count: 3 }, 9_999_999, 'loop breaker: test');
    expect(book.evicted).toBe(1);
    book.reset('proxy');
    expect(book.rows()).toEqual([]);
    expect(book.evicted).toBe(0);
    expect(book.exclusion(MAC)?.kind).toBe('blocked');
    expect(book.exclusion('02:00:00:00:00:01')).toBeUndefined();
  });

  it("the row carries the library's boot override and the firmware the engine's event carries", () => {
    const overrides = new Map([[MAC, { entry: 'memtest', once: true }]]);
    const book = new ClientBook({ clock: clock(), bootOverride: (m) => overrides.get(m) });
    book.ingest(dhcp('discover', 1000, { client: { mac: MAC, arch: 7, firmware: 'uefi-x64' } }));
    expect(book.row(MAC)).toMatchObject({
      firmware: 'uefi-x64',
      arch: 7,
      bootOverride: { entry: 'memtest', once: true },
    });
    overrides.delete(MAC);
    expect(book.row(MAC)?.bootOverride).toBeUndefined();
  });

  it('an overheard REQUEST binds IP → MAC for netboot or known clients only, and is not an exchange with us', () => {
    const book = new ClientBook({ clock: clock(), mode: 'proxy' });
    const laptop = '02:00:00:00:00:99';
    book.ingest({ engine: 'proxy', type: 'request', time: 1000, ip: '10.0.0.99', client: { mac: laptop } });
    expect(book.knows(laptop)).toBe(false);
    expect(book.macForIp('10.0.0.99')).toBeUndefined();
    book.ingest(dhcp('foreign-offer', 1000, { server: '10.0.0.254', bootFile: 'pxelinux.0' }));
    book.ingest(dhcp('request', 1100, { ip: IP, server: '10.0.0.254' }));
    expect(book.macForIp(IP)).toBe(MAC);
    // Asking the site server for its lease is not coming to us: the site's boot file still won.
    const c = clock(20_000);
    const later = new ClientBook({ clock: c, mode: 'proxy' });
    later.ingest(dhcp('foreign-offer', 1000, { server: '10.0.0.254', bootFile: 'pxelinux.0' }));
    later.ingest(dhcp('request', 1100, { ip: IP, server: '10.0.0.254' }));
    expect(later.diagnoses(MAC)[0]?.code).toBe('site-boot-file');
  });
});
