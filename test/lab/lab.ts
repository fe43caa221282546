/**
 * The QEMU PXE lab: real firmware (SeaBIOS + iPXE NIC ROM, OVMF's EDK2 PXE / HTTP boot client) boots
 * the fixture kernel from a server in a network namespace, and the busybox /init prints
 * `PXE-LAB-BOOT-OK fw=… cmdline=…` on the serial console. Everything runs inside namespaces made by
 * createNetLab (test/helpers/netns.ts); every process is tracked by PID and the namespaces are always
 * removed (destroy(), exit, SIGINT/SIGTERM). On failure the serial log, pcap and server output are
 * kept under artifacts/lab/<case>/.
 *
 * Topology:
 *   <prefix>-lan : br0 ── tap0 (QEMU runs here) ── v0 ══ eth0 <prefix>-srv 192.168.77.1 (server under test)
 *                                               └─ v1 ══ eth0 <prefix>-site 192.168.77.2 (site DHCP + RA)
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  createWriteStream,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNetLab, type NetLab } from '../helpers/netns.js';
import { builtCliIsFresh } from '../integration/cli-run.js';
import { BOOT_MARKER, ensureFixtures, parseMarker } from '../fixtures/fixtures.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SRV_IP = '192.168.77.1';
export const SITE_IP = '192.168.77.2';
export const GUEST_MAC = '52:54:00:77:00:01';
const GUEST_UUID = '7a1b0c77-0000-4000-8000-525400770001';
const POOL = { start: '192.168.77.100', end: '192.168.77.150' };
export const HTTP_PORT = 8080;
const IPXE_DIR = process.env.PXE_DESK_IPXE_DIR ?? '/usr/lib/ipxe';
const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

export type Firmware = 'bios' | 'uefi' | 'uefi-http';
export type Mode = 'proxy' | 'dhcp';
export type ServerKind = 'pxe-desk' | 'dnsmasq';

/** A "site" dnsmasq in the lab: no DNS, foreground, only the namespace's eth0, DHCP logged. */
export const SITE_DNSMASQ_ARGS: readonly string[] = [
  '--conf-file=/dev/null',
  '--keep-in-foreground',
  '--port=0',
  '--no-ping',
  '--pid-file=',
  '--user=root',
  '--interface=eth0',
  '--log-dhcp',
];

export const LAB_TOOLS = ['qemu-system-x86_64', 'dnsmasq', 'tcpdump', 'ip', 'cpio', 'apt-get', 'dpkg'];

export interface BootResult {
  readonly ok: boolean;
  readonly seconds: number;
  readonly fw?: string;
  /** Secure Boot state the guest's /init read ('1' on, '0' off). */
  readonly sb?: string;
  readonly cmdline?: string;
  /** BootOptions.until was met (the boot's own goal, when it has no PXE-LAB-BOOT-OK marker). */
  readonly reached?: boolean;
  readonly serial: string;
  /** `--json` lines of the PXE Desk CLI (empty for dnsmasq). */
  readonly events: readonly Record<string, unknown>[];
  readonly dir: string;
}

/** How the PXE Desk CLI is started (lab case 5: through the native helper, as an unprivileged user). */
export interface ServerOptions {
  /** `--helper always --helper-path <path>` instead of `--helper never` (direct sockets). */
  readonly helperPath?: string;
  /** Run the CLI as this uid/gid via setpriv: no supplementary groups, so no capabilities either. */
  readonly runAs?: { readonly uid: number; readonly gid: number };
}

export interface LabRun {
  readonly dir: string;
  readonly root: string;
  readonly net: NetLab;
  /** Start the server under test in the srv namespace. */
  startServer(
    kind: ServerKind,
    mode: Mode,
    extraArgs?: readonly string[],
    options?: ServerOptions,
  ): Promise<void>;
  /** PID of the running PXE Desk CLI (the setpriv'd process itself: setpriv execs node). */
  serverPid(): number | undefined;
  boot(fw: Firmware, timeoutMs?: number, options?: BootOptions): Promise<BootResult>;
  pcapPath(): string;
  /** Stop everything, keep artefacts when `failed`, remove the namespaces. */
  finish(failed: boolean): Promise<void>;
}

