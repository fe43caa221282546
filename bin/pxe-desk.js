#!/usr/bin/env node
// Thin launcher for the built CLI (dist/). `npm run build` first.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/app/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('pxe-desk: not built yet; run `npm run build` first');
  process.exit(1);
}
const { main } = await import(entry.href);
const code = await main(process.argv.slice(2));
// Exit explicitly: after a clean session stop, nothing we own is open, but a peer's idle keep-alive
// socket must not hold the process (stdout/stderr writes to pipes and files are synchronous on Linux).
process.exit(code);
