import { describe, expect, it } from 'vitest';
import { ClientBook as Timeline } from '../../app/core/clients/index.js';
import type { DhcpEvent, TransferEvent } from '../../app/shared/events.js';
import { firmwareLabel } from '../../app/shared/firmware.js';

const mac = '52:54:00:12:34:56';
function clock() {
  let t = 1000;
  return { now: () => t, set: (v: number) => (t = v) };
}
const dhcpEv = (type: DhcpEvent['type'], time: number, extra: Partial<DhcpEvent> = {}): DhcpEvent => ({
  engine: 'dhcp',
  type,
  time,
  client: { mac, firmware: 'bios', arch: 0 },
  ...extra,
});
const tx = (
  engine: 'tftp' | 'http',
  type: TransferEvent['type'],
  time: number,
  file: string,
  bytes: number,
): TransferEvent => ({
  engine,
  type,
  time,
  transferId: `${engine}-${file}`,
  client: { address: '10.0.0.100', port: 2000 },
  file,
  bytes,
});

describe('Client model: the timeline view', () => {
  it('maps transfers to the MAC learnt from the ack and finishes on the final file', () => {
    const c = clock();
    const t = new Timeline({ clock: c });
    const seen: string[] = [];
    t.onChange((client) => seen.push(client.stage));
    t.ingest(dhcpEv('discover', 1000));
    t.ingest(dhcpEv('offer', 1001, { ip: '10.0.0.100', bootFile: 'undionly.kpxe' }));
    t.ingest(dhcpEv('ack', 1002, { ip: '10.0.0.100' }));
    t.ingest(tx('tftp', 'start', 1100, 'undionly.kpxe', 0));
    t.ingest(tx('tftp', 'done', 1600, 'undionly.kpxe', 70000));
    t.ingest(tx('http', 'start', 2000, 'vmlinuz', 0));
    t.ingest(tx('http', 'done', 3000, 'vmlinuz', 5_000_000));
    const [client] = t.rows();
    expect(client?.mac).toBe(mac);
    expect(client?.ip).toBe('10.0.0.100');
    expect(client?.stage).toBe('booted');
    expect(client?.firmware).toBe('bios');
    expect(client?.timeline.map((e) => e.file).filter(Boolean)).toEqual([
      'undionly.kpxe',
      'undionly.kpxe',
      'vmlinuz',
      'vmlinuz',
    ]);
    expect(client?.timeline.at(-1)?.text).toBe('HTTP vmlinuz 5.0 MB in 1.0 s');
    expect(seen).toEqual(['dhcp', 'offered', 'offered', 'tftp', 'tftp', 'http', 'booted']);
  });

  it("shows EDK2's tsize probe as a size question, never as a finished download (U6), and small files in bytes", () => {
    const t = new Timeline({ clock: clock() });
    t.ingest(dhcpEv('ack', 1000, { ip: '10.0.0.100' }));
    t.ingest({ ...tx('tftp', 'start', 1100, 'vmlinuz', 0), size: 8_247_232 });
    t.ingest({ ...tx('tftp', 'done', 1101, 'vmlinuz', 0), size: 8_247_232, detail: { probe: true } });
    let rec = t.rows()[0]!;
    expect(rec.stage).toBe('tftp');
    expect(rec.timeline.at(-1)?.text).toBe('TFTP vmlinuz: size asked (8.2 MB), download follows');
    t.ingest(tx('http', 'start', 2000, 'boot.ipxe', 0));
    t.ingest(tx('http', 'done', 2001, 'boot.ipxe', 450));
    rec = t.rows()[0]!;
    expect(rec.timeline.at(-1)?.text).toBe('HTTP boot.ipxe 450 B in 0.0 s');
  });

  it('marks a client stalled after the window: a timeline line, and the stall finding as the headline', () => {
    const c = clock();
    const t = new Timeline({ clock: c, stallMs: 10_000 });
    t.ingest(dhcpEv('ack', 1000, { ip: '10.0.0.100' }));
    t.ingest(tx('tftp', 'start', 1000, 'undionly.kpxe', 0));
    t.ingest(tx('tftp', 'progress', 2000, 'undionly.kpxe', 4096));
    c.set(11_000);
    t.tick();
    expect(t.rows()[0]?.stage).toBe('tftp');
    c.set(12_500);
    t.tick();
    const client = t.rows()[0];
    expect(client?.stage).toBe('stalled');
    expect(client?.timeline.at(-1)?.text).toBe('stalled during undionly.kpxe at 4 kB');
    expect(client?.diagnosis).toMatch(
      /^TFTP stalled at block 9 of undionly\.kpxe after 4 kB \(no progress for 10 s\)/,
    );
  });

  it('a boot that stops before any transfer: one finding says where, and a new boot clears it', () => {
    const c = clock();
    const t = new Timeline({ clock: c, stallMs: 10_000 });
    t.ingest(dhcpEv('offer', 1000, { ip: '10.0.0.100', bootFile: 'undionly.kpxe' }));
    c.set(12_000);
    t.tick();
    let row = t.rows()[0]!;
    expect(row.stage).toBe('stalled');
    expect(row.diagnoses?.map((d) => [d.code, d.text])).toEqual([
      ['other', 'No progress for 10 s after offered'],
    ]);
    expect(row.diagnosis).toBe('No progress for 10 s after offered');
    t.ingest(dhcpEv('discover', 12_500));
    row = t.rows()[0]!;
    expect(row.stage).toBe('dhcp');
    expect(row.diagnoses).toBeUndefined();
    expect(row.diagnosis).toBeUndefined();
  });

  it('records refusals and failures with their reasons', () => {
    const t = new Timeline({ clock: clock() });
    t.ingest(dhcpEv('refusal', 1000, { reason: 'MAC is on the deny list', refusal: 'deny-list' }));
    expect(t.rows()[0]?.stage).toBe('refused');
    expect(t.rows()[0]?.timeline.at(-1)?.text).toBe('not served: MAC is on the deny list');
    expect(t.rows()[0]?.diagnosis).toBe('Not served: MAC is on the deny list');
    t.ingest(dhcpEv('discover', 2000));
    t.ingest(dhcpEv('ack', 2001, { ip: '10.0.0.100' }));
    t.ingest({ ...tx('tftp', 'failed', 2500, 'x.efi', 10), reason: 'client stopped acknowledging' });
    expect(t.rows()[0]?.stage).toBe('failed');
    expect(t.rows()[0]?.timeline.at(-1)?.text).toBe('TFTP x.efi failed: client stopped acknowledging');
    expect(t.rows()[0]?.diagnosis).toMatch(
      /^TFTP stalled at block 1 of x\.efi \(client stopped acknowledging\)/,
    );
  });

  it('bounds memory: caps clients (least recently active out, counted) and timeline lines', () => {
    const t = new Timeline({ clock: clock(), maxClients: 3, maxEntries: 4 });
    for (let i = 0; i < 10; i++) {
      const m = `02:00:00:00:00:0${i}`;
      t.ingest({ engine: 'proxy', type: 'discover', time: 1000 + i, client: { mac: m } });
    }
    expect(t.rows().map((c) => c.mac)).toEqual([
      '02:00:00:00:00:07',
      '02:00:00:00:00:08',
      '02:00:00:00:00:09',
    ]);
    expect(t.evicted).toBe(7);
    for (let i = 0; i < 10; i++)
      t.ingest({ engine: 'proxy', type: 'discover', time: 2000 + i, client: { mac: '02:00:00:00:00:09' } });
    expect(t.rows().find((c) => c.mac === '02:00:00:00:00:09')?.timeline).toHaveLength(4);
  });

  it('keeps an unknown-IP transfer under an ip: key', () => {
    const t = new Timeline({ clock: clock() });
    t.ingest(tx('http', 'start', 1000, 'a.iso', 0));
    expect(t.rows()[0]?.mac).toBe('ip:10.0.0.100');
  });

  it('joins transfers to a MAC learnt from the boot-script request (proxy mode, no lease of ours)', () => {
    const t = new Timeline({ clock: clock() });
    t.ingest({ engine: 'proxy', type: 'discover', time: 900, client: { mac, firmware: 'bios', arch: 0 } });
    t.learnIp('10.0.0.100', mac.toUpperCase());
    t.ingest(tx('http', 'start', 1000, 'vmlinuz', 0));
    const records = t.rows();
    expect(records.map((r) => r.mac)).toEqual([mac]);
    expect(records[0]?.ip).toBe('10.0.0.100');
    expect(records[0]?.timeline.some((e) => e.file === 'vmlinuz')).toBe(true);
  });
  it('writes the same DHCP lines for every client, with the address when there is one', () => {
    const t = new Timeline({ clock: clock() });
    const other = '52:54:00:12:34:57';
    const uefi = { firmware: 'uefi-x64' as const, arch: 7 };
    t.ingest(dhcpEv('discover', 1000, { engine: 'proxy', client: { mac, ...uefi } }));
    t.ingest(dhcpEv('offer', 1001, { engine: 'proxy', client: { mac, ...uefi }, bootFile: 'snponly.efi' }));
    t.ingest(dhcpEv('discover', 1002, { engine: 'proxy', client: { mac: other, ...uefi, ipxe: true } }));
    t.ingest(
      dhcpEv('offer', 1003, {
        client: { mac: other, ...uefi, ipxe: true },
        ip: '10.0.0.7',
        bootFile: 'x.ipxe',
      }),
    );
    t.ingest(dhcpEv('ack', 1004, { client: { mac: other, ...uefi, ipxe: true }, bootFile: 'x.ipxe' }));
    const lines = (m: string) => t.row(m)?.timeline.map((e) => e.text);
    expect(lines(mac)).toEqual([`DISCOVER (${firmwareLabel('uefi-x64')})`, 'OFFER → snponly.efi']);
    expect(lines(other)).toEqual([
      `DISCOVER (${firmwareLabel('uefi-x64')}, iPXE)`,
      'OFFER 10.0.0.7 → x.ipxe',
      'ACK → x.ipxe',
    ]);
  });
});
