/**
 * A scripted PXE client for namespace tests: what a PXE ROM does on the wire, one step per run.
 *   discover '<json {mac, arch, userClass?, waitMs}>'  → broadcasts one PXE DISCOVER from :68 and
 *       prints every OFFER for it as JSON: [{from, serverId, yiaddr, file, vendorClass, siaddr}]
 *   tftp-stall '<json {server, file, ackBlocks, blksize}>' → reads a file over TFTP, acknowledges
 *       `ackBlocks` data blocks, then goes silent (a firewall/MTU stall); prints {acked}
 * Run inside a client namespace (it binds UDP 68) with `node --import tsx`.
 */
import { createSocket } from 'node:dgram';
import { Opt, decode, encode, macOf, messageType, type DhcpMessage } from '../../app/engines/dhcp/index.js';

const [cmd, arg] = process.argv.slice(2);
const input = JSON.parse(arg ?? '{}') as Record<string, unknown>;

function discover(mac: string, arch: number, userClass: string | undefined, xid: number): Buffer {
  const chaddr = Buffer.alloc(16);
  Buffer.from(mac.split(':').map((h) => parseInt(h, 16))).copy(chaddr);
  const options = new Map<number, Buffer>([
    [Opt.messageType, Buffer.from([1])],
    [Opt.paramRequest, Buffer.from([1, 3, 6, 43, 54, 60, 66, 67])],
    [Opt.clientArch, Buffer.from([arch >> 8, arch & 255])],
    [Opt.clientNdi, Buffer.from([1, 2, 1])],
    [Opt.vendorClass, Buffer.from(`PXEClient:Arch:${String(arch).padStart(5, '0')}:UNDI:002001`)],
  ]);
  if (userClass) options.set(Opt.userClass, Buffer.from(userClass));
  const msg: DhcpMessage = {
    op: 1,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid,
    secs: 4,
    flags: 0x8000,
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr,
    sname: '',
    file: '',
    options,
    hasCookie: true,
  };
  return encode(msg);
}

if (cmd === 'discover') {
  const mac = String(input.mac);
  const xid = Math.floor(Math.random() * 0xffffffff) >>> 0;
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  const offers: unknown[] = [];
  socket.on('message', (data, rinfo) => {
    try {
      const m = decode(data);
      if (m.op !== 2 || m.xid !== xid || macOf(m) !== mac || messageType(m) !== 2) return;
      const id = m.options.get(Opt.serverId);
      offers.push({
        from: rinfo.address,
        serverId: id && id.length === 4 ? [...id].join('.') : undefined,
        yiaddr: m.yiaddr,
        siaddr: m.siaddr,
        file: m.options.get(Opt.bootFile)?.toString('latin1').replace(/\0+$/, '') ?? m.file,
        vendorClass: m.options.get(Opt.vendorClass)?.toString('latin1'),
      });
    } catch {
      /* not DHCP */
    }
  });
  socket.bind(68, () => {
    socket.setBroadcast(true);
    socket.send(
      discover(mac, Number(input.arch ?? 0), input.userClass as string | undefined, xid),
      67,
      '255.255.255.255',
    );
    setTimeout(
      () => {
        process.stdout.write(`${JSON.stringify(offers)}\n`);
        socket.close();
      },
      Number(input.waitMs ?? 2000),
    );
  });
} else if (cmd === 'tftp-stall') {
  const socket = createSocket('udp4');
  const blksize = Number(input.blksize ?? 512);
  const ackBlocks = Number(input.ackBlocks ?? 3);
  let acked = 0;
  socket.on('message', (data, rinfo) => {
    const op = data.readUInt16BE(0);
    const ack = (n: number): void => {
      const b = Buffer.alloc(4);
      b.writeUInt16BE(4, 0);
      b.writeUInt16BE(n, 2);
      socket.send(b, rinfo.port, rinfo.address);
    };
    if (op === 6)
      ack(0); // OACK
    else if (op === 3) {
      const block = data.readUInt16BE(2);
      if (block <= ackBlocks && block === acked + 1) {
        acked = block;
        ack(block);
      }
    }
  });
  socket.bind(0, () => {
    const rrq = Buffer.concat([
      Buffer.from([0, 1]),
      Buffer.from(`${String(input.file)}\0octet\0blksize\0${blksize}\0timeout\x001\0`),
    ]);
    socket.send(rrq, 69, String(input.server));
    setTimeout(
      () => {
        process.stdout.write(`${JSON.stringify({ acked })}\n`);
        socket.close();
      },
      Number(input.waitMs ?? 3000),
    );
  });
} else {
  process.stderr.write('usage: foreign-lan-client.ts discover|tftp-stall JSON\n');
  process.exit(2);
}
