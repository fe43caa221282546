/**
 * The Authenticode image hash ("Calculating the PE Image Hash", Microsoft's Authenticode PE specification;
 * the same walk as shim's generate_hash() and EDK2's HashPeImage()): what a signature's
 * SpcIndirectDataContent digest covers. Comparing the two tells "signed, file intact" from "signed, but the
 * bytes changed since" (a damaged copy, a patched binary): firmware refuses the second kind.
 *   1. the headers up to SizeOfHeaders, leaving out the CheckSum field and the Certificate Table directory
 *   2. every section with raw data, in PointerToRawData order
 *   3. what follows the last section up to the end of the file, less the certificate table's size
 * Reads the whole file in 1 MiB pieces through the ByteSource; the signature itself is not verified.
 */
import { createHash } from 'node:crypto';
import { PeError } from './pe-error.js';
import { certificateTable, parsePeHeaders, read, u32, type ByteSource } from './pe-headers.js';

export type ImageDigestAlgorithm = 'sha1' | 'sha256' | 'sha384' | 'sha512';

const CHUNK = 1024 * 1024;

/** Hex digest of the image as Authenticode hashes it. PeError when the file is not a well-formed PE image. */
export async function authenticodeImageDigest(
  src: ByteSource,
  algorithm: ImageDigestAlgorithm,
): Promise<string> {
  const head = await read(src, 0, Math.min(src.size, 4096), 'headers');
  const h = await parsePeHeaders(src, head);
  if (!h) throw new PeError('bad-pe-header', 'not a PE image (no "MZ")');
  const hash = createHash(algorithm);
  const feed = async (from: number, to: number, what: string): Promise<void> => {
    if (to < from) throw new PeError('bad-pe-header', `${what}: range ${from}..${to} runs backwards`);
    for (let at = from; at < to; at += CHUNK)
      hash.update(await read(src, at, Math.min(CHUNK, to - at), what));
  };

  const headersEnd = h.sizeOfHeaders;
  if (headersEnd > src.size)
    throw new PeError('truncated', `SizeOfHeaders ${headersEnd} past the end of the file`);
  const dirAt = h.certificateDirectoryAt;
  if (headersEnd < (dirAt ?? h.checksumAt) + 8) {
    throw new PeError('bad-pe-header', `SizeOfHeaders ${headersEnd} ends inside the optional header`);
  }
  await feed(0, h.checksumAt, 'headers');
  if (dirAt === undefined) {
    await feed(h.checksumAt + 4, headersEnd, 'headers');
  } else {
    await feed(h.checksumAt + 4, dirAt, 'headers');
    await feed(dirAt + 8, headersEnd, 'headers');
  }

  const table = await read(src, h.sectionTableAt, h.numberOfSections * 40, 'section table');
  const sections: { at: number; size: number }[] = [];
  for (let i = 0; i < h.numberOfSections; i++) {
    const size = u32(table, i * 40 + 16);
    if (size > 0) sections.push({ at: u32(table, i * 40 + 20), size });
  }
  sections.sort((a, b) => a.at - b.at);
  let hashed = headersEnd;
  for (const s of sections) {
    if (s.at + s.size > src.size)
      throw new PeError('truncated', `section at ${s.at}+${s.size} past the end of the file`);
    await feed(s.at, s.at + s.size, 'section');
    hashed += s.size;
  }

  const certSize = certificateTable(h, src.size)?.size ?? 0;
  if (src.size > hashed) {
    const extra = src.size - hashed - certSize;
    if (extra < 0)
      throw new PeError('bad-pe-header', `sections and certificate table overlap (${extra} bytes)`);
    await feed(hashed, hashed + extra, 'trailing data');
  }
  return hash.digest('hex');
}

const ALGORITHMS: readonly string[] = ['sha1', 'sha256', 'sha384', 'sha512'];
const computable = (a: string): a is ImageDigestAlgorithm => ALGORITHMS.includes(a);

/**
 * Do the signatures still cover these bytes? True when every signer's SpcIndirectDataContent digest equals
 * the image hash, false when any differs (the file changed after signing: firmware and shim refuse it),
 * undefined for an unsigned image or a digest algorithm this reader does not compute.
 */
export async function signaturesCoverImage(
  src: ByteSource,
  signers: readonly { imageDigest: { algorithm: string; value: string } }[],
): Promise<boolean | undefined> {
  if (signers.length === 0) return undefined;
  const computed = new Map<string, string>();
  for (const { imageDigest } of signers) {
    const alg = imageDigest.algorithm;
    if (!computable(alg)) return undefined;
    if (!computed.has(alg)) computed.set(alg, await authenticodeImageDigest(src, alg));
    if (computed.get(alg) !== imageDigest.value) return false;
  }
  return true;
}
