/**
 * `pxe-desk serve` argument parsing. A small table-driven parser (node:util parseArgs cannot express
 * PyPXE's many aliases mapped onto one key, nor an optional value for --syslog).
 * PyPXE long and short options are accepted as aliases so existing scripts keep working.
 */
import {
  isSecureBootMode,
  SECURE_BOOT_HELP,
  SECURE_BOOT_MODES,
  type SecureBootMode,
} from '../shared/secure-boot.js';
import type { HelperPolicy } from '../shared/session-types.js';

export type OptKind = 'string' | 'boolean' | 'multi' | 'optional';

export interface OptSpec {
  readonly key: string;
  readonly kind: OptKind;
  readonly names: readonly string[];
  readonly help: string;
}

export const SERVE_OPTIONS: readonly OptSpec[] = [
  { key: 'mode', kind: 'string', names: ['--mode'], help: 'proxy | dhcp | files (default files)' },
  { key: 'dhcp', kind: 'boolean', names: ['--dhcp'], help: 'PyPXE: full DHCP mode' },
  { key: 'dhcpProxy', kind: 'boolean', names: ['--dhcp-proxy'], help: 'PyPXE: proxyDHCP mode' },
  { key: 'proxyOnly', kind: 'boolean', names: ['-p'], help: 'proxyDHCPd: proxy mode (boot server on 4011)' },
  { key: 'iface', kind: 'string', names: ['--iface'], help: 'network interface the clients are cabled to' },
  {
    key: 'address',
    kind: 'string',
    names: ['--address', '-s', '--dhcp-server-ip'],
    help: 'our IPv4 address',
  },
  {
    key: 'fileServer',
    kind: 'string',
    names: ['-f', '--dhcp-fileserver-ip', '--dhcp-fileserver'],
    help: 'TFTP/HTTP server address handed out',
  },
  {
    key: 'chainloadUrl',
    kind: 'string',
    names: ['--chainload-url'],
    help: 'what iPXE chains to instead of the generated boot.ipxe (URL or file)',
  },
  {
    key: 'vendorOptions',
    kind: 'string',
    names: ['--vendor-options'],
    help: 'proxy mode: raw option 43 as hex PXE sub-options (06:01:08:ff)',
  },
  { key: 'root', kind: 'string', names: ['--root', '-a', '--netboot-dir'], help: 'netboot folder to serve' },
  { key: 'netbootFile', kind: 'string', names: ['-i', '--netboot-file'], help: 'boot file for every client' },
  { key: 'range', kind: 'string', names: ['--range'], help: 'DHCP range START-END' },
  { key: 'rangeStart', kind: 'string', names: ['-b', '--dhcp-begin'], help: 'first DHCP address' },
  { key: 'rangeEnd', kind: 'string', names: ['-e', '--dhcp-end'], help: 'last DHCP address' },
  {
    key: 'subnet',
    kind: 'string',
    names: ['--subnet', '-n', '--dhcp-subnet'],
    help: 'subnet mask or /prefix',
  },
  { key: 'router', kind: 'string', names: ['--router', '-r', '--dhcp-router'], help: 'router handed out' },
  {
    key: 'dns',
    kind: 'multi',
    names: ['--dns', '-d', '--dhcp-dns'],
    help: 'DNS server handed out (repeatable)',
  },
  { key: 'leaseTime', kind: 'string', names: ['--lease-time'], help: 'lease time in seconds' },
  {
    key: 'staticLeases',
    kind: 'string',
    names: ['--static-leases', '--static-config'],
    help: 'JSON file of static leases',
  },
  {
    key: 'allow',
    kind: 'multi',
    names: ['--allow'],
    help: 'serve only these MACs (repeatable / comma list)',
  },
  {
    key: 'whitelist',
    kind: 'boolean',
    names: ['--dhcp-whitelist'],
    help: 'PyPXE: serve only the MACs of --static-leases',
  },
  { key: 'deny', kind: 'multi', names: ['--deny'], help: 'never serve these MACs' },
  { key: 'bootFile', kind: 'multi', names: ['--boot-file'], help: 'ARCH=FILE, e.g. bios=undionly.kpxe' },
  {
    key: 'menuItem',
    kind: 'multi',
    names: ['--menu-item'],
    help: 'BIOS PXE menu entry LABEL[=FILE] (repeatable; FILE defaults to the BIOS boot file)',
  },
  {
    key: 'menuLocal',
    kind: 'string',
    names: ['--menu-local'],
    help: 'add a "boot from disk" menu entry LABEL',
  },
  { key: 'menuPrompt', kind: 'string', names: ['--menu-prompt'], help: 'PXE menu prompt text' },
  {
    key: 'menuTimeout',
    kind: 'string',
    names: ['--menu-timeout'],
    help: 'seconds before the first entry boots (0-255)',
  },
  {
    key: 'leasesFile',
    kind: 'string',
    names: ['--save-leases', '--leases-file'],
    help: 'persist leases to FILE',
  },
  { key: 'httpPort', kind: 'string', names: ['--http-port'], help: 'HTTP port (8080)' },
  {
    key: 'dhcpPort',
    kind: 'string',
    names: ['--dhcp-port', '--dhcp-server-port'],
    help: 'DHCP server port (67)',
  },
  { key: 'proxyPort', kind: 'string', names: ['--proxy-port'], help: 'PXE boot-server port (4011)' },
  { key: 'tftpPort', kind: 'string', names: ['--tftp-port'], help: 'TFTP port (69)' },
  { key: 'clientPort', kind: 'string', names: ['--client-port'], help: 'DHCP client port (68; tests)' },
  { key: 'config', kind: 'string', names: ['--config'], help: 'PXE Desk or PyPXE JSON config file' },
  { key: 'ini', kind: 'string', names: ['-c'], help: 'proxyDHCPd INI file' },
  { key: 'helper', kind: 'string', names: ['--helper'], help: 'auto | always | never' },
  {
    key: 'secureBoot',
    kind: 'string',
    names: ['--secure-boot'],
    help: 'auto | on | off: which UEFI PCs get the signed chain shim → GRUB (default auto, docs/secure-boot.md)',
  },
  {
    key: 'helperPath',
    kind: 'string',
    names: ['--helper-path'],
    help: 'native helper binary (default: packaged or built one)',
  },
  {
    key: 'tftpNative',
    kind: 'string',
    names: ['--tftp-native'],
    help: 'TFTP data path binary pxe-desk-tftp, or off (default: the packaged or built one)',
  },
  {
    key: 'httpNative',
    kind: 'string',
    names: ['--http-native'],
    help: 'HTTP body path binary pxe-desk-http, or off (default: the packaged or built one)',
  },
  { key: 'json', kind: 'boolean', names: ['--json'], help: 'JSON lines of session events' },
  {
    key: 'printConfig',
    kind: 'boolean',
    names: ['--print-config', '--dump-config-merged'],
    help: 'print the resolved config and exit',
  },
  {
    key: 'logLevel',
    kind: 'string',
    names: ['--log-level'],
    help: 'debug | info | warn | error, per service too: warn,tftp=debug',
  },
  {
    key: 'syslog',
    kind: 'optional',
    names: ['--syslog'],
    help: 'log to syslog (local socket or HOST[:PORT])',
  },
  { key: 'syslogPort', kind: 'string', names: ['--syslog-port'], help: 'PyPXE: syslog server port (514)' },
  { key: 'http', kind: 'boolean', names: ['--http'], help: 'PyPXE: serve HTTP (always on)' },
  {
    key: 'ipxe',
    kind: 'boolean',
    names: ['--ipxe'],
    help: 'PyPXE: iPXE chainloading (always on); makes -i the chain target',
  },
  {
    key: 'debug',
    kind: 'optional',
    names: ['--debug'],
    help: 'PyPXE: debug logs for [dhcp,tftp,http,ipxe,session,helper|all,-svc]',
  },
  {
    key: 'verbose',
    kind: 'optional',
    names: ['--verbose'],
    help: 'PyPXE: info logs for [services], others warn only',
  },
  {
    key: 'forceDhcp',
    kind: 'boolean',
    names: ['--force-dhcp'],
    help: 'experts: full DHCP even if another DHCP server answers (logged)',
  },
  { key: 'noProbe', kind: 'boolean', names: ['--no-probe'], help: 'skip the preflight probe (proxy mode)' },
  {
    key: 'probeWindow',
    kind: 'string',
    names: ['--probe-window'],
    help: 'preflight probe window in ms (3500)',
  },
  {
    key: 'report',
    kind: 'string',
    names: ['--report'],
    help: 'write the session report to FILE(.json/.html) on exit',
  },
  { key: 'ui', kind: 'boolean', names: ['--ui'], help: 'open the web UI (see `serve --ui`)' },
  { key: 'help', kind: 'boolean', names: ['--help', '-h'], help: 'this help' },
];

