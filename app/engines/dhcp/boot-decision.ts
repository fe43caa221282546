/**
 * The boot decision: a pure function from what the client sent and the session config to a reply plan,
 * or a refusal with a code (what consumers branch on) and a plain-language reason (what people read).
 *
 * It owns three facts every other layer reads from it, never decides again: whether the operator excluded
 * a MAC (allow/deny lists, block, the loop breaker's pause: exclusionOf in exclusion.ts), whether the client is a network-boot
 * client (netboot-client.ts) and the firmware of a request (firmwareOfRequest: identities carry the same).
 */
import type { FirmwareKind, RefusalCode } from '../../shared/events.js';
import { firmwareLabel, firmwareOf } from '../../shared/firmware.js';
import type { BootChain } from '../../shared/secure-boot.js';
import { exclusionOf, normalizeMac, type OperatorExclusion } from './exclusion.js';
import { netbootClassOf } from './netboot-client.js';
import type { PxeMenu } from './pxe-menu.js';

// Exclusions are decided in exclusion.ts; their callers import them from here, beside the decision.
export { exclusionOf, type Exclusion, type OperatorExclusion } from './exclusion.js';

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
  /** The session's own exclusions of a MAC (operator block, loop-breaker pause), or undefined. */
  readonly isBlocked?: (mac: string) => OperatorExclusion | undefined;
  /** User classes that mean iPXE (exact match by default: docs/protocol-notes.md §4, test-catalogue I5). Default ['iPXE']. */
  readonly ipxeUserClasses?: readonly string[];
  /**
   * A PXE boot menu (option 43 sub-options 8/9/10) for BIOS PXE ROMs. Without one, BIOS firmware is told
   * to boot the `file` field at once (43 = 06 01 08 FF), as before. UEFI firmware never gets a menu (its
   * menu code is "badly broken": dnsmasq's `pxe_uefi_workaround`) and iPXE gets its script.
   */
  readonly pxeMenu?: PxeMenu;
  /**
   * The chain a UEFI x64 firmware request of this MAC is served (docs/secure-boot.md): 'signed' gives the
   * shim instead of iPXE. Asked for firmware requests of 'uefi-x64' / 'uefi-x64-http' only, never for iPXE's
   * own (iPXE runs, so it gets its script whatever the chain). The client model decides (`--secure-boot`).
   */
  readonly chainFor?: (mac: string, firmware: FirmwareKind) => BootChain;
  /**
   * The signed chain's first stage (default SIGNED_BOOT_FILE). Shim fetches its second stage, `grubx64.efi`,
   * from the folder of this name on the same server, so both must sit side by side (docs/secure-boot.md).
   */
  readonly signedBootFile?: string;
  /**
   * What a UEFI HTTP boot client on the signed chain gets instead of the shim: a disk image holding shim, GRUB
   * and a grub.cfg (app/core/signed-boot-image.ts), because GRUB started by HTTP boot has no network
   * configuration of its own (docs/secure-boot.md). Without it HTTP boot clients get the shim's URL.
   */
  readonly signedHttpBootFile?: string;
}

/** Debian's shim (signed by Microsoft's UEFI CA), as `npm run bootfiles` stores it. */
export const SIGNED_BOOT_FILE = 'shimx64.efi';
/** What shim loads next from the same folder: its built-in DEFAULT_LOADER (rhboot/shim shim.h). */
export const SIGNED_SECOND_STAGE = 'grubx64.efi';

export interface BootRequest {
  readonly mac: string;
  /** Option 93 values (first usable wins), or parsed from option 60. */
  readonly archs?: readonly number[];
  readonly vendorClass?: string;
  readonly userClasses?: readonly string[];
  /** Option 175 present. */
  readonly hasIpxeEncap?: boolean;
}

export type BootRefusal = {
  readonly kind: 'refuse';
  readonly code: RefusalCode;
  readonly reason: string;
  readonly firmware?: FirmwareKind;
  readonly arch?: number;
};

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
      /** Set when a firmware request is served the signed chain (shim → GRUB) instead of iPXE. */
      readonly chain?: Extract<BootChain, 'signed'>;
      /**
       * Offer this menu instead of a file (BIOS PXE ROM, menu configured, no per-MAC override). The ROM
       * then asks for the chosen item on 4011 (decideBootItem).
       */
      readonly menu?: PxeMenu;
    }
  | BootRefusal;

export const DEFAULT_BOOT_FILES: Readonly<Partial<Record<FirmwareKind, string>>> = {
  bios: 'undionly.kpxe',
  'uefi-x64': 'snponly.efi',
  'uefi-x64-http': 'snponly.efi',
};

/** Refusals of a client we recognised but cannot serve: the operator must add or fix a file (test-catalogue U5). */
const OPERATOR_MUST_ACT: ReadonlySet<RefusalCode> = new Set<RefusalCode>([
  'unsupported-arch',
  'http-arch-mismatch',
  'no-boot-file',
  'boot-file-missing',
]);

