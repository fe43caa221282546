/**
 * How one ISO boots over the network, decided once per image (docs/iso-boot.md): the family from the tree,
 * the entries of its own boot menus per firmware (boot-menus.ts) or the family's known paths, the live-root
 * rewrite of each command line, and per firmware one default route — kernel routes when a Linux kernel and
 * its initrds are in the image, else `sanboot` when El Torito has an image for that firmware, `memdisk` for
 * small BIOS images iPXE's sanboot cannot start, else `none` with a note. Never throws: a malformed image
 * gives a plan with a note.
 */
import type { IsoImage } from '../../engines/iso/index.js';
import type { IsoBootEntry, IsoFamily, IsoFirmware, IsoInfo, IsoRoute } from '../../shared/iso-boot-types.js';
import { readBootMenus } from './boot-menus.js';
import { rewriteCmdline } from './cmdline.js';
import { planImage } from './image-route.js';
import { mergeEntries, type Planned } from './merge.js';
import { ramFor, routeSummary } from './summary.js';
import { readTreeFacts, TreeProbe, type TreeFacts } from './tree-facts.js';
import { configReaderOf, type BootMenus, type ConfigReader } from './types.js';
import { kernelKind, knownPaths, type KernelCandidate } from './well-known.js';

export const WINDOWS_NOTE = 'Windows installer: network install not supported yet';
const FIRMWARES: readonly IsoFirmware[] = ['bios', 'uefi'];
const FW_NAME: Record<IsoFirmware, string> = { bios: 'BIOS', uefi: 'UEFI' };
/** Entries kept per firmware: a menu of hundreds is a generated config, not a choice. */
const MAX_ENTRIES = 64;

export interface AnalyseOptions {
  /** The boot-menu reader (tests inject one); default boot-menus.ts readBootMenus. */
  readonly readMenus?: (reader: ConfigReader, firmware: IsoFirmware) => Promise<BootMenus>;
}

const MEMTEST_KERNEL = /memtest|mt86/i;

function kernelRoute(family: IsoFamily, kernel: string): IsoRoute {
  if (MEMTEST_KERNEL.test(kernel)) return 'kernel';
  if (family === 'casper') return 'kernel-iso-ram';
  if (family === 'live-boot' || family === 'dracut' || family === 'archiso') return 'kernel-root-http';
  return 'kernel';
}

/** Kernel and initrds as the tree spells them, the kernel startable on `fw`; else why not. */
async function validate(
  probe: TreeProbe,
  c: KernelCandidate,
  fw: IsoFirmware,
  requireKnown: boolean,
): Promise<{ ok: KernelCandidate } | { why: string }> {
  const kernel = await probe.spell(c.kernel);
  if (!kernel || !(await probe.isFile(kernel))) return { why: `its kernel ${c.kernel} is not in the image` };
  const initrds: string[] = [];
  for (const i of c.initrds) {
    const real = await probe.spell(i);
    if (!real || !(await probe.isFile(real))) return { why: `its initrd ${i} is not in the image` };
    initrds.push(real);
  }
  const kind = await kernelKind(probe, kernel);
  if (requireKnown && !kind.known)
    return { why: `${kernel} has no header saying it starts on ${FW_NAME[fw]}` };
  if (!kind[fw])
    return {
      why:
        fw === 'bios'
          ? `${kernel} is a UEFI program, not a kernel a BIOS can start`
          : `${kernel} has no EFI stub, so UEFI cannot start it`,
    };
  return { ok: { ...c, kernel, initrds } };
}

function menuCandidates(menus: BootMenus): KernelCandidate[] {
  return menus.entries.slice(0, MAX_ENTRIES).map((e) => ({
    title: e.title,
    kernel: e.kernel,
    initrds: e.initrds,
    args: e.args,
    isDefault: e.isDefault,
    group: e.group,
    origin: 'menu' as const,
    ...(e.loaderId ? { loaderId: e.loaderId } : {}),
  }));
}

interface FirmwarePlan {
  readonly entries: Planned[];
  readonly notes: string[];
}

