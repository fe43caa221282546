/**
 * The file in the tree that holds an El Torito boot image (the catalog gives only a sector): memdisk is then
 * handed that file (`boot/floppy.img`) by its URL inside the ISO, not the whole image. Bounded walk.
 */
import type { FsView } from '../../engines/iso/index.js';

/** Entries looked at at most: boot images sit near the root; a huge tree is not searched to the end. */
const MAX_WALK = 5000;

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
