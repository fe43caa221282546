/**
 * State of truth for the UI (issue 17): blocks, loop-breaker pauses, boot overrides and the eviction count
 * are the session's (ClientRecord.blocked / paused / bootOverride, SessionSnapshot.clientsEvicted); the page
 * keeps no copy, so a reload shows the same. A scripted session behind the real ui-server
 * (fake-session-server.ts) and Chromium, both in a namespace of their own (nothing else in it).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveNetns, haveTools } from '../helpers/tools.js';
import { UiHarness } from './ui-harness.js';

const BLOCKED = '52:54:00:00:00:01';
const PAUSED = '52:54:00:00:00:02';
const OVERRIDE = '52:54:00:00:00:03';
const DIAGNOSED_ONLY = '52:54:00:00:00:04';

let ui: UiHarness | undefined;

const row = (page: Page, mac: string) => page.locator(`tr.client[data-mac="${mac}"]`);

describe.skipIf(!haveNetns() || !haveTools('chromium'))(
  'the page shows the session’s blocks, pauses, overrides and evictions, also after a reload',
  () => {
    beforeAll(async () => {
      ui = new UiHarness('pxe-ui-state-');
      await ui.start('fake-session-server.ts', [ui.work], "the fake session's UI URL");
    }, 120_000);

    afterAll(async () => {
      await ui?.close();
    });

    it('rows, card, mode and the eviction counter come from the session; Unblock re-reads it', async () => {
      const { page, errors } = await ui!.newPage();
      await page.goto(ui!.url());

      for (const pass of ['first load', 'reload']) {
        await expect
          .poll(() => page.getByTestId('state').textContent(), { timeout: 15_000 })
          .toContain('running');
        await expect.poll(() => page.locator('tr.client').count(), { timeout: 10_000 }).toBe(4);
        expect(await row(page, BLOCKED).getByTestId('blocked').count(), pass).toBe(1);
        expect(await row(page, PAUSED).getByTestId('paused').getAttribute('title'), pass).toContain(
          'loop breaker: undionly.kpxe was downloaded 3 times',
        );
        expect(await row(page, OVERRIDE).getByTestId('override').textContent(), pass).toBe(
          '→ vmlinuz (once)',
        );
        // A loop diagnosis without a pause in the record is not shown as paused (no inference from codes).
        expect(await row(page, DIAGNOSED_ONLY).getByTestId('paused').count(), pass).toBe(0);
        expect(
          await row(page, DIAGNOSED_ONLY)
            .getByRole('button', { name: `Block ${DIAGNOSED_ONLY}` })
            .count(),
        ).toBe(1);
        for (const mac of [BLOCKED, PAUSED])
          expect(await page.getByRole('button', { name: `Unblock ${mac}` }).count(), `${pass} ${mac}`).toBe(
            1,
          );
        expect(await page.getByTestId('evicted').textContent(), pass).toContain('7 idle records dropped');
        // The running session's card and mode (a full DHCP session on eth7), not the page's defaults.
        await expect.poll(() => page.getByTestId('nic-eth7').locator('input').isChecked()).toBe(true);
        expect(await page.getByTestId('mode-dhcp').locator('input').isChecked(), pass).toBe(true);
        expect(await page.getByTestId('suggested').count(), pass).toBe(0);
        if (pass === 'first load') await page.reload();
      }

      // Unblock: the session lifts it without an event; the row follows because the page re-reads the session.
      await page.getByRole('button', { name: `Unblock ${PAUSED}` }).click();
      await expect.poll(() => row(page, PAUSED).getByTestId('paused').count()).toBe(0);
      expect(await page.getByRole('button', { name: `Block ${PAUSED}` }).count()).toBe(1);
      expect(ui!.out).toContain(`"mac":"${PAUSED}","action":"unblock"`);
      expect(await row(page, BLOCKED).getByTestId('blocked').count()).toBe(1);
      expect(errors).toEqual([]);
      await page.close();
    }, 60_000);
  },
);
