// Scripted PXE client for the CLI namespace tests, run with plain node inside a client namespace.
// It builds and parses DHCP by hand (RFC 2131/2132, PXE 2.1), independent of the project's codec, so
// a codec bug cannot hide itself. Prints one JSON object on stdout.
//
//   node cli-pxe-client.mjs '{"arch":0,"userClass":"iPXE","lease":true,"waitMs":2500}'
//
// lease=true: after the offers, REQUEST the site server's address (option 50 + 54, SELECTING state)
// and, on its ACK, put the address on eth0 (the next step, a TFTP download, then comes from it).
// pxe4011=IP: after the offers, send a boot-server REQUEST to IP:4011 (ciaddr = our address).
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

const opts = JSON.parse(process.argv[2] ?? '{}');
const iface = opts.iface ?? 'eth0';
const mac = readFileSync(`/sys/class/net/${iface}/address`, 'utf8').trim();
const macBytes = Buffer.from(mac.replace(/:/g, ''), 'hex');
const xid = randomBytes(4).readUInt32BE(0);
const arch = opts.arch ?? 0;
const vendorClass = `PXEClient:Arch:${String(arch).padStart(5, '0')}:UNDI:003016`;
const uuid = Buffer.concat([Buffer.from([0]), randomBytes(16)]);

const ipBytes = (ip) => Buffer.from(ip.split('.').map(Number));
const ipStr = (b) => [...b].join('.');

function packet(type, { ciaddr = '0.0.0.0', extra = [] } = {}) {
  const b = Buffer.alloc(240);
  b[0] = 1; // BOOTREQUEST
  b[1] = 1;
  b[2] = 6;
  b.writeUInt32BE(xid, 4);
  b.writeUInt16BE(4, 8); // secs
  b.writeUInt16BE(0x8000, 10); // broadcast flag: replies come to 255.255.255.255:68
  ipBytes(ciaddr).copy(b, 12);
  macBytes.copy(b, 28);
  b.writeUInt32BE(0x63825363, 236);
  const o = [];
  const add = (code, value) => o.push(Buffer.from([code, value.length]), value);
  add(53, Buffer.from([type]));
  add(55, Buffer.from([1, 3, 6, 43, 60, 66, 67, 97, 128, 175]));
  add(57, Buffer.from([0x05, 0xc0]));
  add(60, Buffer.from(vendorClass));
  add(93, Buffer.from([arch >> 8, arch & 255]));
  add(94, Buffer.from([1, 3, 16]));
  add(97, uuid);
  // iPXE sends its user class as a bare string (no RFC 3004 length prefix).
  if (opts.userClass) add(77, Buffer.from(opts.userClass));
  for (const [code, value] of extra) add(code, value);
  o.push(Buffer.from([255]));
  return Buffer.concat([b, ...o]);
}

function parse(m, from) {
  if (m.length < 240 || m[0] !== 2 || m.readUInt32BE(4) !== xid) return undefined;
  const options = {};
  let p = 240;
  while (p < m.length && m[p] !== 255) {
    if (m[p] === 0) {
      p++;
      continue;
    }
    const code = m[p];
    const len = m[p + 1];
    options[code] = m.subarray(p + 2, p + 2 + len);
    p += 2 + len;
  }
  const cstr = (b) => b.toString('latin1').replace(/\0.*$/s, '');
  return {
    from,
    type: options[53]?.[0],
    yiaddr: ipStr(m.subarray(16, 20)),
    siaddr: ipStr(m.subarray(20, 24)),
    file: cstr(m.subarray(108, 236)),
    serverId: options[54] ? ipStr(options[54]) : undefined,
    vendorClass: options[60]?.toString('latin1'),
    opt43: options[43]?.toString('hex'),
    opt66: options[66] ? cstr(options[66]) : undefined,
    opt67: options[67] ? cstr(options[67]) : undefined,
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sock = createSocket({ type: 'udp4', reuseAddr: true });
const replies = [];
sock.on('message', (m, r) => {
  const p = parse(m, `${r.address}:${r.port}`);
  if (p) replies.push(p);
});
await new Promise((r) => sock.bind(68, r));
sock.setBroadcast(true);
const send = (buf, port, to) =>
  new Promise((resolve, reject) => sock.send(buf, port, to, (e) => (e ? reject(e) : resolve())));

const result = { mac, xid, offers: [] };
await send(packet(1), 67, '255.255.255.255');
await sleep(opts.waitMs ?? 2500);
result.offers = replies.filter((r) => r.type === 2);

if (opts.lease) {
  const site = result.offers.find((o) => o.yiaddr !== '0.0.0.0');
  if (!site) result.error = 'no offer with an address';
  else {
    replies.length = 0;
    await send(
      packet(3, {
        extra: [
          [50, ipBytes(site.yiaddr)],
          [54, ipBytes(site.serverId)],
        ],
      }),
      67,
      '255.255.255.255',
    );
    for (let i = 0; i < 40 && !replies.some((r) => r.type === 5); i++) await sleep(100);
    const ack = replies.find((r) => r.type === 5);
    if (!ack) result.error = 'no ACK from the site server';
    else {
      result.ack = ack;
      execFileSync('ip', ['addr', 'add', `${ack.yiaddr}/24`, 'dev', iface]);
    }
  }
}

if (opts.pxe4011) {
  replies.length = 0;
  const extra = opts.bootItem ? [[43, Buffer.from([71, 4, 0x80, 0x01, 0, 0, 255])]] : [];
  const ciaddr = opts.ciaddr ?? '0.0.0.0';
  const pxe = createSocket({ type: 'udp4', reuseAddr: true });
  pxe.on('message', (m, r) => {
    const p = parse(m, `${r.address}:${r.port}`);
    if (p) replies.push(p);
  });
  await new Promise((r) => pxe.bind(4011, r));
  await new Promise((resolve, reject) =>
    pxe.send(packet(3, { ciaddr, extra }), 4011, opts.pxe4011, (e) => (e ? reject(e) : resolve())),
  );
  for (let i = 0; i < 30 && !replies.some((r) => r.type === 5); i++) await sleep(100);
  result.pxeAck = replies.find((r) => r.type === 5);
  pxe.close();
}

sock.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
