/**
 * Network namespaces for tests: the ONLY place a test may start anything that sends DHCP.
 *
 * Why: a broadcast to 255.255.255.255 sent from the root namespace leaves through the machine's real
 * NIC even when the socket is bound to loopback. Every DHCP/proxyDHCP test therefore runs its server
 * and its client in namespaces created here, joined by a bridge that lives in a namespace of its own,
 * so nothing ever appears in the root namespace. Namespaces are always removed: on destroy(), on
 * process exit and on SIGINT/SIGTERM; leftover processes in them are killed by the PID we recorded.
 *
 * Topology of `createNetLab({ hosts: [...] })`:
 *   netns <prefix>-lan : bridge br0 ── v<i> ══ eth0 in netns <prefix>-<host>   (one veth per host)
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface NetLabHost {
  /** Short name, [a-z0-9]{1,8}; the namespace is `<prefix>-<name>`. */
  readonly name: string;
  /** CIDR address for eth0, e.g. "10.77.0.1/24". Omit for a client that gets its address by DHCP. */
  readonly address?: string;
  /** Extra addresses (CIDR) on eth0. */
  readonly extraAddresses?: readonly string[];
  /** MTU for the host's link (default 1500). */
  readonly mtu?: number;
  /**
   * Add `default dev eth0`, so that a direct-transport broadcast to 255.255.255.255 has a route
   * (docs/decisions.md, "DHCP sockets on Linux": engine tests on high ports need it); it still cannot leave the lab.
   */
  readonly defaultRoute?: boolean;
}

export interface NetLabOptions {
  readonly hosts: readonly NetLabHost[];
  /** Prefix for namespace names; default "pxd<pid36><n>" (unique per process and lab). */
  readonly prefix?: string;
}

export interface NetLab {
  readonly prefix: string;
  /** Namespace name of a host ("lan" is the bridge's). */
  ns(host: string): string;
  /** Run a command inside a host's namespace and return stdout (throws on non-zero exit). */
  run(
    host: string,
    command: string,
    args?: readonly string[],
    options?: { input?: string; timeoutMs?: number },
  ): string;
  /** Start a long-running process inside a host's namespace; tracked by PID and killed on destroy(). */
  spawn(host: string, command: string, args?: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Add a tap device to the bridge (for QEMU, which must then run inside the "lan" namespace). */
  addTap(name: string): void;
  /** Kill tracked processes and delete every namespace. Idempotent. */
  destroy(): Promise<void>;
}

let labCounter = 0;
const liveLabs = new Set<NetLab>();
let exitHooksInstalled = false;

function ip(args: readonly string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  const cleanupSync = (): void => {
    for (const lab of liveLabs) void lab.destroy();
  };
  process.once('exit', cleanupSync);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      cleanupSync();
      process.exit(130);
    });
  }
}

/** True when this process may create namespaces (root with iproute2). */
/**
 * Gives `host` of lab `a` a second NIC, eth1 with `address` (CIDR), cabled to lab `b`'s bridge: a
 * multihomed server. The veth lives in `b`'s namespaces, so it is removed with `b`.
 */
export function joinSecondLan(a: NetLab, host: string, b: NetLab, address: string): void {
  execFileSync('ip', [
    '-n',
    b.ns('lan'),
    'link',
    'add',
    'v9',
    'type',
    'veth',
    'peer',
    'name',
    'eth1',
    'netns',
    a.ns(host),
  ]);
  execFileSync('ip', ['-n', b.ns('lan'), 'link', 'set', 'v9', 'master', 'br0', 'up']);
  a.run(host, 'ip', ['addr', 'add', address, 'dev', 'eth1']);
  a.run(host, 'ip', ['link', 'set', 'eth1', 'up']);
}

export function canUseNetns(): boolean {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return false;
  try {
    ip(['netns', 'list']);
    return true;
  } catch {
    return false;
  }
}

