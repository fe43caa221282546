// Runs the CLI from source (tsx) when dist/ is not built; same argv as bin/pxe-desk.js.
import { main } from '../../app/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
