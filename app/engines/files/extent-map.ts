/**
 * A file made of byte ranges of another file: a member of an ISO image is its extents in the image
 * (ECMA-119 §6.5.1 multi-extent files have several; UDF unrecorded extents read as zeros). The HTTP
 * body sender and the TFTP chunk reader both turn "bytes [pos, pos+n) of the member" into positioned
 * reads of the image through `piece`, so no data is ever copied out of the image first.
 */
import type { Extent } from '../iso/index.js';

/** One contiguous run of a member: `length` bytes at `at` in the image, or zeros when `sparse`. */
export interface Piece {
  readonly at: number;
  readonly length: number;
  readonly sparse: boolean;
}

export class ExtentMap {
  /** Member bytes: the sum of the extents' lengths (clipped to the size the directory records). */
  readonly size: number;
  private readonly extents: readonly Extent[];
  /** starts[i]: member position of extents[i]'s first byte. */
  private readonly starts: number[];

  constructor(extents: readonly Extent[], size?: number) {
    const kept: Extent[] = [];
    const starts: number[] = [];
    let pos = 0;
    const limit = size ?? Number.MAX_SAFE_INTEGER;
    for (const e of extents) {
      if (pos >= limit) break;
      const length = Math.min(e.length, limit - pos);
      if (length <= 0) continue;
      kept.push(e.sparse ? { offset: e.offset, length, sparse: true } : { offset: e.offset, length });
      starts.push(pos);
      pos += length;
    }
    this.extents = kept;
    this.starts = starts;
    this.size = pos;
  }

  /** The extents as kept (clipped), for the native data path's start message. */
  list(): readonly Extent[] {
    return this.extents;
  }

  /**
   * The run holding member byte `pos`, at most `max` bytes long and never crossing an extent's end;
   * undefined at or past the end of the member.
   */
  piece(pos: number, max: number): Piece | undefined {
    if (pos < 0 || pos >= this.size || max <= 0) return undefined;
    // Binary search: fragmented UDF files may have thousands of extents.
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.starts[mid] as number) <= pos) lo = mid;
      else hi = mid - 1;
    }
    const e = this.extents[lo] as Extent;
    const into = pos - (this.starts[lo] as number);
    return { at: e.offset + into, length: Math.min(e.length - into, max), sparse: e.sparse === true };
  }
}