/** Whether a refusal asks the operator to act (logged as a warning) rather than being deliberate. */
export function refusalNeedsAction(code: RefusalCode): boolean {
  return OPERATOR_MUST_ACT.has(code);
}

/**
 * The architecture and firmware a request is served as: the first option 93 value PXE Desk knows wins
 * (a client may list several, RFC 4578 §2.1; test-catalogue U2), else the first one with firmware 'unknown'.
 * Undefined when the client sent none. Engine events' identities carry the same pair.
 */
export function firmwareOfRequest(
  archs: readonly number[] | undefined,
): { readonly arch: number; readonly firmware: FirmwareKind } | undefined {
  if (!archs || archs.length === 0) return undefined;
  for (const arch of archs) {
    const firmware = firmwareOf(arch);
    if (firmware !== 'unknown') return { arch, firmware };
  }
  return { arch: archs[0]!, firmware: 'unknown' };
}

/**
 * The base URL derived once per config (the engines call decideBoot for every DISCOVER, up to tens of
 * thousands per second), keyed by the config object so decideBoot stays a pure function.
 */
const baseCache = new WeakMap<BootConfig, string>();
function baseOf(config: BootConfig): string {
  let base = baseCache.get(config);
  if (base === undefined) baseCache.set(config, (base = config.httpBaseUrl.replace(/\/+$/, '')));
  return base;
}

/** iPXE's own binaries by name (undionly.kpxe, ipxe.efi, snponly.efi, ipxe.pxe, ipxe.lkrn, …). */
const IPXE_BINARY = /(^|\/)(undionly|ipxe|snponly|snp)[^/]*$|\.(kpxe|kkpxe|lkrn)$/i;

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
    // snponly.efi (iPXE over the firmware's SNP driver) is the default; ipxe.efi (its own drivers) the
    // fallback when only that one is in the folder.
    if (config.hasFile && !config.hasFile('snponly.efi') && config.hasFile('ipxe.efi')) return 'ipxe.efi';
  }
  return def;
}

export function decideBoot(req: BootRequest, config: BootConfig): BootPlan {
  const mac = normalizeMac(req.mac);
  const excluded = exclusionOf(mac, config);
  if (excluded) return { kind: 'refuse', code: excluded.code, reason: excluded.reason };
  const netboot = netbootClassOf(req.vendorClass);
  if (!netboot) {
    return {
      kind: 'refuse',
      code: 'not-netboot',
      reason: 'not a network-boot client (no PXEClient/HTTPClient vendor class)',
    };
  }
  const http = netboot === 'HTTPClient';
  const served = firmwareOfRequest(req.archs);
  if (!served) {
    return { kind: 'refuse', code: 'no-arch', reason: 'client sent no usable architecture (option 93)' };
  }
  const { arch, firmware } = served;
  if (firmware === 'unknown') {
    return {
      kind: 'refuse',
      code: 'unsupported-arch',
      reason: `unsupported client architecture ${req.archs!.join(',')}`,
      firmware,
      arch,
    };
  }
  const ipxe = isIpxe(req, config);
  const base = baseOf(config);
  const override = config.perMac?.[mac]?.bootFile;
  // The operator's own boot file that is not iPXE (PyPXE's `-i pxelinux.0`) is for every client, an iPXE NIC
  // ROM too (QEMU, Proxmox and many servers boot through one): it asks with iPXE's user class but it is the
  // machine's firmware, not an iPXE we chained. iPXE binaries keep the script (iPXE handed iPXE is the loop).
  const operatorFile = config.bootFiles?.[firmware];
  const operatorFileForIpxe = operatorFile !== undefined && !IPXE_BINARY.test(operatorFile);
  if (ipxe && !operatorFileForIpxe) {
    // iPXE gets the script, never the binary again: handing iPXE an iPXE binary is the classic loop.
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
    return {
      kind: 'refuse',
      code: 'http-arch-mismatch',
      reason: `client asked for HTTP boot with architecture ${arch}`,
      firmware,
      arch,
    };
  }
  // The signed chain replaces what an unsigned chain would serve to UEFI x64 firmware (PXE and HTTP boot),
  // a per-firmware boot file too: 'on' asks for it on every such client, and 'auto' only moves a client whose
  // firmware refused what it was served (PyPXE -i and proxyDHCPd imports name snponly.efi there). A per-MAC
  // boot file still wins (chosen for that one machine), as does iPXE itself (it runs: no Secure Boot).
  const signed =
    !override &&
    (firmware === 'uefi-x64' || firmware === 'uefi-x64-http') &&
    config.chainFor?.(mac, firmware) === 'signed';
  if (signed && firmware === 'uefi-x64' && config.mode === 'proxy' && config.signedHttpBootFile) {
    // Debian's GRUB 2.06 takes its TFTP server from the firmware's DHCPACK (the site server's), never from
    // our proxy offer, and stops at `grub>` (docs/secure-boot.md, lab). Left unanswered, the firmware goes on
    // to UEFI HTTP boot, whose signed chain (a RAM-disk image) configures GRUB's network itself.
    return {
      kind: 'refuse',
      code: 'signed-chain-http-boot',
      reason:
        'signed chain in proxy mode: not answered over PXE (its GRUB would ask the site DHCP server for files); ' +
        'waiting for the firmware to try UEFI HTTP boot',
      firmware,
      arch,
    };
  }
  const shim = config.signedBootFile ?? SIGNED_BOOT_FILE;
  const signedFile = firmware === 'uefi-x64-http' ? (config.signedHttpBootFile ?? shim) : shim;
  const file = signed ? signedFile : (override ?? fileFor(firmware, config));
  const needsUserFile = firmware === 'uefi-ia32' || firmware === 'uefi-arm64' || firmware.endsWith('-http');
  if (
    !file ||
    (needsUserFile && !override && !config.bootFiles?.[firmware] && firmware !== 'uefi-x64-http')
  ) {
    return {
      kind: 'refuse',
      code: 'no-boot-file',
      reason: `no boot file for ${firmwareLabel(firmware)} clients: add one in the boot-file settings`,
      firmware,
      arch,
    };
  }
  const menu = firmware === 'bios' && !override && config.pxeMenu?.items.length ? config.pxeMenu : undefined;
  // With a menu, each item's file is checked when it is chosen (decideBootItem).
  if (!menu && config.hasFile && !/^[a-z]+:\/\//i.test(file) && !config.hasFile(file)) {
    return {
      kind: 'refuse',
      code: 'boot-file-missing',
      reason: signed
        ? `boot file ${file} for ${firmwareLabel(firmware)} is missing: the signed chain for Secure Boot ` +
          'needs shimx64.efi and grubx64.efi (npm run bootfiles, docs/secure-boot.md)'
        : `boot file ${file} for ${firmwareLabel(firmware)} is missing`,
      firmware,
      arch,
    };
  }
  if (signed && file === shim && config.hasFile) {
    const second = `${file.replace(/[^/]*$/, '')}${SIGNED_SECOND_STAGE}`;
    if (!config.hasFile(second)) {
      return {
        kind: 'refuse',
        code: 'boot-file-missing',
        reason: `${second} is missing: shim loads it from beside ${file} (npm run bootfiles, docs/secure-boot.md)`,
        firmware,
        arch,
      };
    }
  }
  const chain = signed ? ({ chain: 'signed' } as const) : {};
  if (isHttpArch) {
    // UEFI HTTP boot takes an absolute URI (EDK2 HttpBootDxe resolves no relative path, and without a DNS
    // option a host name fails) and needs 60 = HTTPClient in the offer (UEFI specification, HTTP Boot).
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
      ...chain,
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
    ...chain,
    ...(menu ? { menu } : {}),
  };
}

