/**
 * Runs a real SessionController (real engines, direct transport) inside a test namespace with the
 * diagnosis timings a test needs, which the CLI does not expose. Usage (inside `ip netns exec`):
 *   node --import tsx foreign-lan-driver.ts '<json {config, options}>'
 * stdout: one JSON SessionEvent per line; stdin commands: `report` (prints {type:'report', json, html}),
 * `stop` (stops the session and exits 0).
 */
import { createInterface } from 'node:readline';
import { renderReport } from '../../app/core/report.js';
import { SessionController, type SessionControllerOptions } from '../../app/core/session/index.js';
import { createLogger } from '../../app/shared/runtime.js';
import type { SessionConfig } from '../../app/shared/session-types.js';

const input = JSON.parse(process.argv[2] ?? '{}') as {
  config: SessionConfig;
  options?: Pick<
    SessionControllerOptions,
    'probeWindowMs' | 'siteGraceMs' | 'loopPauseMs' | 'stallMs' | 'nextStepMs' | 'loopWindowMs' | 'helperPath'
  >;
};
const out = (v: unknown): void => void process.stdout.write(`${JSON.stringify(v)}\n`);
const session = new SessionController({
  ...input.options,
  logger: createLogger((record) => out({ type: 'log', record }), 'session'),
});
session.onEvent((e) => out(e));
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'report') out({ type: 'report', ...renderReport(session.reportData(), Date.now(), 'test') });
  else if (cmd === 'stop') void session.stop().then(() => process.exit(0));
});
await session.start(input.config);
