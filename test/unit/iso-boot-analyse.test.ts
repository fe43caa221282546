import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyseIsoFile, isoBootArches, WINDOWS_NOTE } from '../../app/core/iso-boot/index.js';
import { tokenize } from '../../app/core/iso-boot/cmdline.js';
import { GiB, ROOT_HEADROOM } from '../../app/core/iso-boot/summary.js';
import type { BootMenus, ConfigBootEntry } from '../../app/core/iso-boot/types.js';
import type { IsoBootEntry, IsoFirmware, IsoInfo } from '../../app/shared/iso-boot-types.js';
import { ensureFixtures } from '../fixtures/fixtures.js';
import {
  anacondaIso,
  archisoIso,
  biosOnlyIso,
  casperIso,
  debianInstallerIso,
  dracutIso,
  liveBootIso,
  masterIso,
  misoIso,
  fakeKernel,
} from '../helpers/iso-families.js';
import { bytes, haveTools, tempDir, udfIso } from '../helpers/iso-images.js';

const tools = haveTools('xorriso', 'genisoimage', 'mformat', 'mcopy');
let dir = '';
let cleanup = (): void => undefined;
beforeAll(() => {
  ({ dir, cleanup } = tempDir('pxe-iso-plan-'));
});
afterAll(() => cleanup());

function def(info: IsoInfo, fw: IsoFirmware): IsoBootEntry {
  const d = info.entries.filter((e) => e.isDefault && e.firmware.includes(fw));
  expect(d, `one default for ${fw}`).toHaveLength(1);
  return d[0]!;
}

/** `key=value` tokens of a command line as a map (last wins), plus the bare words. */
function args(cmdline: string | undefined): { map: Map<string, string>; words: string[] } {
  const map = new Map<string, string>();
  const words: string[] = [];
  for (const t of tokenize(cmdline ?? '')) {
    const eq = t.indexOf('=');
    if (eq < 0) words.push(t);
    else map.set(t.slice(0, eq), t.slice(eq + 1));
  }
  return { map, words };
}

/** The default entry on BIOS and on UEFI, each with its command line's arguments. */
function defaults(info: IsoInfo): { e: IsoBootEntry; a: ReturnType<typeof args> }[] {
  return (['bios', 'uefi'] as const).map((fw) => {
    const e = def(info, fw);
    return { e, a: args(e.cmdline) };
  });
}

async function analyse(path: string): Promise<IsoInfo> {
  return analyseIsoFile(path, `isos/${path.split('/').pop()}`);
}

