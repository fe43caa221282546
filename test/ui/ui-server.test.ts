import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createUiApi, type UiSession } from '../../app/core/ui-api.js';
import { startUiServer, uiDefaults, type UiServer } from '../../app/cli/ui-server.js';
import { CONTRACT_VERSION } from '../../app/shared/ipc-contract.js';
import type { SessionSnapshot } from '../../app/shared/session-types.js';

const dir = mkdtempSync(join(tmpdir(), 'pxe-ui-server-'));
const rendererDir = join(dir, 'renderer');
const libRoot = join(dir, 'lib');
let server: UiServer;

const snap: SessionSnapshot = { state: 'idle', clients: [], warnings: [] };
const session: UiSession = {
  start: () => Promise.resolve({ ...snap, state: 'running' }),
  stop: () => Promise.resolve(snap),
  snapshot: () => snap,
  onEvent: () => () => undefined,
  clientAction: () => undefined,
};

beforeAll(async () => {
  mkdirSync(rendererDir);
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(dir, 'secret.txt'), 'secret');
  server = await startUiServer({
    rendererDir,
    makeApi: (resolveSource) =>
      createUiApi({
        session,
        listInterfaces: () => Promise.resolve([]),
        resolveSource,
        defaults: uiDefaults(libRoot, 'files'),
      }),
  });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function connect(token: string): Promise<WebSocket> {
  return new Promise((ok, fail) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=${token}`);
    ws.once('open', () => ok(ws));
    ws.once('error', fail);
  });
}
function call(ws: WebSocket, id: number, channel: string, payload: unknown): Promise<unknown> {
  return new Promise((ok) => {
    const on = (data: WebSocket.RawData) => {
      const f = JSON.parse(String(data)) as { kind: string; id: number; result: unknown };
      if (f.kind === 'response' && f.id === id) {
        ws.off('message', on);
        ok(f.result);
      }
    };
    ws.on('message', on);
    ws.send(JSON.stringify({ id, channel, payload }));
  });
}

describe('ui-server (serve --ui)', () => {
  it('binds loopback, prints a tokened URL, serves the build with CSP and nothing outside it', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48}$/);
    const r = await fetch(`http://127.0.0.1:${server.port}/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-security-policy')).toContain("default-src 'self'");
    const out = await fetch(`http://127.0.0.1:${server.port}/..%2fsecret.txt`);
    expect(out.status).toBe(404);
  });

  it('rejects a WebSocket without the token and answers contract calls with it', async () => {
    await expect(connect('0'.repeat(48))).rejects.toThrow();
    const ws = await connect(server.token);
    expect(await call(ws, 1, 'app.version', null)).toMatchObject({
      ok: true,
      value: { contract: CONTRACT_VERSION },
    });
    // The command line's starting mode and folder reach the page over the contract (serve --mode files --ui).
    expect(await call(ws, 7, 'ui.defaults', null)).toEqual({
      ok: true,
      value: { mode: 'files', root: libRoot },
    });
    expect(await call(ws, 8, 'ui.defaults', { mode: 'dhcp' })).toMatchObject({
      ok: false,
      code: 'invalid-payload',
    });
    expect(await call(ws, 2, 'session.start', { mode: 'proxy', root: 'rel' })).toMatchObject({
      ok: false,
      code: 'invalid-payload',
    });
    ws.close();
  });

  it('uploads need the token and imports may only name uploaded files', async () => {
    // A real (gzip) initrd: imports are checked by header, not by name.
    const body = gzipSync(Buffer.from('070701'.padEnd(4096, '0')));
    const bad = await fetch(`http://127.0.0.1:${server.port}/upload?token=x&name=initrd`, {
      method: 'PUT',
      body,
    });
    expect(bad.status).toBe(403);
    const up = await fetch(`http://127.0.0.1:${server.port}/upload?token=${server.token}&name=initrd`, {
      method: 'PUT',
      body,
    });
    const { source } = (await up.json()) as { source: string };
    const ws = await connect(server.token);
    expect(
      await call(ws, 3, 'library.import', {
        root: libRoot,
        files: [{ source: join(dir, 'secret.txt'), name: 's' }],
      }),
    ).toMatchObject({ ok: false, code: 'bad-path' });
    expect(
      await call(ws, 4, 'library.import', { root: libRoot, files: [{ source, name: 'initrd' }] }),
    ).toMatchObject({ ok: true });
    expect(readFileSync(join(libRoot, 'initrd'))).toEqual(body);
    ws.close();
  });

  it('a hostile WebSocket peer gets errors or a closed socket, never a dead server', async () => {
    const ws = await connect(server.token);
    ws.send('not json');
    ws.send(JSON.stringify({ id: 1, channel: 'fs.read', payload: '/etc/shadow' }));
    ws.send(JSON.stringify({ id: -1, channel: 'app.version', payload: null }));
    expect(await call(ws, 2, 'probe.run', { iface: '../../eth0' })).toMatchObject({
      ok: false,
      code: 'invalid-payload',
    });
    expect(
      await call(ws, 3, 'client.action', {
        mac: 'aa:bb:cc:dd:ee:ff',
        action: { kind: 'boot-entry', entry: '../../etc/shadow' },
      }),
    ).toMatchObject({ ok: false, code: 'invalid-payload' });
    expect(
      await call(ws, 4, 'library.import', {
        root: libRoot,
        files: Array.from({ length: 300 }, (_, i) => ({ source: `/tmp/${i}`, name: `${i}` })),
      }),
    ).toMatchObject({ ok: false, code: 'invalid-payload' });
    // Over maxPayload (1 MiB): the server drops that connection …
    const closed = new Promise<number>((ok) => ws.once('close', (code) => ok(code)));
    ws.send(JSON.stringify({ id: 5, channel: 'app.version', payload: 'x'.repeat(2 * 1024 * 1024) }));
    expect(await closed).toBe(1009);
    // … and keeps serving everyone else.
    const again = await connect(server.token);
    expect(await call(again, 6, 'app.version', null)).toMatchObject({ ok: true });
    again.close();
  });

  it('the command line mode is checked as without --ui; the folder is made absolute', () => {
    expect(uiDefaults(undefined, undefined)).toEqual({});
    expect(uiDefaults('netboot', 'proxy')).toEqual({ mode: 'proxy', root: join(process.cwd(), 'netboot') });
    expect(() => uiDefaults(undefined, 'Files')).toThrow('--mode must be proxy, dhcp or files (got Files)');
  });
});
