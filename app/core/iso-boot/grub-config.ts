/**
 * GRUB 2 configuration evaluator: runs an ISO's grub.cfg the way GRUB's normal mode would on one firmware,
 * far enough to know its menu — which entries, in which submenus, with which kernel, initrds and command
 * line, and which one is the default. Syntax: grub-parse.ts. Commands: GRUB manual, "The list of command-line
 * and menu entry commands" and "Shell-like scripting".
 *
 * What is modelled:
 * - `set`/`unset`/`export`, `name=value`, `${var}`/`$var`; `$grub_platform` is "pc" (BIOS) or "efi" (UEFI),
 *   `$grub_cpu` "i386"/"x86_64", `$root` "cd0", `$prefix` "(cd0)/<folder of the config>" (GRUB manual
 *   "Special environment variables"). `search … --set[=var]` sets var (default root) to the ISO itself.
 * - `if`/`elif`/`else` over `[`/`test` (strings, numbers, `-e -f -d -s` against the image), `regexp`,
 *   `true`, `false`, `search --file` (existence), `cpuid -l` (true: the clients are x86-64), `keystatus`
 *   (false: nobody holds a key), other commands true; `for … in`; `function` definitions and calls.
 * - `menuentry` (options `--class --users --hotkey --id --unrestricted`) and `submenu`: bodies run when the
 *   menu is shown, i.e. after the whole file (GRUB manual "menuentry": the body runs when the entry is
 *   selected), with the variables as the file left them; a submenu body runs in a new context.
 * - `linux`/`linuxefi`/`linux16`, `initrd`/`initrdefi`/`initrd16` (several files); anything else that boots
 *   (`chainloader`, `multiboot`, …) makes the entry "not Linux".
 * - `source` (same context) and `configfile` (new context with the exported variables; its menu replaces
 *   the current one) — GRUB manual "configfile", "source", "export".
 * - `default` (index, "N>M" path, `--id` or title) and `timeout` (GRUB manual "default", "timeout").
 */
import type { IsoFirmware } from '../../shared/iso-boot-types.js';
import { parseGrub, type Stmt, type Word } from './grub-parse.js';
import {
  existsSafe,
  isoDir,
  isoPath,
  MAX_ENTRIES,
  MAX_INCLUDE_DEPTH,
  MAX_STEPS,
  IssueNotes,
  readConfig,
  type ConfigBootEntry,
  type ConfigLog,
  type ConfigReader,
  type LoaderMenu,
} from './types.js';
import { grubTest } from './grub-test.js';
import { collectMenu } from './grub-menu.js';
import {
  Context,
  defaultParts,
  entryArgs,
  grubPath,
  INITRD,
  LINUX,
  NOT_LINUX,
  QUIET,
  regexpCommand,
  searchArgs,
  Stop,
  type Loaded,
} from './grub-env.js';

export { grubPath } from './grub-env.js';

class Evaluator extends IssueNotes {
  private steps = 0;
  private items = 0;
  private readonly functions = new Map<string, readonly Stmt[]>();
  private readonly reading: string[] = [];
  private readonly parsed = new Map<string, readonly Stmt[]>();

  constructor(
    private readonly reader: ConfigReader,
    private readonly firmware: IsoFirmware,
    log: ConfigLog,
  ) {
    super(log, 'grub');
  }

  rootContext(configPath: string): Context {
    const c = new Context();
    const set = (k: string, v: string): void => {
      c.vars.set(k, v);
      c.exported.add(k);
    };
    set('grub_platform', this.firmware === 'uefi' ? 'efi' : 'pc');
    set('grub_cpu', this.firmware === 'uefi' ? 'x86_64' : 'i386');
    set('root', 'cd0');
    set('prefix', `(cd0)/${isoDir(configPath)}`);
    set('cmdpath', this.firmware === 'uefi' ? '(cd0)/EFI/BOOT' : '(cd0)');
    return c;
  }

  expand(w: Word, ctx: Context, pos: readonly string[]): string {
    let s = '';
    for (const p of w.parts) {
      if ('text' in p) s += p.text;
      else if (/^[0-9]+$/.test(p.name)) s += pos[Number(p.name)] ?? '';
      else if (p.name === '#') s += String(Math.max(0, pos.length - 1));
      else if (p.name === '*' || p.name === '@') s += pos.slice(1).join(' ');
      else s += ctx.vars.get(p.name) ?? '';
    }
    return s;
  }

