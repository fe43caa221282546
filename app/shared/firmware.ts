/**
 * Firmware kinds: the one table from option 93 values to the firmware PXE Desk serves, and the one
 * spelling of each kind for people (refusal reasons, diagnoses, the UI's client row, the report).
 * Environment-neutral: the renderer imports it as well as the engines and the core.
 */
import type { FirmwareKind } from './events.js';

/** How each firmware kind is written wherever a person reads it. */
export const FIRMWARE_LABEL: Readonly<Record<FirmwareKind, string>> = {
  bios: 'BIOS',
  'uefi-ia32': 'UEFI 32-bit (IA32)',
  'uefi-x64': 'UEFI x64',
  'uefi-arm64': 'UEFI ARM64',
  'uefi-x64-http': 'UEFI x64 HTTP boot',
  'uefi-ia32-http': 'UEFI 32-bit HTTP boot',
  'uefi-arm64-http': 'UEFI ARM64 HTTP boot',
  unknown: 'unknown',
};

/** The label of `kind`; a string that is not a known kind (old saved data) is shown as it is. */
export function firmwareLabel(kind: FirmwareKind | string): string {
  return Object.hasOwn(FIRMWARE_LABEL, kind) ? FIRMWARE_LABEL[kind as FirmwareKind] : kind;
}

/**
 * IANA processor architecture (RFC 4578 §2.1 and its IANA registry, errata 4624) to the firmware we
 * serve. 9 (EBC) and the quirky 2 and 8 come from x64 firmware that mislabels itself (older EDK2 and
 * vendor ROMs), so they are served as x64.
 */
export function firmwareOf(arch: number): FirmwareKind {
  switch (arch) {
    case 0:
      return 'bios';
    case 6:
      return 'uefi-ia32';
    case 2:
    case 7:
    case 8:
    case 9:
      return 'uefi-x64';
    case 11:
      return 'uefi-arm64';
    case 15:
      return 'uefi-ia32-http';
    case 16:
      return 'uefi-x64-http';
    case 19:
      return 'uefi-arm64-http';
    default:
      return 'unknown';
  }
}
