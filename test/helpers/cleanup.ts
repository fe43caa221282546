/**
 * The namespace tests' common teardown: after every test, destroy its lab (namespaces + the processes
 * tracked in them) and remove its temp folder, also when the test failed half-way. `current` reads the
 * test file's own variables at teardown time; NetLab.destroy() is idempotent.
 */
import { rmSync } from 'node:fs';
import { afterEach } from 'vitest';
import type { NetLab } from './netns.js';

export function cleanupAfterEach(
  current: () => { lab?: NetLab | undefined; dir?: string | undefined },
): void {
  afterEach(async () => {
    const { lab, dir } = current();
    await lab?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
}
