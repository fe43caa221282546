/**
 * Is this boot file a PE image, for which machine, and does it carry an Authenticode signature (who signed
 * it)? Secure Boot firmware runs only PE images whose signature chains to its db (UEFI 2.10 §32.5), and shim
 * applies the same rule to the next stage; this module answers the question before a client has to.
 *
 * Layout (Microsoft PE/COFF specification, "MS-DOS Stub", "Signature", "COFF File Header", "Optional Header
 * Data Directories", "The Attribute Certificate Table (Image Only)"):
 *   0x3c             e_lfanew: file offset of "PE\0\0"
 *   +4               COFF header (20 bytes): Machine, ..., SizeOfOptionalHeader
 *   +24              optional header: Magic 0x10b (PE32) / 0x20b (PE32+), Subsystem at 68,
 *                    NumberOfRvaAndSizes at 92/108, data directories at 96/112 (8 bytes each)
 *   directory 4      Certificate Table: its "VirtualAddress" is a FILE offset (the table is not loaded)
 *   the table        WIN_CERTIFICATE { dwLength (header included), wRevision 0x0200, wCertificateType
 *                    0x0002 PKCS_SIGNED_DATA, bCertificate }, each entry starting on an 8-byte boundary
 * The walk follows EDK2's DxeImageVerificationLib: fewer than 8 bytes left ends the table (padding), an
 * entry longer than what is left is malformed. Entries of other types (X.509, EFI GUID) are listed, not read.
 *
 * A Linux bzImage announces itself with "HdrS" at 0x202 (Documentation/arch/x86/boot.rst); with the EFI
 * stub it is also a PE image ("MZ" at 0), and only then can firmware or shim run it directly.
 *
 * Only bytes are read, through `ByteSource` (positioned async reads, the ISO reader's IsoSource shape), so a
 * kernel inside an ISO is inspected without extracting it. Nothing is verified cryptographically.
 */
import type { IsoSource } from '../iso/source.js';
import { PeError } from './pe-error.js';
import { parseAuthenticode, type AuthenticodeSigner } from './pkcs7.js';

export type { AuthenticodeSigner, CertName, CertSummary } from './pkcs7.js';

/** A file as positioned reads (same shape as the ISO reader's IsoSource). */
export type ByteSource = IsoSource;

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
const CERTIFICATE_DIRECTORY = 4;
/** A certificate table is a few tens of kB (shim's, with two Microsoft signatures: 19 kB). */
const MAX_CERT_TABLE = 4 * 1024 * 1024;

const u16 = (b: Uint8Array, at: number): number => (b[at] as number) | ((b[at + 1] as number) << 8);
const u32 = (b: Uint8Array, at: number): number =>
  ((b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16)) +
  (b[at + 3] as number) * 0x1000000;

/** Read exactly `length` bytes or throw PeError ('truncated' past the end, 'io' when the source fails). */
async function read(src: ByteSource, offset: number, length: number, what: string): Promise<Uint8Array> {
  if (offset < 0 || offset + length > src.size) {
    throw new PeError('truncated', `${what} (${offset}+${length}) past the end of the file (${src.size})`);
  }
  let got: Uint8Array;
  try {
    got = await src.read(offset, length);
  } catch (e) {
    if (e instanceof PeError) throw e;
    throw new PeError('io', `reading ${what} failed`, { cause: e });
  }
  if (got.length < length)
    throw new PeError('truncated', `short read of ${what}: ${got.length} of ${length}`);
  return got.subarray(0, length);
}

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
  if (head.length < 2 || head[0] !== 0x4d || head[1] !== 0x5a) return { pe: false, ...base };
  if (head.length < 0x40) throw new PeError('truncated', 'MS-DOS header cut short');

  const peAt = u32(head, 0x3c);
  const coff = await read(src, peAt, 24, 'PE signature and COFF header');
  if (u32(coff, 0) !== 0x00004550) throw new PeError('bad-pe-header', `no "PE\\0\\0" at e_lfanew ${peAt}`);
  const machineCode = u16(coff, 4);
  const optSize = u16(coff, 20);
  if (optSize < 2) throw new PeError('bad-pe-header', `optional header of ${optSize} bytes`);
  const opt = await read(src, peAt + 24, optSize, 'optional header');
  const magic = u16(opt, 0);
  if (magic !== 0x10b && magic !== 0x20b)
    throw new PeError('bad-pe-header', `optional header magic 0x${magic.toString(16)}`);
  const plus = magic === 0x20b;
  const countAt = plus ? 108 : 92;
  const dirsAt = plus ? 112 : 96;
  if (optSize < dirsAt)
    throw new PeError('bad-pe-header', `optional header of ${optSize} bytes has no data directories`);
  const subsystem = u16(opt, 68);
  const efi = SUBSYSTEMS[subsystem];
  const info: PeInspection = {
    pe: true,
    machine: MACHINES[machineCode] ?? 'unknown',
    machineCode,
    format: plus ? 'pe32+' : 'pe32',
    ...(efi ? { efi } : {}),
    ...base,
  };

  const dirAt = dirsAt + CERTIFICATE_DIRECTORY * 8;
  if (u32(opt, countAt) <= CERTIFICATE_DIRECTORY || dirAt + 8 > optSize) return info;
  const tableAt = u32(opt, dirAt);
  const tableSize = u32(opt, dirAt + 4);
  if (tableSize === 0 || tableAt === 0) return info; // no table: unsigned (EDK2 reads Size 0 the same way)
  if (tableAt + tableSize > src.size) {
    throw new PeError(
      'certificate-table-outside-file',
      `certificate table ${tableAt}+${tableSize} ends past the end of the file (${src.size}): truncated or damaged`,
    );
  }
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
