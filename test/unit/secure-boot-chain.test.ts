/**
 * The chain per client (issue 19, "Per client, not per session"): the client model decides which chain each
 * MAC gets (ClientBook.chainFor, asked by the boot decision before the request's own event arrives, as the
 * engines do), from event sequences modelled on the lab's OVMF run with Microsoft's keys and Secure Boot on:
 * snponly.efi fetched whole over TFTP, no iPXE DISCOVER, ~72 s of silence (PXE over IPv6), then a UEFI
 * HTTP boot DISCOVER (vendor class HTTPClient, arch 16) from the same MAC.
 */
import { describe, expect, it } from 'vitest';
import { ClientBook, fileRole } from '../../app/core/clients/index.js';
import { SIGNED_BOOT_IMAGE } from '../../app/core/signed-boot-image.js';
import type { DhcpEvent, FirmwareKind, TransferEvent } from '../../app/shared/events.js';
import { signedChainWords, type SecureBootMode, type SignatureInfo } from '../../app/shared/secure-boot.js';

const MAC = '52:54:00:5b:00:01';
const IP = '10.0.0.50';

function setup(secureBoot?: SecureBootMode) {
  let t = 0;
  const clock = { now: () => t };
  const book = new ClientBook({ clock, mode: 'proxy', ...(secureBoot ? { secureBoot } : {}) });
  const at = (ms: number) => (t = ms);
  return { book, at };
}

const PXE = {
  mac: MAC,
  arch: 7,
  firmware: 'uefi-x64' as const,
  vendorClass: 'PXEClient:Arch:00007:UNDI:003016',
  netboot: true,
};
const HTTP = {
  mac: MAC,
  arch: 16,
  firmware: 'uefi-x64-http' as const,
  vendorClass: 'HTTPClient:Arch:00016:UNDI:003001',
  netboot: true,
};
/** iPXE's DISCOVER as the engines report it: its user class, but no `ipxe` flag (only answers carry one). */
const IPXE = { ...PXE, userClass: 'iPXE' };

const dhcp = (
  type: DhcpEvent['type'],
  time: number,
  client: DhcpEvent['client'],
  extra: Partial<DhcpEvent> = {},
): DhcpEvent => ({
  engine: 'proxy',
  type,
  time,
  client,
  ...extra,
});

let tid = 0;
const tx = (
  engine: 'tftp' | 'http',
  type: TransferEvent['type'],
  time: number,
  file: string,
  bytes: number,
  extra: Partial<TransferEvent> = {},
): TransferEvent => ({
  engine,
  type,
  time,
  transferId: `t${tid}`,
  client: { address: IP, port: 1234 },
  file,
  bytes,
  ...extra,
});

/** What the engine does for a firmware request: the boot decision (chainFor) first, then the events. */
function firmwareAsks(
  book: ClientBook,
  time: number,
  client: typeof PXE | typeof HTTP,
  bootFile: (chain: string) => string,
) {
  const chain = book.chainFor(MAC, client.firmware as FirmwareKind);
  book.ingest(dhcp('discover', time, client));
  book.ingest(dhcp('offer', time + 5, client, { bootFile: bootFile(chain) }));
  return chain;
}

/** The lab's first minute: PXE DISCOVER, the 4011 exchange, EDK2's tsize probe, snponly.efi whole. */
function pxeDownloadsSnponly(book: ClientBook, at: (ms: number) => void) {
  at(0);
  const chain = firmwareAsks(book, 0, PXE, () => 'snponly.efi');
  book.ingest(dhcp('request', 900, PXE, { ip: IP, server: '10.0.0.2' }));
  at(1000);
  expect(book.chainFor(MAC, 'uefi-x64')).toBe('ipxe');
  book.ingest(dhcp('pxe-request', 1000, PXE, { ip: IP }));
  book.ingest(dhcp('pxe-ack', 1001, PXE, { bootFile: 'snponly.efi' }));
  tid++;
  book.ingest(tx('tftp', 'start', 1100, 'snponly.efi', 0, { size: 174_080 }));
  book.ingest(tx('tftp', 'done', 1101, 'snponly.efi', 0, { size: 174_080, detail: { probe: true } }));
  tid++;
  book.ingest(tx('tftp', 'start', 1200, 'snponly.efi', 0, { size: 174_080 }));
  book.ingest(tx('tftp', 'progress', 1300, 'snponly.efi', 100_000));
  book.ingest(tx('tftp', 'done', 1400, 'snponly.efi', 174_080, { size: 174_080 }));
  return chain;
}

