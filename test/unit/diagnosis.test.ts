import { describe, expect, it } from 'vitest';
import { ClientBook, type ClientBookOptions, type LoopFinding } from '../../app/core/clients/index.js';
import type { DhcpEvent, EngineEvent, TransferEvent } from '../../app/shared/events.js';

const MAC = '52:54:00:aa:bb:cc';
let id = 0;

/**
 * The diagnosis rules seen through the client model, the way the session uses them: events in, the
 * client's findings out at a given time. The clock follows the events; the transfers' address is bound
 * to MAC first (as our offer would).
 */
class ClientDiagnoser {
  private t = 0;
  private readonly book: ClientBook;
  private readonly emitted: string[] = [];
  constructor(o: ClientBookOptions) {
    this.book = new ClientBook({ ...o, clock: { now: () => this.t } });
    this.book.learnIp('10.0.0.9', MAC);
    this.book.onChange((row) => this.emitted.push(row.mac));
  }
  ingest(event: EngineEvent, _mac: string): LoopFinding | undefined {
    this.t = event.time;
    return this.book.ingest(event);
  }
  diagnoses(mac: string, now: number) {
    this.t = now;
    return this.book.diagnoses(mac);
  }
  /** The loop breaker paused `mac` from `time` until `until`. */
  markLoopBroken(_mac: string, loop: LoopFinding, time: number, until: number): void {
    this.t = time;
    this.book.pause(loop, until, 'loop breaker: test');
  }
  /** The operator unblocked it. */
  clearLoop(mac: string): void {
    this.book.unblock(mac);
  }
  /** MACs whose row the once-a-second tick emitted again at `now`. */
  changed(now: number): string[] {
    this.t = now;
    this.emitted.length = 0;
    this.book.tick();
    return [...this.emitted];
  }
}

function dhcp(type: DhcpEvent['type'], time: number, extra: Partial<DhcpEvent> = {}): DhcpEvent {
  return { engine: 'proxy', type, time, client: { mac: MAC, arch: 0, firmware: 'bios' }, ...extra };
}

function transfer(
  type: TransferEvent['type'],
  time: number,
  file: string,
  extra: Partial<TransferEvent> = {},
): TransferEvent {
  return {
    engine: 'tftp',
    type,
    time,
    transferId: extra.transferId ?? String(++id),
    client: { address: '10.0.0.9', port: 2000 },
    file,
    bytes: 0,
    ...extra,
  };
}

function download(d: ClientDiagnoser, time: number, file: string) {
  const tid = String(++id);
  d.ingest(transfer('start', time, file, { transferId: tid }), MAC);
  return d.ingest(transfer('done', time + 100, file, { transferId: tid, bytes: 70_000 }), MAC);
}

const opts: ClientBookOptions = { mode: 'proxy', siteGraceMs: 10_000, nextStepMs: 30_000, stallMs: 30_000 };

