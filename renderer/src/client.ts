/**
 * The renderer's `window.pxe`: Electron IPC when the preload exposed it, otherwise the CLI's
 * `serve --ui` WebSocket (token from the page URL). Same contract either way (app/shared/ipc-contract.ts).
 */
import {
  isResult,
  isPlainRecord,
  type Channel,
  type ContractEvent,
  type PxeApi,
  type Req,
  type Res,
} from '../../app/shared/ipc-contract.js';
import type { Result } from '../../app/shared/runtime.js';

declare global {
  interface Window {
    pxe?: PxeApi;
  }
}

function websocketApi(): PxeApi {
  const token = new URLSearchParams(location.search).get('token') ?? '';
  const pending = new Map<number, (r: Result<unknown>) => void>();
  const listeners = new Set<(e: ContractEvent) => void>();
  let seq = 0;
  const ws = new WebSocket(`ws://${location.host}/ws?token=${encodeURIComponent(token)}`);
  const open = new Promise<void>((ok) => ws.addEventListener('open', () => ok(), { once: true }));
  ws.addEventListener('message', (m) => {
    let f: unknown;
    try {
      f = JSON.parse(String(m.data));
    } catch {
      return;
    }
    if (!isPlainRecord(f)) return;
    if (f.kind === 'response' && typeof f.id === 'number' && isResult(f.result)) {
      pending.get(f.id)?.(f.result);
      pending.delete(f.id);
    } else if (f.kind === 'event' && isPlainRecord(f.event)) {
      for (const l of listeners) l(f.event as unknown as ContractEvent);
    }
  });
  ws.addEventListener('close', () => {
    for (const [, r] of pending)
      r({ ok: false, code: 'disconnected', message: 'Lost the connection to PXE Desk.' });
    pending.clear();
    // The page outlives the CLI (Ctrl-C, crash): say so instead of showing a live view that froze.
    const event: ContractEvent = {
      type: 'warning',
      message: 'Lost the connection to PXE Desk: start `pxe-desk serve --ui` again and open its new address.',
    };
    for (const l of listeners) l(event);
  });
  return {
    transport: 'websocket',
    async invoke<C extends Channel>(channel: C, payload: Req<C>): Promise<Result<Res<C>>> {
      await open;
      // After the server went away nothing would ever answer: fail now instead of hanging.
      if (ws.readyState !== ws.OPEN)
        return { ok: false, code: 'disconnected', message: 'Lost the connection to PXE Desk.' };
      seq += 1;
      const id = seq;
      return new Promise((ok) => {
        pending.set(id, ok as (r: Result<unknown>) => void);
        ws.send(JSON.stringify({ id, channel, payload }));
      });
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export const pxe: PxeApi = window.pxe ?? websocketApi();
