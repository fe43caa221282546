/**
 * Shared pieces of the proxy and full servers: request parsing into a BootRequest, reply skeletons, the PXE
 * boot fields (file, siaddr, option 43 with or without a menu) and the boot-server answer on port 4011.
 */
import { BoundedMemo } from '../../shared/bounded-memo.js';
import type { BootConfig, BootPlan, BootRequest } from './boot-decision.js';
import { decideBoot, decideBootItem, firmwareOfRequest } from './boot-decision.js';
import type { Endpoint } from '../../shared/datagram-transport.js';
import type { ClientIdentity, RefusalCode } from '../../shared/events.js';
import type { Logger } from '../../shared/runtime.js';
import type { ClientMemory } from './client-memory.js';
import { isNetbootClient } from './netboot-client.js';
import { encodePxeMenu, type PxeMenu } from './pxe-menu.js';
import type { DhcpMessage } from './codec.js';
import {
  MessageType,
  Opt,
  clientArchs,
  clientUuid,
  encodeSubOptions,
  encodedSize,
  macOf,
  messageType,
  replyLimit,
  strOpt,
  subOptions,
  userClasses,
  uuidString,
} from './codec.js';

/**
 * Option 60 texts seen lately, one string each (bounded): a LAN's clients send a handful of vendor classes,
 * and the client model keeps this text in every record, so a flood of new MACs shares one string instead
 * of keeping one per record alive through young-generation GCs (issue 17).
 */
const vendorClasses = new BoundedMemo<string, string>(64);

function sharedVendorClass(vc: string): string {
  return vendorClasses.get(vc, (v) => v);
}

export function bootRequestOf(msg: DhcpMessage): BootRequest {
  const archs = clientArchs(msg);
  const raw = msg.options.get(Opt.vendorClass);
  const vc = raw === undefined ? undefined : sharedVendorClass(raw.toString('latin1'));
  return {
    mac: macOf(msg),
    ...(archs ? { archs } : {}),
    ...(vc !== undefined ? { vendorClass: vc } : {}),
    userClasses: userClasses(msg),
    hasIpxeEncap: msg.options.has(Opt.ipxeEncap),
  };
}

/** Option 60 as shown: NULs spelt `\\0` (a copy only when there is one; most vendor classes have none). */
function shownVendorClass(vc: string): string {
  return vc.includes('\0') ? vc.replace(/\0/g, '\\0') : vc;
}

/**
 * Who sent `msg`, for engine events. Arch and firmware are the boot decision's (firmwareOfRequest), so the
 * client's row shows the firmware that is served; `netboot` (set when true) is the one netboot-client test.
 */
