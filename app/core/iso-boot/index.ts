/**
 * ISO boot analysis (docs/iso-boot.md): `analyseIso` decides once per image how it boots over the network on
 * BIOS and UEFI; the menu generator (app/core/ipxe-script.ts) turns the result into iPXE lines.
 */
import { openFileSource } from '../../engines/iso/file-source.js';
import { openIso, type IsoImage } from '../../engines/iso/index.js';
import type { IsoInfo } from '../../shared/iso-boot-types.js';
import { analyse, type AnalyseOptions } from './analyse.js';

export { WINDOWS_NOTE, type AnalyseOptions } from './analyse.js';
export { isoEntryMetaKey } from '../../shared/iso-boot-types.js';
export { hasNetworkRoot, rewriteCmdline, tokenize } from './cmdline.js';
export { isoBootArches, isoFirmwareOf } from './firmware.js';

/** What analysing an image that does not read gives: not bootable, and why. */
function unreadable(why: string): IsoInfo {
  return {
    family: 'other',
    elTorito: { bios: false, uefi: false },
    routeSummary: 'not bootable over the network',
    entries: [
      {
        id: 'none',
        title: 'Not bootable over the network',
        firmware: ['bios', 'uefi'],
        route: 'none',
        isDefault: true,
      },
    ],
    note: `The image could not be read (${why}); check the file is a complete ISO.`,
  };
}

function reason(e: unknown): string {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string') return e.code;
  return e instanceof Error ? e.message : String(e);
}

/**
 * How `image` boots over the network on each firmware. `meta.path` is the ISO's path in the netboot folder
 * (for messages), `meta.size` its size in bytes (RAM estimates, memdisk). Never throws.
 */
export async function analyseIso(
  image: IsoImage,
  meta: { path: string; size: number },
  options: AnalyseOptions = {},
): Promise<IsoInfo> {
  try {
    return await analyse(image, meta, options);
  } catch (e) {
    return unreadable(reason(e));
  }
}

/** Opens `fullPath` read-only, analyses it, closes it. `rel` is its path in the netboot folder. Never throws. */
export async function analyseIsoFile(
  fullPath: string,
  rel: string,
  options: AnalyseOptions = {},
): Promise<IsoInfo> {
  let src: Awaited<ReturnType<typeof openFileSource>>;
  try {
    src = await openFileSource(fullPath);
  } catch (e) {
    return unreadable(reason(e));
  }
  try {
    const image = await openIso(src);
    return await analyseIso(image, { path: rel, size: src.size }, options);
  } catch (e) {
    return unreadable(reason(e));
  } finally {
    await src.close().catch(() => undefined);
  }
}
