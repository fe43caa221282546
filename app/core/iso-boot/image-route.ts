/**
 * Routes that boot the image itself, for a firmware without a kernel route: `sanboot` where El Torito has a
 * no-emulation image for it, `memdisk` for BIOS floppy/hard-disk emulation (the file in the tree that holds
 * the boot image; the catalog gives only a sector) and small images, else why not.
 */
import type { FsView, IsoImage } from '../../engines/iso/index.js';
import type { IsoFirmware } from '../../shared/iso-boot-types.js';
import type { Planned } from './merge.js';
import { MEMDISK_MAX } from './summary.js';

/** Entries looked at at most: boot images sit near the root; a huge tree is not searched to the end. */
const MAX_WALK = 5000;

/** The file whose data starts at `offset` (bounded walk). */
export async function findBootImageFile(view: FsView, offset: number): Promise<string | undefined> {
  let seen = 0;
  try {
    for await (const { path, entry } of view.walk()) {
      if (++seen > MAX_WALK) return undefined;
      if (entry.kind !== 'file' || entry.size === 0) continue;
      try {
        const ext = await view.extents(path);
        if (ext[0]?.offset === offset) return path;
      } catch {
        // A file whose extents do not check out is not the boot image.
      }
    }
  } catch {
    // A tree that stops reading part-way: what was walked is all we know.
  }
  return undefined;
}

/** sanboot / memdisk / none for a firmware without a kernel route (and sanboot as the "other" alternative). */
export async function planImage(
  image: IsoImage,
  fw: IsoFirmware,
  isoSize: number,
  hasKernel: boolean,
): Promise<{ entries: Planned[]; memdiskBytes?: number; why?: string }> {
  const et = image.elTorito;
  const base = { fw, group: [] as string[] };
  if (fw === 'uefi') {
    if (et?.uefiImage)
      return {
        entries: [
          {
            ...base,
            title: 'Boot the whole image (sanboot)',
            route: 'sanboot',
            isDefault: !hasKernel,
            idHint: 'sanboot',
          },
        ],
      };
    return { entries: [], why: 'it has no UEFI boot image (El Torito) and no Linux kernel with an EFI stub' };
  }
  const bios = et?.bios;
  if (!bios) return { entries: [], why: 'it has no BIOS boot image (El Torito) and no Linux kernel' };
  const out: Planned[] = [];
  let memdiskBytes: number | undefined;
  // iPXE's int13 El Torito support starts no-emulation images only; memdisk emulates floppies and disks.
  if (bios.media === 'no-emulation')
    out.push({
      ...base,
      title: 'Boot the whole image (sanboot)',
      route: 'sanboot',
      isDefault: !hasKernel,
      idHint: 'sanboot',
    });
  if (bios.media.startsWith('floppy') || bios.media === 'hard-disk') {
    const file = await findBootImageFile(image, bios.image.offset);
    if (file) {
      memdiskBytes = bios.image.length;
      out.push({
        ...base,
        title: 'Boot image in RAM (memdisk)',
        route: 'memdisk',
        initrds: [file],
        cmdline: bios.media === 'hard-disk' ? 'harddisk' : 'floppy',
        isDefault: !hasKernel,
        idHint: 'memdisk',
      });
      return { entries: out, memdiskBytes };
    }
  }
  if (isoSize < MEMDISK_MAX) {
    memdiskBytes = isoSize;
    out.push({
      ...base,
      title: 'Whole image in RAM (memdisk)',
      route: 'memdisk',
      initrds: [],
      cmdline: 'iso raw',
      isDefault: !hasKernel && out.length === 0,
      idHint: 'memdisk',
    });
  }
  if (out.length === 0)
    return {
      entries: [],
      why: `its BIOS boot image is ${bios.media} emulation, which iPXE's sanboot cannot start, and at ${Math.round(isoSize / 1048576)} MiB it is too large for memdisk`,
    };
  return { entries: out, ...(memdiskBytes !== undefined ? { memdiskBytes } : {}) };
}