/**
 * The answer to a boot-server REQUEST on 4011 that names item {type, layer} (PXE 2.1 §2.2.5, option 43.71):
 * the chosen menu item's file, or without a menu the default file for the one implicit item (type 0x8000,
 * dnsmasq's first service number, or 0x8001 as in test-catalogue P9). BIS
 * (layer bit 15) and unknown types are refused with a reason (test-catalogue P10/P11). The file for a layer is
 * `basename.<layer>` unless it already has an extension (as dnsmasq does, its CHANGELOG 2.76; docs/protocol-notes.md §3).
 */
export function decideBootItem(
  req: BootRequest,
  config: BootConfig,
  itemType: number,
  layer: number,
): BootPlan {
  const plan = decideBoot(req, config);
  if (plan.kind === 'refuse') return plan;
  const refuse = (code: RefusalCode, reason: string): BootPlan => ({
    kind: 'refuse',
    code,
    reason,
    firmware: plan.firmware,
    arch: plan.arch,
  });
  if (layer & 0x8000)
    return refuse('bis-unsupported', 'client requested PXE BIS credentials, which are not supported');
  if (itemType === 0)
    return refuse('local-boot', 'client chose local boot (PXE boot server type 0): nothing to send');
  let file = plan.bootFile;
  const items = plan.menu?.items;
  if (items) {
    const index = itemType - 0x8000;
    const item = items[index];
    if (!item || item.local) return refuse('unknown-menu-item', `unknown PXE boot server type ${itemType}`);
    file = item.bootFile ?? plan.bootFile;
    if (config.hasFile && !/^[a-z]+:\/\//i.test(file) && !config.hasFile(file)) {
      return refuse('boot-file-missing', `boot file ${file} of menu item "${item.label}" is missing`);
    }
  } else if (itemType !== 0x8000 && itemType !== 0x8001) {
    return refuse('unknown-menu-item', `unknown PXE boot server type ${itemType}`);
  }
  if (!/\.[^/]*$/.test(file)) file = `${file}.${layer}`;
  return { ...plan, bootFile: file };
}
