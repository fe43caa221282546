/**
 * Which chain a UEFI x64 client is served (issue 19, docs/secure-boot.md): iPXE, or the signed chain shim →
 * GRUB. The setting (`--secure-boot`) decides for the session; in `auto` each MAC starts on iPXE and moves to
 * the signed chain once its firmware shows that it refused the unsigned binary.
 *
 * The signal, as seen with OVMF, Microsoft's keys enrolled and Secure Boot on: the firmware fetches
 * snponly.efi over TFTP *whole*, LoadImage() fails with EFI_SECURITY_VIOLATION / "Access Denied" (UEFI 2.10
 * §32.5: an image whose signature is not in db is not started), and no iPXE DHCP request follows — a started
 * iPXE sends its own DISCOVER (user class "iPXE", RFC 3004) within seconds (2.7 s in the lab). The firmware then tries
 * PXE over IPv6 (~64 s, invisible to us) and UEFI HTTP boot: a DISCOVER with vendor class HTTPClient (arch
 * 16, RFC 4578 / IANA processor architecture types) from the same MAC, ~72 s after the first. So: a MAC that
 * downloaded the iPXE binary whole and then, with no iPXE request in between, asks again as firmware (a new
 * PXE or HTTPClient DISCOVER, a 4011 request: the boot decision's chainFor; or the same download again)
 * refused it.
 *
 * Pure functions over a client's facts; the client model (client-book.ts) calls them and writes the timeline.
 */
import type { DhcpEvent, FirmwareKind, TransferEvent } from '../../shared/events.js';
import {
  signedChainWords,
  type BootChain,
  type SecureBootMode,
  type SignedChainReason,
} from '../../shared/secure-boot.js';
import type { ClientFacts } from './facts.js';
import { fileRole } from './file-roles.js';
import { noteLine, type RecordDraft } from './timeline.js';

/** The chain a client is on, why, and since when it is on the signed one (the row's `chain` / `chainReason`). */
export interface ChainState {
  readonly chain: BootChain;
  readonly reason?: SignedChainReason;
  readonly time?: number;
}

/**
 * The state of every client on iPXE: one shared frozen object, not one per client (a flood of 20 000 new
 * MACs/s keeps each record's objects alive for a while; facts.ts shares its empty lists the same way).
 */
const ON_IPXE: ChainState = Object.freeze({ chain: 'ipxe' });

/** The boot file the firmware downloaded whole and has not been seen running since. */
export interface UnrunDownload {
  /** As the transfer named it (root-relative path). */
  readonly file: string;
  readonly time: number;
  /** Whole downloads of it in a row with nothing run in between (2 = the firmware fetched it again). */
  readonly count: number;
}

/**
 * How long after the download a request must come to be the firmware's retry. A program that ran and does
 * DHCP itself asks within seconds (iPXE's DISCOVER came 2.7 s after snponly.efi in the lab, though the boot
 * decision knows iPXE by option 77/175 anyway); without iPXE's markers such a request is an NBP's own — a
 * boot loop, the loop breaker's business — not a refusal. A firmware that refused the image first goes
 * through its other boot options (OVMF: PXE over IPv6, ~64 s) before it asks again.
 */
export const RETRY_GAP_MS = 3000;

/** The iPXE names PXE Desk hands UEFI x64 by default, for a client whose offer we did not see. */
const IPXE_EFI = new Set(['snponly.efi', 'ipxe.efi']);

/**
 * Firmware the signed chain exists for: Debian signs shim and GRUB for x86-64 UEFI only, booted by PXE
 * (arch 7/9) or by UEFI HTTP boot (arch 16).
 */
export function signedChainFirmware(fw: FirmwareKind | undefined): boolean {
  return fw === 'uefi-x64' || fw === 'uefi-x64-http';
}

