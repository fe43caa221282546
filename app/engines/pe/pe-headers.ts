/**
 * PE/COFF headers as file offsets (Microsoft PE/COFF specification: "MS-DOS Stub", "Signature",
 * "COFF File Header", "Optional Header", "Optional Header Data Directories", "Section Table"):
 *   0x3c             e_lfanew: file offset of "PE\0\0"
 *   +4               COFF header (20 bytes): Machine, NumberOfSections, ..., SizeOfOptionalHeader at +16
 *   +24              optional header: Magic 0x10b (PE32) / 0x20b (PE32+), SizeOfHeaders at 60, CheckSum at 64,
 *                    Subsystem at 68, NumberOfRvaAndSizes at 92/108, data directories at 96/112 (8 bytes each)
 *   +24+SizeOfOpt    section table, 40 bytes a section
 * Shared by the signature reader (authenticode.ts) and the image-digest computation (image-digest.ts).
 */
import type { IsoSource } from '../iso/source.js';
import { PeError } from './pe-error.js';

/** A file as positioned reads (the ISO reader's IsoSource shape, so a file inside an image works too). */
export type ByteSource = IsoSource;

export const u16 = (b: Uint8Array, at: number): number => (b[at] as number) | ((b[at + 1] as number) << 8);
export const u32 = (b: Uint8Array, at: number): number =>
  ((b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16)) +
  (b[at + 3] as number) * 0x1000000;

/** Read exactly `length` bytes or throw PeError ('truncated' past the end, 'io' when the source fails). */
export async function read(
  src: ByteSource,
  offset: number,
  length: number,
  what: string,
): Promise<Uint8Array> {
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

export interface PeHeaders {
  machineCode: number;
  /** PE32+ (64-bit fields) rather than PE32. */
  plus: boolean;
  subsystem: number;
  numberOfSections: number;
  sizeOfHeaders: number;
  /** File offsets of the optional header, its CheckSum field and the section table. */
  optionalHeaderAt: number;
  checksumAt: number;
  sectionTableAt: number;
  /** File offset of data directory 4 (Certificate Table), when the header has that many directories. */
  certificateDirectoryAt?: number;
  /** Data directory 4 as written (its "VirtualAddress" is a file offset); unchecked. */
  certificateDirectory?: { offset: number; size: number };
}

const CERTIFICATE_DIRECTORY = 4;

/** Parse the headers; undefined when the file does not start with "MZ" (not a PE image at all). */
export async function parsePeHeaders(src: ByteSource, head: Uint8Array): Promise<PeHeaders | undefined> {
  if (head.length < 2 || head[0] !== 0x4d || head[1] !== 0x5a) return undefined;
  if (head.length < 0x40) throw new PeError('truncated', 'MS-DOS header cut short');
  const peAt = u32(head, 0x3c);
  const coff = await read(src, peAt, 24, 'PE signature and COFF header');
  if (u32(coff, 0) !== 0x00004550) throw new PeError('bad-pe-header', `no "PE\\0\\0" at e_lfanew ${peAt}`);
  const optSize = u16(coff, 20);
  const optAt = peAt + 24;
  if (optSize < 2) throw new PeError('bad-pe-header', `optional header of ${optSize} bytes`);
  const opt = await read(src, optAt, optSize, 'optional header');
  const magic = u16(opt, 0);
  if (magic !== 0x10b && magic !== 0x20b) {
    throw new PeError('bad-pe-header', `optional header magic 0x${magic.toString(16)}`);
  }
  const plus = magic === 0x20b;
  const countAt = plus ? 108 : 92;
  const dirsAt = plus ? 112 : 96;
  if (optSize < dirsAt) {
    throw new PeError('bad-pe-header', `optional header of ${optSize} bytes has no data directories`);
  }
  const h: PeHeaders = {
    machineCode: u16(coff, 4),
    plus,
    subsystem: u16(opt, 68),
    numberOfSections: u16(coff, 6),
    sizeOfHeaders: u32(opt, 60),
    optionalHeaderAt: optAt,
    checksumAt: optAt + 64,
    sectionTableAt: optAt + optSize,
  };
  const dirAt = dirsAt + CERTIFICATE_DIRECTORY * 8;
  if (u32(opt, countAt) > CERTIFICATE_DIRECTORY && dirAt + 8 <= optSize) {
    h.certificateDirectoryAt = optAt + dirAt;
    h.certificateDirectory = { offset: u32(opt, dirAt), size: u32(opt, dirAt + 4) };
  }
  return h;
}

/**
 * The Certificate Table's place in the file, or undefined when there is none (unsigned: a zero size or
 * offset, as EDK2's DxeImageVerificationLib reads it). A table reaching past the end is a PeError: firmware
 * refuses such an image, and a signed file cut short looks exactly like this.
 */
export function certificateTable(
  h: PeHeaders,
  fileSize: number,
): { offset: number; size: number } | undefined {
  const dir = h.certificateDirectory;
  if (!dir || dir.size === 0 || dir.offset === 0) return undefined;
  if (dir.offset + dir.size > fileSize) {
    throw new PeError(
      'certificate-table-outside-file',
      `certificate table ${dir.offset}+${dir.size} ends past the end of the file (${fileSize}): truncated or damaged`,
    );
  }
  return dir;
}
