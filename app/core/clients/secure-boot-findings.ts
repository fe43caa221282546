/**
 * The diagnosis rules about Secure Boot (issue 19, docs/secure-boot.md), pure functions of a client's facts
 * like the others in diagnosis.ts: iPXE downloaded whole and never run (the firmware gave up before the
 * client model saw its retry, or the setting is off), an unsigned kernel fetched on the signed chain, and a
 * PXE request left unanswered in proxy mode so the firmware tries UEFI HTTP boot, which never came.
 */
import type { SecureBootMode } from '../../shared/secure-boot.js';
import type { Diagnosis } from '../../shared/session-types.js';
import type { DiagnosisOptions } from './diagnosis.js';
import type { ClientFacts } from './facts.js';
import { fileRole } from './file-roles.js';

/**
 * How long after the unanswered PXE request the firmware's UEFI HTTP boot may take: OVMF tried PXE over
 * IPv6 for ~64 s first and sent its HTTPClient DISCOVER ~72 s after the first one (lab, docs/secure-boot.md).
 */
export const HTTP_BOOT_WAIT_MS = 120_000;

/**
 * The iPXE binary downloaded whole by UEFI x64 firmware on the iPXE chain with nothing after it (no iPXE
 * request, no new firmware request, no other file) for `nextStep`: the client model's Secure Boot signal
 * (secure-boot-chain.ts) that never got its retry. A retry that leaves the client on iPXE (setting off: a new
 * firmware request, e.g. UEFI HTTP boot ~70 s later in the lab, or the same download whole again) is the
 * refusal itself, so it is reported at once: waiting out `nextStep` again would hide it whenever the firmware
 * retries, and the last retry may be the last thing the machine does.
 */
export function unrunIpxe(
  f: ClientFacts,
  now: number,
  nextStep: number,
): { file: string; time: number; count: number } | undefined {
  const u = f.unrun;
  if (!u || f.chain?.chain === 'signed' || f.transfers.size > 0) return undefined;
  // A DHCP request that left the signal standing is the firmware's retry: iPXE's own requests and any within
  // RETRY_GAP_MS of the download clear it (secure-boot-chain.ts).
  const retried = u.count >= 2 || (f.lastDiscover ?? 0) > u.time;
  if (!retried && (now - u.time < nextStep || (f.lastActivityWithUs ?? 0) > u.time)) return undefined;
  return f.downloads.at(-1)?.file === u.file ? u : undefined;
}

/** Every Secure Boot finding for this client at `now` (`unrun`: unrunIpxe's answer). */
export function secureBootFindings(
  f: ClientFacts,
  now: number,
  o: DiagnosisOptions,
  unrun: { file: string; time: number; count: number } | undefined,
): Diagnosis[] {
  const out: Diagnosis[] = [];
  if (unrun) out.push(unrunFinding(unrun.file, unrun.time, unrun.count, o.secureBoot ?? 'auto'));
  const refused = f.kernelRefused;
  if (refused && f.chain?.chain === 'signed')
    out.push({
      code: 'secure-boot',
      severity: 'error',
      time: refused.time,
      text: `${kernelRefusedWords(refused.entry)}: Secure Boot starts only kernels signed by a key the firmware or shim trusts`,
      fix: 'Boot a kernel signed by its distribution (Debian, Ubuntu, Fedora and SUSE sign theirs), or switch Secure Boot off in this machine’s firmware settings.',
    });
  const unsigned = refused ? undefined : unsignedOnSignedChain(f, o);
  if (unsigned) out.push(unsigned);
  const wait = httpBootWait(f, now);
  if (wait) out.push(wait);
  return out;
}

/** The timeline's words when the signed chain's GRUB refused a kernel (also the finding's start). */
export function kernelRefusedWords(entry: string): string {
  return `GRUB on the signed chain refused ${entry}`;
}

/** The boot-loop finding when the looping file is an iPXE binary its firmware never ran (setting off). */
export function unrunLoop(file: string, count: number, spanMs: number, time: number): Diagnosis {
  return {
    code: 'boot-loop',
    severity: 'error',
    time,
    text: `Downloaded ${file} ${count} times in ${Math.round(spanMs / 1000)} s and never ran it — its firmware refuses it and tries again: Secure Boot is probably on; set Secure Boot to on`,
    fix: 'Set Secure Boot to On (or Auto) in PXE Desk and boot the machine again: it then gets the signed chain shim → GRUB, which Secure Boot runs. Or switch Secure Boot off in its firmware settings.',
  };
}

