/**
 * Pure display helpers of the renderer (no DOM, no Svelte): sizes, durations, IPv4 arithmetic for the
 * full-DHCP form, per-client progress/rate and the library's badges.
 */
import type { ClientRecord, NicInfo } from '../../app/shared/session-types.js';
import type { BootArch, LibraryEntry } from '../../app/shared/library-types.js';
import { FIRMWARE_LABEL, firmwareLabel } from '../../app/shared/firmware.js';

export { firmwareLabel };

export const fmtBytes = (n: number): string =>
  n >= 1e9
    ? `${(n / 1e9).toFixed(1)} GB`
    : n >= 1e6
      ? `${(n / 1e6).toFixed(1)} MB`
      : n >= 1e3
        ? `${(n / 1e3).toFixed(0)} kB`
        : `${n} B`;

export const fmtElapsed = (ms: number): string => {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
};

/**
 * A transfer's rate and time left from bytes of total and the time since it began ("42 MB/s, 1m05s left");
 * '' until a rate can be told (the first half second says nothing).
 */
export function rateAndEta(bytes: number, total: number, elapsedMs: number): string {
  if (elapsedMs < 500 || bytes <= 0) return '';
  const rate = (bytes / elapsedMs) * 1000;
  const left = total > bytes ? ((total - bytes) / rate) * 1000 : 0;
  return `${fmtBytes(rate)}/s, ${fmtElapsed(left)} left`;
}

export const toInt = (ip: string): number | undefined => {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip.trim());
  if (!m) return undefined;
  const p = m.slice(1).map(Number);
  if (p.some((x) => x > 255)) return undefined;
  return ((p[0]! << 24) >>> 0) + (p[1]! << 16) + (p[2]! << 8) + p[3]!;
};
export const toIp = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
export const mask = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

export function inSubnet(ip: string, nic: NicInfo | undefined): boolean {
  const n = toInt(ip);
  if (n === undefined || !nic?.ipv4) return false;
  const m = mask(nic.ipv4.prefixLength);
  return (n & m) >>> 0 === (toInt(nic.ipv4.address)! & m) >>> 0;
}

export interface DhcpForm {
  rangeStart: string;
  rangeEnd: string;
  router: string;
  dns: string;
}

/** A sensible pool for the NIC's subnet (never the network, broadcast or our own address). */
export function prefillDhcp(nic: NicInfo | undefined): DhcpForm | undefined {
  if (!nic?.ipv4 || nic.ipv4.prefixLength > 30) return undefined;
  const m = mask(nic.ipv4.prefixLength);
  const self = toInt(nic.ipv4.address)!;
  const net = (self & m) >>> 0;
  const size = 2 ** (32 - nic.ipv4.prefixLength);
  let start = net + Math.min(100, Math.floor(size / 2));
  const end = net + Math.min(200, size - 2);
  if (self >= start && self <= end) start = Math.min(self + 1, end);
  return { rangeStart: toIp(start), rangeEnd: toIp(end), router: nic.ipv4.address, dns: nic.ipv4.address };
}

/** Plain-language problems of the full-DHCP form, checked as the user types. */
export function dhcpFormErrors(f: DhcpForm, nic: NicInfo | undefined): string[] {
  const e: string[] = [];
  if (!nic?.ipv4) return ['Choose a network card with an IPv4 address first.'];
  const cidr = `${nic.ipv4.address}/${nic.ipv4.prefixLength}`;
  if (!inSubnet(f.rangeStart, nic)) e.push(`Range start must be an address in ${cidr}.`);
  if (!inSubnet(f.rangeEnd, nic)) e.push(`Range end must be an address in ${cidr}.`);
  const s = toInt(f.rangeStart);
  const en = toInt(f.rangeEnd);
  const self = toInt(nic.ipv4.address)!;
  // Order and overlap only mean something once both ends are in the subnet (one message at a time).
  if (s !== undefined && en !== undefined && inSubnet(f.rangeStart, nic) && inSubnet(f.rangeEnd, nic)) {
    if (s > en) e.push('Range start must not be after range end.');
    else if (self >= s && self <= en)
      e.push(`The range must not include this computer (${nic.ipv4.address}).`);
  }
  if (f.router.trim() && !inSubnet(f.router, nic)) e.push('Router must be in the subnet (or empty).');
  if (f.dns.trim() && f.dns.split(',').some((d) => toInt(d) === undefined))
    e.push('DNS: comma-separated IPv4 addresses (or empty).');
  return e;
}

export function progressOf(c: ClientRecord): number | undefined {
  if (c.stage === 'booted') return 1;
  const t = c.transfer;
  if (t?.type === 'done') return 1; // finished, even when the size was never announced
  if (!t || !t.size) return undefined;
  return Math.min(1, t.bytes / t.size);
}

export function fileOf(c: ClientRecord): string {
  return c.transfer?.file ?? [...c.timeline].reverse().find((x) => x.file)?.file ?? '';
}

export function rateOf(c: ClientRecord): string {
  const t = c.transfer;
  if (!t) return '';
  if (t.rate !== undefined && t.rate > 0) return `${fmtBytes(t.rate)}/s`;
  return '';
}

/** A library entry's firmware badges: the same spelling as everywhere else (app/shared/firmware.ts). */
export const ARCH_LABEL: Record<BootArch, string> = {
  bios: FIRMWARE_LABEL.bios,
  'uefi-x64': FIRMWARE_LABEL['uefi-x64'],
  'uefi-ia32': FIRMWARE_LABEL['uefi-ia32'],
  'uefi-arm64': FIRMWARE_LABEL['uefi-arm64'],
};

export const KIND_LABEL: Record<LibraryEntry['kind'], string> = {
  linux: 'Linux',
  efi: 'EFI',
  'ipxe-script': 'iPXE script',
  nbp: 'PXE loader',
  iso: 'ISO',
  disk: 'Disk image',
  wim: 'WIM',
  memtest: 'Memory test',
};

/**
 * Names that are certainly not bootable (documents, pictures, archives): refused before any upload.
 * Everything else goes to main, which recognises files by their header and refuses the rest.
 */
export const NOT_BOOTABLE_NAME =
  /\.(txt|md|pdf|docx?|xlsx?|pptx?|odt|rtf|html?|jpe?g|png|gif|webp|svg|mp3|mp4|mkv|avi|mov|zip|rar|7z|exe|msi|dmg|deb|rpm|json|xml|csv|log)$/i;
