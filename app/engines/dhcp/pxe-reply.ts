/** Shared pieces of the proxy and full servers: request parsing into a BootRequest, reply skeletons. */
import type { BootPlan, BootRequest } from '../../core/boot-decision.js';
import type { ClientIdentity } from '../../shared/events.js';
import { firmwareOf } from '../../core/boot-decision.js';
import type { DhcpMessage } from './codec.js';
import {
  Opt,
  clientArchs,
  clientUuid,
  encodeSubOptions,
  macOf,
  strOpt,
  userClasses,
  uuidString,
  ipToBytes,
} from './codec.js';

export function bootRequestOf(msg: DhcpMessage): BootRequest {
  const archs = clientArchs(msg);
  const vc = msg.options.get(Opt.vendorClass)?.toString('latin1');
  return {
    mac: macOf(msg),
    ...(archs ? { archs } : {}),
    ...(vc !== undefined ? { vendorClass: vc } : {}),
    userClasses: userClasses(msg),
    hasIpxeEncap: msg.options.has(Opt.ipxeEncap),
  };
}

export function identityOf(msg: DhcpMessage, req: BootRequest, ipxe?: boolean): ClientIdentity {
  const arch = req.archs?.[0];
  const uuid = clientUuid(msg);
  const uc = req.userClasses?.[0];
  return {
    mac: req.mac,
    ...(arch !== undefined ? { arch, firmware: firmwareOf(arch) } : {}),
    ...(req.vendorClass !== undefined ? { vendorClass: req.vendorClass.replace(/\0/g, '\\0') } : {}),
    ...(uc !== undefined ? { userClass: uc } : {}),
    ...(uuid ? { uuid: uuidString(uuid) } : {}),
    ...(ipxe !== undefined ? { ipxe } : {}),
  };
}

/** Reply skeleton copying xid, flags, htype, hlen, chaddr, giaddr (protocol.md §0.1). */
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
    chaddr: Buffer.from(req.chaddr),
    sname: '',
    file: '',
    options: new Map(),
    hasCookie: true,
  };
}

/** "Boot the file field at once": PXE_DISCOVERY_CONTROL bit 3 (protocol.md §0.3). */
export const PXE_SKIP_DISCOVERY = encodeSubOptions([[6, Buffer.from([8])]]);

/**
 * Adds boot fields for a plan. `bios43` decides whether option 43 = 06 01 08 FF is sent: BIOS proxy
 * offers and every full-mode PXE reply (tianocore/edk2#8149); UEFI proxy offers leave 43 out so EDK2
 * takes the BINL path to 4011.
 */
export function addBootFields(
  reply: DhcpMessage,
  req: DhcpMessage,
  plan: Extract<BootPlan, { kind: 'boot' }>,
  serverAddress: string,
  with43: boolean,
): void {
  const o = reply.options;
  o.set(Opt.serverId, ipToBytes(serverAddress));
  o.set(Opt.vendorClass, Buffer.from(plan.vendorClass, 'latin1'));
  const uuid = clientUuid(req);
  if (uuid) o.set(Opt.clientUuid, uuid); // echoed byte-identical, only when well-formed (D22)
  if (plan.vendorClass === 'PXEClient' && with43) o.set(Opt.vendorSpecific, PXE_SKIP_DISCOVERY);
  if (plan.ipxeNoProxyWait) o.set(Opt.ipxeEncap, Buffer.from([176, 1, 1]));
  reply.siaddr = plan.nextServer;
  // A separate file server (PyPXE -f, proxyDHCPd tftpd) is also named in option 66: some ROMs read it.
  if (plan.nextServer !== serverAddress) o.set(Opt.tftpServer, Buffer.from(plan.nextServer, 'latin1'));
  // Same value in `file` and option 67 (iPXE prefers file, EDK2 prefers 67).
  if (plan.bootFile.length <= 127) reply.file = plan.bootFile;
  o.set(Opt.bootFile, strOpt(plan.bootFile));
}

export function maxSizeOf(req: DhcpMessage): number | undefined {
  const v = req.options.get(Opt.maxMessageSize);
  return v && v.length === 2 ? v.readUInt16BE(0) : undefined;
}
