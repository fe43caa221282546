import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createUiApi, type UiSession } from '../../app/core/ui-api.js';
import type { SessionConfig, SessionEvent, SessionSnapshot } from '../../app/shared/session-types.js';

function fakeSession() {
  const calls: string[] = [];
  let snap: SessionSnapshot = { state: 'idle', clients: [], warnings: [] };
  const listeners = new Set<(e: SessionEvent) => void>();
  const session: UiSession = {
    start: (config: SessionConfig) => {
      calls.push(`start:${config.mode}`);
      snap = { ...snap, state: 'running', config };
      for (const l of listeners) l({ type: 'state', snapshot: snap });
      return Promise.resolve(snap);
    },
    stop: () => {
      calls.push('stop');
      snap = { ...snap, state: 'idle' };
      return Promise.resolve(snap);
    },
    snapshot: () => snap,
    onEvent: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    clientAction: (mac, action) => calls.push(`${action}:${mac}`),
  };
  return { session, calls };
}

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'pxe-ui-api-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('ui-api (main-side handler)', () => {
  it('validates before calling the session and never throws', async () => {
    const { session, calls } = fakeSession();
    const api = createUiApi({ session, listInterfaces: () => Promise.resolve([]) });
    const events: SessionEvent[] = [];
    api.onEvent((e) => events.push(e));
    const hostile = [
      ['session.start', { mode: 'proxy', iface: 'eth0', root: '../../etc' }],
      ['session.start', JSON.parse('{"mode":"proxy","root":"/srv","__proto__":{"x":1}}') as unknown],
      ['client.action', { mac: 'aa:bb:cc:dd:ee:ff', action: { kind: 'block', extra: 1 } }],
      ['library.import', { root: '/srv', files: [{ source: '/etc/shadow', name: '../x' }] }],
      ['nope', null],
      ['__proto__', null],
    ] as const;
    for (const [c, p] of hostile) {
      const r = await api.handle(c, p);
      expect(r.ok).toBe(false);
    }
    expect(calls).toEqual([]);
    const ok = await api.handle('session.start', { mode: 'proxy', iface: 'eth0', root: '/srv/nb' });
    expect(ok).toMatchObject({ ok: true, value: { state: 'running' } });
    expect(
      await api.handle('client.action', { mac: 'aa:bb:cc:dd:ee:ff', action: { kind: 'block' } }),
    ).toEqual({
      ok: true,
      value: null,
    });
    expect(calls).toEqual(['start:proxy', 'block:aa:bb:cc:dd:ee:ff']);
    expect(events.map((e) => e.type)).toEqual(['state']);
  });

  it('imports by copying (source untouched), rejects duplicates, lists the library', async () => {
    const { session } = fakeSession();
    const api = createUiApi({ session, listInterfaces: () => Promise.resolve([]) });
    const src = tmp();
    const root = join(tmp(), 'lib');
    const data = Buffer.from('kernel-bytes'.repeat(1000));
    writeFileSync(join(src, 'vmlinuz'), data);
    const r = await api.handle('library.import', {
      root,
      files: [{ source: join(src, 'vmlinuz'), name: 'vmlinuz' }],
    });
    expect(r.ok).toBe(true);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(sha(readFileSync(join(root, 'vmlinuz')))).toBe(sha(data));
    expect(existsSync(join(src, 'vmlinuz'))).toBe(true);
    const dup = await api.handle('library.import', {
      root,
      files: [{ source: join(src, 'vmlinuz'), name: 'vmlinuz' }],
    });
    expect(dup).toMatchObject({ ok: false, code: 'duplicate' });
    expect(await api.handle('library.list', { root })).toEqual({
      ok: true,
      value: [{ name: 'vmlinuz', size: data.length }],
    });
    const missing = await api.handle('library.import', {
      root,
      files: [{ source: join(src, 'nope'), name: 'n' }],
    });
    expect(missing.ok).toBe(false);
    expect(await api.handle('dialog.pickFolder', null)).toMatchObject({ ok: false, code: 'not-supported' });
  });
});
