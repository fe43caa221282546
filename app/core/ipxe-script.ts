/**
 * Generated iPXE scripts (`/boot.ipxe?mac=..&arch=..`). Pure: library entries + client in, text out.
 * URLs are absolute and always carry the port: in proxy mode `${next-server}` is the site's DHCP
 * server, not us, and UEFI firmware drops the port from Host (docs/protocol-notes.md §7, §8).
 */
import type { NetbootLibrary } from './netboot-library.js';
import type { BootArch, LibraryEntry, LibraryMetadata } from '../shared/library-types.js';

export interface BootScriptClient {
  /** Lower-case colon MAC, already validated (see parseScriptQuery). */
  readonly mac?: string;
  readonly arch: BootArch;
}

export interface BootScriptOptions {
  /** e.g. `http://10.0.0.1:8080` (no trailing slash; port required). */
  readonly baseUrl: string;
  readonly entries: readonly LibraryEntry[];
  readonly metadata?: LibraryMetadata;
  readonly client: BootScriptClient;
  /** Menu timeout in seconds when metadata has none (default 10). */
  readonly timeoutSeconds?: number;
}

const MAC_RE = /^[0-9a-f]{2}([:-]?[0-9a-f]{2}){5}$/i;
const ARCH_MAP: Record<string, BootArch> = {
  bios: 'bios',
  pcbios: 'bios',
  'uefi-x64': 'uefi-x64',
  'uefi-x64-http': 'uefi-x64',
  x86_64: 'uefi-x64',
  efi64: 'uefi-x64',
  'uefi-ia32': 'uefi-ia32',
  'uefi-ia32-http': 'uefi-ia32',
  i386: 'uefi-ia32',
  efi32: 'uefi-ia32',
  'uefi-arm64': 'uefi-arm64',
  'uefi-arm64-http': 'uefi-arm64',
  arm64: 'uefi-arm64',
};

/**
 * Strict query validation: MAC must be 12 hex digits (optionally : or - separated), arch one of a
 * fixed list. Anything else is rejected (undefined) rather than cleaned, so nothing a client sends
 * can reach the script text.
 */
export function parseScriptQuery(query: URLSearchParams): BootScriptClient | undefined {
  const macRaw = query.get('mac');
  const archRaw = query.get('arch') ?? 'bios';
  let mac: string | undefined;
  if (macRaw !== null && macRaw !== '') {
    if (!MAC_RE.test(macRaw)) return undefined;
    const hex = macRaw.replace(/[:-]/g, '').toLowerCase();
    mac = hex.match(/../g)?.join(':');
  }
  if (!/^[a-z0-9_-]{1,20}$/i.test(archRaw)) return undefined;
  const arch = ARCH_MAP[archRaw.toLowerCase()];
  if (!arch) return undefined;
  return mac ? { mac, arch } : { arch };
}

/** Path segments percent-encoded for a URL; iPXE handles plain ASCII best. */
function urlFor(base: string, rel: string): string {
  return `${base}/${rel.split('/').map(encodeURIComponent).join('/')}`;
}

/** iPXE menu/item text: keep printable ASCII, no characters iPXE's parser treats specially. */
function label(text: string): string {
  return text
    .replace(/[^\x20-\x7e]/g, '?')
    .replace(/[${}\\]/g, '_')
    .slice(0, 70);
}

