/**
 * The renderer ⇄ main contract under golden files (test/fixtures/ipc-contract/v<N>.json), one per
 * CONTRACT_VERSION: the channel set and a request each channel accepts. A window from another build
 * compares versions (app.version) and says so, so a change of shape must come with a new version and a
 * new golden file; the older files stay as the record of what each version spoke.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHANNELS, CONTRACT_VERSION, validateRequest } from '../../app/shared/ipc-contract.js';

interface Golden {
  readonly version: number;
  readonly requests: Readonly<Record<string, unknown>>;
}

const dir = resolve(import.meta.dirname, '..', 'fixtures', 'ipc-contract');
const goldens: Golden[] = readdirSync(dir)
  .filter((f) => /^v\d+\.json$/.test(f))
  .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Golden)
  .sort((a, b) => a.version - b.version);

describe('ipc contract golden files', () => {
  it('the current version has its golden file, and it is the newest one', () => {
    expect(goldens.map((g) => g.version)).toContain(CONTRACT_VERSION);
    expect(goldens.at(-1)?.version).toBe(CONTRACT_VERSION);
  });

  it('the channels are exactly those of the current golden file, and each accepts its request', () => {
    const current = goldens.find((g) => g.version === CONTRACT_VERSION)!;
    expect([...CHANNELS].sort()).toEqual(Object.keys(current.requests).sort());
    for (const c of CHANNELS) {
      const r = validateRequest(c, current.requests[c]);
      expect(r, `${c}: ${JSON.stringify(r)}`).toMatchObject({ ok: true });
    }
  });

  it('every version differs from the one before (a change of shape was not folded into an old number)', () => {
    for (let i = 1; i < goldens.length; i++)
      expect(JSON.stringify(goldens[i]!.requests)).not.toBe(JSON.stringify(goldens[i - 1]!.requests));
  });
});
