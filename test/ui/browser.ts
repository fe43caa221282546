/**
 * Debian's Chromium driven by playwright-core, headless, optionally INSIDE a network namespace
 * (docs/decisions.md, "UI tests and the network"): in proxy-mode UI tests Chromium and the CLI run in the same test namespace, so the
 * page reaches `serve --ui` on that namespace's 127.0.0.1 and nothing touches the real network).
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--no-first-run',
  '--no-default-browser-check',
];

/**
 * Launches Chromium; with `netns`, through a wrapper that `ip netns exec`s it (exec keeps Playwright's
 * debugging pipes on fds 3/4, so the browser process itself lives in the namespace).
 */
export async function launchChromium(options: { netns?: string; workDir?: string } = {}): Promise<Browser> {
  let executablePath = CHROMIUM;
  if (options.netns) {
    if (!options.workDir) throw new Error('launchChromium: a netns launch needs workDir for its wrapper');
    if (!/^[A-Za-z0-9_-]+$/.test(options.netns)) throw new Error(`bad namespace name ${options.netns}`);
    executablePath = join(options.workDir, 'chromium-in-netns.sh');
    writeFileSync(executablePath, `#!/bin/sh\nexec ip netns exec ${options.netns} ${CHROMIUM} "$@"\n`);
    chmodSync(executablePath, 0o755);
  }
  return chromium.launch({ executablePath, headless: true, args: FLAGS, timeout: 60_000 });
}

/** The page's error banner text ('' while there is none): what a failed request shows the user. */
export async function errorText(page: Page): Promise<string> {
  const banner = page.getByTestId('error');
  return (await banner.count()) ? ((await banner.textContent()) ?? '') : '';
}

/**
 * Throttles the page's uploads to `bytesPerSecond` (Chromium's network emulation over CDP), so a drop's
 * upload takes seconds and its progress or its Cancel can be seen. `lift()` ends the throttle and detaches.
 */
export async function throttleUploads(
  page: Page,
  bytesPerSecond: number,
): Promise<{ lift(): Promise<void> }> {
  const cdp = await page.context().newCDPSession(page);
  const upload = (uploadThroughput: number) =>
    cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput,
    });
  await cdp.send('Network.enable');
  await upload(bytesPerSecond);
  return {
    async lift() {
      await upload(-1);
      await cdp.detach();
    },
  };
}
