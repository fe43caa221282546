/**
 * The PXE boot menu a BIOS PXE ROM shows (option 43 sub-options 6/8/9/10, PXE 2.1 Table 2-1): its item
 * types, its encoding within one option 43, and the checks config validation runs before a session
 * starts. The boot decision (boot-decision.ts) decides who gets it.
 */
import type { PxeMenuConfig, PxeMenuItem } from '../../shared/session-types.js';

export type PxeMenu = PxeMenuConfig;
export type { PxeMenuItem };

/** Largest option 43 payload: one option, no RFC 3396 split (dnsmasq refuses more too). */
const MAX_OPTION_43 = 255;

/**
 * PXE boot server type of menu item `index`: 0 = local boot, else the vendor range from 0x8000 as dnsmasq
 * numbers its services (PXE 2.1 §2.2.1), so both servers put the same bytes on the wire for the same menu.
 */
export function menuItemType(menu: PxeMenu | undefined, index: number): number {
  return menu?.items[index]?.local ? 0 : 0x8000 + index;
}

/**
 * Problems with a menu, in words a user can act on (empty when fine). Used by config validation so a
 * menu that cannot be sent is refused before a session starts (test-catalogue P14).
 */
export function pxeMenuProblems(menu: PxeMenu): string[] {
  const out: string[] = [];
  if (!Array.isArray(menu.items) || menu.items.length === 0) out.push('PXE menu: add at least one item');
  menu.items.forEach((item, i) => {
    const n = Buffer.byteLength(item.label ?? '', 'latin1');
    if (n === 0 || n > 250)
      out.push(`PXE menu item ${i + 1}: the label must be 1-250 characters (it has ${n})`);
    if (/[^\x20-\x7e\xa0-\xff]/.test(item.label ?? '')) {
      out.push(`PXE menu item ${i + 1}: the label may hold printable Latin-1 characters only`);
    }
    if (item.local && item.bootFile) out.push(`PXE menu item ${i + 1}: a local-boot item has no boot file`);
  });
  const prompt = menu.prompt ?? 'PXE';
  if (Buffer.byteLength(prompt, 'latin1') > 200)
    out.push('PXE menu: the prompt must be at most 200 characters');
  const t = menu.timeoutSeconds;
  if (t !== undefined && (!Number.isInteger(t) || t < 0 || t > 255)) {
    out.push('PXE menu: the timeout must be a whole number of seconds from 0 to 255');
  }
  if (out.length === 0) {
    const fits = encodePxeMenu(menu, '0.0.0.0').items;
    if (fits < menu.items.length) {
      out.push(
        `PXE menu: only ${fits} of ${menu.items.length} items fit in option 43 (255 bytes): shorten the labels or the prompt`,
      );
    }
  }
  return out;
}

/**
 * Option 43 for a menu offer (PXE 2.1 Table 2-1; the layout dnsmasq's `pxe_opts` sends): 6 = 3 (no broadcast or
 * multicast discovery: ask the servers in 8), 8 = {type, 1, bootServer} per network item, 9 = the items,
 * 10 = {timeout, prompt}, 255. Items that would push the option past 255 bytes, or past `budget` (what the
 * client's reply size leaves), are left out (test-catalogue D29); `items` says how many fit. Pure: callers log.
 */
export function encodePxeMenu(
  menu: PxeMenu,
  bootServer: string,
  budget = MAX_OPTION_43,
): { value: Buffer; items: number } {
  const max = Math.min(MAX_OPTION_43, budget);
  const prompt = Buffer.from((menu.prompt ?? 'PXE').slice(0, 200), 'latin1');
  const server = bootServer.split('.').map((x) => Number(x) & 255);
  const fixed = 3 + 2 + 2 + 3 + prompt.length + 1; // 6, 8 and 9 headers, 10, END
  let kept = 0;
  let size = fixed;
  const servers: number[] = [];
  const entries: number[] = [];
  for (let i = 0; i < menu.items.length; i++) {
    const item = menu.items[i]!;
    const label = Buffer.from(item.label.slice(0, 250), 'latin1');
    const type = menuItemType(menu, i);
    const add = 3 + label.length + (type === 0 ? 0 : 7);
    if (size + add > max) break;
    size += add;
    kept++;
    entries.push(type >> 8, type & 255, label.length, ...label);
    if (type !== 0) servers.push(type >> 8, type & 255, 1, ...server);
  }
  const timeout = menu.timeoutSeconds ?? (kept > 1 ? 255 : 0);
  const parts = [6, 1, 3];
  if (servers.length > 0) parts.push(8, servers.length, ...servers);
  parts.push(9, entries.length, ...entries, 10, 1 + prompt.length, timeout, ...prompt, 255);
  return { value: Buffer.from(parts), items: kept };
}
