/**
 * isolinux/syslinux configuration reader (syslinux wiki "Config", "Menu" and "ISOLINUX"): the menu ISOLINUX
 * would show on a BIOS machine booted from the ISO.
 *
 * - Keywords are case-insensitive, one directive per line, `#` comments. `INCLUDE file` and
 *   `MENU INCLUDE file [tag]` (with a tag: as a `MENU BEGIN tag … MENU END` block) read other files in place.
 * - `LABEL` starts an entry; `KERNEL` (by extension: `.c32` COM32 modules, `.0` PXE, `.bin/.bs/.bss` boot
 *   sectors, `.com/.cbt` COMBOOT are not Linux), `LINUX` (always Linux), `COM32`/`BOOT`/`BSS`/`PXE`/`FDIMAGE`/
 *   `LOCALBOOT` (not Linux), `INITRD a,b`, `APPEND` (`initrd=a,b` moved to the initrds; `APPEND -` is empty;
 *   a label without APPEND takes the global one), `MENU LABEL` (`^` hotkey markers removed), `MENU DEFAULT`,
 *   `MENU HIDE`; `TEXT HELP … ENDTEXT` skipped; `IPAPPEND`/`SYSAPPEND` ignored (network facts of PXELINUX).
 * - `MENU BEGIN [tag]` … `MENU END` nest menus; the group title is the submenu's MENU LABEL, else its MENU
 *   TITLE, else its tag.
 * - The default: with a menu (`UI x.c32` or `DEFAULT x.c32`) the `MENU DEFAULT` entry, else the label
 *   `DEFAULT` (or `ONTIMEOUT`) names, else the first; a default that runs `whichsys.c32` follows its
 *   `-iso-` label (syslinux wiki "Whichsys.c32"); a `DEFAULT kernel options` naming no label is an entry
 *   of its own. `CONFIG file [dir]` labels load another configuration: followed one level (the default one
 *   replaces the menu, the others become groups).
 * - Paths are relative to the working directory — the folder of the configuration ISOLINUX started with, or
 *   the one `CONFIG` names — unless absolute.
 */
import {
  isoDir,
  isoPath,
  MAX_ENTRIES,
  MAX_INCLUDE_DEPTH,
  IssueNotes,
  readConfig,
  type ConfigBootEntry,
  type ConfigLog,
  type ConfigReader,
  type LoaderMenu,
} from './types.js';
import {
  cleanTitle,
  defaultLabel,
  kernelIsLinux,
  titleOf,
  type Label,
  type MenuNode,
  type State,
  type Tree,
} from './isolinux-tree.js';

const NOT_LINUX_KEYWORDS = new Set(['com32', 'comboot', 'boot', 'bss', 'pxe', 'fdimage', 'localboot']);
/** Directives with nothing for the menu's entries (display, keyboard, prompts, PXELINUX network facts). */
const IGNORED = new Set(
  (
    'prompt display say f1 f2 f3 f4 f5 f6 f7 f8 f9 f10 f11 f12 f0 implicit allowoptions noescape nocomplete ' +
    'serial console font kbdmap path totaltimeout onerror ipappend sysappend nohalt'
  ).split(' '),
);

class Reader extends IssueNotes {
  private readonly reading: string[] = [];

  constructor(
    private readonly reader: ConfigReader,
    log: ConfigLog,
  ) {
    super(log, 'isolinux');
  }

  resolve(cwd: string, p: string): string {
    return p.startsWith('/') ? isoPath(p) : isoPath(`${cwd}/${p}`);
  }

  /** Read the configuration at `path` (and its includes) into a tree. Undefined when unreadable. */
  async tree(path: string, cwd: string): Promise<Tree | undefined> {
    const root: MenuNode = { kind: 'menu', tag: '', menuDefault: false, items: [] };
    const t: Tree = { root, labels: [], menuUi: false, cwd };
    const st: State = { stack: [root], current: root, globalAppend: '' };
    if (!(await this.file(path, t, st))) return undefined;
    commandLineDefault(t, st);
    return t;
  }

