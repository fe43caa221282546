/** Entries planned per firmware, merged where alike on both firmwares, with stable ids. Pure. */
import type { IsoBootEntry, IsoFirmware, IsoRoute } from '../../shared/iso-boot-types.js';

/** One entry for one firmware, before entries alike on both firmwares are merged. */
export interface Planned {
  readonly fw: IsoFirmware;
  readonly title: string;
  readonly group: readonly string[];
  readonly route: IsoRoute;
  readonly kernel?: string;
  readonly initrds?: readonly string[];
  readonly cmdline?: string;
  readonly isDefault: boolean;
  readonly idHint: string;
}

function slug(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 48) || 'entry'
  );
}

function same(a: Planned, b: Planned): boolean {
  return (
    a.title === b.title &&
    a.route === b.route &&
    a.kernel === b.kernel &&
    a.cmdline === b.cmdline &&
    a.isDefault === b.isDefault &&
    (a.initrds ?? []).join('\n') === (b.initrds ?? []).join('\n') &&
    a.group.join('\n') === b.group.join('\n')
  );
}

/** Entries alike on both firmwares become one; ids are stable slugs, unique within the ISO. */
export function mergeEntries(planned: readonly Planned[]): IsoBootEntry[] {
  const merged: { p: Planned; fws: IsoFirmware[] }[] = [];
  for (const p of planned) {
    const hit = merged.find((m) => same(m.p, p) && !m.fws.includes(p.fw));
    if (hit) hit.fws.push(p.fw);
    else merged.push({ p, fws: [p.fw] });
  }
  const used = new Set<string>();
  return merged.map(({ p, fws }) => {
    const base = slug(p.idHint);
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}-${n}`;
    used.add(id);
    return {
      id,
      title: p.title,
      firmware: fws,
      route: p.route,
      ...(p.kernel !== undefined ? { kernel: p.kernel } : {}),
      ...(p.initrds !== undefined ? { initrds: p.initrds } : {}),
      ...(p.cmdline !== undefined ? { cmdline: p.cmdline } : {}),
      isDefault: p.isDefault,
      ...(p.group.length > 0 ? { group: p.group } : {}),
    };
  });
}
