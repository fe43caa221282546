/**
 * The Secure Boot setting in the UI (issue 19): one setting with one sentence a technician understands, its
 * starting value from the command line (`serve --ui --secure-boot on`), the value Start sends to the session,
 * the "Secure Boot: signed chain" badge of a client the session moved to the signed chain, and who signed
 * the library's kernel and EFI program. A scripted session behind the real ui-server
 * (fake-secure-boot-session.ts) and Chromium, both in a namespace of their own (nothing else in it).
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECURE_BOOT_HELP, signedChainWords } from '../../app/shared/secure-boot.js';
import { ensureFixtures } from '../fixtures/fixtures.js';
import { waitFor } from '../helpers/netns.js';
import { haveNetns, haveTools } from '../helpers/tools.js';
import { errorText } from './browser.js';
import { repo, UiHarness } from './ui-harness.js';

const bootfiles = process.env.PXE_DESK_BOOTFILES ?? join(repo, '.cache', 'bootfiles');
const SIGNED = '52:54:00:5b:00:01';
const IPXE = '52:54:00:5b:00:02';

let ui: UiHarness | undefined;

describe.skipIf(!haveNetns() || !haveTools('chromium') || !existsSync(join(bootfiles, 'snponly.efi')))(
  'the Secure Boot setting, the signed-chain badge and the library signatures',
  () => {
    beforeAll(async () => {
      ui = new UiHarness('pxe-ui-sb-');
      const root = join(ui.work, 'netboot');
      mkdirSync(join(root, 'debian'), { recursive: true });
      const kernel = join(process.env.FIXTURES_WORK ?? join(repo, 'test', 'fixtures', 'work'), 'vmlinuz');
      copyFileSync(existsSync(kernel) ? kernel : ensureFixtures().vmlinuz, join(root, 'debian', 'vmlinuz'));
      copyFileSync(join(bootfiles, 'snponly.efi'), join(root, 'tool.efi'));
      await ui.start('fake-secure-boot-session.ts', [root], "the fake session's UI URL");
    }, 300_000);

    afterAll(async () => {
      await ui?.close();
    });

    it('starts from the command line’s value, explains each choice in one sentence, and Start sends it', async () => {
      const { page, errors } = await ui!.newPage();
      await page.goto(ui!.url());
      await expect.poll(() => page.getByTestId('state').textContent(), { timeout: 15_000 }).toContain('idle');

      const select = page.getByTestId('secure-boot');
      const help = page.getByTestId('secure-boot-help');
      // `serve --ui --secure-boot on` (ui.defaults): the page starts there.
      await expect.poll(() => select.inputValue(), { timeout: 10_000 }).toBe('on');
      expect((await help.textContent())?.trim()).toBe(`Secure Boot: ${SECURE_BOOT_HELP.on}`);
      expect(await page.getByRole('combobox', { name: 'Signed chain for UEFI PCs' }).count()).toBe(1);

      await select.selectOption('auto');
      expect((await help.textContent())?.trim()).toBe(
        'Secure Boot: Auto — machines that refuse iPXE get the signed Microsoft-trusted chain (shim → GRUB) automatically.',
      );
      await select.selectOption('off');
      expect((await help.textContent())?.trim()).toBe(`Secure Boot: ${SECURE_BOOT_HELP.off}`);
      await select.selectOption('auto');

      // Files mode sends no boot answers: no setting there; back in proxy mode the choice is kept.
      await page.getByTestId('mode-files').locator('input').check();
      expect(await page.getByTestId('secure-boot-setting').count()).toBe(0);
      await page.getByTestId('mode-proxy').locator('input').check();
      expect(await select.inputValue()).toBe('auto');

      // The client the session moved to the signed chain carries the badge (why: in its title).
      const signedRow = page.locator(`tr.client[data-mac="${SIGNED}"]`);
      await expect.poll(() => signedRow.getByTestId('chain').count(), { timeout: 10_000 }).toBe(1);
      expect(await signedRow.getByTestId('chain').textContent()).toBe('Secure Boot: signed chain');
      expect(await signedRow.getByTestId('chain').getAttribute('title')).toBe(
        signedChainWords('refused-unsigned'),
      );
      expect(await page.locator(`tr.client[data-mac="${IPXE}"]`).getByTestId('chain').count()).toBe(0);

      // The library: who signed the kernel, and that the unsigned EFI program is refused under Secure Boot.
      await expect
        .poll(() => page.getByTestId('signature').allTextContents(), { timeout: 15_000 })
        .toEqual(
          expect.arrayContaining(['signed by Debian Secure Boot CA', 'unsigned: refused under Secure Boot']),
        );

      // Start sends the setting with the session config; while it runs the setting is fixed.
      await page.getByTestId('nic-eth7').locator('input').check();
      await page.getByTestId('start').click();
      await waitFor(() => /"type":"start"/.test(ui!.out), 15_000, 'the session start');
      const start = JSON.parse(/\{"type":"start".*\}/.exec(ui!.out)![0]) as {
        config: { secureBoot?: string };
      };
      expect(start.config).toMatchObject({ mode: 'proxy', iface: 'eth7', secureBoot: 'auto' });
      await expect
        .poll(() => page.getByTestId('state').textContent(), { timeout: 10_000 })
        .toContain('running');
      expect(await select.isDisabled()).toBe(true);
      // For the CI artefacts (artifacts/ui/), as the other UI tests do.
      mkdirSync(join(repo, 'artifacts', 'ui'), { recursive: true });
      await page.screenshot({ path: join(repo, 'artifacts', 'ui', 'secure-boot-setting.png') });
      expect(await errorText(page)).toBe('');
      expect(errors).toEqual([]);
      await page.close();
    }, 120_000);
  },
);