function unrunFinding(file: string, time: number, count: number, setting: SecureBootMode): Diagnosis {
  const name = file.split('/').at(-1) ?? file;
  const times = count >= 2 ? ` ${count} times` : '';
  return {
    code: 'secure-boot',
    severity: 'error',
    time,
    text: `Downloaded ${name}${times} and never ran it: Secure Boot is probably on; set Secure Boot to on`,
    fix:
      setting === 'off'
        ? 'Set Secure Boot to On (or Auto) in PXE Desk and boot the machine again: it then gets the signed chain shim → GRUB, which Secure Boot runs. Or switch Secure Boot off in its firmware settings.'
        : 'Set Secure Boot to On in PXE Desk and boot the machine again: in Auto a machine moves to the signed chain shim → GRUB only when its firmware tries again, and this one gave up. Or switch Secure Boot off in its firmware settings.',
  };
}

/**
 * The signed chain fetched a kernel (or EFI program) that carries no valid signature: shim's verifier
 * refuses it under Secure Boot (GRUB prints "bad shim signature"). Certain when the firmware already
 * refused iPXE (Secure Boot is on), likely otherwise (`on` is also served to PCs without Secure Boot).
 */
function unsignedOnSignedChain(f: ClientFacts, o: DiagnosisOptions): Diagnosis | undefined {
  if (f.chain?.chain !== 'signed' || !o.signatureOf) return undefined;
  for (let i = f.downloads.length - 1; i >= 0; i--) {
    const d = f.downloads[i]!;
    if (d.partial || fileRole(d.file) !== 'payload') continue;
    const sig = o.signatureOf(d.file);
    if (!sig || (sig.signed && !sig.damaged)) continue;
    const sure = f.chain.reason === 'refused-unsigned';
    const what = sig.damaged ? 'has a damaged signature' : 'is not signed';
    return {
      code: 'secure-boot',
      severity: sure ? 'error' : 'warning',
      time: d.time,
      text: sure
        ? `${d.file} ${what}: this machine has Secure Boot on, so the signed chain (shim → GRUB) will not start it`
        : `${d.file} ${what}: if this machine has Secure Boot on, the signed chain (shim → GRUB) will not start it`,
      fix: 'Boot a kernel signed by its distribution (Debian, Ubuntu, Fedora and SUSE sign theirs), or switch Secure Boot off in this machine’s firmware settings.',
    };
  }
  return undefined;
}

/**
 * Proxy mode leaves a signed-chain PXE request unanswered on purpose (the boot decision's
 * 'signed-chain-http-boot': Debian's GRUB would ask the site's DHCP server for its files), so the firmware
 * moves on to UEFI HTTP boot. While that may still come it is news, after HTTP_BOOT_WAIT_MS a problem.
 * An answered request (an offer with a boot file) clears the refusal (facts.ts).
 */
function httpBootWait(f: ClientFacts, now: number): Diagnosis | undefined {
  const r = f.refusal;
  if (r?.code !== 'signed-chain-http-boot' || (f.lastDiscover ?? 0) > r.time) return undefined;
  if (now - r.time < HTTP_BOOT_WAIT_MS)
    return {
      code: 'secure-boot',
      severity: 'info',
      time: r.time,
      text: 'Signed chain: PXE not answered in proxy mode on purpose; waiting for the firmware to try UEFI HTTP boot (about a minute)',
    };
  return {
    code: 'secure-boot',
    severity: 'error',
    time: r.time,
    text: `Signed chain: the firmware did not try UEFI HTTP boot within ${Math.round(HTTP_BOOT_WAIT_MS / 1000)} s after PXE was left unanswered`,
    fix: 'Enable UEFI HTTP boot (often "HTTP Boot" or "Network Stack: IPv4 HTTP") in the machine’s firmware settings, or boot it on an isolated switch with PXE Desk in full DHCP mode.',
  };
}