  private async file(
    path: string,
    t: Tree,
    st: State,
    from?: { file: string; line: number },
  ): Promise<boolean> {
    const p = isoPath(path);
    if (this.reading.length >= MAX_INCLUDE_DEPTH) {
      this.note('too-deep', from?.file ?? p, from?.line, `${p}: nested deeper than ${MAX_INCLUDE_DEPTH}`);
      return false;
    }
    if (this.reading.some((r) => r.toLowerCase() === p.toLowerCase())) {
      this.note('loop', from?.file ?? p, from?.line, `${p} is already being read`);
      return false;
    }
    const text = await readConfig(this.reader, p, 'isolinux', this.log);
    if (text === undefined) {
      if (from) this.note('missing-file', from.file, from.line, p);
      return false;
    }
    this.reading.push(p);
    try {
      const lines = text.split(/\r?\n|\r/);
      for (let i = 0; i < lines.length; i++) {
        const line = (lines[i] as string).trim();
        if (line === '' || line.startsWith('#')) continue;
        const m = /^(\S+)(?:\s+(.*))?$/.exec(line);
        if (!m) continue;
        const kw = (m[1] as string).toLowerCase();
        const rest = (m[2] ?? '').trim();
        if (kw === 'text' && /^help\b/i.test(rest)) {
          while (i + 1 < lines.length && !/^\s*endtext\b/i.test(lines[i + 1] as string)) i++;
          i++;
          continue;
        }
        await this.directive(kw, rest, t, st, p, i + 1);
      }
    } finally {
      this.reading.pop();
    }
    return true;
  }

  private async directive(
    kw: string,
    rest: string,
    t: Tree,
    st: State,
    file: string,
    line: number,
  ): Promise<void> {
    const label = st.current.kind === 'label' ? st.current : undefined;
    const arg0 = rest.split(/\s+/)[0] ?? '';
    switch (kw) {
      case 'include':
        await this.file(this.resolve(t.cwd, arg0), t, st, { file, line });
        return;
      case 'label': {
        if (t.labels.length >= MAX_ENTRIES) {
          if (t.labels.length === MAX_ENTRIES)
            this.note('too-many', file, line, `more than ${MAX_ENTRIES} labels`);
          st.current = { kind: 'menu', tag: '', menuDefault: false, items: [] }; // a sink for its lines
          return;
        }
        const l: Label = {
          kind: 'label',
          name: rest,
          initrd: [],
          globalAppend: st.globalAppend,
          menuDefault: false,
          hidden: false,
          configPath: file,
          line,
        };
        t.labels.push(l);
        (st.stack[st.stack.length - 1] as MenuNode).items.push(l);
        st.current = l;
        return;
      }
      case 'kernel':
      case 'linux':
        if (!label) return this.note('malformed', file, line, `${kw} outside a label`);
        label.kernel = arg0;
        if (kw === 'kernel' && !kernelIsLinux(arg0)) label.other = arg0;
        return;
      case 'config':
        if (!label) return this.note('malformed', file, line, 'config outside a label');
        label.config = rest.split(/\s+/)[1]
          ? { file: arg0, dir: rest.split(/\s+/)[1] as string }
          : { file: arg0 };
        return;
      case 'initrd':
        // Like KERNEL and APPEND, a later INITRD line replaces the earlier one.
        if (label) label.initrd = rest.split(',').filter(Boolean);
        return;
      case 'append':
        if (label) label.append = rest === '-' ? '' : rest;
        else st.globalAppend = rest === '-' ? '' : rest;
        return;
      case 'default':
        // One DEFAULT holds: a later `DEFAULT vesamenu.c32` replaces an earlier label (Debian's menus set
        // both, the module last), so the menu's own MENU DEFAULT or first entry decides.
        if (/\.c32$/i.test(arg0)) {
          t.menuUi = true;
          t.defaultName = undefined;
          t.defaultAt = undefined;
        } else {
          t.defaultName = rest;
          t.defaultAt = { file, line };
        }
        return;
      case 'ui':
        t.menuUi = true;
        return;
      case 'ontimeout':
        t.onTimeout = rest;
        return;
      case 'timeout': {
        const n = Number(arg0);
        if (Number.isFinite(n)) t.timeout = n / 10; // tenths of a second
        return;
      }
      case 'menu':
        return this.menu(rest, t, st, file, line);
    }
    if (NOT_LINUX_KEYWORDS.has(kw)) {
      if (label) label.other = arg0 || kw;
      return;
    }
    if (!IGNORED.has(kw)) this.note('unsupported', file, line, kw, true);
  }

