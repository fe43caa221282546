/**
 * Raw UDP TFTP client for packet-level cases of docs/test-catalogue.md that real clients cannot produce (lost/duplicate
 * ACKs, hostile names, probe aborts).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

export interface RawPacket {
  readonly data: Buffer;
  readonly from: RemoteInfo;
}

export class RawTftpClient {
  private readonly socket: Socket = createSocket({ type: 'udp4' });
  private readonly queue: RawPacket[] = [];
  private waiter: (() => void) | undefined;

  async open(): Promise<void> {
    this.socket.on('message', (data, from) => {
      this.queue.push({ data, from });
      this.waiter?.();
    });
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', () => resolve()));
  }

  send(port: number, data: Buffer): void {
    this.socket.send(data, port, '127.0.0.1');
  }

  rrq(
    port: number,
    name: string | Buffer,
    mode = 'octet',
    options: Record<string, string> = {},
    op = 1,
  ): void {
    const parts = [
      Buffer.from([0, op]),
      Buffer.isBuffer(name) ? name : Buffer.from(name, 'latin1'),
      Buffer.from([0]),
    ];
    parts.push(Buffer.from(`${mode}\0`));
    for (const [k, v] of Object.entries(options)) parts.push(Buffer.from(`${k}\0${v}\0`));
    this.send(port, Buffer.concat(parts));
  }

  ack(port: number, block: number): void {
    this.send(port, Buffer.from([0, 4, (block >> 8) & 0xff, block & 0xff]));
  }

  error(port: number, code: number, message: string): void {
    this.send(port, Buffer.concat([Buffer.from([0, 5, 0, code]), Buffer.from(`${message}\0`)]));
  }

  /** Next packet, or undefined after `ms`. */
  async next(ms = 3000): Promise<RawPacket | undefined> {
    const deadline = Date.now() + ms;
    while (this.queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return this.queue.shift();
  }

  localPort(): number {
    return this.socket.address().port;
  }

  close(): void {
    this.socket.close();
  }
}

export const opcode = (p: RawPacket): number => p.data.readUInt16BE(0);
export const block = (p: RawPacket): number => p.data.readUInt16BE(2);

/** OACK options as a lower-cased map. */
export function oackOptions(p: RawPacket): Record<string, string> {
  const fields = p.data.subarray(2).toString('latin1').split('\0');
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i]!.toLowerCase()] = fields[i + 1]!;
  return out;
}

/**
 * Lean lockstep download (RRQ with blksize, ACK every block at once, resend the last ACK after 1 s of
 * silence, give up after 15 s): the load test runs 200 of these in the test process, so no promise or
 * timer per packet. Resolves with the file bytes.
 */
export function downloadLockstep(port: number, name: string, blksize = 1468): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: 'udp4' });
    const chunks: Buffer[] = [];
    let expected = 1;
    let tid = 0;
    let lastAck: Buffer | undefined;
    let lastHeard = Date.now();
    let started = Date.now();
    const request = Buffer.concat([
      Buffer.from([0, 1]),
      Buffer.from(`${name}\0octet\0blksize\0${blksize}\0`, 'latin1'),
    ]);
    const finish = (error?: Error): void => {
      clearInterval(watchdog);
      socket.close();
      if (error) reject(error);
      else resolve(Buffer.concat(chunks));
    };
    const watchdog = setInterval(() => {
      const now = Date.now();
      if (now - lastHeard > 15_000) finish(new Error(`stalled at block ${expected} of ${name}`));
      else if (now - lastHeard > 1000 && now - started > 1000) {
        started = now;
        if (lastAck && tid) socket.send(lastAck, tid, '127.0.0.1');
        else socket.send(request, port, '127.0.0.1');
      }
    }, 250);
    socket.on('message', (msg, from) => {
      lastHeard = Date.now();
      const op = msg.readUInt16BE(0);
      if (op === 5) {
        finish(new Error(`ERROR ${msg.readUInt16BE(2)} for ${name}`));
        return;
      }
      if (tid === 0) tid = from.port;
      if (from.port !== tid) return;
      if (op === 6) {
        lastAck = Buffer.from([0, 4, 0, 0]);
      } else if (op === 3) {
        const wire = msg.readUInt16BE(2);
        if (wire === (expected & 0xffff)) {
          chunks.push(Buffer.from(msg.subarray(4)));
          lastAck = Buffer.from([0, 4, wire >> 8, wire & 0xff]);
          expected++;
          // The last ACK must leave before the socket closes. A send from inside the receive callback
          // is only queued (libuv sends it on the next loop turn), and closing cancels it; a timer
          // fired first on a loaded machine, the ACK was lost and the server dallied ~31 s (T14).
          if (msg.length - 4 < blksize) socket.send(lastAck, tid, '127.0.0.1', () => finish());
          else socket.send(lastAck, tid, '127.0.0.1');
          return;
        }
      } else return;
      socket.send(lastAck!, tid, '127.0.0.1');
    });
    socket.bind(0, '127.0.0.1', () => socket.send(request, port, '127.0.0.1'));
  });
}

/** Polls until `check` holds (the server works asynchronously), failing after `ms`. */
export async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}
