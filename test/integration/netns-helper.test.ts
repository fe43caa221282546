import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createNetLab } from '../helpers/netns.js';
import { haveNetns, haveTools } from '../helpers/tools.js';

const namespaces = (): string[] =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);

describe.skipIf(!haveNetns() || !haveTools('busybox'))('test network lab (namespaces)', () => {
  it('joins hosts on one bridge and removes every namespace and process on destroy', async () => {
    const lab = createNetLab({
      hosts: [
        { name: 'srv', address: '10.231.0.1/24' },
        { name: 'cli', address: '10.231.0.2/24' },
      ],
    });
    try {
      expect(namespaces()).toEqual(expect.arrayContaining([lab.ns('srv'), lab.ns('cli'), lab.ns('lan')]));
      const out = lab.run('cli', 'busybox', ['ping', '-c', '1', '-W', '2', '10.231.0.1']);
      expect(out).toContain('1 packets received');
      // Nothing of the lab exists in the root namespace.
      const rootLinks = execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' });
      expect(rootLinks).not.toMatch(/\bv0\b|br0/);
      const sleeper = lab.spawn('srv', 'sleep', ['60']);
      expect(sleeper.pid).toBeGreaterThan(0);
    } finally {
      await lab.destroy();
    }
    const left = namespaces().filter((n) => n.startsWith(lab.prefix));
    expect(left).toEqual([]);
  });

  it('routes a broadcast inside the lab only (default route via eth0)', async () => {
    const lab = createNetLab({ hosts: [{ name: 'a', address: '10.232.0.1/24', defaultRoute: true }] });
    try {
      const route = lab.run('a', 'ip', ['route', 'get', '255.255.255.255']);
      expect(route).toContain('dev eth0');
    } finally {
      await lab.destroy();
    }
  });
});
