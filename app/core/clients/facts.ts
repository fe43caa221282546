/**
 * The facts the diagnosis rules read about one client, folded from the same engine events that build
 * its timeline (plus other servers' offers seen on port 68). Lists are bounded: a client that loops for
 * hours keeps its last MAX_LIST entries.
 */
import type {
  DhcpEvent,
  FirmwareKind,
  RefusalCode,
  TransferEvent,
  TransferFailure,
} from '../../shared/events.js';
import {
  foldChainDhcp,
  foldChainTransfer,
  type ChainState,
  type UnrunDownload,
} from './secure-boot-chain.js';

export interface ForeignOffer {
  readonly time: number;
  readonly server: string;
  readonly bootFile?: string;
}

export interface OpenTransfer {
  readonly engine: 'tftp' | 'http';
  readonly file: string;
  readonly started: number;
  last: number;
  bytes: number;
  size?: number;
  blksize?: number;
}

export interface FailedTransfer {
  readonly engine: 'tftp' | 'http';
  readonly file: string;
  /** For people (shown in the finding), never parsed. */
  readonly reason: string;
  /** What went wrong as data (both TFTP data paths fill it). */
  readonly failure?: TransferFailure;
  readonly bytes: number;
  readonly blksize?: number;
  readonly time: number;
}

export interface Refusal {
  readonly reason: string;
  /** The engine's refusal code (absent from engines that do not send one yet). */
  readonly code?: RefusalCode;
  readonly time: number;
  readonly firmware?: FirmwareKind;
  readonly arch?: number;
}

/** What we know about one MAC (bounded lists). */
export interface ClientFacts {
  readonly mac: string;
  firmware?: FirmwareKind;
  arch?: number;
  ipxe: boolean;
  userClass?: string;
  lastDiscover?: number;
  ourOffers: number;
  pxeRequests: number;
  foreignOffers: ForeignOffer[];
  /**
   * Completed downloads in time order: file + time (EDK2's tsize probes excluded). `partial`: an HTTP
   * range answer (206), one piece of a larger read such as iPXE's sanboot of an ISO, not a download.
   */
  downloads: { file: string; time: number; engine: 'tftp' | 'http'; partial?: true }[];
  /** Open transfers by `engine/transferId` (read-only until foldTransfer gives the client its own map). */
  transfers: ReadonlyMap<string, OpenTransfer>;
  lastActivityWithUs?: number;
  /** Last TFTP/HTTP activity (any file). */
  lastTransfer?: number;
  /** Our last offer to this client while it ran iPXE (the boot-script address). */
  ipxeOffer?: { time: number; bootFile: string };
  failures: FailedTransfer[];
  refusal?: Refusal;
  /** The stall rule marked this boot stalled (no progress for the stall window): when, and where it stopped. */
  stalled?: { time: number; where: string };
  /** Set by the loop breaker while it pauses this MAC. */
  loopBroken?: { file: string; count: number; until: number; time: number };
  /** The chain this UEFI x64 client is on (secure-boot-chain.ts; set by the client model). */
  chain?: ChainState;
  /** The boot file (base name) we last named to its firmware: the download the Secure Boot signal watches. */
  nbp?: string;
  /** The iPXE binary its firmware downloaded whole and has not been seen running since (Secure Boot signal). */
  unrun?: UnrunDownload;
  /** The signed chain's GRUB said it refused this library entry's kernel (shim_lock: not signed). */
  kernelRefused?: { entry: string; time: number };
}

const MAX_LIST = 32;

/**
 * The open transfers of every client that never opened one: a Map per record was a fifth of the client
 * model's heap under a flood of new MACs (most never download), and V8 grows the heap with what it holds.
 */
const NO_TRANSFERS: ReadonlyMap<string, OpenTransfer> = new Map();

export function newFacts(mac: string): ClientFacts {
  return {
    mac,
    ipxe: false,
    ourOffers: 0,
    pxeRequests: 0,
    foreignOffers: NONE,
    downloads: NONE,
    transfers: NO_TRANSFERS,
    failures: NONE,
  };
}

/**
 * The lists of a client that has none yet: frozen and shared (three arrays per record were a fifth of the
 * objects a flood of new MACs keeps alive for a while, and each is copied by every young-generation GC).
 * `bounded` gives the client its own list on the first entry; a stray push would throw, not share.
 */
const NONE: never[] = Object.freeze([]) as never[];

