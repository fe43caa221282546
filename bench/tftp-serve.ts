/** Bench helper: runs TftpServer on 127.0.0.1:PORT serving DIR until SIGTERM (bench/tftp-bench.sh). */
import { TftpServer } from '../app/engines/tftp/index.js';

async function main(): Promise<void> {
  const [dir, port, workers] = process.argv.slice(2);
  // mtu 65535: loopback, so blksize is limited only by the request (the peers do the same on lo).
  const server = new TftpServer({
    root: dir ?? '.',
    address: '127.0.0.1',
    port: Number(port),
    mtu: 65535,
    // default 'auto' (the engine's default); a number pins it (0 = all transfers on the main thread)
    workers: workers === undefined || workers === 'auto' ? 'auto' : Number(workers),
  });
  await server.start();
  process.on('SIGTERM', () => void server.stop().then(() => process.exit(0)));
}
void main();
