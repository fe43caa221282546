/**
 * Per-client diagnosis (issue 10; docs/decisions.md, "diagnosis" and "loop breaker"): turns what the engines saw about one MAC
 * into plain-language findings with a fix. The rules are pure functions of the client's facts
 * (facts.ts, folded by the client model) and the time, so they are unit-tested without a network.
 *
 * The boot-loop rule itself is one function (file-roles.ts `loopRun`) shared with the loop breaker:
 * the same file downloaded `loopCount` times within `loopWindowMs` is a boot loop (iPXE chainloading
 * itself because its DHCP request is answered with the iPXE binary again, or a machine that reboots
 * right after loading). The session then stops naming the boot file to that MAC for a while
 * (`loop-broken`), so the loop ends instead of hammering the server.
 */
import type { ExclusionCode, RefusalCode, TransferFailureCode } from '../../shared/events.js';
import { firmwareLabel } from '../../shared/firmware.js';
import type { SecureBootMode, SignatureInfo } from '../../shared/secure-boot.js';
import { secureBootFindings, unrunIpxe, unrunLoop } from './secure-boot-findings.js';
import type { Diagnosis, DiagnosisCode, SessionMode } from '../../shared/session-types.js';
import type { ClientFacts, Refusal } from './facts.js';
import { fileRole, loopRun, DEFAULT_LOOP_WINDOW_MS, type LoopRule } from './file-roles.js';

export interface DiagnosisOptions extends LoopRule {
  readonly mode: SessionMode;
  /** The Secure Boot setting (the fix of an unrun iPXE depends on it); default 'auto'. */
  readonly secureBoot?: SecureBootMode;
  /** The library's signature of a served file (root-relative path), for kernels under the signed chain. */
  readonly signatureOf?: (file: string) => SignatureInfo | undefined;
  /** After another server's offer, how long the client has to come to us before "site-boot-file" (ms, default 10 000). */
  readonly siteGraceMs?: number;
  /** A finished chainloader with no request after it for this long is "no-next-step" (ms, default 30 000). */
  readonly nextStepMs?: number;
  /** An unfinished transfer with no progress for this long is a stall (ms, default 30 000). */
  readonly stallMs?: number;
  /** Servers the probe saw handing out boot options, server id → boot file (their offers count as "has a boot file"). */
  readonly bootingServers?: () => ReadonlyMap<string, string | undefined>;
}

const SEVERITY_RANK = { error: 0, warning: 1, info: 2 } as const;

const EXCLUSIONS: ReadonlySet<RefusalCode> = new Set<ExclusionCode>([
  'deny-list',
  'not-in-allow-list',
  'blocked',
  'paused',
]);
/** Refusals that mean "the library has nothing for this firmware". */
const MISSING: ReadonlySet<RefusalCode> = new Set<RefusalCode>([
  'unsupported-arch',
  'no-boot-file',
  'boot-file-missing',
]);

/**
 * What kind of refusal this is: the operator's own exclusion (lists, block, pause), a firmware the
 * library has no file for, or anything else. Decided by the engine's refusal code (the boot decision's),
 * never by the reason's wording.
 */
