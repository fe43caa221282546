import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { waitFor, type NetLab } from '../helpers/netns.js';

/** `go build` of one of our Go modules into `outDir` (same flags as scripts/build.mjs). */
function goBuild(module: string, binary: string, outDir: string): string {
  const out = join(outDir, binary);
  execFileSync('go', ['build', '-trimpath', '-o', out, '.'], {
    cwd: resolve(__dirname, '../..', module),
    env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local', GOPROXY: 'off' },
  });
  return out;
}

/** Builds the helper into a temp dir. */
export const buildHelper = (outDir: string): string => goBuild('native-helper', 'pxe-desk-helper', outDir);

/** Builds the native TFTP data path (native-tftp/, `pxe-desk-tftp`) into a temp dir. */
export const buildNativeTftp = (outDir: string): string => goBuild('native-tftp', 'pxe-desk-tftp', outDir);

/** Builds the native HTTP body path (native-http/, `pxe-desk-http`) into a temp dir. */
export const buildNativeHttp = (outDir: string): string => goBuild('native-http', 'pxe-desk-http', outDir);

const capabilityCopies = new Set<string>();

/**
 * Builds the helper into `dir` and gives that copy cap_net_bind_service,cap_net_raw+ep (what the deb/rpm
 * hook does). Callers remove `dir` in their finally; should the test process be stopped first, the
 * copy is removed on exit/SIGINT/SIGTERM too: no capability-bearing binary is left behind.
 */
export function buildHelperWithCapabilities(dir: string): string {
  const path = buildHelper(dir);
  if (capabilityCopies.size === 0) {
    process.once('exit', removeCapabilityCopies);
    for (const signal of ['SIGINT', 'SIGTERM'] as const)
      process.once(signal, () => {
        removeCapabilityCopies();
        process.exit(130);
      });
  }
  capabilityCopies.add(path);
  execFileSync('setcap', ['cap_net_bind_service,cap_net_raw+ep', path]);
  return path;
}

function removeCapabilityCopies(): void {
  for (const path of capabilityCopies) rmSync(path, { force: true });
}

/**
 * A BIOS PXE client's DISCOVER (RFC 4578 options 93/94/97, vendor class PXEClient) broadcast from
 * 0.0.0.0:68 every second, as a node script for a client namespace. Prints one JSON line: the first
 * BOOTREPLY with our xid (`reply`, with its source and hex), or `timeout` after `timeoutMs` (exit 0).
 */
export function pxeDiscoverScript(timeoutMs: number): string {
  return `
import { createSocket } from 'node:dgram';
const p = Buffer.alloc(240);
p[0] = 1; p[1] = 1; p[2] = 6; p.writeUInt32BE(0x1234abcd, 4); p.writeUInt16BE(0x8000, 10);
Buffer.from([0x52, 0x54, 0, 0x12, 0x34, 0x56]).copy(p, 28);
p.writeUInt32BE(0x63825363, 236);
const vc = Buffer.from('PXEClient:Arch:00000:UNDI:002001');
const opts = Buffer.concat([Buffer.from([53, 1, 1, 60, vc.length]), vc, Buffer.from([93, 2, 0, 0, 94, 3, 1, 2, 1, 97, 17, 0]), Buffer.alloc(16, 7), Buffer.from([255])]);
const s = createSocket({ type: 'udp4', reuseAddr: true });
s.bind(68, () => {
  s.setBroadcast(true);
  const timer = setTimeout(() => { console.log(JSON.stringify({ type: 'timeout' })); process.exit(0); }, ${timeoutMs});
  s.on('message', (m, r) => {
    if (m[0] !== 2 || m.readUInt32BE(4) !== 0x1234abcd) return;
    clearTimeout(timer);
    console.log(JSON.stringify({ type: 'reply', from: r.address + ':' + r.port, hex: m.toString('hex') }));
    process.exit(0);
  });
  const send = () => s.send(Buffer.concat([p, opts]), 67, '255.255.255.255');
  send(); setInterval(send, 1000);
});
`;
}

/**
 * setpriv arguments that run a TypeScript script (through tsx) as nobody: uid/gid 65534, no
 * supplementary groups, so no capabilities either (the "engines unprivileged" side of the tests).
 */
export function tsxAsNobody(script: string, ...args: string[]): string[] {
  assertNobodyCanRead(script);
  return [
    '--reuid=65534',
    '--regid=65534',
    '--clear-groups',
    process.execPath,
    '--import',
    'tsx',
    script,
    ...args,
  ];
}

/** tcpdump on `iface` of a lab host, started and listening; returns what it has printed so far. */
export async function startCapture(
  lab: NetLab,
  host: string,
  iface: string,
  filter: string,
): Promise<() => string> {
  const dump = lab.spawn(host, 'tcpdump', ['-i', iface, '-n', '-l', filter]);
  let dumped = '';
  let dumpErr = '';
  dump.stdout?.on('data', (d: Buffer) => (dumped += d.toString()));
  dump.stderr?.on('data', (d: Buffer) => (dumpErr += d.toString()));
  await waitFor(() => dumpErr.includes('listening'), 10_000, 'tcpdump');
  return () => dumped;
}

const readable = new Set<string>();

/** Fails with the fix when nobody cannot read the checkout or a temp file (e.g. a clone under /root). */
export function assertNobodyCanRead(...paths: string[]): void {
  for (const path of [resolve(__dirname, '../../package.json'), ...paths]) {
    if (readable.has(path)) continue;
    try {
      execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'test', '-r', path]);
    } catch {
      throw new Error(
        `user nobody cannot read ${path}: the unprivileged-engine tests need a checkout (and temp dir) ` +
          'that others can read, e.g. not under a 0700 home such as /root (npm test, as root, runs from a bind mount then)',
      );
    }
    readable.add(path);
  }
}