const shimUrl = (chain: string) =>
  `http://10.0.0.1:8080/${chain === 'signed' ? 'shimx64.efi' : 'snponly.efi'}`;

describe('Secure Boot auto: the chain per MAC (U9)', () => {
  it('snponly.efi whole → no iPXE DISCOVER → HTTPClient DISCOVER 72 s later: signed from that request on, in plain words', () => {
    const { book, at } = setup(); // default: auto
    expect(pxeDownloadsSnponly(book, at)).toBe('ipxe');
    expect(book.row(MAC)).toMatchObject({ chain: 'ipxe' });
    expect(book.row(MAC)?.chainReason).toBeUndefined();

    // Silence (the firmware tries PXE over IPv6): the diagnosis says what happened, never "stalled".
    at(40_000);
    book.tick();
    const waiting = book.row(MAC)!;
    expect(waiting.stage).not.toBe('stalled');
    expect(waiting.timeline.map((l) => l.text).join('\n')).not.toMatch(/stalled/);
    expect(waiting.diagnoses?.[0]).toMatchObject({
      code: 'secure-boot',
      text: 'Downloaded snponly.efi and never ran it: Secure Boot is probably on; set Secure Boot to on',
    });

    // UEFI HTTP boot from the same MAC: this very request gets the signed chain.
    at(72_000);
    expect(firmwareAsks(book, 72_000, HTTP, shimUrl)).toBe('signed');
    const row = book.row(MAC)!;
    expect(row).toMatchObject({ chain: 'signed', chainReason: 'refused-unsigned' });
    expect(row.timeline.map((l) => l.text)).toContain(
      'its firmware did not run iPXE (Secure Boot refuses unsigned programs): switched to the signed chain shim → GRUB',
    );
    expect(row.timeline.at(-1)?.text).toBe('OFFER → http://10.0.0.1:8080/shimx64.efi');
    expect(row.diagnoses?.some((d) => d.code === 'secure-boot')).not.toBe(true);
    // From then on (PXE too), until the operator forgets the machine.
    at(200_000);
    expect(book.chainFor(MAC, 'uefi-x64')).toBe('signed');
    expect(book.chainFor(MAC.toUpperCase(), 'uefi-x64-http')).toBe('signed');
    book.forget(MAC);
    expect(book.chainFor(MAC, 'uefi-x64')).toBe('ipxe');
  });

  it('a normal iPXE follow-up (DISCOVER with user class iPXE in under a second) stays on iPXE, reboots too', () => {
    const { book, at } = setup('auto');
    pxeDownloadsSnponly(book, at);
    at(1700);
    book.ingest(dhcp('discover', 1700, IPXE));
    book.ingest(
      dhcp('offer', 1701, { ...IPXE, ipxe: true }, { bootFile: 'http://10.0.0.1:8080/boot.ipxe?mac=' + MAC }),
    );
    at(45_000);
    book.tick();
    expect(book.diagnoses(MAC).some((d) => d.code === 'secure-boot')).toBe(false);
    // The machine reboots later: its firmware asks again, and it still gets iPXE.
    at(300_000);
    expect(firmwareAsks(book, 300_000, PXE, () => 'snponly.efi')).toBe('ipxe');
    expect(firmwareAsks(book, 300_100, HTTP, shimUrl)).toBe('ipxe');
    expect(book.row(MAC)).toMatchObject({ chain: 'ipxe' });
    expect(
      book
        .row(MAC)!
        .timeline.map((l) => l.text)
        .join('\n'),
    ).not.toMatch(/signed chain/);
  });

  it('a program that ran and fetched its next file was not refused', () => {
    const { book, at } = setup('auto');
    pxeDownloadsSnponly(book, at);
    tid++;
    book.ingest(tx('tftp', 'start', 1600, 'grub/grub.cfg', 0));
    book.ingest(tx('tftp', 'done', 1610, 'grub/grub.cfg', 900));
    at(80_000);
    expect(firmwareAsks(book, 80_000, HTTP, shimUrl)).toBe('ipxe');
  });

  it('a download that did not arrive whole is no signal (a stall, not a refusal)', () => {
    const { book, at } = setup('auto');
    at(0);
    firmwareAsks(book, 0, PXE, () => 'snponly.efi');
    tid++;
    book.ingest(tx('tftp', 'start', 1200, 'snponly.efi', 0, { size: 174_080 }));
    book.ingest(
      tx('tftp', 'failed', 9000, 'snponly.efi', 65_536, { reason: 'client stopped acknowledging' }),
    );
    at(72_000);
    expect(firmwareAsks(book, 72_000, HTTP, shimUrl)).toBe('ipxe');
  });

  it('the same binary downloaded whole again with nothing run in between: the next request is signed', () => {
    const { book, at } = setup('auto');
    pxeDownloadsSnponly(book, at);
    tid++;
    book.ingest(tx('tftp', 'start', 5000, 'snponly.efi', 0));
    book.ingest(tx('tftp', 'done', 5100, 'snponly.efi', 174_080));
    expect(book.row(MAC)).toMatchObject({ chain: 'signed', chainReason: 'refused-unsigned' });
    at(6000);
    expect(book.chainFor(MAC, 'uefi-x64')).toBe('signed');
  });

  it('only the boot decision tells a firmware request from iPXE’s: events alone never move the row', () => {
    const { book, at } = setup('auto');
    pxeDownloadsSnponly(book, at);
    at(72_000);
    book.ingest(dhcp('discover', 72_000, HTTP)); // no chainFor asked: the DISCOVER event carries no iPXE flag
    expect(book.row(MAC)).toMatchObject({ chain: 'ipxe' });
    expect(book.chainFor(MAC, 'uefi-x64-http')).toBe('signed'); // the decision's own question
    expect(book.row(MAC)!.timeline.filter((l) => /switched to the signed chain/.test(l.text))).toHaveLength(
      1,
    );
  });

  it('a slow iPXE (its DISCOVER 5 s after the download, full DHCP mode: no iPXE flag on any event) is no refusal', () => {
    const { book, at } = setup('auto');
    pxeDownloadsSnponly(book, at);
    at(6400);
    book.ingest({ ...dhcp('discover', 6400, IPXE), engine: 'dhcp' });
    book.ingest({
      ...dhcp('offer', 6401, PXE, { bootFile: 'http://10.0.0.1:8080/boot.ipxe?mac=' + MAC }),
      engine: 'dhcp',
    });
    at(80_000);
    expect(firmwareAsks(book, 80_000, HTTP, shimUrl)).toBe('ipxe');
    // The same with a custom user class: our answer naming the boot script says iPXE asked.
    const other = setup('auto');
    pxeDownloadsSnponly(other.book, other.at);
    other.at(6400);
    other.book.ingest({ ...dhcp('discover', 6400, { ...PXE, userClass: 'MyiPXE' }), engine: 'dhcp' });
    other.book.ingest({
      ...dhcp('offer', 6401, PXE, { bootFile: 'http://10.0.0.1:8080/boot.ipxe?mac=' + MAC }),
      engine: 'dhcp',
    });
    other.at(80_000);
    expect(firmwareAsks(other.book, 80_000, HTTP, shimUrl)).toBe('ipxe');
  });

  it('HTTP boot of snponly.efi (the offer names a URL) is watched the same way; a range answer is no download', () => {
    const { book, at } = setup('auto');
    at(0);
    firmwareAsks(book, 0, HTTP, shimUrl);
    book.ingest(dhcp('request', 100, HTTP, { ip: IP, server: '10.0.0.2' })); // the site lease, overheard
    tid++;
    book.ingest(tx('http', 'start', 500, 'snponly.efi', 0));
    book.ingest(tx('http', 'done', 510, 'snponly.efi', 4096, { detail: { status: 206 } }));
    at(20_000);
    expect(book.chainFor(MAC, 'uefi-x64-http')).toBe('ipxe');
    tid++;
    book.ingest(tx('http', 'start', 21_000, 'snponly.efi', 0));
    book.ingest(tx('http', 'done', 21_100, 'snponly.efi', 174_080, { detail: { status: 200 } }));
    at(40_000);
    expect(firmwareAsks(book, 40_000, HTTP, shimUrl)).toBe('signed');
  });
});