export function refusalKind(r: Refusal): 'operator' | 'missing-arch' | 'other' {
  if (!r.code) return 'other';
  return EXCLUSIONS.has(r.code) ? 'operator' : MISSING.has(r.code) ? 'missing-arch' : 'other';
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

function kb(bytes: number): string {
  return bytes >= 1_000_000 ? `${(bytes / 1_000_000).toFixed(1)} MB` : `${Math.round(bytes / 1000)} kB`;
}

/**
 * What a failed transfer's code means for the diagnosis: the client stopped answering (a stall: firewall,
 * MTU, link), the client ended it itself, our side failed, or nothing to report (the client restarted
 * the same file, or the session stopped). No code (an engine that sends none) counts as a stall, and so
 * does an HTTP client that went away mid-download.
 */
function failureKind(
  engine: 'tftp' | 'http',
  code: TransferFailureCode | undefined,
): 'stall' | 'client-ended' | 'not-ours' | 'none' {
  switch (code) {
    case 'superseded':
      return 'none';
    case 'aborted':
      return engine === 'http' ? 'stall' : 'none';
    case 'client-error':
    case 'option-refused':
      return 'client-ended';
    case 'read-error':
    case 'internal':
    case 'not-found':
    case 'access-denied':
      return 'not-ours';
    default:
      return 'stall';
  }
}

/** The block a TFTP transfer stopped at: the engine's structured field, else from bytes / blksize. */
function blockOf(block: number | undefined, bytes: number, blksize: number | undefined): number {
  return block ?? Math.floor(bytes / (blksize ?? 512)) + 1;
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
  const loopWindow = o.loopWindowMs ?? DEFAULT_LOOP_WINDOW_MS;
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

  // Boot loop: the same file again and again within the window (the loop breaker's rule).
  for (const file of new Set(f.downloads.map((d) => d.file))) {
    const run = loopRun(f.downloads, file, o);
    if (!run) continue;
    const { last, count } = run;
    const chain = fileRole(file) === 'loader';
    // The firmware fetching the iPXE binary again and again without ever running it: Secure Boot.
    if (chain && f.unrun?.file === file && f.unrun.count >= 2) {
      out.push(unrunLoop(file, count, last - run.first, last));
      break;
    }
    out.push({
      code: 'boot-loop',
      severity: 'error',
      time: last,
      text: chain
        ? `Downloaded ${file} ${count} times in ${seconds(last - run.first)} — boot loop: the iPXE it loads asks again and is handed ${file} instead of the boot script, because its request carried no iPXE user class (option 77 "iPXE") or option 175${f.userClass ? ` (it sent user class "${f.userClass}")` : ''}`
        : `Downloaded ${file} ${count} times in ${seconds(last - run.first)} — boot loop: the machine restarts right after loading ${file}`,
      fix: chain
        ? 'Use the iPXE builds PXE Desk ships (undionly.kpxe / snponly.efi identify themselves as iPXE), or point the boot file for this firmware at an iPXE with an embedded script; a custom user class can be added to the iPXE user classes setting.'
        : `Check that ${file} suits this machine (architecture, Secure Boot) and look at its console for the error before the reboot.`,
    });
    break;
  }

  // Missing architecture: refused because the library has no file for this firmware.
  // (The signed chain's deliberate silence over PXE in proxy mode is a Secure Boot finding, not a refusal.)
  const sbWait = f.refusal?.code === 'signed-chain-http-boot';
  const refusal = f.refusal && !f.loopBroken && !sbWait ? refusalKind(f.refusal) : undefined;
  if (f.refusal && refusal) {
    const { firmware, arch } = f.refusal;
    if (refusal === 'missing-arch') {
      const label = firmware && firmware !== 'unknown' ? firmwareLabel(firmware) : undefined;
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
      const operator = refusal === 'operator';
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
  const kind = failure ? failureKind(failure.engine, failure.failure?.code) : 'none';
  if (failure && kind === 'not-ours') {
    out.push({
      code: 'other',
      severity: 'error',
      time: failure.time,
      text: `${failure.engine.toUpperCase()} transfer of ${failure.file} failed on PXE Desk's side (${failure.reason})`,
      fix: 'Check that the file is readable in the netboot folder (permissions, a disk or network share that went away) and look at the log.',
    });
  } else if (failure && kind === 'client-ended') {
    out.push({
      code: 'other',
      severity: 'warning',
      time: failure.time,
      text: `The client ended the ${failure.engine.toUpperCase()} transfer of ${failure.file} itself (${failure.reason})`,
      fix: "Look at the machine's screen for the firmware's error; a client that refuses the TFTP options (block size, window size) may need smaller values.",
    });
  } else if (failure && kind === 'stall') {
    if (failure.engine === 'tftp') {
      const block = blockOf(failure.failure?.block, failure.bytes, failure.blksize);
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

  // Secure Boot (secure-boot-findings.ts): iPXE downloaded and never run, the signed chain's findings.
  const lastDownload = f.downloads.at(-1);
  const unrun = unrunIpxe(f, now, nextStep);
  out.push(...secureBootFindings(f, now, o, unrun));
  // A chainloader arrived but nothing followed: it did not start.
  if (
    !unrun &&
    lastDownload &&
    fileRole(lastDownload.file) === 'loader' &&
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
      fix: "Look at the machine's screen: Secure Boot rejects unsigned iPXE (set Secure Boot to On in PXE Desk for the signed chain, or switch it off in the firmware), and a wrong-architecture file fails silently; check the NIC driver (try ipxe.efi instead of snponly.efi).",
    });
  }
  // The boot stopped moving and no rule above explains why: say where it stopped.
  if (f.stalled && out.length === 0)
    out.push({
      code: 'other',
      severity: 'warning',
      time: f.stalled.time,
      text: `No progress for ${seconds(stallMs)}${f.stalled.where}`,
      fix: "Check the cable and the firewall, and that the firmware accepted the boot file (look at the machine's screen).",
    });
  return out.sort(
    (a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || rank(a.code) - rank(b.code),
  );
}

const ORDER: readonly DiagnosisCode[] = [
  'loop-broken',
  'boot-loop',
  'secure-boot',
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
