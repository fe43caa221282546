/**
 * The GRUB evaluator's second half (grub-config.ts runs the file): the menu it built, run entry by entry
 * into boot entries, with the default marked.
 */
import type { Stmt } from './grub-parse.js';
import { defaultParts, menuIndex, Stop, type Context, type Loaded, type MenuItem } from './grub-env.js';
import type { ConfigBootEntry, ConfigIssueCode } from './types.js';

/** What collectMenu needs of the evaluator. */
export interface MenuRunner {
  run(
    stmts: readonly Stmt[],
    ctx: Context,
    pos: readonly string[],
    file: string,
    loaded?: Loaded,
  ): Promise<boolean>;
  note(code: ConfigIssueCode, configPath: string, line: number | undefined, detail: string): void;
}

/**
 * Run each entry body (and submenu body) of a menu, depth first, into boot entries: what GRUB does when an
 * entry is chosen (GRUB manual "menuentry", "submenu"), for every entry. `dflt` is the default path at this
 * level (GRUB manual "default"), undefined when the default lies elsewhere.
 */
export async function collectMenu(
  ev: MenuRunner,
  ctx: Context,
  group: string[],
  out: ConfigBootEntry[],
  dflt: readonly string[] | undefined,
): Promise<void> {
  const at = dflt === undefined ? -1 : menuIndex(ctx.menu, dflt[0] ?? '');
  for (let i = 0; i < ctx.menu.length; i++) {
    const item = ctx.menu[i] as MenuItem;
    const isDef = i === at && dflt !== undefined;
    if (item.kind === 'submenu') {
      // A submenu's body runs in a new context when it is opened, without `default`; GRUB builds that
      // carry a distribution patch (Fedora) copy every variable, upstream only the exported ones — the
      // wider view is kept here.
      const child = item.ctx.child(true);
      child.vars.delete('default');
      try {
        await ev.run(item.body, child, ['', item.title], item.configPath);
      } catch (e) {
        if (!(e instanceof Stop) || e.why === 'budget') throw e;
      }
      const sub = !isDef ? undefined : dflt.length > 1 ? dflt.slice(1) : defaultParts(child);
      await collectMenu(ev, child, [...group, item.title], out, sub);
      continue;
    }
    const loaded: Loaded = { initrds: [] };
    const scope = item.ctx.child(true);
    scope.vars.set('chosen', item.title);
    try {
      // GRUB runs the body with the menuentry's arguments as $1… (the title first).
      await ev.run(item.body, scope, ['', ...item.args], item.configPath, loaded);
    } catch (e) {
      if (!(e instanceof Stop) || e.why === 'budget') throw e;
    }
    if (!loaded.kernel) {
      const why = loaded.other ? `boots with ${loaded.other}` : 'no linux command';
      ev.note(
        loaded.other ? 'not-linux' : 'malformed',
        item.configPath,
        item.line,
        `"${item.title}": ${why}`,
      );
      continue;
    }
    out.push({
      title: item.title,
      group: [...group],
      kernel: loaded.kernel,
      initrds: loaded.initrds,
      args: loaded.args ?? '',
      isDefault: isDef && dflt.length <= 1,
      source: 'grub',
      configPath: item.configPath,
      ...(item.id === undefined ? {} : { loaderId: item.id }),
    });
  }
}
