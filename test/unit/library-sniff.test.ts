import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { peArch, sniffFile, sniffHeader } from '../../app/core/library-sniff.js';
import { parseMetadata } from '../../app/core/netboot-library.js';

/** Minimal PE header: "MZ", e_lfanew at 0x3c → "PE\0\0" + machine. */
function pe(machine: number): Buffer {
  const b = Buffer.alloc(4096);
  b.write('MZ', 0, 'latin1');
  b.writeUInt32LE(0x80, 0x3c);
  b.write('PE\0\0', 0x80, 'latin1');
  b.writeUInt16LE(machine, 0x84);
  return b;
}

describe('sniffHeader', () => {
  it('maps PE machine types to arch', () => {
    expect(peArch(pe(0x8664))).toBe('uefi-x64');
    expect(peArch(pe(0x14c))).toBe('uefi-ia32');
    expect(peArch(pe(0xaa64))).toBe('uefi-arm64');
    expect(peArch(pe(0x1234))).toBeUndefined();
    expect(sniffHeader(pe(0xaa64), 'grubaa64.efi')).toEqual({ kind: 'efi', arch: ['uefi-arm64'] });
  });

  it('tells memtest86+ from Linux by the boot header version string, else by name', () => {
    // Linux boot protocol: 0x20e holds the kernel_version string's offset minus 0x200.
    const withVersion = (text: string, efi: boolean): Buffer => {
      const b = efi ? pe(0x8664) : Buffer.alloc(4096);
      b.write('HdrS', 0x202, 'latin1');
      b.writeUInt16LE(0x260, 0x20e);
      b.write(`${text}\0`, 0x460, 'latin1');
      return b;
    };
    expect(sniffHeader(withVersion('Memtest86+ v6.10', false), 'mt.bin')).toEqual({
      kind: 'memtest',
      arch: ['bios'],
      version: 'Memtest86+ v6.10',
    });
    // Its PE build is the UEFI one only (one memtest per firmware when both are in the folder).
    expect(sniffHeader(withVersion('Memtest86+ v6.10', true), 'x.efi')).toMatchObject({
      kind: 'memtest',
      arch: ['uefi-x64'],
    });
    expect(
      sniffHeader(withVersion('6.1.0-13-amd64 (debian-kernel@lists.debian.org)', false), 'vmlinuz'),
    ).toEqual({
      kind: 'linux-kernel',
      arch: ['bios'],
    });
    const plain = Buffer.alloc(4096);
    plain.write('HdrS', 0x202, 'latin1');
    expect(sniffHeader(plain, 'memtest86+.bin').kind).toBe('memtest');
    expect(sniffHeader(pe(0x8664), 'memtest64.efi').kind).toBe('memtest');
  });

  it('recognises bzImage with and without the EFI stub', () => {
    const legacy = Buffer.alloc(4096);
    legacy.write('HdrS', 0x202, 'latin1');
    expect(sniffHeader(legacy, 'vmlinuz')).toEqual({ kind: 'linux-kernel', arch: ['bios'] });
    const stub = pe(0x8664);
    stub.write('HdrS', 0x202, 'latin1');
    expect(sniffHeader(stub, 'vmlinuz')).toEqual({ kind: 'linux-kernel', arch: ['bios', 'uefi-x64'] });
  });

  it('recognises initrd compressions by magic plus name', () => {
    const magics = [
      '1f8b08',
      '28b52ffd',
      'fd377a585a00',
      Buffer.from('070701').toString('hex'),
      Buffer.from('070702').toString('hex'),
    ];
    for (const m of magics) {
      const b = Buffer.concat([Buffer.from(m, 'hex'), Buffer.alloc(64)]);
      expect(sniffHeader(b, 'initrd.img-6.1').kind, m).toBe('initrd');
    }
    expect(sniffHeader(Buffer.from('1f8b0800', 'hex'), 'archive.tgz').kind).toBe('unknown');
  });

  it('recognises scripts, WIM, NBPs and disk images', () => {
    expect(sniffHeader(Buffer.from('#!ipxe\n'), 'x').kind).toBe('ipxe-script');
    expect(sniffHeader(Buffer.from('MSWIM\0\0\0rest'), 'boot.wim').kind).toBe('wim');
    expect(sniffHeader(Buffer.alloc(100), 'undionly.kpxe').kind).toBe('nbp');
    const mbr = Buffer.alloc(512);
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    expect(sniffHeader(mbr, 'usb.img')).toEqual({ kind: 'disk', arch: ['bios'] });
    const gpt = Buffer.concat([mbr, Buffer.from('EFI PART'), Buffer.alloc(100)]);
    expect(sniffHeader(gpt, 'disk.raw')).toEqual({ kind: 'disk', arch: ['bios', 'uefi-x64'] });
    expect(sniffHeader(Buffer.from('hello'), 'readme').kind).toBe('unknown');
  });
});

describe('sniffFile', () => {
  it('takes an isohybrid ISO (MBR + GPT header + ISO 9660) for an ISO, a GPT image without CD001 for a disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pxd-sniff-'));
    try {
      const gpt = Buffer.alloc(40 * 2048);
      gpt[510] = 0x55;
      gpt[511] = 0xaa;
      gpt.write('EFI PART', 512, 'latin1');
      writeFileSync(join(dir, 'disk.img'), gpt);
      expect((await sniffFile(join(dir, 'disk.img'), 'disk.img')).kind).toBe('disk');
      const hybrid = Buffer.from(gpt);
      hybrid[16 * 2048] = 1;
      hybrid.write('CD001', 16 * 2048 + 1, 'latin1');
      writeFileSync(join(dir, 'live.iso'), hybrid);
      expect((await sniffFile(join(dir, 'live.iso'), 'live.iso')).kind).toBe('iso');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parseMetadata', () => {
  it('keeps valid fields and drops hostile ones', () => {
    const m = parseMetadata({
      defaultEntry: 'a',
      timeoutSeconds: 99999,
      entries: { a: { title: 'A', arch: ['bios', 'mips'], cmdline: 5 }, b: 'x' },
      perMac: { '52:54:00:aa:bb:cc': { entry: 'a', once: true }, nope: { entry: 'a' } },
    });
    expect(m).toEqual({
      version: 1,
      defaultEntry: 'a',
      entries: { a: { title: 'A', arch: ['bios'] } },
      perMac: { '52:54:00:aa:bb:cc': { entry: 'a', once: true } },
    });
    expect(parseMetadata('junk')).toEqual({ version: 1, entries: {}, perMac: {} });
  });
});
