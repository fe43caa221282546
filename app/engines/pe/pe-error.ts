/**
 * The one error type of the PE / Authenticode reader. Callers branch on `code`, never on the message text.
 * A file that is simply not a PE image (no "MZ") is not an error: inspectPe answers `pe: false`.
 */
export type PeErrorCode =
  /** A header or structure reaches past the end of the file (a truncated download, typically). */
  | 'truncated'
  /** "MZ" is there but e_lfanew, the "PE\0\0" signature or the optional header is not valid PE/COFF. */
  | 'bad-pe-header'
  /**
   * The Certificate Table (data directory 4) points outside the file. Firmware refuses such an image
   * (a signed file cut short has exactly this shape), so it is neither "signed" nor "unsigned".
   */
  | 'certificate-table-outside-file'
  /** A WIN_CERTIFICATE entry has a length or revision that breaks the PE/COFF spec. */
  | 'bad-certificate-entry'
  /** The PKCS#7 SignedData (DER) inside a certificate entry is malformed or not Authenticode. */
  | 'bad-signature-data'
  /** A structure larger than the reader's sane maximum (a certificate table over 4 MiB, say). */
  | 'too-large'
  /** The byte source itself failed; the original error is the `cause`. */
  | 'io';

export class PeError extends Error {
  override readonly name = 'PeError';
  constructor(
    readonly code: PeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isPeError(e: unknown): e is PeError {
  return e instanceof PeError;
}
