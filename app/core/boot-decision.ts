/**
 * The boot decision (DESIGN.md "Boot decision"): a pure function from what the client sent and the
 * session config to a reply plan, or a refusal with a plain-language reason.
 */
import type { FirmwareKind } from '../shared/events.js';
import type { PxeMenuConfig, PxeMenuItem } from '../shared/session-types.js';

export type PxeMenu = PxeMenuConfig;
export type { PxeMenuItem };

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
  /** User classes that mean iPXE (exact match by default: docs/protocol-notes.md §4, test-catalogue I5). Default ['iPXE']. */
  readonly ipxeUserClasses?: readonly string[];
  /**
   * A PXE boot menu (option 43 sub-options 8/9/10) for BIOS PXE ROMs. Without one, BIOS firmware is told
   * to boot the `file` field at once (43 = 06 01 08 FF), as before. UEFI firmware never gets a menu (its
   * menu code is "badly broken", DNSMASQ `pxe_uefi_workaround`, protocol.md Q2) and iPXE gets its script.
   */
  readonly pxeMenu?: PxeMenu;
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
      /**
       * Offer this menu instead of a file (BIOS PXE ROM, menu configured, no per-MAC override). The ROM
       * then asks for the chosen item on 4011 (decideBootItem).
       */
      readonly menu?: PxeMenu;
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

/**
 * Per-config values derived once (the engines call decideBoot for every DISCOVER, up to tens of
 * thousands per second): normalised allow/deny sets and the base URL. Keyed by the config object, so a
 * new config (the engines build theirs once) gets fresh values; decideBoot stays a pure function.
 */
interface Derived {
  readonly allow: ReadonlySet<string> | undefined;
  readonly deny: ReadonlySet<string>;
  readonly base: string;
}
const derivedCache = new WeakMap<BootConfig, Derived>();
function derived(config: BootConfig): Derived {
  let d = derivedCache.get(config);
  if (!d) {
    d = {
      allow: config.allow && config.allow.length > 0 ? new Set(config.allow.map(norm)) : undefined,
      deny: new Set((config.deny ?? []).map(norm)),
      base: config.httpBaseUrl.replace(/\/+$/, ''),
    };
    derivedCache.set(config, d);
  }
  return d;
}

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
  const d = derived(config);
  if (d.deny.has(mac)) return { kind: 'refuse', reason: `${mac} is on the deny list` };
  if (d.allow && !d.allow.has(mac)) {
    return { kind: 'refuse', reason: `${mac} is not on the allow list` };
  }
  const blocked = config.isBlocked?.(mac);
  if (blocked) return { kind: 'refuse', reason: blocked };
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
  const base = d.base;
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
  const menu = firmware === 'bios' && !override && config.pxeMenu?.items.length ? config.pxeMenu : undefined;
  // With a menu, each item's file is checked when it is chosen (decideBootItem).
  if (!menu && config.hasFile && !/^[a-z]+:\/\//i.test(file) && !config.hasFile(file)) {
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
    ...(menu ? { menu } : {}),
  };
}

/**
 * PXE boot server type of menu item `index`: 0 = local boot, else the vendor range from 0x8000 as dnsmasq
 * numbers its services (PXE 2.1 §2.2.1), so both servers put the same bytes on the wire for the same menu.
 */
export function menuItemType(menu: PxeMenu | undefined, index: number): number {
  return menu?.items[index]?.local ? 0 : 0x8000 + index;
}

/**
 * The answer to a boot-server REQUEST on 4011 that names item {type, layer} (PXE 2.1 §2.2.5, option 43.71):
 * the chosen menu item's file, or without a menu the default file for the one implicit item (type 0x8000,
 * dnsmasq's first service number, or 0x8001 as in test-catalogue P9). BIS
 * (layer bit 15) and unknown types are refused with a reason (test-catalogue P10/P11). The file for a layer is
 * `basename.<layer>` unless it already has an extension (DNSMASQ, CHANGELOG 2.76; catalogue P9).
 */
