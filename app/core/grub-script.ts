/**
 * The generated GRUB menu of the signed chain (shim → Debian's signed network GRUB, docs/secure-boot.md): the
 * same menu as `boot.ipxe` (ipxe-script.ts) — library entries, default, timeout, per-MAC entry, boot once — in
 * GRUB's script language. Pure: library entries + client in, text out; the handler at the end serves it.
 *
 * Where that GRUB looks, established in the lab (docs/secure-boot.md, "Where GRUB looks"): its embedded prefix
 * is `/grub` on the server it booted from, `(tftp,<siaddr>)` or `(http,<host>)`; its memdisk config tests
 * `$prefix/x86_64-efi/grub.cfg` (a test that never reaches the wire over TFTP) and sources `$prefix/grub.cfg`.
 * It asks for no per-MAC or per-IP name of its own, so the per-client menu is chosen here: by the client's
 * address when the session knows its MAC, else by GRUB's own `$net_default_mac` through GRUB_MAC_DIR.
 *
 * Paths in the menu are relative to GRUB's `$root`, so the kernel comes over the protocol GRUB itself came by
 * (TFTP after PXE, HTTP after UEFI HTTP boot). Under Secure Boot GRUB asks shim to verify every kernel
 * (shim_lock): an unsigned kernel is refused, so its entry says so, and a refusal fetches GRUB_REFUSED_DIR/…
 * so the server sees it (the client model's diagnosis).
 */
import type { NetbootLibrary } from './netboot-library.js';
import type { LibraryEntry, LibraryMetadata } from '../shared/library-types.js';
import { ISO_URL_TOKEN, type IsoBootEntry } from '../shared/iso-boot-types.js';
import type { SignatureInfo } from '../shared/secure-boot.js';

/** GRUB's prefix folder on our servers (its embedded prefix `/grub`). */
export const GRUB_DIR = 'grub';
/** The config GRUB sources: `$prefix/grub.cfg`. */
export const GRUB_CFG = `${GRUB_DIR}/grub.cfg`;
/** What the memdisk config tests first; never fetched over TFTP, but HTTP's `-e` may ask it: same menu. */
export const GRUB_CFG_CPU = `${GRUB_DIR}/x86_64-efi/grub.cfg`;
/** Per-MAC menus, `grub/mac/<aa:bb:cc:dd:ee:ff>.cfg`, for a client whose address the session has not learnt. */
export const GRUB_MAC_DIR = `${GRUB_DIR}/mac`;
/** A menu entry whose kernel was refused fetches `grub/refused/<entry id>`: the server's signal. */
export const GRUB_REFUSED_DIR = `${GRUB_DIR}/refused`;

export interface GrubMenuOptions {
  readonly entries: readonly LibraryEntry[];
  readonly metadata?: LibraryMetadata;
  /** Lower-case colon MAC; undefined: a menu for any client (no per-MAC entry). */
  readonly mac?: string;
  /** e.g. `http://10.0.0.1:8080`: the ISO URL an ISO entry's command line names (`{iso}`). */
  readonly baseUrl: string;
  /** Menu timeout in seconds when metadata has none (default 10). */
  readonly timeoutSeconds?: number;
  /** Authenticode facts of an entry's kernel, where known (unknown: the menu says nothing). */
  readonly signatureOf?: (entry: LibraryEntry) => SignatureInfo | undefined;
}

/** After a refused kernel the menu waits for the technician instead of counting down (or booting at once). */
const REFUSED_WAIT = ['if [ "$pxedesk_refused" = 1 ]; then set timeout=-1; fi'];

/** A menu line's title in single quotes (GRUB: no escapes inside '…', so a quote closes, escapes, reopens). */
function quote(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?').slice(0, 70);
  return `'${clean.replace(/'/g, `'\\''`)}'`;
}

/** One word of a command (path or kernel argument), every character GRUB's lexer treats specially escaped. */
function word(text: string): string {
  return text
    .replace(/[\r\n\0]/g, ' ')
    .replace(/[\\$"'`;|&<>{}()#*?[\]\s]/g, (c) => (c === ' ' ? '\\ ' : `\\${c}`));
}

/** Kernel arguments: split on blanks, each escaped (GRUB joins them with one space for the kernel). */
function args(cmdline: string | undefined): string {
  const words = (cmdline ?? '').split(/\s+/).filter(Boolean);
  return words.length ? ` ${words.map(word).join(' ')}` : '';
}

/** A root-relative path as GRUB names it on `$root`. */
const path = (rel: string): string => word(`/${rel.replace(/^\/+/, '')}`);

/** The commands of one bootable item, or undefined when GRUB cannot boot it (iPXE scripts, NBPs, WIM, disks). */
interface GrubItem {
  readonly id: string;
  readonly title: string;
  readonly lines: readonly string[];
}

function kernelLines(
  id: string,
  kernel: string,
  initrds: readonly string[],
  cmdline: string | undefined,
  signature: SignatureInfo | undefined,
): string[] {
  const after = initrds.length ? [`initrd ${initrds.map(path).join(' ')}`] : [];
  return guarded(id, kernel, `linux ${path(kernel)}${args(cmdline)}`, after, signature);
}