async function planKernels(
  probe: TreeProbe,
  facts: TreeFacts,
  fw: IsoFirmware,
  menus: Record<IsoFirmware, BootMenus>,
  label: string,
): Promise<FirmwarePlan> {
  const notes: string[] = [];
  const dropped: string[] = [];
  const accept = async (list: KernelCandidate[], requireKnown: boolean): Promise<KernelCandidate[]> => {
    const out: KernelCandidate[] = [];
    for (const c of list) {
      const v = await validate(probe, c, fw, requireKnown);
      if ('ok' in v) out.push(v.ok);
      else dropped.push(`"${c.title}" (${v.why})`);
    }
    return out;
  };
  let list: KernelCandidate[] = [];
  if (facts.family === 'memtest') {
    const prog = fw === 'bios' ? facts.memtest?.bios : facts.memtest?.uefi;
    if (prog)
      list = await accept(
        [
          {
            title: `memtest86+`,
            kernel: prog,
            initrds: [],
            args: '',
            isDefault: true,
            group: [],
            origin: 'known-paths',
          },
        ],
        false,
      );
  } else {
    list = await accept(menuCandidates(menus[fw]), false);
    if (list.length === 0) {
      // A BIOS-only isolinux menu still tells UEFI what to start when its kernel has an EFI stub (and back).
      const other = fw === 'bios' ? 'uefi' : 'bios';
      const borrowed = await accept(menuCandidates(menus[other]), true);
      if (borrowed.length > 0) {
        list = borrowed;
        notes.push(
          `${FW_NAME[fw]} uses the entries of the ${FW_NAME[other]} menu (the image has none for ${FW_NAME[fw]}).`,
        );
      }
    }
    if (list.length === 0) list = await accept(await knownPaths(probe, facts, label), false);
  }
  if (list.length > 0 && !list.some((c) => c.isDefault)) list[0] = { ...list[0]!, isDefault: true };
  if (dropped.length > 0 && menus[fw].entries.length > 0)
    notes.push(
      `${FW_NAME[fw]}: ${dropped.length} menu ${dropped.length === 1 ? 'entry' : 'entries'} left out: ${dropped.slice(0, 3).join(', ')}${dropped.length > 3 ? ', …' : ''}.`,
    );
  const entries = list.map((c): Planned => {
    const route = kernelRoute(facts.family, c.kernel);
    const family = route === 'kernel' && MEMTEST_KERNEL.test(c.kernel) ? 'memtest' : facts.family;
    const cmdline = rewriteCmdline(family, c.args, {
      ...(facts.family === 'live-boot' && facts.rootImage ? { squashfs: facts.rootImage } : {}),
      ...(facts.family === 'dracut' && facts.rootImage ? { liveImage: facts.rootImage } : {}),
      ...(facts.installer ? { installer: true } : {}),
      ...(facts.miso ? { miso: true } : {}),
      ...(facts.archisoBaseDir ? { archisoBaseDir: facts.archisoBaseDir } : {}),
    });
    const id = c.loaderId ?? c.title;
    return {
      fw,
      title: c.title,
      group: c.group,
      route,
      kernel: c.kernel,
      initrds: c.initrds,
      cmdline,
      isDefault: c.isDefault,
      idHint: id,
    };
  });
  return { entries, notes };
}

const FAMILY_NOTES: Partial<Record<IsoFamily, string>> = {
  'debian-installer':
    "The installer on this ISO looks for its CD once started and finds none over the network; for a network install put Debian's netboot tree (debian-installer-<release>-netboot-amd64) in the netboot folder.",
  other:
    'No known live-root family: the kernel and initrd start, but the system may look for its CD and stop there; "Boot the whole image (sanboot)" is the alternative where offered.',
};

