/**
 * Electron main entry: the only code that touches Electron values (with the preload).
 * Kept thin on purpose: it owns windows, menus, dialogs and IPC wiring; everything else lives in
 * app/core and app/engines, which run and are tested in plain Node. IPC handlers are generated from the
 * contract's channel list and all go through ui-api, which validates every payload.
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, session as electronSession, shell } from 'electron';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHANNELS, EVENT_CHANNEL, ipcName } from '../shared/ipc-contract.js';
import { createUiApi } from '../core/ui-api.js';
import { SessionController } from '../core/session/index.js';
import { foreignLanHooks } from '../core/report.js';
import { listInterfaces } from '../core/interfaces.js';
import { locateBootFiles } from '../core/boot-files.js';
import { createLogger } from '../shared/runtime.js';

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'";

interface WindowState {
  width: number;
  height: number;
  x?: number;
  y?: number;
  maximized?: boolean;
}

const stateFile = (): string => join(app.getPath('userData'), 'window-state.json');

function loadState(): WindowState {
  try {
    const v: unknown = JSON.parse(readFileSync(stateFile(), 'utf8'));
    if (typeof v === 'object' && v !== null) {
      const s = v as Record<string, unknown>;
      if (typeof s.width === 'number' && typeof s.height === 'number') {
        return {
          width: Math.max(800, s.width),
          height: Math.max(500, s.height),
          ...(typeof s.x === 'number' ? { x: s.x } : {}),
          ...(typeof s.y === 'number' ? { y: s.y } : {}),
          maximized: s.maximized === true,
        };
      }
    }
  } catch {
    // first run or unreadable: defaults
  }
  return { width: 1280, height: 800 };
}

function createWindow(): BrowserWindow {
  const state = loadState();
  const window = new BrowserWindow({
    width: state.width,
    height: state.height,
    ...(state.x !== undefined && state.y !== undefined ? { x: state.x, y: state.y } : {}),
    title: 'PXE Desk',
    webPreferences: {
      preload: join(import.meta.dirname, '..', 'preload', 'preload.cjs'),
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  if (state.maximized) window.maximize();
  window.on('close', () => {
    const b = window.getBounds();
    try {
      writeFileSync(stateFile(), JSON.stringify({ ...b, maximized: window.isMaximized() }));
    } catch {
      // not fatal: the window opens at the default size next time
    }
  });
  // No navigation away from the build, no new windows: links open in the OS browser.
  window.webContents.on('will-navigate', (e) => e.preventDefault());
  window.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
  void window.loadFile(join(import.meta.dirname, '..', '..', 'renderer', 'index.html'));
  return window;
}

function wireIpc(getWindow: () => BrowserWindow | undefined): void {
  const bootFilesDir = locateBootFiles();
  // The session's log goes to the window's log pane (debug stays out: it would flood the IPC channel).
  const controller = new SessionController({
    logger: createLogger((record) => {
      if (record.level !== 'debug') getWindow()?.webContents.send(EVENT_CHANNEL, { type: 'log', record });
    }, 'session'),
    ...(bootFilesDir ? { bootFilesDir } : {}),
  });
  const api = createUiApi({
    session: controller,
    listInterfaces,
    appVersion: app.getVersion(),
    ...foreignLanHooks(controller, { appVersion: app.getVersion() }),
    async pickFolder() {
      const w = getWindow();
      const r = w
        ? await dialog.showOpenDialog(w, { properties: ['openDirectory', 'createDirectory'] })
        : await dialog.showOpenDialog({ properties: ['openDirectory', 'createDirectory'] });
      return r.canceled || r.filePaths.length === 0 ? null : (r.filePaths[0] ?? null);
    },
  });
  for (const channel of CHANNELS) {
    ipcMain.handle(ipcName(channel), (event, payload: unknown) => {
      // Only our own window's main frame may call (not iframes or other webContents).
      // A frame that is gone (null) or not our file:// build gets nothing: fail closed.
      const from = event.senderFrame?.url;
      if (!from || !from.startsWith('file://')) {
        return { ok: false, code: 'forbidden', message: 'Not allowed from this frame.' };
      }
      return api.handle(channel, payload);
    });
  }
  api.onEvent((e) => getWindow()?.webContents.send(EVENT_CHANNEL, e));
  app.on('before-quit', () => void controller.stop());
}

function buildMenu(): void {
  Menu.setApplicationMenu(
    Menu.buildFromTemplate([
      ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
      { role: 'fileMenu' },
      { role: 'editMenu' },
      { role: 'viewMenu' },
      { role: 'windowMenu' },
    ]),
  );
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  let main: BrowserWindow | undefined;
  app.on('second-instance', () => {
    if (main) {
      if (main.isMinimized()) main.restore();
      main.focus();
    }
  });
  void app.whenReady().then(() => {
    electronSession.defaultSession.webRequest.onHeadersReceived((details, callback) => {
      callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
    });
    buildMenu();
    wireIpc(() => main);
    main = createWindow();
  });
  app.on('window-all-closed', () => app.quit());
}