  private async menu(rest: string, t: Tree, st: State, file: string, line: number): Promise<void> {
    const m = /^(\S+)(?:\s+(.*))?$/.exec(rest);
    const sub = (m?.[1] ?? '').toLowerCase();
    const arg = (m?.[2] ?? '').trim();
    const top = st.stack[st.stack.length - 1] as MenuNode;
    switch (sub) {
      case 'label':
        st.current.label = cleanTitle(arg);
        return;
      case 'title':
        // A submenu's title; the main menu's title says nothing about entries.
        if (st.current.kind === 'menu') st.current.title = cleanTitle(arg);
        else if (top !== t.root) top.title = cleanTitle(arg);
        return;
      case 'default':
        st.current.menuDefault = true;
        return;
      case 'hide':
        if (st.current.kind === 'label') st.current.hidden = true;
        return;
      case 'begin': {
        if (st.stack.length > 16) return this.note('too-deep', file, line, 'menus nested deeper than 16');
        const node: MenuNode = { kind: 'menu', tag: arg, menuDefault: false, items: [] };
        top.items.push(node);
        st.stack.push(node);
        st.current = node;
        return;
      }
      case 'end':
        if (st.stack.length > 1) st.stack.pop();
        st.current = st.stack[st.stack.length - 1] as MenuNode;
        return;
      case 'include': {
        const [f, tag] = arg.split(/\s+/);
        if (!f) return;
        if (tag) await this.menu(`begin ${tag}`, t, st, file, line);
        await this.directive('include', f, t, st, file, line);
        if (tag) await this.menu('end', t, st, file, line);
        return;
      }
      case 'exit':
      case 'goto':
      case 'quit':
        if (st.current.kind === 'label') st.current.other = `menu ${sub}`;
        return;
    }
  }
}

/**
 * `DEFAULT kernel options` naming no label is a command line (syslinux wiki "Config", DEFAULT): boot that
 * kernel with those options (and the global APPEND when there are none). It becomes the first entry.
 */
function commandLineDefault(t: Tree, st: State): void {
  const [kernel, ...opts] = (t.defaultName ?? '').split(/\s+/).filter(Boolean);
  if (!kernel || /\.c32$/i.test(kernel)) return;
  const lower = kernel.toLowerCase();
  if (t.labels.some((l) => l.name.toLowerCase() === lower)) return;
  const l: Label = {
    kind: 'label',
    name: kernel,
    kernel,
    initrd: [],
    globalAppend: st.globalAppend,
    ...(opts.length ? { append: opts.join(' ') } : {}),
    menuDefault: false,
    hidden: false,
    configPath: t.defaultAt?.file ?? '',
    line: t.defaultAt?.line ?? 0,
  };
  if (!kernelIsLinux(kernel)) l.other = kernel;
  t.labels.unshift(l);
  t.root.items.unshift(l);
}

