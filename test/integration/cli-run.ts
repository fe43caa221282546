/**
 * Shared by the CLI tests: follow a running `pxe-desk serve --json` child (spawned by the caller, in a
 * namespace or not) — its JSON events, stderr, exit — and wait for the session to come up.
 */
import type { ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { LogRecord } from '../../app/shared/runtime.js';
import type { ClientRecord, SessionEvent, SessionSnapshot } from '../../app/shared/session-types.js';
import { waitFor } from '../helpers/netns.js';

export const repo = resolve(import.meta.dirname, '..', '..');
export const cliBin = join(repo, 'bin', 'pxe-desk.js');

export interface ServeRun {
  readonly child: ChildProcess;
  readonly events: SessionEvent[];
  readonly exit: Promise<number | null>;
  stderr(): string;
  /** The snapshot of the first state past `starting` (running or error). */
  started(): SessionSnapshot | undefined;
  logs(): LogRecord[];
  /** Latest record per client key (MAC or `ip:<addr>`). */
  clients(): Map<string, ClientRecord>;
}

export function follow(child: ChildProcess): ServeRun {
  const events: SessionEvent[] = [];
  let stderr = '';
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) events.push(JSON.parse(line) as SessionEvent);
  });
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child,
    events,
    exit,
    stderr: () => stderr,
    started: () => {
      const e = events.find((x) => x.type === 'state' && x.snapshot.state !== 'starting');
      return e?.type === 'state' ? e.snapshot : undefined;
    },
    logs: () => events.flatMap((e) => (e.type === 'log' ? [e.record] : [])),
    clients: () => {
      const latest = new Map<string, ClientRecord>();
      for (const e of events) if (e.type === 'client') latest.set(e.client.mac, e.client);
      return latest;
    },
  };
}

/** Waits until the session left `starting`; resolves with that snapshot (running or error). */
export async function untilStarted(run: ServeRun, what = 'session started'): Promise<SessionSnapshot> {
  await waitFor(() => run.started() !== undefined, 20_000, `${what} (stderr: ${run.stderr()})`);
  return run.started()!;
}