describe.skipIf(!tools)('analyseIso per family', () => {
  it('casper: url={iso} + ip=dhcp on both firmwares, the CD search dropped, RAM = ISO + 1 GiB', async () => {
    const path = casperIso(dir);
    const info = await analyse(path);
    expect(info).toMatchObject({ family: 'casper', distro: 'Ubuntu', version: '24.04 LTS' });
    expect(info.elTorito).toEqual({ bios: true, uefi: true });
    for (const { e, a } of defaults(info)) {
      expect(e.route).toBe('kernel-iso-ram');
      expect(e.kernel).toBe('casper/vmlinuz');
      expect(e.initrds).toEqual(['casper/initrd']);
      expect(a.map.get('url')).toBe('{iso}');
      expect(a.map.get('ip')).toBe('dhcp');
      expect(e.cmdline).not.toMatch(/iso-scan|cdrom-detect|initrd=/);
    }
    expect(info.ramBytes).toBe(statSync(path).size + GiB);
    expect(info.routeSummary).toMatch(/whole ISO is then loaded into RAM \(needs .* the ISO plus 1 GiB\)/);
    expect(isoBootArches(info)).toEqual(['bios', 'uefi-x64']);
  });

  it('live-boot: fetch= names the squashfs inside the ISO, boot=live kept', async () => {
    const info = await analyse(liveBootIso(dir));
    expect(info).toMatchObject({ family: 'live-boot', distro: 'Debian', version: '12.4.0' });
    for (const { e, a } of defaults(info)) {
      expect(e.route).toBe('kernel-root-http');
      expect(e.kernel).toBe('live/vmlinuz-6.1.0-13-amd64');
      expect(e.initrds).toEqual(['live/initrd.img-6.1.0-13-amd64']);
      expect(a.map.get('fetch')).toBe('{iso}/live/filesystem.squashfs');
      expect(a.map.get('boot')).toBe('live');
      expect(a.map.has('findiso')).toBe(false);
    }
    expect(info.ramBytes).toBe(300_000 + ROOT_HEADROOM);
    expect(info.routeSummary).toContain('kernel and initrd from the ISO, root streamed over HTTP');
  });

  it('dracut: root=live:{iso}/LiveOS/squashfs.img rd.live.image replaces the CD label, rd.live.check dropped', async () => {
    const info = await analyse(dracutIso(dir));
    expect(info).toMatchObject({ family: 'dracut', distro: 'Fedora', version: '39' });
    for (const { e, a } of defaults(info)) {
      expect(e.route).toBe('kernel-root-http');
      expect(e.kernel).toBe('isolinux/vmlinuz');
      expect(a.map.get('root')).toBe('live:{iso}/LiveOS/squashfs.img');
      expect(a.words).toContain('rd.live.image');
      expect(e.cmdline).not.toMatch(/CDLABEL|rd\.live\.check/);
    }
  });

  it('Anaconda installer (dracut, no LiveOS): inst.stage2={iso} replaces the CD label, no live root', async () => {
    const info = await analyse(anacondaIso(dir));
    expect(info).toMatchObject({ family: 'dracut', distro: 'Fedora', version: '39' });
    for (const { e, a } of defaults(info)) {
      expect(e.route).toBe('kernel-root-http');
      expect(e.kernel).toBe('images/pxeboot/vmlinuz');
      expect(a.map.get('inst.stage2')).toBe('{iso}');
      expect(a.map.get('ip')).toBe('dhcp');
      expect(a.map.has('root')).toBe(false);
      expect(e.cmdline).not.toContain('hd:LABEL');
    }
    expect(info.ramBytes).toBe(120_000 + ROOT_HEADROOM);
    expect(info.routeSummary).toMatch(
      /^installer kernel and initrd from the ISO, its stage 2 streamed over HTTP/,
    );
  });

  it('archiso: archiso_http_srv={iso}/ archisobasedir=arch ip=dhcp, label/UUID search dropped, microcode first', async () => {
    const info = await analyse(archisoIso(dir));
    expect(info).toMatchObject({ family: 'archiso', distro: 'Arch Linux', version: '2024.01.01' });
    for (const { e, a } of defaults(info)) {
      expect(e.route).toBe('kernel-root-http');
      expect(e.kernel).toBe('arch/boot/x86_64/vmlinuz-linux');
      expect(e.initrds?.at(-1)).toBe('arch/boot/x86_64/initramfs-linux.img');
      expect(e.initrds?.slice(0, -1).every((i) => /ucode\.img$/.test(i))).toBe(true);
      expect(a.map.get('archiso_http_srv')).toBe('{iso}/');
      expect(a.map.get('archisobasedir')).toBe('arch');
      expect(a.map.get('ip')).toBe('dhcp');
      expect(e.cmdline).not.toMatch(/archisolabel|archisosearchuuid|archisodevice/);
    }
    expect(info.ramBytes).toBe(220_000 + ROOT_HEADROOM);
  });

  it('SystemRescue: the same archiso rewrite with its own base directory', async () => {
    const path = masterIso(
      dir,
      'sysrcd',
      {
        'sysresccd/boot/x86_64/vmlinuz': fakeKernel(81, { bios: true, uefi: true }),
        'sysresccd/boot/x86_64/sysresccd.img': bytes(82, 10_000),
        'sysresccd/x86_64/airootfs.sfs': bytes(83, 50_000),
        'sysresccd/VERSION': '11.00\n',
      },
      { label: 'RESCUE1100' },
    );
    const info = await analyse(path);
    expect(info).toMatchObject({ family: 'archiso', distro: 'SystemRescue', version: '11.00' });
    const a = args(def(info, 'uefi').cmdline);
    expect(a.map.get('archisobasedir')).toBe('sysresccd');
    expect(a.map.get('archiso_http_srv')).toBe('{iso}/');
    expect(a.map.has('archisolabel')).toBe(false);
  });

  it('Manjaro (miso): miso_http_srv={iso}/ misobasedir=manjaro ip=dhcp, the label search dropped', async () => {
    const info = await analyse(misoIso(dir));
    expect(info).toMatchObject({ family: 'archiso', distro: 'Manjaro' });
    for (const { e, a } of defaults(info)) {
      expect(e.route).toBe('kernel-root-http');
      expect(e.kernel).toBe('boot/vmlinuz-x86_64');
      expect(e.initrds).toEqual(['boot/intel_ucode.img', 'boot/initramfs-x86_64.img']);
      expect(a.map.get('miso_http_srv')).toBe('{iso}/');
      expect(a.map.get('misobasedir')).toBe('manjaro');
      expect(a.map.get('ip')).toBe('dhcp');
      expect(a.map.has('misolabel')).toBe(false);
      expect(a.map.has('archiso_http_srv')).toBe(false);
    }
    expect(info.ramBytes).toBe(100_000 + ROOT_HEADROOM);
  });

  it('Debian installer ISO: kernel route, and a note that it will look for its CD', async () => {
    const info = await analyse(debianInstallerIso(dir));
    expect(info).toMatchObject({ family: 'debian-installer', distro: 'Debian', version: '12.4.0' });
    const e = def(info, 'bios');
    expect(e.route).toBe('kernel');
    expect(e.kernel).toBe('install.amd/vmlinuz');
    expect(e.initrds).toEqual(['install.amd/initrd.gz']);
    expect(info.entries.some((x) => !x.isDefault && x.initrds?.[0] === 'install.amd/gtk/initrd.gz')).toBe(
      true,
    );
    expect(info.note).toMatch(/looks for its CD/);
    expect(info.note).toMatch(/netboot/);
  });

  it('Windows-shaped UDF image: recognised, route none on both firmwares, never sanboot', async () => {
    const info = await analyse(udfIso(dir, 'win', true).path);
    expect(info).toMatchObject({ family: 'windows', distro: 'Windows' });
    expect(info.note?.startsWith(WINDOWS_NOTE)).toBe(true);
    expect(info.entries.every((e) => e.route === 'none')).toBe(true);
    expect(isoBootArches(info)).toEqual([]);
  });

  it('BIOS-only utility CD without a kernel: sanboot (and memdisk) on BIOS, never offered to UEFI', async () => {
    const info = await analyse(biosOnlyIso(dir, false));
    expect(info.elTorito).toEqual({ bios: true, uefi: false });
    const b = def(info, 'bios');
    expect(b.route).toBe('sanboot');
    expect(info.entries.some((e) => e.route === 'memdisk' && !e.isDefault && e.cmdline === 'iso raw')).toBe(
      true,
    );
    const u = def(info, 'uefi');
    expect(u.route).toBe('none');
    expect(info.entries.some((e) => e.firmware.includes('uefi') && e.route !== 'none')).toBe(false);
    expect(info.note).toMatch(/UEFI: not bootable over the network, it has no UEFI boot image/);
    expect(isoBootArches(info)).toEqual(['bios']);
  });

  it('BIOS-only CD with a kernel lacking an EFI stub: kernel on BIOS with sanboot as the alternative, none on UEFI', async () => {
    const info = await analyse(biosOnlyIso(dir, true));
    expect(info.family).toBe('other');
    const b = def(info, 'bios');
    expect(b.route).toBe('kernel');
    expect(b.kernel).toBe('isolinux/vmlinuz');
    expect(
      info.entries.some((e) => e.route === 'sanboot' && !e.isDefault && e.firmware.includes('bios')),
    ).toBe(true);
    expect(def(info, 'uefi').route).toBe('none');
    expect(info.note).toMatch(/No known live-root family/);
  });

  it('memtest86+ (Debian package ISO): memdisk of its floppy image on BIOS, its EFI program on UEFI', async () => {
    const fx = ensureFixtures();
    const info = await analyse(join(fx.memtestDir, 'memtest86+x64.iso'));
    expect(info).toMatchObject({ family: 'memtest', distro: 'memtest86+' });
    expect(info.version).toMatch(/^\d+\.\d+$/);
    expect(info.elTorito).toEqual({ bios: true, uefi: true });
    const b = def(info, 'bios');
    expect(b.route).toBe('memdisk');
    expect(b.initrds).toEqual(['boot/floppy.img']);
    const u = def(info, 'uefi');
    expect(u.route).toBe('kernel');
    expect(u.kernel?.toLowerCase()).toBe('efi/boot/bootx64.efi');
    expect(u.initrds ?? []).toEqual([]);
    expect(info.efiLoader?.path.toLowerCase()).toBe('efi/boot/bootx64.efi');
  });

  it('never throws on garbage, a truncated image or a missing file: a typed note instead', async () => {
    const junk = join(dir, 'junk.iso');
    writeFileSync(junk, bytes(90, 100_000));
    const j = await analyse(junk);
    expect(j.entries.every((e) => e.route === 'none')).toBe(true);
    expect(j.note).toMatch(/could not be read \(not-an-image|truncated/);
    const cut = join(dir, 'cut.iso');
    const whole = casperIso(dir);
    writeFileSync(cut, (await import('node:fs')).readFileSync(whole).subarray(0, 40 * 2048));
    const c = await analyse(cut);
    expect(c.family).toBeDefined();
    expect((await analyse(join(dir, 'absent.iso'))).note).toMatch(/could not be read/);
  });
});

describe.skipIf(!tools)('analyseIso with the boot menus given', () => {
  const entry = (
    e: Partial<ConfigBootEntry> & Pick<ConfigBootEntry, 'title' | 'kernel'>,
  ): ConfigBootEntry => ({
    group: [],
    initrds: ['casper/initrd'],
    args: 'boot=casper quiet splash ---',
    isDefault: false,
    source: 'isolinux',
    configPath: 'isolinux/isolinux.cfg',
    ...e,
  });

  it('merges entries alike on both firmwares, keeps groups and non-default entries, drops what cannot start', async () => {
    const path = masterIso(
      dir,
      'menus',
      {
        'casper/vmlinuz': fakeKernel(101, { bios: true, uefi: true }),
        'casper/initrd': bytes(102, 5_000),
        'casper/filesystem.squashfs': bytes(103, 50_000),
        'boot/memtest86+x64.bin': fakeKernel(104, { bios: true, uefi: false }),
      },
      { label: 'Ubuntu 24.04' },
    );
    const live = entry({ title: 'Try Ubuntu', kernel: 'casper/vmlinuz', isDefault: true, loaderId: 'live' });
    const menus: Record<IsoFirmware, BootMenus> = {
      bios: {
        firmware: 'bios',
        loader: 'isolinux',
        entries: [
          live,
          entry({
            title: 'Safe graphics',
            kernel: 'casper/vmlinuz',
            group: ['Advanced'],
            args: 'nomodeset ---',
          }),
          entry({ title: 'Memory test', kernel: 'boot/memtest86+x64.bin', initrds: [], args: '' }),
          entry({ title: 'Broken', kernel: 'casper/vmlinuz-missing' }),
        ],
        configsRead: ['isolinux/isolinux.cfg'],
        issues: [
          { code: 'not-linux', source: 'isolinux', configPath: 'isolinux/isolinux.cfg', detail: 'hdt.c32' },
        ],
      },
      uefi: {
        firmware: 'uefi',
        loader: 'grub',
        entries: [
          { ...live, source: 'grub', configPath: 'boot/grub/grub.cfg' },
          entry({ title: 'Memory test', kernel: 'boot/memtest86+x64.bin', initrds: [], args: '' }),
        ],
        configsRead: ['boot/grub/grub.cfg'],
        issues: [],
      },
    };
    const info = await analyseIsoFile(path, 'menus.iso', { readMenus: async (_r, fw) => menus[fw] });
    expect(info.family).toBe('casper');
    const d = def(info, 'bios');
    expect(d).toBe(def(info, 'uefi'));
    expect(d.id).toBe('live');
    expect(d.firmware).toEqual(['bios', 'uefi']);
    const safe = info.entries.find((e) => e.title === 'Safe graphics');
    expect(safe?.group).toEqual(['Advanced']);
    expect(safe?.isDefault).toBe(false);
    expect(args(safe?.cmdline).map.get('url')).toBe('{iso}');
    expect(args(safe?.cmdline).words).toContain('nomodeset');
    // memtest in a Linux menu: started as it is (no root rewrite), BIOS only (no EFI stub).
    const mt = info.entries.filter((e) => e.title === 'Memory test');
    expect(mt).toHaveLength(1);
    expect(mt[0]?.route).toBe('kernel');
    expect(mt[0]?.firmware).toEqual(['bios']);
    expect(mt[0]?.cmdline).toBe('');
    expect(info.entries.some((e) => e.title === 'Broken')).toBe(false);
    expect(new Set(info.entries.map((e) => e.id)).size).toBe(info.entries.length);
    expect(info.note).toMatch(/"Broken" \(its kernel casper\/vmlinuz-missing is not in the image\)/);
    expect(info.note).toMatch(/UEFI: 1 menu entry left out: "Memory test" \(.*no EFI stub/);
    expect(info.note).toMatch(/1 menu entry boots something other than Linux/);
  });
});

describe.skipIf(!tools)('analyseIso on mutated images', () => {
  it('never throws, always one route per firmware, bounded time (300 seeded mutations of the metadata)', async () => {
    const { readFileSync } = await import('node:fs');
    const { openIso, memorySource } = await import('../../app/engines/iso/index.js');
    const { analyseIso } = await import('../../app/core/iso-boot/index.js');
    const { rng, mutate } = await import('../helpers/fuzz.js');
    const images = [readFileSync(dracutIso(dir)), readFileSync(liveBootIso(dir))];
    const r = rng(18);
    let analysed = 0;
    for (let i = 0; i < 300; i++) {
      const img = images[i % images.length]!;
      // Volume descriptors, path tables, directories, the boot catalog and configs sit in the first sectors.
      const head = mutate(r, img.subarray(0, 160 * 2048), 8);
      const bytesMutated = Buffer.concat([
        head,
        head.length < 160 * 2048 ? Buffer.alloc(0) : img.subarray(160 * 2048),
      ]);
      let image;
      try {
        image = await openIso(memorySource(bytesMutated));
      } catch {
        continue; // the reader's typed error: the library shows "could not be read"
      }
      const t0 = Date.now();
      const info = await analyseIso(image, { path: 'm.iso', size: bytesMutated.length });
      expect(Date.now() - t0).toBeLessThan(2000);
      for (const fw of ['bios', 'uefi'] as const) {
        expect(
          info.entries.filter((e) => e.isDefault && e.firmware.includes(fw)),
          `seed ${i} ${fw}`,
        ).toHaveLength(1);
      }
      analysed++;
    }
    expect(analysed).toBeGreaterThan(100);
  });
});