/** Firmware variants of a UEFI boot (issue 19: Secure Boot cases). */
export interface BootOptions {
  /**
   * OVMF with Microsoft's keys enrolled and Secure Boot on (OVMF_CODE_4M.ms.fd + a private copy of
   * OVMF_VARS_4M.ms.fd; q35 with SMM and the secure pflash, which the SMM build requires).
   */
  readonly secureBoot?: boolean;
  /** Also stop waiting when the serial log matches this (e.g. GRUB's `grub>` prompt: it will not boot). */
  readonly stopOn?: RegExp;
  /** More QEMU arguments (e.g. `-monitor unix:…` to read the VGA text buffer of a guest without serial). */
  readonly qemuArgs?: readonly string[];
  /**
   * The guest got where the case wants it (polled with the serial log so far, every 200 ms, e.g. memtest's
   * screen read from the VGA text buffer): stop waiting, and BootResult.reached says so.
   */
  readonly until?: (serial: string) => boolean | Promise<boolean>;
}

const OVMF_MS_CODE = '/usr/share/OVMF/OVMF_CODE_4M.ms.fd';
const OVMF_MS_VARS = '/usr/share/OVMF/OVMF_VARS_4M.ms.fd';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Work dir of a case: test/lab/work/<case>/ (git-ignored). */
/** QEMU under TCG, one small guest, its serial console to a file, its NIC on tap0 (the lab bridge). */
export function qemuGuestArgs(serialFile: string): string[] {
  return [
    '-accel',
    'tcg',
    '-m',
    '512',
    '-smp',
    '1',
    '-display',
    'none',
    '-no-reboot',
    '-serial',
    `file:${serialFile}`,
    '-netdev',
    'tap,id=n0,ifname=tap0,script=no,downscript=no',
  ];
}

/** SeaBIOS has no PXE client: the NIC's iPXE ROM is the client; sga mirrors its text to serial. */
export function biosPxeNicArgs(mac: string): string[] {
  return [
    '-machine',
    'pc',
    '-boot',
    'order=n',
    '-device',
    'sga',
    '-device',
    `e1000,netdev=n0,mac=${mac},romfile=/usr/lib/ipxe/qemu/efi-e1000.rom,bootindex=1`,
  ];
}

