/**
 * Per-client diagnosis (issue 10; docs/decisions.md, "diagnosis" and "loop breaker"): turns what the engines saw about one MAC
 * into plain-language findings with a fix. Facts are folded from the same EngineEvents the timeline
 * gets (plus other servers' offers seen on port 68); the rules are pure functions of those facts and
 * the time, so they are unit-tested without a network.
 *
 * The loop breaker lives here as a rule: the same file downloaded `loopCount` times within
 * `loopWindowMs` is a boot loop (iPXE chainloading itself because its DHCP request is answered with the
 * iPXE binary again, or a machine that reboots right after loading). The session then stops naming the
 * boot file to that MAC for a while (`loop-broken`), so the loop ends instead of hammering the server.
 */
import type { DhcpEvent, EngineEvent, FirmwareKind, TransferEvent } from '../../shared/events.js';
import type { Diagnosis, DiagnosisCode, SessionMode } from '../../shared/session-types.js';

export interface DiagnosisOptions {
  readonly mode: SessionMode;
  /** Same file this many times … (default 3) */
  readonly loopCount?: number;
  /** … within this window is a boot loop (ms, default 60 000). */
  readonly loopWindowMs?: number;
  /** After another server's offer, how long the client has to come to us before "site-boot-file" (ms, default 10 000). */
  readonly siteGraceMs?: number;
  /** A finished chainloader with no request after it for this long is "no-next-step" (ms, default 30 000). */
  readonly nextStepMs?: number;
  /** An unfinished transfer with no progress for this long is a stall (ms, default 30 000). */
  readonly stallMs?: number;
  /** Whether the library has a boot file for a firmware (structural, not parsed from refusal text). */
  readonly bootFileAvailable?: (firmware: FirmwareKind, arch: number) => boolean;
  /** Servers the probe saw handing out boot options, server id → boot file (their offers count as "has a boot file"). */
  readonly bootingServers?: () => ReadonlyMap<string, string | undefined>;
}

interface ForeignOffer {
  readonly time: number;
  readonly server: string;
  readonly bootFile?: string;
}

interface OpenTransfer {
  readonly engine: 'tftp' | 'http';
  readonly file: string;
  readonly started: number;
  last: number;
  bytes: number;
  size?: number;
  blksize?: number;
}

/** What we know about one MAC (bounded lists). */
export interface ClientFacts {
  mac: string;
  firmware?: FirmwareKind;
  arch?: number;
  ipxe: boolean;
  userClass?: string;
  lastDiscover?: number;
  ourOffers: number;
  pxeRequests: number;
  foreignOffers: ForeignOffer[];
  /** Completed downloads: file + time (probe-only TFTP sessions excluded). */
  downloads: { file: string; time: number; engine: 'tftp' | 'http' }[];
  transfers: Map<string, OpenTransfer>;
  lastActivityWithUs?: number;
  /** Last TFTP/HTTP activity (any file). */
  lastTransfer?: number;
  /** Our last offer to this client while it ran iPXE (the boot-script address). */
  ipxeOffer?: { time: number; bootFile: string };
  failures: {
    engine: 'tftp' | 'http';
    file: string;
    reason: string;
    bytes: number;
    blksize?: number;
    time: number;
  }[];
  refusal?: { reason: string; time: number; firmware?: FirmwareKind; arch?: number };
  loopBroken?: { file: string; count: number; until: number; time: number };
}

const SEVERITY_RANK = { error: 0, warning: 1, info: 2 } as const;

const CHAINLOADER = /\.(kpxe|pxe|efi|0|com|n12|krn)$/i;
const SCRIPT = /(^|\/)boot\.ipxe|\.(ipxe|cfg|txt)$/i;

const LABEL: Partial<Record<FirmwareKind, string>> = {
  bios: 'BIOS',
  'uefi-ia32': 'UEFI 32-bit (IA32)',
  'uefi-x64': 'UEFI x64',
  'uefi-arm64': 'ARM64 UEFI',
  'uefi-x64-http': 'UEFI x64 HTTP boot',
  'uefi-ia32-http': 'UEFI 32-bit HTTP boot',
  'uefi-arm64-http': 'ARM64 UEFI HTTP boot',
};

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

function kb(bytes: number): string {
  return bytes >= 1_000_000 ? `${(bytes / 1_000_000).toFixed(1)} MB` : `${Math.round(bytes / 1000)} kB`;
}

