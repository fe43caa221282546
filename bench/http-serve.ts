/**
 * The bare engine for bench/http-bench.sh's second line ('engine'; the first is `pxe-desk serve` itself):
 * HttpBootServer alone, no session, bodies sent by Node (file-body.ts; no native body path). `node http-serve.mjs ROOT PORT [chunkBytes]`.
 */
import { HttpBootServer } from '../app/engines/http/index.js';

const [root, port, chunk] = process.argv.slice(2);
if (!root || !port) throw new Error('usage: http-serve.ts ROOT PORT [chunkBytes]');
const server = new HttpBootServer({
  root,
  address: '127.0.0.1',
  port: Number(port),
  ...(chunk ? { chunkSize: Number(chunk) } : {}),
});
await server.start();
console.log(`listening ${server.port()}`);
process.on('SIGTERM', () => {
  void server.stop().then(() => process.exit(0));
});
