/**
 * The library view of ISOs (issue 18): an ISO row says what it found (distribution and version, El Torito
 * badges, the boot route in words, RAM needed, the note when it cannot boot) and lists its own menu entries,
 * each with its command line editable; a 4 GiB file brought into the folder shows copy progress (bytes of
 * total, rate, time left) while the folder stays usable. Real ISOs built by the test helpers (xorriso,
 * genisoimage), Debian's memtest86+ ISO, the real ui-server + ui-api + library + ISO analysis
 * (library-ui-server.ts) and Chromium, both in a namespace of their own. Screenshots in artifacts/ui/.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFixtures } from '../fixtures/fixtures.js';
import { liveBootIso } from '../helpers/iso-families.js';
import { udfIso } from '../helpers/iso-images.js';
import { haveNetns, haveTools } from '../helpers/tools.js';
import { errorText, throttleUploads } from './browser.js';
import { repo, UiHarness } from './ui-harness.js';

const shots = join(repo, 'artifacts', 'ui');
const BIG = 4 * 1024 * 1024 * 1024;

let ui: UiHarness | undefined;
let root = '';
let local = '';

const isoRow = (page: Page, id: string) => page.locator('li[data-testid="entry"]', { hasText: id });

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `library-${name}.png`), fullPage: true });
}

/**
 * A contract call on a WebSocket of its own, opened by the browser (it shares the server's namespace), with
 * the page's token: another window of the same server.
 */
function call(page: Page, channel: string, payload: unknown): Promise<{ ok: boolean; value?: unknown }> {
  return page.evaluate(
    ([c, p]) =>
      new Promise<{ ok: boolean; value?: unknown }>((ok, fail) => {
        // Runs in the page (this file is type-checked without the DOM library).
        const loc = (globalThis as unknown as { location: { search: string; host: string } }).location;
        const token = new URLSearchParams(loc.search).get('token') ?? '';
        const ws = new WebSocket(`ws://${loc.host}/ws?token=${encodeURIComponent(token)}`);
        ws.onerror = () => fail(new Error('WebSocket failed'));
        ws.onopen = () => ws.send(JSON.stringify({ id: 1, channel: c, payload: p }));
        ws.onmessage = (m) => {
          const f = JSON.parse(String(m.data)) as { kind: string; id?: number; result?: unknown };
          if (f.kind === 'response' && f.id === 1) {
            ws.close();
            ok(f.result as { ok: boolean; value?: unknown });
          }
        };
      }),
    [channel, payload] as const,
  );
}

