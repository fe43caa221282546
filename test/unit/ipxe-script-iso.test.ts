import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyseIsoFile, isoBootArches, isoEntryMetaKey } from '../../app/core/iso-boot/index.js';
import { createScriptHandler, generateBootScript } from '../../app/core/ipxe-script.js';
import type { NetbootLibrary } from '../../app/core/netboot-library.js';
import type { IsoBootEntry, IsoInfo } from '../../app/shared/iso-boot-types.js';
import type { BootArch, LibraryEntry, LibraryMetadata } from '../../app/shared/library-types.js';
import { casperIso, liveBootIso } from '../helpers/iso-families.js';
import { haveTools, tempDir } from '../helpers/iso-images.js';

const base = 'http://10.0.0.1:8080';
const meta = (m: Partial<LibraryMetadata>): LibraryMetadata => ({
  version: 1,
  entries: {},
  perMac: {},
  ...m,
});

function isoEntry(path: string, info: IsoInfo, title = path): LibraryEntry {
  return { id: path, kind: 'iso', title, path, arch: isoBootArches(info), size: 1, iso: info };
}

function info(family: IsoInfo['family'], entries: IsoBootEntry[], et = { bios: true, uefi: true }): IsoInfo {
  return { family, elTorito: et, routeSummary: 'x', entries };
}

const both = ['bios', 'uefi'] as const;
const kernelEntry = (e: Partial<IsoBootEntry> & Pick<IsoBootEntry, 'id' | 'cmdline'>): IsoBootEntry => ({
  title: 'Live',
  firmware: [...both],
  route: 'kernel-root-http',
  kernel: 'live/vmlinuz',
  initrds: ['live/initrd.img'],
  isDefault: true,
  ...e,
});

function script(entries: LibraryEntry[], arch: BootArch, m?: LibraryMetadata): string[] {
  return generateBootScript({
    baseUrl: base,
    entries,
    ...(m ? { metadata: m } : {}),
    client: { mac: '52:54:00:aa:bb:cc', arch },
    timeoutSeconds: 5,
  }).split('\n');
}

/** Every boot line must have its way back to the menu, and every label it names must exist. */
function expectFallbacks(lines: string[]): void {
  const boot = lines.filter((l) => /^(kernel|initrd|chain|sanboot|boot|imgexec)\b/.test(l));
  expect(boot.length).toBeGreaterThan(0);
  for (const l of boot) {
    const m = / \|\| goto (failed_\d+)$/.exec(l);
    expect(m, l).not.toBeNull();
    const at = lines.indexOf(`:${m![1]}`);
    expect(at, `label of ${l}`).toBeGreaterThan(0);
    expect(lines[at + 1]).toMatch(/^echo PXE Desk: .* failed to load \(.+\); back to the menu$/);
  }
  expect(lines).toContain(':back_to_menu');
}

