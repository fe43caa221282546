/**
 * Issue 18's report: with d-i's netboot tree as the folder, iPXE chained the tree's shim `bootnetx64.efi`
 * over HTTP, the file arrived whole (1 048 504 bytes), the shim could not fetch its GRUB, and the client's
 * row said "stalled during bootnetx64.efi at 1.0 MB". A download that completed is never a stall: the
 * row says what happened after it instead. Events as the engines send them (iPXE on UEFI, proxy mode).
 */
import { describe, expect, it } from 'vitest';
import { ClientBook } from '../../app/core/clients/index.js';
import type { DhcpEvent, TransferEvent } from '../../app/shared/events.js';

const MAC = '52:54:00:18:00:01';
const IP = '10.0.0.51';
const SHIM = 'debian-installer/amd64/bootnetx64.efi';
const SIZE = 1_048_504;

const IPXE = {
  mac: MAC,
  arch: 7,
  firmware: 'uefi-x64' as const,
  vendorClass: 'PXEClient:Arch:00007:UNDI:003016',
  userClass: 'iPXE',
  netboot: true,
};

const dhcp = (type: DhcpEvent['type'], time: number, extra: Partial<DhcpEvent> = {}): DhcpEvent => ({
  engine: 'proxy',
  type,
  time,
  client: IPXE,
  ...extra,
});

const http = (type: TransferEvent['type'], time: number, file: string, bytes: number): TransferEvent => ({
  engine: 'http',
  type,
  time,
  transferId: `h-${file}`,
  client: { address: IP, port: 40000 },
  file,
  bytes,
  size: file === SHIM ? SIZE : 900,
  ...(type === 'done' ? { detail: { status: 200 } } : {}),
});

describe('a download that arrived whole is never "stalled"', () => {
  it("iPXE chains the tree's shim over HTTP, it arrives whole, nothing follows", () => {
    let t = 0;
    const book = new ClientBook({ clock: { now: () => t }, mode: 'proxy' });
    book.ingest(dhcp('discover', 0));
    book.ingest(dhcp('offer', 5, { bootFile: 'http://10.0.0.1:8080/boot.ipxe', ip: IP }));
    book.ingest(http('start', 100, 'boot.ipxe', 0));
    book.ingest(http('done', 110, 'boot.ipxe', 900));
    book.ingest(http('start', 200, SHIM, 0));
    book.ingest(http('progress', 400, SHIM, 600_000));
    book.ingest(http('done', 600, SHIM, SIZE));
    for (const now of [20_000, 31_000, 45_000, 120_000]) {
      t = now;
      book.tick();
    }
    const row = book.row(MAC)!;
    const said = [row.stage, row.diagnosis ?? '', ...row.timeline.map((l) => l.text)].join('\n');
    expect(said).not.toMatch(/stalled/i);
    expect(said).not.toMatch(/during .*bootnetx64\.efi at/);
    // What the row says instead: the loader arrived and asked for nothing after it.
    expect(row.timeline.map((l) => l.text)).toContain(`HTTP ${SHIM} 1.0 MB in 0.4 s`);
    expect(row.diagnoses?.[0]).toMatchObject({ code: 'no-next-step' });
    expect(row.diagnoses?.[0]?.text).toMatch(
      /^Got debian-installer\/amd64\/bootnetx64\.efi but asked for nothing/,
    );
  });

  it('a download that really stopped is still a stall (the rule can fail)', () => {
    let t = 0;
    const book = new ClientBook({ clock: { now: () => t }, mode: 'proxy' });
    book.ingest(dhcp('discover', 0));
    book.ingest(dhcp('offer', 5, { bootFile: 'http://10.0.0.1:8080/boot.ipxe', ip: IP }));
    book.ingest(http('start', 200, SHIM, 0));
    book.ingest(http('progress', 400, SHIM, 600_000));
    t = 40_000;
    book.tick();
    const row = book.row(MAC)!;
    expect(row.stage).toBe('stalled');
    expect(row.diagnoses?.[0]?.text).toMatch(/stalled at 600 kB of 1\.0 MB/);
  });
});
