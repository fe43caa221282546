/**
 * Third-party tools the tests drive (atftp, udhcpc, dnsmasq, qemu, chromium, …).
 * Locally a missing tool skips its tests with a message; with CI=true it is a failure, because
 * `.ci/run` installs every one of them and a silent skip would hide a broken tier.
 */
import { execFileSync } from 'node:child_process';
import { canUseNetns } from './netns.js';

export const onCi = process.env.CI === 'true' || process.env.CI === '1';

export function which(tool: string): string | undefined {
  try {
    return (
      execFileSync('sh', ['-c', `command -v "$1"`, 'sh', tool], { encoding: 'utf8' }).trim() || undefined
    );
  } catch {
    return undefined;
  }
}

/**
 * Returns true when every tool is present. On CI a missing tool throws (the suite fails);
 * locally it returns false so the caller can `describe.skipIf(!haveTools(...))`.
 */
export function haveTools(...tools: string[]): boolean {
  const missing = tools.filter((tool) => !which(tool));
  if (missing.length === 0) return true;
  if (onCi)
    throw new Error(
      `CI=true but required test tools are missing: ${missing.join(', ')} (.ci/run installs them)`,
    );
  console.warn(`skipping: missing ${missing.join(', ')}`);
  return false;
}

/** Same rule for namespace tests: root + iproute2 are required on CI. */
export function haveNetns(): boolean {
  if (canUseNetns()) return true;
  if (onCi) throw new Error('CI=true but network namespaces are unavailable (tests must run as root)');
  console.warn('skipping: network namespaces need root');
  return false;
}
