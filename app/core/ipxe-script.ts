/**
 * Generated iPXE scripts (`/boot.ipxe?mac=..&arch=..`). Pure: library entries + client in, text out.
 * URLs are absolute and always carry the port: in proxy mode `${next-server}` is the site's DHCP
 * server, not us, and UEFI firmware drops the port from Host (docs/protocol-notes.md §7, §8).
 */
import type { NetbootLibrary } from './netboot-library.js';
import { entriesFor, isoFirmwareOf } from './iso-boot/firmware.js';
import { cmdline, Failures, isoBootLines, label, subTitle, urlFor } from './ipxe-lines.js';
import type { IsoBootEntry } from '../shared/iso-boot-types.js';
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

function entryIsCompatible(e: LibraryEntry, arch: BootArch): boolean {
  // A netboot tree's shim/GRUB cannot fetch their next stage when chained over HTTP (library-entries.ts).
  if (e.secondary === 'hidden') return false;
  if (e.kind === 'ipxe-script') return true;
  if (!e.arch.includes(arch)) return false;
  // An analysed ISO is offered only where it has a route for this firmware (a BIOS-only ISO never to UEFI).
  return e.iso ? entriesFor(e.iso, isoFirmwareOf(arch)).length > 0 : true;
}

/** Where a failing line of an entry falls back to, and what the message calls it. */
interface LineContext {
  readonly failures: Failures;
  readonly metadata?: LibraryMetadata;
}

/**
 * Lines that boot one entry (without the menu). Every boot line (kernel, initrd, chain, sanboot, boot) jumps to
 * a block of `ctx.failures` when it fails, which says so and returns to the menu. An analysed ISO boots `sub`,
 * else its default entry for the client's firmware.
 */
export function bootLines(
  e: LibraryEntry,
  base: string,
  arch: BootArch,
  ctx: LineContext = { failures: new Failures() },
  sub?: IsoBootEntry,
): string[] {
  const fail = (reason: string): string => ctx.failures.on(e.title, reason);
  switch (e.kind) {
    case 'linux': {
      const lines: string[] = [];
      const initrdName = e.initrd ? (e.initrd.split('/').pop() ?? 'initrd') : undefined;
      // UEFI: the EFI stub finds the initrd by name on the command line (`initrd=<name>`), docs/protocol-notes.md §7.
      const parts = [`kernel ${urlFor(base, e.path)}`];
      if (initrdName && arch !== 'bios') parts.push(`initrd=${initrdName}`);
      if (e.cmdline) parts.push(cmdline(e.cmdline));
      lines.push(`${parts.join(' ')}${fail('kernel download')}`);
      if (e.initrd) lines.push(`initrd ${urlFor(base, e.initrd)}${fail('initrd download')}`);
      lines.push(`boot${fail('the kernel did not start')}`);
      return lines;
    }
    case 'memtest': {
      // iPXE starts memtest86+'s Linux-header image and its EFI build alike; no initrd. The user's command line
      // goes with it (memtest86+ reads e.g. `console=ttyS0,115200` to mirror its screen to a serial line).
      const args = e.cmdline ? ` ${cmdline(e.cmdline)}` : '';
      return [`chain ${urlFor(base, e.path)}${args}${fail(`chain ${e.path.split('/').pop() ?? ''}`)}`];
    }
    case 'efi':
    case 'nbp':
    case 'ipxe-script':
      return [`chain ${urlFor(base, e.path)}${fail(`chain ${e.path.split('/').pop() ?? ''}`)}`];
    case 'iso': {
      const fw = isoFirmwareOf(arch);
      const chosen = sub ?? (e.iso ? entriesFor(e.iso, fw)[0] : undefined);
      if (chosen) {
        return isoBootLines(chosen, {
          base,
          isoPath: e.path,
          entryId: e.id,
          fw,
          failures: ctx.failures,
          title: sub ? `${e.title}: ${subTitle(sub)}` : e.title,
          ...(ctx.metadata ? { metadata: ctx.metadata } : {}),
          // The analysis' RAM figure is the default entries'; another entry may differ.
          ...(e.iso?.ramBytes !== undefined && chosen.isDefault ? { ramBytes: e.iso.ramBytes } : {}),
        });
      }
      // Not analysed (yet): the El Torito image the library matched to this firmware, as a disk.
      return [
        'echo Note: this ISO has not been analysed yet; trying it as a disk (sanboot).',
        `sanboot --no-describe ${urlFor(base, e.path)}${fail('sanboot of the image')}`,
      ];
    }
    case 'disk':
      // sanboot reads the image with ranged GETs (the server answers Accept-Ranges: bytes).
      return [`sanboot --no-describe ${urlFor(base, e.path)}${fail('sanboot of the image')}`];
    case 'wim':
      return [
        'echo WIM images need wimboot and a Windows PE kernel; not booted directly.',
        'prompt',
        'goto menu',
      ];
  }
}

/** An ISO's entries for this firmware when it has more than its default (the "More options" submenu). */
function isoMore(e: LibraryEntry, arch: BootArch): IsoBootEntry[] {
  if (e.kind !== 'iso' || !e.iso) return [];
  const list = entriesFor(e.iso, isoFirmwareOf(arch));
  return list.length > 1 ? list : [];
}

