/**
 * `report.export` and `probe.run` through the UI contract (ui-api + foreignLanHooks), as the Electron
 * shell and `serve --ui` wire them. No network: the session runs fake engines; probe.run is only
 * checked for its guard (a real probe sends DHCP and belongs in a namespace test).
 */
import { describe, expect, it } from 'vitest';
import { foreignLanHooks, type SessionReport } from '../../app/core/report.js';
import { SessionController } from '../../app/core/session/index.js';
import { createUiApi } from '../../app/core/ui-api.js';
import { fakeEngines } from '../helpers/fake-engine.js';

describe('report.export / probe.run over the UI contract', () => {
  it('exports the running session as JSON + escaped HTML; rejects a hostile probe iface before running anything', async () => {
    const { factory, made: engines } = fakeEngines(() =>
      Promise.reject(new Error('no transport in files mode')),
    );
    const session = new SessionController({ engines: factory, folderExists: () => true });
    const api = createUiApi({
      session,
      listInterfaces: () => Promise.resolve([]),
      // No real NIC list: a probe must never run here (it would broadcast DHCP from the root namespace).
      ...foreignLanHooks(session, {
        appVersion: '9.9.9',
        now: () => Date.UTC(2026, 0, 2),
        interfaces: () => Promise.resolve([]),
      }),
    });
    expect(
      (await api.handle('session.start', { mode: 'files', root: '/srv', address: '127.0.0.1' })).ok,
    ).toBe(true);
    // A client whose name fields come from the network.
    engines[0]!.emit({
      engine: 'tftp',
      type: 'failed',
      time: Date.UTC(2026, 0, 2),
      transferId: '1',
      client: { address: '127.0.0.9', port: 1000 },
      file: '<svg onload=alert(1)>.efi',
      bytes: 0,
      reason: 'client never acknowledged the option reply (OACK)',
    });
    const r = await api.handle('report.export', null);
    expect(r.ok).toBe(true);
    const { json, html } = (r as { ok: true; value: { json: string; html: string } }).value;
    const report = JSON.parse(json) as SessionReport;
    expect(report).toMatchObject({
      appVersion: '9.9.9',
      state: 'running',
      mode: 'files',
      generatedAt: '2026-01-02T00:00:00.000Z',
    });
    expect(report.clients).toHaveLength(1);
    expect(report.clients[0]?.diagnoses?.[0]).toMatchObject({ code: 'tftp-stall' });
    expect(report.log.some((l) => l.message === 'session running')).toBe(true);
    expect(html).toContain('&lt;svg onload=alert(1)&gt;.efi');
    expect(html).not.toContain('<svg');
    expect(await api.handle('report.export', { x: 1 })).toMatchObject({ ok: false });
    for (const iface of ['', 'eth0; rm -rf /', '../x', 'a'.repeat(65)])
      expect(await api.handle('probe.run', { iface })).toMatchObject({ ok: false });
    // A well-formed name that is not a NIC here is refused before any socket is opened.
    expect(await api.handle('probe.run', { iface: 'eth9' })).toMatchObject({
      ok: false,
      code: 'iface-missing',
    });
    await session.stop();
  });
});