describe('Secure Boot on and off', () => {
  it('on: every UEFI x64 client is signed from its first request, said once; BIOS and ARM stay on iPXE', () => {
    const { book, at } = setup('on');
    at(0);
    expect(firmwareAsks(book, 0, PXE, shimUrl)).toBe('signed');
    book.ingest(dhcp('pxe-request', 100, PXE));
    const row = book.row(MAC)!;
    expect(row).toMatchObject({ chain: 'signed', chainReason: 'setting-on' });
    expect(row.timeline.filter((l) => l.text === signedChainWords('setting-on'))).toHaveLength(1);
    for (const fw of ['bios', 'uefi-arm64', 'uefi-ia32', 'uefi-arm64-http'] as const)
      expect(book.chainFor('52:54:00:00:00:99', fw)).toBe('ipxe');
    expect(book.chainFor('52:54:00:00:00:99', 'uefi-x64-http')).toBe('signed');
  });

  it('off: never signed, and the firmware that gives up is diagnosed with the fix (set Secure Boot to On)', () => {
    const { book, at } = setup('off');
    pxeDownloadsSnponly(book, at);
    at(72_000);
    expect(firmwareAsks(book, 72_000, HTTP, shimUrl)).toBe('ipxe');
    expect(book.row(MAC)).toMatchObject({ chain: 'ipxe' });
    // Its retry already says it: the firmware did not run what it got.
    book.tick();
    expect(book.diagnoses(MAC)[0]).toMatchObject({
      code: 'secure-boot',
      text: 'Downloaded snponly.efi and never ran it: Secure Boot is probably on; set Secure Boot to on',
    });
    // It is served snponly.efi again over HTTP and refuses it again: that second whole download is the
    // refusal itself, reported at once (the lab's run ended 8 s later, before any next-step window).
    tid++;
    book.ingest(tx('http', 'start', 72_500, 'snponly.efi', 0));
    book.ingest(tx('http', 'done', 72_600, 'snponly.efi', 174_080, { detail: { status: 200 } }));
    at(73_000);
    book.tick();
    const d = book.diagnoses(MAC)[0]!;
    expect(d.code).toBe('secure-boot');
    expect(d.text).toBe(
      'Downloaded snponly.efi 2 times and never ran it: Secure Boot is probably on; set Secure Boot to on',
    );
    expect(d.fix).toMatch(/^Set Secure Boot to On \(or Auto\) in PXE Desk/);
    expect(book.row(MAC)!.stage).not.toBe('stalled');
    // It gives up: the finding stays.
    at(110_000);
    book.tick();
    expect(book.diagnoses(MAC)[0]).toMatchObject({ code: 'secure-boot', text: d.text });
  });

  it('a new session takes the new setting (reset)', () => {
    const { book, at } = setup('on');
    at(0);
    expect(book.chainFor(MAC, 'uefi-x64')).toBe('signed');
    book.reset('proxy', 'off');
    expect(book.chainFor(MAC, 'uefi-x64')).toBe('ipxe');
    book.reset('proxy');
    pxeDownloadsSnponly(book, at);
    at(72_000);
    expect(book.chainFor(MAC, 'uefi-x64-http')).toBe('signed');
  });
});