describe.skipIf(!haveNetns() || !haveTools('chromium', 'xorriso', 'genisoimage', 'mformat'))(
  'ISO rows and import progress in the library view',
  () => {
    beforeAll(async () => {
      ui = new UiHarness('pxe-ui-iso-');
      const work = ui.work;
      root = join(work, 'netboot');
      local = join(work, 'local');
      mkdirSync(join(root, 'isos'), { recursive: true });
      mkdirSync(local);
      const build = join(work, 'build');
      mkdirSync(build);
      copyFileSync(liveBootIso(build), join(root, 'isos', 'debian-live.iso'));
      copyFileSync(udfIso(build, 'win', true).path, join(root, 'isos', 'windows.iso'));
      copyFileSync(join(ensureFixtures().memtestDir, 'memtest86+x64.iso'), join(root, 'memtest86+x64.iso'));
      // Debian's installer netboot tree as a technician unpacks it (hard links: no 50 MB copy).
      const di = join(ensureFixtures().dir, 'di-netboot');
      if (existsSync(di)) execFileSync('cp', ['-al', di, join(root, 'd-i')]);
      // A 4 GiB ISO as a technician downloads one: a real image padded to 4 GiB (sparse here; the copy
      // still moves 4 GiB).
      copyFileSync(join(root, 'isos', 'debian-live.iso'), join(local, 'big.iso'));
      const fd = openSync(join(local, 'big.iso'), 'r+');
      ftruncateSync(fd, BIG);
      closeSync(fd);
      await ui.start('library-ui-server.ts', [root, local], "the library UI server's URL");
    }, 240_000);

    afterAll(async () => {
      await ui?.close();
    });

    const url = (): string => ui!.url();

    it('an ISO row shows distribution, El Torito, route, RAM, its menu entries; a command line is edited per entry', async () => {
      const { page, errors } = await ui!.newPage({ viewport: { width: 1360, height: 1000 } });
      await page.goto(url());
      const live = isoRow(page, 'debian-live.iso');
      await expect.poll(() => live.getByTestId('iso').count(), { timeout: 30_000 }).toBe(1);
      expect(await live.getByTestId('iso-distro').textContent()).toBe('Debian 12.4.0');
      expect(await live.getByTestId('eltorito').allTextContents()).toEqual(['BIOS', 'UEFI']);
      expect(await live.getByTestId('iso-route').textContent()).toMatch(/root streamed over HTTP/);
      expect(await live.getByTestId('iso-ram').textContent()).toMatch(/needs [\d.]+ MB RAM/);
      const entries = live.getByTestId('iso-entry');
      expect(await entries.count()).toBe(2);
      const first = entries.filter({ hasText: 'Live system (amd64)' });
      expect(await first.getByTestId('iso-default').textContent()).toBe('default on BIOS + UEFI');
      expect(await first.getByTestId('iso-cmdline').textContent()).toContain(
        'fetch={iso}/live/filesystem.squashfs',
      );
      expect(await live.getByTestId('arch').allTextContents()).toHaveLength(2);

      // The Windows image: recognised, not bootable over the network, the note says why; no firmware badge.
      const win = isoRow(page, 'windows.iso');
      expect(await win.getByTestId('iso-note').textContent()).toMatch(
        /Windows installer: network install not supported yet/,
      );
      expect(await win.getByTestId('arch').count()).toBe(0);
      // memtest86+'s own ISO: BIOS by memdisk (RAM shown), UEFI by its EFI program.
      const mt = isoRow(page, 'memtest86+x64.iso');
      expect(await mt.getByTestId('iso-distro').textContent()).toMatch(/^memtest86\+ 6\./);
      expect(await mt.getByTestId('iso-entry').count()).toBe(2);
      await shot(page, 'iso-rows');
      // The d-i tree: its kernel + initrd is the default; its shim says why it is not in the boot menu.
      if (existsSync(join(root, 'd-i'))) {
        const byPath = (p: string) => page.locator(`li[data-testid="entry"]:has(span.file[title="${p}"])`);
        const kernel = byPath('d-i/debian-installer/amd64/linux');
        expect(await kernel.locator('.tag', { hasText: 'default' }).count()).toBe(1);
        expect(await kernel.textContent()).toContain('+ d-i/debian-installer/amd64/initrd.gz');
        const shim = byPath('d-i/debian-installer/amd64/bootnetx64.efi');
        expect(await shim.getByTestId('entry-note').textContent()).toMatch(/not in the boot menu.*shim/s);
        await shim.scrollIntoViewIfNeeded();
        await shot(page, 'di-tree');
      }

      // Edit the command line of the second entry only.
      const second = entries.filter({ hasText: 'Live system (to RAM)' });
      await second.getByRole('button', { name: /Edit the command line/ }).click();
      const input = second.locator('input');
      await input.fill('boot=live components toram fetch={iso}/live/filesystem.squashfs console=ttyS0');
      await second.getByRole('button', { name: 'Save' }).click();
      await expect
        .poll(() => second.getByTestId('iso-cmdline').textContent(), { timeout: 10_000 })
        .toContain('console=ttyS0');
      expect(await second.textContent()).toContain('edited');
      expect(await first.getByTestId('iso-cmdline').textContent()).not.toContain('console=ttyS0');
      const meta = JSON.parse(readFileSync(join(root, '.pxe-desk', 'library.json'), 'utf8')) as {
        entries: Record<string, { cmdline?: string }>;
      };
      expect(meta.entries['isos/debian-live.iso#toram']?.cmdline).toContain('console=ttyS0');
      expect(meta.entries['isos/debian-live.iso']).toBeUndefined();
      await second.scrollIntoViewIfNeeded();
      await shot(page, 'iso-cmdline-edited');
      // Restore brings back what the analysis found.
      await second.getByRole('button', { name: /Restore the command line/ }).click();
      await expect
        .poll(() => second.getByTestId('iso-cmdline').textContent(), { timeout: 10_000 })
        .not.toContain('console=ttyS0');
      expect(await errorText(page)).toBe('');
      expect(errors).toEqual([]);
      await page.close();
    }, 120_000);

    it('importing a 4 GiB file shows bytes of total and time left, and the folder stays usable meanwhile', async () => {
      const { page, errors } = await ui!.newPage({ viewport: { width: 1360, height: 1000 } });
      await page.goto(url());
      await expect
        .poll(() => isoRow(page, 'debian-live.iso').getByTestId('iso').count(), { timeout: 30_000 })
        .toBe(1);
      // As the desktop app imports a dropped file: by its path (the page of this test shows the events).
      const done = call(page, 'library.import', {
        root,
        files: [{ source: join(local, 'big.iso'), name: 'big.iso' }],
      });
      // A refused import ends at once: say why instead of waiting for a progress bar.
      const early = await Promise.race([done, new Promise((r) => setTimeout(r, 300, undefined))]);
      expect(early).toBeUndefined();
      const bytes = page.getByTestId('upload-bytes');
      await expect.poll(() => bytes.count(), { timeout: 30_000 }).toBe(1);
      await expect
        .poll(async () => ((await bytes.count()) ? await bytes.textContent() : ''), { timeout: 30_000 })
        .toMatch(/^[\d.]+ [kMG]?B of 4\.3 GB$/);
      expect((await page.getByTestId('upload').textContent())?.replace(/\s+/g, ' ')).toContain(
        'Copying big.iso:',
      );
      await expect
        .poll(() => page.getByTestId('upload-eta').textContent(), { timeout: 30_000 })
        .toMatch(/\/s, .* left/);
      await page.getByTestId('upload').scrollIntoViewIfNeeded();
      await shot(page, 'import-progress');
      // Meanwhile: the half-copied file is nowhere in the folder's listing, and settings still save.
      expect(readdirSync(root)).not.toContain('big.iso');
      const live = isoRow(page, 'debian-live.iso');
      const first = live.getByTestId('iso-entry').filter({ hasText: 'Live system (amd64)' });
      await first.getByRole('button', { name: /Edit the command line/ }).click();
      await first.locator('input').fill('boot=live components quiet fetch={iso}/live/filesystem.squashfs');
      await first.getByRole('button', { name: 'Save' }).click();
      await expect
        .poll(() => first.getByTestId('iso-cmdline').textContent(), { timeout: 10_000 })
        .not.toContain('splash');
      expect(await page.getByTestId('upload').count()).toBe(1); // the copy is still going
      expect(await done).toMatchObject({ ok: true, value: { copied: [join(root, 'big.iso')], linked: [] } });
      await expect.poll(() => page.getByTestId('upload').count(), { timeout: 10_000 }).toBe(0);
      expect(statSync(join(root, 'big.iso')).size).toBe(BIG);
      expect(existsSync(join(local, 'big.iso'))).toBe(true); // copied, never moved
      expect(readdirSync(join(root, '.pxe-desk', 'import'))).toEqual([]);

      // Another copy, cancelled from the panel: nothing of it stays, the notice says so.
      const again = call(page, 'library.import', {
        root,
        files: [{ source: join(local, 'big.iso'), name: 'big-again.iso' }],
      });
      const cancel = page.getByRole('button', { name: 'Cancel copying big-again.iso' });
      await expect.poll(() => cancel.count(), { timeout: 30_000 }).toBe(1);
      await cancel.click();
      expect(await again).toMatchObject({ ok: false, code: 'cancelled' });
      await expect.poll(() => page.getByTestId('upload').count(), { timeout: 10_000 }).toBe(0);
      expect(readdirSync(root)).not.toContain('big-again.iso');
      expect(readdirSync(join(root, '.pxe-desk', 'import'))).toEqual([]);

      // A drop on the browser UI uploads first (throttled here); Cancel stops the upload itself.
      await throttleUploads(page, 1_000_000);
      await page.evaluate(`(() => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(32 * 1024 * 1024)], 'slow.iso'));
        window.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      })()`);
      const stopUpload = page.getByRole('button', { name: 'Cancel uploading slow.iso' });
      await expect.poll(() => stopUpload.count(), { timeout: 20_000 }).toBe(1);
      expect((await page.getByTestId('upload').textContent())?.replace(/\s+/g, ' ')).toContain(
        'Uploading slow.iso:',
      );
      await stopUpload.click();
      await expect
        .poll(() => page.getByTestId('notice').textContent(), { timeout: 10_000 })
        .toContain('Upload cancelled');
      expect(await page.getByTestId('upload').count()).toBe(0);
      expect(readdirSync(root)).not.toContain('slow.iso');
      expect(await errorText(page)).toBe('');
      expect(errors).toEqual([]);
      await page.close();
    }, 300_000);
  },
);
