// OFFER latency from a packet capture taken in the generator's namespace (bench/dhcp-bench.sh): pairs each
// BOOTREQUEST with the first BOOTREPLY of the same xid and reports wire-time p50/p99/max. Measuring on the
// wire keeps the figure independent of the generator (perfdhcp reports only avg/max). Not a test.
// usage: node dhcp-latency.mjs CAPTURE.pcap   (Ethernet or Linux cooked link type, micro- or nanosecond pcap)
//        TIMELINE_MS=N also prints, per N ms of requests, the worst delay and how many exceeded 5 ms (stderr):
//        where in the run the tail comes from.
// Also counts generator stalls: gaps of more than 2 ms between two consecutive requests on the wire. perfdhcp
// paces its sends at the requested rate (50 µs apart at 20 000/s), so such a gap means the generator itself fell
// behind (it receives and parses every reply on the same core), and a reply arriving then may overflow its socket:
// losses counted at the generator in a run with many stalls say more about the generator than about the server.
import { readFileSync } from 'node:fs';

const buf = readFileSync(process.argv[2]);
const magic = buf.readUInt32LE(0);
const nano = magic === 0xa1b23c4d;
if (magic !== 0xa1b2c3d4 && !nano) throw new Error('not a little-endian pcap file');
const link = buf.readUInt32LE(20);
const l2 = link === 1 ? 14 : link === 113 ? 16 : -1;
if (l2 < 0) throw new Error(`unsupported link type ${link}`);
const sent = new Map();
const delays = [];
const timeline = [];
let requests = 0;
let replies = 0;
let lastRequest = -1;
let genStalls = 0;
for (let p = 24; p + 16 <= buf.length;) {
  const t = buf.readUInt32LE(p) * 1e3 + buf.readUInt32LE(p + 4) / (nano ? 1e6 : 1e3);
  const caplen = buf.readUInt32LE(p + 8);
  const pkt = buf.subarray(p + 16, p + 16 + caplen);
  p += 16 + caplen;
  if (pkt.length < l2 + 20) continue;
  const ihl = (pkt[l2] & 15) * 4;
  const dhcp = l2 + ihl + 8;
  if (pkt[l2 + 9] !== 17 || pkt.length < dhcp + 8) continue;
  const xid = pkt.readUInt32BE(dhcp + 4);
  if (pkt[dhcp] === 1) {
    requests++;
    if (lastRequest >= 0 && t - lastRequest > 2) genStalls++;
    lastRequest = t;
    if (!sent.has(xid)) sent.set(xid, t);
  } else if (pkt[dhcp] === 2) {
    replies++;
    const t0 = sent.get(xid);
    if (t0 !== undefined && t0 >= 0) {
      delays.push(t - t0);
      timeline.push([t0, t - t0]);
      sent.set(xid, -1);
    }
  }
}
const bucket = Number(process.env.TIMELINE_MS || 0);
if (bucket > 0 && timeline.length) {
  const start = Math.min(...timeline.map(([t0]) => t0));
  const rows = new Map();
  for (const [t0, d] of timeline) {
    const k = Math.floor((t0 - start) / bucket);
    const r = rows.get(k) ?? { max: 0, slow: 0, n: 0 };
    r.max = Math.max(r.max, d);
    r.slow += d > 5 ? 1 : 0;
    r.n++;
    rows.set(k, r);
  }
  for (const [k, r] of [...rows].sort((a, b) => a[0] - b[0]))
    if (r.slow)
      console.error(`${k * bucket} ms: ${r.n} requests, ${r.slow} over 5 ms, worst ${r.max.toFixed(1)} ms`);
}
delays.sort((a, b) => a - b);
const q = (f) => (delays.length ? delays[Math.min(delays.length - 1, Math.floor(f * delays.length))] : NaN);
console.log(
  JSON.stringify({
    requests,
    replies,
    answered: delays.length,
    p50_ms: +q(0.5).toFixed(3),
    p99_ms: +q(0.99).toFixed(3),
    max_ms: +(delays.at(-1) ?? NaN).toFixed(3),
    gen_stalls: genStalls,
  }),
);
