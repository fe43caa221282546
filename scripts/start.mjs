#!/usr/bin/env node
// `npm start`: launch the desktop app. Electron >= 45 no longer downloads its binary at install time
// and would try to fetch it on first run; where it is missing we say so in one line and exit, naming
// the headless command instead (docs/decisions.md, "electron").
import { existsSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
let binary;
try {
  const electronDir = dirname(require.resolve('electron/package.json'));
  const pathFile = join(electronDir, 'path.txt');
  if (existsSync(pathFile)) {
    const candidate = join(electronDir, 'dist', readFileSync(pathFile, 'utf8').trim());
    if (existsSync(candidate)) binary = candidate;
  }
} catch {
  binary = undefined;
}
if (process.env.ELECTRON_OVERRIDE_DIST_PATH) {
  const candidate = join(process.env.ELECTRON_OVERRIDE_DIST_PATH, 'electron');
  if (existsSync(candidate)) binary = candidate;
}
if (!binary) {
  console.error(
    'pxe-desk: the Electron binary is not installed (no download possible here); run the headless app instead: npm run serve -- --mode files --address 127.0.0.1 --root <folder> [--ui]',
  );
  process.exit(1);
}
const main = new URL('../dist/app/shell/main.js', import.meta.url).pathname;
if (!existsSync(main)) {
  console.error('pxe-desk: not built yet; run `npm run build` first');
  process.exit(1);
}
// The main process's V8 flags must be given at launch (bin/pxe-desk.js says why this one).
const child = spawn(binary, ['--js-flags=--max-semi-space-size=4', main, ...process.argv.slice(2)], {
  stdio: 'inherit',
});
child.on('exit', (code) => process.exit(code ?? 1));
