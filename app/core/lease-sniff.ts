/**
 * Proxy mode learns a client's address from the site's DHCP exchange it overhears.
 *
 * The site server leases the address, so none of our replies carries it, yet a PXE ROM downloads its
 * NBP over TFTP from that address right after the lease (BIOS with discovery control 8 never even asks
 * us on 4011). The client's DHCPREQUEST is broadcast to port 67, where the proxy listens anyway:
 * SELECTING and INIT-REBOOT requests name the address in option 50 (RFC 2131 §4.3.2), a renewing one
 * carries it in ciaddr. Binding that IP to the MAC lets the TFTP download join the machine's record.
 */
import { decode, MessageType, Opt, macOf, messageType } from '../engines/dhcp/codec.js';
import type { Datagram } from '../shared/datagram-transport.js';
import type { DhcpEvent } from '../shared/events.js';
import { normalizeMac } from './config-validate.js';

export interface SniffedRequest {
  readonly mac: string;
  readonly ip: string;
  /** Option 54: the server the client chose (the site's DHCP server). */
  readonly server?: string;
  readonly xid: number;
  /** Option 60 as sent ("PXEClient:Arch:00000:UNDI:002001"). */
  readonly vendorClass?: string;
}

const ipOf = (v: Buffer | undefined): string | undefined =>
  v && v.length === 4 ? [...v].join('.') : undefined;

/** A client's DHCPREQUEST on the server port, reduced to MAC → IP; undefined for anything else. Never throws. */
export function sniffRequest(d: Datagram): SniffedRequest | undefined {
  if (d.channel !== 'dhcp') return undefined;
  let msg;
  try {
    msg = decode(d.data);
  } catch {
    return undefined; // the proxy engine counts malformed packets; nothing to learn here
  }
  if (msg.op !== 1 || messageType(msg) !== MessageType.Request) return undefined;
  const ip = ipOf(msg.options.get(Opt.requestedIp)) ?? (msg.ciaddr !== '0.0.0.0' ? msg.ciaddr : undefined);
  const mac = normalizeMac(macOf(msg));
  if (!ip || ip === '0.0.0.0' || !mac) return undefined;
  const server = ipOf(msg.options.get(Opt.serverId));
  const vendorClass = msg.options.get(Opt.vendorClass)?.toString('latin1');
  return {
    mac,
    ip,
    xid: msg.xid,
    ...(server ? { server } : {}),
    ...(vendorClass ? { vendorClass } : {}),
  };
}

/** The timeline event for a sniffed request (engine 'proxy': it is what the proxy overheard). */
export function requestEvent(r: SniffedRequest, time: number): DhcpEvent {
  return {
    engine: 'proxy',
    type: 'request',
    time,
    xid: r.xid,
    ip: r.ip,
    client: { mac: r.mac, ...(r.vendorClass ? { vendorClass: r.vendorClass.replace(/\0/g, '\\0') } : {}) },
    ...(r.server ? { server: r.server } : {}),
  };
}
