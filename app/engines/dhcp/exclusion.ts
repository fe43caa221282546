/**
 * Exclusion: whether the operator excluded a MAC (deny list, allow list, block, the loop breaker's pause),
 * and why — the one place this is decided (part of the boot decision, boot-decision.ts). Full mode asks it
 * before leasing; decideBoot before anything else.
 */
import type { ExclusionCode } from '../../shared/events.js';

/** What the session excludes on its own (BootConfig.isBlocked): a block by the operator or a pause. */
export interface OperatorExclusion {
  readonly kind: Extract<ExclusionCode, 'blocked' | 'paused'>;
  readonly reason: string;
}

/** Why a MAC gets no answer at all, whatever it asks (exclusionOf). */
export interface Exclusion {
  readonly code: ExclusionCode;
  readonly reason: string;
}

/** What exclusionOf reads of the boot config. */
export interface ExclusionConfig {
  readonly allow?: readonly string[];
  readonly deny?: readonly string[];
  readonly isBlocked?: (mac: string) => OperatorExclusion | undefined;
}

const NOT_NORMAL = /[A-Z-]/;

/**
 * Lower case, `-` read as `:` (the form the lists, blocks and pauses are kept in). A MAC decoded from a
 * datagram is already in that form: it is returned as it is, without a lower-casing and a replace per
 * DISCOVER (the boot decision asks twice, the session's Secure Boot chain once more).
 */
export const normalizeMac = (mac: string): string =>
  NOT_NORMAL.test(mac) ? mac.toLowerCase().replace(/-/g, ':') : mac;

/**
 * Normalised allow/deny sets, derived once per config object (decideBoot runs for every DISCOVER, up to
 * tens of thousands per second); a new config (the engines build theirs once) gets fresh sets.
 */
interface Lists {
  readonly allow: ReadonlySet<string> | undefined;
  readonly deny: ReadonlySet<string>;
}
const listCache = new WeakMap<object, Lists>();
function listsOf(config: ExclusionConfig): Lists {
  let d = listCache.get(config);
  if (!d) {
    d = {
      allow: config.allow && config.allow.length > 0 ? new Set(config.allow.map(normalizeMac)) : undefined,
      deny: new Set((config.deny ?? []).map(normalizeMac)),
    };
    listCache.set(config, d);
  }
  return d;
}

/** Why this MAC gets no answer at all, or undefined when it is served. */
export function exclusionOf(rawMac: string, config: ExclusionConfig): Exclusion | undefined {
  const mac = normalizeMac(rawMac);
  const lists = listsOf(config);
  if (lists.deny.has(mac)) return { code: 'deny-list', reason: `${mac} is on the deny list` };
  if (lists.allow && !lists.allow.has(mac))
    return { code: 'not-in-allow-list', reason: `${mac} is not on the allow list` };
  const own = config.isBlocked?.(mac);
  return own ? { code: own.kind, reason: own.reason } : undefined;
}