/** A label's boot entry (undefined for a non-Linux or navigation label; those are noted). */
function entryOf(
  r: Reader,
  l: Label,
  group: string[],
  cwd: string,
  isDefault: boolean,
): ConfigBootEntry | undefined {
  if (l.other || l.config) {
    if (!l.other?.startsWith('menu ') && !l.config)
      r.note('not-linux', l.configPath, l.line, `"${titleOf(l)}": ${l.other}`);
    return undefined;
  }
  const kernel = l.kernel === undefined ? '' : r.resolve(cwd, l.kernel);
  if (!kernel) {
    r.note('malformed', l.configPath, l.line, `"${titleOf(l)}": no kernel`);
    return undefined;
  }
  const args: string[] = [];
  const initrds = l.initrd.map((p) => r.resolve(cwd, p));
  for (const a of (l.append ?? l.globalAppend).split(/\s+/).filter(Boolean)) {
    if (/^initrd=/i.test(a))
      initrds.push(
        ...a
          .slice(7)
          .split(',')
          .filter(Boolean)
          .map((p) => r.resolve(cwd, p)),
      );
    else args.push(a);
  }
  return {
    title: titleOf(l),
    group,
    kernel,
    initrds: [...new Set(initrds.filter(Boolean))],
    args: args.join(' '),
    isDefault,
    source: 'isolinux',
    configPath: l.configPath,
    loaderId: l.name,
  };
}

/**
 * The menu ISOLINUX would show from the configuration at `path`. The working directory is the config's
 * folder, or `cwd`: PXELINUX reads `pxelinux.cfg/default` with the folder of pxelinux.0 as its working
 * directory (syslinux wiki "PXELINUX"), so a netboot tree is read with `cwd` ''. Undefined when the file
 * cannot be read. Entries that do not boot Linux are left out (noted in the log).
 */
export async function readIsolinuxMenu(
  reader: ConfigReader,
  path: string,
  log: ConfigLog,
  cwd: string = isoDir(path),
): Promise<LoaderMenu | undefined> {
  const r = new Reader(reader, log);
  const t = await r.tree(path, isoPath(cwd));
  if (!t) return undefined;
  const entries: ConfigBootEntry[] = [];
  const dflt = defaultLabel(t);
  const followed = new Set<string>();
  const followConfig = async (l: Label, group: string[], isDefault: boolean): Promise<Tree | undefined> => {
    if (!l.config) return undefined;
    // CONFIG keeps the working directory unless it names a new one (syslinux wiki "Config", CONFIG).
    const file = r.resolve(t.cwd, l.config.file);
    if (followed.has(file.toLowerCase())) return undefined; // two labels loading one file: read it once
    followed.add(file.toLowerCase());
    const cwd = l.config.dir ? r.resolve(t.cwd, l.config.dir) : t.cwd;
    const sub = await r.tree(file, cwd);
    if (!sub) r.note('missing-file', l.configPath, l.line, file);
    else collect(sub, sub.root, group, isDefault ? defaultLabel(sub) : undefined, false, !isDefault);
    return sub;
  };
  const pending: { l: Label; group: string[] }[] = [];
  const same = (a: ConfigBootEntry, b: ConfigBootEntry): boolean =>
    a.kernel === b.kernel && a.args === b.args && a.initrds.join(',') === b.initrds.join(',');
  const collect = (
    tree: Tree,
    node: MenuNode,
    group: string[],
    d: Label | undefined,
    top: boolean,
    dedupe = false,
  ): void => {
    for (const item of node.items) {
      if (item.kind === 'menu') {
        collect(tree, item, [...group, titleOf(item)], d, top, dedupe);
        continue;
      }
      if (item.hidden && item !== d) continue;
      if (item.config && top) pending.push({ l: item, group: [...group, titleOf(item)] });
      else if (item.config)
        r.note('unsupported', item.configPath, item.line, `CONFIG nested more than one level`);
      const e = entryOf(r, item, group, tree.cwd, item === d);
      // A CONFIG'd help or prompt screen often includes the main menu again: its copies add nothing.
      if (e && dedupe && entries.some((x) => same(x, e))) continue;
      if (e && entries.length < MAX_ENTRIES) entries.push(e);
    }
  };
  // A default that loads another configuration: that configuration is the menu.
  if (dflt?.config) {
    const sub = await followConfig(dflt, [], true);
    if (sub) return { entries, ...(sub.timeout === undefined ? {} : { timeoutSeconds: sub.timeout }) };
  }
  collect(t, t.root, [], dflt, true);
  for (const p of pending) await followConfig(p.l, p.group, false);
  return { entries, ...(t.timeout === undefined ? {} : { timeoutSeconds: t.timeout }) };
}
