/**
 * Preload: exposes only `window.pxe`, built from the contract (app/shared/ipc-contract.ts). The renderer
 * gets no Node, no ipcRenderer, just invoke(channel, payload) on the contract's channels and events.
 * Sandboxed preloads cannot import relative modules at runtime, so the channel list is duplicated here as
 * data and checked against the contract type at compile time.
 */
// CommonJS on purpose (.cts): Electron runs sandboxed preloads as scripts, where ESM `import` fails.
// eslint-disable-next-line no-restricted-imports, @typescript-eslint/no-require-imports -- the preload may use Electron; CJS needs require
import electron = require('electron');
import type { IpcRendererEvent } from 'electron';
import type { Channel, ContractEvent, PxeApi } from '../shared/ipc-contract.js';

const { contextBridge, ipcRenderer, webUtils } = electron;

const CHANNEL_LIST: Record<Channel, true> = {
  'app.version': true,
  'interfaces.list': true,
  'session.snapshot': true,
  'session.start': true,
  'session.stop': true,
  'client.action': true,
  'library.list': true,
  'library.import': true,
  'library.cancelImport': true,
  'library.update': true,
  'dialog.pickFolder': true,
  'probe.run': true,
  'report.export': true,
  'ui.defaults': true,
};

const api: PxeApi = {
  transport: 'ipc',
  invoke(channel, payload) {
    if (!Object.prototype.hasOwnProperty.call(CHANNEL_LIST, channel)) {
      return Promise.resolve({ ok: false, code: 'unknown-channel', message: 'Unknown channel.' });
    }
    return ipcRenderer.invoke(`pxe:${channel}`, payload) as ReturnType<PxeApi['invoke']>;
  },
  onEvent(listener) {
    const wrapped = (_e: IpcRendererEvent, event: ContractEvent): void => listener(event);
    ipcRenderer.on('pxe:event', wrapped);
    return () => ipcRenderer.off('pxe:event', wrapped);
  },
  // Electron 32+ no longer puts `path` on dropped Files; webUtils is the supported way. Main still
  // validates the path and the file's header (ui-api library.import) before copying anything.
  pathForFile(file) {
    if (!(file instanceof File)) return undefined;
    try {
      return webUtils.getPathForFile(file) || undefined;
    } catch {
      return undefined;
    }
  },
};

contextBridge.exposeInMainWorld('pxe', api);