  /** Read, parse and run one file in `ctx`. False when it could not be read. */
  async runFile(
    path: string,
    ctx: Context,
    pos: readonly string[],
    line?: number,
    from?: string,
    loaded?: Loaded,
  ): Promise<boolean> {
    const p = isoPath(path);
    if (this.reading.length >= MAX_INCLUDE_DEPTH) {
      this.note('too-deep', from ?? p, line, `${p}: nested deeper than ${MAX_INCLUDE_DEPTH}`);
      return false;
    }
    if (this.reading.some((r) => r.toLowerCase() === p.toLowerCase())) {
      this.note('loop', from ?? p, line, `${p} is already being read`);
      return false;
    }
    const text = await readConfig(this.reader, p, 'grub', this.log);
    if (text === undefined) {
      if (from !== undefined) this.note('missing-file', from, line, p);
      return false;
    }
    let stmts = this.parsed.get(p.toLowerCase());
    if (!stmts) {
      // Parsed (and its syntax problems noted) once, however often it is sourced.
      const problems: { line: number; detail: string }[] = [];
      stmts = parseGrub(text, problems);
      for (const pr of problems.slice(0, 20)) this.note('malformed', p, pr.line, pr.detail);
      this.parsed.set(p.toLowerCase(), stmts);
    }
    this.reading.push(p);
    try {
      await this.run(stmts, ctx, pos, p, loaded);
    } finally {
      this.reading.pop();
    }
    return true;
  }

  /** Run statements; returns the status of the last command (GRUB's `$?` as a boolean). */
  async run(
    stmts: readonly Stmt[],
    ctx: Context,
    pos: readonly string[],
    file: string,
    loaded?: Loaded,
  ): Promise<boolean> {
    let status = true;
    for (const s of stmts) {
      if (++this.steps > MAX_STEPS) throw new Stop('budget');
      switch (s.t) {
        case 'cmd':
          status = await this.command(
            s.words.map((w) => this.expand(w, ctx, pos)),
            ctx,
            pos,
            file,
            s.line,
            loaded,
          );
          break;
        case 'if': {
          let done = false;
          for (const b of s.branches) {
            if (await this.run(b.cond, ctx, pos, file, loaded)) {
              status = await this.run(b.body, ctx, pos, file, loaded);
              done = true;
              break;
            }
          }
          if (!done) status = await this.run(s.otherwise, ctx, pos, file, loaded);
          break;
        }
        case 'entry':
        case 'submenu':
          this.define(s, ctx, pos, file);
          break;
        case 'function':
          if (s.name) this.functions.set(s.name, s.body);
          break;
        case 'for':
          for (const item of s.items
            .map((w) => this.expand(w, ctx, pos))
            .join(' ')
            .split(/\s+/)
            .filter(Boolean)) {
            ctx.vars.set(s.name, item);
            status = await this.run(s.body, ctx, pos, file, loaded);
          }
          break;
        case 'loop':
          this.note('unsupported', file, s.line, 'while/until loop (skipped)', true);
          break;
      }
    }
    return status;
  }

  define(
    s: Extract<Stmt, { t: 'entry' | 'submenu' }>,
    ctx: Context,
    pos: readonly string[],
    file: string,
  ): void {
    const { title, id, rest } = entryArgs(s.words.map((w) => this.expand(w, ctx, pos)));
    if (++this.items > MAX_ENTRIES) {
      if (this.items === MAX_ENTRIES + 1)
        this.note('too-many', file, s.line, `more than ${MAX_ENTRIES} menu entries`);
      return;
    }
    const base = {
      title,
      ...(id === undefined ? {} : { id }),
      body: s.body,
      configPath: file,
      line: s.line,
      ctx,
    };
    ctx.menu.push(s.t === 'entry' ? { kind: 'entry', ...base, args: rest } : { kind: 'submenu', ...base });
  }

