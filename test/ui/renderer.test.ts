/**
 * Playwright (Debian's Chromium, headless) against the REAL renderer build served by the real
 * `serve --ui` server and the real ui-api. The session behind it is a scripted stand-in on loopback
 * (emits the stages a PXE client goes through), so the whole UI path is exercised without root;
 * TODO: the namespace test with the real SessionController once the engines land.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUiApi, type UiSession } from '../../app/core/ui-api.js';
import { startUiServer, type UiServer } from '../../app/cli/ui-server.js';
import type {
  ClientRecord,
  SessionConfig,
  SessionEvent,
  SessionSnapshot,
} from '../../app/shared/session-types.js';
import { haveTools } from '../helpers/tools.js';

const repo = resolve(import.meta.dirname, '..', '..');
const shots = join(repo, 'artifacts', 'ui');
const work = mkdtempSync(join(tmpdir(), 'pxe-ui-pw-'));
const root = join(work, 'netboot');
let server: UiServer;
let browser: Browser;

function scriptedSession(): UiSession {
  const listeners = new Set<(e: SessionEvent) => void>();
  let snap: SessionSnapshot = { state: 'idle', clients: [], warnings: [] };
  const emit = (e: SessionEvent) => listeners.forEach((l) => l(e));
  const timers: NodeJS.Timeout[] = [];
  return {
    start(config: SessionConfig) {
      snap = {
        state: 'running',
        config,
        startedAt: Date.now(),
        endpoints: { tftp: '10.88.0.1:69', http: 'http://10.88.0.1:8080/' },
        clients: [],
        warnings: [],
      };
      emit({ type: 'state', snapshot: snap });
      const t0 = Date.now();
      const mac = '52:54:00:12:34:56';
      const timeline: ClientRecord['timeline'][number][] = [];
      const step = (delay: number, patch: Partial<ClientRecord>, text: string, extra: object = {}) =>
        timers.push(
          setTimeout(() => {
            const stage = patch.stage ?? 'dhcp';
            timeline.push({ time: Date.now(), stage, text, ...extra });
            const client: ClientRecord = {
              mac,
              vendor: 'QEMU virtual NIC',
              firmware: 'uefi-x64',
              arch: 7,
              firstSeen: t0,
              lastSeen: Date.now(),
              timeline: [...timeline],
              stage,
              ...patch,
            };
            emit({ type: 'client', client });
            emit({
              type: 'log',
              record: {
                time: Date.now(),
                level: 'info',
                source: stage === 'tftp' ? 'tftp' : 'proxy',
                message: `${mac} ${text}`,
              },
            });
          }, delay),
        );
      step(100, { stage: 'dhcp' }, 'DISCOVER (UEFI x64, PXEClient)');
      step(200, { stage: 'offered', ip: '10.88.0.50' }, 'proxy OFFER snponly.efi');
      step(300, { stage: 'tftp', ip: '10.88.0.50' }, 'TFTP snponly.efi', { file: 'snponly.efi' });
      step(
        500,
        {
          stage: 'booted',
          ip: '10.88.0.50',
          transfer: {
            type: 'transfer',
            engine: 'http',
            phase: 'done',
            file: 'initrd.img',
            bytes: 4096,
            size: 4096,
          } as unknown as ClientRecord['transfer'],
        },
        'HTTP vmlinuz + initrd.img done',
        { file: 'initrd.img', bytes: 4096, size: 4096 },
      );
      return Promise.resolve(snap);
    },
    stop() {
      timers.forEach(clearTimeout);
      snap = { ...snap, state: 'idle' };
      emit({ type: 'state', snapshot: snap });
      return Promise.resolve(snap);
    },
    snapshot: () => snap,
    onEvent(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    clientAction: () => undefined,
  };
}

describe.skipIf(!haveTools('chromium'))('renderer over serve --ui (Chromium)', () => {
  beforeAll(async () => {
    if (!existsSync(join(repo, 'dist', 'renderer', 'index.html'))) {
      execFileSync(process.execPath, [join(repo, 'scripts', 'build.mjs'), 'renderer'], {
        cwd: repo,
        stdio: 'inherit',
      });
    }
    mkdirSync(root, { recursive: true });
    mkdirSync(shots, { recursive: true });
    const session = scriptedSession();
    server = await startUiServer({
      rendererDir: join(repo, 'dist', 'renderer'),
      makeApi: (resolveSource) =>
        createUiApi({
          session,
          resolveSource,
          listInterfaces: () =>
            Promise.resolve([
              {
                name: 'eth0',
                type: 'wired',
                up: true,
                speedMbps: 1000,
                ipv4: { address: '10.88.0.1', prefixLength: 24 },
              },
              {
                name: 'wlan0',
                type: 'wireless',
                up: true,
                ipv4: { address: '192.168.1.7', prefixLength: 24 },
                unsuitable: 'Wi-Fi: PXE firmware cannot boot over wireless',
              },
              { name: 'docker0', type: 'virtual', up: false, unsuitable: 'virtual bridge, link down' },
            ]),
        }),
    });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('NIC → proxy → drop kernel+initrd → Start → client boots → Stop', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
    const consoleErrors: string[] = [];
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    await page.goto(`${server.url}&root=${encodeURIComponent(root)}`);
    await page.getByTestId('nic-eth0').click();
    await expect.poll(() => page.getByTestId('nic-eth0').locator('input').isChecked()).toBe(true);
    await expect.poll(() => page.getByText('Wi-Fi: PXE firmware').count()).toBe(1);
    await page.getByTestId('mode-proxy').click();
    await page.screenshot({ path: join(shots, '1-nic-mode.png') });

    const kernel = Buffer.alloc(200_000, 7);
    const initrd = Buffer.alloc(90_000, 9);
    // Real File objects in a real DataTransfer dispatched as the page's drop event (string-evaluated so
    // this Node-typed test needs no DOM lib).
    await page.evaluate(`(() => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(${kernel.length}).fill(7)], 'vmlinuz'));
      dt.items.add(new File([new Uint8Array(${initrd.length}).fill(9)], 'initrd.img'));
      window.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    })()`);
    await expect
      .poll(() => page.locator('.lib .file').allTextContents(), { timeout: 10_000 })
      .toEqual(['initrd.img', 'vmlinuz']);
    expect(readdirSync(root).sort()).toEqual(['initrd.img', 'vmlinuz']);
    expect(readFileSync(join(root, 'vmlinuz'))).toEqual(kernel);
    expect(readFileSync(join(root, 'initrd.img'))).toEqual(initrd);
    await page.screenshot({ path: join(shots, '2-dropped.png') });

    await page.getByTestId('start').click();
    await expect.poll(() => page.getByTestId('state').textContent()).toContain('running');
    await expect
      .poll(() => page.getByTestId('stage').first().textContent(), { timeout: 10_000 })
      .toBe('booted');
    const progress = await page.getByTestId('progress').first().getAttribute('value');
    expect(Number(progress)).toBe(1);
    await page.locator('tr.client button.link').first().click();
    await expect.poll(() => page.locator('.timeline li').count()).toBe(4);
    await page.screenshot({ path: join(shots, '3-client-booted.png') });

    await page.getByTestId('start').click();
    await expect.poll(() => page.getByTestId('state').textContent()).toContain('idle');
    await page.screenshot({ path: join(shots, '4-stopped.png') });

    // A file that cannot boot is refused with a plain message, nothing copied.
    await page.evaluate(`(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['hello'], 'notes.txt'));
      window.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    })()`);
    await expect.poll(() => page.getByTestId('error').textContent()).toContain('Cannot boot notes.txt');
    expect(existsSync(join(root, 'notes.txt'))).toBe(false);
    expect(consoleErrors).toEqual([]);
    writeFileSync(join(shots, 'done'), '');
  });
});
