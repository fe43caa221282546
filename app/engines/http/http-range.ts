/** RFC 9110 §14.1.2 byte-range parsing (pure). Sizes may exceed 4 GiB: plain JS numbers (< 2^53). */

export interface ByteRange {
  readonly start: number;
  /** Inclusive. */
  readonly end: number;
}

/** At most this many ranges per request; more is treated as no Range (RFC 9110 §14.2 allows ignoring). */
export const MAX_RANGES = 64;

/**
 * Returns undefined when the header is absent/unparseable/too many ranges (serve 200),
 * 'unsatisfiable' when none of the ranges overlaps the file (416), else the ranges.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange[] | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!m || m[1] === undefined) return undefined;
  const parts = m[1].split(',');
  if (parts.length > MAX_RANGES) return undefined;
  const out: ByteRange[] = [];
  for (const part of parts) {
    const p = part.trim();
    const r = /^(\d*)-(\d*)$/.exec(p);
    if (!r) return undefined;
    const a = r[1] ?? '';
    const b = r[2] ?? '';
    if (a === '' && b === '') return undefined;
    if (a === '') {
      const n = Number(b);
      if (n === 0) continue;
      out.push({ start: Math.max(0, size - n), end: size - 1 });
      continue;
    }
    const start = Number(a);
    let end = b === '' ? size - 1 : Number(b);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return undefined;
    if (b !== '' && end < start) return undefined;
    if (start >= size) continue;
    if (end >= size) end = size - 1;
    out.push({ start, end });
  }
  if (out.length === 0 || size === 0) return 'unsatisfiable';
  return out;
}
