/**
 * One API over an ISO image, whichever file system carries its files: the ISO 9660 tree (Rock Ridge
 * names, else Joliet, else plain) or UDF when the ISO 9660 side is only a README stub (Windows
 * installer images) or missing. Lookup rules: view.ts.
 */
import { readElTorito, type ElTorito } from './el-torito.js';
import { IsoError, type IsoErrorCode } from './iso-error.js';
import { readVolumeDescriptors } from './iso9660-descriptors.js';
import { Iso9660Tree } from './iso9660-tree.js';
import type { IsoSource } from './source.js';
import type { FsTree, TreeNode } from './tree.js';
import { UdfTree } from './udf-tree.js';
import { hasUdfAnchor } from './udf-volume.js';
import { makeView, type FsView } from './view.js';

export interface OpenIsoOptions {
  /** Which tree to read; 'auto' (default) picks UDF only when the ISO 9660 side is a stub or absent. */
  prefer?: 'auto' | 'iso9660' | 'udf';
}

export interface IsoImage extends FsView {
  readonly filesystem: 'iso9660' | 'udf';
  /** Where names come from: Rock Ridge, Joliet, plain ISO 9660, or UDF. */
  readonly names: 'rockridge' | 'joliet' | 'plain' | 'udf';
  /** El Torito catalog, when the image has a boot record and the catalog reads. */
  readonly elTorito?: ElTorito;
  /** Why a present boot record's catalog could not be read. */
  readonly elToritoError?: IsoErrorCode;
  /** Whether the other file system exists too (a UDF bridge image has both). */
  readonly hasUdf: boolean;
  readonly hasIso9660: boolean;
}

/** A Windows installer's ISO 9660 side: a few files, no directories, one of them a README. */
function isStub(entries: TreeNode[]): boolean {
  return (
    entries.length <= 4 &&
    entries.every((e) => e.kind !== 'directory') &&
    entries.some((e) => /^readme/i.test(e.name))
  );
}

export async function openIso(src: IsoSource, options: OpenIsoOptions = {}): Promise<IsoImage> {
  const prefer = options.prefer ?? 'auto';
  const vds = await readVolumeDescriptors(src);
  let iso: Iso9660Tree | undefined;
  if (vds.primary) {
    iso = await Iso9660Tree.open(src, vds.primary, false);
    if (iso.namesFrom === 'plain' && vds.joliet) iso = await Iso9660Tree.open(src, vds.joliet, true);
  } else if (vds.joliet) {
    iso = await Iso9660Tree.open(src, vds.joliet, true);
  }
  const hasUdf = await hasUdfAnchor(src);
  let tree: FsTree | undefined;
  if (prefer === 'udf' || (prefer === 'auto' && hasUdf && (!iso || isStub(await iso.listDir(iso.root))))) {
    if (!hasUdf) throw new IsoError('not-an-image', 'no UDF anchor at sector 256');
    tree = await UdfTree.open(src);
  } else {
    tree = iso;
  }
  if (!tree)
    throw new IsoError('not-an-image', 'neither an ISO 9660 primary volume descriptor nor a UDF anchor');
  let elTorito: ElTorito | undefined;
  let elToritoError: IsoErrorCode | undefined;
  if (vds.bootCatalogSector !== undefined) {
    try {
      elTorito = await readElTorito(src, vds.bootCatalogSector);
    } catch (e) {
      // A broken boot catalog must not hide the files: report it beside them.
      if (!(e instanceof IsoError)) throw e;
      elToritoError = e.code;
    }
  }
  const image: IsoImage = {
    ...makeView(src, tree),
    filesystem: tree.kind === 'udf' ? 'udf' : 'iso9660',
    names: tree.kind === 'udf' ? 'udf' : (iso?.namesFrom ?? 'plain'),
    hasUdf,
    hasIso9660: iso !== undefined,
  };
  if (elTorito) (image as { elTorito?: ElTorito }).elTorito = elTorito;
  if (elToritoError) (image as { elToritoError?: IsoErrorCode }).elToritoError = elToritoError;
  return image;
}