export async function analyse(
  image: IsoImage,
  meta: { path: string; size: number },
  options: AnalyseOptions = {},
): Promise<IsoInfo> {
  const probe = new TreeProbe(image);
  const facts = await readTreeFacts(image, meta.size);
  const label = image.volumeLabel.trim();
  const elTorito = {
    bios: image.elTorito?.bios !== undefined,
    uefi: image.elTorito?.uefiImage !== undefined,
  };
  const notes: string[] = [];
  if (image.elToritoError)
    notes.push(`The boot catalog does not read (${image.elToritoError}): sanboot is not offered.`);
  const common = {
    family: facts.family,
    ...(facts.distro ? { distro: facts.distro } : {}),
    ...(facts.version ? { version: facts.version } : {}),
    ...(label ? { volumeLabel: label } : {}),
    elTorito,
    ...(facts.efiLoader ? { efiLoader: facts.efiLoader } : {}),
  };
  if (facts.family === 'windows') {
    return {
      ...common,
      routeSummary: 'not bootable over the network',
      entries: [
        {
          id: 'none',
          title: 'Windows installer',
          firmware: ['bios', 'uefi'],
          route: 'none',
          isDefault: true,
        },
      ],
      note: `${WINDOWS_NOTE}: it needs wimboot and a share for its install image; write the ISO to a USB stick instead.`,
    };
  }
  const reader = configReaderOf(image);
  const readMenus = options.readMenus ?? readBootMenus;
  const menus = {} as Record<IsoFirmware, BootMenus>;
  for (const fw of FIRMWARES) {
    try {
      menus[fw] = await readMenus(reader, fw);
    } catch {
      menus[fw] = { firmware: fw, entries: [], configsRead: [], issues: [] };
    }
  }
  const notLinux = FIRMWARES.flatMap((fw) => menus[fw].issues.filter((i) => i.code === 'not-linux'));
  const planned: Planned[] = [];
  const none: IsoFirmware[] = [];
  const why: string[] = [];
  let memdiskBytes: number | undefined;
  for (const fw of FIRMWARES) {
    const k = await planKernels(probe, facts, fw, menus, label);
    notes.push(...k.notes);
    const hasKernel = k.entries.length > 0;
    // Known families boot by kernel; the image route is the answer when there is none, or the
    // alternative for a Linux ISO of unknown family.
    const img =
      !hasKernel || facts.family === 'other'
        ? await planImage(image, fw, meta.size, hasKernel)
        : { entries: [] };
    if ('memdiskBytes' in img && img.memdiskBytes !== undefined) memdiskBytes = img.memdiskBytes;
    const list = [...k.entries, ...img.entries];
    if (list.length === 0) {
      none.push(fw);
      if ('why' in img && img.why) why.push(`${FW_NAME[fw]}: not bootable over the network, ${img.why}.`);
    }
    planned.push(...list);
  }
  const entries = mergeEntries(planned);
  if (none.length > 0) {
    entries.push({
      id: none.length === 2 ? 'none' : `none-${none[0]}`,
      title: `Not bootable over the network${none.length === 2 ? '' : ` on ${FW_NAME[none[0]!]}`}`,
      firmware: none,
      route: 'none',
      isDefault: true,
    });
    if (none.includes('uefi') && !none.includes('bios'))
      why.push('Boot it on a BIOS machine (or in CSM/legacy mode).');
  }
  const ramOf = (e: IsoBootEntry): number | undefined =>
    ramFor(e.route, {
      iso: meta.size,
      ...(facts.rootBytes !== undefined ? { root: facts.rootBytes } : {}),
      ...(memdiskBytes !== undefined && e.route === 'memdisk' && (e.initrds?.length ?? 0) > 0
        ? { memdiskImage: memdiskBytes }
        : {}),
    });
  const defaults: Partial<Record<IsoFirmware, IsoBootEntry>> = {};
  for (const fw of FIRMWARES) {
    const d = entries.find((e) => e.isDefault && e.firmware.includes(fw));
    if (d) defaults[fw] = d;
  }
  const rams = Object.values(defaults)
    .map((e) => (e ? ramOf(e) : undefined))
    .filter((x): x is number => x !== undefined);
  const kernelDefault = Object.values(defaults).some((e) => e?.route.startsWith('kernel'));
  const familyNote = kernelDefault ? FAMILY_NOTES[facts.family] : undefined;
  if (notLinux.length > 0)
    notes.push(
      `${notLinux.length} menu ${notLinux.length === 1 ? 'entry boots' : 'entries boot'} something other than Linux (chainloader, .c32 module) and ${notLinux.length === 1 ? 'is' : 'are'} not offered.`,
    );
  const note = [...why, ...(familyNote ? [familyNote] : []), ...notes].join(' ');
  return {
    ...common,
    routeSummary: routeSummary(defaults, facts.family, ramOf, facts.installer === true),
    ...(rams.length > 0 ? { ramBytes: Math.max(...rams) } : {}),
    entries,
    ...(note ? { note } : {}),
  };
}
