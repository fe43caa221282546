/**
 * Electron main entry: the only code that touches Electron values (with the preload).
 * Kept thin on purpose: it owns windows, menus, dialogs and IPC wiring; everything else lives in
 * app/core and app/engines, which run and are tested in plain Node.
 */
import { app, BrowserWindow } from 'electron';
import { join } from 'node:path';

function createWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1200,
    height: 800,
    title: 'PXE Desk',
    webPreferences: {
      preload: join(import.meta.dirname, '..', 'preload', 'preload.js'),
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
    },
  });
  void window.loadFile(join(import.meta.dirname, '..', '..', 'renderer', 'index.html'));
  return window;
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  void app.whenReady().then(() => {
    createWindow();
  });
  app.on('window-all-closed', () => app.quit());
}
