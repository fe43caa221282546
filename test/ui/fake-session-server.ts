/**
 * `serve --ui`'s server (app/cli/ui-server.ts + app/core/ui-api.ts) in front of a scripted session, for
 * renderer-state.test.ts: the session's snapshot carries blocked, paused and boot-override records and an
 * eviction count, so the test sees what the page shows from the session alone. No engine, no socket but
 * the UI's own on 127.0.0.1. Run with `node --import tsx fake-session-server.ts RENDERER_DIR ROOT`; prints
 * `{"type":"ui","url":...}` and a line per client action it receives.
 */
import { createUiApi, type UiSession } from '../../app/core/ui-api.js';
import type { ClientRecord, SessionEvent, SessionSnapshot } from '../../app/shared/session-types.js';
import { serveScriptedUi } from './serve-scripted-ui.js';

const [rendererDir, root] = process.argv.slice(2);
if (!rendererDir || !root) throw new Error('usage: fake-session-server.ts RENDERER_DIR ROOT');

const now = Date.now();
const record = (mac: string, extra: Partial<ClientRecord>): ClientRecord => ({
  mac,
  firmware: 'bios',
  stage: 'offered',
  firstSeen: now - 60_000,
  lastSeen: now - 1000,
  timeline: [{ time: now - 60_000, stage: 'dhcp', text: 'DISCOVER (BIOS, PXEClient)' }],
  ...extra,
});

const MACS = {
  blocked: '52:54:00:00:00:01',
  paused: '52:54:00:00:00:02',
  override: '52:54:00:00:00:03',
  /** A loop diagnosis but no pause in the record: the page must not call it paused. */
  diagnosedOnly: '52:54:00:00:00:04',
};

let clients: ClientRecord[] = [
  record(MACS.blocked, { blocked: true }),
  record(MACS.paused, {
    paused: {
      until: now + 10 * 60_000,
      reason: 'loop breaker: undionly.kpxe was downloaded 3 times in 60 s',
    },
  }),
  record(MACS.override, { bootOverride: { entry: 'vmlinuz', once: true } }),
  record(MACS.diagnosedOnly, {
    diagnosis: 'Loop breaker stopped serving this machine',
    diagnoses: [
      {
        code: 'loop-broken',
        severity: 'error',
        text: 'Loop breaker stopped serving this machine',
        time: now,
      },
    ],
  }),
];
const listeners = new Set<(e: SessionEvent) => void>();
const snapshot = (): SessionSnapshot => ({
  state: 'running',
  config: { mode: 'dhcp', iface: 'eth7', root },
  startedAt: now - 120_000,
  clients,
  warnings: [],
  clientsEvicted: 7,
});

const session: UiSession = {
  start: () => Promise.resolve(snapshot()),
  stop: () => Promise.resolve({ ...snapshot(), state: 'idle' }),
  snapshot,
  onEvent(l) {
    listeners.add(l);
    return () => listeners.delete(l);
  },
  clientAction(mac, action) {
    process.stdout.write(`${JSON.stringify({ type: 'action', mac, action })}\n`);
    // As the session does: unblock lifts the block and the loop-breaker pause. No event is sent, so the
    // page shows it only if it re-reads the session after its action.
    if (action === 'unblock')
      clients = clients.map((c) => {
        if (c.mac !== mac) return c;
        const { blocked: _b, paused: _p, ...rest } = c;
        return rest;
      });
    return undefined;
  },
};

await serveScriptedUi(rendererDir, (resolveSource) =>
  createUiApi({
    session,
    resolveSource,
    listInterfaces: () =>
      Promise.resolve([
        { name: 'eth7', type: 'wired', up: true, ipv4: { address: '10.239.0.1', prefixLength: 24 } },
        { name: 'eth8', type: 'wired', up: true, ipv4: { address: '10.240.0.1', prefixLength: 24 } },
      ]),
  }),
);