export function identityOf(msg: DhcpMessage, req: BootRequest, ipxe?: boolean): ClientIdentity {
  const served = firmwareOfRequest(req.archs);
  const uuid = clientUuid(msg);
  const uc = req.userClasses?.[0];
  // Field by field rather than spreads of optional pieces: this runs for every DISCOVER an observer sees,
  // and each spread was a temporary object and a generic copy (same fields, same order).
  const id: Mutable<ClientIdentity> = { mac: req.mac };
  if (served) {
    id.arch = served.arch;
    id.firmware = served.firmware;
  }
  if (req.vendorClass !== undefined) id.vendorClass = shownVendorClass(req.vendorClass);
  if (isNetbootClient(req.vendorClass)) id.netboot = true;
  if (uc !== undefined) id.userClass = uc;
  if (uuid) id.uuid = uuidString(uuid);
  if (ipxe !== undefined) id.ipxe = ipxe;
  return id;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Reply skeleton copying xid, flags, htype, hlen, chaddr, giaddr (RFC 2131 Table 3; docs/protocol-notes.md §1). */
export function replySkeleton(req: DhcpMessage): DhcpMessage {
  return {
    op: 2,
    htype: req.htype,
    hlen: req.hlen,
    hops: 0,
    xid: req.xid,
    secs: 0,
    flags: req.flags & 0x8000,
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: req.giaddr,
    // A view into the request's datagram: transports hand every datagram its own buffer.
    chaddr: req.chaddr,
    sname: '',
    file: '',
    options: new Map(),
    hasCookie: true,
  };
}

/** "Boot the file field at once": PXE_DISCOVERY_CONTROL bit 3 (PXE 2.1 Table 2-1; docs/protocol-notes.md §3). */
export const PXE_SKIP_DISCOVERY = encodeSubOptions([[6, Buffer.from([8])]]);
const VC_PXE = Buffer.from('PXEClient', 'latin1');
const VC_HTTP = Buffer.from('HTTPClient', 'latin1');
const IPXE_NO_PROXY_WAIT = Buffer.from([176, 1, 1]);

/**
 * Adds boot fields for a plan. `with43` decides whether option 43 is sent: BIOS proxy offers and every
 * full-mode PXE reply (tianocore/edk2#8149); UEFI proxy offers leave 43 out so EDK2 takes the BINL path to
 * 4011. `serverId` is our address as 4 bytes (precomputed by the server: this runs per packet).
 */
export function addBootFields(
  reply: DhcpMessage,
  req: DhcpMessage,
  plan: Extract<BootPlan, { kind: 'boot' }>,
  serverId: Buffer,
  with43: boolean,
): void {
  const o = reply.options;
  o.set(Opt.serverId, serverId);
  o.set(Opt.vendorClass, plan.vendorClass === 'PXEClient' ? VC_PXE : VC_HTTP);
  const uuid = clientUuid(req);
  if (uuid) o.set(Opt.clientUuid, uuid); // echoed byte-identical, only when well-formed (D22)
  if (plan.vendorClass === 'PXEClient' && with43) o.set(Opt.vendorSpecific, PXE_SKIP_DISCOVERY);
  if (plan.ipxeNoProxyWait) o.set(Opt.ipxeEncap, IPXE_NO_PROXY_WAIT);
  reply.siaddr = plan.nextServer;
  // A separate file server (PyPXE -f, proxyDHCPd tftpd) is also named in option 66: some ROMs read it.
  if (plan.nextServer !== addressOf(serverId)) o.set(Opt.tftpServer, Buffer.from(plan.nextServer, 'latin1'));
  // Same value in `file` and option 67 (iPXE prefers file, EDK2 prefers 67).
  if (plan.bootFile.length <= 127) reply.file = plan.bootFile;
  o.set(Opt.bootFile, bootFileOption(plan.bootFile));
}

/** Our address as text, per server: built once, not per reply. */
const serverTexts = new WeakMap<Buffer, string>();

function addressOf(serverId: Buffer): string {
  let text = serverTexts.get(serverId);
  if (text === undefined) {
    text = `${serverId[0]}.${serverId[1]}.${serverId[2]}.${serverId[3]}`;
    serverTexts.set(serverId, text);
  }
  return text;
}

/**
 * Option 67 of the boot files served lately (bounded): the same few names go to every client, and an
 * encoded reply only reads its option values, so one buffer per name serves every reply.
 */
const bootFileOptions = new BoundedMemo<string, Buffer>(64);

function bootFileOption(bootFile: string): Buffer {
  return bootFileOptions.get(bootFile, strOpt);
}

/** Encoded menus per (menu, boot server, size budget): built and, when too large, logged once. */
const menuCache = new WeakMap<PxeMenu, Map<string, Buffer | undefined>>();

/**
 * Replaces the "boot at once" 43 of a BIOS reply by the configured menu (43.6/8/9/10, PXE 2.1 Table 2-1):
 * `file` and 67 go, the ROM shows the menu and asks 4011 for the chosen item. Items that do not fit in 255
 * bytes, or in what the client's size limit leaves, are left out with a logged error (dnsmasq "PXE menu
 * too large", test-catalogue D29); when none fits the reply stays "boot at once".
 */
export function addMenu(
  reply: DhcpMessage,
  req: DhcpMessage,
  menu: PxeMenu,
  bootServer: string,
  logger: Logger,
): void {
  reply.options.delete(Opt.vendorSpecific);
  const file = reply.options.get(Opt.bootFile);
  reply.options.delete(Opt.bootFile);
  const room = replyLimit(maxSizeOf(req)) - encodedSize(reply) - 2;
  const budget = Math.max(0, Math.min(255, room));
  let cached = menuCache.get(menu);
  if (!cached) menuCache.set(menu, (cached = new Map()));
  const key = `${bootServer}/${budget}`;
  let value = cached.get(key);
  if (!cached.has(key)) {
    const enc = encodePxeMenu(menu, bootServer, budget);
    value = enc.items > 0 ? enc.value : undefined;
    if (enc.items < menu.items.length) {
      logger.error('PXE menu too large: items left out', {
        sent: enc.items,
        configured: menu.items.length,
        bytes: budget,
      });
    }
    if (cached.size < 64) cached.set(key, value);
  }
  if (value) {
    reply.options.set(Opt.vendorSpecific, value);
    reply.file = '';
  } else {
    reply.options.set(Opt.vendorSpecific, PXE_SKIP_DISCOVERY);
    if (file) reply.options.set(Opt.bootFile, file);
  }
}

export function maxSizeOf(req: DhcpMessage): number | undefined {
  const v = req.options.get(Opt.maxMessageSize);
  return v && v.length === 2 ? v.readUInt16BE(0) : undefined;
}

export type BootServerAnswer =
  | {
      readonly kind: 'ack';
      readonly reply: DhcpMessage;
      readonly to: Endpoint;
      readonly req: BootRequest;
      readonly bootFile: string;
      readonly ipxe: boolean;
    }
  | {
      readonly kind: 'refuse';
      readonly req: BootRequest;
      readonly code: RefusalCode;
      readonly reason: string;
    };

/**
 * The answer to a REQUEST/INFORM on port 4011 (docs/protocol-notes.md §5): a BINL request gets the boot
 * file; a boot-server request with 43.71 gets the chosen item, 43.71 echoed. Sent to the request's source
 * address and port (EDK2 listens on :4011 only; claytono/infra#1362). `undefined`: not a request for us.
 */
export function answerBootServer(
  msg: DhcpMessage,
  source: Endpoint,
  boot: BootConfig,
  serverId: Buffer,
  memory: ClientMemory | undefined,
  now: number,
): BootServerAnswer | undefined {
  if (msg.op !== 1) return undefined;
  const type = messageType(msg);
  if (type !== MessageType.Request && type !== MessageType.Inform) return undefined;
  let req = bootRequestOf(msg);
  if (!req.archs) {
    // P12: no option 93 and no Arch in 60. Answer from what this MAC's DISCOVER said, or not at all.
    const seen = memory?.recall(req.mac, now);
    if (!seen) {
      return {
        kind: 'refuse',
        req,
        code: 'no-recent-discover',
        reason:
          'boot-server request without an architecture (option 93), and no DISCOVER from this MAC seen recently',
      };
    }
    req = { ...seen, mac: req.mac };
  }
  const item = subOptions(msg.options.get(Opt.vendorSpecific)).get(71);
  const plan =
    item && item.length === 4
      ? decideBootItem(req, boot, item.readUInt16BE(0), item.readUInt16BE(2))
      : decideBoot(req, boot);
  if (plan.kind === 'refuse') return { kind: 'refuse', req, code: plan.code, reason: plan.reason };
  const reply = replySkeleton(msg);
  reply.flags = msg.flags & 0x8000;
  reply.ciaddr = msg.ciaddr;
  reply.options.set(Opt.messageType, Buffer.from([MessageType.Ack]));
  addBootFields(reply, msg, plan, serverId, false);
  // PXE 2.1: echo the boot item (same type and layer), then END, as dnsmasq does (test-catalogue P9).
  if (item && item.length === 4) reply.options.set(Opt.vendorSpecific, encodeSubOptions([[71, item]]));
  const to: Endpoint = msg.ciaddr !== '0.0.0.0' ? { address: msg.ciaddr, port: source.port } : source;
  return { kind: 'ack', reply, to, req, bootFile: plan.bootFile, ipxe: plan.ipxe };
}
