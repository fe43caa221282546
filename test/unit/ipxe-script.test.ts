import { describe, expect, it } from 'vitest';
import { generateBootScript, parseScriptQuery } from '../../app/core/ipxe-script.js';
import type { LibraryEntry, LibraryMetadata } from '../../app/shared/library-types.js';

const base = 'http://10.0.0.1:8080';
const kernel: LibraryEntry = {
  id: 'deb/vmlinuz',
  kind: 'linux',
  title: 'Debian',
  path: 'deb/vmlinuz',
  initrd: 'deb/initrd.gz',
  arch: ['bios', 'uefi-x64'],
  cmdline: 'console=ttyS0',
  size: 1,
};
const iso: LibraryEntry = {
  id: 'x.iso',
  kind: 'iso',
  title: 'X ${evil}',
  path: 'x.iso',
  arch: ['bios'],
  size: 1,
};
const efi: LibraryEntry = {
  id: 'a b.efi',
  kind: 'efi',
  title: 'A',
  path: 'a b.efi',
  arch: ['uefi-x64'],
  size: 1,
};
const meta = (m: Partial<LibraryMetadata>): LibraryMetadata => ({
  version: 1,
  entries: {},
  perMac: {},
  ...m,
});

describe('parseScriptQuery', () => {
  it('accepts and normalises MACs and arch names', () => {
    expect(parseScriptQuery(new URLSearchParams('mac=52-54-00-AA-BB-CC&arch=uefi-x64-http'))).toEqual({
      mac: '52:54:00:aa:bb:cc',
      arch: 'uefi-x64',
    });
    expect(parseScriptQuery(new URLSearchParams('mac=525400aabbcc&arch=bios'))?.mac).toBe(
      '52:54:00:aa:bb:cc',
    );
    expect(parseScriptQuery(new URLSearchParams(''))).toEqual({ arch: 'bios' });
  });
  it('rejects anything outside the strict pattern', () => {
    for (const q of [
      'mac=52:54:00:aa:bb',
      'mac=zz:54:00:aa:bb:cc',
      'arch=${x}',
      'arch=mips',
      'mac=52:54:00:aa:bb:cc%0a',
    ]) {
      expect(parseScriptQuery(new URLSearchParams(q)), q).toBeUndefined();
    }
  });
});