describe('auto, where the firmware gives up', () => {
  it('"downloaded snponly.efi and never ran it" after the next-step window; the fix names On', () => {
    const { book, at } = setup('auto');
    pxeDownloadsSnponly(book, at);
    at(20_000);
    book.tick();
    expect(book.diagnoses(MAC)).toEqual([]); // not yet: iPXE may still be starting
    at(31_500);
    book.tick();
    const [d] = book.diagnoses(MAC);
    expect(d).toMatchObject({ code: 'secure-boot', severity: 'error', time: 1400 });
    expect(d!.fix).toMatch(/^Set Secure Boot to On in PXE Desk .* this one gave up/);
    // No other finding claims a stall of a file that arrived whole.
    expect(book.diagnoses(MAC).map((x) => x.code)).toEqual(['secure-boot']);
    expect(book.row(MAC)!.diagnosis).toBe(d!.text);
  });
});

describe('an unsigned kernel under the signed chain', () => {
  const signatures: Record<string, SignatureInfo> = {
    'custom/vmlinuz': { signed: false, signers: [] },
    'debian/vmlinuz': {
      signed: true,
      signers: ['Debian Secure Boot Signer 2022 - linux'],
      issuers: ['Debian Secure Boot CA'],
    },
  };
  function signedChainFetches(secureBoot: SecureBootMode, kernel: string) {
    let t = 0;
    const book = new ClientBook({
      clock: { now: () => t },
      mode: 'proxy',
      secureBoot,
      signatureOf: (file) => signatures[file],
    });
    if (secureBoot === 'auto') {
      pxeDownloadsSnponly(book, (ms) => (t = ms));
      t = 72_000;
    }
    firmwareAsks(book, t, HTTP, shimUrl);
    book.ingest(dhcp('request', t + 50, HTTP, { ip: IP, server: '10.0.0.2' }));
    for (const [i, file] of ['shimx64.efi', 'grubx64.efi', 'grub/grub.cfg', kernel].entries()) {
      tid++;
      book.ingest(tx('http', 'start', t + 100 * (i + 1), file, 0));
      book.ingest(tx('http', 'done', t + 100 * (i + 1) + 50, file, 1000, { detail: { status: 200 } }));
    }
    return book.diagnoses(MAC).filter((d) => d.code === 'secure-boot');
  }

  it('after a refused iPXE (Secure Boot known on): an error that names the file and why', () => {
    const [d, more] = signedChainFetches('auto', 'custom/vmlinuz');
    expect(more).toBeUndefined();
    expect(d).toMatchObject({ severity: 'error' });
    expect(d!.text).toBe(
      'custom/vmlinuz is not signed: this machine has Secure Boot on, so the signed chain (shim → GRUB) will not start it',
    );
  });

  it('with the setting on (the machine may have Secure Boot off): a warning', () => {
    expect(signedChainFetches('on', 'custom/vmlinuz')[0]).toMatchObject({ severity: 'warning' });
  });

  it('a Debian-signed kernel: no finding', () => {
    expect(signedChainFetches('auto', 'debian/vmlinuz')).toEqual([]);
    expect(signedChainFetches('on', 'debian/vmlinuz')).toEqual([]);
  });
});