describe('diagnosis rules', () => {
  it('boot loop: the third download of the NBP within 60 s is reported (with the fix) and returned as a loop', () => {
    const d = new ClientDiagnoser(opts);
    expect(download(d, 1000, 'undionly.kpxe')).toBeUndefined();
    expect(download(d, 15_000, 'undionly.kpxe')).toBeUndefined();
    const loop = download(d, 30_000, 'undionly.kpxe');
    expect(loop).toEqual({ mac: MAC, file: 'undionly.kpxe', count: 3 });
    const [first] = d.diagnoses(MAC, 31_000);
    expect(first?.code).toBe('boot-loop');
    expect(first?.text).toMatch(/^Downloaded undionly\.kpxe 3 times in 29 s — boot loop.*user class/);
    expect(first?.fix).toMatch(/iPXE/);
  });

  it('no loop when the downloads are spread beyond the window, or are EDK2 tsize probes', () => {
    const d = new ClientDiagnoser(opts);
    download(d, 0, 'snponly.efi');
    download(d, 70_000, 'snponly.efi');
    expect(download(d, 140_000, 'snponly.efi')).toBeUndefined();
    const p = new ClientDiagnoser(opts);
    for (const t of [0, 100, 200])
      p.ingest(transfer('done', t, 'snponly.efi', { detail: { probe: true, clientCode: 8 } }), MAC);
    expect(download(p, 300, 'snponly.efi')).toBeUndefined();
    expect(p.diagnoses(MAC, 400).map((x) => x.code)).not.toContain('boot-loop');
  });

  it('loop-broken is the headline while the pause lasts, and clears on clearLoop', () => {
    const d = new ClientDiagnoser(opts);
    download(d, 0, 'ipxe.efi');
    download(d, 10, 'ipxe.efi');
    const loop = download(d, 20, 'ipxe.efi')!;
    d.markLoopBroken(MAC, loop, 200, 300_200);
    d.ingest(dhcp('refusal', 500, { reason: 'loop breaker: …' }), MAC);
    const found = d.diagnoses(MAC, 1000);
    expect(found.map((x) => x.code)).toEqual(['loop-broken', 'boot-loop']);
    expect(found[0]?.text).toMatch(/stopped offering a boot file.*ipxe\.efi 3 times/);
    d.clearLoop(MAC);
    expect(d.diagnoses(MAC, 1000).map((x) => x.code)).not.toContain('loop-broken');
  });

  it("TFTP stall: block from the engine's failure field (never the reason's text), MTU hint mid-file, firewall hint at block 1", () => {
    const d = new ClientDiagnoser(opts);
    d.ingest(transfer('start', 0, 'undionly.kpxe', { transferId: 'a' }), MAC);
    d.ingest(
      transfer('failed', 9000, 'undionly.kpxe', {
        transferId: 'a',
        bytes: 3000,
        reason: 'client stopped acknowledging at block 99',
        failure: { code: 'client-silent', block: 5 },
        detail: { blksize: 1024 },
      }),
      MAC,
    );
    const [s] = d.diagnoses(MAC, 9001);
    expect(s).toMatchObject({ code: 'tftp-stall', severity: 'error' });
    expect(s?.text).toMatch(/^TFTP stalled at block 5 of undionly\.kpxe after 3 kB .*MTU/);
    const f = new ClientDiagnoser(opts);
    f.ingest(
      transfer('failed', 9000, 'x.0', {
        reason: 'client never acknowledged the option reply (OACK)',
        failure: { code: 'client-silent' },
      }),
      MAC,
    );
    expect(f.diagnoses(MAC, 9001)[0]?.text).toMatch(/block 1 .*firewall/);
  });

  it("a failed transfer's code decides the finding: a restart is no stall, a client's own abort or our read error is said as such", () => {
    const failed = (code: NonNullable<TransferEvent['failure']>['code'], reason: string) => {
      const d = new ClientDiagnoser(opts);
      d.ingest(transfer('start', 0, 'undionly.kpxe', { transferId: 'f' }), MAC);
      d.ingest(
        transfer('failed', 500, 'undionly.kpxe', {
          transferId: 'f',
          bytes: 2048,
          reason,
          failure: { code, block: 5 },
        }),
        MAC,
      );
      return d.diagnoses(MAC, 600);
    };
    expect(failed('superseded', 'client sent a new request from the same port')).toEqual([]);
    expect(failed('aborted', 'the session stopped')).toEqual([]);
    expect(failed('client-error', 'client aborted at block 5 (error 0: x)')[0]).toMatchObject({
      code: 'other',
      severity: 'warning',
      text: 'The client ended the TFTP transfer of undionly.kpxe itself (client aborted at block 5 (error 0: x))',
    });
    expect(failed('read-error', 'read error: EIO')[0]).toMatchObject({ code: 'other', severity: 'error' });
    expect(failed('read-error', 'read error: EIO')[0]?.text).toMatch(
      /failed on PXE Desk's side \(read error: EIO\)/,
    );
    expect(failed('last-block-unacked', 'never received the last block')[0]?.code).toBe('tftp-stall');
  });

  it('TFTP stall without a failure event: an open transfer that stops moving', () => {
    const d = new ClientDiagnoser(opts);
    d.ingest(transfer('start', 0, 'big.img', { transferId: 'b', size: 5_000_000 }), MAC);
    d.ingest(
      transfer('progress', 1000, 'big.img', { transferId: 'b', bytes: 1_468_000, detail: { blksize: 1468 } }),
      MAC,
    );
    expect(d.diagnoses(MAC, 20_000)).toEqual([]);
    const [s] = d.diagnoses(MAC, 31_500);
    expect(s?.text).toMatch(/block 1001 of big\.img after 1\.5 MB of 5\.0 MB/);
  });

  it('missing arch: ARM64 refused because the library has no file for it (the refusal code says so)', () => {
    const d = new ClientDiagnoser(opts);
    d.ingest(
      {
        engine: 'proxy',
        type: 'refusal',
        time: 5,
        client: { mac: MAC, arch: 11, firmware: 'uefi-arm64' },
        reason: 'no boot file for UEFI ARM64 clients: add one in the boot-file settings',
        refusal: 'no-boot-file',
      },
      MAC,
    );
    const [m] = d.diagnoses(MAC, 6);
    expect(m).toMatchObject({ code: 'missing-arch' });
    expect(m?.text).toBe('Architecture 11 (UEFI ARM64) but no UEFI ARM64 boot file in the library');
    expect(m?.fix).toMatch(/netboot folder/);
  });

  it('operator refusals are "refused", not missing-arch', () => {
    const d = new ClientDiagnoser(opts);
    d.ingest(dhcp('refusal', 5, { reason: `${MAC} is on the deny list`, refusal: 'deny-list' }), MAC);
    expect(d.diagnoses(MAC, 6)).toEqual([
      expect.objectContaining({
        code: 'refused',
        severity: 'info',
        text: `Not served: ${MAC} is on the deny list`,
      }),
    ]);
  });

  it("refusals are told apart by their code, never by the reason's words", () => {
    const d = new ClientDiagnoser(opts);
    // Words that once meant "operator" ("blocked", "deny list") with a code that does not.
    d.ingest(
      dhcp('refusal', 5, { reason: 'firmware blocked by the deny list of its vendor', refusal: 'no-arch' }),
      MAC,
    );
    expect(d.diagnoses(MAC, 6)[0]).toMatchObject({ code: 'refused', severity: 'warning' });
    expect(d.diagnoses(MAC, 6)[0]?.fix).toBeUndefined();
    const b = new ClientDiagnoser(opts);
    b.ingest(dhcp('refusal', 5, { reason: 'paused for a while', refusal: 'paused' }), MAC);
    expect(b.diagnoses(MAC, 6)[0]).toMatchObject({ code: 'refused', severity: 'info' });
  });

  it('site boot file: took another offer with a file and never came to us within the grace time', () => {
    const d = new ClientDiagnoser(opts);
    d.ingest(dhcp('discover', 0), MAC);
    d.ingest(dhcp('offer', 10, { bootFile: 'undionly.kpxe' }), MAC);
    d.ingest(
      dhcp('foreign-offer', 20, { server: '10.0.0.254', bootFile: 'pxelinux.0', ip: '10.0.0.9' }),
      MAC,
    );
    expect(d.diagnoses(MAC, 5000)).toEqual([]);
    const [s] = d.diagnoses(MAC, 10_100);
    expect(s?.code).toBe('site-boot-file');
    expect(s?.text).toMatch(
      /site server's offer \(10\.0\.0\.254 → pxelinux\.0\) and never asked PXE Desk on 4011/,
    );
    expect(s?.fix).toMatch(/66\/67/);
    // Also when the probe saw that server hand out boot options (offer seen here without a file).
    const p = new ClientDiagnoser({ ...opts, bootingServers: () => new Map([['10.0.0.254', 'pxelinux.0']]) });
    p.ingest(dhcp('foreign-offer', 20, { server: '10.0.0.254' }), MAC);
    expect(p.diagnoses(MAC, 10_100)[0]?.code).toBe('site-boot-file');
  });

  it('no site-boot-file when the client came to us after the foreign offer, or in full DHCP mode', () => {
    const d = new ClientDiagnoser(opts);
    d.ingest(dhcp('foreign-offer', 20, { server: '10.0.0.254', bootFile: 'pxelinux.0' }), MAC);
    d.ingest(dhcp('pxe-request', 500), MAC);
    expect(d.diagnoses(MAC, 60_000).map((x) => x.code)).not.toContain('site-boot-file');
    const f = new ClientDiagnoser({ ...opts, mode: 'dhcp' });
    f.ingest(dhcp('foreign-offer', 20, { server: '10.0.0.254', bootFile: 'pxelinux.0' }), MAC);
    expect(f.diagnoses(MAC, 60_000)).toEqual([]);
  });

  it("iPXE told the script address but never fetched it: the site's boot file won (or HTTP is blocked)", () => {
    const ipxeOffer = (d: ClientDiagnoser, t: number) =>
      d.ingest(
        {
          engine: 'proxy',
          type: 'offer',
          time: t,
          client: { mac: MAC, arch: 7, firmware: 'uefi-x64', ipxe: true },
          bootFile: 'http://10.0.0.1:8080/boot.ipxe?mac=x',
        },
        MAC,
      );
    // Real OVMF case: EDK2 came to us (4011, snponly.efi), then iPXE's own DHCP followed the site.
    const d = new ClientDiagnoser(opts);
    d.ingest(dhcp('foreign-offer', 0, { server: '10.0.0.254', bootFile: 'pxelinux.0' }), MAC);
    d.ingest(dhcp('pxe-request', 100), MAC);
    download(d, 200, 'snponly.efi');
    d.ingest(dhcp('discover', 2000, { client: { mac: MAC, ipxe: true } }), MAC);
    ipxeOffer(d, 2001);
    expect(d.diagnoses(MAC, 5000)).toEqual([]);
    const [s] = d.diagnoses(MAC, 12_500);
    expect(s).toMatchObject({ code: 'site-boot-file', severity: 'error' });
    expect(s?.text).toBe(
      "iPXE got PXE Desk's boot script address but never fetched it — it followed the site server's boot file instead (10.0.0.254 → pxelinux.0)",
    );
    // iPXE started (it asked again), so this is not "the boot loader did not start".
    expect(d.diagnoses(MAC, 60_000).map((x) => x.code)).toEqual(['site-boot-file']);
    // Without a known site boot file: a warning about reaching our HTTP port.
    const n = new ClientDiagnoser(opts);
    ipxeOffer(n, 0);
    expect(n.diagnoses(MAC, 11_000)[0]).toMatchObject({
      code: 'no-next-step',
      text: expect.stringMatching(/^iPXE got the boot script address/),
    });
    // Fetched: nothing to say.
    const ok = new ClientDiagnoser(opts);
    ipxeOffer(ok, 0);
    ok.ingest(transfer('start', 300, 'boot.ipxe'), MAC);
    ok.ingest(transfer('done', 310, 'boot.ipxe', { transferId: String(id) }), MAC);
    expect(ok.diagnoses(MAC, 60_000)).toEqual([]);
  });

  it('no next step: the boot loader arrived and nothing followed', () => {
    const d = new ClientDiagnoser(opts);
    download(d, 0, 'snponly.efi');
    expect(d.diagnoses(MAC, 10_000)).toEqual([]);
    const [n] = d.diagnoses(MAC, 31_000);
    expect(n).toMatchObject({ code: 'no-next-step', severity: 'warning' });
    expect(n?.text).toMatch(/Got snponly\.efi but asked for nothing after it within 30 s/);
    // A follow-up request clears it.
    d.ingest(transfer('start', 31_500, 'boot.ipxe'), MAC);
    expect(d.diagnoses(MAC, 32_000)).toEqual([]);
  });

  it('the tick re-emits a row once per new set of findings (stable texts: no churn every tick)', () => {
    const d = new ClientDiagnoser(opts);
    download(d, 0, 'snponly.efi'); // emitted with its (empty) findings as it happened
    expect(d.changed(1000)).toEqual([]);
    expect(d.changed(2000)).toEqual([]);
    expect(d.changed(31_000)).toEqual([MAC]);
    expect(d.changed(32_000)).toEqual([]);
    expect(d.changed(90_000)).toEqual([]);
  });
});
