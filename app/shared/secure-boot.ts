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
}

export function isSecureBootMode(v: unknown): v is SecureBootMode {
  return v === 'auto' || v === 'on' || v === 'off';
}
