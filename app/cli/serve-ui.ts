/**
 * `serve --ui`: the web UI on 127.0.0.1 (random port + token, app/cli/ui-server.ts) speaking the UI
 * contract over WebSocket; the session is configured and started from the page.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { locateBootFiles } from '../core/boot-files.js';
import { listInterfaces } from '../core/interfaces.js';
import { foreignLanHooks } from '../core/report.js';
import { SessionController } from '../core/session/index.js';
import { createLogger } from '../shared/runtime.js';
import type { SecureBootMode } from '../shared/secure-boot.js';
import type { SessionConfig, SessionEvent } from '../shared/session-types.js';
import { CLI_VERSION, EXIT, fail } from './cli-shared.js';
import { CommandSignals } from './signals.js';

/** `root`, `mode` and `secureBoot` (as given on the command line) are the page's starting folder and settings. */
export async function serveUi(
  root: string | undefined,
  mode: string | undefined,
  secureBoot?: SecureBootMode,
): Promise<number> {
  const { startUiServer, uiDefaults } = await import('./ui-server.js');
  // The page's starting mode, folder and Secure Boot setting (contract `ui.defaults`).
  const defaults = uiDefaults(root, mode, secureBoot);
  const { createUiApi } = await import('../core/ui-api.js');
  const here = dirname(fileURLToPath(import.meta.url));
  const rendererDir = [join(here, '..', '..', 'renderer'), join(here, '..', '..', 'dist', 'renderer')].find(
    (d) => existsSync(join(d, 'index.html')),
  );
  if (!rendererDir)
    return fail('serve --ui', 'renderer build missing (run `node scripts/build.mjs renderer`)', EXIT.usage);
  const logListeners = new Set<(e: SessionEvent) => void>();
  const bootFilesDir = locateBootFiles();
  const session = new SessionController({
    logger: createLogger((record) => logListeners.forEach((l) => l({ type: 'log', record })), 'session'),
    ...(bootFilesDir ? { bootFilesDir } : {}),
  });
  const uiSession = {
    start: (c: SessionConfig) => session.start(c),
    stop: () => session.stop(),
    snapshot: () => session.snapshot(),
    clientAction: (mac: string, a: 'forget' | 'block' | 'unblock') => session.clientAction(mac, a),
    setBootOverride: (mac: string, o: Parameters<SessionController['setBootOverride']>[1]) =>
      session.setBootOverride(mac, o),
    rescan: () => session.rescan(),
    onEvent(l: (e: SessionEvent) => void) {
      logListeners.add(l);
      const off = session.onEvent(l);
      return () => {
        logListeners.delete(l);
        off();
      };
    },
  };
  const server = await startUiServer({
    rendererDir,
    makeApi: (resolveSource) =>
      createUiApi({
        session: uiSession,
        listInterfaces,
        resolveSource,
        appVersion: CLI_VERSION,
        defaults,
        ...foreignLanHooks(session, { appVersion: CLI_VERSION }),
      }),
  });
  const signals = new CommandSignals('serve --ui'); // before the line: a launcher may signal as soon as it reads it
  process.stdout.write(`${JSON.stringify({ type: 'ui', url: server.url })}\n`);
  return await new Promise<number>((done) => {
    signals.onStop(() => {
      void session
        .stop()
        .then(() => server.close())
        .then(() => done(EXIT.ok));
    });
  });
}
