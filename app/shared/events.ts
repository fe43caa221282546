/**
 * Engine events: what each engine reports about each client. The session turns these into the
 * per-client timeline (app/core), the UI and the CLI's --json lines show them. Plain data only
 * (structured-clone and JSON safe), so they cross IPC and WebSocket unchanged.
 *
 * Each engine owns its event union below; grow them here so every consumer sees one definition.
 */

/** Option 93 client system architecture (RFC 4578 + IANA registry), as far as PXE Desk cares. */
export type FirmwareKind =
  | 'bios'
  | 'uefi-ia32'
  | 'uefi-x64'
  | 'uefi-arm64'
  | 'uefi-x64-http'
  | 'uefi-ia32-http'
  | 'uefi-arm64-http'
  | 'unknown';

export interface ClientIdentity {
  /** Lower-case colon-separated MAC (chaddr). */
  readonly mac: string;
  /**
   * The option 93 value the boot decision goes by (the first one PXE Desk knows, RFC 4578 §2.1 lets a
   * client list several; else the first sent), when sent.
   */
  readonly arch?: number;
  /** Firmware of `arch`: the same firmware the boot decision serves (one rule, app/engines/dhcp). */
  readonly firmware?: FirmwareKind;
  /** Option 60 as sent. */
  readonly vendorClass?: string;
  /** Option 60 names a network-boot client: PXEClient (PXE 2.1) or HTTPClient (UEFI HTTP Boot) prefix. */
  readonly netboot?: boolean;
  /** Option 77 user class (decoded text), e.g. "iPXE". */
  readonly userClass?: string;
  /** Option 97 client machine UUID as a canonical string. */
  readonly uuid?: string;
  /** True when the request came from iPXE (option 175 or user class iPXE). */
  readonly ipxe?: boolean;
}

export type DhcpEventType =
  | 'discover'
  | 'offer'
  | 'request'
  | 'ack'
  | 'nak'
  | 'decline'
  | 'release'
  | 'inform'
  | 'pxe-request' // boot-server REQUEST on 4011
  | 'pxe-ack' // our 4011 answer
  | 'refusal' // we deliberately did not answer; `refusal` says why as a code, `reason` in words
  | 'foreign-offer'; // another server's OFFER/ACK seen on 68

export interface DhcpEvent {
  readonly engine: 'dhcp' | 'proxy';
  readonly type: DhcpEventType;
  readonly time: number;
  readonly client: ClientIdentity;
  readonly xid?: number;
  /** Address offered/acked (full mode) or the client's own. */
  readonly ip?: string;
  /** Boot file or URL we handed out. */
  readonly bootFile?: string;
  /** Server that sent a foreign offer, or that a REQUEST named. */
  readonly server?: string;
  /** Plain-language reason (refusals, NAKs), for people only. */
  readonly reason?: string;
  /** Why a 'refusal' event refused, as data: consumers branch on this, never on `reason`'s text. */
  readonly refusal?: RefusalCode;
}

/** Why an engine did not serve a client; stable codes the diagnosis, report and UI branch on. */
export type RefusalCode =
  | ExclusionCode
  | 'not-netboot' // option 60 is neither PXEClient nor HTTPClient
  | 'no-arch' // no usable option 93 (nor an Arch in option 60)
  | 'unsupported-arch' // no option 93 value PXE Desk can serve
  | 'http-arch-mismatch' // HTTPClient with a PXE architecture, or PXEClient with an HTTP one
  | 'no-boot-file' // no boot file configured for this firmware
  | 'boot-file-missing' // the boot file (or the chosen menu item's) is not in the netboot folder
  | 'bis-unsupported' // boot-server request for PXE BIS credentials (PXE 2.1 §2.2.5, layer bit 15)
  | 'local-boot' // the client chose the menu's local-boot item (boot server type 0)
  | 'unknown-menu-item' // boot-server request for a type we do not offer
  | 'no-recent-discover' // 4011 request without an architecture, and no DISCOVER of this MAC remembered
  | 'pool-exhausted' // full DHCP mode: no free address in the pool
  | 'signed-chain-http-boot'; // proxy mode, signed chain over PXE: unanswered so the firmware tries UEFI HTTP boot

/** Refusals the operator asked for (lists, block, the loop breaker's pause), not a problem to fix. */
export type ExclusionCode = 'deny-list' | 'not-in-allow-list' | 'blocked' | 'paused';

export type TransferState = 'start' | 'progress' | 'done' | 'failed';

export interface TransferEvent {
  readonly engine: 'tftp' | 'http';
  readonly type: TransferState;
  readonly time: number;
  /** Unique per transfer within the engine. */
  readonly transferId: string;
  readonly client: { readonly address: string; readonly port: number; readonly mac?: string };
  /** Sanitised path relative to the root (or the virtual file's name). */
  readonly file: string;
  readonly bytes: number;
  /** Total size when known (tsize, Content-Length). */
  readonly size?: number;
  /** Bytes per second over the transfer so far. */
  readonly rate?: number;
  /** Failure reason in plain language (for `failed`), e.g. "client stopped acknowledging at block 812". */
  readonly reason?: string;
  /**
   * What went wrong, as data (for `failed`): consumers read this, never `reason`'s text. Both TFTP data
   * paths (Node and native) fill it.
   */
  readonly failure?: TransferFailure;
  /** TFTP: the options agreed (blksize, windowsize, …). HTTP: method and status. */
  readonly detail?: Readonly<Record<string, string | number | boolean>>;
}

/** Why a transfer failed; stable codes the diagnosis and UI branch on. */
export type TransferFailureCode =
  | 'client-silent' // the client stopped acknowledging (RFC 1350 timeout after our retries)
  | 'last-block-unacked' // retries of the final DATA ran out while the client still acked the block before it
  | 'client-error' // the client sent an ERROR packet
  | 'not-found'
  | 'access-denied' // refused path (hostile, hidden, outside the root)
  | 'option-refused' // RFC 2347 option negotiation failed
  | 'read-error' // our read of the file failed
  | 'superseded' // the same client restarted the same file
  | 'aborted' // the session stopped, or the HTTP client went away
  | 'internal';

export interface TransferFailure {
  readonly code: TransferFailureCode;
  /** TFTP: the block the transfer stopped at (the last block the client acknowledged + 1), when known. */
  readonly block?: number;
}

export type EngineEvent = DhcpEvent | TransferEvent;

export interface EngineCounters {
  /** Datagrams/requests received. */
  readonly received: number;
  /** Dropped as malformed or hostile. */
  readonly malformed: number;
  /** Dropped by rate limiting. */
  readonly rateLimited: number;
  /** Replies sent. */
  readonly sent: number;
}
