/**
 * A session through the real helper (loopback, unprivileged test ports; no client, so nothing is ever
 * sent): when the helper dies mid-session the session reports `helper-died` as its error, tears down,
 * and Start works again with a fresh helper (issue 6: "helper died: the session reports it and can
 * restart").
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionController } from '../../app/core/session/index.js';
import type { NicInfo, SessionConfig } from '../../app/shared/session-types.js';
import { haveTools } from '../helpers/tools.js';
import { buildHelper } from './helper-build.js';

let dir = '';
let helperPath = '';
// Below the kernel's ephemeral range (32768-60999 here), so no other test's client socket can be handed one of
// these ports between the helper's death and the restart (a CI flake: "in use by node").
const base = 21000 + (process.pid % 1000) * 4;

/** Our own child processes running `path` (by /proc, so we kill only what we started, by PID). */
function childrenRunning(path: string): number[] {
  const pids: number[] = [];
  for (const task of readdirSync('/proc/self/task')) {
    const text = readFileSync(`/proc/self/task/${task}/children`, 'utf8').trim();
    for (const pid of text ? text.split(/\s+/).map(Number) : []) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(path)) pids.push(pid);
      } catch {
        /* exited meanwhile */
      }
    }
  }
  return pids;
}

describe.skipIf(process.platform !== 'linux' || !haveTools('go'))('session through the helper', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pxd-helper-session-'));
    helperPath = buildHelper(dir);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports helper-died, tears down, and starts again', async () => {
    const lo: NicInfo = {
      name: 'lo',
      type: 'wired',
      up: true,
      ipv4: { address: '127.0.0.1', prefixLength: 8 },
    };
    const session = new SessionController({ helperPath, interfaces: async () => [lo] });
    const config: SessionConfig = {
      mode: 'proxy',
      root: dir,
      iface: 'lo',
      helper: 'always',
      ports: { dhcp: base, proxy: base + 2, tftp: base + 3, http: 0 },
    };
    const states: string[] = [];
    session.onEvent((e) => {
      if (e.type === 'state') states.push(e.snapshot.state);
    });
    try {
      const first = await session.start(config);
      expect(first.error).toBeUndefined();
      expect(first).toMatchObject({ state: 'running', transport: 'helper' });
      const [pid, ...more] = childrenRunning(helperPath);
      expect(more).toEqual([]);
      process.kill(pid!, 'SIGKILL');

      await expect.poll(() => session.snapshot().state, { timeout: 10_000 }).toBe('error');
      const failed = session.snapshot();
      expect(failed.error?.code).toBe('helper-died');
      expect(failed.error?.message).toMatch(/helper exited \(SIGKILL\)/);
      expect(failed.endpoints ?? {}).toEqual({});
      expect(states.slice(-2)).toEqual(['running', 'error']);

      const again = await session.start(config);
      expect(again).toMatchObject({ state: 'running', transport: 'helper' });
      expect(childrenRunning(helperPath)).toHaveLength(1);
    } finally {
      await session.stop();
    }
    await expect.poll(() => childrenRunning(helperPath), { timeout: 5000 }).toEqual([]);
  }, 60_000);
});