/** The last path segment of a file name or URL ("http://h:8080/efi/snponly.efi?x" → "snponly.efi"). */
export function baseName(fileOrUrl: string): string {
  const path = fileOrUrl.replace(/[?#].*$/, '');
  return (path.split(/[/\\]/).at(-1) ?? path).toLowerCase();
}

/** The chain a firmware request gets before anything is known of the client: `on` signs every UEFI x64 one. */
export function initialChain(mode: SecureBootMode, fw: FirmwareKind | undefined): BootChain {
  return mode === 'on' && signedChainFirmware(fw) ? 'signed' : 'ipxe';
}

/**
 * The first firmware request of a UEFI x64 client: the chain it starts on under the setting (`on`: signed,
 * said once in its timeline; otherwise iPXE).
 */
export function startChain(
  f: ClientFacts,
  record: RecordDraft,
  e: DhcpEvent,
  mode: SecureBootMode,
  maxEntries: number,
): void {
  if (!signedChainFirmware(e.client.firmware)) return;
  if (initialChain(mode, e.client.firmware) === 'ipxe') {
    f.chain = ON_IPXE;
    return;
  }
  f.chain = { chain: 'signed', reason: 'setting-on', time: e.time };
  noteLine(record, e.time, signedChainWords('setting-on'), maxEntries);
}

/** `auto`: the firmware refused iPXE; the client is on the signed chain from now on (until Forget). */
export function moveToSigned(f: ClientFacts, record: RecordDraft, time: number, maxEntries: number): void {
  f.chain = { chain: 'signed', reason: 'refused-unsigned', time };
  delete f.unrun;
  noteLine(record, time, signedChainWords('refused-unsigned'), maxEntries);
}

/**
 * Whether a DHCP event is iPXE's: the engines mark it where the boot decision ran (proxy offers, 4011
 * answers), but a DISCOVER's identity and full mode's events carry no such flag — there iPXE shows by its
 * user class (RFC 3004 option 77, "iPXE") or by our answer naming its boot script.
 */
export function fromIpxe(e: DhcpEvent): boolean {
  if (e.client.ipxe === true || e.client.userClass === 'iPXE') return true;
  const answer = e.type === 'offer' || e.type === 'ack' || e.type === 'pxe-ack';
  return answer && e.bootFile !== undefined && fileRole(e.bootFile) === 'script';
}

/** A DHCP event: iPXE running clears the signal; our offer to the firmware names the binary to watch. */
export function foldChainDhcp(f: ClientFacts, e: DhcpEvent): void {
  if (fromIpxe(e)) {
    delete f.unrun; // iPXE runs: whatever was downloaded was started
    return;
  }
  // A request right after the download is the program's own: it ran (RETRY_GAP_MS).
  const asks = e.type === 'discover' || e.type === 'request' || e.type === 'pxe-request';
  if (asks && f.unrun && e.time - f.unrun.time < RETRY_GAP_MS) delete f.unrun;
  if ((e.type === 'offer' || e.type === 'ack' || e.type === 'pxe-ack') && e.bootFile)
    if (signedChainFirmware(e.client.firmware)) f.nbp = baseName(e.bootFile);
}

/**
 * A transfer event: a whole download of the iPXE binary by UEFI x64 firmware on the iPXE chain starts (or
 * counts) the signal; any other file fetched means the program ran and asks for its next step.
 */
export function foldChainTransfer(f: ClientFacts, e: TransferEvent): void {
  if (e.type === 'start') {
    if (f.unrun && e.file !== f.unrun.file) delete f.unrun;
    return;
  }
  if (e.type !== 'done' || e.detail?.probe === true) return; // EDK2's tsize probe is a size question
  if (e.engine === 'http' && e.detail?.status === 206) return; // a range is a piece, not the whole file
  if (f.chain?.chain === 'signed' || !signedChainFirmware(f.firmware)) return;
  const name = baseName(e.file);
  if (f.nbp ? name !== f.nbp : !IPXE_EFI.has(name)) return;
  const again = f.unrun?.file === e.file;
  // The same file again at once (a firmware that fetches twice) is one attempt, not a retry.
  if (again && e.time - f.unrun!.time < RETRY_GAP_MS) return;
  f.unrun = { file: e.file, time: e.time, count: again ? f.unrun!.count + 1 : 1 };
}

/**
 * After an engine event was folded into the facts: a new UEFI x64 client starts on its chain, and in
 * `auto` a client that downloaded the same iPXE binary whole again without running it moves to the signed
 * chain. (A new firmware request is the other signal; only the boot decision knows a request is the
 * firmware's and not iPXE's — events do not always say — so that one is chainFor's, chainOnRequest.)
 * True when it moved.
 */
export function chainAfterEvent(
  f: ClientFacts,
  record: RecordDraft,
  e: DhcpEvent | TransferEvent,
  mode: SecureBootMode,
  maxEntries: number,
): boolean {
  if (e.engine !== 'tftp' && e.engine !== 'http') {
    const d = e as DhcpEvent;
    if (!f.chain && !fromIpxe(d)) startChain(f, record, d, mode, maxEntries);
    return false;
  }
  if (mode !== 'auto' || !f.unrun || f.unrun.count < 2 || f.chain?.chain === 'signed') return false;
  moveToSigned(f, record, e.time, maxEntries);
  return true;
}

/**
 * The boot decision asks before a firmware request reaches the client model (never for iPXE's own
 * requests: iPXE gets its script whatever the chain): in `auto`, a firmware that asks again after an unrun
 * download shows the refusal with this very request, so the client moves now. True when it moved.
 */
export function chainOnRequest(
  f: ClientFacts,
  record: RecordDraft,
  now: number,
  maxEntries: number,
): boolean {
  if (!f.unrun || f.chain?.chain === 'signed' || now - f.unrun.time < RETRY_GAP_MS) return false;
  moveToSigned(f, record, now, maxEntries);
  return true;
}
