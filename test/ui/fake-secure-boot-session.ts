/**
 * `serve --ui`'s server (app/cli/ui-server.ts + app/core/ui-api.ts) in front of a scripted session, for
 * secure-boot-setting.test.ts: the command line's `--secure-boot on` arrives as the page's starting value
 * (`ui.defaults`), Start prints the SessionConfig the page sent, and the session's snapshot holds one client
 * the client model moved to the signed chain. The library is the real one over ROOT (signatures read from
 * the files). No engine, no socket but the UI's own on 127.0.0.1. Run with
 * `node --import tsx fake-secure-boot-session.ts RENDERER_DIR ROOT`; prints `{"type":"ui","url":...}` and
 * `{"type":"start","config":...}` per Start.
 */
import { createUiApi, type UiSession } from '../../app/core/ui-api.js';
import { signedChainWords } from '../../app/shared/secure-boot.js';
import type { ClientRecord, SessionConfig, SessionSnapshot } from '../../app/shared/session-types.js';
import { serveScriptedUi } from './serve-scripted-ui.js';

const [rendererDir, root] = process.argv.slice(2);
if (!rendererDir || !root) throw new Error('usage: fake-secure-boot-session.ts RENDERER_DIR ROOT');

const now = Date.now();
const SIGNED = '52:54:00:5b:00:01';
const IPXE = '52:54:00:5b:00:02';
const record = (mac: string, extra: Partial<ClientRecord>): ClientRecord => ({
  mac,
  firmware: 'uefi-x64',
  stage: 'offered',
  firstSeen: now - 90_000,
  lastSeen: now - 1000,
  timeline: [{ time: now - 90_000, stage: 'dhcp', text: 'DISCOVER (UEFI x64)' }],
  ...extra,
});
const clients: ClientRecord[] = [
  record(SIGNED, {
    firmware: 'uefi-x64-http',
    chain: 'signed',
    chainReason: 'refused-unsigned',
    timeline: [
      { time: now - 90_000, stage: 'dhcp', text: 'DISCOVER (UEFI x64)' },
      { time: now - 18_000, stage: 'dhcp', text: signedChainWords('refused-unsigned') },
    ],
  }),
  record(IPXE, { chain: 'ipxe' }),
];

let state: SessionSnapshot['state'] = 'idle';
let config: SessionConfig | undefined;
const snapshot = (): SessionSnapshot => ({
  state,
  ...(config ? { config } : {}),
  clients,
  warnings: [],
});

const session: UiSession = {
  start(c) {
    process.stdout.write(`${JSON.stringify({ type: 'start', config: c })}\n`);
    state = 'running';
    config = c;
    return Promise.resolve(snapshot());
  },
  stop() {
    state = 'idle';
    return Promise.resolve(snapshot());
  },
  snapshot,
  onEvent: () => () => undefined,
  clientAction: () => undefined,
};

await serveScriptedUi(rendererDir, (resolveSource) =>
  createUiApi({
    session,
    resolveSource,
    defaults: { mode: 'proxy', root, secureBoot: 'on' },
    listInterfaces: () =>
      Promise.resolve([
        { name: 'eth7', type: 'wired', up: true, ipv4: { address: '10.239.0.1', prefixLength: 24 } },
      ]),
  }),
);
