/**
 * File-type recognition by header (and name as a tie-breaker). Reads only a few sectors; never
 * writes. Offsets cite the format specs: Linux boot protocol (Documentation/arch/x86/boot.rst),
 * PE/COFF, ECMA-119 (ISO 9660) + El Torito, UEFI spec §5 (GPT).
 */
import { open } from 'node:fs/promises';
import type { BootArch } from '../shared/library-types.js';

export type SniffKind =
  'linux-kernel' | 'memtest' | 'initrd' | 'efi' | 'ipxe-script' | 'nbp' | 'iso' | 'disk' | 'wim' | 'unknown';

export interface SniffResult {
  readonly kind: SniffKind;
  readonly arch: readonly BootArch[];
  readonly label?: string;
  /** The boot header's version string when it lies in the header read ("Memtest86+ v6.10"). */
  readonly version?: string;
}

const PE_MACHINE: Record<number, BootArch> = { 0x8664: 'uefi-x64', 0x14c: 'uefi-ia32', 0xaa64: 'uefi-arm64' };

/** PE machine type → arch, or undefined when `head` is not a PE image. */
export function peArch(head: Buffer): BootArch | undefined {
  if (head.length < 0x40 || head.toString('latin1', 0, 2) !== 'MZ') return undefined;
  const pe = head.readUInt32LE(0x3c);
  if (pe + 6 > head.length || head.toString('latin1', pe, pe + 4) !== 'PE\0\0') return undefined;
  return PE_MACHINE[head.readUInt16LE(pe + 4)];
}

/**
 * The boot header's `kernel_version` string (Linux boot protocol: offset 0x20e holds its address minus
 * 0x200), when it lies inside `head`. Linux puts it past the first 4 KiB; memtest86+ at 0x460.
 */
function bootVersion(head: Buffer): string | undefined {
  if (head.length < 0x210) return undefined;
  const at = head.readUInt16LE(0x20e) + 0x200;
  if (at <= 0x210 || at >= head.length) return undefined;
  const end = head.indexOf(0, at);
  const text = head.toString('latin1', at, end < 0 ? Math.min(head.length, at + 128) : end);
  return /^[\x20-\x7e]{1,128}$/.test(text) ? text.trim() : undefined;
}

/** memtest86+ and the like: by the boot header's version string, else by name. */
const MEMTEST_NAME = /memtest/i;

/** Pure: classify from the first 4 KiB (ISO needs more: see sniffFile). */
export function sniffHeader(head: Buffer, name: string): SniffResult {
  const lower = name.toLowerCase();
  // bzImage: "HdrS" at 0x202 (Linux boot protocol); an EFI-stub kernel is also a PE image.
  if (head.length >= 0x206 && head.toString('latin1', 0x202, 0x206) === 'HdrS') {
    const efi = peArch(head);
    const version = bootVersion(head);
    // memtest86+ carries a Linux boot header (so GRUB's `linux` starts it) but is a program of its own:
    // no initrd, no command line. Its PE build (.efi) is the UEFI one; the plain image (.bin) the BIOS one,
    // so a folder holding both gets one memtest per firmware.
    if (/^memtest/i.test(version ?? '') || MEMTEST_NAME.test(name))
      return { kind: 'memtest', arch: efi ? [efi] : ['bios'], ...(version ? { version } : {}) };
    return { kind: 'linux-kernel', arch: efi ? ['bios', efi] : ['bios'] };
  }
  // arm64 Image: "ARM\x64" at 0x38 (Documentation/arch/arm64/booting.rst).
  if (head.length >= 0x3c && head.readUInt32LE(0x38) === 0x644d5241) {
    return { kind: 'linux-kernel', arch: ['uefi-arm64'] };
  }
  const efi = peArch(head);
  if (efi) return { kind: MEMTEST_NAME.test(name) ? 'memtest' : 'efi', arch: [efi] };
  if (head.toString('latin1', 0, 6) === '#!ipxe')
    return { kind: 'ipxe-script', arch: ['bios', 'uefi-x64', 'uefi-ia32', 'uefi-arm64'] };
  if (head.toString('latin1', 0, 8) === 'MSWIM\0\0\0') return { kind: 'wim', arch: ['bios', 'uefi-x64'] };
  const isInitrdMagic =
    (head[0] === 0x1f && head[1] === 0x8b) ||
    head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])) ||
    head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) ||
    head.toString('latin1', 0, 6) === '070701' ||
    head.toString('latin1', 0, 6) === '070702';
  if (isInitrdMagic && /initrd|initramfs|\.cpio|\.gz$|\.img$|\.xz$|\.zst$/.test(lower))
    return { kind: 'initrd', arch: [] };
  if (/\.(kpxe|kkpxe|pxe|0)$/.test(lower)) return { kind: 'nbp', arch: ['bios'] };
  if (head.length >= 520 && head.toString('latin1', 512, 520) === 'EFI PART')
    return { kind: 'disk', arch: ['bios', 'uefi-x64'] };
  if (head.length >= 512 && head[510] === 0x55 && head[511] === 0xaa && /\.(img|raw|bin|hdd)$/.test(lower))
    return { kind: 'disk', arch: ['bios'] };
  return { kind: 'unknown', arch: [] };
}

