/**
 * The image as positioned reads. The readers never load a whole image: every structure is fetched by
 * `readAt`, which checks bounds first and turns short reads and source failures into IsoError.
 */
import { IsoError } from './iso-error.js';

/** An image to read: its size in bytes and an async positioned read. */
export interface IsoSource {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A byte range in the image (what HTTP/TFTP serve from). `sparse` ranges read as zeros (UDF unrecorded extents). */
export interface Extent {
  offset: number;
  length: number;
  sparse?: boolean;
}

/** Largest single structure read (a directory, a catalog, a requested file range): 256 MiB. */
export const MAX_READ = 256 * 1024 * 1024;

/** Read exactly `length` bytes at `offset`, or throw IsoError ('truncated', 'too-large', 'io'). */
export async function readAt(src: IsoSource, offset: number, length: number): Promise<Uint8Array> {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new IsoError('extent-out-of-range', `bad read range ${offset}+${length}`);
  }
  if (length > MAX_READ) throw new IsoError('too-large', `read of ${length} bytes exceeds ${MAX_READ}`);
  if (offset + length > src.size) {
    throw new IsoError('truncated', `read ${offset}+${length} past the image end ${src.size}`);
  }
  if (length === 0) return new Uint8Array(0);
  let got: Uint8Array;
  try {
    got = await src.read(offset, length);
  } catch (e) {
    if (e instanceof IsoError) throw e;
    throw new IsoError('io', `read ${offset}+${length} failed`, { cause: e });
  }
  if (!(got instanceof Uint8Array) || got.length < length) {
    throw new IsoError('truncated', `short read at ${offset}: ${got.length} of ${length} bytes`);
  }
  return got.length === length ? got : got.subarray(0, length);
}

/** An in-memory source (tests, small embedded images such as a FAT boot image already read). */
export function memorySource(bytes: Uint8Array): IsoSource {
  return {
    size: bytes.length,
    read: (offset, length) => Promise.resolve(bytes.subarray(offset, offset + length)),
  };
}

/** A source over a byte range of another source (the El Torito FAT image inside the ISO). */
export function subSource(src: IsoSource, extent: Extent): IsoSource {
  if (extent.offset < 0 || extent.offset + extent.length > src.size) {
    throw new IsoError(
      'extent-out-of-range',
      `sub-range ${extent.offset}+${extent.length} outside the image`,
    );
  }
  return {
    size: extent.length,
    read: (offset, length) => readAt(src, extent.offset + offset, length),
  };
}

/** Read `length` bytes starting `offset` bytes into a file made of `extents` (sparse extents read as zeros). */
export async function readExtents(
  src: IsoSource,
  extents: readonly Extent[],
  offset: number,
  length: number,
): Promise<Uint8Array> {
  if (length > MAX_READ) throw new IsoError('too-large', `read of ${length} bytes exceeds ${MAX_READ}`);
  const out = new Uint8Array(length);
  let pos = 0; // file position of the current extent's start
  let done = 0;
  for (const e of extents) {
    if (done >= length) break;
    const want = offset + done;
    if (want < pos + e.length) {
      const inExt = want - pos;
      const n = Math.min(e.length - inExt, length - done);
      if (!e.sparse) out.set(await readAt(src, e.offset + inExt, n), done);
      done += n;
    }
    pos += e.length;
  }
  if (done < length) throw new IsoError('truncated', `file extents end before ${offset + length}`);
  return out;
}