export function createNetLab(options: NetLabOptions): NetLab {
  if (!canUseNetns()) {
    throw new Error('network-namespace tests need root and iproute2 (run the suite as root, as CI does)');
  }
  installExitHooks();
  const prefix = options.prefix ?? `pxd${process.pid.toString(36)}${(labCounter++).toString(36)}`;
  const lan = `${prefix}-lan`;
  const names = new Map<string, string>([['lan', lan]]);
  const children = new Set<ChildProcess>();
  const created: string[] = [];
  let destroyed = false;

  const lab: NetLab = {
    prefix,
    ns(host) {
      const name = names.get(host);
      if (!name) throw new Error(`no host "${host}" in lab ${prefix}`);
      return name;
    },
    run(host, command, args = [], runOptions = {}) {
      return execFileSync('ip', ['netns', 'exec', lab.ns(host), command, ...args], {
        encoding: 'utf8',
        input: runOptions.input,
        timeout: runOptions.timeoutMs ?? 30_000,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    },
    spawn(host, command, args = [], spawnOptions = {}) {
      // `ip netns exec` execs the command, so child.pid is the command's own PID.
      const child = spawn('ip', ['netns', 'exec', lab.ns(host), command, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        ...spawnOptions,
      });
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    addTap(name) {
      ip(['-n', lan, 'tuntap', 'add', 'dev', name, 'mode', 'tap']);
      ip(['-n', lan, 'link', 'set', name, 'master', 'br0']);
      ip(['-n', lan, 'link', 'set', name, 'up']);
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      liveLabs.delete(lab);
      for (const child of children) {
        if (child.pid !== undefined && child.exitCode === null) {
          try {
            process.kill(child.pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
      }
      // Any process still holding a namespace (started by a test without spawn()) is killed by PID.
      for (const name of created) {
        try {
          const pids = ip(['netns', 'pids', name]).split(/\s+/).filter(Boolean);
          for (const pid of pids) {
            try {
              process.kill(Number(pid), 'SIGKILL');
            } catch {
              /* gone */
            }
          }
        } catch {
          /* namespace already gone */
        }
      }
      for (const name of created.reverse()) {
        try {
          ip(['netns', 'del', name]);
        } catch {
          /* already removed */
        }
      }
    },
  };
  liveLabs.add(lab);

  try {
    ip(['netns', 'add', lan]);
    created.push(lan);
    ip(['-n', lan, 'link', 'set', 'lo', 'up']);
    ip(['-n', lan, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    ip(['-n', lan, 'link', 'set', 'br0', 'up']);
    options.hosts.forEach((host, index) => {
      if (!/^[a-z0-9]{1,8}$/.test(host.name) || host.name === 'lan') {
        throw new Error(`bad host name "${host.name}": use 1-8 of [a-z0-9], not "lan"`);
      }
      const ns = `${prefix}-${host.name}`;
      ip(['netns', 'add', ns]);
      created.push(ns);
      names.set(host.name, ns);
      const port = `v${index}`;
      // The peer goes straight into the host namespace, so nothing is ever created in the root one.
      ip(['-n', lan, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      ip(['-n', lan, 'link', 'set', port, 'master', 'br0']);
      ip(['-n', lan, 'link', 'set', port, 'up']);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      if (host.mtu) {
        ip(['-n', lan, 'link', 'set', port, 'mtu', String(host.mtu)]);
        ip(['-n', ns, 'link', 'set', 'eth0', 'mtu', String(host.mtu)]);
      }
      for (const cidr of [host.address, ...(host.extraAddresses ?? [])]) {
        if (cidr) ip(['-n', ns, 'addr', 'add', cidr, 'dev', 'eth0']);
      }
      ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
      if (host.defaultRoute) ip(['-n', ns, 'route', 'add', 'default', 'dev', 'eth0']);
    });
  } catch (error) {
    void lab.destroy();
    throw error;
  }
  return lab;
}

/** Wait until `predicate` is true or fail after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean,
  timeoutMs = 10_000,
  what: string | (() => string) = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) {
      // A function is asked only now, so it can describe the state at the timeout.
      const said = typeof what === 'function' ? what() : what;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${said}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
