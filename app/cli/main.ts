/**
 * `pxe-desk` headless CLI entry. Subcommands: serve, interfaces, probe (see docs/cli.md).
 */
export const CLI_VERSION = '0.1.0';

export async function main(argv: readonly string[]): Promise<number> {
  const [command] = argv;
  if (command === '--version' || command === '-V') {
    process.stdout.write(`pxe-desk ${CLI_VERSION}\n`);
    return 0;
  }
  process.stdout.write('usage: pxe-desk <serve|interfaces|probe> [options]   (pxe-desk <command> --help)\n');
  return command === undefined || command === '--help' || command === '-h' ? 0 : 2;
}
