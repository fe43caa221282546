/**
 * Is this boot file a PE image, for which machine, and does it carry an Authenticode signature (who signed
 * it)? Secure Boot firmware runs only PE images whose signature chains to its db (UEFI 2.10 §32.5), and shim
 * applies the same rule to the next stage; this module answers the question before a client has to.
 *
 * The headers are read by pe-headers.ts. The signature lives in data directory 4, the Certificate Table
 * (Microsoft PE/COFF specification, "The Attribute Certificate Table (Image Only)"), whose "VirtualAddress"
 * is a FILE offset (the table is not loaded into memory):
 *   WIN_CERTIFICATE { dwLength (header included), wRevision 0x0200, wCertificateType 0x0002
 *                     PKCS_SIGNED_DATA, bCertificate }, each entry starting on an 8-byte boundary
 * The walk follows EDK2's DxeImageVerificationLib: fewer than 8 bytes left ends the table (padding), an
 * entry longer than what is left is malformed. Entries of other types (X.509, EFI GUID) are listed, not read.
 *
 * A Linux bzImage announces itself with "HdrS" at 0x202 (Documentation/arch/x86/boot.rst); with the EFI
 * stub it is also a PE image ("MZ" at 0), and only then can firmware or shim run it directly.
 *
 * Only bytes are read, through `ByteSource` (positioned async reads, the ISO reader's IsoSource shape), so a
 * kernel inside an ISO is inspected without extracting it. Nothing is verified cryptographically.
 */
import { PeError } from './pe-error.js';
import { certificateTable, parsePeHeaders, read, u16, u32, type ByteSource } from './pe-headers.js';
import { parseAuthenticode, type AuthenticodeSigner } from './pkcs7.js';

export type { AuthenticodeSigner, CertName, CertSummary } from './pkcs7.js';

export type { ByteSource } from './pe-headers.js';

export type PeMachine =
  | 'ia32'
  | 'x64'
  | 'arm'
  | 'arm64'
  | 'ia64'
  | 'riscv32'
  | 'riscv64'
  | 'loongarch32'
  | 'loongarch64'
  | 'ebc'
  | 'unknown';

/** PE Subsystem values 10-13 (PE/COFF "Windows Subsystem"): what UEFI firmware will load. */
export type EfiSubsystem = 'efi-application' | 'efi-boot-service-driver' | 'efi-runtime-driver' | 'efi-rom';

export interface CertificateEntry {
  /** File offset of the WIN_CERTIFICATE header. */
  offset: number;
  /** dwLength: header (8 bytes) plus bCertificate. */
  length: number;
  revision: number;
  /** wCertificateType: 0x0002 PKCS_SIGNED_DATA is the one Secure Boot reads. */
  type: number;
}

export interface LinuxKernelHeader {
  /** Boot protocol version from the setup header, "2.15". */
  bootProtocol: string;
  /** The kernel_version string ("6.1.0-57-amd64 (debian-kernel@…) #1 SMP …"), when the header has one. */
  version?: string;
}

export interface PeInspection {
  /** "MZ" + a valid PE/COFF header. False for BIOS images (undionly.kpxe) and non-stub kernels. */
  pe: boolean;
  machine?: PeMachine;
  /** The raw COFF Machine value (for 'unknown'). */
  machineCode?: number;
  format?: 'pe32' | 'pe32+';
  /** Set when the Subsystem is one of UEFI's; absent for other PE images. */
  efi?: EfiSubsystem;
  /** Present when the file carries a Linux x86 boot header. */
  linuxKernel?: LinuxKernelHeader;
  /** At least one PKCS_SIGNED_DATA entry with a signer. */
  signed: boolean;
  /** Every signer in table order; a nested signature's signers follow its parent's. */
  signers: AuthenticodeSigner[];
  certificateEntries: CertificateEntry[];
}

