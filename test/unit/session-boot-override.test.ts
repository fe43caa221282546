/**
 * Per-row boot actions through the real SessionController (fake engines, real netboot library): the
 * override is what the very next boot.ipxe?mac= of that machine gets, "once" means once, and the
 * errors say what to do.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SessionController } from '../../app/core/session/index.js';
import type { DatagramTransport } from '../../app/shared/datagram-transport.js';
import { fakeEngines } from '../helpers/fake-engine.js';
import { casperIso } from '../helpers/iso-families.js';
import { analyseIsoFile } from '../../app/core/iso-boot/index.js';

type Scripts = (path: string, query: URLSearchParams, clientIp: string) => Promise<string | undefined>;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function running() {
  const root = mkdtempSync(join(tmpdir(), 'pxe-override-'));
  dirs.push(root);
  const kernel = Buffer.alloc(8192, 0x90);
  kernel.write('HdrS', 0x202, 'latin1'); // a bzImage by the Linux boot protocol
  writeFileSync(join(root, 'vmlinuz'), kernel);
  writeFileSync(join(root, 'memtest.ipxe'), '#!ipxe\necho memtest\n');
  const transport: DatagramTransport = {
    kind: 'memory',
    open: async () => undefined,
    onDatagram: () => () => undefined,
    send: async () => undefined,
    close: async () => undefined,
  };
  const { factory, engine } = fakeEngines(transport);
  const session = new SessionController({ engines: factory });
  const snap = await session.start({ mode: 'files', root, address: '127.0.0.1' });
  expect(snap.state).toBe('running');
  const scripts = engine('http')!.opts.scripts as Scripts;
  const menuFor = (mac: string) =>
    scripts('boot.ipxe', new URLSearchParams(`mac=${mac}&arch=bios`), '10.0.0.5') as Promise<string>;
  return { session, menuFor, engine, root };
}

describe('SessionController per-MAC boot overrides', () => {
  it('boot entry X every time, boot once, back to the menu', async () => {
    const { session, menuFor } = await running();
    const mac = '52:54:00:00:00:01';
    expect(await menuFor(mac)).toContain('menu PXE Desk');

    await session.setBootOverride(mac, { entry: 'memtest.ipxe', once: true });
    const once = await menuFor(mac);
    expect(once).toMatch(/booting .* \(once\)/);
    expect(once).toContain('chain http://127.0.0.1:');
    // Once served, the menu again: no direct boot before it (the override's script has the menu only as its fallback).
    expect(await menuFor(mac)).not.toMatch(/^echo PXE Desk: booting/m);
    // Another machine was never affected.
    await session.setBootOverride(mac, { entry: 'vmlinuz' });
    expect(await menuFor('52:54:00:00:00:02')).toContain('menu PXE Desk');
    for (let i = 0; i < 2; i++)
      expect(await menuFor(mac)).toMatch(/^kernel http:\/\/127\.0\.0\.1:\d+\/vmlinuz/m);
    await session.setBootOverride(mac, undefined);
    expect(await menuFor(mac)).toContain('menu PXE Desk');
    await session.stop();
  });

  it("the client's row shows its boot override (from the library, so a reload shows it) until boot once used it", async () => {
    const { session, menuFor, engine } = await running();
    const mac = '52:54:00:00:00:01';
    const rows: { mac: string; bootOverride?: unknown }[] = [];
    session.onEvent((e) => e.type === 'client' && rows.push(e.client));
    const http = engine('http')!;
    http.emit({
      engine: 'http',
      type: 'start',
      time: 1,
      transferId: '1',
      client: { address: '10.0.0.5', port: 1, mac },
      file: 'boot.ipxe',
      bytes: 0,
    });
    expect(rows.at(-1)?.bootOverride).toBeUndefined();
    await session.setBootOverride(mac, { entry: 'memtest.ipxe', once: true });
    expect(rows.at(-1)).toMatchObject({ mac, bootOverride: { entry: 'memtest.ipxe', once: true } });
    expect(session.snapshot().clients.find((c) => c.mac === mac)?.bootOverride).toEqual({
      entry: 'memtest.ipxe',
      once: true,
    });
    await menuFor(mac); // boots it once: the override is gone, and the row says so
    expect(rows.at(-1)?.mac).toBe(mac);
    expect(rows.at(-1)?.bootOverride).toBeUndefined();
    await session.stop();
  });

  it('an override may name one boot entry of an ISO (<ISO id>#<entry id>); an entry the ISO lacks is refused', async () => {
    const { session, menuFor, root } = await running();
    copyFileSync(casperIso(mkdtempSync(join(tmpdir(), 'pxe-override-iso-'))), join(root, 'ubuntu.iso'));
    await session.rescan();
    // The ids the library gives the ISO's boot entries come from the same analysis.
    const iso = await analyseIsoFile(join(root, 'ubuntu.iso'), 'ubuntu.iso');
    const safe = iso.entries.find((b) => !b.isDefault && b.firmware.includes('bios'));
    expect(safe, 'the casper ISO has a second BIOS entry').toBeDefined();
    const mac = '52:54:00:00:00:03';
    // The analysis runs beside the scan: wait until the menu offers the ISO's other entries.
    for (let i = 0; i < 100 && !(await menuFor(mac)).includes('safe graphics'); i++)
      await new Promise((r) => setTimeout(r, 50));
    await session.setBootOverride(mac, { entry: `ubuntu.iso#${safe!.id}` });
    const script = await menuFor(mac);
    expect(script).toMatch(/^echo PXE Desk: booting .*safe graphics/m);
    expect(script).toContain('nomodeset');
    await expect(session.setBootOverride(mac, { entry: 'ubuntu.iso#no-such-entry' })).rejects.toMatchObject({
      code: 'unknown-entry',
    });
  });

  it('refuses unknown entries, bad MACs and a stopped session with a message that says what to do', async () => {
    const { session } = await running();
    await expect(session.setBootOverride('52:54:00:00:00:01', { entry: 'nope.efi' })).rejects.toMatchObject({
      code: 'unknown-entry',
    });
    await expect(session.setBootOverride('not-a-mac', { entry: 'vmlinuz' })).rejects.toMatchObject({
      code: 'bad-mac',
    });
    await session.stop();
    await expect(session.setBootOverride('52:54:00:00:00:01', { entry: 'vmlinuz' })).rejects.toMatchObject({
      code: 'not-running',
      message: expect.stringMatching(/Start the session first/),
    });
  });
});
