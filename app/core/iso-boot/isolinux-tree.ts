/**
 * The menu tree the isolinux reader (isolinux-config.ts) builds, and the rules that read it: which label
 * boots by default, what a menu item is called, which kernels are Linux (syslinux wiki "Config", "Menu").
 */

/** A LABEL and what its lines said. */
export interface Label {
  readonly kind: 'label';
  readonly name: string;
  /** MENU LABEL, hotkey markers removed. */
  label?: string;
  kernel?: string;
  /** Not Linux: what boots instead (a module name or keyword). */
  other?: string;
  /** INITRD's comma-separated list. */
  initrd: string[];
  append?: string;
  globalAppend: string;
  menuDefault: boolean;
  hidden: boolean;
  config?: { file: string; dir?: string };
  readonly configPath: string;
  readonly line: number;
}

/** The main menu or a MENU BEGIN … MENU END block. */
export interface MenuNode {
  readonly kind: 'menu';
  readonly tag: string;
  label?: string;
  title?: string;
  menuDefault: boolean;
  readonly items: (Label | MenuNode)[];
}

/** One configuration (with its includes): its menus, every label, and the global directives. */
export interface Tree {
  readonly root: MenuNode;
  readonly labels: Label[];
  defaultName?: string;
  /** Where DEFAULT was set (a DEFAULT naming no label is a command line of its own). */
  defaultAt?: { readonly file: string; readonly line: number };
  onTimeout?: string;
  menuUi: boolean;
  timeout?: number;
  readonly cwd: string;
}

/** Where the reader is: the open menus (innermost last) and the item MENU lines apply to. */
export interface State {
  readonly stack: MenuNode[];
  current: Label | MenuNode;
  globalAppend: string;
}

/** Syslinux wiki "Config": the kernel's file type decides what KERNEL runs. */
export function kernelIsLinux(file: string): boolean {
  return !/\.(c32|0|bin|bs|bss|com|cbt)$/i.test(file);
}

/** The menu label as shown: `^` marks the hotkey (syslinux wiki "Menu", MENU LABEL). */
export function cleanTitle(s: string): string {
  return s.replace(/\^/g, '').trim();
}

/**
 * The label a tree boots by default: with a menu (`UI x.c32` or `DEFAULT x.c32`) the `MENU DEFAULT` item
 * (descending into a default submenu), else the label `DEFAULT` or `ONTIMEOUT` names; a default that runs
 * whichsys.c32 follows its `-iso-` label (syslinux wiki "Whichsys.c32"). Undefined: the caller takes the first.
 */
export function defaultLabel(t: Tree): Label | undefined {
  const byName = (name: string | undefined): Label | undefined => {
    if (!name) return undefined;
    const n = name.split(/\s+/)[0] as string;
    return (
      t.labels.find((l) => l.name === n) ?? t.labels.find((l) => l.name.toLowerCase() === n.toLowerCase())
    );
  };
  const menuDefault = (node: MenuNode): Label | undefined => {
    const item = node.items.find((i) => i.menuDefault);
    if (!item) return undefined;
    return item.kind === 'label'
      ? item
      : (menuDefault(item) ?? item.items.find((i): i is Label => i.kind === 'label'));
  };
  let d = (t.menuUi ? menuDefault(t.root) : undefined) ?? byName(t.defaultName) ?? byName(t.onTimeout);
  // whichsys.c32 picks a label by how it was booted: `-iso- label` for ISOLINUX.
  if (d?.other && /(^|\/)whichsys\.c32$/i.test(d.other)) {
    const m = /(?:^|\s)-iso-\s+(\S+)/.exec(d.append ?? d.globalAppend);
    d = byName(m?.[1]) ?? d;
  }
  return d;
}

export function titleOf(node: Label | MenuNode): string {
  return node.kind === 'label' ? (node.label ?? node.name) : (node.label ?? node.title ?? node.tag);
}