export async function createLabRun(caseName: string): Promise<LabRun> {
  const fx = ensureFixtures();
  const dir = join(REPO, 'test', 'lab', 'work', caseName);
  rmSync(dir, { recursive: true, force: true });
  const root = join(dir, 'root');
  mkdirSync(root, { recursive: true });
  copyFileSync(fx.vmlinuz, join(root, 'vmlinuz'));
  copyFileSync(fx.initrd, join(root, 'initrd.gz'));

  const net = createNetLab({
    hosts: [
      // default route: the CLI's direct transport broadcasts to 255.255.255.255 (it cannot leave the lab)
      { name: 'srv', address: `${SRV_IP}/24`, extraAddresses: ['fd77:77:77:77::1/64'], defaultRoute: true },
      { name: 'site', address: `${SITE_IP}/24`, extraAddresses: ['fd77:77:77:77::2/64'] },
    ],
  });
  const procs: { name: string; child: ChildProcess }[] = [];
  const events: Record<string, unknown>[] = [];
  const track = (name: string, child: ChildProcess, log: string): ChildProcess => {
    const out = createWriteStream(join(dir, log));
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    procs.push({ name, child });
    return child;
  };
  const assertAlive = async (): Promise<void> => {
    await sleep(600);
    for (const p of procs) {
      if (p.child.exitCode !== null) {
        throw new Error(`${p.name} exited at start (${p.child.exitCode}); see ${dir}`);
      }
    }
  };

  try {
    net.addTap('tap0');
    // Capture DHCP/proxy/TFTP and HTTP request lines (not bodies) on the bridge.
    const pcap = join(dir, 'lab.pcap');
    const tcpdump = track(
      'tcpdump',
      net.spawn('lan', 'tcpdump', [
        '-Z',
        'root',
        '-i',
        'br0',
        '-U',
        '-s',
        '0',
        '-w',
        pcap,
        'udp port 67 or udp port 68 or udp port 4011 or udp port 69 or ' +
          '(tcp port 8080 and tcp[((tcp[12]&0xf0)>>2):4] = 0x47455420)',
      ]),
      'tcpdump.log',
    );
    const deadline = Date.now() + 5000;
    const tcpdumpLog = join(dir, 'tcpdump.log');
    while (Date.now() < deadline) {
      if (existsSync(tcpdumpLog) && readFileSync(tcpdumpLog, 'utf8').includes('listening on')) break;
      if (tcpdump.exitCode !== null) break;
      await sleep(50);
    }
    // Site DHCP: addresses only; plus IPv6 RAs (router lifetime 0). Without an RA, iPXE waits ~13 s
    // for its router solicitations to time out before it boots.
    const common = SITE_DNSMASQ_ARGS;
    track(
      'site-ra',
      net.spawn('site', '/usr/sbin/dnsmasq', [
        ...common,
        `--log-facility=${join(dir, 'site-ra.log')}`,
        '--enable-ra',
        '--dhcp-range=fd77:77:77:77::,ra-only,64',
        '--ra-param=eth0,5,0',
      ]),
      'site-ra.out',
    );
  } catch (error) {
    await net.destroy();
    throw error;
  }

  let siteDhcp = false;
  let cliPid: number | undefined;
  const run: LabRun = {
    dir,
    root,
    net,
    pcapPath: () => join(dir, 'lab.pcap'),
    serverPid: () => cliPid,
    async startServer(kind, mode, extraArgs = [], options = {}) {
      const common = SITE_DNSMASQ_ARGS;
      if (mode === 'proxy' && !siteDhcp) {
        siteDhcp = true;
        track(
          'site-dhcp',
          net.spawn('site', '/usr/sbin/dnsmasq', [
            ...common,
            `--log-facility=${join(dir, 'site-dhcp.log')}`,
            `--dhcp-leasefile=${join(dir, 'site.leases')}`,
            `--dhcp-range=${POOL.start},${POOL.end},255.255.255.0,1h`,
            '--dhcp-authoritative',
          ]),
          'site-dhcp.out',
        );
      }
      if (kind === 'dnsmasq') {
        startDnsmasqReference(mode, common);
      } else {
        // The built CLI (bin/pxe-desk.js) when dist/ is at least as new as the sources, else the same
        // main() from source through tsx (a stale dist/ would test old code). LAB_CLI=dist keeps the built
        // CLI anyway: in a working tree shared with unfinished edits, the last good build is the one to test.
        const fresh = process.env.LAB_CLI === 'dist' || builtCliIsFresh();
        const cli = fresh
          ? [join(REPO, 'bin', 'pxe-desk.js')]
          : ['--import', 'tsx', join(REPO, 'test', 'lab', 'run-cli.ts')];
        const args = [
          ...cli,
          'serve',
          '--mode',
          mode,
          '--iface',
          'eth0',
          '--root',
          root,
          '--json',
          ...(options.helperPath
            ? ['--helper', 'always', '--helper-path', options.helperPath]
            : ['--helper', 'never']),
        ];
        if (mode === 'dhcp') args.push('--range', `${POOL.start}-${POOL.end}`);
        const argv = [process.execPath, ...args, ...extraArgs];
        const { runAs } = options;
        if (runAs) argv.unshift('setpriv', `--reuid=${runAs.uid}`, `--regid=${runAs.gid}`, '--clear-groups');
        const child = track(
          'pxe-desk',
          net.spawn('srv', argv[0]!, argv.slice(1), { cwd: REPO }),
          'pxe-desk.out',
        );
        cliPid = child.pid;
        let buf = '';
        child.stdout?.on('data', (d: Buffer) => {
          buf += d.toString('utf8');
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i).trim();
            buf = buf.slice(i + 1);
            if (!line.startsWith('{')) continue;
            try {
              const parsed: unknown = JSON.parse(line);
              if (parsed && typeof parsed === 'object') events.push(parsed as Record<string, unknown>);
            } catch {
              /* not JSON: kept in pxe-desk.out */
            }
          }
        });
      }
      await assertAlive();
      if (kind === 'pxe-desk') {
        // The session probes the LAN (~3.5 s) before it serves: boot only once it is running, so the
        // firmware's first DISCOVER is answered.
        const deadline = Date.now() + 30_000;
        const up = (): boolean =>
          events.some((e) => {
            const state = (e.snapshot as { state?: unknown } | undefined)?.state;
            return e.type === 'state' && (state === 'running' || state === 'error');
          });
        while (!up() && Date.now() < deadline) await sleep(50);
      }
    },
    async boot(fw, timeoutMs = 120_000, bootOptions = {}) {
      const serial = join(dir, 'serial.log');
      writeFileSync(serial, '');
      const qemu = [...qemuGuestArgs(serial), '-uuid', GUEST_UUID];
      if (fw === 'bios') {
        qemu.push(...biosPxeNicArgs(GUEST_MAC));
      } else {
        // No option ROM: OVMF's own VirtioNetDxe + PxeBcDxe/HttpBootDxe is the client (arch 7 / 16).
        const sb = bootOptions.secureBoot === true;
        const vars = join(dir, 'OVMF_VARS.fd');
        copyFileSync(sb ? OVMF_MS_VARS : OVMF_VARS, vars);
        if (sb) qemu.push('-global', 'driver=cfi.pflash01,property=secure,value=on');
        qemu.push(
          '-machine',
          sb ? 'q35,smm=on' : 'q35',
          '-drive',
          `if=pflash,format=raw,unit=0,readonly=on,file=${sb ? OVMF_MS_CODE : OVMF_CODE}`,
          '-drive',
          `if=pflash,format=raw,unit=1,file=${vars}`,
          '-device',
          `virtio-net-pci,netdev=n0,mac=${GUEST_MAC},romfile=,bootindex=1`,
        );
        if (fw === 'uefi-http') {
          // EDK2 tries PXE first and waits ~60 s per protocol: switch PXE off so HTTP boot runs.
          qemu.push(
            '-fw_cfg',
            'name=opt/org.tianocore/IPv4PXESupport,string=no',
            '-fw_cfg',
            'name=opt/org.tianocore/IPv6PXESupport,string=no',
          );
        }
      }
      if (bootOptions.qemuArgs) qemu.push(...bootOptions.qemuArgs);
      writeFileSync(join(dir, 'qemu.cmd'), qemu.join(' ') + '\n');
      const start = Date.now();
      const child = track('qemu', net.spawn('lan', 'qemu-system-x86_64', qemu), 'qemu.log');
      let text = '';
      let ok = false;
      let reached = false;
      while (Date.now() - start < timeoutMs) {
        text = readFileSync(serial, 'latin1');
        if (text.includes(BOOT_MARKER) && /PXE-LAB-BOOT-OK[^\n]*\n/.test(text)) {
          ok = true;
          break;
        }
        if (child.exitCode !== null) break;
        // SeaBIOS after every boot device failed / OVMF back in its boot manager: no point waiting on
        if (text.includes('No bootable device') || text.includes('BdsDxe: No bootable option')) break;
        if (bootOptions.stopOn?.test(text)) break;
        if (bootOptions.until && (await bootOptions.until(text))) {
          reached = true;
          break;
        }
        await sleep(200);
      }
      const seconds = (Date.now() - start) / 1000;
      text = readFileSync(serial, 'latin1');
      const marker = parseMarker(text);
      return {
        ok: ok && marker !== undefined,
        seconds,
        fw: marker?.fw,
        ...(marker?.sb !== undefined ? { sb: marker.sb } : {}),
        cmdline: marker?.cmdline,
        ...(bootOptions.until ? { reached } : {}),
        serial: text,
        events,
        dir,
      };
    },
    async finish(failed) {
      for (const p of [...procs].reverse()) {
        if (p.child.pid !== undefined && p.child.exitCode === null) {
          try {
            process.kill(p.child.pid, 'SIGTERM');
          } catch {
            /* gone */
          }
        }
      }
      await sleep(300);
      await net.destroy();
      writeFileSync(join(dir, 'timeline.jsonl'), events.map((e) => JSON.stringify(e)).join('\n') + '\n');
      if (failed) {
        const keep = join(REPO, 'artifacts', 'lab', dir.split('/').pop() ?? 'case');
        rmSync(keep, { recursive: true, force: true });
        mkdirSync(keep, { recursive: true });
        cpSync(dir, keep, { recursive: true, filter: (src) => !/\/root(\/|$)|OVMF_VARS/.test(src) });
      }
    },
  };

  /** dnsmasq as the reference server (benchmark beside PXE Desk; proves the lab itself). */
  function startDnsmasqReference(mode: Mode, common: readonly string[]): void {
    for (const f of ['undionly.kpxe', 'ipxe.efi', 'snponly.efi'])
      copyFileSync(join(IPXE_DIR, f), join(root, f));
    const base = `http://${SRV_IP}:${HTTP_PORT}`;
    // ${platform} is expanded by iPXE: pcbios / efi. initrd=initrd.gz: this 2019 iPXE has no LoadFile2,
    // the EFI stub finds the initrd only through the initrd= argument.
    writeFileSync(
      join(root, 'ref.ipxe'),
      [
        '#!ipxe',
        `kernel ${base}/vmlinuz initrd=initrd.gz console=ttyS0,115200 loglevel=4 panic=-1 pxelab=\${platform}-ref`,
        `initrd ${base}/initrd.gz`,
        'boot',
        '',
      ].join('\n'),
    );
    // busybox httpd, not python's http.server: the latter does a reverse DNS lookup (getfqdn) at bind,
    // which with the srv namespace's default route waits for DNS timeouts before it listens.
    track(
      'http',
      net.spawn('srv', 'busybox', ['httpd', '-f', '-vv', '-p', `${SRV_IP}:${HTTP_PORT}`, '-h', root]),
      'http.log',
    );
    const srvCommon = [
      ...common,
      `--log-facility=${join(dir, 'dnsmasq-srv.log')}`,
      `--dhcp-leasefile=${join(dir, 'srv.leases')}`,
      '--enable-tftp',
      `--tftp-root=${root}`,
      '--dhcp-userclass=set:ipxe,iPXE',
      '--dhcp-match=set:ipxe,175',
    ];
    const args =
      mode === 'dhcp'
        ? [
            ...srvCommon,
            `--dhcp-range=${POOL.start},${POOL.end},255.255.255.0,1h`,
            '--dhcp-authoritative',
            '--dhcp-match=set:efi64,option:client-arch,7',
            '--dhcp-match=set:efi64,option:client-arch,9',
            '--dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe',
            '--dhcp-boot=tag:!ipxe,tag:efi64,snponly.efi',
            `--dhcp-boot=tag:ipxe,${base}/ref.ipxe`,
          ]
        : [
            ...srvCommon,
            '--dhcp-range=192.168.77.0,proxy,255.255.255.0',
            '--pxe-prompt=pxelab,0',
            '--pxe-service=tag:!ipxe,x86PC,undionly,undionly.kpxe',
            '--pxe-service=tag:!ipxe,BC_EFI,snponly,snponly.efi',
            '--pxe-service=tag:!ipxe,x86-64_EFI,snponly,snponly.efi',
            '--pxe-service=tag:ipxe,x86PC,script,ref.ipxe',
            '--pxe-service=tag:ipxe,BC_EFI,script,ref.ipxe',
            '--pxe-service=tag:ipxe,x86-64_EFI,script,ref.ipxe',
          ];
    track('dnsmasq-srv', net.spawn('srv', '/usr/sbin/dnsmasq', args), 'dnsmasq-srv.out');
  }

  return run;
}

