/**
 * Plain-data types of a PXE session, shared by the session controller (app/core), the CLI, the IPC /
 * WebSocket contract and the renderer. Structured-clone and JSON safe.
 */
import type { MacOverride } from './library-types.js';
import type { FirmwareKind, TransferEvent } from './events.js';
import type { BootChain, SecureBootMode, SignedChainReason } from './secure-boot.js';
import type { LogRecord } from './runtime.js';

export type SessionMode = 'proxy' | 'dhcp' | 'files';

export type SessionState = 'idle' | 'starting' | 'running' | 'stopping' | 'error';

/** Which transport carries the privileged UDP ports. */
export type HelperPolicy = 'auto' | 'always' | 'never';

export interface StaticLease {
  readonly mac: string;
  readonly ip: string;
  readonly hostname?: string;
}

export interface DhcpPoolConfig {
  /** First and last address handed out, inclusive. */
  readonly rangeStart: string;
  readonly rangeEnd: string;
  /** Prefix length of the served subnet (any, not only /24). */
  readonly prefixLength: number;
  readonly router?: string;
  readonly dns?: readonly string[];
  readonly leaseTimeSeconds?: number;
  readonly staticLeases?: readonly StaticLease[];
  /** Where leases are persisted (atomic writes). */
  readonly leasesFile?: string;
}

/** One entry of a PXE boot menu (option 43.9); see PxeMenuConfig. */
export interface PxeMenuItem {
  /** Text the ROM shows (Latin-1, 1-250 bytes). */
  readonly label: string;
  /** This item's boot file; omitted = the firmware's default boot file (undionly.kpxe for BIOS). */
  readonly bootFile?: string;
  /** "Boot from local disk" (PXE boot server type 0): the ROM returns to the BIOS, no file. */
  readonly local?: boolean;
}

/**
 * A PXE boot menu for BIOS PXE ROMs (option 43 sub-options 8/9/10, PXE 2.1 Table 2-1). Without one, BIOS
 * firmware boots its file at once (43 = 06 01 08 FF). UEFI firmware never gets a menu and iPXE gets its
 * script (app/engines/dhcp/boot-decision.ts).
 */
export interface PxeMenuConfig {
  readonly items: readonly PxeMenuItem[];
  /** Prompt text (default "PXE"). */
  readonly prompt?: string;
  /**
   * Seconds the prompt waits for F8 before the first item boots: 0 = no prompt, 255 = show the menu and
   * wait. Default as dnsmasq: 0 with one item, 255 with several.
   */
  readonly timeoutSeconds?: number;
}

/** Everything needed to start a session. Validated by the session controller with fix-it messages. */
export interface SessionConfig {
  readonly mode: SessionMode;
  /** NIC name (required for proxy and dhcp mode: PXE Desk never picks one itself). */
  readonly iface?: string;
  /** Our IPv4 on that NIC (derived from iface when omitted; required for files mode without iface). */
  readonly address?: string;
  /** The netboot folder (read-only to the engines). */
  readonly root: string;
  readonly dhcp?: DhcpPoolConfig;
  /** MAC allow/deny lists (lower-case colon form). */
  readonly allow?: readonly string[];
  readonly deny?: readonly string[];
  /** Boot file per firmware, overriding the defaults (bios → undionly.kpxe, uefi-x64 → snponly.efi, …). */
  readonly bootFiles?: Partial<Record<FirmwareKind, string>>;
  readonly ports?: {
    readonly dhcp?: number;
    readonly proxy?: number;
    readonly tftp?: number;
    readonly http?: number;
    /** Port clients listen on (68); tests only. */
    readonly client?: number;
  };
  readonly helper?: HelperPolicy;
  /** File server handed to clients (siaddr, option 66, host of boot URLs) when not us: PyPXE `-f`. */
  readonly fileServer?: string;
  /** What iPXE chains to instead of the generated boot.ipxe: a URL, or a file served over our HTTP (proxyDHCPd `chainload_url`). */
  readonly chainloadUrl?: string;
  /** Raw option 43 for proxy replies to PXEClient firmware, as hex bytes (proxyDHCPd `vendor_specific_information`). */
  readonly vendorOptions?: string;
  /** Experts only: start full DHCP even though another DHCP server answered the probe (logged). */
  readonly overrideForeignDhcp?: boolean;
  /** Preflight probe window in ms (default ~3.5 s: dnsmasq ping-checks an address before offering it). */
  readonly probeWindowMs?: number;
  /** Skip the preflight probe (proxy mode warns; full DHCP mode then needs `overrideForeignDhcp`). */
  readonly skipProbe?: boolean;
  /** PXE boot menu for BIOS PXE ROMs (proxy and full mode). */
  readonly pxeMenu?: PxeMenuConfig;
  /**
   * Which UEFI x64 clients get the signed chain shim → GRUB instead of iPXE (docs/secure-boot.md); default
   * 'auto': iPXE first, the signed chain for a machine whose firmware refused iPXE.
   */
  readonly secureBoot?: SecureBootMode;
}

