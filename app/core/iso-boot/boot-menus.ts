/**
 * The boot menu an ISO shows on one firmware, read from its own configuration: the files the firmware's
 * boot loader would read, in the order it would look for them, parsed by grub-config.ts, isolinux-config.ts
 * and systemd-boot-config.ts. The first configuration that yields Linux entries is the menu.
 *
 * - UEFI: the removable-media loader `EFI/BOOT/BOOTX64.EFI` (UEFI 2.x §3.5.1.1) is GRUB (often behind shim)
 *   or systemd-boot on Linux ISOs. A GRUB EFI image built for a CD looks for `grub.cfg` beside itself, then in
 *   its embedded prefix, usually `/boot/grub` (GRUB manual, "Embedded configuration" and "BIOS installation");
 *   systemd-boot reads `loader/loader.conf` and `loader/entries/*.conf` (Boot Loader Specification, "Type #1").
 *   `boot/grub/loopback.cfg` (GRUB manual "Loopback booting": the file distributions ship for booting the
 *   image from another GRUB) is the last resort.
 * - BIOS: El Torito no-emulation images are isolinux (it looks for isolinux.cfg / syslinux.cfg in
 *   /boot/isolinux, /isolinux, /boot/syslinux, /syslinux, / — syslinux wiki "ISOLINUX", "Config") or GRUB's
 *   i386-pc eltorito.img (grub-mkrescue), which reads `/boot/grub/grub.cfg` with `$grub_platform` = "pc".
 */
import type { IsoFirmware } from '../../shared/iso-boot-types.js';
import { readGrubMenu } from './grub-config.js';
import { readIsolinuxMenu } from './isolinux-config.js';
import { readSystemdBootMenu } from './systemd-boot-config.js';
import {
  ConfigLog,
  existsSafe,
  isoDir,
  isoPath,
  listSafe,
  type BootMenus,
  type ConfigBootEntry,
  type ConfigReader,
  type ConfigSourceKind,
  type LoaderMenu,
} from './types.js';

export type { BootMenus, ConfigBootEntry, ConfigReader, ConfigIssue, ConfigSourceKind } from './types.js';
export { configReaderOf, overlayReader } from './types.js';

/** isolinux/syslinux configuration files, in ISOLINUX's search order (syslinux wiki "ISOLINUX"). */
export const ISOLINUX_CONFIGS = [
  'boot/isolinux/isolinux.cfg',
  'isolinux/isolinux.cfg',
  'isolinux.cfg',
  'boot/syslinux/syslinux.cfg',
  'syslinux/syslinux.cfg',
  'syslinux.cfg',
  'boot/isolinux/syslinux.cfg',
  'isolinux/syslinux.cfg',
];

/** GRUB configurations GRUB's CD images read (beside the EFI image first, then the prefix). */
const GRUB_PREFIX_CONFIGS = ['boot/grub/grub.cfg', 'boot/grub2/grub.cfg'];
const GRUB_LOOPBACK = 'boot/grub/loopback.cfg';

type Candidate =
  | { readonly kind: 'grub'; readonly path: string }
  | { readonly kind: 'isolinux'; readonly path: string }
  | { readonly kind: 'systemd-boot' };

/** `EFI/<vendor>/grub.cfg` for each vendor folder (EFI/BOOT first), case as the image spells it. */
async function efiGrubConfigs(reader: ConfigReader): Promise<string[]> {
  const out = ['EFI/BOOT/grub.cfg'];
  const vendors = (await listSafe(reader, 'EFI')).filter((n) => n.toLowerCase() !== 'boot').sort();
  for (const v of vendors) out.push(`EFI/${v}/grub.cfg`);
  return out;
}

/** What the caller may know of the image beyond its files. */
export interface BootMenuHints {
  /**
   * The file the BIOS El Torito entry starts (path inside the ISO), when known: `…/isolinux.bin` means
   * ISOLINUX, which looks in its own folder first (syslinux wiki "ISOLINUX"); GRUB's `…/i386-pc/eltorito.img`
   * means GRUB reads `grub.cfg` in the folder above — a leftover isolinux.cfg is then not what boots.
   */
  readonly biosBootFile?: string;
}