  async command(
    argv: string[],
    ctx: Context,
    pos: readonly string[],
    file: string,
    line: number,
    loaded?: Loaded,
  ): Promise<boolean> {
    const [cmd, ...args] = argv;
    if (cmd === undefined || cmd === '') return true;
    const assign = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(cmd);
    if (assign && args.length === 0) {
      ctx.vars.set(assign[1] as string, assign[2] as string);
      return true;
    }
    if (cmd === 'set') {
      for (const a of args) {
        const m = /^([^=]+)=(.*)$/s.exec(a);
        if (m) ctx.vars.set(m[1] as string, m[2] as string);
      }
      return true;
    }
    if (cmd === 'unset') {
      for (const a of args) ctx.vars.delete(a);
      return true;
    }
    if (cmd === 'export') {
      for (const a of args) ctx.exported.add(a);
      return true;
    }
    if (cmd === 'true') return true;
    if (cmd === 'false') return false;
    if (cmd === '[' || cmd === 'test') {
      const t = cmd === '[' ? (args[args.length - 1] === ']' ? args.slice(0, -1) : args) : args;
      return grubTest(t, (p) => existsSafe(this.reader, grubPath(p)));
    }
    if (cmd === '!') return !(await this.command(args, ctx, pos, file, line, loaded));
    if (cmd === 'search' || cmd === 'search.file' || cmd === 'search.fs_label' || cmd === 'search.fs_uuid') {
      return this.search(cmd, args, ctx);
    }
    if (cmd === 'regexp') {
      const { ok, sets } = regexpCommand(args);
      for (const [k, v] of sets) ctx.vars.set(k, v);
      return ok;
    }
    if (cmd === 'cpuid') return true;
    if (cmd === 'keystatus') return false;
    if (cmd === 'source' || cmd === '.') {
      const target = args[0];
      // An entry's body may source the file that holds its linux/initrd lines.
      if (target === undefined) return false;
      return this.runFile(this.includePath(target, ctx), ctx, pos, line, file, loaded);
    }
    if (cmd === 'configfile') {
      const target = args[0];
      if (target === undefined) return false;
      if (loaded) {
        loaded.other ??= 'configfile';
        return true;
      }
      // GRUB manual "configfile": a new context that sees only the exported variables; its menu is shown.
      const child = ctx.child(false);
      const ok = await this.runFile(this.includePath(target, ctx), child, [], line, file);
      if (ok && child.menu.length) {
        ctx.menu = child.menu;
        for (const [k, v] of child.vars) if (k === 'default' || k === 'timeout') ctx.vars.set(k, v);
        throw new Stop('configfile');
      }
      return ok;
    }
    if (LINUX.has(cmd)) {
      // GRUB manual "linux": `linux file …`; the rest is the kernel command line as written.
      if (loaded && args[0] !== undefined) {
        loaded.kernel = grubPath(args[0]);
        loaded.args = args.slice(1).join(' ').replace(/\s+/g, ' ').trim();
      }
      return true;
    }
    if (INITRD.has(cmd)) {
      if (loaded)
        loaded.initrds = args
          .filter((a) => !a.startsWith('--'))
          .map(grubPath)
          .filter(Boolean);
      return true;
    }
    if (NOT_LINUX.has(cmd)) {
      if (loaded) loaded.other ??= cmd;
      return true;
    }
    const fn = this.functions.get(cmd);
    if (fn) {
      if (this.reading.length + 1 > MAX_INCLUDE_DEPTH * 4) return false;
      this.reading.push(`function ${cmd}`);
      try {
        return await this.run(fn, ctx, [cmd, ...args], file, loaded);
      } finally {
        this.reading.pop();
      }
    }
    if (!QUIET.has(cmd)) this.note('unsupported', file, line, cmd, true);
    return true;
  }

  includePath(target: string, ctx: Context): string {
    if (target.startsWith('/') || target.startsWith('(')) return grubPath(target);
    return isoPath(`${grubPath(ctx.vars.get('prefix') ?? '')}/${target}`);
  }

  /** GRUB manual "search": the image is the only device, so every search finds it (`--file` is checked). */
  async search(cmd: string, args: readonly string[], ctx: Context): Promise<boolean> {
    const { varName, file } = searchArgs(cmd, args);
    if (file !== undefined && !(await existsSafe(this.reader, grubPath(file)))) return false;
    ctx.vars.set(varName, 'cd0');
    return true;
  }
}

/**
 * The menu GRUB would show from `path` (a grub.cfg inside the ISO) on `firmware`. Undefined when the file
 * cannot be read. Entries that do not boot Linux are left out (noted in the log).
 */
export async function readGrubMenu(
  reader: ConfigReader,
  path: string,
  firmware: IsoFirmware,
  log: ConfigLog,
): Promise<LoaderMenu | undefined> {
  const ev = new Evaluator(reader, firmware, log);
  const ctx = ev.rootContext(path);
  let ok = true;
  try {
    ok = await ev.runFile(path, ctx, []);
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    if (e.why === 'budget') ev.note('too-many', isoPath(path), undefined, `more than ${MAX_STEPS} steps`);
  }
  if (!ok) return undefined;
  const entries: ConfigBootEntry[] = [];
  try {
    await collectMenu(ev, ctx, [], entries, defaultParts(ctx));
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    ev.note('too-many', isoPath(path), undefined, `more than ${MAX_STEPS} steps`);
  }
  const t = Number((ctx.vars.get('timeout') ?? '').trim());
  const timeout = ctx.vars.has('timeout') && Number.isFinite(t) ? { timeoutSeconds: t } : {};
  return { entries, ...timeout };
}
