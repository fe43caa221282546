import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createOuiLookup, parseOuiText } from '../../app/core/oui.js';

const sample = `OUI/MA-L\t\tOrganization\n\n00-22-72   (hex)\t\tAmerican Micro-Fuel Device Corp.\n002272     (base 16)\t\tAmerican Micro-Fuel Device Corp.\n\t\t\t\t2181 Buchanan Loop\n\n08-61-95   (hex)\t\tRockwell Automation\n`;

describe('OUI vendor lookup', () => {
  it('parses the registry hex lines', () => {
    const t = parseOuiText(sample);
    expect(t.size).toBe(2);
    expect(t.get('08:61:95')).toBe('Rockwell Automation');
  });
  it('looks up MACs from a file and tolerates a missing file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'oui-'));
    writeFileSync(join(dir, 'oui.txt'), sample);
    const lookup = createOuiLookup(join(dir, 'oui.txt'));
    expect(lookup('00:22:72:aa:bb:cc')).toBe('American Micro-Fuel Device Corp.');
    expect(lookup('02:00:00:00:00:01')).toBeUndefined();
    expect(lookup('52:54:00:12:34:56')).toBe('QEMU virtual NIC');
    expect(createOuiLookup(join(dir, 'missing.txt'))('00:22:72:00:00:00')).toBeUndefined();
  });
  it('load() reads the registry ahead of the first lookup (the session calls it while starting)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oui-'));
    writeFileSync(join(dir, 'oui.txt'), sample);
    const lookup = createOuiLookup(join(dir, 'oui.txt'));
    await lookup.load();
    rmSync(join(dir, 'oui.txt')); // nothing is read on the lookup itself
    expect(lookup('08-61-95-01-02-03')).toBe('Rockwell Automation');
    await expect(createOuiLookup(join(dir, 'missing.txt')).load()).resolves.toBeUndefined();
  });
});