/** Kernel command lines come from the user; still strip what would break the line. */
function cmdline(text: string): string {
  return text.replace(/[\r\n\0]/g, ' ').replace(/\$\{/g, '$ {');
}

function entryIsCompatible(e: LibraryEntry, arch: BootArch): boolean {
  // A netboot tree's shim/GRUB cannot fetch their next stage when chained over HTTP (library-entries.ts).
  if (e.secondary === 'hidden') return false;
  if (e.kind === 'ipxe-script') return true;
  return e.arch.includes(arch);
}

/** Lines that boot one entry (without the menu). */
export function bootLines(e: LibraryEntry, base: string, arch: BootArch): string[] {
  switch (e.kind) {
    case 'linux': {
      const lines: string[] = [];
      const initrdName = e.initrd ? (e.initrd.split('/').pop() ?? 'initrd') : undefined;
      // UEFI: the EFI stub finds the initrd by name on the command line (`initrd=<name>`), docs/protocol-notes.md §7.
      const parts = [`kernel ${urlFor(base, e.path)}`];
      if (initrdName && arch !== 'bios') parts.push(`initrd=${initrdName}`);
      if (e.cmdline) parts.push(cmdline(e.cmdline));
      lines.push(parts.join(' '));
      if (e.initrd) lines.push(`initrd ${urlFor(base, e.initrd)}`);
      lines.push('boot');
      return lines;
    }
    case 'efi':
    case 'nbp':
    case 'memtest': // iPXE starts memtest86+'s Linux-header image and its EFI build alike; no initrd
      return [`chain ${urlFor(base, e.path)}`];
    case 'ipxe-script':
      return [`chain ${urlFor(base, e.path)}`];
    case 'iso':
    case 'disk':
      return [
        // sanboot reads the image with ranged GETs (the server answers Accept-Ranges: bytes).
        'echo Note: many Linux ISOs cannot boot via sanboot; add the kernel and initrd instead.',
        `sanboot --no-describe ${urlFor(base, e.path)}`,
      ];
    case 'wim':
      return [
        'echo WIM images need wimboot and a Windows PE kernel; not booted directly.',
        'prompt',
        'goto menu',
      ];
  }
}

/** Builds the whole `#!ipxe` script for one client. */
export function generateBootScript(opts: BootScriptOptions): string {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const { arch, mac } = opts.client;
  const meta = opts.metadata;
  const compatible = opts.entries.filter((e) => entryIsCompatible(e, arch));
  const out = ['#!ipxe', `# PXE Desk menu for ${mac ?? 'unknown MAC'} (${arch})`];
  const override = mac ? meta?.perMac[mac] : undefined;
  const forced = override ? compatible.find((e) => e.id === override.entry) : undefined;
  if (forced) {
    out.push(`echo PXE Desk: booting ${label(forced.title)}${override?.once ? ' (once)' : ''}`);
    out.push(...bootLines(forced, base, arch));
    return `${out.join('\n')}\n`;
  }
  if (compatible.length === 0) {
    out.push(
      `echo PXE Desk: no bootable entries for this machine (${arch}).`,
      'echo Add a kernel + initrd, an ISO or an EFI application to the netboot folder;',
      'echo the menu updates by itself. Retrying in 10 seconds.',
      'sleep 10',
      `chain ${base}/boot.ipxe?mac=${mac ?? ''}&arch=${arch} || exit`,
    );
    return `${out.join('\n')}\n`;
  }
  // One bootable entry and no menu timeout chosen by the user: boot it at once, as dnsmasq or pixiecore
  // would; a one-line menu only costs every machine its countdown (measured in the lab: ~6 s per BIOS
  // boot). iPXE's own Ctrl-B prompt still reaches the shell.
  const only = compatible.length === 1 ? compatible[0] : undefined;
  if (only && meta?.timeoutSeconds === undefined && opts.timeoutSeconds === undefined) {
    out.push(`echo PXE Desk: booting ${label(only.title)} (the only entry)`);
    out.push(...bootLines(only, base, arch));
    return `${out.join('\n')}\n`;
  }
  const timeout = meta?.timeoutSeconds ?? opts.timeoutSeconds ?? 10;
  const def = compatible.find((e) => e.id === meta?.defaultEntry) ?? compatible[0];
  const defIndex = compatible.indexOf(def as LibraryEntry);
  out.push(':menu', 'menu PXE Desk');
  compatible.forEach((e, i) => out.push(`item e${i} ${label(e.title)}`));
  out.push('item --gap', 'item shell iPXE shell', 'item exit Exit (boot next device)');
  out.push(`choose --default e${defIndex} --timeout ${timeout * 1000} target || goto exit`, 'goto ${target}');
  compatible.forEach((e, i) => {
    out.push('', `:e${i}`, ...bootLines(e, base, arch), 'goto menu');
  });
  out.push('', ':shell', 'shell', 'goto menu', '', ':exit', 'exit');
  return `${out.join('\n')}\n`;
}

export interface ScriptHandlerOptions {
  /** Returns the base URL for the server the client reached, e.g. `http://10.0.0.1:8080`. */
  readonly baseUrl: string | ((clientIp: string) => string);
  readonly scriptPath?: string;
  readonly timeoutSeconds?: number;
  /** Called after a boot-once override was served (the handler clears it). */
  readonly onBootOnce?: (mac: string, entry: string) => void;
}

/**
 * The HttpBootServer `scripts` hook: serves `boot.ipxe` from the library. An invalid query gets a
 * script that says so instead of a menu (never echoes the bad input).
 */
export function createScriptHandler(
  library: NetbootLibrary,
  options: ScriptHandlerOptions,
): (path: string, query: URLSearchParams, clientIp: string) => Promise<string | undefined> {
  const scriptPath = options.scriptPath ?? 'boot.ipxe';
  return async (p, query, clientIp) => {
    if (p !== scriptPath) return undefined;
    const client = parseScriptQuery(query);
    if (!client)
      return '#!ipxe\necho PXE Desk: invalid mac/arch parameters in the boot URL.\nsleep 10\nexit\n';
    const base = typeof options.baseUrl === 'function' ? options.baseUrl(clientIp) : options.baseUrl;
    const metadata = library.metadata();
    const script = generateBootScript({
      baseUrl: base,
      entries: library.entries(),
      metadata,
      client,
      ...(options.timeoutSeconds !== undefined ? { timeoutSeconds: options.timeoutSeconds } : {}),
    });
    const ov = client.mac ? metadata.perMac[client.mac] : undefined;
    if (client.mac && ov?.once && library.entries().some((e) => e.id === ov.entry)) {
      await library.setMacOverride(client.mac, undefined);
      options.onBootOnce?.(client.mac, ov.entry);
    }
    return script;
  };
}
