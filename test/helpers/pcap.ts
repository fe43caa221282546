/** Tiny pcap (libpcap classic, Ethernet or Linux cooked) reader: enough to pull UDP payloads out of the lab captures. */
import { readFileSync } from 'node:fs';

export interface UdpPacket {
  readonly index: number;
  readonly srcIp: string;
  readonly dstIp: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly payload: Buffer;
}

const ip = (b: Buffer, o: number): string => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;

export function readPcapUdp(path: string): UdpPacket[] {
  const buf = readFileSync(path);
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && buf.readUInt32BE(0) !== 0xa1b2c3d4 && buf.readUInt32BE(0) !== 0xa1b23c4d) {
    throw new Error(`${path}: not a classic pcap file`);
  }
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linktype = u32(20);
  const out: UdpPacket[] = [];
  let off = 24;
  let index = 0;
  while (off + 16 <= buf.length) {
    const incl = u32(off + 8);
    const frame = buf.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    index++;
    let l3: number;
    if (linktype === 1) {
      if (frame.readUInt16BE(12) !== 0x0800) continue;
      l3 = 14;
    } else if (linktype === 113) {
      if (frame.readUInt16BE(14) !== 0x0800) continue;
      l3 = 16;
    } else throw new Error(`unsupported linktype ${linktype}`);
    if (frame[l3]! >> 4 !== 4 || frame[l3 + 9] !== 17) continue;
    const ihl = (frame[l3]! & 15) * 4;
    const udp = l3 + ihl;
    const len = frame.readUInt16BE(udp + 4);
    out.push({
      index,
      srcIp: ip(frame, l3 + 12),
      dstIp: ip(frame, l3 + 16),
      srcPort: frame.readUInt16BE(udp),
      dstPort: frame.readUInt16BE(udp + 2),
      payload: Buffer.from(frame.subarray(udp + 8, udp + len)),
    });
  }
  return out;
}

/** DHCP requests (to 67 or 4011) from every capture in a folder. */
export function dhcpRequests(packets: readonly UdpPacket[]): UdpPacket[] {
  return packets.filter((p) => p.dstPort === 67 || p.dstPort === 4011);
}
