/**
 * A client's row (ClientRecord) as the UI, the CLI and the report see it: its timeline record with the
 * findings, and what the session decided about the machine (block, pause, boot override, chain).
 */
import type { MacOverride } from '../../shared/library-types.js';
import type { ClientRecord, Diagnosis } from '../../shared/session-types.js';
import type { ClientFacts } from './facts.js';
import type { RecordDraft } from './timeline.js';

export interface RowState {
  readonly blocked: boolean;
  /** The loop breaker's pause, while it lasts. */
  readonly paused?: { readonly until: number; readonly reason: string };
  readonly override?: MacOverride;
}

export function rowView(
  r: RecordDraft,
  f: ClientFacts,
  found: readonly Diagnosis[],
  s: RowState,
): ClientRecord {
  return {
    ...r,
    timeline: [...r.timeline],
    ...(found.length > 0 ? { diagnoses: found, diagnosis: found[0]!.text } : {}),
    ...(s.blocked ? { blocked: true } : {}),
    ...(s.paused ? { paused: { ...s.paused } } : {}),
    ...(s.override ? { bootOverride: s.override } : {}),
    ...(f.chain ? { chain: f.chain.chain } : {}),
    ...(f.chain?.reason ? { chainReason: f.chain.reason } : {}),
  };
}

/** What the findings say, as one string: the tick re-emits a row only when it changes. */
export function findingsKey(found: readonly Diagnosis[]): string {
  return found.map((d) => `${d.code}\u0000${d.text}`).join('\u0001');
}
