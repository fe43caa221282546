/**
 * The set-up the UI tests with a scripted server share: the renderer built into dist/renderer, a UI server
 * script of test/ui/ (run with tsx) in a namespace of its own, the URL it prints, and Debian's Chromium in
 * the same namespace (nothing else in it). Pages open at the size the screenshots use and collect the page's
 * uncaught errors.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { createNetLab, waitFor, type NetLab } from '../helpers/netns.js';
import { launchChromium } from './browser.js';

export const repo = resolve(import.meta.dirname, '..', '..');

/** The line a UI server (`serve --ui` or a scripted one) prints when it listens: `{"type":"ui","url":...}`. */
const UI_LINE = /\{"type":"ui".*\}/;

/** The URL (with the page's token) in a UI server's output; call once its UI line is there. */
export function uiUrl(out: string): string {
  return (JSON.parse(UI_LINE.exec(out)![0]) as { url: string }).url;
}

export class UiHarness {
  /** A temporary folder of the test's own, removed by close(). */
  readonly work: string;
  /** Everything the server script printed on stdout so far (its URL line, then its own lines). */
  out = '';
  private err = '';
  private lab: NetLab | undefined;
  private server: ChildProcess | undefined;
  private chromium: Browser | undefined;

  constructor(workPrefix: string) {
    this.work = mkdtempSync(join(tmpdir(), workPrefix));
  }

  /**
   * Builds the renderer (dist/ is shared by the helpers working in this tree: one build at a time), starts
   * `node --import tsx test/ui/<script> dist/renderer ...args` in a namespace of its own, waits for its URL
   * and launches Chromium beside it. `what` names the awaited URL in the timeout's message.
   */
  async start(script: string, args: readonly string[], what: string): Promise<void> {
    execFileSync(
      'flock',
      ['/tmp/team/build.lock', process.execPath, join(repo, 'scripts', 'build.mjs'), 'renderer'],
      { cwd: repo, stdio: 'ignore' },
    );
    this.lab = createNetLab({ hosts: [{ name: 'ui' }] });
    this.server = this.lab.spawn(
      'ui',
      process.execPath,
      ['--import', 'tsx', join(repo, 'test', 'ui', script), join(repo, 'dist', 'renderer'), ...args],
      { cwd: repo },
    );
    this.server.stdout?.on('data', (d: Buffer) => (this.out += d.toString()));
    this.server.stderr?.on('data', (d: Buffer) => (this.err += d.toString()));
    await waitFor(() => UI_LINE.test(this.out), 30_000, `${what} (${this.err})`);
    this.chromium = await launchChromium({ netns: this.lab.ns('ui'), workDir: this.work });
  }

  /** The URL (with the page's token) the server printed. */
  url(): string {
    return uiUrl(this.out);
  }

  get browser(): Browser {
    if (!this.chromium) throw new Error('UiHarness: start() first');
    return this.chromium;
  }

  /** A new page (1360×820 unless `options` say otherwise) and the uncaught errors it throws. */
  async newPage(options: BrowserContextOptions = {}): Promise<{ page: Page; errors: string[] }> {
    const page = await this.browser.newPage({ viewport: { width: 1360, height: 820 }, ...options });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    return { page, errors };
  }

  async close(): Promise<void> {
    await this.chromium?.close().catch(() => undefined);
    this.server?.kill('SIGINT');
    await this.lab?.destroy();
    rmSync(this.work, { recursive: true, force: true });
  }
}