/** Client events of the `--json` timeline for one MAC. */
export function clientEvents(
  events: readonly Record<string, unknown>[],
  mac: string,
): Record<string, unknown>[] {
  return events.filter((e) => e.type === 'client' && JSON.stringify(e).toLowerCase().includes(mac));
}

/** One benchmark line per boot, collected by bench/lab-bench.sh. */
export function benchLine(caseName: string, server: ServerKind, seconds: number): void {
  const line = `lab-bench case=${caseName} server=${server} time_to_marker=${seconds.toFixed(1)}s`;
  console.log(line);
  mkdirSync(join(REPO, 'artifacts', 'lab'), { recursive: true });
  writeFileSync(join(REPO, 'artifacts', 'lab', 'bench.txt'), line + '\n', { flag: 'a' });
}

/** File names requested on the wire (TFTP RRQ + HTTP GET paths) in a lab pcap, in order. */
export function requestedFiles(pcap: string): string[] {
  try {
    const out = execFileSync('tcpdump', ['-r', pcap, '-nn', '-A'], {
      encoding: 'latin1',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const files: string[] = [];
    for (const m of out.matchAll(/RRQ "([^"]+)"|GET (\/\S+) HTTP/g))
      files.push((m[1] ?? m[2] ?? '').replace(/^\/+/, '').replace(/\?.*$/, ''));
    return files;
  } catch {
    return [];
  }
}

/** Verbose decode of the DHCP replies a server sent (for option checks such as 60 HTTPClient). */
export function offersFromServer(pcap: string, server: string): string {
  try {
    return execFileSync('tcpdump', ['-r', pcap, '-nn', '-vv', `src host ${server} and udp src port 67`], {
      encoding: 'latin1',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return '';
  }
}