export type ParsedValue = string | boolean | string[];
export type ParsedArgs = Record<string, ParsedValue>;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Where a seed tool used the same short option differently. */
const HINTS: Readonly<Record<string, string>> = {
  '-d': " (here -d is PyPXE's --dhcp-dns IP; proxyDHCPd's daemon mode is the systemd unit docs/pxe-desk.service)",
};

export function parseArgs(argv: readonly string[], specs: readonly OptSpec[] = SERVE_OPTIONS): ParsedArgs {
  const byName = new Map<string, OptSpec>();
  for (const spec of specs) for (const name of spec.names) byName.set(name, spec);
  const out: ParsedArgs = {};
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    let inline: string | undefined;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    if (eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const spec = byName.get(arg);
    if (!spec) throw new UsageError(`unknown option ${arg} (see --help)`);
    if (spec.kind === 'boolean') {
      if (inline !== undefined) throw new UsageError(`${arg} takes no value`);
      out[spec.key] = true;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (spec.kind === 'optional') {
        if (next !== undefined && !next.startsWith('-')) {
          value = next;
          i++;
        } else value = '';
      } else {
        // A known option where the value should be is a missing value, not a value ("-d -p").
        if (next === undefined || byName.has(next.split('=')[0]!))
          throw new UsageError(`${arg} needs a value${HINTS[arg] ?? ''}`);
        value = next;
        i++;
      }
    }
    if (spec.kind === 'multi') {
      const prev = out[spec.key];
      const list = Array.isArray(prev) ? prev : [];
      list.push(
        ...value
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean),
      );
      out[spec.key] = list;
    } else out[spec.key] = value;
  }
  return out;
}