/** A per-MAC override: an entry id, or `<entry id>#<IsoBootEntry id>` for one entry of an ISO. */
function findForced(
  compatible: readonly LibraryEntry[],
  wanted: string,
  arch: BootArch,
): { e: LibraryEntry; sub?: IsoBootEntry } | undefined {
  const whole = compatible.find((e) => e.id === wanted);
  if (whole) return { e: whole };
  const hash = wanted.lastIndexOf('#');
  if (hash < 0) return undefined;
  const e = compatible.find((x) => x.id === wanted.slice(0, hash) && x.iso);
  const sub = e?.iso
    ? entriesFor(e.iso, isoFirmwareOf(arch)).find((s) => s.id === wanted.slice(hash + 1))
    : undefined;
  return e && sub ? { e, sub } : undefined;
}

/** Builds the whole `#!ipxe` script for one client. */
export function generateBootScript(opts: BootScriptOptions): string {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const { arch, mac } = opts.client;
  const meta = opts.metadata;
  const compatible = opts.entries.filter((e) => entryIsCompatible(e, arch));
  const out = ['#!ipxe', `# PXE Desk menu for ${mac ?? 'unknown MAC'} (${arch})`];
  if (compatible.length === 0) {
    out.push(
      `echo PXE Desk: no bootable entries for this machine (${arch}).`,
      ...unbootableIsos(opts.entries, arch).map((t) => `echo ${t}`),
      'echo Add a kernel + initrd, an ISO or an EFI application to the netboot folder;',
      'echo the menu updates by itself. Retrying in 10 seconds.',
      'sleep 10',
      `chain ${base}/boot.ipxe?mac=${mac ?? ''}&arch=${arch} || exit`,
    );
    return `${out.join('\n')}\n`;
  }
  const failures = new Failures();
  const lineCtx: LineContext = { failures, ...(meta ? { metadata: meta } : {}) };
  const override = mac ? meta?.perMac[mac] : undefined;
  const forced = override ? findForced(compatible, override.entry, arch) : undefined;
  // One bootable entry and no menu timeout chosen by the user: boot it at once, as dnsmasq or pixiecore
  // would; a one-line menu only costs every machine its countdown (measured in the lab: ~6 s per BIOS
  // boot). iPXE's own Ctrl-B prompt still reaches the shell. Either way the menu follows: a boot line that
  // fails comes back to it.
  const only = compatible.length === 1 ? compatible[0] : undefined;
  if (forced) {
    const what = forced.sub ? `${forced.e.title}: ${subTitle(forced.sub)}` : forced.e.title;
    out.push(`echo PXE Desk: booting ${label(what)}${override?.once ? ' (once)' : ''}`);
    out.push(...bootLines(forced.e, base, arch, lineCtx, forced.sub), 'goto menu');
  } else if (only && meta?.timeoutSeconds === undefined && opts.timeoutSeconds === undefined) {
    out.push(`echo PXE Desk: booting ${label(only.title)} (the only entry)`);
    out.push(...bootLines(only, base, arch, lineCtx), 'goto menu');
  }
  const timeout = meta?.timeoutSeconds ?? opts.timeoutSeconds ?? 10;
  const def = compatible.find((e) => e.id === meta?.defaultEntry) ?? compatible[0];
  const defIndex = compatible.indexOf(def as LibraryEntry);
  out.push(':menu', 'menu PXE Desk');
  compatible.forEach((e, i) => {
    out.push(`item e${i} ${label(e.title)}`);
    if (isoMore(e, arch).length > 0) out.push(`item e${i}m More options: ${label(e.title)}...`);
  });
  for (const t of unbootableIsos(opts.entries, arch)) out.push(`item --gap ${t}`);
  out.push('item --gap', 'item shell iPXE shell', 'item exit Exit (boot next device)');
  out.push(`choose --default e${defIndex} --timeout ${timeout * 1000} target || goto exit`, 'goto ${target}');
  compatible.forEach((e, i) => {
    out.push('', `:e${i}`, ...bootLines(e, base, arch, lineCtx), 'goto menu');
    const more = isoMore(e, arch);
    if (more.length === 0) return;
    out.push('', `:e${i}m`, `menu ${label(e.title)}`);
    more.forEach((s, j) =>
      out.push(`item e${i}s${j} ${label(subTitle(s))}${s.isDefault ? ' (default)' : ''}`),
    );
    out.push('item --gap', 'item menu Back to the main menu');
    out.push(`choose --default e${i}s0 target || goto menu`, 'goto ${target}');
    more.forEach((s, j) => {
      out.push('', `:e${i}s${j}`, ...bootLines(e, base, arch, lineCtx, s), 'goto menu');
    });
  });
  out.push('', ':shell', 'shell', 'goto menu', '', ':exit', 'exit', ...failures.lines());
  return `${out.join('\n')}\n`;
}

/** Analysed ISOs that cannot boot on this firmware, as one line each: the technician sees why at the client. */
function unbootableIsos(entries: readonly LibraryEntry[], arch: BootArch): string[] {
  const fw = isoFirmwareOf(arch);
  return entries
    .filter(
      (e) => e.kind === 'iso' && e.iso && e.secondary !== 'hidden' && entriesFor(e.iso, fw).length === 0,
    )
    .map((e) => label(`${e.title}: not bootable over the network on ${fw === 'bios' ? 'BIOS' : 'UEFI'}`));
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
    // `<ISO id>#<entry id>` names one entry of an ISO: the ISO must still be there.
    const target =
      ov && !library.entries().some((e) => e.id === ov.entry) ? ov.entry.replace(/#[^#]*$/, '') : ov?.entry;
    if (client.mac && ov?.once && library.entries().some((e) => e.id === target)) {
      await library.setMacOverride(client.mac, undefined);
      options.onBootOnce?.(client.mac, ov.entry);
    }
    return script;
  };
}
