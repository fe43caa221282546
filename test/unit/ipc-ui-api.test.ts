import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createUiApi, type UiSession } from '../../app/core/ui-api.js';
import type { ContractEvent } from '../../app/shared/ipc-contract.js';
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
    const events: ContractEvent[] = [];
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
    // A bzImage as the Linux boot protocol defines it: "HdrS" at 0x202 is what makes it a kernel.
    const data = Buffer.alloc(12_000, 0x90);
    data.write('HdrS', 0x202, 'latin1');
    writeFileSync(join(src, 'vmlinuz'), data);
    writeFileSync(join(src, 'notes.bin'), 'not a kernel, not an initrd');
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
    const notBootable = await api.handle('library.import', {
      root,
      files: [{ source: join(src, 'notes.bin'), name: 'notes.bin' }],
    });
    expect(notBootable).toMatchObject({ ok: false, code: 'not-bootable' });
    expect(notBootable.ok === false && notBootable.message).toContain('cannot boot');
    expect(existsSync(join(root, 'notes.bin'))).toBe(false);
    // All or nothing: one bad file in a batch copies nothing.
    writeFileSync(join(src, 'vmlinuz-2'), data);
    const batch = await api.handle('library.import', {
      root,
      files: [
        { source: join(src, 'vmlinuz-2'), name: 'vmlinuz-2' },
        { source: join(src, 'notes.bin'), name: 'notes.bin' },
      ],
    });
    expect(batch.ok).toBe(false);
    expect(existsSync(join(root, 'vmlinuz-2'))).toBe(false);
    const listed = await api.handle('library.list', { root });
    expect(listed).toMatchObject({
      ok: true,
      value: {
        exists: true,
        files: [{ name: 'vmlinuz', size: data.length }],
        entries: [{ id: 'vmlinuz', kind: 'linux', arch: ['bios'] }],
        perMac: {},
      },
    });
    expect(listed.ok && (listed.value as { freeBytes: number }).freeBytes).toBeGreaterThan(0);
    // Per-entry settings: command line and title saved in the library metadata, '' clears them.
    const upd = await api.handle('library.update', {
      root,
      entry: 'vmlinuz',
      title: 'Rescue kernel',
      cmdline: 'console=ttyS0 quiet',
      makeDefault: true,
    });
    expect(upd).toMatchObject({
      ok: true,
      value: {
        defaultEntry: 'vmlinuz',
        entries: [{ id: 'vmlinuz', title: 'Rescue kernel', cmdline: 'console=ttyS0 quiet' }],
      },
    });
    const cleared = await api.handle('library.update', { root, entry: 'vmlinuz', title: '', cmdline: '' });
    expect(
      cleared.ok && (cleared.value as { entries: { title: string; cmdline?: string }[] }).entries[0],
    ).toEqual(expect.not.objectContaining({ cmdline: expect.anything() }));
    expect(cleared.ok && (cleared.value as { entries: { title: string }[] }).entries[0]?.title).not.toBe(
      'Rescue kernel',
    );
    expect(await api.handle('library.update', { root, entry: 'nope', cmdline: 'x' })).toMatchObject({
      ok: false,
      code: 'unknown-entry',
    });
    for (const bad of [
      { root, entry: '../vmlinuz', cmdline: 'x' },
      { root, entry: 'vmlinuz', cmdline: 'quiet\n#!ipxe shell' },
      { root, entry: 'vmlinuz', title: 'x'.repeat(101) },
      { root, entry: 'vmlinuz', makeDefault: 'yes' },
      { root: 'relative', entry: 'vmlinuz' },
    ]) {
      expect(await api.handle('library.update', bad)).toMatchObject({ ok: false, code: 'invalid-payload' });
    }
    expect(await api.handle('library.list', { root: join(root, 'absent') })).toMatchObject({
      ok: true,
      value: { exists: false, entries: [] },
    });
    const missing = await api.handle('library.import', {
      root,
      files: [{ source: join(src, 'nope'), name: 'n' }],
    });
    expect(missing.ok).toBe(false);
    expect(await api.handle('dialog.pickFolder', null)).toMatchObject({ ok: false, code: 'not-supported' });
  });

  it('per-row boot actions reach the session as overrides; hostile ones never do', async () => {
    const { session } = fakeSession();
    const overrides: unknown[] = [];
    const api = createUiApi({
      session: {
        ...session,
        setBootOverride: (mac, o) => {
          overrides.push([mac, o]);
          return Promise.resolve();
        },
      },
      listInterfaces: () => Promise.resolve([]),
    });
    const mac = 'aa:bb:cc:dd:ee:01';
    for (const action of [
      { kind: 'boot-entry', entry: 'debian/vmlinuz' },
      { kind: 'boot-once', entry: 'memtest.efi' },
      { kind: 'boot-menu' },
    ]) {
      expect(await api.handle('client.action', { mac, action })).toEqual({ ok: true, value: null });
    }
    expect(overrides).toEqual([
      [mac, { entry: 'debian/vmlinuz' }],
      [mac, { entry: 'memtest.efi', once: true }],
      [mac, undefined],
    ]);
    for (const action of [
      { kind: 'boot-entry', entry: '../../etc/passwd' },
      { kind: 'boot-entry', entry: '/etc/passwd' },
      { kind: 'boot-once', entry: 'a//b' },
      { kind: 'boot-once', entry: 42 },
      { kind: 'boot-menu', entry: 'x' },
      { kind: 'boot-entry', entry: 'x'.repeat(5000) },
    ]) {
      expect(await api.handle('client.action', { mac, action })).toMatchObject({
        ok: false,
        code: 'invalid-payload',
      });
    }
    expect(overrides).toHaveLength(3);
    // Without the session hook (a UI session that cannot do it) the answer is an error, not a silent no-op.
    const bare = createUiApi({ session, listInterfaces: () => Promise.resolve([]) });
    expect(
      await bare.handle('client.action', { mac, action: { kind: 'boot-once', entry: 'vmlinuz' } }),
    ).toMatchObject({ ok: false, code: 'not-supported' });
  });

  it('probe.run and report.export: guarded, and answered by the injected backend', async () => {
    const { session } = fakeSession();
    const probed: string[] = [];
    const api = createUiApi({
      session,
      listInterfaces: () => Promise.resolve([]),
      runProbe: (iface) => {
        probed.push(iface);
        return Promise.resolve({
          iface,
          probeMac: '02:00:00:00:00:01',
          startedAt: 1,
          durationMs: 2,
          servers: [],
          warnings: ['No DHCP server answered.'],
        });
      },
      exportReport: () => Promise.resolve({ json: '{}', html: '<!doctype html>' }),
    });
    for (const p of [
      null,
      {},
      { iface: '' },
      { iface: 'eth0; rm -rf /' },
      { iface: 'eth0', extra: 1 },
      ['eth0'],
    ]) {
      expect(await api.handle('probe.run', p)).toMatchObject({ ok: false, code: 'invalid-payload' });
    }
    expect(probed).toEqual([]);
    expect(await api.handle('probe.run', { iface: 'eth0' })).toMatchObject({
      ok: true,
      value: { iface: 'eth0', warnings: ['No DHCP server answered.'] },
    });
    expect(await api.handle('report.export', { anything: 1 })).toMatchObject({ ok: false });
    expect(await api.handle('report.export', null)).toEqual({
      ok: true,
      value: { json: '{}', html: '<!doctype html>' },
    });
  });

  it('refuses an import that does not fit on the disk, before copying anything', async () => {
    const { session } = fakeSession();
    const api = createUiApi({
      session,
      listInterfaces: () => Promise.resolve([]),
      freeSpace: () => Promise.resolve(10_000), // a nearly full disk
    });
    const src = tmp();
    const root = join(tmp(), 'lib');
    const kernel = Buffer.alloc(12_000, 0x90);
    kernel.write('HdrS', 0x202, 'latin1');
    writeFileSync(join(src, 'vmlinuz'), kernel);
    const r = await api.handle('library.import', {
      root,
      files: [{ source: join(src, 'vmlinuz'), name: 'vmlinuz' }],
    });
    expect(r).toMatchObject({ ok: false, code: 'disk-full' });
    expect(r.ok === false && r.message).toMatch(/Not enough disk space .*0\.0 MB needed, 0\.0 MB free/);
    expect(existsSync(join(root, 'vmlinuz'))).toBe(false);
    expect(await api.handle('library.list', { root })).toMatchObject({
      ok: true,
      value: { freeBytes: 10_000 },
    });
  });
});
