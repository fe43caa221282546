/**
 * Kernel command lines of ISO entries: tokenising, and the live-root rewrite per family that makes the kernel
 * find its root over HTTP instead of on a CD (docs/iso-boot.md). Pure. `{iso}` (ISO_URL_TOKEN) stands for the
 * HTTP URL of the ISO file; the menu generator substitutes it per client.
 */
import { ISO_URL_TOKEN, type IsoFamily } from '../../shared/iso-boot-types.js';

/**
 * Split a command line the way the kernel does (lib/cmdline.c next_arg): whitespace separates, double quotes
 * group (`foo="a b"` is one token and keeps its quotes). `--` and `---` stay tokens of their own.
 */
export function tokenize(args: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let started = false;
  for (const ch of args) {
    if (ch === '"') {
      quoted = !quoted;
      cur += ch;
      started = true;
    } else if (!quoted && /\s/.test(ch)) {
      if (started) out.push(cur);
      cur = '';
      started = false;
    } else {
      cur += ch;
      started = true;
    }
  }
  // An unbalanced quote runs to the end of the line, as the kernel reads it.
  if (started) out.push(cur);
  return out;
}

export const joinArgs = (tokens: readonly string[]): string => tokens.join(' ');

/** `key=value` → `key`; `quiet` → `quiet`; a leading quote ignored. */
export function argKey(token: string): string {
  const t = token.startsWith('"') ? token.slice(1) : token;
  const eq = t.indexOf('=');
  return eq < 0 ? t : t.slice(0, eq);
}

export function argValue(token: string): string | undefined {
  const eq = token.indexOf('=');
  if (eq < 0) return undefined;
  return token.slice(eq + 1).replace(/^"(.*)"$/, '$1');
}

/** The value of the last `key=` (the kernel and most initramfs scripts take the last one). */
export function findArg(tokens: readonly string[], key: string): string | undefined {
  let v: string | undefined;
  for (const t of tokens) if (argKey(t) === key) v = argValue(t) ?? '';
  return v;
}

const isSeparator = (t: string): boolean => t === '--' || t === '---';

/** What a family's rewrite needs to know about the tree. */
export interface RewriteContext {
  /** live-boot: the squashfs inside the ISO (e.g. `live/filesystem.squashfs`). */
  readonly squashfs?: string;
  /** dracut: the root image inside the ISO (e.g. `LiveOS/squashfs.img`). */
  readonly liveImage?: string;
  /** archiso: the base directory (`arch`, `sysresccd`). */
  readonly archisoBaseDir?: string;
  /** dracut: an Anaconda installer image (stage 2 `images/install.img`, no live root). */
  readonly installer?: boolean;
  /** archiso family: Manjaro's miso hooks (`misobasedir`, `miso_http_srv`). */
  readonly miso?: boolean;
}

interface Rule {
  /** Arguments removed (exact keys, or prefixes ending in `/`/`*`). */
  readonly drop: readonly string[];
  /** Arguments added (each replaces any argument of the same key). */
  readonly add: (tokens: readonly string[]) => string[];
}

/** `key` drops every `key=…` (and a bare `key`), `prefix*` every key starting so, `key=` only an empty `key=`. */
function dropMatches(token: string, drop: readonly string[]): boolean {
  const key = argKey(token);
  return drop.some((d) =>
    d.endsWith('*') ? key.startsWith(d.slice(0, -1)) : d.endsWith('=') ? token === d : key === d,
  );
}

/** Arguments never kept from an ISO's own loader: the generator adds its own initrd= names (UEFI). */
const ALWAYS_DROP = ['initrd', 'BOOT_IMAGE'];