export function decideBootItem(
  req: BootRequest,
  config: BootConfig,
  itemType: number,
  layer: number,
): BootPlan {
  const plan = decideBoot(req, config);
  if (plan.kind === 'refuse') return plan;
  const refuse = (reason: string): BootPlan => ({
    kind: 'refuse',
    reason,
    firmware: plan.firmware,
    arch: plan.arch,
  });
  if (layer & 0x8000) return refuse('client requested PXE BIS credentials, which are not supported');
  if (itemType === 0) return refuse('client chose local boot (PXE boot server type 0): nothing to send');
  let file = plan.bootFile;
  const items = plan.menu?.items;
  if (items) {
    const index = itemType - 0x8000;
    const item = items[index];
    if (!item || item.local) return refuse(`unknown PXE boot server type ${itemType}`);
    file = item.bootFile ?? plan.bootFile;
    if (config.hasFile && !/^[a-z]+:\/\//i.test(file) && !config.hasFile(file)) {
      return refuse(`boot file ${file} of menu item "${item.label}" is missing`);
    }
  } else if (itemType !== 0x8000 && itemType !== 0x8001) {
    return refuse(`unknown PXE boot server type ${itemType}`);
  }
  if (!/\.[^/]*$/.test(file)) file = `${file}.${layer}`;
  return { ...plan, bootFile: file };
}

/** Largest option 43 payload: one option, no RFC 3396 split (DNSMASQ refuses more; protocol.md §0.1). */
const MAX_OPTION_43 = 255;

/**
 * Problems with a menu, in words a user can act on (empty when fine). Used by config validation so a
 * menu that cannot be sent is refused before a session starts (test-catalogue P14).
 */
export function pxeMenuProblems(menu: PxeMenu): string[] {
  const out: string[] = [];
  if (!Array.isArray(menu.items) || menu.items.length === 0) out.push('PXE menu: add at least one item');
  menu.items.forEach((item, i) => {
    const n = Buffer.byteLength(item.label ?? '', 'latin1');
    if (n === 0 || n > 250)
      out.push(`PXE menu item ${i + 1}: the label must be 1-250 characters (it has ${n})`);
    if (/[^\x20-\x7e\xa0-\xff]/.test(item.label ?? '')) {
      out.push(`PXE menu item ${i + 1}: the label may hold printable Latin-1 characters only`);
    }
    if (item.local && item.bootFile) out.push(`PXE menu item ${i + 1}: a local-boot item has no boot file`);
  });
  const prompt = menu.prompt ?? 'PXE';
  if (Buffer.byteLength(prompt, 'latin1') > 200)
    out.push('PXE menu: the prompt must be at most 200 characters');
  const t = menu.timeoutSeconds;
  if (t !== undefined && (!Number.isInteger(t) || t < 0 || t > 255)) {
    out.push('PXE menu: the timeout must be a whole number of seconds from 0 to 255');
  }
  if (out.length === 0) {
    const fits = encodePxeMenu(menu, '0.0.0.0').items;
    if (fits < menu.items.length) {
      out.push(
        `PXE menu: only ${fits} of ${menu.items.length} items fit in option 43 (255 bytes): shorten the labels or the prompt`,
      );
    }
  }
  return out;
}

/**
 * Option 43 for a menu offer (PXE 2.1 Table 2-1; the layout dnsmasq's `pxe_opts` sends): 6 = 3 (no broadcast or
 * multicast discovery: ask the servers in 8), 8 = {type, 1, bootServer} per network item, 9 = the items,
 * 10 = {timeout, prompt}, 255. Items that would push the option past 255 bytes, or past `budget` (what the
 * client's reply size leaves), are left out (test-catalogue D29); `items` says how many fit. Pure: callers log.
 */
export function encodePxeMenu(
  menu: PxeMenu,
  bootServer: string,
  budget = MAX_OPTION_43,
): { value: Buffer; items: number } {
  const max = Math.min(MAX_OPTION_43, budget);
  const prompt = Buffer.from((menu.prompt ?? 'PXE').slice(0, 200), 'latin1');
  const server = bootServer.split('.').map((x) => Number(x) & 255);
  const fixed = 3 + 2 + 2 + 3 + prompt.length + 1; // 6, 8 and 9 headers, 10, END
  let kept = 0;
  let size = fixed;
  const servers: number[] = [];
  const entries: number[] = [];
  for (let i = 0; i < menu.items.length; i++) {
    const item = menu.items[i]!;
    const label = Buffer.from(item.label.slice(0, 250), 'latin1');
    const type = menuItemType(menu, i);
    const add = 3 + label.length + (type === 0 ? 0 : 7);
    if (size + add > max) break;
    size += add;
    kept++;
    entries.push(type >> 8, type & 255, label.length, ...label);
    if (type !== 0) servers.push(type >> 8, type & 255, 1, ...server);
  }
  const timeout = menu.timeoutSeconds ?? (kept > 1 ? 255 : 0);
  const parts = [6, 1, 3];
  if (servers.length > 0) parts.push(8, servers.length, ...servers);
  parts.push(9, entries.length, ...entries, 10, 1 + prompt.length, timeout, ...prompt, 255);
  return { value: Buffer.from(parts), items: kept };
}
