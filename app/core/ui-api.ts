/**
 * Main-side implementation of the UI contract (app/shared/ipc-contract.ts), shared by the Electron shell
 * (IPC) and the CLI's `serve --ui` (WebSocket). Every payload is validated with the contract's guards
 * before anything runs; failures come back as `{ ok: false, code, message }`, never as exceptions.
 */
import { constants as fsConstants } from 'node:fs';
import { copyFile, mkdir, readdir, stat, statfs } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import {
  CONTRACT_VERSION,
  isChannel,
  validateRequest,
  type Channel,
  type ContractEvent,
  type Req,
  type Res,
} from '../shared/ipc-contract.js';
import type { Result } from '../shared/runtime.js';
import type {
  NicInfo,
  ProbeResult,
  SessionConfig,
  SessionEvent,
  SessionSnapshot,
} from '../shared/session-types.js';

/** What ui-api needs from the session controller (SessionController satisfies it). */
export interface UiSession {
  start(config: SessionConfig): Promise<SessionSnapshot>;
  stop(): Promise<SessionSnapshot>;
  snapshot(): SessionSnapshot;
  onEvent(listener: (e: SessionEvent) => void): () => void;
  clientAction(mac: string, action: 'forget' | 'block' | 'unblock'): unknown;
}

export interface UiApiOptions {
  readonly session: UiSession;
  readonly listInterfaces: () => Promise<NicInfo[]>;
  readonly appVersion?: string;
  /** Native folder dialog (Electron only); absent → 'not-supported'. */
  readonly pickFolder?: () => Promise<string | null>;
  /** Maps an import `source` to a real path (WebSocket uploads use ids); default: identity. */
  readonly resolveSource?: (source: string) => string | undefined;
  /** Preflight probe on a NIC (issue 10); absent → 'not-supported'. */
  readonly runProbe?: (iface: string) => Promise<ProbeResult>;
  /** Session report as JSON + HTML (issue 10); absent → 'not-supported'. */
  readonly exportReport?: () => Promise<{ json: string; html: string }>;
}

export interface UiApi {
  handle(channel: unknown, payload: unknown): Promise<Result<unknown>>;
  onEvent(listener: (e: ContractEvent) => void): () => void;
}

export interface LibraryFile {
  readonly name: string;
  readonly size: number;
}

const fail = (code: string, message: string): Result<never> => ({ ok: false, code, message });

function errorResult(error: unknown): Result<never> {
  if (typeof error === 'object' && error !== null) {
    const e = error as { code?: unknown; message?: unknown };
    if (typeof e.code === 'string' && typeof e.message === 'string') return fail(e.code, e.message);
    if (typeof e.message === 'string') return fail('internal', e.message);
  }
  return fail('internal', String(error));
}

/** Joins a base name under root and proves the result stays inside (defence in depth after the guard). */
export function confinedPath(root: string, name: string): string | undefined {
  const base = resolve(root);
  const full = resolve(base, name);
  return full.startsWith(base + sep) ? full : undefined;
}

export function createUiApi(options: UiApiOptions): UiApi {
  const { session } = options;

  const handlers: { [C in Channel]: (req: Req<C>) => Promise<Res<C>> } = {
    'app.version': () => Promise.resolve({ contract: CONTRACT_VERSION, app: options.appVersion ?? '0.0.0' }),
    'interfaces.list': () => options.listInterfaces(),
    'session.snapshot': () => Promise.resolve(session.snapshot()),
    'session.start': (config) => session.start(config),
    'session.stop': () => session.stop(),
    'client.action': ({ mac, action }) => {
      if (action.kind === 'boot-entry' || action.kind === 'boot-once') {
        return Promise.reject(
          Object.assign(new Error('Per-client boot entries are not available in this version.'), {
            code: 'not-supported',
          }),
        );
      }
      session.clientAction(mac, action.kind);
      return Promise.resolve(null);
    },
    'library.list': async ({ root }) => {
      const out: LibraryFile[] = [];
      for (const d of await readdir(root, { withFileTypes: true })) {
        if (!d.isFile()) continue;
        out.push({ name: d.name, size: (await stat(join(root, d.name))).size });
      }
      return out.sort((a, b) => a.name.localeCompare(b.name));
    },
    'library.import': async ({ root, files }) => {
      await mkdir(root, { recursive: true });
      const plan: { src: string; dst: string; size: number }[] = [];
      for (const f of files) {
        const src = (options.resolveSource ?? ((s: string) => s))(f.source);
        const dst = confinedPath(root, f.name);
        if (!src || !dst)
          throw Object.assign(new Error(`"${f.name}" cannot be imported.`), { code: 'bad-path' });
        const st = await stat(src);
        if (!st.isFile())
          throw Object.assign(new Error(`"${f.name}" is not a file.`), { code: 'not-a-file' });
        plan.push({ src, dst, size: st.size });
      }
      const need = plan.reduce((n, p) => n + p.size, 0);
      const fs = await statfs(root);
      if (need > fs.bavail * fs.bsize) {
        throw Object.assign(new Error(`Not enough disk space in ${root}: ${need} bytes needed.`), {
          code: 'disk-full',
        });
      }
      const copied: string[] = [];
      for (const p of plan) {
        try {
          // COPYFILE_EXCL: a duplicate never overwrites what is already in the library; the source
          // is never moved or modified (the user's original stays where it was).
          await copyFile(p.src, p.dst, fsConstants.COPYFILE_EXCL);
        } catch (error) {
          if ((error as { code?: string }).code === 'EEXIST') {
            throw Object.assign(new Error(`"${p.dst.slice(root.length + 1)}" is already in the library.`), {
              code: 'duplicate',
            });
          }
          throw error;
        }
        copied.push(p.dst);
      }
      return { copied };
    },
    'dialog.pickFolder': () =>
      options.pickFolder
        ? options.pickFolder()
        : Promise.reject(
            Object.assign(new Error('No folder dialog here: type the path.'), { code: 'not-supported' }),
          ),
    'probe.run': ({ iface }) =>
      options.runProbe
        ? options.runProbe(iface)
        : Promise.reject(
            Object.assign(new Error('Probing is not available here.'), { code: 'not-supported' }),
          ),
    'report.export': () =>
      options.exportReport
        ? options.exportReport()
        : Promise.reject(
            Object.assign(new Error('Reports are not available here.'), { code: 'not-supported' }),
          ),
  };

  return {
    async handle(channel, payload) {
      if (!isChannel(channel)) return fail('unknown-channel', 'Unknown channel.');
      const v = validateRequest(channel, payload);
      if (!v.ok) return v;
      try {
        const handler = handlers[channel] as (req: unknown) => Promise<unknown>;
        return { ok: true, value: await handler(v.value) };
      } catch (error) {
        return errorResult(error);
      }
    },
    onEvent: (listener) => session.onEvent(listener),
  };
}
