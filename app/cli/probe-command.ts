/** `pxe-desk probe --iface NAME`: which DHCP / proxyDHCP servers answer on that NIC (never picks one). */
import { formatProbe, probeInterface } from '../core/probe.js';
import { toSessionError } from '../core/session/index.js';
import type { HelperPolicy } from '../shared/session-types.js';
import { helperPolicy, num, parseArgs, serveOption, text, type OptSpec, type ParsedArgs } from './args.js';
import { EXIT, fail } from './cli-shared.js';

const PROBE_OPTIONS: readonly OptSpec[] = [
  { ...serveOption('iface'), help: 'network interface to look at (required)' },
  { ...serveOption('json'), help: 'print the ProbeResult as JSON' },
  { key: 'window', kind: 'string', names: ['--window'], help: 'listen this many ms (default 3500)' },
  serveOption('helper'),
  serveOption('clientPort'),
  serveOption('help'),
];

export async function probe(argv: readonly string[]): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv, PROBE_OPTIONS);
  } catch (error) {
    return fail('probe', error, EXIT.usage);
  }
  if (args.help === true) {
    const lines = PROBE_OPTIONS.map((s) => `  ${s.names.join(', ').padEnd(20)} ${s.help}`);
    process.stdout.write(`usage: pxe-desk probe --iface NAME [--json]\n\n${lines.join('\n')}\n`);
    return EXIT.ok;
  }
  const iface = text(args, 'iface');
  let windowMs: number | undefined;
  let clientPort: number | undefined;
  try {
    windowMs = num(args, 'window');
    clientPort = num(args, 'clientPort');
  } catch (error) {
    return fail('probe', error, EXIT.usage);
  }
  if (!iface)
    return fail(
      'probe',
      '--iface is required (PXE Desk never picks a network interface; see `pxe-desk interfaces`)',
      EXIT.usage,
    );
  let helper: HelperPolicy;
  try {
    helper = helperPolicy(args);
  } catch (error) {
    return fail('probe', error, EXIT.usage);
  }
  try {
    const result = await probeInterface({
      iface,
      helper,
      ...(windowMs !== undefined ? { windowMs } : {}),
      ...(clientPort !== undefined ? { clientPort } : {}),
    });
    process.stdout.write(args.json === true ? `${JSON.stringify(result)}\n` : formatProbe(result));
    return EXIT.ok;
  } catch (error) {
    return fail('probe', toSessionError(error).message, EXIT.startFailed);
  }
}