/** The serve option `key`, for another subcommand that takes the same flag. */
export function serveOption(key: string): OptSpec {
  const spec = SERVE_OPTIONS.find((s) => s.key === key);
  if (!spec) throw new Error(`no serve option ${key}`);
  return spec;
}

/** A string option's value; an empty one counts as not given. */
export function text(args: ParsedArgs, key: string): string | undefined {
  const v = args[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A whole-number option's value; throws UsageError on anything else. */
export function num(args: ParsedArgs, key: string): number | undefined {
  // JSON config files may hold numbers where flags hold strings.
  const v: unknown = args[key];
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UsageError(`${key}: "${v}" is not a whole number`);
  return n;
}

/** A repeatable option's values, when any were given. */
export function list(args: ParsedArgs, key: string): string[] | undefined {
  const v = args[key];
  return Array.isArray(v) && v.length ? v : undefined;
}

/** --helper (default auto); throws UsageError on anything but auto, always or never. */
export function helperPolicy(args: ParsedArgs): HelperPolicy {
  const helper = text(args, 'helper') ?? 'auto';
  if (helper !== 'auto' && helper !== 'always' && helper !== 'never')
    throw new UsageError(`--helper must be auto, always or never (got ${helper})`);
  return helper;
}

/**
 * --secure-boot, or `secureBoot` in a --config file (default auto); throws UsageError naming the fix on
 * anything else (a config file may hold `true`, which says nothing about which chain).
 */
export function secureBootMode(args: ParsedArgs): SecureBootMode {
  const v: unknown = args.secureBoot;
  if (v === undefined || v === '') return 'auto';
  if (isSecureBootMode(v)) return v;
  throw new UsageError(
    `--secure-boot (or "secureBoot" in a config file) must be ${SECURE_BOOT_MODES.join(', ')} (got ${JSON.stringify(v)}): use auto unless every machine has Secure Boot on (on) or none has (off)`,
  );
}

/** Value placeholders for --help. */
const META: Readonly<Record<string, string>> = {
  mode: 'MODE',
  iface: 'NAME',
  address: 'IP',
  fileServer: 'IP',
  chainloadUrl: 'URL|FILE',
  vendorOptions: 'HEX',
  root: 'DIR',
  netbootFile: 'FILE',
  range: 'START-END',
  rangeStart: 'IP',
  rangeEnd: 'IP',
  subnet: 'MASK|/N',
  router: 'IP',
  dns: 'IP',
  leaseTime: 'SECONDS',
  staticLeases: 'FILE',
  allow: 'MAC',
  deny: 'MAC',
  bootFile: 'ARCH=FILE',
  leasesFile: 'FILE',
  config: 'FILE',
  ini: 'FILE',
  helper: 'POLICY',
  secureBoot: 'auto|on|off',
  logLevel: 'LEVEL',
  syslog: '[HOST[:PORT]]',
  syslogPort: 'PORT',
  debug: '[SERVICES]',
  verbose: '[SERVICES]',
};

export function serveHelp(): string {
  const lines = SERVE_OPTIONS.map((s) => {
    const meta = META[s.key] ?? (s.key.endsWith('Port') ? 'PORT' : '');
    const names = `${s.names.join(', ')}${meta ? ` ${meta}` : ''}`;
    return names.length > 36 ? `  ${names}\n  ${''.padEnd(36)} ${s.help}` : `  ${names.padEnd(36)} ${s.help}`;
  });
  const secure = SECURE_BOOT_MODES.map((m) => `  ${m.padEnd(5)} ${SECURE_BOOT_HELP[m]}`).join('\n');
  return `usage: pxe-desk serve [options]\n\n${lines.join('\n')}\n\nSecure Boot (--secure-boot):\n${secure}\n\nExit codes: see docs/cli.md (0 ok, 1 start failed, 2 usage).\n`;
}
