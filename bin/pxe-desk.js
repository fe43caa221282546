#!/usr/bin/env -S node --max-semi-space-size=4
// Thin launcher for the built CLI (dist/). `npm run build` first.
// The flag: a 4 MiB young generation keeps a flood of new client MACs at ~143 MB peak RSS instead of
// ~196 MB, with fewer lost offers (docs/decisions.md, "V8 young generation"). V8 sizes it at start-up
// only, so it lives on the command line (here, `npm run serve`, scripts/start.mjs), not in the code.
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
