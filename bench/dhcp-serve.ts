/**
 * Runs ProxyDhcpServer or DhcpServer on a DirectTransport (0.0.0.0, ports 67/4011) — ONLY inside a test
 * network namespace (test/integration/dhcp-netns.test.ts, bench/dhcp-bench.sh). Prints one JSON line per
 * event (unless --quiet), "ready" once bound, and the counters when a line arrives on stdin or on SIGTERM.
 *
 * Usage: node --import tsx bench/dhcp-serve.ts proxy|dhcp SERVER_IP [RANGE_START RANGE_END PREFIX] [--quiet]
 *        [--helper PATH --iface NAME]   (the native helper relay instead of node:dgram: the production Linux path)
 *        [--rcvbuf BYTES]               (DirectTransport SO_RCVBUF for the DHCP roles; 0 = OS default)
 *        [--remember-ms MS]             (how long DISCOVERs are remembered for 4011; -1 = not at all)
 *        [--loop-delay]                 (event-loop delay p50/p99/max in the counters; its 1 ms timer costs CPU)
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { DhcpServer, ProxyDhcpServer } from '../app/engines/dhcp/index.js';
import type { DatagramTransport } from '../app/shared/datagram-transport.js';
import { DirectTransport } from '../app/transport/direct-transport.js';
import { HelperTransport } from '../app/transport/helper-transport.js';

const argv = process.argv.slice(2);
const valueOf = (flag: string): string | undefined => {
  const i = argv.indexOf(flag);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
};
const helperPath = valueOf('--helper');
const rcvbuf = valueOf('--rcvbuf');
const iface = valueOf('--iface');
const rememberMs = valueOf('--remember-ms');
const args = argv.filter((a) => a !== '--quiet' && a !== '--loop-delay');
const quiet = argv.includes('--quiet');
const watchLoop = argv.includes('--loop-delay');
const [mode, server, rangeStart, rangeEnd, prefix] = args;
if ((mode !== 'proxy' && mode !== 'dhcp') || !server) {
  console.error('usage: dhcp-serve.ts proxy|dhcp SERVER_IP [RANGE_START RANGE_END PREFIX] [--quiet]');
  process.exit(2);
}
const transport: DatagramTransport =
  helperPath && iface
    ? new HelperTransport({ iface, helperPath, launch: 'direct' })
    : new DirectTransport({
        bindAddress: '0.0.0.0',
        ...(rcvbuf !== undefined ? { receiveBufferBytes: Number(rcvbuf) } : {}),
      });
const boot = {
  mode,
  serverAddress: server,
  tftpServer: server,
  httpBaseUrl: `http://${server}:8080`,
} as const;
// Benchmarks drive many requests from few MACs: lift the per-MAC limit there.
const perMacRate = quiet ? 1_000_000 : 20;
const engine =
  mode === 'proxy'
    ? new ProxyDhcpServer({
        transport,
        serverAddress: server,
        boot,
        perMacRate,
        globalRate: 1_000_000,
        ...(rememberMs ? { rememberMs: Number(rememberMs) } : {}),
      })
    : new DhcpServer({
        transport,
        serverAddress: server,
        boot,
        perMacRate,
        globalRate: 1_000_000,
        pool: {
          rangeStart: rangeStart ?? '10.0.0.100',
          rangeEnd: rangeEnd ?? '10.0.0.200',
          prefixLength: Number(prefix ?? 24),
          router: server,
          dns: [server],
          leaseTimeSeconds: 600,
        },
      });
if (!quiet) engine.onEvent((e) => process.stdout.write(`${JSON.stringify(e)}\n`));
// Event-loop delay (1 ms resolution), only with --loop-delay: its timer wakes the loop 1 000 times a second,
// which at 1 000 DISCOVER/s doubled the CPU measured per offer.
const loopDelay = watchLoop ? monitorEventLoopDelay({ resolution: 1 }) : undefined;
loopDelay?.enable();
const counters = (): void => {
  const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
  const loop = loopDelay && {
    p50: ms(loopDelay.percentile(50)),
    p99: ms(loopDelay.percentile(99)),
    max: ms(loopDelay.max),
  };
  process.stdout.write(`${JSON.stringify({ type: 'counters', ...engine.counters(), loopDelayMs: loop })}\n`);
};
await engine.start();
process.stdout.write('ready\n');
createInterface({ input: process.stdin }).on('line', counters);
process.on('SIGTERM', () => {
  counters();
  void engine.stop().then(() => transport.close().then(() => process.exit(0)));
});
