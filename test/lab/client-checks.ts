/**
 * What every lab boot through PXE Desk must also show besides its marker: the client's record in the `--json`
 * timeline is sane (no loop-breaker pause, no loop or stall diagnosis, not stalled/failed/refused) and the wire
 * shows no loop (the boot script fetched once or twice, no iPXE binary after it). Issue 18: a sanboot's range
 * reads were once taken for a loop and the machine paused.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, requestedFiles } from './lab.js';

export interface ClientView {
  readonly key: string;
  readonly stage?: unknown;
  readonly paused?: unknown;
  readonly diagnoses?: unknown;
  readonly timeline?: unknown;
}

/** Last state of each client record in the `--json` timeline, by record key (MAC or `ip:<addr>`). */
export function clientRecords(events: readonly Record<string, unknown>[]): Map<string, ClientView> {
  const records = new Map<string, ClientView>();
  for (const e of events) {
    if (e.type !== 'client' || typeof e.client !== 'object' || e.client === null) continue;
    const client = e.client as { mac?: unknown };
    const key = String(client.mac);
    records.set(key, { key, ...(e.client as object) });
  }
  return records;
}

/** Files whose transfer finished (the entry carries `bytes`), over all records. */
export function finishedFiles(records: Map<string, ClientView>): string[] {
  const files: string[] = [];
  for (const r of records.values()) {
    if (!Array.isArray(r.timeline)) continue;
    for (const t of r.timeline as unknown[])
      if (t && typeof t === 'object' && 'file' in t && 'bytes' in t) files.push(String(t.file));
  }
  return files;
}

const BAD_DIAGNOSES = new Set(['boot-loop', 'loop-broken', 'tftp-stall', 'http-stall', 'no-next-step']);
const BAD_STAGES = new Set(['stalled', 'failed', 'refused']);

/** Problems with the client records and the wire (empty when sane). */
export function clientProblems(events: readonly Record<string, unknown>[], pcap: string): string[] {
  const problems: string[] = [];
  const records = clientRecords(events);
  if (records.size === 0) problems.push('no client record in the --json timeline');
  for (const r of records.values()) {
    if (r.paused) problems.push(`${r.key} paused: ${JSON.stringify(r.paused)}`);
    if (BAD_STAGES.has(String(r.stage))) problems.push(`${r.key} stage ${String(r.stage)}`);
    if (Array.isArray(r.diagnoses))
      for (const d of r.diagnoses as { code?: unknown; text?: unknown }[])
        if (BAD_DIAGNOSES.has(String(d.code))) problems.push(`${r.key} diagnosis ${d.code}: ${d.text}`);
  }
  const wire = requestedFiles(pcap);
  const scripts = wire.filter((f) => f.startsWith('boot.ipxe')).length;
  if (scripts > 2) problems.push(`boot.ipxe requested ${scripts} times: ${wire.join(', ')}`);
  const first = wire.findIndex((f) => f.startsWith('boot.ipxe'));
  if (first >= 0) {
    const late = wire.slice(first).filter((f) => /\.(kpxe|pxe)$|(^|\/)(snponly|ipxe)\.efi$/.test(f));
    if (late.length > 0) problems.push(`iPXE binary after boot.ipxe (loop): ${late.join(', ')}`);
  }
  return problems;
}

/** One row of the closing note's table (case, route, time, result), printed and kept in artifacts/lab/. */
export function tableLine(fields: Record<string, string>): void {
  const line = `lab-iso ${Object.entries(fields)
    .map(([k, v]) => `${k}=${v.replace(/\s+/g, '_')}`)
    .join(' ')}`;
  console.log(line);
  mkdirSync(join(REPO, 'artifacts', 'lab'), { recursive: true });
  writeFileSync(join(REPO, 'artifacts', 'lab', 'iso-table.txt'), line + '\n', { flag: 'a' });
}
