import { describe, expect, it } from 'vitest';
import { hasNetworkRoot, rewriteCmdline, tokenize } from '../../app/core/iso-boot/cmdline.js';

describe('tokenize', () => {
  it('splits on whitespace, keeps quoted values whole with their quotes, keeps separators', () => {
    expect(tokenize('  quiet  splash\tfoo="a b  c" --- x=1 -- y ')).toEqual([
      'quiet',
      'splash',
      'foo="a b  c"',
      '---',
      'x=1',
      '--',
      'y',
    ]);
    expect(tokenize('"quoted whole" a="unbalanced rest')).toEqual(['"quoted whole"', 'a="unbalanced rest']);
    expect(tokenize('')).toEqual([]);
  });
});

describe('rewriteCmdline', () => {
  it('casper: url and ip in, iso-scan and cdrom-detect out, everything after --- untouched', () => {
    const out = rewriteCmdline(
      'casper',
      'boot=casper iso-scan/filename=/u.iso cdrom-detect/try-usb=true quiet splash --- maybe-ubiquity url=x',
    );
    expect(out).toBe(
      'boot=casper quiet splash ip=dhcp url={iso} cloud-config-url=/dev/null --- maybe-ubiquity url=x',
    );
    expect(hasNetworkRoot('casper', out)).toBe(true);
    // No boot= at all (Ubuntu Server's grub.cfg): casper is named.
    expect(tokenize(rewriteCmdline('casper', '---'))).toContain('boot=casper');
  });

  it('live-boot: fetch= names the squashfs as the tree has it; boot=live and quoted values kept', () => {
    const out = rewriteCmdline(
      'live-boot',
      'boot=live components locales="en_US.UTF-8 de_DE.UTF-8" findiso=/x',
      {
        squashfs: 'live/filesystem.squashfs',
      },
    );
    expect(out).toBe(
      'boot=live components locales="en_US.UTF-8 de_DE.UTF-8" fetch={iso}/live/filesystem.squashfs',
    );
    expect(hasNetworkRoot('live-boot', 'boot=live components')).toBe(false);
    // Clonezilla/GParted: an empty ip= goes, a real one stays; quoted ocs_ values untouched.
    expect(
      rewriteCmdline(
        'live-boot',
        'boot=live union=overlay ocs_live_run="ocs-live-general" ip= net.ifnames=0',
      ),
    ).toBe(
      'boot=live union=overlay ocs_live_run="ocs-live-general" net.ifnames=0 fetch={iso}/live/filesystem.squashfs',
    );
    expect(rewriteCmdline('live-boot', 'boot=live ip=eth0:10.0.0.5:255.0.0.0')).toContain(
      'ip=eth0:10.0.0.5:255.0.0.0',
    );
  });

  it('dracut: root=live:CDLABEL replaced in place, rd.live.check dropped, rd.live.image kept once', () => {
    const out = rewriteCmdline(
      'dracut',
      'root=live:CDLABEL=Fedora-WS-Live-39 rd.live.image rd.live.check quiet',
    );
    expect(out).toBe('root=live:{iso}/LiveOS/squashfs.img rd.live.image quiet ip=dhcp');
    expect(rewriteCmdline('dracut', 'quiet')).toBe(
      'quiet root=live:{iso}/LiveOS/squashfs.img rd.live.image ip=dhcp',
    );
    expect(hasNetworkRoot('dracut', 'root=live:CDLABEL=x')).toBe(false);
    expect(hasNetworkRoot('dracut', out)).toBe(true);
  });

  it('dracut installer: inst.stage2 and inst.repo point at the ISO, no live root added', () => {
    const out = rewriteCmdline('dracut', 'inst.stage2=hd:LABEL=Rocky-9-x86_64-dvd inst.repo=cdrom quiet', {
      installer: true,
    });
    expect(out).toBe('inst.stage2={iso} inst.repo={iso} quiet ip=dhcp');
    expect(hasNetworkRoot('dracut', out)).toBe(true);
  });

  it('archiso: label/UUID/device search replaced by archiso_http_srv; an existing archisobasedir wins', () => {
    const out = rewriteCmdline(
      'archiso',
      'archisobasedir=arch archisolabel=ARCH_202401 img_dev=/dev/sr0 img_label=X cow_spacesize=4G',
      { archisoBaseDir: 'other' },
    );
    expect(out).toBe('archisobasedir=arch cow_spacesize=4G archiso_http_srv={iso}/ ip=dhcp');
    expect(rewriteCmdline('archiso', 'archisosearchuuid=2024', { archisoBaseDir: 'sysresccd' })).toBe(
      'archisobasedir=sysresccd archiso_http_srv={iso}/ ip=dhcp',
    );
  });

  it('miso (Manjaro): its own names for the same hooks', () => {
    expect(rewriteCmdline('archiso', 'misobasedir=manjaro misolabel=MANJARO_KDE quiet', { miso: true })).toBe(
      'misobasedir=manjaro quiet miso_http_srv={iso}/ ip=dhcp',
    );
  });

  it('other families keep their arguments, less initrd= (the menu names initrds itself)', () => {
    expect(rewriteCmdline('debian-installer', 'initrd=/install.amd/initrd.gz vga=788 --- quiet')).toBe(
      'vga=788 --- quiet',
    );
    expect(rewriteCmdline('other', 'BOOT_IMAGE=/x console=ttyS0,115200')).toBe('console=ttyS0,115200');
  });
});
