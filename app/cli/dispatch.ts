/**
 * `pxe-desk <command>`: reads the subcommand and hands the rest of argv to it (docs/cli.md).
 * Every command returns its exit code (cli-shared.ts); bin/pxe-desk.js exits with it.
 */
import { listInterfaces } from '../core/interfaces.js';
import { CLI_VERSION, EXIT } from './cli-shared.js';
import { probe } from './probe-command.js';
import { serve } from './serve.js';

const USAGE = 'usage: pxe-desk <serve|interfaces|probe> [options]   (pxe-desk <command> --help)\n';

/** `pxe-desk interfaces [--json]`: the NICs PXE Desk could serve on, with why one is unsuitable. */
async function interfaces(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write('usage: pxe-desk interfaces [--json]\n');
    return EXIT.ok;
  }
  const nics = await listInterfaces();
  if (argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(nics)}\n`);
    return EXIT.ok;
  }
  for (const n of nics) {
    const ip = n.ipv4 ? `${n.ipv4.address}/${n.ipv4.prefixLength}` : '-';
    process.stdout.write(
      `${n.name.padEnd(16)} ${n.type.padEnd(9)} ${(n.up ? 'up' : 'down').padEnd(5)} ${ip.padEnd(19)} ${(n.mac ?? '-').padEnd(18)} mtu ${n.mtu ?? '-'}${n.unsuitable ? `  (unsuitable: ${n.unsuitable})` : ''}\n`,
    );
  }
  return EXIT.ok;
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-V') {
    process.stdout.write(`pxe-desk ${CLI_VERSION}\n`);
    return EXIT.ok;
  }
  if (command === 'serve') return serve(rest);
  if (command === 'interfaces') return interfaces(rest);
  if (command === 'probe') return probe(rest);
  process.stdout.write(USAGE);
  return command === undefined || command === '--help' || command === '-h' ? EXIT.ok : EXIT.usage;
}
