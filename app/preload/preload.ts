/** Preload: exposes only `window.pxe`; the contract lives in app/shared. */
import { contextBridge } from 'electron';

contextBridge.exposeInMainWorld('pxe', { version: 1 });
