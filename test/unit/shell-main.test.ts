/**
 * The Electron shell (app/shell/main.ts) with a stand-in `electron` module: the one place a mock is
 * needed, because the Electron binary cannot run here. Checks what the shell promises: one sandboxed,
 * context-isolated window without Node, a CSP on every response, no navigation or new windows, and an
 * IPC handler per contract channel that validates in main and refuses other frames.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CHANNELS, CONTRACT_VERSION } from '../../app/shared/ipc-contract.js';

type Handler = (event: unknown, payload: unknown) => unknown;

const fake = vi.hoisted(() => {
  const state = {
    handlers: new Map<string, Handler>(),
    windows: [] as { options: Record<string, unknown>; events: Map<string, (e: unknown) => void> }[],
    openHandler: undefined as undefined | ((d: { url: string }) => { action: string }),
    headers: undefined as
      | undefined
      | ((
          d: { responseHeaders: Record<string, string[]> },
          cb: (r: { responseHeaders: Record<string, string[]> }) => void,
        ) => void),
    loaded: [] as string[],
    userData: '',
  };
  return state;
});

vi.mock('electron', () => {
  class BrowserWindow {
    readonly webContents;
    constructor(options: Record<string, unknown>) {
      const events = new Map<string, (e: unknown) => void>();
      fake.windows.push({ options, events });
      this.webContents = {
        on: (name: string, fn: (e: unknown) => void) => events.set(name, fn),
        setWindowOpenHandler: (fn: (d: { url: string }) => { action: string }) => (fake.openHandler = fn),
        send: () => undefined,
      };
    }
    maximize(): void {}
    on(): void {}
    getBounds() {
      return { x: 0, y: 0, width: 1280, height: 800 };
    }
    isMaximized(): boolean {
      return false;
    }
    loadFile(path: string): Promise<void> {
      fake.loaded.push(path);
      return Promise.resolve();
    }
  }
  return {
    app: {
      requestSingleInstanceLock: () => true,
      on: () => undefined,
      quit: () => undefined,
      whenReady: () => Promise.resolve(),
      getPath: () => fake.userData,
      getVersion: () => '0.1.0',
    },
    BrowserWindow,
    dialog: { showOpenDialog: () => Promise.resolve({ canceled: true, filePaths: [] }) },
    ipcMain: { handle: (name: string, fn: Handler) => fake.handlers.set(name, fn) },
    Menu: { setApplicationMenu: () => undefined, buildFromTemplate: (t: unknown) => t },
    session: {
      defaultSession: {
        webRequest: { onHeadersReceived: (fn: typeof fake.headers) => (fake.headers = fn) },
      },
    },
    shell: { openExternal: () => Promise.resolve() },
  };
});

beforeAll(async () => {
  fake.userData = mkdtempSync(join(tmpdir(), 'pxe-shell-'));
  await import('../../app/shell/main.js');
  await vi.waitFor(() => expect(fake.windows.length).toBe(1));
});
afterAll(() => rmSync(fake.userData, { recursive: true, force: true }));

const fromApp = { senderFrame: { url: 'file:///opt/pxe-desk/resources/app.asar/dist/renderer/index.html' } };

describe('Electron shell (stand-in electron module)', () => {
  it('opens one sandboxed, context-isolated window without Node, loading the build from disk', () => {
    const prefs = fake.windows[0]!.options.webPreferences as Record<string, unknown>;
    expect(prefs).toMatchObject({
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      webSecurity: true,
    });
    expect(String(prefs.preload)).toMatch(/preload[\\/]preload\.cjs$/);
    expect(fake.loaded[0]).toMatch(/renderer[\\/]index\.html$/);
  });

  it('puts a strict CSP on every response, blocks navigation and new windows', () => {
    let headers: Record<string, string[]> = {};
    fake.headers!({ responseHeaders: { 'x-a': ['1'] } }, (r) => (headers = r.responseHeaders));
    expect(headers['Content-Security-Policy']?.[0]).toMatch(/default-src 'self'; script-src 'self'/);
    let prevented = false;
    fake.windows[0]!.events.get('will-navigate')!({ preventDefault: () => (prevented = true) });
    expect(prevented).toBe(true);
    expect(fake.openHandler!({ url: 'https://example.org/' })).toEqual({ action: 'deny' });
  });

  it('registers one validated IPC handler per contract channel', async () => {
    expect([...fake.handlers.keys()].sort()).toEqual(CHANNELS.map((c) => `pxe:${c}`).sort());
    const call = (c: string, payload: unknown, event: unknown = fromApp) =>
      Promise.resolve(fake.handlers.get(`pxe:${c}`)!(event, payload));
    expect(await call('app.version', null)).toMatchObject({
      ok: true,
      value: { contract: CONTRACT_VERSION },
    });
    const hostile: [string, unknown][] = [
      ['session.start', { mode: 'proxy', iface: 'eth0', root: '../../etc' }],
      ['library.import', { root: '/srv', files: [{ source: '/etc/shadow', name: '../shadow' }] }],
      ['library.list', { root: '/' + 'a'.repeat(5000) }],
      ['client.action', { mac: 'aa:bb:cc:dd:ee:ff', action: { kind: 'boot-entry', entry: '../x' } }],
      ['probe.run', { iface: 'eth0; reboot' }],
      ['report.export', { to: '/etc/passwd' }],
      ['session.start', { mode: 'proxy', root: '/srv', allow: Array(5000).fill('aa:bb:cc:dd:ee:ff') }],
    ];
    for (const [c, p] of hostile)
      expect(await call(c, p), c).toMatchObject({ ok: false, code: 'invalid-payload' });
    // Another frame (an iframe or a page that navigated away) may not call at all.
    expect(await call('app.version', null, { senderFrame: { url: 'https://evil.example/' } })).toMatchObject({
      ok: false,
      code: 'forbidden',
    });
    expect(await call('app.version', null, { senderFrame: null })).toMatchObject({
      ok: false,
      code: 'forbidden',
    });
  });
});