/** Keeps the last MAX_LIST entries of `list` plus `item` (a new list when `list` is the shared NONE). */
function bounded<T>(list: T[], item: T): T[] {
  if (list === NONE) return [item];
  if (list.length >= MAX_LIST) list.splice(0, list.length - MAX_LIST + 1);
  list.push(item);
  return list;
}

export function foldDhcp(f: ClientFacts, e: DhcpEvent): void {
  if (e.client.firmware) f.firmware = e.client.firmware;
  if (e.client.arch !== undefined) f.arch = e.client.arch;
  if (e.client.userClass) f.userClass = e.client.userClass;
  if (e.client.ipxe) f.ipxe = true;
  foldChainDhcp(f, e);
  switch (e.type) {
    case 'discover':
      f.lastDiscover = e.time;
      break;
    case 'offer':
    case 'ack':
    case 'pxe-ack':
      if (e.type !== 'pxe-ack') f.ourOffers++;
      if (f.refusal && e.bootFile) delete f.refusal;
      if (e.client.ipxe && e.bootFile) f.ipxeOffer = { time: e.time, bootFile: e.bootFile };
      break;
    case 'pxe-request':
    case 'request':
      f.pxeRequests += e.type === 'pxe-request' ? 1 : 0;
      f.lastActivityWithUs = e.time;
      break;
    case 'refusal':
      f.refusal = {
        reason: e.reason ?? 'refused',
        time: e.time,
        ...(e.refusal ? { code: e.refusal } : {}),
        ...(e.client.firmware ? { firmware: e.client.firmware } : {}),
        ...(e.client.arch !== undefined ? { arch: e.client.arch } : {}),
      };
      break;
    case 'foreign-offer':
      f.foreignOffers = bounded(f.foreignOffers, {
        time: e.time,
        server: e.server ?? 'unknown',
        ...(e.bootFile ? { bootFile: e.bootFile } : {}),
      });
      break;
    default:
      break;
  }
}

/** The client's own map of open transfers (created on its first transfer). */
function ownTransfers(f: ClientFacts): Map<string, OpenTransfer> {
  if (f.transfers === NO_TRANSFERS) f.transfers = new Map();
  return f.transfers as Map<string, OpenTransfer>;
}

/** Folds a transfer event; returns true when it completed a download (the loop rule's input). */
export function foldTransfer(f: ClientFacts, e: TransferEvent): boolean {
  const key = `${e.engine}/${e.transferId}`;
  f.lastActivityWithUs = e.time;
  f.lastTransfer = e.time;
  foldChainTransfer(f, e);
  const blk = e.detail?.blksize;
  const blksize = typeof blk === 'number' ? blk : undefined;
  if (e.type === 'start' || e.type === 'progress') {
    const t = f.transfers.get(key);
    if (t) {
      t.last = e.time;
      t.bytes = e.bytes;
      if (blksize) t.blksize = blksize;
    } else
      ownTransfers(f).set(key, {
        engine: e.engine,
        file: e.file,
        started: e.time,
        last: e.time,
        bytes: e.bytes,
        ...(e.size !== undefined ? { size: e.size } : {}),
        ...(blksize ? { blksize } : {}),
      });
    return false;
  }
  if (f.transfers.has(key)) ownTransfers(f).delete(key);
  if (e.type === 'failed') {
    f.failures = bounded(f.failures, {
      engine: e.engine,
      file: e.file,
      reason: e.reason ?? 'failed',
      ...(e.failure ? { failure: e.failure } : {}),
      bytes: e.bytes,
      time: e.time,
      ...(blksize ? { blksize } : {}),
    });
    return false;
  }
  // EDK2's tsize probe (TFTP ERROR 8 right after the OACK) asks the size; it is not a download.
  if (e.detail?.probe === true) return false;
  // A later success of the same file clears an earlier failure of it.
  if (f.failures.length > 0) f.failures = f.failures.filter((x) => x.file !== e.file);
  // RFC 9110 §15.3.7: a 206 carries part of the file. iPXE's sanboot and a live root streamed by HTTP
  // read one image as thousands of ranges; they are one download, never a boot loop.
  const partial = e.engine === 'http' && e.detail?.status === 206;
  f.downloads = bounded(f.downloads, {
    file: e.file,
    time: e.time,
    engine: e.engine,
    ...(partial ? { partial: true as const } : {}),
  });
  return !partial;
}

/** The loop breaker fired (or was lifted: `undefined`); a lifted loop forgets its downloads so it may boot again. */
export function setLoopBroken(f: ClientFacts, broken: ClientFacts['loopBroken']): void {
  if (broken) {
    f.loopBroken = broken;
    return;
  }
  delete f.loopBroken;
  f.downloads = [];
}
