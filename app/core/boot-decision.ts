/**
 * The boot decision (DESIGN.md "Boot decision"): a pure function from what the client sent and the
 * session config to a reply plan, or a refusal with a plain-language reason.
 */
import type { FirmwareKind } from '../shared/events.js';

export interface BootConfig {
  readonly mode: 'proxy' | 'dhcp';
  readonly serverAddress: string;
  readonly tftpServer: string;
  /** e.g. `http://10.0.0.1:8080`, always with port. */
  readonly httpBaseUrl: string;
  readonly bootFiles?: Partial<Record<FirmwareKind, string>>;
  readonly scriptPath?: string;
  /** Absolute URL iPXE chains to instead of the generated script (proxyDHCPd `chainload_url`). */
  readonly chainloadUrl?: string;
  readonly allow?: readonly string[];
  readonly deny?: readonly string[];
  readonly perMac?: Readonly<Record<string, { readonly bootFile?: string }>>;
  readonly hasFile?: (name: string) => boolean;
  readonly isBlocked?: (mac: string) => string | undefined;
  /** User classes that mean iPXE (exact match, catalogue I5). Default ['iPXE']. */
  readonly ipxeUserClasses?: readonly string[];
}

export interface BootRequest {
  readonly mac: string;
  /** Option 93 values (first usable wins), or parsed from option 60. */
  readonly archs?: readonly number[];
  readonly vendorClass?: string;
  readonly userClasses?: readonly string[];
  /** Option 175 present. */
  readonly hasIpxeEncap?: boolean;
}

export type BootPlan =
  | {
      readonly kind: 'boot';
      readonly firmware: FirmwareKind;
      readonly arch: number;
      readonly ipxe: boolean;
      /** Value for `file` and option 67. */
      readonly bootFile: string;
      /** Option 60 in the reply. */
      readonly vendorClass: 'PXEClient' | 'HTTPClient';
      /** siaddr. */
      readonly nextServer: string;
      /** Add 175.176 = 1 (iPXE: skip the proxy wait); full mode only. */
      readonly ipxeNoProxyWait: boolean;
    }
  | {
      readonly kind: 'refuse';
      readonly reason: string;
      readonly firmware?: FirmwareKind;
      readonly arch?: number;
    };

export const DEFAULT_BOOT_FILES: Readonly<Partial<Record<FirmwareKind, string>>> = {
  bios: 'undionly.kpxe',
  'uefi-x64': 'snponly.efi',
  'uefi-x64-http': 'snponly.efi',
};

