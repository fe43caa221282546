/**
 * DatagramTransport through the native helper (native-helper/, docs/helper.md): the helper alone binds
 * the privileged ports on one NIC (SO_BINDTODEVICE) and relays datagrams as frames over its stdio, so
 * the engines stay unprivileged. Fail closed: any malformed frame from the helper ends it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_CHANNEL_PORTS,
  TransportError,
  type Channel,
  type DatagramListener,
  type DatagramTransport,
  type Endpoint,
} from '../shared/datagram-transport.js';
import { silentLogger, type Logger } from '../shared/runtime.js';
import { FrameReader, HelperErrorCode, encodeFrame, type HelperFrame } from './frames.js';
import { udpPortOwner } from './port-owner.js';

/**
 * How the helper is started. 'direct': it has file capabilities (deb/rpm install hook) or we are root.
 * 'sudo': asks for the password in a terminal, `sudo -n` otherwise. 'pkexec': polkit asks the user.
 * 'auto' (default): direct, and when that is refused for lack of privilege (no capabilities, not
 * root), once more through pkexec in a graphical session or sudo otherwise (docs/helper.md).
 */
export type HelperLaunch = 'auto' | 'direct' | 'sudo' | 'pkexec';

export interface HelperTransportOptions {
  /** The one NIC the helper binds on (e.g. "eth0"). */
  readonly iface: string;
  /** Port per role; defaults to 67/4011/69/68. Test runs may use unprivileged ports >= 1024. */
  readonly ports?: Partial<Record<Channel, number>>;
  /** Helper binary (default: native-helper/bin/linux-<arch>/pxe-desk-helper via defaultHelperPath()). */
  readonly helperPath?: string;
  /** Default 'auto': direct, elevating through pkexec/sudo when the helper lacks privilege. */
  readonly launch?: HelperLaunch;
  readonly logger?: Logger;
  /** ms to wait for the helper's bound/error answer (pkexec waits for a human: default 120 s). */
  readonly startTimeoutMs?: number;
}

/** What send() returns once the frame is in the pipe (shared: nothing waits on it but the engines' catch). */
const SENT: Promise<void> = Promise.resolve();

/** Likely owners of each port, named in "port in use" errors. */
const LIKELY_OWNERS: Record<Channel, string> = {
  dhcp: 'dnsmasq, systemd-networkd, libvirt (virbr0 dnsmasq), isc-dhcp-server or another PXE Desk',
  pxe: 'dnsmasq in proxy mode, a WDS/FOG server or another PXE Desk',
  tftp: 'tftpd-hpa, atftpd, dnsmasq --enable-tftp or another PXE Desk',
  'dhcp-client': 'a DHCP client (dhclient, NetworkManager) on this machine',
};

export class HelperTransport implements DatagramTransport {
  readonly kind = 'helper' as const;
  private child: ChildProcess | undefined;
  private readonly listeners = new Set<DatagramListener>();
  private readonly errorListeners = new Set<(error: TransportError) => void>();
  private readonly ports: Record<Channel, number>;
  private readonly logger: Logger;
  private bound = new Set<Channel>();
  private closing = false;
  private stderrTail = '';

  constructor(private readonly options: HelperTransportOptions) {
    this.ports = { ...DEFAULT_CHANNEL_PORTS, ...options.ports };
    this.logger = (options.logger ?? silentLogger).child('helper');
  }

  /** Interface index the helper reported after binding. */
  ifindex: number | undefined;

