/**
 * RFC 2347 option negotiation for a read request (blksize RFC 2348, timeout and tsize RFC 2349,
 * windowsize RFC 7440): what the server grants and echoes in its OACK. Both data paths (transfer.ts
 * here, native-tftp/ in Go) run with the result; the Go side only checks the sizes are in range.
 */
import type { TftpRequest } from './packet.js';

export const MIN_BLKSIZE = 8;
export const MAX_BLKSIZE = 65464;

export interface Negotiated {
  blksize: number;
  windowsize: number;
  timeoutMs?: number;
  oack: { name: string; value: string }[];
}

/** Operator limits on negotiation (docs/protocol-notes.md §9: clients that ask for blksize and then misbehave). */
export interface NegotiationLimits {
  /** Cap on blksize (e.g. 1024, as crowbar had to for a QEMU UEFI client); 0 refuses the option. */
  readonly maxBlksize?: number;
  /** Cap on windowsize; 1 (or 0) refuses the option, so every client runs lockstep. */
  readonly maxWindowsize?: number;
}

/** RFC 2347 with EDK2's strict checks: echo only what was asked, never more than asked (docs/protocol-notes.md §9). */
export function negotiate(
  request: TftpRequest,
  size: number | undefined,
  mtu: number | undefined,
  limits: NegotiationLimits = {},
): Negotiated {
  const result: Negotiated = { blksize: 512, windowsize: 1, oack: [] };
  const seen = new Set<string>();
  for (const { name, value } of request.options) {
    const key = name.toLowerCase();
    if (seen.has(key)) continue; // first occurrence wins
    seen.add(key);
    if (!/^\d{1,10}$/.test(value)) continue;
    const n = Number(value);
    if (key === 'blksize') {
      if (n < MIN_BLKSIZE || n > MAX_BLKSIZE) continue; // T6: ignore, never echo illegal values
      if (limits.maxBlksize === 0) continue; // Q17: option refused, plain 512-byte blocks
      let cap = mtu !== undefined ? Math.max(MIN_BLKSIZE, mtu - 32) : MAX_BLKSIZE;
      if (limits.maxBlksize !== undefined) cap = Math.min(cap, Math.max(MIN_BLKSIZE, limits.maxBlksize));
      result.blksize = Math.min(n, cap);
      result.oack.push({ name, value: String(result.blksize) });
    } else if (key === 'tsize') {
      if (size === undefined) continue; // netascii: size unknown, leave out (dnsmasq)
      result.oack.push({ name, value: String(size) });
    } else if (key === 'timeout') {
      if (n < 1 || n > 255) continue; // RFC 2349 seconds; the npm client's ms values land here
      result.timeoutMs = n * 1000;
      result.oack.push({ name, value }); // EDK2: Reply->Timeout must equal Request->Timeout
    } else if (key === 'windowsize') {
      if (n < 1 || n > 65535) continue;
      const cap = limits.maxWindowsize ?? 65535;
      if (cap <= 1) continue;
      result.windowsize = Math.min(n, cap); // EDK2: never above the request
      result.oack.push({ name, value: String(result.windowsize) });
    }
    // unknown options (multicast, foo, …) ignored (RFC 2347)
  }
  return result;
}

/** The negotiated options as event detail (timeline). */
export function detailOf(neg: Negotiated): Record<string, string | number | boolean> {
  const d: Record<string, string | number | boolean> = { blksize: neg.blksize, windowsize: neg.windowsize };
  for (const o of neg.oack) d[`option.${o.name.toLowerCase()}`] = o.value;
  return d;
}
