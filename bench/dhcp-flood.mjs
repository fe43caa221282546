// DISCOVER generator for bench/dhcp-bench.sh (runs in the client namespace only). Relay-style: giaddr is
// our own address and we listen on port 67, so every server (ours, dnsmasq; proxy or full) answers by
// unicast to us and no broadcast is needed. Prints one JSON line: sent, offers, lost, p50/p99/max in ms.
// usage: node dhcp-flood.mjs SERVER_IP OWN_IP RATE SECS [MAC_SEED]
import { createSocket } from 'node:dgram';

const [server, own, rateArg, secsArg, seedArg] = process.argv.slice(2);
const rate = Number(rateArg);
const secs = Number(secsArg);
const seed = Number(seedArg ?? 1);
const total = Math.round(rate * secs);
const sentAt = new Float64Array(total);
const delays = [];
const vc = Buffer.from('PXEClient:Arch:00000:UNDI:002001');
const ownBytes = own.split('.').map(Number);

function discover(i) {
  const b = Buffer.alloc(240);
  b[0] = 1;
  b[1] = 1;
  b[2] = 6;
  b[3] = 1;
  b.writeUInt32BE(i, 4);
  Buffer.from(ownBytes).copy(b, 24);
  // A distinct MAC per request: state pressure like a flood of new clients.
  b[28] = 0x02;
  b[29] = seed & 0xff;
  b.writeUInt32BE(i, 30);
  b.writeUInt32BE(0x63825363, 236);
  const uuid = Buffer.alloc(17);
  uuid.writeUInt32BE(i, 13);
  return Buffer.concat([
    b,
    Buffer.from([53, 1, 1, 57, 2, 5, 192, 60, vc.length, ...vc, 93, 2, 0, 0, 94, 3, 1, 2, 1, 97, 17]),
    uuid,
    Buffer.from([255]),
  ]);
}

const sock = createSocket({ type: 'udp4', reuseAddr: true });
let offers = 0;
sock.on('message', (m) => {
  if (m.length < 240 || m[0] !== 2) return;
  const xid = m.readUInt32BE(4);
  if (xid < total && sentAt[xid] > 0) {
    delays.push(performance.now() - sentAt[xid]);
    sentAt[xid] = -1;
    offers++;
  }
});
sock.bind(67, own, () => {
  const start = performance.now();
  let i = 0;
  const tick = () => {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
    while (i < due) {
      sentAt[i] = performance.now();
      sock.send(discover(i), 67, server);
      i++;
    }
    if (i < total) setImmediate(tick);
    else setTimeout(done, 2000);
  };
  tick();
});
function done() {
  delays.sort((a, b) => a - b);
  const q = (p) => (delays.length ? delays[Math.min(delays.length - 1, Math.floor(p * delays.length))] : NaN);
  console.log(
    JSON.stringify({
      sent: total,
      offers,
      lost: total - offers,
      p50_ms: +q(0.5).toFixed(3),
      p99_ms: +q(0.99).toFixed(3),
      max_ms: +(delays.at(-1) ?? NaN).toFixed(3),
    }),
  );
  sock.close();
}