const MACHINES: Record<number, PeMachine> = {
  0x14c: 'ia32',
  0x8664: 'x64',
  0x1c0: 'arm',
  0x1c2: 'arm',
  0x1c4: 'arm',
  0xaa64: 'arm64',
  0x200: 'ia64',
  0x5032: 'riscv32',
  0x5064: 'riscv64',
  0x6232: 'loongarch32',
  0x6264: 'loongarch64',
  0xebc: 'ebc',
};
const SUBSYSTEMS: Record<number, EfiSubsystem> = {
  10: 'efi-application',
  11: 'efi-boot-service-driver',
  12: 'efi-runtime-driver',
  13: 'efi-rom',
};

export const WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002;
const WIN_CERT_REVISIONS = [0x0100, 0x0200];
/** A certificate table is a few tens of kB (shim's, with two Microsoft signatures: 19 kB). */
const MAX_CERT_TABLE = 4 * 1024 * 1024;

async function linuxHeader(src: ByteSource, head: Uint8Array): Promise<LinuxKernelHeader | undefined> {
  // "HdrS" at 0x202, boot protocol at 0x206, kernel_version at 0x20e (boot.rst: offset from 0x200).
  if (head.length < 0x210 || u32(head, 0x202) !== 0x53726448) return undefined;
  const proto = u16(head, 0x206);
  const header: LinuxKernelHeader = {
    bootProtocol: `${proto >> 8}.${String(proto & 0xff).padStart(2, '0')}`,
  };
  const ptr = u16(head, 0x20e);
  if (ptr !== 0 && proto >= 0x200 && ptr + 0x200 < src.size) {
    const bytes = await read(src, ptr + 0x200, Math.min(256, src.size - ptr - 0x200), 'kernel_version');
    let version = '';
    for (const c of bytes) {
      if (c === 0) break;
      if (c < 0x20 || c > 0x7e) return header; // not a version string: leave it out rather than guess
      version += String.fromCharCode(c);
    }
    if (version) header.version = version;
  }
  return header;
}

/** Inspect a file: PE or not, machine, UEFI subsystem, Linux header, Authenticode signers. */
export async function inspectPe(src: ByteSource): Promise<PeInspection> {
  const head = await read(src, 0, Math.min(src.size, 4096), 'headers');
  const linuxKernel = await linuxHeader(src, head);
  const base = {
    signed: false,
    signers: [],
    certificateEntries: [],
    ...(linuxKernel ? { linuxKernel } : {}),
  };
  const h = await parsePeHeaders(src, head);
  if (!h) return { pe: false, ...base };
  const efi = SUBSYSTEMS[h.subsystem];
  const info: PeInspection = {
    pe: true,
    machine: MACHINES[h.machineCode] ?? 'unknown',
    machineCode: h.machineCode,
    format: h.plus ? 'pe32+' : 'pe32',
    ...(efi ? { efi } : {}),
    ...base,
  };
  const cert = certificateTable(h, src.size);
  if (!cert) return info;
  const { offset: tableAt, size: tableSize } = cert;
  if (tableSize > MAX_CERT_TABLE) throw new PeError('too-large', `certificate table of ${tableSize} bytes`);
  const table = await read(src, tableAt, tableSize, 'certificate table');

  for (let off = 0; tableSize - off > 8;) {
    const length = u32(table, off);
    const revision = u16(table, off + 4);
    const type = u16(table, off + 6);
    if (length <= 8 || length > tableSize - off) {
      throw new PeError('bad-certificate-entry', `WIN_CERTIFICATE at ${tableAt + off}: dwLength ${length}`);
    }
    if (!WIN_CERT_REVISIONS.includes(revision)) {
      throw new PeError(
        'bad-certificate-entry',
        `WIN_CERTIFICATE at ${tableAt + off}: wRevision 0x${revision.toString(16)}`,
      );
    }
    info.certificateEntries.push({ offset: tableAt + off, length, revision, type });
    if (type === WIN_CERT_TYPE_PKCS_SIGNED_DATA)
      info.signers.push(...parseAuthenticode(table.subarray(off + 8, off + length)));
    off += (length + 7) & ~7; // entries start on quadword boundaries
  }
  info.signed = info.signers.length > 0;
  return info;
}