function rules(family: IsoFamily, ctx: RewriteContext): Rule | undefined {
  switch (family) {
    case 'casper':
      // casper (Ubuntu, Mint): `url=` downloads the ISO into RAM and loop-mounts it (casper-helpers
      // `do_urlmount`), which needs `ip=` for the network; the CD search arguments would only delay it.
      // `cloud-config-url=/dev/null` keeps cloud-init from taking `url=` as its own seed and downloading the
      // ISO a second time (Ubuntu Server's netboot documentation does the same).
      return {
        drop: ['iso-scan/filename', 'findiso', 'cdrom-detect/*', 'url', 'ip', 'cloud-config-url'],
        add: (t) => [
          ...(findArg(t, 'boot') === undefined ? ['boot=casper'] : []),
          'ip=dhcp',
          `url=${ISO_URL_TOKEN}`,
          'cloud-config-url=/dev/null',
        ],
      };
    case 'live-boot': {
      // live-boot: `fetch=` downloads the squashfs (9990-main.sh do_httpmount) after its own DHCP. An empty
      // `ip=` (Clonezilla, GParted) asks live-boot for the medium's network settings instead: dropped.
      const sq = ctx.squashfs ?? 'live/filesystem.squashfs';
      return {
        drop: ['fetch', 'httpfs', 'findiso', 'live-media', 'live-media-path', 'iso-scan/filename', 'ip='],
        add: (t) => [
          ...(findArg(t, 'boot') === undefined ? ['boot=live'] : []),
          `fetch=${ISO_URL_TOKEN}/${sq}`,
        ],
      };
    }
    case 'dracut': {
      const img = ctx.liveImage ?? 'LiveOS/squashfs.img';
      // Anaconda installers (inst.stage2=hd:LABEL=…): their stage 2 from a URL is the ISO's tree itself,
      // which anaconda's dracut module reads as `<URL>/.treeinfo` or `<URL>/images/install.img`; `inst.repo`
      // of a DVD the same. No live root here.
      if (ctx.installer) {
        return {
          drop: ['inst.stage2', 'stage2', 'inst.repo', 'repo', 'rd.live.check', 'check', 'ip'],
          add: (t) => [
            `inst.stage2=${ISO_URL_TOKEN}`,
            ...(t.some((x) => ['inst.repo', 'repo'].includes(argKey(x)))
              ? [`inst.repo=${ISO_URL_TOKEN}`]
              : []),
            'ip=dhcp',
          ],
        };
      }
      // dracut dmsquash-live + livenet: `root=live:<URL>` downloads the image (livenetroot); the network comes
      // up from `ip=dhcp`. `rd.live.check` would checksum a CD that is not there.
      return {
        drop: ['root', 'rd.live.check', 'check', 'inst.stage2', 'rd.live.dir', 'rd.live.squashimg'],
        add: (t) => [
          `root=live:${ISO_URL_TOKEN}/${img}`,
          ...(t.some((x) => argKey(x) === 'rd.live.image') ? [] : ['rd.live.image']),
          ...(findArg(t, 'ip') === undefined ? ['ip=dhcp'] : []),
        ],
      };
    }
    case 'archiso': {
      // Manjaro's miso (a fork of archiso) has the same hooks under its own names: miso_pxe_http fetches
      // <misobasedir>/x86_64/*.sfs below `miso_http_srv`.
      if (ctx.miso) {
        return {
          drop: ['misolabel', 'misodevice', 'miso_http_srv', 'misobasedir', 'ip'],
          add: (t) => [
            `misobasedir=${findArg(t, 'misobasedir') ?? ctx.archisoBaseDir ?? 'manjaro'}`,
            `miso_http_srv=${ISO_URL_TOKEN}/`,
            'ip=dhcp',
          ],
        };
      }
      // archiso's archiso_pxe_http hook: `archiso_http_srv=<URL>/` + `archisobasedir` fetch
      // <basedir>/x86_64/airootfs.sfs; the label/UUID/device search arguments are for a local medium.
      return {
        drop: [
          'archisolabel',
          'archisodevice',
          'archisosearchuuid',
          'archisosearchfilename',
          'img_dev',
          'img_label',
          'img_loop',
          'archiso_http_srv',
          'archisobasedir',
          'ip',
        ],
        add: (t) => [
          `archisobasedir=${findArg(t, 'archisobasedir') ?? ctx.archisoBaseDir ?? 'arch'}`,
          `archiso_http_srv=${ISO_URL_TOKEN}/`,
          'ip=dhcp',
        ],
      };
    }
    default:
      return undefined;
  }
}

/**
 * The family's root rewrite of one command line: the CD-search arguments out, the HTTP root in. New arguments go
 * before the first `--`/`---` (what follows is for the installed system or init, not the initramfs); the order of
 * everything kept is unchanged. Families without a network root keep their arguments (less `initrd=`).
 */
export function rewriteCmdline(family: IsoFamily, args: string, ctx: RewriteContext = {}): string {
  const tokens = tokenize(args);
  const rule = rules(family, ctx);
  const sep = tokens.findIndex(isSeparator);
  const head = sep < 0 ? tokens : tokens.slice(0, sep);
  const tail = sep < 0 ? [] : tokens.slice(sep);
  const drop = [...ALWAYS_DROP, ...(rule?.drop ?? [])];
  const kept = head.filter((t) => !dropMatches(t, drop));
  const added = rule ? rule.add(head) : [];
  // Replace in place when the original had the key (keeps the order people recognise), else append.
  const out: string[] = [];
  const pending = [...added];
  for (const t of head) {
    if (!kept.includes(t)) {
      const i = pending.findIndex((a) => argKey(a) === argKey(t));
      if (i >= 0) out.push(...pending.splice(i, 1));
      continue;
    }
    out.push(t);
  }
  out.push(...pending);
  return joinArgs([...out, ...tail.filter((t) => isSeparator(t) || !dropMatches(t, ALWAYS_DROP))]);
}

/** Whether a (possibly user-edited) command line still has the family's network root argument (UI warnings). */
export function hasNetworkRoot(family: IsoFamily, cmdline: string): boolean {
  // Only what the initramfs reads: arguments after `--`/`---` belong to the installed system or init.
  const all = tokenize(cmdline);
  const sep = all.findIndex(isSeparator);
  const t = sep < 0 ? all : all.slice(0, sep);
  switch (family) {
    case 'casper':
      return (findArg(t, 'url') ?? '').includes(ISO_URL_TOKEN) || /^https?:/.test(findArg(t, 'url') ?? '');
    case 'live-boot':
      return findArg(t, 'fetch') !== undefined;
    case 'dracut':
      return (
        /^live:(https?:|\{iso\})/.test(findArg(t, 'root') ?? '') ||
        /^(https?:|\{iso\})/.test(findArg(t, 'inst.stage2') ?? '')
      );
    case 'archiso':
      return findArg(t, 'archiso_http_srv') !== undefined || findArg(t, 'miso_http_srv') !== undefined;
    default:
      return true;
  }
}