describe('generateBootScript: analysed ISOs', () => {
  const isoUrl = `${base}/isos/live%20cd.iso`;

  it('live-boot on UEFI: kernel and initrd from inside the ISO, fetch= filled with the ISO URL, initrd= names', () => {
    const e = isoEntry(
      'isos/live cd.iso',
      info('live-boot', [
        kernelEntry({ id: 'live', cmdline: 'boot=live fetch={iso}/live/filesystem.squashfs' }),
      ]),
    );
    const lines = script([e], 'uefi-x64');
    expect(lines).toContain(
      `kernel ${isoUrl}/live/vmlinuz initrd=initrd.img boot=live fetch=${isoUrl}/live/filesystem.squashfs || goto failed_0`,
    );
    expect(lines).toContain(`initrd ${isoUrl}/live/initrd.img || goto failed_1`);
    expect(lines).toContain('boot || goto failed_2');
    expect(lines.join('\n')).not.toContain('{iso}');
    expectFallbacks(lines);
  });

  it('BIOS: no initrd= names; dracut root=live: and archiso_http_srv= carry the ISO URL', () => {
    const dracut = isoEntry(
      'isos/live cd.iso',
      info('dracut', [
        kernelEntry({
          id: 'l',
          kernel: 'isolinux/vmlinuz',
          cmdline: 'root=live:{iso}/LiveOS/squashfs.img rd.live.image',
        }),
      ]),
    );
    const arch = isoEntry(
      'arch.iso',
      info('archiso', [
        kernelEntry({ id: 'a', cmdline: 'archisobasedir=arch archiso_http_srv={iso}/ ip=dhcp' }),
      ]),
    );
    const lines = script([dracut, arch], 'bios');
    expect(lines).toContain(
      `kernel ${isoUrl}/isolinux/vmlinuz root=live:${isoUrl}/LiveOS/squashfs.img rd.live.image || goto failed_0`,
    );
    expect(lines.some((l) => l.includes(`archiso_http_srv=${base}/arch.iso/ ip=dhcp`))).toBe(true);
    expect(lines.some((l) => l.includes('initrd='))).toBe(false);
    expectFallbacks(lines);
  });

  it('UEFI: initrds of one basename get unique --name images, named so on the kernel line', () => {
    const e = isoEntry(
      'a.iso',
      info('archiso', [
        kernelEntry({
          id: 'a',
          initrds: ['boot/ucode/initrd', 'boot/initrd', 'boot/my initrd.img'],
          cmdline: '',
        }),
      ]),
    );
    const lines = script([e], 'uefi-x64');
    const k = lines.find((l) => l.startsWith('kernel '));
    expect(k).toBe(
      `kernel ${base}/a.iso/live/vmlinuz initrd=initrd initrd=1-initrd initrd=my_initrd.img || goto failed_0`,
    );
    expect(lines).toContain(`initrd ${base}/a.iso/boot/ucode/initrd || goto failed_1`);
    expect(lines).toContain(`initrd --name 1-initrd ${base}/a.iso/boot/initrd || goto failed_2`);
    expect(lines).toContain(
      `initrd --name my_initrd.img ${base}/a.iso/boot/my%20initrd.img || goto failed_3`,
    );
  });

  it('a BIOS-only ISO is never offered to UEFI: sanboot on BIOS, a gap line saying why on UEFI', () => {
    const bios = isoEntry(
      'util.iso',
      info(
        'other',
        [
          {
            id: 'sanboot',
            title: 'Boot the whole image (sanboot)',
            firmware: ['bios'],
            route: 'sanboot',
            isDefault: true,
          },
          { id: 'none-uefi', title: 'Not bootable', firmware: ['uefi'], route: 'none', isDefault: true },
        ],
        { bios: true, uefi: false },
      ),
      'Utility CD',
    );
    const efi: LibraryEntry = {
      id: 'x.efi',
      kind: 'efi',
      title: 'X',
      path: 'x.efi',
      arch: ['uefi-x64'],
      size: 1,
    };
    // Even if the library claimed UEFI for it, the analysis says there is no UEFI route.
    const claimed = { ...bios, arch: ['bios', 'uefi-x64'] as BootArch[] };
    const u = script([claimed, efi], 'uefi-x64');
    expect(u.join('\n')).not.toContain('sanboot');
    expect(u).toContain('item --gap Utility CD: not bootable over the network on UEFI');
    const b = script([bios], 'bios');
    expect(b).toContain(`sanboot --no-describe ${base}/util.iso || goto failed_0`);
    expectFallbacks(b);
  });

  it('memdisk: the boot-file cache memdisk with the floppy image from inside the ISO', () => {
    const e = isoEntry(
      'mt.iso',
      info('memtest', [
        {
          id: 'memdisk',
          title: 'memdisk',
          firmware: ['bios'],
          route: 'memdisk',
          initrds: ['boot/floppy.img'],
          cmdline: 'floppy',
          isDefault: true,
        },
        {
          id: 'memtest86',
          title: 'memtest86+',
          firmware: ['uefi'],
          route: 'kernel',
          kernel: 'EFI/BOOT/bootx64.efi',
          initrds: [],
          cmdline: '',
          isDefault: true,
        },
      ]),
    );
    const b = script([e], 'bios');
    expect(b).toContain(`kernel ${base}/memdisk floppy || goto failed_0`);
    expect(b).toContain(`initrd ${base}/mt.iso/boot/floppy.img || goto failed_1`);
    expectFallbacks(b);
    const u = script([e], 'uefi-x64');
    expect(u).toContain(`kernel ${base}/mt.iso/EFI/BOOT/bootx64.efi || goto failed_0`);
    expect(u.some((l) => l.startsWith('initrd '))).toBe(false);
    const whole = isoEntry(
      'small.iso',
      info('other', [
        {
          id: 'm',
          title: 'm',
          firmware: ['bios'],
          route: 'memdisk',
          initrds: [],
          cmdline: 'iso raw',
          isDefault: true,
        },
      ]),
    );
    expect(script([whole], 'bios')).toContain(`initrd ${base}/small.iso || goto failed_1`);
  });

  it('"More options" submenu lists the ISO entries for the firmware; a user edit (metadata key) replaces the command line', () => {
    const e = isoEntry(
      'u.iso',
      info('casper', [
        kernelEntry({
          id: 'try',
          title: 'Try Ubuntu',
          route: 'kernel-iso-ram',
          kernel: 'casper/vmlinuz',
          initrds: ['casper/initrd'],
          cmdline: 'boot=casper ip=dhcp url={iso} ---',
        }),
        kernelEntry({
          id: 'safe',
          title: 'Safe graphics',
          group: ['Advanced'],
          isDefault: false,
          route: 'kernel-iso-ram',
          kernel: 'casper/vmlinuz',
          initrds: ['casper/initrd'],
          cmdline: 'nomodeset url={iso}',
        }),
        kernelEntry({
          id: 'uefi-only',
          title: 'UEFI only',
          firmware: ['uefi'],
          isDefault: false,
          cmdline: '',
        }),
      ]),
      'Ubuntu && shell',
    );
    const m = meta({
      entries: { [isoEntryMetaKey('u.iso', 'safe')]: { cmdline: 'nomodeset url={iso} debug' } },
    });
    const lines = script([e], 'bios', m);
    expect(lines).toContain('item e0 Ubuntu & shell');
    expect(lines).toContain('item e0m More options: Ubuntu & shell...');
    const sub = lines.indexOf(':e0m');
    expect(lines.slice(sub, sub + 3)).toEqual([
      ':e0m',
      'menu Ubuntu & shell',
      'item e0s0 Try Ubuntu (default)',
    ]);
    expect(lines).toContain('item e0s1 Advanced > Safe graphics');
    expect(lines.join('\n')).not.toContain('UEFI only');
    expect(lines).toContain('item menu Back to the main menu');
    expect(lines).toContain(
      `kernel ${base}/u.iso/casper/vmlinuz nomodeset url=${base}/u.iso debug || goto failed_6`,
    );
    expect(lines).toContain(
      'echo PXE Desk: Ubuntu & shell: Advanced > Safe graphics failed to load (kernel casper/vmlinuz); back to the menu',
    );
    expectFallbacks(lines);
  });

  it('titles and command lines cannot end an iPXE command early (; || && and # words)', () => {
    const e = isoEntry(
      'x.iso',
      info('other', [
        kernelEntry({ id: 'k', route: 'kernel', cmdline: 'quiet ; reboot || shell && x #comment ok' }),
      ]),
      'Disc #1 ; tools',
    );
    const lines = script([e], 'bios');
    expect(lines).toContain('item e0 Disc _1 , tools');
    expect(lines).toContain(`kernel ${base}/x.iso/live/vmlinuz quiet reboot shell x ok || goto failed_0`);
  });

  it('says how much RAM the default route needs before loading the ISO into RAM', () => {
    const e = isoEntry('u.iso', {
      ...info('casper', [
        kernelEntry({ id: 'try', route: 'kernel-iso-ram', cmdline: 'url={iso}' }),
        kernelEntry({
          id: 'safe',
          isDefault: false,
          route: 'kernel-iso-ram',
          cmdline: 'nomodeset url={iso}',
        }),
      ]),
      ramBytes: 7_100_000_000,
    });
    const lines = script([e], 'uefi-x64');
    const k = lines.indexOf(
      `kernel ${base}/u.iso/live/vmlinuz initrd=initrd.img url=${base}/u.iso || goto failed_0`,
    );
    expect(lines[k - 1]).toBe(
      'echo PXE Desk: the whole ISO is loaded into RAM; this machine needs 7.1 GB of RAM',
    );
    // The figure is the default's: another entry is not given one it may not need.
    expect(lines.filter((l) => l.includes('needs 7.1 GB'))).toHaveLength(2); // e0 and its submenu copy (e0s0)
  });

  it('a per-MAC override may name one ISO entry (<id>#<sub>) and still falls back to the menu', () => {
    const e = isoEntry(
      'u.iso',
      info('live-boot', [
        kernelEntry({ id: 'live', cmdline: 'a' }),
        kernelEntry({ id: 'toram', title: 'To RAM', isDefault: false, cmdline: 'toram' }),
      ]),
      'Deb',
    );
    const m = meta({ perMac: { '52:54:00:aa:bb:cc': { entry: 'u.iso#toram' } } });
    const lines = script([e], 'bios', m);
    expect(lines.slice(2, 4)).toEqual([
      'echo PXE Desk: booting Deb: To RAM',
      `kernel ${base}/u.iso/live/vmlinuz toram || goto failed_0`,
    ]);
    expect(lines).toContain(':menu');
    expectFallbacks(lines);
  });

  it('a boot-once override of one ISO entry is cleared after it was served', async () => {
    const e = isoEntry(
      'u.iso',
      info('live-boot', [
        kernelEntry({ id: 'live', cmdline: 'a' }),
        kernelEntry({ id: 'toram', title: 'To RAM', isDefault: false, cmdline: 'toram' }),
      ]),
    );
    let m = meta({ perMac: { '52:54:00:aa:bb:cc': { entry: 'u.iso#toram', once: true } } });
    const cleared: string[] = [];
    const lib = {
      entries: () => [e],
      metadata: () => m,
      setMacOverride: async (mac: string) => {
        cleared.push(mac);
        m = meta({});
      },
    } as unknown as NetbootLibrary;
    const handler = createScriptHandler(lib, { baseUrl: base });
    const first = await handler(
      'boot.ipxe',
      new URLSearchParams('mac=52:54:00:aa:bb:cc&arch=bios'),
      '10.0.0.9',
    );
    expect(first).toContain('booting u.iso: To RAM (once)');
    expect(cleared).toEqual(['52:54:00:aa:bb:cc']);
    const next = await handler(
      'boot.ipxe',
      new URLSearchParams('mac=52:54:00:aa:bb:cc&arch=bios'),
      '10.0.0.9',
    );
    expect(next).not.toContain('(once)');
    expect(next).toContain('booting u.iso (the only entry)');
  });

  it('a Windows ISO (route none) is not a menu entry; with nothing else the retry script says why', () => {
    const win = isoEntry(
      'win.iso',
      {
        ...info('windows', [
          { id: 'none', title: 'Windows installer', firmware: [...both], route: 'none', isDefault: true },
        ]),
        note: 'Windows installer: network install not supported yet',
      },
      'Win11',
    );
    const lines = script([{ ...win, arch: ['bios', 'uefi-x64'] }], 'uefi-x64');
    expect(lines).toContain('echo Win11: not bootable over the network on UEFI');
    expect(lines.join('\n')).not.toContain('sanboot');
  });
});