/** Block number from a failure reason ("… at block 812") or from bytes / blksize. */
function blockOf(reason: string | undefined, bytes: number, blksize: number | undefined): number {
  const m = reason ? /block (\d+)/.exec(reason) : null;
  if (m) return Number(m[1]);
  return Math.floor(bytes / (blksize ?? 512)) + 1;
}

function tftpStall(
  file: string,
  block: number,
  bytes: number,
  size: number | undefined,
  time: number,
  why: string,
): Diagnosis {
  const of = size ? ` of ${kb(size)}` : '';
  if (block <= 1 || bytes === 0)
    return {
      code: 'tftp-stall',
      severity: 'error',
      time,
      text: `TFTP stalled at block ${block} of ${file} (${why}): the client never acknowledged the first data block — likely a firewall dropping TFTP data (it comes from a new UDP port, not 69)`,
      fix: 'Allow UDP from this machine on all ports (or "related" traffic for TFTP) in the firewall between client and PXE Desk, and check that no VPN or second NIC takes the reply.',
    };
  return {
    code: 'tftp-stall',
    severity: 'error',
    time,
    text: `TFTP stalled at block ${block} of ${file} after ${kb(bytes)}${of} (${why}) — likely an MTU problem (large blocks lost on a VPN/VLAN path) or a lossy link`,
    fix: 'Lower the TFTP block size (the client asked for a large blksize), check the MTU of the path, or use a cable straight to the switch.',
  };
}

