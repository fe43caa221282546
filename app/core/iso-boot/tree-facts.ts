/**
 * What an ISO's tree says about it, read by a few bounded lookups (never a full walk): the live-root family,
 * the distribution and version, the live root's path, the UEFI loader chain. Every lookup swallows reader
 * errors: a malformed image yields fewer facts, never an exception.
 */
import type { FsView, IsoEntry } from '../../engines/iso/index.js';
import type { IsoFamily } from '../../shared/iso-boot-types.js';

/** Largest text file read for identification (.disk/info, .treeinfo, os-release...). */
const MAX_TEXT = 64 * 1024;
/** Largest EFI loader scanned for memtest's banner. */
const MAX_SCAN = 4 * 1024 * 1024;

export interface TreeFacts {
  readonly family: IsoFamily;
  readonly distro?: string;
  readonly version?: string;
  /** live-boot: `live/filesystem.squashfs`; casper: the squashfs layers; dracut: `LiveOS/squashfs.img`. */
  readonly rootImage?: string;
  /** Bytes of the root image(s) a route downloads into RAM (live-boot, dracut, archiso). */
  readonly rootBytes?: number;
  readonly archisoBaseDir?: string;
  /** dracut family: an Anaconda installer (stage 2 `images/install.img`) rather than a live image. */
  readonly installer?: boolean;
  /** archiso family: Manjaro's miso hooks rather than archiso's. */
  readonly miso?: boolean;
  readonly efiLoader?: { readonly path: string; readonly secondStage?: string };
  /** memtest: its BIOS program (.bin with the 16-bit boot protocol) and UEFI program, paths in the ISO. */
  readonly memtest?: { readonly bios?: string; readonly uefi?: string };
}

/** Safe lookups over an FsView. */
export class TreeProbe {
  constructor(private readonly view: FsView) {}

  async stat(path: string): Promise<IsoEntry | undefined> {
    try {
      return await this.view.stat(path);
    } catch {
      return undefined;
    }
  }

  async isFile(path: string): Promise<boolean> {
    return (await this.stat(path))?.kind === 'file';
  }

  async isDir(path: string): Promise<boolean> {
    return (await this.stat(path))?.kind === 'directory';
  }

  /** Entries of a directory, empty when absent or unreadable. */
  async list(dir: string): Promise<IsoEntry[]> {
    try {
      return await this.view.list(dir);
    } catch {
      return [];
    }
  }

  /** The real name of `dir/name` as the tree spells it (lookups fold case; URLs should not). */
  async spell(path: string): Promise<string | undefined> {
    const parts = path.split('/');
    const out: string[] = [];
    for (const p of parts) {
      const list = await this.list(out.join('/'));
      const hit =
        list.find((e) => e.name === p) ?? list.find((e) => e.name.toLowerCase() === p.toLowerCase());
      if (!hit) return undefined;
      out.push(hit.name);
    }
    return out.join('/');
  }

  async text(path: string): Promise<string | undefined> {
    const st = await this.stat(path);
    if (st?.kind !== 'file') return undefined;
    try {
      const b = await this.view.readFile(path, { offset: 0, length: Math.min(st.size, MAX_TEXT) });
      return new TextDecoder('utf-8', { fatal: false }).decode(b);
    } catch {
      return undefined;
    }
  }

  async head(path: string, length: number): Promise<Uint8Array | undefined> {
    const st = await this.stat(path);
    if (st?.kind !== 'file') return undefined;
    try {
      return await this.view.readFile(path, { offset: 0, length: Math.min(st.size, length) });
    } catch {
      return undefined;
    }
  }
}

