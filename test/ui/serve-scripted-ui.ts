/**
 * The tail the scripted UI servers of test/ui/ share (fake-session-server.ts, fake-secure-boot-session.ts,
 * library-ui-server.ts): `serve --ui`'s server (app/cli/ui-server.ts) over the API the script built, the
 * `{"type":"ui","url":...}` line the tests wait for (ui-harness.ts), and a clean stop on SIGINT/SIGTERM.
 */
import { startUiServer, type UiServerOptions } from '../../app/cli/ui-server.js';

export async function serveScriptedUi(
  rendererDir: string,
  makeApi: UiServerOptions['makeApi'],
): Promise<void> {
  const server = await startUiServer({ rendererDir, makeApi });
  process.stdout.write(`${JSON.stringify({ type: 'ui', url: server.url })}\n`);
  const stop = (): void => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