  /** Called when the helper dies or reports an error after start (the session reports it and may restart). */
  onError(listener: (error: TransportError) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  onDatagram(listener: DatagramListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async open(channels: readonly Channel[]): Promise<void> {
    const wanted = [...new Set(channels)];
    if (this.child) {
      if (wanted.every((c) => this.bound.has(c))) return;
      throw new TransportError(
        'io',
        'the helper binds once per start; close() and open() with every channel',
      );
    }
    if (wanted.length === 0) return;
    const launch = this.options.launch ?? 'auto';
    if (launch !== 'auto') return this.start(wanted, launch);
    try {
      await this.start(wanted, 'direct');
    } catch (error) {
      const via =
        error instanceof TransportError && error.code === 'permission-denied' ? elevation() : undefined;
      if (!via) throw error;
      this.logger.info('the helper has no capabilities: asking for elevation', { via });
      await this.start(wanted, via);
    }
  }

  private async start(wanted: readonly Channel[], launch: Exclude<HelperLaunch, 'auto'>): Promise<void> {
    const { command, args } = this.commandLine(launch);
    this.stderrTail = '';
    this.closing = false;
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: launchEnv() });
    this.child = child;
    const reader = new FrameReader();
    await new Promise<void>((resolve, reject) => {
      let started = false;
      const timer = setTimeout(
        () => fail(new TransportError('elevation-refused', 'the helper did not start in time')),
        this.options.startTimeoutMs ?? 120_000,
      );
      const fail = (error: TransportError): void => {
        clearTimeout(timer);
        if (!started) {
          started = true;
          this.kill();
          reject(error);
        } else this.emitError(error);
      };
      child.on('error', (e: NodeJS.ErrnoException) =>
        fail(
          new TransportError(
            e.code === 'ENOENT' ? 'helper-died' : 'io',
            `cannot run ${command}: ${e.message}`,
          ),
        ),
      );
      child.stdin?.on('error', () => undefined);
      child.stderr?.on('data', (d: Buffer) => {
        this.stderrTail = (this.stderrTail + d.toString('utf8')).slice(-2000);
        this.logger.debug('helper stderr', { text: d.toString('utf8').trim() });
      });
      let fatalError: TransportError | undefined;
      child.on('exit', (code, signal) => {
        if (this.child !== child) return; // an earlier attempt (auto launch retries once)
        this.child = undefined;
        this.bound.clear();
        if (this.closing && started) return;
        fail(fatalError ?? this.exitError(launch, code, signal));
      });
      child.stdout?.on('data', (chunk: Buffer) => {
        let frames: HelperFrame[];
        try {
          frames = reader.push(chunk);
        } catch (e) {
          fatalError = new TransportError(
            'helper-died',
            `malformed frame from helper: ${(e as Error).message}`,
          );
          this.kill();
          return;
        }
        // Replies the engines send while this chunk's datagrams are delivered go to the helper in one
        // writev, not one pipe write each: under a DISCOVER burst a chunk carries many datagrams.
        const stdin = child.stdin;
        stdin?.cork();
        try {
          for (const f of frames) {
            if (f.type === 'hello') {
              child.stdin?.write(
                encodeFrame({
                  type: 'bind',
                  iface: this.options.iface,
                  ports: wanted.map((c) => ({ channel: c, port: this.ports[c] })),
                }),
              );
            } else if (f.type === 'bound') {
              this.ifindex = f.ifindex;
              for (const p of f.ports) this.bound.add(p.channel);
              clearTimeout(timer);
              started = true;
              resolve();
            } else if (f.type === 'dgram-in') {
              this.deliver(f);
            } else if (f.type === 'error') {
              const error = this.mapError(f.code, f.message, wanted);
              if (f.fatal) fatalError = error;
              else {
                this.logger.warn('helper refused', { message: f.message });
                this.emitError(error);
              }
            }
          }
        } finally {
          stdin?.uncork();
        }
      });
    });
  }

  private deliver(f: Extract<HelperFrame, { type: 'dgram-in' }>): void {
    const datagram = {
      channel: f.channel,
      data: f.payload,
      source: f.source,
      destination: { address: f.destination, port: this.ports[f.channel] },
      interfaceIndex: f.ifindex,
    };
    for (const listener of this.listeners) {
      try {
        listener(datagram);
      } catch {
        // A listener's bug must not stop delivery to the others.
      }
    }
  }