/** The pure rules: findings for one client at `now`, most severe first. */
export function diagnose(f: ClientFacts, now: number, o: DiagnosisOptions): Diagnosis[] {
  const out: Diagnosis[] = [];
  const loopCount = o.loopCount ?? 3;
  const loopWindow = o.loopWindowMs ?? 60_000;
  const siteGrace = o.siteGraceMs ?? 10_000;
  const nextStep = o.nextStepMs ?? 30_000;
  const stallMs = o.stallMs ?? 30_000;

  if (f.loopBroken && now < f.loopBroken.until) {
    out.push({
      code: 'loop-broken',
      severity: 'error',
      time: f.loopBroken.time,
      text: `Loop breaker: PXE Desk stopped offering a boot file to this machine until ${new Date(f.loopBroken.until).toISOString().slice(11, 19)} UTC after it downloaded ${f.loopBroken.file} ${f.loopBroken.count} times in ${seconds(loopWindow)}`,
      fix: 'Fix the cause below, then Unblock the machine (or restart the session) and boot it again.',
    });
  }

  // Boot loop: the same file again and again within the window.
  const byFile = new Map<string, number[]>();
  for (const d of f.downloads) {
    if (SCRIPT.test(d.file)) continue;
    const times = byFile.get(d.file) ?? [];
    times.push(d.time);
    byFile.set(d.file, times);
  }
  for (const [file, times] of byFile) {
    const last = times.at(-1) ?? 0;
    const recent = times.filter((t) => last - t <= loopWindow);
    if (recent.length < loopCount) continue;
    const chain = CHAINLOADER.test(file);
    out.push({
      code: 'boot-loop',
      severity: 'error',
      time: last,
      text: chain
        ? `Downloaded ${file} ${recent.length} times in ${seconds(last - recent[0]!)} — boot loop: the iPXE it loads asks again and is handed ${file} instead of the boot script, because its request carried no iPXE user class (option 77 "iPXE") or option 175${f.userClass ? ` (it sent user class "${f.userClass}")` : ''}`
        : `Downloaded ${file} ${recent.length} times in ${seconds(last - recent[0]!)} — boot loop: the machine restarts right after loading ${file}`,
      fix: chain
        ? 'Use the iPXE builds PXE Desk ships (undionly.kpxe / snponly.efi identify themselves as iPXE), or point the boot file for this firmware at an iPXE with an embedded script; a custom user class can be added to the iPXE user classes setting.'
        : `Check that ${file} suits this machine (architecture, Secure Boot) and look at its console for the error before the reboot.`,
    });
    break;
  }

  // Missing architecture: refused because the library has no file for this firmware.
  if (f.refusal && !f.loopBroken) {
    const { firmware, arch } = f.refusal;
    const missing =
      arch !== undefined &&
      (firmware === undefined ||
        firmware === 'unknown' ||
        (o.bootFileAvailable ? !o.bootFileAvailable(firmware, arch) : false));
    if (missing) {
      const label = firmware && firmware !== 'unknown' ? LABEL[firmware] : undefined;
      out.push({
        code: 'missing-arch',
        severity: 'error',
        time: f.refusal.time,
        text: label
          ? `Architecture ${arch} (${label}) but no ${label} boot file in the library`
          : `Architecture ${arch} is not one PXE Desk can serve (unknown option 93 value)`,
        fix: label
          ? `Add an iPXE (or other boot loader) built for ${label} to the netboot folder and choose it as the boot file for ${label} in the boot-file settings (Debian ships none for this architecture).`
          : 'Check the firmware settings of this machine (legacy/UEFI network stack) and boot it in a mode PXE Desk supports.',
      });
    } else {
      const operator = /deny list|allow list|blocked/.test(f.refusal.reason);
      out.push({
        code: 'refused',
        severity: operator ? 'info' : 'warning',
        time: f.refusal.time,
        text: `Not served: ${f.refusal.reason}`,
        ...(operator ? { fix: 'Change the allow/deny list or Unblock the machine if it should boot.' } : {}),
      });
    }
  }

  // Another server's offer, and then nothing with us.
  const foreign = f.foreignOffers.at(-1);
  if (foreign && o.mode === 'proxy' && now - foreign.time >= siteGrace) {
    const cameToUs = (f.lastActivityWithUs ?? 0) > foreign.time;
    const booting = Boolean(foreign.bootFile) || (o.bootingServers?.().has(foreign.server) ?? false);
    if (!cameToUs && booting)
      out.push({
        code: 'site-boot-file',
        severity: 'error',
        time: foreign.time,
        text: `Took the site server's offer (${foreign.server}${foreign.bootFile ? ` → ${foreign.bootFile}` : ''}) and never asked PXE Desk on 4011 or for a file — the site server sends a boot file of its own, which the firmware prefers`,
        fix: `Ask the admin of ${foreign.server} to stop sending options 66/67 (boot server / file) to this machine or subnet, or boot it on an isolated switch with PXE Desk in full DHCP mode.`,
      });
    else if (!cameToUs && f.ourOffers > 0)
      out.push({
        code: 'other',
        severity: 'warning',
        time: foreign.time,
        text: `Got an address from ${foreign.server} and our proxy offer, but never asked PXE Desk for a boot file`,
        fix: 'Check the switch port (spanning-tree portfast, DHCP snooping dropping proxy offers) and that nothing else answers on UDP 4011.',
      });
  }

  // TFTP/HTTP stalls: failures first, then transfers that stopped moving.
  const failure = f.failures.at(-1);
  if (failure) {
    if (failure.engine === 'tftp') {
      const block = blockOf(failure.reason, failure.bytes, failure.blksize);
      out.push(tftpStall(failure.file, block, failure.bytes, undefined, failure.time, failure.reason));
    } else
      out.push({
        code: 'http-stall',
        severity: 'error',
        time: failure.time,
        text: `HTTP download of ${failure.file} stopped after ${kb(failure.bytes)} (${failure.reason})`,
        fix: 'Check the firewall for TCP to the HTTP port and the link; a firmware out of memory also drops big downloads (use a smaller image).',
      });
  }
  for (const t of f.transfers.values()) {
    if (now - t.last < stallMs) continue;
    const why = `no progress for ${seconds(stallMs)}`;
    if (t.engine === 'tftp')
      out.push(tftpStall(t.file, blockOf(undefined, t.bytes, t.blksize), t.bytes, t.size, t.last, why));
    else
      out.push({
        code: 'http-stall',
        severity: 'error',
        time: t.last,
        text: `HTTP download of ${t.file} stalled at ${kb(t.bytes)}${t.size ? ` of ${kb(t.size)}` : ''} (${why})`,
        fix: 'Check the link and firewall; a firmware short of memory may stop on large images.',
      });
  }

  // iPXE was told where its boot script is and never fetched it: something else answered it. Seen with
  // real firmware (test/lab/foreign-lan.test.ts): iPXE prefers the site server's `filename` over the
  // proxy's, and its (unicast) site offer never reaches our port 68.
  const script = f.ipxeOffer;
  const fetched = script && f.lastTransfer !== undefined && f.lastTransfer >= script.time;
  if (script && !fetched && f.transfers.size === 0 && now - script.time >= siteGrace) {
    const siteOffer = [...f.foreignOffers].reverse().find((x) => x.bootFile);
    const [first] = [...(o.bootingServers?.() ?? new Map<string, string | undefined>())];
    const site = siteOffer ?? (first ? { server: first[0], bootFile: first[1] } : undefined);
    if (site)
      out.push({
        code: 'site-boot-file',
        severity: 'error',
        time: script.time,
        text: `iPXE got PXE Desk's boot script address but never fetched it — it followed the site server's boot file instead (${site.server}${site.bootFile ? ` → ${site.bootFile}` : ''})`,
        // iPXE takes a DHCP offer's filename over a proxyDHCP one (seen in the lab with Debian's iPXE).
        fix: `Ask the admin of ${site.server} to stop sending options 66/67 (boot server / file) to this machine or subnet, boot it on an isolated switch with PXE Desk in full DHCP mode, or chainload an iPXE with an embedded script (it then ignores DHCP file names).`,
      });
    else
      out.push({
        code: 'no-next-step',
        severity: 'warning',
        time: script.time,
        text: `iPXE got the boot script address (${script.bootFile}) but never fetched it within ${seconds(siteGrace)}`,
        fix: "Check that the client can reach PXE Desk's HTTP port (firewall on this computer), and run the probe: another DHCP/PXE server may answer iPXE.",
      });
  }

  // A chainloader arrived but nothing followed: it did not start.
  const lastDownload = f.downloads.at(-1);
  if (
    lastDownload &&
    CHAINLOADER.test(lastDownload.file) &&
    !out.some((d) => d.code === 'boot-loop' || d.code === 'loop-broken') &&
    f.transfers.size === 0 &&
    (f.lastActivityWithUs ?? 0) <= lastDownload.time &&
    (f.lastDiscover ?? 0) <= lastDownload.time &&
    now - lastDownload.time >= nextStep
  ) {
    out.push({
      code: 'no-next-step',
      severity: 'warning',
      time: lastDownload.time,
      text: `Got ${lastDownload.file} but asked for nothing after it within ${seconds(nextStep)} — the boot loader did not start or could not get an address`,
      fix: "Look at the machine's screen: Secure Boot rejects unsigned iPXE (turn it off or use a signed shim), and a wrong-architecture file fails silently; check the NIC driver (try ipxe.efi instead of snponly.efi).",
    });
  }
  return out.sort(
    (a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || rank(a.code) - rank(b.code),
  );
}

const ORDER: readonly DiagnosisCode[] = [
  'loop-broken',
  'boot-loop',
  'site-boot-file',
  'missing-arch',
  'tftp-stall',
  'http-stall',
  'no-next-step',
  'refused',
  'other',
];
function rank(code: DiagnosisCode): number {
  return ORDER.indexOf(code);
}

export interface LoopFinding {
  readonly mac: string;
  readonly file: string;
  readonly count: number;
}

const MAX_CLIENTS = 1024;
const MAX_LIST = 32;

/** Folds engine events into ClientFacts and evaluates the rules; the session owns one per run. */
export class ClientDiagnoser {
  private readonly facts = new Map<string, ClientFacts>();
  private readonly last = new Map<string, string>();

  constructor(private readonly options: DiagnosisOptions) {}

  private factsOf(mac: string): ClientFacts {
    let f = this.facts.get(mac);
    if (!f) {
      if (this.facts.size >= MAX_CLIENTS) {
        const first = this.facts.keys().next().value;
        if (first !== undefined) {
          this.facts.delete(first);
          this.last.delete(first);
        }
      }
      f = {
        mac,
        ipxe: false,
        ourOffers: 0,
        pxeRequests: 0,
        foreignOffers: [],
        downloads: [],
        transfers: new Map(),
        failures: [],
      };
      this.facts.set(mac, f);
    }
    return f;
  }

  has(mac: string): boolean {
    return this.facts.has(mac);
  }

  /**
   * One engine event about `mac` (the session resolves a transfer's IP to its MAC). Returns a loop
   * finding when this event completed a boot loop (the caller decides whether to break it).
   */
  ingest(event: EngineEvent, mac: string): LoopFinding | undefined {
    const f = this.factsOf(mac);
    if (event.engine === 'tftp' || event.engine === 'http') return this.onTransfer(f, event as TransferEvent);
    this.onDhcp(f, event as DhcpEvent);
    return undefined;
  }

  private onDhcp(f: ClientFacts, e: DhcpEvent): void {
    if (e.client.firmware) f.firmware = e.client.firmware;
    if (e.client.arch !== undefined) f.arch = e.client.arch;
    if (e.client.userClass) f.userClass = e.client.userClass;
    if (e.client.ipxe) f.ipxe = true;
    switch (e.type) {
      case 'discover':
        f.lastDiscover = e.time;
        break;
      case 'offer':
      case 'ack':
      case 'pxe-ack':
        if (e.type !== 'pxe-ack') f.ourOffers++;
        if (f.refusal && e.bootFile) delete f.refusal;
        if (e.client.ipxe && e.bootFile) f.ipxeOffer = { time: e.time, bootFile: e.bootFile };
        break;
      case 'pxe-request':
      case 'request':
        f.pxeRequests += e.type === 'pxe-request' ? 1 : 0;
        f.lastActivityWithUs = e.time;
        break;
      case 'refusal':
        f.refusal = {
          reason: e.reason ?? 'refused',
          time: e.time,
          ...(e.client.firmware ? { firmware: e.client.firmware } : {}),
          ...(e.client.arch !== undefined ? { arch: e.client.arch } : {}),
        };
        break;
      case 'foreign-offer':
        f.foreignOffers = [
          ...f.foreignOffers.slice(-(MAX_LIST - 1)),
          { time: e.time, server: e.server ?? 'unknown', ...(e.bootFile ? { bootFile: e.bootFile } : {}) },
        ];
        break;
      default:
        break;
    }
  }

  private onTransfer(f: ClientFacts, e: TransferEvent): LoopFinding | undefined {
    const key = `${e.engine}/${e.transferId}`;
    f.lastActivityWithUs = e.time;
    f.lastTransfer = e.time;
    const blk = e.detail?.blksize;
    const blksize = typeof blk === 'number' ? blk : undefined;
    if (e.type === 'start' || e.type === 'progress') {
      const t = f.transfers.get(key);
      if (t) {
        t.last = e.time;
        t.bytes = e.bytes;
        if (blksize) t.blksize = blksize;
      } else
        f.transfers.set(key, {
          engine: e.engine,
          file: e.file,
          started: e.time,
          last: e.time,
          bytes: e.bytes,
          ...(e.size !== undefined ? { size: e.size } : {}),
          ...(blksize ? { blksize } : {}),
        });
      return undefined;
    }
    f.transfers.delete(key);
    if (e.type === 'failed') {
      f.failures = [
        ...f.failures.slice(-(MAX_LIST - 1)),
        {
          engine: e.engine,
          file: e.file,
          reason: e.reason ?? 'failed',
          bytes: e.bytes,
          time: e.time,
          ...(blksize ? { blksize } : {}),
        },
      ];
      return undefined;
    }
    // EDK2's tsize probe (TFTP ERROR 8 after the OACK) is not a download (catalogue U6).
    if (e.detail?.probe === true) return undefined;
    // A later success of the same file clears an earlier failure of it.
    f.failures = f.failures.filter((x) => x.file !== e.file);
    f.downloads = [...f.downloads.slice(-(MAX_LIST - 1)), { file: e.file, time: e.time, engine: e.engine }];
    const window = this.options.loopWindowMs ?? 60_000;
    const count = f.downloads.filter((d) => d.file === e.file && e.time - d.time <= window).length;
    if (!SCRIPT.test(e.file) && count >= (this.options.loopCount ?? 3) && !f.loopBroken)
      return { mac: f.mac, file: e.file, count };
    return undefined;
  }

  /** The loop breaker fired for `mac` until `until`. */
  markLoopBroken(mac: string, finding: LoopFinding, time: number, until: number): void {
    this.factsOf(mac).loopBroken = { file: finding.file, count: finding.count, until, time };
  }

  /** The operator unblocked `mac` (or the pause ran out): forget the loop so it may boot again. */
  clearLoop(mac: string): void {
    const f = this.facts.get(mac);
    if (!f) return;
    delete f.loopBroken;
    f.downloads = [];
  }

  diagnoses(mac: string, now: number): Diagnosis[] {
    const f = this.facts.get(mac);
    return f ? diagnose(f, now, this.options) : [];
  }

  /** Re-evaluates every client; returns the MACs whose findings changed since the last call. */
  changed(now: number): string[] {
    const out: string[] = [];
    for (const mac of this.facts.keys()) {
      const sig = JSON.stringify(this.diagnoses(mac, now).map((d) => [d.code, d.text]));
      if (this.last.get(mac) !== sig) {
        this.last.set(mac, sig);
        out.push(mac);
      }
    }
    return out;
  }
}
