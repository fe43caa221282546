#!/usr/bin/env node
// `npm run build`: main process + CLI (tsc), Electron shell + preload (tsc against electron.d.ts),
// renderer (vite), native helper (go build, when Go is installed; CI installs it).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv.slice(2);
const want = (step) => only.length === 0 || only.includes(step);
const run = (cmd, args, cwd = repo, env = process.env) => {
  console.log(`build: ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { cwd, stdio: 'inherit', env });
};
const bin = (name) => resolve(repo, 'node_modules', '.bin', name);

if (want('main')) run(bin('tsc'), ['-p', 'tsconfig.build.json']);
if (want('shell')) run(bin('tsc'), ['-p', 'app/shell/tsconfig.json']);
if (want('renderer') && existsSync(resolve(repo, 'renderer', 'vite.config.ts'))) {
  run(bin('vite'), ['build', '--config', 'renderer/vite.config.ts', '--logLevel', 'warn']);
}
if (want('helper') && existsSync(resolve(repo, 'native-helper', 'go.mod'))) {
  let haveGo = true;
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch {
    haveGo = false;
  }
  if (!haveGo) {
    if (process.env.CI === 'true') throw new Error('CI=true but Go is missing (apt-get install golang-go)');
    console.warn('build: Go not installed, skipping native-helper (apt-get install golang-go)');
  } else {
    const goos = process.platform === 'win32' ? 'windows' : process.platform;
    const goarch = { x64: 'amd64', arm64: 'arm64', ia32: '386' }[process.arch] ?? process.arch;
    const out = resolve(
      repo,
      'native-helper',
      'bin',
      `${goos}-${goarch}`,
      goos === 'windows' ? 'pxe-desk-helper.exe' : 'pxe-desk-helper',
    );
    const goEnv = {
      ...process.env,
      CGO_ENABLED: '0',
      GOFLAGS: '-mod=mod',
      GOTOOLCHAIN: 'local',
      GOPROXY: 'off',
    };
    run(
      'go',
      ['build', '-trimpath', '-ldflags=-s -w', '-o', out, '.'],
      resolve(repo, 'native-helper'),
      goEnv,
    );
    // The native TFTP data path (unprivileged; no capabilities) ships beside the helper. Linux only: it
    // relies on shutdown(2) waking a blocked UDP receive; elsewhere transfers run in Node.
    if (goos === 'linux') {
      const tftp = resolve(dirname(out), 'pxe-desk-tftp');
      run(
        'go',
        ['build', '-trimpath', '-ldflags=-s -w', '-o', tftp, '.'],
        resolve(repo, 'native-tftp'),
        goEnv,
      );
      // The native HTTP body path (sendfile of file bodies; unprivileged), same reasons, same place.
      run(
        'go',
        ['build', '-trimpath', '-ldflags=-s -w', '-o', resolve(dirname(out), 'pxe-desk-http'), '.'],
        resolve(repo, 'native-http'),
        goEnv,
      );
    }
  }
}
