/**
 * The one error type of the ISO reader. Every malformed image, short read or failed lookup ends in
 * an IsoError with a typed code; callers branch on `code`, never on the message text.
 */
export type IsoErrorCode =
  /** A read reached past the end of the source (truncated image) or the source returned fewer bytes. */
  | 'truncated'
  /** The source itself failed (I/O error); the original error is the `cause`. */
  | 'io'
  /** No ISO 9660 primary volume descriptor and no UDF anchor: not an image we can read. */
  | 'not-an-image'
  /** A volume descriptor (ISO 9660 or El Torito) breaks its format. */
  | 'bad-descriptor'
  /** A directory record, SUSP entry or FAT directory entry breaks its format. */
  | 'bad-record'
  /** A UDF descriptor tag fails its checksum, CRC, identifier or location check. */
  | 'bad-tag'
  /** A directory or continuation chain leads back to itself. */
  | 'loop'
  /** Path or recursion deeper than the reader's limit. */
  | 'too-deep'
  /** A structure (directory, chain, requested read) larger than the reader's sane maximum. */
  | 'too-large'
  /** An extent or block number points outside the image (or outside its partition). */
  | 'extent-out-of-range'
  /** A valid structure the reader does not implement (interleaved files, strategy 4096 ICBs, ...). */
  | 'unsupported'
  | 'not-found'
  | 'not-a-file'
  | 'not-a-directory';

export class IsoError extends Error {
  override readonly name = 'IsoError';
  constructor(
    readonly code: IsoErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isIsoError(e: unknown): e is IsoError {
  return e instanceof IsoError;
}