/**
 * Reads the header (and for ISO 9660 the volume descriptors and El Torito boot catalog) of a file.
 * El Torito: boot record volume descriptor at sector 17 points to the catalog; platform id 0 = x86
 * BIOS, 0xEF = UEFI (section entries carry their own platform in headers 0x90/0x91).
 */
export async function sniffFile(fullPath: string, name: string): Promise<SniffResult> {
  const fh = await open(fullPath, 'r');
  try {
    const head = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(head, 0, 4096, 0);
    const h = head.subarray(0, bytesRead);
    const byHeader = sniffHeader(h, name);
    // A GPT header at 512 is also what every isohybrid live ISO carries (xorriso -isohybrid-gpt-basdat:
    // Ubuntu, Debian live, Fedora, Arch): look for ISO 9660 before calling it a disk.
    if (byHeader.kind !== 'unknown' && byHeader.kind !== 'disk') return byHeader;
    const pvd = Buffer.alloc(2048 * 2);
    const r = await fh.read(pvd, 0, pvd.length, 16 * 2048);
    if (r.bytesRead < 2048 || pvd.toString('latin1', 1, 6) !== 'CD001') {
      // Not an ISO: an MBR-only disk image without a telling name stays unknown.
      if (
        h.length >= 512 &&
        h[510] === 0x55 &&
        h[511] === 0xaa &&
        h.length >= 520 &&
        h.toString('latin1', 512, 520) === 'EFI PART'
      )
        return { kind: 'disk', arch: ['bios', 'uefi-x64'] };
      return byHeader;
    }
    const label = pvd.toString('latin1', 40, 72).trim();
    const arch = new Set<BootArch>();
    // Sector 17: El Torito boot record ("EL TORITO SPECIFICATION"), catalog LBA at offset 0x47.
    if (
      r.bytesRead >= 4096 &&
      pvd[2048] === 0 &&
      pvd.toString('latin1', 2048 + 7, 2048 + 30) === 'EL TORITO SPECIFICATION'
    ) {
      const catLba = pvd.readUInt32LE(2048 + 0x47);
      const cat = Buffer.alloc(2048);
      const c = await fh.read(cat, 0, 2048, catLba * 2048);
      if (c.bytesRead >= 64 && cat[0] === 0x01) {
        const platformOf = (id: number | undefined): void => {
          if (id === 0) arch.add('bios');
          else if (id === 0xef) arch.add('uefi-x64');
        };
        platformOf(cat[1]);
        for (let off = 64; off + 32 <= c.bytesRead; off += 32) {
          const t = cat[off];
          if (t === 0x90 || t === 0x91) platformOf(cat[off + 1]);
          else if (t !== 0x88 && t !== 0x00) break;
        }
      }
    }
    return label ? { kind: 'iso', arch: [...arch], label } : { kind: 'iso', arch: [...arch] };
  } finally {
    await fh.close();
  }
}
