#!/usr/bin/env node
/**
 * A scripted PXE 2.1 ROM's DHCP side, for tests that need the proxyDHCP exchange of a real firmware
 * without booting one (docs/decisions.md, "UI tests and the network").
 * Deliberately independent of PXE Desk's own codec: packets are built byte by byte from RFC 2131/2132
 * and the PXE 2.1 spec, so a codec bug cannot hide in both ends.
 *
 * Runs INSIDE a client network namespace only (it broadcasts to 255.255.255.255:67).
 *   node pxe-client.mjs --server 10.0.0.1 --mac 52:54:00:aa:bb:cc --ciaddr 10.0.0.101 [--arch 0]
 *                       [--tries 3] [--wait-ms 3000] [--offers-from IP,IP]
 * Prints one JSON line: { offers: [{server, vendorClass, yiaddr, file}], proxyOffer, ack: {file, siaddr} }
 * Exit 0 when the 4011 ACK with a boot file came back from --server, 2 when no proxy offer came.
 * --offers-from: after the proxy offer, also wait (up to --wait-ms) for an offer from each of these servers, as a
 * ROM collects offers for a while: on a loaded machine the site's offer can come after ours.
 */
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}
const server = arg('server');
const mac = arg('mac');
const ciaddr = arg('ciaddr', '0.0.0.0');
const arch = Number(arg('arch', '0'));
const tries = Number(arg('tries', '3'));
const waitMs = Number(arg('wait-ms', '3000'));
const offersFrom = (arg('offers-from', '') ?? '').split(',').filter(Boolean);
if (!server || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac ?? '')) {
  console.error('usage: pxe-client.mjs --server IP --mac aa:bb:cc:dd:ee:ff [--ciaddr IP] [--arch N]');
  process.exit(64);
}
const macBytes = Buffer.from(mac.replace(/:/g, ''), 'hex');
const ip4 = (s) => Buffer.from(s.split('.').map(Number));
const guid = randomBytes(16);

/** BOOTP header (RFC 2131 §2) + magic cookie + options. */
function packet(type, xid, ci) {
  const b = Buffer.alloc(240);
  b[0] = 1; // BOOTREQUEST
  b[1] = 1; // Ethernet
  b[2] = 6;
  b.writeUInt32BE(xid, 4);
  b.writeUInt16BE(0x8000, 10); // broadcast flag: the ROM has no address yet
  ip4(ci).copy(b, 12);
  macBytes.copy(b, 28);
  b.writeUInt32BE(0x63825363, 236);
  const vc = Buffer.from(`PXEClient:Arch:${String(arch).padStart(5, '0')}:UNDI:002001`);
  const opts = [
    [53, Buffer.from([type])],
    [57, Buffer.from([0x05, 0xc0])], // max message size 1472
    [55, Buffer.from([1, 3, 43, 60, 66, 67, 97, 128, 129, 130, 131, 132, 133, 134, 135])],
    [60, vc],
    [93, Buffer.from([arch >> 8, arch & 0xff])], // client system architecture (RFC 4578)
    [94, Buffer.from([1, 2, 1])], // UNDI 2.1
    [97, Buffer.concat([Buffer.from([0]), guid])], // client machine identifier
  ];
  const parts = [b];
  for (const [code, data] of opts) parts.push(Buffer.from([code, data.length]), data);
  parts.push(Buffer.from([255]));
  return Buffer.concat(parts);
}

function parse(msg) {
  if (msg.length < 240 || msg[0] !== 2 || msg.readUInt32BE(236) !== 0x63825363) return undefined;
  const options = new Map();
  for (let i = 240; i < msg.length;) {
    const code = msg[i];
    if (code === 255) break;
    if (code === 0) {
      i += 1;
      continue;
    }
    const len = msg[i + 1];
    options.set(code, msg.subarray(i + 2, i + 2 + len));
    i += 2 + len;
  }
  const ip = (off) => [...msg.subarray(off, off + 4)].join('.');
  const cstr = (buf) => buf.toString('latin1').replace(/\0.*$/s, '');
  return {
    xid: msg.readUInt32BE(4),
    type: options.get(53)?.[0],
    server: options.has(54) ? [...options.get(54)].join('.') : undefined,
    vendorClass: options.has(60) ? options.get(60).toString('latin1') : undefined,
    yiaddr: ip(16),
    siaddr: ip(20),
    file: options.has(67) ? cstr(options.get(67)) : cstr(msg.subarray(108, 236)),
  };
}

const sock = createSocket({ type: 'udp4', reuseAddr: true });
const sent = (error) => {
  if (error) {
    console.error(`send failed: ${error.message}`);
    process.exit(1);
  }
};
const replies = [];
let waiter;
sock.on('message', (m, rinfo) => {
  const p = parse(m);
  if (!p) return;
  replies.push({ ...p, from: `${rinfo.address}:${rinfo.port}` });
  waiter?.();
});
const waitFor = (pred, ms) =>
  new Promise((resolve) => {
    const found = () => replies.find(pred);
    if (found()) return resolve(found());
    const t = setTimeout(() => {
      waiter = undefined;
      resolve(undefined);
    }, ms);
    waiter = () => {
      const f = found();
      if (f) {
        clearTimeout(t);
        waiter = undefined;
        resolve(f);
      }
    };
  });

await new Promise((r) => sock.bind(68, '0.0.0.0', r));
sock.setBroadcast(true);
const xid = randomBytes(4).readUInt32BE(0);
let proxyOffer;
for (let i = 0; i < tries && !proxyOffer; i++) {
  sock.send(packet(1, xid, '0.0.0.0'), 67, '255.255.255.255', sent);
  // PXE 2.1: the ROM collects offers for a while and prefers one carrying PXEClient (option 60).
  proxyOffer = await waitFor(
    (p) => p.xid === xid && p.type === 2 && p.server === server && p.vendorClass === 'PXEClient',
    waitMs,
  );
}
if (proxyOffer && offersFrom.length > 0) {
  const offered = (s) => replies.some((p) => p.xid === xid && p.type === 2 && p.server === s);
  await waitFor(() => offersFrom.every(offered), waitMs);
}
const offers = replies
  .filter((p) => p.xid === xid && p.type === 2)
  .map(({ server: s, vendorClass, yiaddr, file }) => ({ server: s, vendorClass, yiaddr, file }));
if (!proxyOffer) {
  console.log(JSON.stringify({ offers }));
  sock.close();
  process.exit(2);
}
// Boot Server discovery on 4011 (PXE 2.1 §2.2.5): unicast REQUEST with our address in ciaddr.
const xid2 = (xid + 1) >>> 0;
let ack;
for (let i = 0; i < tries && !ack; i++) {
  sock.send(packet(3, xid2, ciaddr), 4011, server, sent);
  ack = await waitFor((p) => p.xid === xid2 && p.type === 5, waitMs);
}
console.log(
  JSON.stringify({
    offers,
    proxyOffer: { server: proxyOffer.server, file: proxyOffer.file },
    ...(ack ? { ack: { file: ack.file, siaddr: ack.siaddr, server: ack.server } } : {}),
  }),
);
sock.close();
process.exit(ack?.file ? 0 : 3);