/** "Debian GNU/Linux 12.4.0 "Bookworm" - Official amd64 NETINST …" → Debian, 12.4.0. */
export function parseDiskInfo(text: string): { distro?: string; version?: string } {
  const line = (text.split(/\r?\n/)[0] ?? '').trim();
  const m = /^(.*?)\s+v?(\d+(?:\.\d+)*(?:\.\d+)?(?:\s+LTS)?)\b/.exec(line);
  const name = (m?.[1] ?? line.split(/\s+-\s+|"/)[0] ?? '').replace(/\s+GNU\/Linux$/i, '').trim();
  const out: { distro?: string; version?: string } = {};
  if (name) out.distro = name;
  if (m?.[2]) out.version = m[2];
  return out;
}

/** INI-ish `.treeinfo` ([general]/[release] name|family + version). */
export function parseTreeinfo(text: string): { distro?: string; version?: string } {
  const get = (section: string, key: string): string | undefined => {
    const re = new RegExp(`^\\[${section}\\][^\\[]*?^${key}[ \\t]*=[ \\t]*([^\\r\\n]+)`, 'm');
    return re.exec(text)?.[1]?.trim();
  };
  const distro = get('release', 'name') ?? get('general', 'family') ?? get('general', 'name');
  const version = get('release', 'version') ?? get('general', 'version');
  return { ...(distro ? { distro } : {}), ...(version ? { version } : {}) };
}

/** os-release (`NAME=`, `VERSION_ID=`). */
export function parseOsRelease(text: string): { distro?: string; version?: string } {
  const get = (k: string): string | undefined =>
    new RegExp(`^${k}=("?)(.*)\\1\\s*$`, 'm').exec(text)?.[2]?.trim() || undefined;
  const distro = get('NAME');
  const version = get('VERSION_ID') ?? get('VERSION');
  return { ...(distro ? { distro } : {}), ...(version ? { version } : {}) };
}

/** Names a volume label often carries: "Fedora-WS-Live-39-1-5" → Fedora 39. */
export function parseLabel(label: string): { distro?: string; version?: string } {
  const known: [RegExp, string][] = [
    [/^fedora/i, 'Fedora'],
    [/^ubuntu/i, 'Ubuntu'],
    [/^debian/i, 'Debian'],
    [/^arch/i, 'Arch Linux'],
    [/^sysrcd|^systemrescue/i, 'SystemRescue'],
    [/^(rocky)/i, 'Rocky Linux'],
    [/^alma/i, 'AlmaLinux'],
    [/^centos/i, 'CentOS'],
    [/^kali/i, 'Kali Linux'],
    [/^linux ?mint/i, 'Linux Mint'],
    [/^mt86|memtest/i, 'memtest86+'],
    [/^manjaro/i, 'Manjaro'],
  ];
  const hit = known.find(([re]) => re.test(label));
  if (!hit) return {};
  const v = /(\d+(?:[._]\d+)*)/.exec(label.replace(/^[^\d]*?(x86_64|amd64|i386)/i, ''));
  return { distro: hit[1], ...(v?.[1] ? { version: v[1].replace(/_/g, '.') } : {}) };
}

const MEMTEST_NAME = /memtest|mt86/i;

async function findMemtest(
  p: TreeProbe,
  efiPath: string | undefined,
): Promise<{ found: boolean; bios?: string; uefi?: string; version?: string }> {
  const out: { found: boolean; bios?: string; uefi?: string; version?: string } = { found: false };
  for (const dir of ['', 'boot', 'isolinux', 'EFI/BOOT']) {
    for (const e of await p.list(dir)) {
      if (e.kind !== 'file' || !MEMTEST_NAME.test(e.name)) continue;
      const path = dir ? `${dir}/${e.name}` : e.name;
      out.found = true;
      if (/\.efi$/i.test(e.name)) out.uefi ??= path;
      else if (/\.bin$|^(memtest|mt86)[^.]*$/i.test(e.name)) out.bios ??= path;
    }
  }
  // memtest86+ 6 images boot UEFI through EFI/BOOT/BOOTX64.EFI itself: its banner names it.
  if (efiPath) {
    const st = await p.stat(efiPath);
    const b = st && st.size <= MAX_SCAN ? await p.head(efiPath, MAX_SCAN) : undefined;
    const text = b ? new TextDecoder('latin1').decode(b) : '';
    const m = /Memtest86\+? v?(\d+(?:\.\d+)+)/i.exec(text);
    if (m) {
      out.found = true;
      out.uefi ??= efiPath;
      if (m[1]) out.version = m[1];
    }
  }
  return out;
}

export async function readTreeFacts(view: FsView, isoSize: number): Promise<TreeFacts> {
  const p = new TreeProbe(view);
  const label = view.volumeLabel.trim();
  let id: { distro?: string; version?: string } = {};
  const take = (x: { distro?: string; version?: string }): void => {
    if (!id.distro && x.distro) id = { ...x };
    else if (id.distro && !id.version && x.version && (!x.distro || x.distro === id.distro))
      id = { ...id, version: x.version };
  };
  const diskInfo = await p.text('.disk/info');
  if (diskInfo) take(parseDiskInfo(diskInfo));
  for (const f of ['etc/os-release', 'usr/lib/os-release']) {
    const t = await p.text(f);
    if (t) take(parseOsRelease(t));
  }
  const treeinfo = await p.text('.treeinfo');
  if (treeinfo) take(parseTreeinfo(treeinfo));
  const discinfo = await p.text('.discinfo');
  if (discinfo) take(parseDiskInfo(discinfo.split(/\r?\n/)[1] ?? ''));

  const efiPath = (await p.spell('EFI/BOOT/BOOTX64.EFI')) ?? undefined;
  const second = efiPath ? await p.spell('EFI/BOOT/grubx64.efi') : undefined;
  const efiLoader = efiPath ? { path: efiPath, ...(second ? { secondStage: second } : {}) } : undefined;
  const base = { ...(efiLoader ? { efiLoader } : {}) };
  const withId = (facts: TreeFacts): TreeFacts => {
    if (!id.distro) take(parseLabel(label));
    return {
      ...facts,
      ...(id.distro ? { distro: id.distro } : label ? { distro: label } : {}),
      ...(id.version ? { version: id.version } : {}),
    };
  };

  // Windows installers: sources/boot.wim (Windows PE) or the install image, on UDF or ISO 9660 alike.
  for (const f of ['sources/boot.wim', 'sources/install.wim', 'sources/install.esd', 'sources/install.swm']) {
    if (await p.isFile(f)) return { family: 'windows', distro: 'Windows', ...base };
  }

  const casper = (await p.list('casper')).filter((e) => e.kind === 'file' && /\.squashfs$/i.test(e.name));
  if (casper.length > 0) {
    take({ distro: 'Ubuntu' });
    return withId({
      family: 'casper',
      rootImage: `casper/${casper[0]?.name ?? 'filesystem.squashfs'}`,
      rootBytes: isoSize,
      ...base,
    });
  }

  const live = (await p.list('live')).filter((e) => e.kind === 'file' && /\.squashfs$/i.test(e.name));
  if (live.length > 0) {
    const main = live.find((e) => /^filesystem\.squashfs$/i.test(e.name)) ?? live[0];
    for (const f of ['Clonezilla-Live-Version', 'GParted-Live-Version']) {
      const t = await p.text(f);
      const m = t ? /^(\w+)-live-(\S+)/i.exec(t.trim()) : null;
      if (m?.[1] && m[2]) take({ distro: m[1] === 'clonezilla' ? 'Clonezilla' : 'GParted', version: m[2] });
    }
    take({ distro: 'Debian' });
    return withId({
      family: 'live-boot',
      rootImage: `live/${main?.name ?? 'filesystem.squashfs'}`,
      rootBytes: main?.size ?? 0,
      ...base,
    });
  }

  const liveOs = (await p.list('LiveOS')).find(
    (e) => e.kind === 'file' && /^(squashfs|rootfs)\.img$/i.test(e.name),
  );
  if (liveOs) {
    return withId({
      family: 'dracut',
      rootImage: `${(await p.spell('LiveOS')) ?? 'LiveOS'}/${liveOs.name}`,
      rootBytes: liveOs.size,
      ...base,
    });
  }

  // Anaconda installers (Fedora netinst/Server, RHEL, Rocky, Alma DVDs): dracut + stage 2 image, no LiveOS.
  const stage2 = await p.spell('images/install.img');
  if (stage2 && (await p.isFile(stage2))) {
    return withId({
      family: 'dracut',
      installer: true,
      rootImage: stage2,
      rootBytes: (await p.stat(stage2))?.size ?? 0,
      ...base,
    });
  }

  for (const [dir, distro, versionFile] of [
    ['arch', 'Arch Linux', 'arch/version'],
    ['sysresccd', 'SystemRescue', 'sysresccd/VERSION'],
  ] as const) {
    if (!(await p.isDir(dir))) continue;
    const spelled = (await p.spell(dir)) ?? dir;
    const v = (await p.text(versionFile))?.trim().split(/\s+/)[0];
    take({ distro, ...(v ? { version: v } : {}) });
    let rootBytes = 0;
    for (const a of await p.list(`${spelled}/x86_64`)) if (/\.sfs$/i.test(a.name)) rootBytes += a.size;
    return withId({
      family: 'archiso',
      archisoBaseDir: spelled,
      rootImage: `${spelled}/x86_64/airootfs.sfs`,
      rootBytes,
      ...base,
    });
  }

  // Manjaro-like (miso): <basedir>/x86_64/*.sfs beside a `.miso` marker or Manjaro's own name.
  for (const d of await p.list('')) {
    if (d.kind !== 'directory' || /^(boot|efi|isolinux|syslinux)$/i.test(d.name)) continue;
    const layers = (await p.list(`${d.name}/x86_64`)).filter(
      (e) => e.kind === 'file' && /\.sfs$/i.test(e.name),
    );
    if (layers.length === 0) continue;
    const isMiso = (await p.isFile(`${d.name}/.miso`)) || /manjaro/i.test(`${d.name} ${label}`);
    if (!isMiso) continue;
    take({ distro: 'Manjaro' });
    return withId({
      family: 'archiso',
      miso: true,
      archisoBaseDir: d.name,
      rootImage: `${d.name}/x86_64/${layers[0]?.name ?? 'rootfs.sfs'}`,
      rootBytes: layers.reduce((n, e) => n + e.size, 0),
      ...base,
    });
  }

  const mt = await findMemtest(p, efiPath);
  if (mt.found || MEMTEST_NAME.test(label)) {
    id = { distro: 'memtest86+', ...(mt.version ? { version: mt.version } : {}) };
    const memtest = { ...(mt.bios ? { bios: mt.bios } : {}), ...(mt.uefi ? { uefi: mt.uefi } : {}) };
    return withId({ family: 'memtest', memtest, ...base });
  }

  const di = ['install.amd', 'install.386', 'install.a64', 'install'];
  for (const d of di) {
    if ((await p.isFile(`${d}/vmlinuz`)) && (await p.isFile(`${d}/initrd.gz`))) {
      if (/debian/i.test(diskInfo ?? '')) take({ distro: 'Debian' });
      return withId({ family: 'debian-installer', ...base });
    }
  }
  if (/debian/i.test(diskInfo ?? '') && !/live/i.test(diskInfo ?? ''))
    return withId({ family: 'debian-installer', ...base });

  return withId({ family: 'other', ...base });
}
