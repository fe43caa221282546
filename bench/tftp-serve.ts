/**
 * Bench helper: runs TftpServer on 127.0.0.1:PORT serving DIR until SIGTERM (bench/tftp-bench.sh).
 * usage: tftp-serve DIR PORT [WORKERS] [NATIVE]   WORKERS 'auto' (default) or a number (0 = main thread
 * only); NATIVE the pxe-desk-tftp binary (the native data path, as a session on Linux runs it) or 'off'.
 */
import { TftpServer } from '../app/engines/tftp/index.js';

async function main(): Promise<void> {
  const [dir, port, workers, native] = process.argv.slice(2);
  // mtu 65535: loopback, so blksize is limited only by the request (the peers do the same on lo).
  const server = new TftpServer({
    root: dir ?? '.',
    address: '127.0.0.1',
    port: Number(port),
    mtu: 65535,
    // default 'auto' (the engine's default); a number pins it (0 = all transfers on the main thread)
    workers: workers === undefined || workers === 'auto' ? 'auto' : Number(workers),
    ...(native && native !== 'off' ? { nativeDataPath: native } : {}),
  });
  await server.start();
  process.on('SIGTERM', () => void server.stop().then(() => process.exit(0)));
}
void main();
