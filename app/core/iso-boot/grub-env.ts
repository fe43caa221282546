/**
 * The state the GRUB evaluator (grub-config.ts) keeps — environment contexts, the menu being built — and
 * the argument shapes of the commands it models (GRUB manual, "The list of command-line and menu entry
 * commands").
 */
import type { Stmt } from './grub-parse.js';
import { isoPath } from './types.js';

/** One scope of variables (GRUB's environment context) and its menu. */
export class Context {
  readonly vars = new Map<string, string>();
  readonly exported = new Set<string>();
  menu: MenuItem[] = [];
  /** A child context: the exported variables only (GRUB manual "export"), or all of them. */
  child(all: boolean): Context {
    const c = new Context();
    for (const [k, v] of this.vars) if (all || this.exported.has(k)) c.vars.set(k, v);
    for (const k of this.exported) c.exported.add(k);
    return c;
  }
}

/** What a `menuentry` and a `submenu` both record where they are defined. */
interface MenuItemBase {
  readonly title: string;
  readonly id?: string;
  readonly body: readonly Stmt[];
  readonly configPath: string;
  readonly line: number;
  /** The context it was defined in: its body runs there when the menu is shown. */
  readonly ctx: Context;
}

export type MenuItem =
  | (MenuItemBase & { readonly kind: 'entry'; readonly args: readonly string[] })
  | (MenuItemBase & { readonly kind: 'submenu' });

/** What a running menu entry body loaded. */
export interface Loaded {
  kernel?: string;
  args?: string;
  initrds: string[];
  other?: string;
}

/** Signals out of a statement list: configfile replaced the menu, or the step budget ran out. */
export class Stop {
  constructor(readonly why: 'configfile' | 'budget') {}
}

/** `(dev)/a/b`, `($root)/a/b`, `/a/b` → `a/b`; relative paths are taken from the image root. */
export function grubPath(p: string): string {
  return isoPath(p.replace(/^\([^)]*\)/, ''));
}

export const ENTRY_OPTS_WITH_VALUE = new Set(['--class', '--users', '--hotkey', '--id']);
export const LINUX = new Set(['linux', 'linuxefi', 'linux16', 'linuxx64']);
export const INITRD = new Set(['initrd', 'initrdefi', 'initrd16']);
export const words = (s: string): Set<string> => new Set(s.split(' '));
/** Commands that boot something else than Linux (GRUB manual "chainloader", "multiboot", …). */
export const NOT_LINUX = words(
  'chainloader multiboot multiboot2 kfreebsd knetbsd kopenbsd appleloader xnu_kernel xnu_kernel64 ' +
    'legacy_kernel ntldr freedos halt reboot fwsetup exit',
);
/** Commands that change nothing the menu depends on (display, modules, sounds). */
export const QUIET = words(
  'insmod rmmod loadfont font terminal_output terminal_input terminal gfxmode background_image ' +
    'background_color echo sleep play clear serial load_env save_env set_background videoinfo loopback ' +
    'probe ls boot hiddenentry cat gettext lsefi smbios grub_platform',
);

/** GRUB manual "default": a number, a menu entry id or title, or a "N>M" path of them through submenus. */
export function defaultParts(ctx: Context): string[] {
  const value = (ctx.vars.get('default') ?? '').trim();
  return value === '' ? ['0'] : value.split('>');
}

/** One level of a default path; anything that names no item is entry 0, as GRUB falls back. */
export function menuIndex(menu: readonly MenuItem[], part: string): number {
  let i = /^[0-9]+$/.test(part) ? Number(part) : menu.findIndex((m) => m.id === part);
  if (i < 0) i = menu.findIndex((m) => m.title === part);
  return i >= 0 && i < menu.length ? i : 0;
}

/** `menuentry`/`submenu` arguments: options `--class --users --hotkey --id` (with `=` or a separate value),
 * `--unrestricted` and unknown options before the title are dropped; the first other argument is the title. */
export function entryArgs(args: readonly string[]): { title: string; id?: string; rest: string[] } {
  const rest: string[] = [];
  let id: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const eq = a.indexOf('=');
    const opt = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    if (ENTRY_OPTS_WITH_VALUE.has(opt)) {
      const v = opt === a ? args[++i] : a.slice(eq + 1);
      if (opt === '--id' && v !== undefined) id = v;
    } else if (a === '--unrestricted' || (a.startsWith('--') && rest.length === 0 && a !== '--')) {
      // other options before the title are ignored
    } else rest.push(a);
  }
  return { title: rest[0] ?? '', ...(id === undefined ? {} : { id }), rest };
}

/** `search [--file|--label|--fs-uuid] [--set[=var]] [--no-floppy] … name`: the variable it sets and,
 * for a file search, the file it looks for (GRUB manual "search"). */
export function searchArgs(cmd: string, args: readonly string[]): { varName: string; file?: string } {
  let varName = 'root';
  let byFile = cmd === 'search.file';
  const terms: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a.startsWith('--set=')) varName = a.slice(6);
    else if (a === '--set' || a === '-s') {
      const nxt = args[i + 1];
      if (nxt !== undefined && !nxt.startsWith('-') && args.length - i > 2) {
        varName = nxt;
        i++;
      }
    } else if (a === '--file' || a === '-f') byFile = true;
    else if (!a.startsWith('-')) terms.push(a);
  }
  return byFile && terms[0] !== undefined ? { varName, file: terms[0] } : { varName };
}

/**
 * `regexp [--set [N:]var]… regexp string` (GRUB manual "regexp": POSIX extended expressions, which a
 * JavaScript RegExp reads alike for what configurations use): whether it matches, and the variables set
 * to its Nth group (without N: the first group; 0: the whole match). A pattern JavaScript cannot compile
 * does not match.
 */
export function regexpCommand(args: readonly string[]): { ok: boolean; sets: [string, string][] } {
  const wanted: [string, number][] = [];
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const spec = a === '--set' || a === '-s' ? args[++i] : a.startsWith('--set=') ? a.slice(6) : undefined;
    if (spec === undefined) {
      rest.push(a);
      continue;
    }
    const m = /^(?:(\d+):)?(.+)$/.exec(spec);
    if (m) wanted.push([m[2] as string, Number(m[1] ?? 1)]);
  }
  const [pattern, subject] = rest;
  if (pattern === undefined || subject === undefined) return { ok: false, sets: [] };
  let match: RegExpExecArray | null;
  try {
    match = new RegExp(pattern).exec(subject);
  } catch {
    return { ok: false, sets: [] };
  }
  if (!match) return { ok: false, sets: [] };
  const found = match;
  return { ok: true, sets: wanted.map(([name, n]) => [name, found[n] ?? ''] as [string, string]) };
}