describe('proxy mode leaves a signed-chain PXE request unanswered for UEFI HTTP boot', () => {
  const refused = (time: number): DhcpEvent =>
    dhcp('refusal', time, PXE, {
      refusal: 'signed-chain-http-boot',
      reason:
        'signed chain in proxy mode: not answered over PXE; waiting for the firmware to try UEFI HTTP boot',
    });

  it('news while HTTP boot may still come, gone when it comes, a problem with a fix when it does not', () => {
    const { book, at } = setup('on');
    at(0);
    expect(book.chainFor(MAC, 'uefi-x64')).toBe('signed');
    book.ingest(dhcp('discover', 0, PXE));
    book.ingest(refused(0));
    at(30_000);
    book.tick();
    const waiting = book.diagnoses(MAC);
    expect(waiting).toHaveLength(1);
    expect(waiting[0]).toMatchObject({ code: 'secure-boot', severity: 'info' });
    expect(waiting[0]!.text).toMatch(/waiting for the firmware to try UEFI HTTP boot/);
    expect(book.diagnoses(MAC).some((x) => x.code === 'refused')).toBe(false);
    // No HTTP boot within two minutes: an error that says what to enable.
    at(125_000);
    const [late] = book.diagnoses(MAC);
    expect(late).toMatchObject({ code: 'secure-boot', severity: 'error' });
    expect(late!.fix).toMatch(/Enable UEFI HTTP boot/);
    // The HTTPClient DISCOVER comes after all: answered with the signed chain, nothing left to say.
    at(130_000);
    expect(firmwareAsks(book, 130_000, HTTP, shimUrl)).toBe('signed');
    expect(book.diagnoses(MAC)).toEqual([]);
  });
});

describe('the signed chain’s UEFI HTTP boot image is a step, not the end of a boot', () => {
  it('its arrival does not mark the machine booted; the kernel after it does', () => {
    const { book, at } = setup('on');
    at(0);
    firmwareAsks(book, 0, HTTP, () => `http://10.0.0.1:8080/${SIGNED_BOOT_IMAGE}`);
    book.ingest(dhcp('request', 50, HTTP, { ip: IP, server: '10.0.0.2' }));
    tid++;
    book.ingest(tx('http', 'start', 100, SIGNED_BOOT_IMAGE, 0));
    book.ingest(tx('http', 'done', 900, SIGNED_BOOT_IMAGE, 5_000_000, { detail: { status: 200 } }));
    expect(fileRole(SIGNED_BOOT_IMAGE)).toBe('loader');
    expect(book.row(MAC)!.stage).not.toBe('booted');
    tid++;
    book.ingest(tx('tftp', 'start', 5000, 'debian/vmlinuz', 0));
    book.ingest(tx('tftp', 'done', 6000, 'debian/vmlinuz', 8_000_000));
    expect(book.row(MAC)!.stage).toBe('booted');
  });
});

