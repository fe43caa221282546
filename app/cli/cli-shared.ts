/**
 * What every `pxe-desk` subcommand shares: the version it reports, its exit codes (docs/cli.md, "Exit
 * codes") and how a failure reaches stderr.
 */

export const CLI_VERSION = '0.1.0';

/** 0 ok / clean stop, 1 session failed to start or died, 2 usage or config error. */
export const EXIT = { ok: 0, startFailed: 1, usage: 2 } as const;

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Writes `pxe-desk COMMAND: <error>` to stderr and returns `code`, the command's exit code. */
export function fail(command: string, error: unknown, code: number): number {
  process.stderr.write(`pxe-desk ${command}: ${errorText(error)}\n`);
  return code;
}