/** IANA processor architecture (RFC 4578 + errata 4624) to the firmware we serve. */
export function firmwareOf(arch: number): FirmwareKind {
  switch (arch) {
    case 0:
      return 'bios';
    case 6:
      return 'uefi-ia32';
    // 9 (EBC) and the quirky 2/8 come from x64 firmware (protocol.md §2).
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

const LABEL: Record<FirmwareKind, string> = {
  bios: 'BIOS',
  'uefi-ia32': 'UEFI 32-bit (IA32)',
  'uefi-x64': 'UEFI x64',
  'uefi-arm64': 'UEFI ARM64',
  'uefi-x64-http': 'UEFI x64 HTTP boot',
  'uefi-ia32-http': 'UEFI 32-bit HTTP boot',
  'uefi-arm64-http': 'UEFI ARM64 HTTP boot',
  unknown: 'unknown',
};

const norm = (mac: string): string => mac.toLowerCase().replace(/-/g, ':');

export function isIpxe(req: BootRequest, config: Pick<BootConfig, 'ipxeUserClasses'>): boolean {
  if (req.hasIpxeEncap) return true;
  const names = config.ipxeUserClasses ?? ['iPXE'];
  return (req.userClasses ?? []).some((u) => names.includes(u));
}

function fileFor(fw: FirmwareKind, config: BootConfig): string | undefined {
  const configured = config.bootFiles?.[fw];
  if (configured) return configured;
  const def = DEFAULT_BOOT_FILES[fw];
  if (fw === 'uefi-x64' || fw === 'uefi-x64-http') {
    // snponly.efi is the default; ipxe.efi is the fallback (DESIGN Clarifications).
    if (config.hasFile && !config.hasFile('snponly.efi') && config.hasFile('ipxe.efi')) return 'ipxe.efi';
  }
  return def;
}

/** Why the operator excluded this MAC (deny list, allow list, blocked), or undefined. */
export function exclusionOf(
  rawMac: string,
  config: Pick<BootConfig, 'allow' | 'deny' | 'isBlocked'>,
): string | undefined {
  const mac = norm(rawMac);
  if (config.deny?.some((m) => norm(m) === mac)) return `${mac} is on the deny list`;
  if (config.allow && config.allow.length > 0 && !config.allow.some((m) => norm(m) === mac))
    return `${mac} is not on the allow list`;
  return config.isBlocked?.(mac);
}

export function decideBoot(req: BootRequest, config: BootConfig): BootPlan {
  const mac = norm(req.mac);
  const excluded = exclusionOf(mac, config);
  if (excluded) return { kind: 'refuse', reason: excluded };
  const vc = req.vendorClass ?? '';
  // Case-sensitive prefix compare, as EDK2 and iPXE do (catalogue D23–D25).
  const http = vc.startsWith('HTTPClient');
  if (!http && !vc.startsWith('PXEClient')) {
    return { kind: 'refuse', reason: 'not a network-boot client (no PXEClient/HTTPClient vendor class)' };
  }
  if (!req.archs || req.archs.length === 0) {
    return { kind: 'refuse', reason: 'client sent no usable architecture (option 93)' };
  }
  // First architecture we know wins (catalogue U2).
  const arch = req.archs.find((a) => firmwareOf(a) !== 'unknown');
  if (arch === undefined) {
    return {
      kind: 'refuse',
      reason: `unsupported client architecture ${req.archs.join(',')}`,
      firmware: 'unknown',
      arch: req.archs[0],
    };
  }
  const firmware = firmwareOf(arch);
  const ipxe = isIpxe(req, config);
  const base = config.httpBaseUrl.replace(/\/+$/, '');
  const override = config.perMac?.[mac]?.bootFile;
  if (ipxe) {
    // iPXE gets the script, never the binary again (loop guard, protocol.md §1.4).
    const script = (config.scriptPath ?? 'boot.ipxe').replace(/^\/+/, '');
    return {
      kind: 'boot',
      firmware,
      arch,
      ipxe,
      bootFile: config.chainloadUrl ?? `${base}/${script}?mac=${mac}&arch=${firmware}`,
      vendorClass: http ? 'HTTPClient' : 'PXEClient',
      nextServer: config.tftpServer,
      ipxeNoProxyWait: config.mode === 'dhcp',
    };
  }
  const isHttpArch = firmware.endsWith('-http');
  if (http !== isHttpArch && arch >= 15) {
    return { kind: 'refuse', reason: `client asked for HTTP boot with architecture ${arch}`, firmware, arch };
  }
  const file = override ?? fileFor(firmware, config);
  const needsUserFile = firmware === 'uefi-ia32' || firmware === 'uefi-arm64' || firmware.endsWith('-http');
  if (
    !file ||
    (needsUserFile && !override && !config.bootFiles?.[firmware] && firmware !== 'uefi-x64-http')
  ) {
    return {
      kind: 'refuse',
      reason: `no boot file for ${LABEL[firmware]} clients: add one in the boot-file settings`,
      firmware,
      arch,
    };
  }
  if (config.hasFile && !/^[a-z]+:\/\//i.test(file) && !config.hasFile(file)) {
    return { kind: 'refuse', reason: `boot file ${file} for ${LABEL[firmware]} is missing`, firmware, arch };
  }
  if (isHttpArch) {
    // UEFI HTTP boot needs an absolute URI with an IP literal and 60=HTTPClient (protocol.md §1.5).
    const url = /^[a-z]+:\/\//i.test(file) ? file : `${base}/${file.replace(/^\/+/, '')}`;
    return {
      kind: 'boot',
      firmware,
      arch,
      ipxe,
      bootFile: url,
      vendorClass: 'HTTPClient',
      nextServer: config.serverAddress,
      ipxeNoProxyWait: false,
    };
  }
  return {
    kind: 'boot',
    firmware,
    arch,
    ipxe,
    bootFile: file,
    vendorClass: 'PXEClient',
    nextServer: config.tftpServer,
    ipxeNoProxyWait: false,
  };
}