/** BIOS configurations in the order the El Torito boot file's loader reads them. */
function biosCandidates(hints: BootMenuHints): Candidate[] {
  const isolinux = ISOLINUX_CONFIGS.map((path) => ({ kind: 'isolinux', path }) as const);
  const grub = [...GRUB_PREFIX_CONFIGS, GRUB_LOOPBACK].map((path) => ({ kind: 'grub', path }) as const);
  const boot = hints.biosBootFile === undefined ? '' : isoPath(hints.biosBootFile);
  const name = boot.split('/').pop()?.toLowerCase() ?? '';
  if (/^(isolinux|syslinux)\.bin$/.test(name)) {
    const dir = isoDir(boot);
    const own = ['isolinux.cfg', 'syslinux.cfg'].map(
      (f) => ({ kind: 'isolinux', path: dir ? `${dir}/${f}` : f }) as const,
    );
    return [...own, ...isolinux, ...grub];
  }
  if (name === 'eltorito.img' || /(^|\/)i386-pc\//i.test(boot)) {
    const grubDir = isoDir(isoDir(boot));
    return [{ kind: 'grub', path: `${grubDir}/grub.cfg` }, ...grub, ...isolinux];
  }
  return [...isolinux, ...grub];
}

async function candidates(
  reader: ConfigReader,
  firmware: IsoFirmware,
  hints: BootMenuHints,
): Promise<Candidate[]> {
  if (firmware === 'uefi') {
    return [
      ...(await efiGrubConfigs(reader)).map((path) => ({ kind: 'grub', path }) as const),
      ...GRUB_PREFIX_CONFIGS.map((path) => ({ kind: 'grub', path }) as const),
      { kind: 'systemd-boot' },
      { kind: 'grub', path: GRUB_LOOPBACK },
    ];
  }
  return biosCandidates(hints);
}

/** Exactly one default when there are entries: the loader's own, else the first (what every loader does). */
function oneDefault(entries: readonly ConfigBootEntry[]): ConfigBootEntry[] {
  const first = entries.findIndex((e) => e.isDefault);
  const pick = first < 0 ? 0 : first;
  return entries.map((e, i) => (e.isDefault === (i === pick) ? e : { ...e, isDefault: i === pick }));
}

/**
 * The boot menu of the image for `firmware`: Linux entries of the first configuration (in the firmware
 * loader's search order; `hints.biosBootFile` puts its loader's configuration first on BIOS) that has
 * any, with exactly one `isDefault`, every configuration file read, and what was skipped. Never throws on
 * garbage configurations; an image without one gives no entries.
 */
export async function readBootMenus(
  reader: ConfigReader,
  firmware: IsoFirmware,
  hints: BootMenuHints = {},
): Promise<BootMenus> {
  const log = new ConfigLog();
  const tried = new Set<string>();
  for (const c of await candidates(reader, firmware, hints)) {
    // A hint can name a configuration the usual list names again: read each once.
    const key = c.kind === 'systemd-boot' ? c.kind : `${c.kind}:${isoPath(c.path).toLowerCase()}`;
    if (tried.has(key)) continue;
    tried.add(key);
    let menu: LoaderMenu | undefined;
    let kind: ConfigSourceKind;
    if (c.kind === 'systemd-boot') {
      kind = 'systemd-boot';
      menu = await readSystemdBootMenu(reader, log);
    } else {
      kind = c.kind;
      if (!(await existsSafe(reader, c.path))) continue;
      menu =
        c.kind === 'grub'
          ? await readGrubMenu(reader, isoPath(c.path), firmware, log)
          : await readIsolinuxMenu(reader, isoPath(c.path), log);
    }
    if (!menu || menu.entries.length === 0) continue;
    const out: BootMenus = {
      firmware,
      loader: kind,
      entries: oneDefault(menu.entries),
      configsRead: [...log.read],
      issues: log.issues,
    };
    return menu.timeoutSeconds === undefined ? out : { ...out, timeoutSeconds: menu.timeoutSeconds };
  }
  return { firmware, entries: [], configsRead: [...log.read], issues: log.issues };
}
