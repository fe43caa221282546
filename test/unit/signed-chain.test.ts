/**
 * The signed chain (issue 19, docs/secure-boot.md): which UEFI clients get shim instead of iPXE, with what in
 * `file`/siaddr/option 67, the proxy-mode PXE refusal, the generated GRUB menu, and the RAM-disk image.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BootConfig, BootRequest } from '../../app/engines/dhcp/boot-decision.js';
import { decideBoot } from '../../app/engines/dhcp/boot-decision.js';
import { decode, encode, MessageType, Opt } from '../../app/engines/dhcp/codec.js';
import { answerBootServer } from '../../app/engines/dhcp/pxe-reply.js';
import { buildFatImage } from '../../app/core/fat-image.js';
import { generateGrubMenu, GRUB_CFG, createGrubHandler } from '../../app/core/grub-script.js';
import { signedImageGrubConfig } from '../../app/core/signed-boot-image.js';
import type { NetbootLibrary } from '../../app/core/netboot-library.js';
import type { FirmwareKind } from '../../app/shared/events.js';
import type { LibraryEntry, LibraryMetadata } from '../../app/shared/library-types.js';

const mac = '52:54:00:aa:bb:cc';
const calls: [string, FirmwareKind][] = [];
const cfg = (over: Partial<BootConfig> = {}): BootConfig => ({
  mode: 'dhcp',
  serverAddress: '10.0.0.1',
  tftpServer: '10.0.0.1',
  httpBaseUrl: 'http://10.0.0.1:8080',
  chainFor: (m, fw) => {
    calls.push([m, fw]);
    return 'signed';
  },
  ...over,
});
const pxe = (arch: number, extra: Partial<BootRequest> = {}): BootRequest => ({
  mac,
  archs: [arch],
  vendorClass: `PXEClient:Arch:${String(arch).padStart(5, '0')}:UNDI:003000`,
  ...extra,
});
const http = (): BootRequest => ({ mac, archs: [16], vendorClass: 'HTTPClient:Arch:00016:UNDI:003000' });
const boot = (req: BootRequest, c: BootConfig) => {
  const plan = decideBoot(req, c);
  if (plan.kind !== 'boot') throw new Error(`refused: ${plan.reason}`);
  return plan;
};

describe('boot decision: the signed chain', () => {
  it('UEFI x64 PXE (7, 9) on the signed chain gets shimx64.efi, marked signed', () => {
    for (const arch of [7, 9]) {
      const p = boot(pxe(arch), cfg());
      expect(p.bootFile).toBe('shimx64.efi');
      expect(p.chain).toBe('signed');
      expect(p.nextServer).toBe('10.0.0.1');
    }
  });
  it('the iPXE chain, BIOS and IA32 never ask for or get the shim', () => {
    calls.length = 0;
    expect(boot(pxe(7), cfg({ chainFor: () => 'ipxe' })).bootFile).toBe('snponly.efi');
    expect(boot(pxe(0), cfg()).bootFile).toBe('undionly.kpxe');
    expect(calls.filter(([, fw]) => fw === 'bios')).toEqual([]);
    // iPXE itself runs (so no Secure Boot): its script, whatever the chain.
    const ipxe = boot(pxe(7, { userClasses: ['iPXE'] }), cfg());
    expect(ipxe.bootFile).toMatch(/boot\.ipxe\?mac=/);
    expect(ipxe.chain).toBeUndefined();
  });
  it("a per-MAC boot file wins over the chain; a per-firmware one is served only on iPXE's chain", () => {
    expect(boot(pxe(7), cfg({ perMac: { [mac]: { bootFile: 'mine.efi' } } })).bootFile).toBe('mine.efi');
    // PyPXE -i / proxyDHCPd imports name snponly.efi here: a client on the signed chain must still get the shim.
    const own = cfg({ bootFiles: { 'uefi-x64': 'snponly.efi' } });
    expect(boot(pxe(7), own)).toMatchObject({ bootFile: 'shimx64.efi', chain: 'signed' });
    expect(boot(pxe(7), { ...own, chainFor: () => 'ipxe' }).bootFile).toBe('snponly.efi');
  });
  it('HTTP boot (16) gets an absolute URL: the RAM-disk image when there is one, else the shim', () => {
    const p = boot(http(), cfg({ signedHttpBootFile: 'pxe-desk-signed.img' }));
    expect(p.bootFile).toBe('http://10.0.0.1:8080/pxe-desk-signed.img');
    expect(p.vendorClass).toBe('HTTPClient');
    expect(boot(http(), cfg()).bootFile).toBe('http://10.0.0.1:8080/shimx64.efi');
  });
  it('a missing shim or GRUB is a refusal naming the signed chain', () => {
    const noGrub = decideBoot(pxe(7), cfg({ hasFile: (n) => n === 'shimx64.efi' }));
    expect(noGrub.kind === 'refuse' && noGrub.code).toBe('boot-file-missing');
    expect(noGrub.kind === 'refuse' && noGrub.reason).toMatch(/grubx64\.efi is missing/);
    const noShim = decideBoot(pxe(7), cfg({ hasFile: () => false }));
    expect(noShim.kind === 'refuse' && noShim.reason).toMatch(/signed chain/);
  });
  it('proxy mode over PXE is left unanswered (GRUB would ask the site server); HTTP boot is served', () => {
    const c = cfg({ mode: 'proxy', signedHttpBootFile: 'pxe-desk-signed.img' });
    const p = decideBoot(pxe(7), c);
    expect(p.kind === 'refuse' && p.code).toBe('signed-chain-http-boot');
    expect(boot(http(), c).bootFile).toMatch(/pxe-desk-signed\.img$/);
    // Without the image there is nothing better than the shim.
    expect(boot(pxe(7), cfg({ mode: 'proxy' })).bootFile).toBe('shimx64.efi');
  });
  it('the 4011 answer carries shimx64.efi in the BOOTP file field (shim reads the folder from it)', () => {
    const req = {
      op: 1,
      htype: 1,
      hlen: 6,
      hops: 0,
      xid: 7,
      secs: 0,
      flags: 0,
      ciaddr: '10.0.0.50',
      yiaddr: '0.0.0.0',
      siaddr: '0.0.0.0',
      giaddr: '0.0.0.0',
      chaddr: Buffer.from([0x52, 0x54, 0, 0xaa, 0xbb, 0xcc, ...new Array(10).fill(0)]),
      sname: '',
      file: '',
      options: new Map<number, Buffer>([
        [Opt.messageType, Buffer.from([MessageType.Request])],
        [Opt.vendorClass, Buffer.from('PXEClient:Arch:00007:UNDI:003000')],
        [Opt.clientArch, Buffer.from([0, 7])],
      ]),
      hasCookie: true,
    };
    const msg = decode(encode(req));
    const a = answerBootServer(
      msg,
      { address: '10.0.0.50', port: 4011 },
      cfg(),
      Buffer.from([10, 0, 0, 1]),
      undefined,
      0,
    );
    expect(a?.kind).toBe('ack');
    if (a?.kind !== 'ack') return;
    expect(a.reply.file).toBe('shimx64.efi');
    expect(a.reply.siaddr).toBe('10.0.0.1');
  });
});

const entry = (over: Partial<LibraryEntry>): LibraryEntry => ({
  id: 'vmlinuz',
  kind: 'linux',
  title: 'Debian kernel',
  path: 'vmlinuz',
  initrd: 'initrd.gz',
  arch: ['bios', 'uefi-x64'],
  size: 1,
  ...over,
});
const meta = (over: Partial<LibraryMetadata> = {}): LibraryMetadata => ({
  version: 1,
  entries: {},
  perMac: {},
  ...over,
});

describe('generated GRUB menu', () => {
  const base = { baseUrl: 'http://10.0.0.1:8080' };
  it('a single entry boots at once: linux + initrd from $root, the command line escaped', () => {
    const text = generateGrubMenu({
      ...base,
      mac,
      entries: [entry({ cmdline: 'console=ttyS0,115200 x=$y;z' })],
    });
    expect(text).toContain('set timeout=0');
    expect(text).toContain('if linux /vmlinuz console=ttyS0,115200 x=\\$y\\;z; then');
    expect(text).toContain('  initrd /initrd.gz');
    expect(text).not.toMatch(/mac\/\$net_default_mac/); // MAC known: no per-MAC indirection
  });
  it('a menu: default and timeout from the library, BIOS-only and iPXE-only entries left out', () => {
    const text = generateGrubMenu({
      ...base,
      mac,
      entries: [
        entry({ id: 'a/vmlinuz', path: 'a/vmlinuz', title: "Tom's kernel" }),
        entry({ id: 'b/vmlinuz', path: 'b/vmlinuz', title: 'B' }),
        entry({ id: 'x.kpxe', kind: 'nbp', path: 'x.kpxe', arch: ['bios'] }),
        entry({ id: 'm.ipxe', kind: 'ipxe-script', path: 'm.ipxe' }),
        entry({ id: 'tool.efi', kind: 'efi', path: 'tool.efi', title: 'Tool' }),
        entry({ id: 'd/shimx64.efi', kind: 'efi', path: 'd/shimx64.efi', secondary: 'hidden' }),
      ],
      metadata: meta({ defaultEntry: 'b/vmlinuz', timeoutSeconds: 7 }),
    });
    expect(text).toContain('set timeout=7');
    expect(text).toContain('set default=e1');
    expect(text).toContain(`menuentry 'Tom'\\''s kernel' --id e0 {`);
    expect(text).toContain('if chainloader /tool.efi; then');
    expect(text).not.toMatch(/x\.kpxe|m\.ipxe|shimx64/);
  });
  it('per-MAC entry and unknown MAC: the forced entry only; without a MAC, GRUB asks by its own MAC', () => {
    const entries = [entry({ id: 'a', path: 'a' }), entry({ id: 'b', path: 'b', title: 'B' })];
    const forced = generateGrubMenu({
      ...base,
      mac,
      entries,
      metadata: meta({ perMac: { [mac]: { entry: 'b', once: true } } }),
    });
    expect(forced).toContain('PXE Desk: booting B (once)');
    expect(forced).not.toContain('linux /a');
    const anyone = generateGrubMenu({ ...base, entries });
    expect(anyone).toContain('configfile $prefix/mac/$net_default_mac.cfg');
  });
  it('an unsigned kernel is marked and its refusal is reported to the server', () => {
    const text = generateGrubMenu({
      ...base,
      mac,
      entries: [entry({}), entry({ id: 'b', path: 'b', title: 'B' })],
      signatureOf: (e) => ({ signed: e.id !== 'vmlinuz', signers: [] }),
    });
    expect(text).toContain("menuentry 'Debian kernel (unsigned: refused under Secure Boot)'");
    expect(text).toContain("menuentry 'B' --id e1");
    expect(text).toContain('cat $prefix/refused/vmlinuz');
    // After a refusal the menu waits for a key instead of booting the refused kernel again.
    expect(text).toContain('export pxedesk_refused');
    expect(text).toContain('if [ "$pxedesk_refused" = 1 ]; then set timeout=-1; fi');
  });
  it('ISO entries boot their kernel from inside the image, {iso} replaced by its URL', () => {
    const text = generateGrubMenu({
      ...base,
      mac,
      entries: [
        entry({
          id: 'isos/u.iso',
          kind: 'iso',
          path: 'isos/u.iso',
          arch: ['uefi-x64'],
          iso: {
            family: 'casper',
            elTorito: { bios: true, uefi: true },
            routeSummary: '',
            entries: [
              {
                id: 'live',
                title: 'Try Ubuntu',
                firmware: ['uefi'],
                route: 'kernel-iso-ram',
                kernel: 'casper/vmlinuz',
                initrds: ['casper/initrd'],
                cmdline: 'boot=casper url={iso}',
                isDefault: true,
              },
            ],
          },
        }),
      ],
    });
    expect(text).toContain(
      'if linux /isos/u.iso/casper/vmlinuz boot=casper url=http://10.0.0.1:8080/isos/u.iso; then',
    );
    expect(text).toContain('initrd /isos/u.iso/casper/initrd');
  });
  it('the handler serves grub/grub.cfg per client, grub/mac/<mac>.cfg, and clears a boot-once entry', async () => {
    let perMac: LibraryMetadata['perMac'] = { [mac]: { entry: 'vmlinuz', once: true } };
    const library = {
      metadata: () => meta({ perMac }),
      entries: () => [entry({})],
      setMacOverride: async (_m: string, o: undefined) => {
        perMac = o ?? {};
      },
    } as unknown as NetbootLibrary;
    const once: string[] = [];
    const h = createGrubHandler(library, {
      baseUrl: () => 'http://10.0.0.1:8080',
      macForIp: (ip) => (ip === '10.0.0.50' ? mac : undefined),
      onBootOnce: (m) => once.push(m),
    });
    expect(await h('boot.ipxe', '10.0.0.50')).toBeUndefined();
    expect(await h(`/${GRUB_CFG}`, '10.0.0.50')).toContain('(once)');
    expect(once).toEqual([mac]);
    expect(await h(GRUB_CFG, '10.0.0.50')).not.toContain('(once)');
    expect(await h(`grub/mac/${mac}.cfg`, '10.0.0.99')).toContain(`menu for ${mac}`);
    expect(await h('grub/mac/../x.cfg', '10.0.0.99')).toBeUndefined();
  });
});

describe('signed chain RAM-disk image', () => {
  it('is a FAT16 image mtools reads back byte for byte', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pxd-fat-'));
    try {
      const big = Buffer.alloc(300_000, 7);
      big.write('END', big.length - 3);
      const img = buildFatImage([
        { path: 'EFI/BOOT/BOOTX64.EFI', data: big },
        { path: 'GRUB/GRUB.CFG', data: Buffer.from(signedImageGrubConfig('10.0.0.1')) },
      ]);
      expect(img.readUInt16LE(510)).toBe(0xaa55);
      expect(img.toString('latin1', 54, 62)).toBe('FAT16   ');
      const file = join(dir, 'x.img');
      writeFileSync(file, img);
      let mtools = true;
      try {
        execFileSync('mcopy', ['-n', '-i', file, '::/EFI/BOOT/BOOTX64.EFI', join(dir, 'out')], {
          stdio: 'ignore',
        });
      } catch {
        mtools = false;
      }
      if (mtools) {
        expect(readFileSync(join(dir, 'out')).equals(big)).toBe(true);
        const cfgText = execFileSync('mtype', ['-i', file, '::/GRUB/GRUB.CFG'], { encoding: 'utf8' });
        expect(cfgText).toContain('set root=(tftp,10.0.0.1)');
        expect(cfgText).toContain('net_bootp');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('refuses a name that is not 8.3', () => {
    expect(() => buildFatImage([{ path: 'grub/grub.config.txt', data: Buffer.alloc(1) }])).toThrow(/8\.3/);
  });
});
