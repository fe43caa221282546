/**
 * SessionConfig validation with fix-it messages. Pure: the caller passes the NIC list and a
 * "does this folder exist" probe, so every error case is unit-testable without a network.
 */
import { pxeMenuProblems } from '../engines/dhcp/pxe-menu.js';
import { isSecureBootMode, SECURE_BOOT_MODES } from '../shared/secure-boot.js';
import type { NicInfo, SessionConfig, SessionError } from '../shared/session-types.js';

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export function parseIpv4(text: string): number | undefined {
  const m = IPV4.exec(text.trim());
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((s) => (value >>> s) & 255).join('.');
}

/** Accepts "/24", "24" or a dotted mask ("255.255.240.0"); returns the prefix length. */
export function parsePrefix(text: string): number | undefined {
  const t = text.trim().replace(/^\//, '');
  if (/^\d{1,2}$/.test(t)) {
    const n = Number(t);
    return n >= 0 && n <= 32 ? n : undefined;
  }
  const mask = parseIpv4(t);
  if (mask === undefined) return undefined;
  const inverted = ~mask >>> 0;
  // A netmask is contiguous ones: its complement + 1 is a power of two.
  if ((inverted & (inverted + 1)) !== 0) return undefined;
  return 32 - Math.log2(inverted + 1);
}

export function maskOf(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

export function sameSubnet(a: number, b: number, prefixLength: number): boolean {
  const mask = maskOf(prefixLength);
  return (a & mask) >>> 0 === (b & mask) >>> 0;
}

/** Lower-case colon form; accepts `-`, `.` or no separators. Undefined when not a MAC. */
export function normalizeMac(text: string): string | undefined {
  const hex = text.trim().toLowerCase().replace(/[-:.]/g, '');
  if (!/^[0-9a-f]{12}$/.test(hex)) return undefined;
  const mac = hex.match(/../g)!.join(':');
  return MAC.test(mac) ? mac : undefined;
}

/**
 * Raw option 43 given as hex bytes ("06:01:08:ff", "06 01 08 ff" or "060108ff"). For a PXEClient reply
 * option 43 holds encapsulated PXE sub-options (PXE 2.1 §2.4, RFC 2132 §8.4): code, length, value …,
 * optional 255 end. Anything else (proxyDHCPd's default text "proxyDHCPd") is refused, because ROMs
 * parse it as sub-options and misread the offer. Throws ConfigError; returns the bytes.
 */
export function parseVendorOptions(text: string): Uint8Array {
  const hex = text
    .trim()
    .replace(/^0x/i, '')
    .replace(/[\s:.-]/g, '');
  const fix =
    'give PXE sub-options as hex bytes, e.g. "06:01:08:ff" (discovery control: boot the file at once), or leave it out';
  if (!/^([0-9a-f]{2})+$/i.test(hex))
    fail('bad-vendor-options', `Option 43 "${text}" is not hex bytes: ${fix}.`);
  const bytes = Buffer.from(hex, 'hex');
  if (bytes.length > 255) fail('bad-vendor-options', `Option 43 is ${bytes.length} bytes: at most 255 fit.`);
  let p = 0;
  while (p < bytes.length) {
    const code = bytes[p]!;
    if (code === 0) {
      p++;
      continue;
    }
    if (code === 255) {
      if (bytes.subarray(p + 1).some((b) => b !== 0))
        fail('bad-vendor-options', `Option 43 has bytes after its end marker (ff) at byte ${p}: ${fix}.`);
      break;
    }
    const len = bytes[p + 1];
    if (len === undefined || p + 2 + len > bytes.length)
      fail(
        'bad-vendor-options',
        `Option 43 sub-option ${code} at byte ${p} runs past the end (code, length, value…): ${fix}.`,
      );
    p += 2 + len;
  }
  return new Uint8Array(bytes);
}

/** iPXE chain target: an http/https/tftp URL, or a file name relative to the netboot folder. */
export function checkChainloadUrl(text: string): void {
  const t = text.trim();
  const fix = 'use a URL such as http://10.0.0.1/menu.ipxe or a file name in the netboot folder';
  if (!t || /\s/.test(t) || t.length > 255)
    fail('bad-chainload-url', `Chainload target "${text}" is not usable: ${fix}.`);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(t)?.[1]?.toLowerCase();
  if (scheme !== undefined && !['http', 'https', 'tftp'].includes(scheme))
    fail('bad-chainload-url', `Chainload URL scheme "${scheme}" is not fetched by iPXE: ${fix}.`);
  if (scheme === undefined && (t.startsWith('/') || t.split(/[\\/]/).includes('..')))
    fail('bad-chainload-url', `Chainload file "${text}" leaves the netboot folder: ${fix}.`);
}

export interface ValidationContext {
  readonly interfaces: readonly NicInfo[];
  readonly folderExists: (path: string) => boolean;
}

export interface ValidatedConfig {
  readonly config: SessionConfig;
  /** Our IPv4 address (from iface or `address`). */
  readonly address: string;
  readonly prefixLength?: number;
  readonly nic?: NicInfo;
  readonly warnings: readonly string[];
}

export class ConfigError extends Error implements SessionError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

function fail(code: string, message: string): never {
  throw new ConfigError(code, message);
}

/** Throws ConfigError (code + plain-language message saying what to change) or returns the resolved config. */
export function validateConfig(config: SessionConfig, ctx: ValidationContext): ValidatedConfig {
  const warnings: string[] = [];
  if (!['proxy', 'dhcp', 'files'].includes(config.mode))
    fail('bad-mode', `Unknown mode "${String(config.mode)}": use proxy, dhcp or files.`);
  if (!config.root) fail('root-missing', 'No netboot folder given: choose a folder to serve (--root DIR).');
  if (!ctx.folderExists(config.root))
    fail(
      'root-missing',
      `The netboot folder ${config.root} does not exist: create it or choose another one.`,
    );

  let nic: NicInfo | undefined;
  if (config.iface !== undefined) {
    nic = ctx.interfaces.find((n) => n.name === config.iface);
    if (!nic) {
      const names = ctx.interfaces.map((n) => n.name).join(', ');
      fail(
        'iface-missing',
        `Network interface "${config.iface}" not found: pick one of ${names || '(none)'}.`,
      );
    }
    if (!nic.up)
      fail(
        'iface-down',
        `Interface ${nic.name} is down: plug in the cable or bring the link up, then start again.`,
      );
    if (nic.type === 'wireless')
      fail(
        'iface-wireless',
        `Interface ${nic.name} is Wi-Fi: PXE firmware only boots over a cable, choose a wired interface.`,
      );
    if (!nic.ipv4)
      fail(
        'iface-no-ipv4',
        `Interface ${nic.name} has no IPv4 address: give it a static address (e.g. 10.0.0.1/24).`,
      );
  } else if (config.mode !== 'files') {
    fail(
      'iface-required',
      `${config.mode === 'dhcp' ? 'DHCP' : 'Proxy'} mode needs an interface: choose the NIC the clients are cabled to (--iface NAME). PXE Desk never picks one itself.`,
    );
  }

  let address = config.address ?? nic?.ipv4?.address;
  if (address === undefined)
    fail('address-required', 'Files mode without an interface needs an address to listen on (--address IP).');
  if (parseIpv4(address) === undefined)
    fail(
      'bad-address',
      `"${address}" is not an IPv4 address: give this machine's address, e.g. --address 10.0.0.1.`,
    );
  address = address.trim();
  if (nic?.ipv4 && config.address !== undefined && config.address !== nic.ipv4.address)
    warnings.push(`--address ${config.address} differs from ${nic.name}'s address ${nic.ipv4.address}.`);

  for (const [list, label] of [
    [config.allow, 'allow'],
    [config.deny, 'deny'],
  ] as const) {
    for (const mac of list ?? [])
      if (!normalizeMac(mac))
        fail('bad-mac', `"${mac}" in the ${label} list is not a MAC address (aa:bb:cc:dd:ee:ff).`);
  }

  if (config.fileServer !== undefined && parseIpv4(config.fileServer) === undefined)
    fail(
      'bad-file-server',
      `File server "${config.fileServer}" is not an IPv4 address: give the address clients fetch files from (-f 10.0.0.5).`,
    );
  if (config.chainloadUrl !== undefined) checkChainloadUrl(config.chainloadUrl);
  if (config.vendorOptions !== undefined) {
    if (config.mode !== 'proxy')
      fail(
        'bad-vendor-options',
        'Raw option 43 (vendor_specific_information) is only sent in proxy mode: use --mode proxy or drop it.',
      );
    parseVendorOptions(config.vendorOptions);
  }

  const ports = config.ports ?? {};
  const used = new Map<number, string>();
  for (const [role, port] of Object.entries(ports)) {
    if (port === undefined) continue;
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      fail('bad-port', `The ${role} port ${String(port)} is not a port number (1-65535).`);
    if (port === 0) continue;
    // TFTP/DHCP are UDP and HTTP is TCP, but tftp/http sharing a number still confuses users; only UDP roles clash.
    if (role === 'http') continue;
    const other = used.get(port);
    if (other)
      fail(
        'port-conflict',
        `The ${role} and ${other} ports are both ${port}: give each service its own port.`,
      );
    used.set(port, role);
  }

  let prefixLength = nic?.ipv4?.prefixLength;
  if (config.mode === 'dhcp') {
    const pool = config.dhcp;
    if (!pool) fail('range-missing', 'DHCP mode needs an address range (--range 10.0.0.100-10.0.0.200).');
    const start = parseIpv4(pool.rangeStart);
    const end = parseIpv4(pool.rangeEnd);
    if (start === undefined || end === undefined)
      fail('bad-range', `The range ${pool.rangeStart}-${pool.rangeEnd} is not two IPv4 addresses.`);
    if (start > end)
      fail('range-reversed', `The range starts after it ends: swap ${pool.rangeStart} and ${pool.rangeEnd}.`);
    if (!Number.isInteger(pool.prefixLength) || pool.prefixLength < 1 || pool.prefixLength > 30)
      fail('bad-subnet', `Subnet prefix /${pool.prefixLength} is not usable for DHCP (use /8 to /30).`);
    prefixLength = pool.prefixLength;
    const self = parseIpv4(address)!;
    const nicPrefix = nic?.ipv4?.prefixLength ?? pool.prefixLength;
    if (!sameSubnet(start, self, nicPrefix) || !sameSubnet(end, self, nicPrefix))
      fail(
        'range-outside-subnet',
        `The range ${pool.rangeStart}-${pool.rangeEnd} is outside ${nic?.name ?? 'the interface'}'s subnet ${formatIpv4((self & maskOf(nicPrefix)) >>> 0)}/${nicPrefix}: choose addresses in that subnet.`,
      );
    if (self >= start && self <= end)
      fail(
        'range-contains-server',
        `The range includes this machine's own address ${address}: start or end the range elsewhere.`,
      );
    if (pool.router !== undefined && parseIpv4(pool.router) === undefined)
      fail(
        'bad-router',
        `Router "${pool.router}" is not an IPv4 address: give one such as --router 10.0.0.1, or leave it out.`,
      );
    for (const dns of pool.dns ?? [])
      if (parseIpv4(dns) === undefined)
        fail(
          'bad-dns',
          `DNS server "${dns}" is not an IPv4 address: give one such as --dns 10.0.0.1, or leave it out.`,
        );
    if (
      pool.leaseTimeSeconds !== undefined &&
      (!Number.isInteger(pool.leaseTimeSeconds) || pool.leaseTimeSeconds < 60)
    )
      fail('bad-lease-time', `Lease time ${pool.leaseTimeSeconds} s is too short: use at least 60 seconds.`);
    for (const lease of pool.staticLeases ?? []) {
      if (!normalizeMac(lease.mac))
        fail('bad-mac', `Static lease "${lease.mac}" is not a MAC address: write it as aa:bb:cc:dd:ee:ff.`);
      const ip = parseIpv4(lease.ip);
      if (ip === undefined || !sameSubnet(ip, self, nicPrefix))
        fail(
          'bad-static-lease',
          `Static lease ${lease.mac} → ${lease.ip} is not an address in the served subnet ${formatIpv4((self & maskOf(nicPrefix)) >>> 0)}/${nicPrefix}: give it one inside.`,
        );
    }
  }
  if (config.secureBoot !== undefined && !isSecureBootMode(config.secureBoot))
    fail(
      'bad-secure-boot',
      `Secure Boot setting "${String(config.secureBoot)}" is not one of ${SECURE_BOOT_MODES.join(', ')}: use auto (machines that refuse iPXE get the signed chain), on (every UEFI PC gets it) or off (never) — --secure-boot auto, or "secureBoot": "auto" in the config file.`,
    );
  // With Secure Boot 'on' every UEFI x64 client gets the signed chain, so an own UEFI x64 boot file is never
  // served (boot-decision.ts); under 'auto' it is served until a client's firmware refuses it.
  const ownUefi = (['uefi-x64', 'uefi-x64-http'] as const).find((fw) => config.bootFiles?.[fw]);
  if (ownUefi && config.mode !== 'files' && config.secureBoot === 'on')
    warnings.push(
      `--boot-file ${ownUefi}=${config.bootFiles![ownUefi]!} is not served: Secure Boot setting on gives every UEFI x64 PC the signed chain (shim → GRUB); use --secure-boot auto to serve it to PCs that run it.`,
    );
  if (config.pxeMenu) {
    const problems = pxeMenuProblems(config.pxeMenu);
    if (problems.length > 0) fail('bad-pxe-menu', `${problems.join('; ')}.`);
  }
  return prefixLength === undefined
    ? { config, address, nic, warnings }
    : { config, address, prefixLength, nic, warnings };
}