const tools = haveTools('xorriso', 'mformat', 'mcopy');
describe.skipIf(!tools)('generateBootScript on real analysed ISOs', () => {
  let dir = '';
  let cleanup = (): void => undefined;
  beforeAll(() => ({ dir, cleanup } = tempDir('pxe-iso-menu-')));
  afterAll(() => cleanup());

  it('casper and live-boot ISOs: the kernel line carries the network root pointing at the ISO itself', async () => {
    const c = await analyseIsoFile(casperIso(dir), 'isos/ubuntu.iso');
    const l = await analyseIsoFile(liveBootIso(dir), 'isos/debian-live.iso');
    const entries = [
      isoEntry('isos/ubuntu.iso', c, 'Ubuntu'),
      isoEntry('isos/debian-live.iso', l, 'Debian live'),
    ];
    for (const arch of ['bios', 'uefi-x64'] as const) {
      const lines = script(entries, arch);
      const k = lines.filter((x) => x.startsWith('kernel '));
      expect(
        k.some(
          (x) =>
            x.startsWith(`kernel ${base}/isos/ubuntu.iso/casper/vmlinuz `) &&
            x.includes(` url=${base}/isos/ubuntu.iso `),
        ),
      ).toBe(true);
      expect(k.some((x) => x.includes(` fetch=${base}/isos/debian-live.iso/live/filesystem.squashfs`))).toBe(
        true,
      );
      expectFallbacks(lines);
    }
  });
});