export interface SessionError {
  /** Stable machine code, e.g. 'iface-missing', 'port-in-use', 'range-outside-subnet'. */
  readonly code: string;
  /** Plain language, says what to change. */
  readonly message: string;
}

export type ClientStage =
  | 'dhcp' // DISCOVER/REQUEST seen
  | 'offered' // we (or another server) offered
  | 'boot-server' // 4011 exchange
  | 'tftp' // downloading over TFTP
  | 'http' // downloading over HTTP
  | 'booted' // last expected file finished (kernel + initrd, or an image handed over)
  | 'stalled' // no progress within the stall window
  | 'refused' // we deliberately did not serve it
  | 'failed';

export interface TimelineEntry {
  readonly time: number;
  readonly stage: ClientStage;
  /** Short plain-language line: "DISCOVER (UEFI x64, PXEClient)", "TFTP snponly.efi 173 kB in 1.2 s". */
  readonly text: string;
  readonly file?: string;
  readonly bytes?: number;
  readonly size?: number;
}

export interface ClientRecord {
  readonly mac: string;
  readonly firmware?: FirmwareKind;
  readonly arch?: number;
  readonly vendorClass?: string;
  readonly userClass?: string;
  readonly uuid?: string;
  readonly ip?: string;
  /** Vendor from the OUI (ieee-data), when known. */
  readonly vendor?: string;
  readonly stage: ClientStage;
  readonly firstSeen: number;
  readonly lastSeen: number;
  /** The transfer in progress or last finished. */
  readonly transfer?: TransferEvent;
  readonly timeline: readonly TimelineEntry[];
  /** Plain-language diagnosis (why it stalled / looped / was refused), when any: the headline of `diagnoses`. */
  readonly diagnosis?: string;
  /** Every finding for this client, most severe first (issue 10: "explain every stalled boot"). */
  readonly diagnoses?: readonly Diagnosis[];
  /** Blocked by the operator (session state: a UI reload shows it). */
  readonly blocked?: boolean;
  /** Paused by the loop breaker until `until` (epoch ms), with the reason in plain language. */
  readonly paused?: { readonly until: number; readonly reason: string };
  /** Per-MAC boot override from the library (boot entry X / boot once). */
  readonly bootOverride?: MacOverride;
  /** The chain this UEFI x64 client is served (absent: not a UEFI x64 client, or none decided yet). */
  readonly chain?: BootChain;
  /** Why it is on the signed chain (chain 'signed' only). */
  readonly chainReason?: SignedChainReason;
}

