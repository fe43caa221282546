// Floor experiment (not a test, not part of tftp-bench.sh): the least work a Node dgram lockstep TFTP
// server can do per ACK — no checks, no options beyond a fixed blksize 1468 OACK, the file in memory, no
// timers. Comparing its CPU per MB with the engine's (same atftp client, same minutes) shows how much of
// the engine's per-packet cost is Node's own. Loopback only.
// Usage: node bench/tftp-floor.mjs FILE PORT   then   atftp --option "blksize 1468" -g -r x -l out 127.0.0.1 PORT
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';

const [file, port] = process.argv.slice(2);
const data = readFileSync(file ?? '');
const BLKSIZE = 1468;
const listen = createSocket('udp4');
listen.on('message', (_request, rinfo) => {
  const socket = createSocket({ type: 'udp4', lookup: (address, _o, cb) => cb(null, address, 4) });
  const packet = Buffer.allocUnsafe(BLKSIZE + 4);
  packet[0] = 0;
  packet[1] = 3;
  const last = Math.floor(data.length / BLKSIZE) + 1;
  let sent = 0;
  const sendBlock = (block) => {
    const position = (block - 1) * BLKSIZE;
    const n = Math.max(0, Math.min(BLKSIZE, data.length - position));
    data.copy(packet, 4, position, position + n);
    packet[2] = (block >> 8) & 0xff;
    packet[3] = block & 0xff;
    socket.send(n === BLKSIZE ? packet : packet.subarray(0, n + 4), rinfo.port, rinfo.address);
  };
  socket.on('message', (ack) => {
    if (ack[1] !== 4) return;
    const wire = (ack[2] << 8) | ack[3];
    if (sent === 0) {
      if (wire !== 0) return;
      sent = 1;
      sendBlock(1);
      return;
    }
    if (sent - ((sent - wire) & 0xffff) !== sent) return;
    if (sent >= last) {
      socket.close();
      return;
    }
    sent++;
    sendBlock(sent);
  });
  socket.bind(0, '127.0.0.1', () =>
    socket.send(Buffer.from(`\0\x06blksize\0${BLKSIZE}\0`, 'latin1'), rinfo.port, rinfo.address),
  );
});
listen.bind(Number(port ?? 16973), '127.0.0.1');