describe('what a running program does is no refusal', () => {
  it('an unmarked DHCP request right after the download (an NBP asking itself) ends the signal', () => {
    const { book, at } = setup('auto');
    pxeDownloadsSnponly(book, at);
    at(2000); // 0.6 s after the download: the program's own DISCOVER, without iPXE's markers
    expect(book.chainFor(MAC, 'uefi-x64')).toBe('ipxe');
    book.ingest(dhcp('discover', 2000, PXE));
    at(80_000);
    expect(firmwareAsks(book, 80_000, HTTP, shimUrl)).toBe('ipxe');
    expect(book.row(MAC)).toMatchObject({ chain: 'ipxe' });
  });

  it('a firmware that fetches the same file twice at once has made one attempt', () => {
    const { book, at } = setup('auto');
    pxeDownloadsSnponly(book, at);
    tid++;
    book.ingest(tx('tftp', 'start', 1500, 'snponly.efi', 0));
    book.ingest(tx('tftp', 'done', 1600, 'snponly.efi', 174_080));
    expect(book.row(MAC)).toMatchObject({ chain: 'ipxe' });
  });
});

describe('setting off: a firmware that keeps fetching iPXE without running it', () => {
  it('the boot loop is named for what it is (Secure Boot), not a missing iPXE user class', () => {
    const { book, at } = setup('off');
    pxeDownloadsSnponly(book, at);
    for (const t0 of [20_000, 40_000]) {
      at(t0);
      expect(firmwareAsks(book, t0, PXE, () => 'snponly.efi')).toBe('ipxe');
      tid++;
      book.ingest(tx('tftp', 'start', t0 + 500, 'snponly.efi', 0));
      book.ingest(tx('tftp', 'done', t0 + 900, 'snponly.efi', 174_080));
    }
    const loop = book.diagnoses(MAC).find((d) => d.code === 'boot-loop')!;
    expect(loop.text).toMatch(
      /^Downloaded snponly\.efi 3 times in 40 s and never ran it — its firmware refuses it/,
    );
    expect(loop.text).not.toMatch(/user class/);
    expect(loop.fix).toMatch(/^Set Secure Boot to On \(or Auto\)/);
  });
});

describe('GRUB on the signed chain says it refused a kernel (grub/refused/<entry>)', () => {
  it('the timeline and an error say so; the refusal marker is not a boot', () => {
    const { book, at } = setup('on');
    at(0);
    firmwareAsks(book, 0, PXE, () => 'shimx64.efi');
    book.ingest(dhcp('request', 50, PXE, { ip: IP, server: '10.0.0.2' }));
    for (const [i, file] of ['shimx64.efi', 'grubx64.efi', '/grub/grub.cfg', 'custom/vmlinuz'].entries()) {
      tid++;
      book.ingest(tx('tftp', 'start', 100 * (i + 1), file, 0));
      book.ingest(tx('tftp', 'done', 100 * (i + 1) + 50, file, 1000));
    }
    at(4000);
    book.kernelRefused(MAC.toUpperCase(), 'custom/vmlinuz'); // the GRUB handler's callback
    tid++;
    book.ingest(tx('tftp', 'start', 4001, '/grub/refused/custom/vmlinuz', 0));
    book.ingest(tx('tftp', 'done', 4002, '/grub/refused/custom/vmlinuz', 84));
    expect(fileRole('/grub/refused/custom/vmlinuz')).toBe('script');
    const row = book.row(MAC)!;
    expect(row.stage).toBe('failed');
    expect(row.timeline.map((l) => l.text)).toContain('GRUB on the signed chain refused custom/vmlinuz');
    const d = book.diagnoses(MAC).filter((x) => x.code === 'secure-boot');
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ severity: 'error' });
    expect(d[0]!.text).toMatch(
      /^GRUB on the signed chain refused custom\/vmlinuz: Secure Boot starts only kernels signed/,
    );
    book.kernelRefused(undefined, 'x'); // an address PXE Desk cannot name: nothing to attach it to
    book.kernelRefused('52:54:00:00:00:77', 'x');
    expect(book.row('52:54:00:00:00:77')).toBeUndefined();
  });
});
