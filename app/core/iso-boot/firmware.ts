/** Client platforms (BootArch, iPXE's view) ↔ the firmware side of an ISO's boot entries. Pure. */
import type { IsoBootEntry, IsoFirmware, IsoInfo } from '../../shared/iso-boot-types.js';
import type { BootArch } from '../../shared/library-types.js';

export function isoFirmwareOf(arch: BootArch): IsoFirmware {
  return arch === 'bios' ? 'bios' : 'uefi';
}

/**
 * The client platforms an analysed ISO boots on (LibraryEntry.arch): BIOS when a BIOS entry has a route,
 * UEFI x64 when a UEFI entry has one. Linux ISOs' kernels and El Torito UEFI images are x86-64
 * (EFI/BOOT/BOOTX64.EFI); an image with only BOOTIA32.EFI/BOOTAA64.EFI is not claimed for x64.
 */
export function isoBootArches(info: IsoInfo): BootArch[] {
  const out: BootArch[] = [];
  const boots = (fw: IsoFirmware): boolean =>
    info.entries.some((e) => e.route !== 'none' && e.firmware.includes(fw));
  if (boots('bios')) out.push('bios');
  if (boots('uefi')) out.push('uefi-x64');
  return out;
}

/** The entries a client of this firmware can boot, its default first. */
export function entriesFor(info: IsoInfo, fw: IsoFirmware): IsoBootEntry[] {
  const list = info.entries.filter((e) => e.route !== 'none' && e.firmware.includes(fw));
  const def = list.find((e) => e.isDefault);
  return def ? [def, ...list.filter((e) => e !== def)] : list;
}