  send(channel: Channel, to: Endpoint, data: Uint8Array): Promise<void> {
    const stdin = this.child?.stdin;
    if (!stdin || !this.bound.has(channel))
      return Promise.reject(new TransportError('not-open', `channel ${channel} is not open`));
    let frame: Buffer;
    try {
      frame = encodeFrame({ type: 'dgram-out', channel, to, payload: data });
    } catch (e) {
      return Promise.reject(new TransportError('send-refused', (e as Error).message));
    }
    if (stdin.destroyed || stdin.writableEnded)
      return Promise.reject(new TransportError('helper-died', 'the helper is gone'));
    // Handed to the pipe without a completion callback and without a promise of its own: a reply is sent
    // once the helper reads it, and a pipe that breaks later means the helper died, which its exit
    // reports to onError (the session ends). A callback and a promise per reply were a promise job and
    // a tick callback per DISCOVER (issue 17).
    stdin.write(frame);
    return SENT;
  }

  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.closing = true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.kill();
        resolve();
      }, 2000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.stdin?.end(encodeFrame({ type: 'bye' }));
    });
    this.child = undefined;
    this.bound.clear();
  }

  private kill(): void {
    // Only our own child, by its PID (it is ours even under sudo/pkexec: they forward the signal).
    this.child?.kill('SIGTERM');
  }

  private emitError(error: TransportError): void {
    this.logger.error(error.message, { code: error.code });
    for (const l of this.errorListeners) l(error);
  }

  private commandLine(launch: Exclude<HelperLaunch, 'auto'>): { command: string; args: string[] } {
    const path = this.options.helperPath ?? defaultHelperPath();
    switch (launch) {
      case 'sudo':
        // In a terminal sudo may ask for the password (it reads /dev/tty, not our stdin pipe);
        // elsewhere -n: fail at once instead of waiting for a prompt nobody sees.
        return { command: 'sudo', args: process.stdin.isTTY ? [path] : ['-n', path] };
      case 'pkexec':
        return { command: 'pkexec', args: [path] };
      default:
        return { command: path, args: [] };
    }
  }

  private exitError(
    launch: Exclude<HelperLaunch, 'auto'>,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): TransportError {
    // pkexec: 126 = authentication dismissed, 127 = not authorized; sudo -n: 1 with "password is required".
    if (
      (launch === 'pkexec' && (code === 126 || code === 127)) ||
      (launch === 'sudo' && /password|not allowed|sudoers/i.test(this.stderrTail))
    ) {
      return new TransportError(
        'elevation-refused',
        `${launch} refused to start the helper: ${this.stderrTail.trim()}. Give the helper file ` +
          `capabilities (sudo setcap cap_net_bind_service,cap_net_raw+ep ${this.options.helperPath ?? defaultHelperPath()}) ` +
          `or run PXE Desk with sudo (docs/helper.md)`,
      );
    }
    return new TransportError(
      'helper-died',
      `the helper exited (${signal ?? `code ${String(code)}`}): ${this.stderrTail.trim()}`,
    );
  }

  private mapError(code: number, message: string, wanted: readonly Channel[]): TransportError {
    switch (code) {
      case HelperErrorCode.portInUse: {
        const port = /port (\d+)/.exec(message)?.[1];
        const channel = wanted.find((c) => String(this.ports[c]) === port);
        // Name the holder when we may see it (our own processes, or all as root), else the usual suspects.
        const owner = port ? udpPortOwner(Number(port)) : undefined;
        const who = owner
          ? `in use by ${owner.name === 'pxe-desk-helper' ? 'another PXE Desk' : owner.name} (pid ${owner.pid})`
          : `likely ${channel ? LIKELY_OWNERS[channel] : 'another server'}`;
        return new TransportError('port-in-use', `${message} (${who}); stop it or choose another port`);
      }
      case HelperErrorCode.permission:
        return new TransportError(
          'permission-denied',
          `${message}: the helper lacks cap_net_bind_service,cap_net_raw (see docs/helper.md)`,
        );
      case HelperErrorCode.ifaceMissing:
        return new TransportError('interface-missing', message);
      case HelperErrorCode.ifaceDown:
        return new TransportError(
          'interface-down',
          `${message}: bring it up (ip link set ${this.options.iface} up)`,
        );
      case HelperErrorCode.sendRefused:
        return new TransportError('send-refused', message);
      case HelperErrorCode.malformed:
        return new TransportError('helper-died', `protocol error: ${message}`);
      default:
        return new TransportError('io', message);
    }
  }
}

/**
 * Where the helper binary is looked for, in order: a packaged app's resources folder
 * (`resources/helper/linux-<arch>/`, electron-builder.yml; where the deb's after-install hook sets the
 * capabilities), then the output of `node scripts/build.mjs helper` in a checkout, seen from the
 * sources (app/transport/) or from the build (dist/app/transport/).
 */
export function helperCandidates(): string[] {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const rel = ['helper', `linux-${arch}`, 'pxe-desk-helper'] as const;
  const here = dirname(fileURLToPath(import.meta.url));
  // Electron's main process only; plain Node has no resourcesPath.
  const resources: unknown = (process as { resourcesPath?: unknown }).resourcesPath;
  return [
    ...(typeof resources === 'string' ? [join(resources, ...rel)] : []),
    resolve(here, '..', '..', 'native-helper', 'bin', ...rel.slice(1)),
    resolve(here, '..', '..', '..', 'native-helper', 'bin', ...rel.slice(1)),
  ];
}

/** The first helper binary that exists, else the checkout's build path (named in "not found" errors). */
export function defaultHelperPath(): string {
  const candidates = helperCandidates();
  return (
    candidates.find((p) => existsSync(p)) ??
    candidates.find((p) => existsSync(resolve(p, '..', '..', '..'))) ??
    candidates[0]!
  );
}

/**
 * How to elevate a helper without capabilities: none as root (root needs none), pkexec in a graphical
 * session (polkit shows the password dialog), else sudo (the password in a terminal, else a sudoers
 * NOPASSWD rule for the helper path).
 */
function elevation(): 'pkexec' | 'sudo' | undefined {
  if (process.getuid?.() === 0) return undefined;
  const onPath = (tool: string): boolean =>
    (process.env.PATH ?? '').split(':').some((d) => d !== '' && existsSync(join(d, tool)));
  if ((process.env.DISPLAY || process.env.WAYLAND_DISPLAY) && onPath('pkexec')) return 'pkexec';
  return onPath('sudo') ? 'sudo' : undefined;
}

/** The helper reads only PKEXEC_UID/SUDO_UID/SUDO_GID; give it a minimal environment. */
function launchEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };
}
