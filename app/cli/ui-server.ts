/**
 * `pxe-desk serve --ui`: the headless/remote UI. Serves the renderer build on 127.0.0.1 (random port)
 * and speaks the SAME contract as Electron IPC over a WebSocket (docs/decisions.md, "UI contract").
 * A random token guards the WebSocket and the upload endpoint; the static build holds no secrets.
 * Dropped files arrive via `PUT /upload?token=..&name=..` into a private temp folder, and library imports
 * from a WebSocket peer may only name files in that folder (a remote page never reads our disk).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  isBaseName,
  isSessionMode,
  isWsRequest,
  type UiDefaults,
  type WsFrame,
} from '../shared/ipc-contract.js';
import type { UiApi } from '../core/ui-api.js';
import type { SecureBootMode } from '../shared/secure-boot.js';

export interface UiServerOptions {
  /** Built with `createUiApi`; pass `resolveSource: server.resolveUpload` is done for you via `makeApi`. */
  readonly makeApi: (resolveSource: (source: string) => string | undefined) => UiApi;
  readonly rendererDir: string;
  readonly host?: string;
  readonly port?: number;
  /** Largest upload accepted (bytes); default 8 GiB (ISOs, WIMs). */
  readonly maxUpload?: number;
}

export interface UiServer {
  readonly url: string;
  readonly token: string;
  readonly port: number;
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
};

/**
 * The UI's starting values from the command line (`serve --ui --mode files --root DIR`), handed to the page
 * over the contract (`ui.defaults`). A mode the UI does not know is a usage error, as without --ui.
 */
export function uiDefaults(
  root: string | undefined,
  mode: string | undefined,
  secureBoot?: SecureBootMode,
): UiDefaults {
  if (mode !== undefined && !isSessionMode(mode))
    throw new Error(`--mode must be proxy, dhcp or files (got ${mode})`);
  return {
    ...(mode !== undefined ? { mode } : {}),
    ...(root ? { root: resolve(root) } : {}),
    ...(secureBoot ? { secureBoot } : {}),
  };
}

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws://127.0.0.1:* ws://localhost:*; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const token = randomBytes(24).toString('hex');
  const uploads = await mkdtemp(join(tmpdir(), 'pxe-desk-upload-'));
  const root = resolve(options.rendererDir);
  const maxUpload = options.maxUpload ?? 8 * 1024 ** 3;
  let seq = 0;

  const tokenOk = (candidate: string | null): boolean => {
    if (candidate === null || candidate.length !== token.length) return false;
    return timingSafeEqual(Buffer.from(candidate), Buffer.from(token));
  };
  const resolveUpload = (source: string): string | undefined => {
    const full = resolve(source);
    return full.startsWith(uploads + sep) ? full : undefined;
  };
  const api = options.makeApi(resolveUpload);

  const send = (
    res: ServerResponse,
    status: number,
    body: string,
    type = 'text/plain; charset=utf-8',
  ): void => {
    res.writeHead(status, { 'content-type': type, 'x-content-type-options': 'nosniff' });
    res.end(body);
  };

  async function handleUpload(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const name = url.searchParams.get('name');
    if (!isBaseName(name)) return send(res, 400, 'bad name');
    const length = Number(req.headers['content-length'] ?? NaN);
    if (!Number.isFinite(length) || length < 0 || length > maxUpload) return send(res, 413, 'too large');
    seq += 1;
    const dir = join(uploads, String(seq));
    await mkdir(dir);
    const path = join(dir, name);
    await pipeline(req, createWriteStream(path, { flags: 'wx' }));
    send(res, 200, JSON.stringify({ source: path }), 'application/json');
  }

  async function handleStatic(res: ServerResponse, pathname: string): Promise<void> {
    const rel = pathname === '/' ? 'index.html' : decodeURIComponent(pathname.slice(1));
    const full = resolve(root, rel);
    if (!full.startsWith(root + sep)) return send(res, 404, 'not found');
    try {
      const body = await readFile(full);
      res.writeHead(200, {
        'content-type': MIME[extname(full)] ?? 'application/octet-stream',
        'content-security-policy': CSP,
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-store',
      });
      res.end(body);
    } catch {
      send(res, 404, 'not found');
    }
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const work =
      req.method === 'PUT' && url.pathname === '/upload'
        ? tokenOk(url.searchParams.get('token'))
          ? handleUpload(req, res, url)
          : Promise.resolve(send(res, 403, 'bad token'))
        : req.method === 'GET'
          ? handleStatic(res, url.pathname)
          : Promise.resolve(send(res, 405, 'method not allowed'));
    work.catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, String(error));
      else res.destroy();
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const origin = req.headers.origin;
    // Origin check: a page from another site in the same browser must not drive the session.
    const originOk = origin === undefined || /^http:\/\/(127\.0\.0\.1|localhost):\d+$/.test(origin);
    if (url.pathname !== '/ws' || !tokenOk(url.searchParams.get('token')) || !originOk) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws));
  });

  wss.on('connection', (ws: WebSocket) => {
    const frame = (f: WsFrame): void => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(f));
    };
    const off = api.onEvent((event) => frame({ kind: 'event', event }));
    ws.on('close', off);
    // Oversized or malformed frames surface as 'error' on this socket: without a listener that would
    // be an uncaught exception taking the whole session down. Drop only this peer.
    ws.on('error', () => ws.terminate());
    ws.on('message', (data) => {
      let msg: unknown;
      try {
        msg = JSON.parse(String(data));
      } catch {
        return; // not JSON: drop (a receive loop never dies on bad input)
      }
      if (!isWsRequest(msg)) return;
      void api
        .handle(msg.channel, msg.payload)
        .then((result) => frame({ kind: 'response', id: msg.id, result }));
    });
  });

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => ok());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    token,
    port,
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise<void>((ok) => server.close(() => ok()));
      await rm(uploads, { recursive: true, force: true });
    },
  };
}
