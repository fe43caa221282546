/**
 * Where each family keeps its kernel and initrd when the ISO's boot menus give nothing usable for a firmware
 * (no config for that loader, or a config the parsers cannot evaluate), and what kind of program a kernel file
 * is (Linux boot protocol, Documentation/arch/x86/boot.rst "HdrS" at 0x202; PE/COFF "MZ" for an EFI stub).
 */
import type { IsoFamily } from '../../shared/iso-boot-types.js';
import type { TreeFacts, TreeProbe } from './tree-facts.js';

export interface KernelCandidate {
  readonly title: string;
  readonly kernel: string;
  readonly initrds: readonly string[];
  readonly args: string;
  readonly isDefault: boolean;
  readonly group: readonly string[];
  /** Where it came from, for the notes: the loader's config, or the family's known paths. */
  readonly origin: 'menu' | 'known-paths';
  /** The loader's own id of the entry (isolinux label, GRUB --id): the stable IsoBootEntry id. */
  readonly loaderId?: string;
}

/** What a kernel file can be started as. 'unknown': neither header (a stub in a test, a non-Linux program). */
export type KernelKind = { readonly bios: boolean; readonly uefi: boolean; readonly known: boolean };

/**
 * BIOS needs the Linux boot protocol (iPXE's bzImage loader reads the setup header); UEFI needs a PE image
 * (the kernel's EFI stub, or an EFI program such as memtest86+'s). A file with neither header is let through
 * on both (known: false): the analysis cannot tell, and the menu falls back if it fails.
 */
export async function kernelKind(probe: TreeProbe, path: string): Promise<KernelKind> {
  const head = await probe.head(path, 0x210);
  if (!head || head.length < 0x206) return { bios: true, uefi: true, known: false };
  const mz = head[0] === 0x4d && head[1] === 0x5a;
  const hdrs = head[0x202] === 0x48 && head[0x203] === 0x64 && head[0x204] === 0x72 && head[0x205] === 0x53;
  if (!mz && !hdrs) return { bios: true, uefi: true, known: false };
  return { bios: hdrs, uefi: mz, known: true };
}

const INITRD_NAME = /^(initrd|initramfs|core\.gz$|corepure64\.gz$)/i;

async function pick(probe: TreeProbe, dir: string, re: RegExp): Promise<string[]> {
  return (await probe.list(dir))
    .filter((e) => e.kind === 'file' && re.test(e.name))
    .map((e) => (dir ? `${dir}/${e.name}` : e.name))
    .sort();
}

async function firstFile(probe: TreeProbe, paths: readonly string[]): Promise<string | undefined> {
  for (const p of paths) {
    const real = await probe.spell(p);
    if (real && (await probe.isFile(real))) return real;
  }
  return undefined;
}

/** The family's usual kernel + initrd(s) and default arguments, before the root rewrite. */
export async function knownPaths(
  probe: TreeProbe,
  facts: TreeFacts,
  label: string,
): Promise<KernelCandidate[]> {
  const one = (kernel: string | undefined, initrds: (string | undefined)[], args: string, title: string) =>
    kernel && initrds.every((i) => i !== undefined)
      ? [
          {
            title,
            kernel,
            initrds: initrds as string[],
            args,
            isDefault: true,
            group: [],
            origin: 'known-paths' as const,
          },
        ]
      : [];
  const name = facts.distro ?? label;
  const family: IsoFamily = facts.family;
  switch (family) {
    case 'casper': {
      const k = await firstFile(probe, ['casper/vmlinuz', 'casper/vmlinuz.efi', 'casper/hwe-vmlinuz']);
      const i = await firstFile(probe, [
        'casper/initrd',
        'casper/initrd.lz',
        'casper/initrd.gz',
        'casper/initrd.img',
      ]);
      return one(k, [i], 'boot=casper', `${name} live`);
    }
    case 'live-boot': {
      const k = (await pick(probe, 'live', /^vmlinuz/i))[0];
      const suffix = k ? k.slice('live/vmlinuz'.length) : '';
      const inits = await pick(probe, 'live', /^initrd/i);
      const i = inits.find((x) => x.endsWith(suffix) && suffix !== '') ?? inits[0];
      return one(k, [i], 'boot=live components', `${name} live`);
    }
    case 'dracut': {
      for (const d of ['isolinux', 'images/pxeboot', 'boot/x86_64/loader']) {
        const k = await firstFile(probe, [`${d}/vmlinuz`, `${d}/linux`]);
        const i = await firstFile(probe, [`${d}/initrd.img`, `${d}/initrd`]);
        if (!k || !i) continue;
        if (facts.installer) return one(k, [i], `inst.stage2=hd:LABEL=${label}`, `Install ${name}`);
        return one(k, [i], `root=live:CDLABEL=${label} rd.live.image`, `${name} live`);
      }
      return [];
    }
    case 'archiso': {
      const base = facts.archisoBaseDir ?? 'arch';
      if (facts.miso) {
        // Manjaro: boot/vmlinuz-x86_64, boot/initramfs-x86_64.img, microcode beside them.
        const k = (await pick(probe, 'boot', /^vmlinuz/i))[0];
        const i = (await pick(probe, 'boot', /^initramfs.*\.img$/i))[0];
        const ucode = await pick(probe, 'boot', /ucode\.img$/i);
        return one(k, [...ucode, i], `misobasedir=${base} misolabel=${label}`, `${name}`);
      }
      const dir = `${base}/boot/x86_64`;
      const k = (await pick(probe, dir, /^vmlinuz/i))[0];
      const main = (await pick(probe, dir, /\.img$/i)).filter((x) => !/ucode/i.test(x));
      const ucode = await pick(probe, `${base}/boot`, /ucode\.img$/i);
      const i = main[0];
      return one(k, [...ucode, i], `archisobasedir=${base} archisolabel=${label}`, `${name}`);
    }
    case 'debian-installer': {
      for (const d of ['install.amd', 'install.386', 'install.a64', 'install']) {
        const k = await firstFile(probe, [`${d}/vmlinuz`]);
        const i = await firstFile(probe, [`${d}/initrd.gz`]);
        if (!k || !i) continue;
        const out = one(k, [i], '', `${name} installer`);
        const gtk = await firstFile(probe, [`${d}/gtk/initrd.gz`]);
        if (gtk)
          out.push({ ...out[0]!, title: `${name} graphical installer`, initrds: [gtk], isDefault: false });
        return out;
      }
      return [];
    }
    case 'other': {
      for (const d of ['boot', 'isolinux', '']) {
        const k = (await pick(probe, d, /^(vmlinuz|bzimage|linux)([-_.].*)?$/i)).find(
          (x) => !/\.(cfg|c32)$/i.test(x),
        );
        const i = (await pick(probe, d, INITRD_NAME))[0];
        if (k && i) return one(k, [i], '', `${name}`);
      }
      return [];
    }
    default:
      return [];
  }
}
