/**
 * Shared by the CLI tests: follow a running `pxe-desk serve --json` child (spawned by the caller, in a
 * namespace or not) — its JSON events, stderr, exit — and wait for the session to come up.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LogRecord } from '../../app/shared/runtime.js';
import type { ClientRecord, SessionEvent, SessionSnapshot } from '../../app/shared/session-types.js';
import { waitFor } from '../helpers/netns.js';

export const repo = resolve(import.meta.dirname, '..', '..');
export const cliBin = join(repo, 'bin', 'pxe-desk.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const sleepSync = (ms: number): void =>
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms) as never;

/**
 * Users run the built CLI, so these tests do too. Test files run in parallel: a rebuild while another
 * file's CLI child imports dist/ could hand it a half-written module. So: build only when dist/ is
 * older than app/ (`npm test` builds first), one build at a time (a lock directory), re-checked
 * under the lock.
 */
/** True when dist/ is at least as new as every source under app/ (a stale dist/ would test old code). */
export function builtCliIsFresh(): boolean {
  const built = join(repo, 'dist', 'app', 'cli', 'main.js');
  return existsSync(built) && statSync(built).mtimeMs >= newestSource(join(repo, 'app'));
}

export function ensureBuilt(): void {
  const fresh = builtCliIsFresh;
  if (fresh()) return;
  mkdirSync(join(repo, 'dist'), { recursive: true });
  const lock = join(repo, 'dist', '.build-lock');
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than 5 minutes belongs to a killed run.
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 300_000) rmdirSync(lock);
      if (Date.now() > deadline) throw new Error('timed out waiting for another test file to build dist/');
      sleepSync(200);
    }
  }
  try {
    if (!fresh())
      execFileSync(process.execPath, ['scripts/build.mjs', 'main'], { cwd: repo, stdio: 'ignore' });
  } finally {
    rmdirSync(lock);
  }
}

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
  // On a timeout, say where the session was: its last log lines and whether it exited (a bare
  // "timed out" with empty stderr, seen once under CI load, left nothing to go on).
  const where = (): string => {
    const logs = run
      .logs()
      .slice(-6)
      .map((r) => `${r.level} ${r.message}`)
      .join(' | ');
    return `stderr: ${run.stderr()}; exit: ${String(run.child.exitCode)}; last logs: ${logs || 'none'}`;
  };
  await waitFor(
    () => run.started() !== undefined,
    20_000,
    () => `${what} (${where()})`,
  );
  return run.started()!;
}
