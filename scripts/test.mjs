#!/usr/bin/env node
// `npm test`: every tier, in order, and one summary line `N passed, N failed` summing them all
// (docs/decisions.md, "test summary"). Tiers: build, vitest (unit + integration),
// go test (native helper), vitest UI (Chromium), vitest lab (QEMU). Pass tier names to run a subset:
// `npm test -- unit go`.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// Some tiers run the engines as user nobody (uid 65534) to prove they need no privilege. A checkout under
// a 0700 home (e.g. /root/…) is unreadable for nobody; then, as root, run the suite from a read-only
// path that nobody can traverse: a bind mount of this checkout under a fresh 0755 folder in /tmp,
// removed afterwards. The files are the same, so builds and artefacts land in the checkout as usual.
if (
  process.getuid?.() === 0 &&
  !process.env.PXE_DESK_TEST_REEXEC &&
  !nobodyCanRead(join(repo, 'package.json'))
) {
  const mnt = mkdtempSync(join(tmpdir(), 'pxe-desk-checkout-'));
  chmodSync(mnt, 0o755);
  execFileSync('mount', ['--bind', repo, mnt]);
  let status = 1;
  try {
    console.log(`test: nobody cannot read ${repo}; running from a bind mount at ${mnt}`);
    const r = spawnSync(process.execPath, [join(mnt, 'scripts', 'test.mjs'), ...process.argv.slice(2)], {
      cwd: mnt,
      stdio: 'inherit',
      env: { ...process.env, PXE_DESK_TEST_REEXEC: '1' },
    });
    status = r.status ?? 1;
  } finally {
    // rmdir, never a recursive delete: if the unmount failed, the checkout stays untouched.
    if (spawnSync('umount', [mnt]).status === 0) rmdirSync(mnt);
  }
  process.exit(status);
}

function nobodyCanRead(path) {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'test', '-r', path]);
  // Without setpriv the nobody tiers fail with their own message; nothing to work around here.
  return r.error !== undefined || r.status === 0;
}
const reports = join(repo, 'artifacts', 'reports');
mkdirSync(reports, { recursive: true });
const selected = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const want = (tier) => selected.length === 0 || selected.includes(tier);
let passed = 0;
let failed = 0;
const notes = [];

function hasTests(dir) {
  if (!existsSync(dir)) return false;
  return readdirSync(dir, { recursive: true }).some((f) => String(f).endsWith('.test.ts'));
}

function vitest(tier, config) {
  const out = join(reports, `${tier}.json`);
  const r = spawnSync(
    join(repo, 'node_modules', '.bin', 'vitest'),
    ['run', '--config', config, '--reporter=default', '--reporter=json', `--outputFile.json=${out}`],
    { cwd: repo, stdio: 'inherit' },
  );
  if (!existsSync(out)) {
    failed += 1;
    notes.push(`${tier}: vitest produced no report (exit ${r.status})`);
    return;
  }
  const report = JSON.parse(readFileSync(out, 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  // A suite that failed to load (syntax error, failing beforeAll) counts as a failure too.
  const brokenSuites = report.testResults.filter(
    (s) => s.status === 'failed' && s.assertionResults.length === 0,
  ).length;
  failed += brokenSuites;
  if (r.status !== 0 && report.numFailedTests === 0 && brokenSuites === 0) {
    failed += 1;
    notes.push(`${tier}: vitest exited ${r.status}`);
  }
  notes.push(`${tier}: ${report.numPassedTests} passed, ${report.numFailedTests + brokenSuites} failed`);
}

/** go vet + go test in each Go module: the native helper and the native TFTP data path. */
function goTest() {
  let p = 0;
  let f = 0;
  // native-tftp is Linux-only (build constraint); elsewhere the engine keeps transfers in Node.
  for (const module of process.platform === 'linux'
    ? ['native-helper', 'native-tftp', 'native-http']
    : ['native-helper']) {
    const result = goTestModule(join(repo, module));
    if (!result) continue;
    p += result.p;
    f += result.f;
  }
  passed += p;
  failed += f;
  notes.push(`go: ${p} passed, ${f} failed`);
}

function goTestModule(dir) {
  if (!existsSync(join(dir, 'go.mod'))) return undefined;
  const r = spawnSync('go', ['test', '-json', '-count=1', './...'], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local', GOPROXY: 'off' },
  });
  if (r.error) {
    process.stderr.write(`go: cannot run go test in ${dir} (${r.error.message})\n`);
    return { p: 0, f: 1 };
  }
  let p = 0;
  let f = 0;
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const e = JSON.parse(line);
    if (!e.Test) {
      if (e.Action === 'fail') f += 1; // package-level failure (build error)
      continue;
    }
    if (e.Action === 'pass') p += 1;
    if (e.Action === 'fail') f += 1;
  }
  if (r.status !== 0 && f === 0) f = 1;
  if (f > 0)
    process.stdout.write(
      r.stdout
        .split('\n')
        .filter((l) => l.includes('"Output"'))
        .map((l) => JSON.parse(l).Output)
        .join(''),
    );
  process.stderr.write(r.stderr);
  return { p, f };
}

if (want('build')) {
  try {
    execFileSync(process.execPath, [join(repo, 'scripts', 'build.mjs')], { cwd: repo, stdio: 'inherit' });
    execFileSync(process.execPath, [join(repo, 'scripts', 'fetch-bootfiles.mjs')], {
      cwd: repo,
      stdio: 'inherit',
    });
    passed += 1;
    notes.push('build: ok');
  } catch {
    failed += 1;
    notes.push('build: FAILED');
  }
}
if (want('unit')) vitest('unit', 'vitest.config.ts');
if (want('go')) goTest();
if (want('ui') && hasTests(join(repo, 'test', 'ui'))) vitest('ui', 'test/ui/vitest.config.ts');
if (want('lab') && hasTests(join(repo, 'test', 'lab'))) vitest('lab', 'test/lab/vitest.config.ts');

for (const n of notes) console.log(`  ${n}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
