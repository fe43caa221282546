/**
 * `serve --ui`'s server (app/cli/ui-server.ts + app/core/ui-api.ts, the real netboot library and ISO analysis)
 * in front of an idle session, for library-iso.test.ts: the page lists ROOT as the command line's folder
 * (`serve --mode files --ui --root ROOT`). No engine and no socket but the UI's own on 127.0.0.1.
 * Sources under LOCAL_DIR may be imported by path (as the desktop app imports a dropped file by its path),
 * so the test can import a 4 GiB file without uploading it. Run with
 * `node --import tsx library-ui-server.ts RENDERER_DIR ROOT LOCAL_DIR`; prints `{"type":"ui","url":...}`.
 */
import { uiDefaults } from '../../app/cli/ui-server.js';
import { createUiApi, type UiSession } from '../../app/core/ui-api.js';
import type { SessionSnapshot } from '../../app/shared/session-types.js';
import { serveScriptedUi } from './serve-scripted-ui.js';

const [rendererDir, root, localDir] = process.argv.slice(2);
if (!rendererDir || !root || !localDir)
  throw new Error('usage: library-ui-server.ts RENDERER_DIR ROOT LOCAL_DIR');

const idle: SessionSnapshot = { state: 'idle', clients: [], warnings: [] };
const session: UiSession = {
  start: () => Promise.reject(Object.assign(new Error('no session in this test'), { code: 'not-supported' })),
  stop: () => Promise.resolve(idle),
  snapshot: () => idle,
  onEvent: () => () => undefined,
  clientAction: () => undefined,
};

await serveScriptedUi(rendererDir, (resolveUpload) =>
  createUiApi({
    session,
    resolveSource: (s) => (s.startsWith(`${localDir}/`) ? s : resolveUpload(s)),
    listInterfaces: () => Promise.resolve([]),
    defaults: uiDefaults(root, 'files'),
  }),
);
