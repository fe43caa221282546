/**
 * Secure Boot: which chain a UEFI client gets. Decided per client (MAC) by the client model, read by the boot
 * decision (app/engines/dhcp/boot-decision.ts) and shown by the UI, the CLI and the report. See docs/secure-boot.md.
 */

/**
 * The session setting (`--secure-boot`, UI setting):
 * - `auto`: iPXE first; a MAC whose firmware shows it refused the unsigned binary is switched to the signed chain;
 * - `on`: every UEFI x64 client gets the signed chain (shim -> GRUB);
 * - `off`: never the signed chain.
 */
export type SecureBootMode = 'auto' | 'on' | 'off';

export const SECURE_BOOT_MODES: readonly SecureBootMode[] = ['auto', 'on', 'off'];

/** The chain one client is served. */
export type BootChain = 'ipxe' | 'signed';

/** Why a client is on the signed chain (typed; the timeline words come from it). */
export type SignedChainReason =
  | 'setting-on' // --secure-boot on
  | 'refused-unsigned'; // auto: its firmware downloaded iPXE and never ran it (then retried, e.g. by HTTP boot)

/** Authenticode facts of a library file (kernel, EFI program), for "can this boot under Secure Boot". */
export interface SignatureInfo {
  readonly signed: boolean;
  /** Signer common names (or organisation), outermost signature first. */
  readonly signers: readonly string[];
  /**
   * The CAs that issued those signers' certificates, in the same order, without repeats ("Debian Secure Boot
   * CA", "Microsoft Corporation UEFI CA 2011"): what decides whether firmware (Microsoft's CA in db) or shim
   * (the distribution's CA built in) will run the file, so this is what the UI names as "signed by".
   */
  readonly issuers?: readonly string[];
  /** The signature table is damaged (a signed file cut short, or bytes that are not Authenticode): firmware refuses it. */
  readonly damaged?: true;
}

export function isSecureBootMode(v: unknown): v is SecureBootMode {
  return v === 'auto' || v === 'on' || v === 'off';
}

/** One sentence per setting, for a technician: the UI setting, `serve --help` and docs/cli.md say the same. */
export const SECURE_BOOT_HELP: Readonly<Record<SecureBootMode, string>> = {
  auto: 'Auto — machines that refuse iPXE get the signed Microsoft-trusted chain (shim → GRUB) automatically.',
  on: 'On — every UEFI PC gets the signed chain (shim → GRUB): for sites where Secure Boot is always on.',
  off: 'Off — every machine gets iPXE (faster), which a PC with Secure Boot on refuses to run.',
};

/** The timeline's words for a switch to the signed chain (one home: the client model writes them, tests read them). */
export function signedChainWords(reason: SignedChainReason): string {
  return reason === 'setting-on'
    ? 'Secure Boot is set to on: serving the signed chain shim → GRUB'
    : 'its firmware did not run iPXE (Secure Boot refuses unsigned programs): switched to the signed chain shim → GRUB';
}

/** What the UI and the report say about a file's signature ("signed by Debian Secure Boot CA"). */
export function signatureWords(s: SignatureInfo): string {
  if (s.damaged) return 'damaged signature: refused under Secure Boot';
  if (!s.signed) return 'unsigned: refused under Secure Boot';
  const by = s.issuers?.length ? s.issuers : s.signers;
  return by.length ? `signed by ${by.join(' and ')}` : 'signed';
}
