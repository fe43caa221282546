/**
 * `pxe-desk` headless CLI entry, loaded by bin/pxe-desk.js (as dist/app/cli/main.js) and by the tests.
 * Subcommands serve, interfaces, probe (docs/cli.md); the files by job:
 *   dispatch.ts          the subcommand and its route
 *   config-from-args.ts  serve's options (flags over config files) to a SessionConfig
 *   serve.ts             the headless serve run: session start, event output, report
 *   serve-ui.ts          `serve --ui`: the browser UI (ui-server.ts) drives the session
 *   signals.ts           SIGINT / SIGTERM / SIGUSR1 / SIGHUP for a running command
 *   probe-command.ts     `probe --iface`
 * Exit codes: 0 ok / clean stop, 1 session failed to start or died, 2 usage or config error.
 */
export { main } from './dispatch.js';