/**
 * `load` (linux or chainloader: GRUB has shim verify the file as it loads it), then `after`; a refusal
 * (shim_lock: "bad shim signature") fetches the refusal name so the server sees it, and the menu returns
 * after a pause instead of GRUB's "press any key".
 */
function guarded(
  id: string,
  file: string,
  load: string,
  after: readonly string[],
  signature: SignatureInfo | undefined,
): string[] {
  const lines: string[] = [];
  if (signature && (!signature.signed || signature.damaged)) {
    lines.push(
      `echo ${quote(`PXE Desk: ${file} is not signed; Secure Boot refuses it (shim verifies it).`)}`,
    );
  }
  lines.push(
    `if ${load}; then`,
    ...after.map((l) => `  ${l}`),
    'else',
    `  echo ${quote(`PXE Desk: ${file} was refused (not signed for Secure Boot?)`)}`,
    `  cat $prefix/refused/${word(id)}`,
    '  sleep 10',
    // Back to the menu, which now waits for a key (REFUSED_WAIT): booting the same file again would only
    // be refused again, downloading it each time.
    '  set pxedesk_refused=1',
    '  export pxedesk_refused',
    '  configfile $prefix/grub.cfg',
    'fi',
  );
  return lines;
}

function isoItems(e: LibraryEntry, baseUrl: string): GrubItem[] {
  const info = e.iso;
  if (!info) return [];
  const isoUrl = `${baseUrl}/${e.path.split('/').map(encodeURIComponent).join('/')}`;
  const items: GrubItem[] = [];
  for (const b of info.entries) {
    if (!b.firmware.includes('uefi')) continue;
    const lines = isoEntryLines(e, b, isoUrl);
    if (lines) items.push({ id: `${e.id}#${b.id}`, title: `${e.title}: ${b.title}`, lines });
  }
  return items;
}

function isoEntryLines(e: LibraryEntry, b: IsoBootEntry, isoUrl: string): string[] | undefined {
  // Files inside the ISO are served below the ISO's own path (TFTP and HTTP, docs/iso-boot.md).
  const inside = (p: string): string => `${e.path}/${p}`;
  if ((b.route === 'kernel-root-http' || b.route === 'kernel-iso-ram' || b.route === 'kernel') && b.kernel) {
    const cmdline = b.cmdline?.split(ISO_URL_TOKEN).join(isoUrl);
    return kernelLines(
      `${e.id}#${b.id}`,
      inside(b.kernel),
      (b.initrds ?? []).map(inside),
      cmdline,
      undefined,
    );
  }
  if (b.route === 'chain-efi' && e.iso?.efiLoader)
    return guarded(
      `${e.id}#${b.id}`,
      inside(e.iso.efiLoader.path),
      `chainloader ${path(inside(e.iso.efiLoader.path))}`,
      [],
      undefined,
    );
  return undefined;
}

function itemsOf(e: LibraryEntry, opts: GrubMenuOptions): GrubItem[] {
  // A tree's own shim/GRUB and the like are left out of boot menus (LibraryEntry.secondary, netboot-library.ts).
  if (e.secondary === 'hidden') return [];
  if (!e.arch.includes('uefi-x64') && e.kind !== 'iso') return [];
  switch (e.kind) {
    case 'linux':
      return [
        {
          id: e.id,
          title: e.title,
          lines: kernelLines(e.id, e.path, e.initrd ? [e.initrd] : [], e.cmdline, opts.signatureOf?.(e)),
        },
      ];
    case 'efi':
    case 'memtest':
      return /\.efi$/i.test(e.path)
        ? [
            {
              id: e.id,
              title: e.title,
              lines: guarded(e.id, e.path, `chainloader ${path(e.path)}`, [], opts.signatureOf?.(e)),
            },
          ]
        : [];
    case 'iso':
      return isoItems(e, opts.baseUrl);
    default:
      return []; // iPXE scripts, PXE NBPs, WIM and disk images need iPXE (sanboot, wimboot)
  }
}

/** A title marked when Secure Boot will refuse its kernel or EFI program. */
function titleOf(item: GrubItem, e: LibraryEntry, opts: GrubMenuOptions): string {
  const sig = e.kind === 'iso' ? undefined : opts.signatureOf?.(e);
  return sig && (!sig.signed || sig.damaged)
    ? `${item.title} (unsigned: refused under Secure Boot)`
    : item.title;
}

