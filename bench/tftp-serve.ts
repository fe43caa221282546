/** Bench helper: runs TftpServer on 127.0.0.1:PORT serving DIR until killed. */
import { TftpServer } from '../app/engines/tftp/index.js';

async function main(): Promise<void> {
  const [dir, port] = process.argv.slice(2);
  const server = new TftpServer({ root: dir ?? '.', address: '127.0.0.1', port: Number(port), mtu: 65535 });
  await server.start();
  process.on('SIGTERM', () => void server.stop().then(() => process.exit(0)));
}
void main();