describe('generateBootScript', () => {
  it('builds a UEFI menu line by line with absolute URLs, initrd= and the default', () => {
    const s = generateBootScript({
      baseUrl: `${base}/`,
      entries: [iso, kernel, efi],
      metadata: meta({ defaultEntry: 'a b.efi', timeoutSeconds: 7 }),
      client: { mac: '52:54:00:aa:bb:cc', arch: 'uefi-x64' },
    });
    expect(s.split('\n')).toEqual([
      '#!ipxe',
      '# PXE Desk menu for 52:54:00:aa:bb:cc (uefi-x64)',
      ':menu',
      'menu PXE Desk',
      'item e0 Debian',
      'item e1 A',
      'item --gap',
      'item shell iPXE shell',
      'item exit Exit (boot next device)',
      'choose --default e1 --timeout 7000 target || goto exit',
      'goto ${target}',
      '',
      ':e0',
      `kernel ${base}/deb/vmlinuz initrd=initrd.gz console=ttyS0 || goto failed_0`,
      `initrd ${base}/deb/initrd.gz || goto failed_1`,
      'boot || goto failed_2',
      'goto menu',
      '',
      ':e1',
      `chain ${base}/a%20b.efi || goto failed_3`,
      'goto menu',
      '',
      ':shell',
      'shell',
      'goto menu',
      '',
      ':exit',
      'exit',
      '',
      ':failed_0',
      'echo PXE Desk: Debian failed to load (kernel download); back to the menu',
      'goto back_to_menu',
      '',
      ':failed_1',
      'echo PXE Desk: Debian failed to load (initrd download); back to the menu',
      'goto back_to_menu',
      '',
      ':failed_2',
      'echo PXE Desk: Debian failed to load (the kernel did not start); back to the menu',
      'goto back_to_menu',
      '',
      ':failed_3',
      'echo PXE Desk: A failed to load (chain a b.efi); back to the menu',
      'goto back_to_menu',
      '',
      ':back_to_menu',
      'sleep 5',
      'goto menu',
      '',
    ]);
  });

  it('BIOS: no initrd= on the kernel line, an ISO not analysed yet via sanboot with a note, titles sanitised', () => {
    const lines = generateBootScript({
      baseUrl: base,
      entries: [kernel, iso, efi],
      client: { arch: 'bios' },
    }).split('\n');
    expect(lines).toContain(`kernel ${base}/deb/vmlinuz console=ttyS0 || goto failed_0`);
    expect(lines).toContain('item e1 X __evil_');
    expect(lines).toContain(`sanboot --no-describe ${base}/x.iso || goto failed_3`);
    expect(lines).toContain(
      'echo PXE Desk: X __evil_ failed to load (sanboot of the image); back to the menu',
    );
    expect(lines.some((l) => l.startsWith('echo Note: this ISO has not been analysed yet'))).toBe(true);
    expect(lines.join('\n')).not.toContain('a%20b.efi'); // x64-only EFI app hidden from BIOS
    expect(lines).toContain('choose --default e0 --timeout 10000 target || goto exit');
  });

  it('per-MAC override boots the entry directly; when it fails the menu follows', () => {
    const s = generateBootScript({
      baseUrl: base,
      entries: [kernel, efi],
      metadata: meta({ perMac: { '52:54:00:aa:bb:cc': { entry: 'a b.efi', once: true } } }),
      client: { mac: '52:54:00:aa:bb:cc', arch: 'uefi-x64' },
    });
    expect(
      s.startsWith(
        `#!ipxe\n# PXE Desk menu for 52:54:00:aa:bb:cc (uefi-x64)\necho PXE Desk: booting A (once)\nchain ${base}/a%20b.efi || goto failed_0\ngoto menu\n:menu\n`,
      ),
    ).toBe(true);
    expect(s).toContain(
      '\n:failed_0\necho PXE Desk: A failed to load (chain a b.efi); back to the menu\ngoto back_to_menu\n',
    );
    expect(s).toContain('\n:back_to_menu\nsleep 5\ngoto menu\n');
    expect(s).toContain('item e1 A\n');
  });

  it('one bootable entry and no timeout set: boots it at once, no menu countdown', () => {
    const s = generateBootScript({ baseUrl: base, entries: [kernel, efi], client: { arch: 'bios' } });
    expect(
      s.startsWith(
        `#!ipxe\n# PXE Desk menu for unknown MAC (bios)\necho PXE Desk: booting Debian (the only entry)\nkernel ${base}/deb/vmlinuz console=ttyS0 || goto failed_0\ninitrd ${base}/deb/initrd.gz || goto failed_1\nboot || goto failed_2\ngoto menu\n:menu\n`,
      ),
    ).toBe(true);
    // No countdown before the boot; the menu is only where a failed boot lands.
    expect(s.indexOf('choose ')).toBeGreaterThan(s.indexOf('boot || goto failed_2'));
    // A timeout the user set means they want to see the menu, even for one entry.
    const withMenu = generateBootScript({
      baseUrl: base,
      entries: [kernel],
      metadata: meta({ timeoutSeconds: 5 }),
      client: { arch: 'bios' },
    });
    expect(withMenu).toContain('choose --default e0 --timeout 5000 target || goto exit');
  });

  it("memtest is chained with the user's command line (console=ttyS0 mirrors its screen to serial), never an initrd", () => {
    const memtest: LibraryEntry = {
      id: 'memtest86+x64.bin',
      kind: 'memtest',
      title: 'memtest86+',
      path: 'memtest86+x64.bin',
      arch: ['bios'],
      size: 150_000,
      cmdline: 'console=ttyS0,115200',
    };
    const s = generateBootScript({ baseUrl: base, entries: [memtest], client: { arch: 'bios' } });
    expect(s).toMatch(
      /^chain http:\/\/10\.0\.0\.1:8080\/memtest86%2Bx64\.bin console=ttyS0,115200 \|\| goto failed_0$/m,
    );
    expect(s).not.toMatch(/^initrd /m);
    const { cmdline: _c, ...plain } = memtest;
    expect(generateBootScript({ baseUrl: base, entries: [plain], client: { arch: 'bios' } })).toMatch(
      /^chain http:\/\/10\.0\.0\.1:8080\/memtest86%2Bx64\.bin \|\| goto failed_0$/m,
    );
  });

  it('explains when nothing is bootable', () => {
    const s = generateBootScript({ baseUrl: base, entries: [efi], client: { arch: 'uefi-arm64' } });
    expect(s.startsWith('#!ipxe\n')).toBe(true);
    expect(s).toContain('no bootable entries for this machine (uefi-arm64)');
    expect(s).toContain(`chain ${base}/boot.ipxe?mac=&arch=uefi-arm64 || exit`);
  });
});