/** Stable codes of per-client findings; the renderer may pick an icon per code, the text is for humans. */
export type DiagnosisCode =
  | 'site-boot-file' // took another server's offer (with a boot file of its own) and never asked us on 4011
  | 'boot-loop' // downloaded the same NBP repeatedly: iPXE user class missing / chainload loop
  | 'loop-broken' // the automatic loop breaker stopped serving the NBP to this MAC
  | 'tftp-stall' // TFTP stopped at block N: firewall or MTU
  | 'http-stall'
  | 'missing-arch' // no boot file for the client's architecture in the library
  | 'refused' // allow/deny list or policy
  | 'no-next-step' // got the NBP but never requested the script / kernel
  | 'secure-boot' // downloaded unsigned iPXE whole and never ran it (Secure Boot refuses it), or an unsigned kernel under the signed chain
  | 'other';

export interface Diagnosis {
  readonly code: DiagnosisCode;
  readonly severity: 'info' | 'warning' | 'error';
  /** What happened, in plain language: "downloaded ipxe.efi 3 times in 60 s: boot loop". */
  readonly text: string;
  /** What to do about it, when known. */
  readonly fix?: string;
  readonly time: number;
}

/** One DHCP server (or proxyDHCP server) that answered the preflight probe. */
export interface ProbeServer {
  /** Server identifier (option 54), else the reply's source address. */
  readonly serverId: string;
  /** ip:port the reply came from. */
  readonly source: string;
  /** 'dhcp' hands out addresses (yiaddr set); 'proxy' is a proxyDHCP (PXEClient, no yiaddr). */
  readonly kind: 'dhcp' | 'proxy';
  readonly offeredAddress?: string;
  readonly prefixLength?: number;
  readonly router?: string;
  readonly dns?: readonly string[];
  /** Boot options it already sends: file/67, siaddr/66, 60 PXEClient, 43 (PXE menu if sub-options 9/10). */
  readonly bootFile?: string;
  readonly nextServer?: string;
  readonly vendorClass?: string;
  readonly pxeMenu?: boolean;
}

/** Result of the passive + active preflight probe on one NIC (`pxe-desk probe --iface NAME`). */
export interface ProbeResult {
  readonly iface: string;
  /** The random locally-administered MAC the probe used (and released). */
  readonly probeMac: string;
  readonly startedAt: number;
  readonly durationMs: number;
  readonly servers: readonly ProbeServer[];
  /** Plain-language findings for the UI and CLI (policy warnings included). */
  readonly warnings: readonly string[];
  /** Policy verdict per mode: undefined when allowed, else the reason it is refused. */
  readonly refuse?: { readonly dhcp?: string; readonly proxy?: string };
}

export interface NicInfo {
  readonly name: string;
  readonly type: 'wired' | 'wireless' | 'virtual' | 'vpn' | 'loopback' | 'unknown';
  readonly up: boolean;
  readonly mac?: string;
  readonly mtu?: number;
  readonly speedMbps?: number;
  readonly ipv4?: { readonly address: string; readonly prefixLength: number };
  /** Why this NIC is unsuitable for PXE (down, wireless, no IPv4, virtual, loopback); absent when fine. */
  readonly unsuitable?: string;
}

export interface SessionSnapshot {
  readonly state: SessionState;
  readonly config?: SessionConfig;
  readonly error?: SessionError;
  readonly startedAt?: number;
  /** Bound endpoints, e.g. { tftp: '10.0.0.1:69', http: 'http://10.0.0.1:8080/' }. */
  readonly endpoints?: Readonly<Record<string, string>>;
  readonly transport?: 'direct' | 'helper' | 'memory';
  readonly clients: readonly ClientRecord[];
  readonly warnings: readonly string[];
  /** The last preflight probe on the session's NIC, when one ran. */
  readonly probe?: ProbeResult;
  /** Idle client records dropped to keep the client table bounded (oldest idle first). */
  readonly clientsEvicted?: number;
}

export type SessionEvent =
  | { readonly type: 'state'; readonly snapshot: SessionSnapshot }
  | { readonly type: 'client'; readonly client: ClientRecord }
  | { readonly type: 'log'; readonly record: LogRecord }
  | { readonly type: 'warning'; readonly message: string }
  | { readonly type: 'probe'; readonly result: ProbeResult };