/** The whole grub.cfg for one client (or any client, `mac` undefined). */
export function generateGrubMenu(opts: GrubMenuOptions): string {
  const meta = opts.metadata;
  const mac = opts.mac;
  const out = [`# PXE Desk menu for ${mac ?? 'any machine'} (signed chain: shim -> GRUB)`];
  const all = opts.entries.flatMap((e) => itemsOf(e, opts).map((item) => ({ item, entry: e })));
  const override = mac ? meta?.perMac[mac] : undefined;
  const forced = override ? all.find((x) => x.entry.id === override.entry) : undefined;
  const menuentry = (x: (typeof all)[number], index: number): string[] => [
    `menuentry ${quote(titleOf(x.item, x.entry, opts))} --id e${index} {`,
    ...x.item.lines.map((l) => `  ${l}`),
    '}',
  ];
  if (forced) {
    out.push(
      'set timeout=0',
      ...REFUSED_WAIT,
      `echo ${quote(`PXE Desk: booting ${forced.item.title}${override?.once ? ' (once)' : ''}`)}`,
      ...menuentry(forced, 0),
    );
    return `${out.join('\n')}\n`;
  }
  if (all.length === 0) {
    out.push(
      `echo ${quote('PXE Desk: nothing in the netboot folder that GRUB can boot (a kernel + initrd, an ISO, an EFI program).')}`,
      `echo ${quote('The menu updates by itself. Retrying in 10 seconds.')}`,
      'sleep 10',
      'configfile $prefix/grub.cfg',
    );
    return `${out.join('\n')}\n`;
  }
  if (!mac) {
    // The session did not know this client's address: GRUB knows its own MAC, ask for that client's menu.
    out.push('if [ -n "$net_default_mac" ]; then', '  configfile $prefix/mac/$net_default_mac.cfg', 'fi');
  }
  // One entry and no timeout chosen: boot it at once, as boot.ipxe does.
  const single = all.length === 1 && meta?.timeoutSeconds === undefined && opts.timeoutSeconds === undefined;
  const timeout = single ? 0 : (meta?.timeoutSeconds ?? opts.timeoutSeconds ?? 10);
  const defIndex = Math.max(
    0,
    all.findIndex((x) => x.entry.id === meta?.defaultEntry),
  );
  out.push(`set timeout=${timeout}`, ...REFUSED_WAIT, `set default=e${defIndex}`);
  all.forEach((x, i) => out.push(...menuentry(x, i)));
  return `${out.join('\n')}\n`;
}

const MAC_FILE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}\.cfg$/;

export interface GrubHandlerOptions {
  readonly baseUrl: () => string;
  /** The MAC of a client address, when the session knows it. */
  readonly macForIp?: (ip: string) => string | undefined;
  readonly timeoutSeconds?: number;
  readonly signatureOf?: (entry: LibraryEntry) => SignatureInfo | undefined;
  /** Called after a boot-once override was served (the handler clears it). */
  readonly onBootOnce?: (mac: string, entry: string) => void;
  /** A menu entry's kernel was refused (GRUB fetched GRUB_REFUSED_DIR/<entry>). */
  readonly onRefused?: (mac: string | undefined, entry: string) => void;
}

/**
 * Serves the GRUB names (GRUB_CFG, GRUB_CFG_CPU, GRUB_MAC_DIR/<mac>.cfg, GRUB_REFUSED_DIR/…) for TFTP's
 * `virtualFiles` and HTTP's `scripts` hooks: `name` is the root-relative path, `clientIp` the client's address.
 * Undefined for any other name (the folder is served as usual).
 */
export function createGrubHandler(
  library: NetbootLibrary,
  options: GrubHandlerOptions,
): (name: string, clientIp: string) => Promise<string | undefined> {
  return async (name, clientIp) => {
    const rel = name.replace(/^\/+/, '');
    if (!rel.startsWith(`${GRUB_DIR}/`)) return undefined;
    let mac: string | undefined;
    if (rel === GRUB_CFG || rel === GRUB_CFG_CPU) mac = options.macForIp?.(clientIp);
    else if (rel.startsWith(`${GRUB_MAC_DIR}/`)) {
      const file = rel.slice(GRUB_MAC_DIR.length + 1).toLowerCase();
      if (!MAC_FILE.test(file)) return undefined;
      mac = file.slice(0, -'.cfg'.length);
    } else if (rel.startsWith(`${GRUB_REFUSED_DIR}/`)) {
      const entry = rel.slice(GRUB_REFUSED_DIR.length + 1);
      options.onRefused?.(options.macForIp?.(clientIp), entry);
      return `PXE Desk: ${entry} was refused by GRUB (under Secure Boot only signed kernels boot).\n`;
    } else return undefined;
    const metadata = library.metadata();
    const entries = library.entries();
    const text = generateGrubMenu({
      entries,
      metadata,
      baseUrl: options.baseUrl(),
      ...(mac ? { mac } : {}),
      ...(options.timeoutSeconds !== undefined ? { timeoutSeconds: options.timeoutSeconds } : {}),
      ...(options.signatureOf ? { signatureOf: options.signatureOf } : {}),
    });
    const ov = mac ? metadata.perMac[mac] : undefined;
    if (mac && ov?.once && entries.some((e) => e.id === ov.entry)) {
      await library.setMacOverride(mac, undefined);
      options.onBootOnce?.(mac, ov.entry);
    }
    return text;
  };
}
