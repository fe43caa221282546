/**
 * A netboot tree's own boot configuration says which initrd belongs to which kernel (Debian's d-i tree:
 * `pxelinux.cfg/default` and `debian-installer/amd64/grub/grub.cfg`; a PyPXE-style folder: its
 * `pxelinux.cfg/default`). Read with the ISO analysis' parsers (app/core/iso-boot/, isolinux + GRUB) over the
 * netboot folder instead of an image: pxelinux and a netbooted GRUB read their paths from the TFTP root, so
 * the root of a tree is the folder that holds `pxelinux.cfg/` (or, for GRUB, the netboot folder).
 * Bounded: configuration files the parsers bound, and at most MAX_TREES trees per scan.
 */
import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { readGrubMenu } from './iso-boot/grub-config.js';
import { readIsolinuxMenu } from './iso-boot/isolinux-config.js';
import { ConfigLog, isoPath, type ConfigBootEntry, type ConfigReader } from './iso-boot/types.js';

const MAX_TREES = 16;

/**
 * pxelinux resolves relative paths from the TFTP root (its own folder), not from pxelinux.cfg/ where its
 * configuration sits; the isolinux parser resolves from the configuration's folder. So the configuration is
 * handed to the parser under this name at the tree's root.
 */
const PXELINUX_AT_ROOT = 'pxe-desk-pxelinux-default.cfg';

/** A reader of the files below `root` (paths '/'-separated, relative to it); nothing outside it is read. */
function folderReader(root: string): ConfigReader {
  const inside = async (p: string): Promise<string | undefined> => {
    const rel = isoPath(p) === PXELINUX_AT_ROOT ? 'pxelinux.cfg/default' : isoPath(p);
    const full = path.join(root, rel);
    try {
      // Symlinks inside the tree are followed (d-i's pxelinux.cfg/default is one), never out of it.
      const real = await realpath(full);
      const base = await realpath(root);
      return real === base || real.startsWith(base + path.sep) ? real : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    async readText(p, maxBytes) {
      const full = await inside(p);
      if (!full) return undefined;
      const st = await stat(full);
      if (!st.isFile()) return undefined;
      // A file larger than the limit reads as longer than it, so the parser reports it (never loads it all).
      if (st.size > maxBytes) return 'x'.repeat(maxBytes + 1);
      return readFile(full, 'latin1');
    },
    async exists(p) {
      return (await inside(p)) !== undefined;
    },
    async list(dir) {
      const full = await inside(dir);
      return full ? readdir(full).catch(() => []) : [];
    },
  };
}

/** Root-relative kernel path → the initrds its tree's configuration boots it with (root-relative). */
export type TreePairs = ReadonlyMap<string, readonly string[]>;

/**
 * The kernel/initrd pairs the trees' configurations name. `configs`: root-relative paths of every
 * `pxelinux.cfg/default` and `grub/grub.cfg` the scan saw (symlinked ones included). Pairs whose files are
 * not in the folder are dropped by the caller; the first configuration that names a kernel wins.
 */
export async function readTreePairs(root: string, configs: readonly string[]): Promise<TreePairs> {
  const pairs = new Map<string, readonly string[]>();
  const add = (base: string, entries: readonly ConfigBootEntry[]): void => {
    for (const e of entries) {
      const kernel = isoPath(path.posix.join(base, e.kernel));
      if (pairs.has(kernel) || e.initrds.length === 0) continue;
      pairs.set(
        kernel,
        e.initrds.map((i) => isoPath(path.posix.join(base, i))),
      );
    }
  };
  for (const rel of configs.slice(0, MAX_TREES)) {
    const log = new ConfigLog();
    try {
      if (rel === 'pxelinux.cfg/default' || rel.endsWith('/pxelinux.cfg/default')) {
        // pxelinux's working directory is the TFTP root: the folder above pxelinux.cfg/.
        const base = path.posix.dirname(path.posix.dirname(rel));
        const treeRoot = base === '.' ? '' : base;
        const menu = await readIsolinuxMenu(folderReader(path.join(root, treeRoot)), PXELINUX_AT_ROOT, log);
        if (menu) add(treeRoot, menu.entries);
      } else if (rel.endsWith('grub/grub.cfg')) {
        // A netbooted GRUB reads `/…` from the TFTP root: the netboot folder as the technician serves it.
        for (const fw of ['bios', 'uefi'] as const) {
          const menu = await readGrubMenu(folderReader(root), rel, fw, log);
          if (menu) add('', menu.entries);
        }
      }
    } catch {
      // A configuration the parsers cannot read pairs nothing; the naming rule still applies.
    }
  }
  return pairs;
}
