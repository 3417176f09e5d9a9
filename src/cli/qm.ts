#!/usr/bin/env node
/**
 * The `qm` bin (package.json "bin"): `qm start`, `qm sweep`, `qm status --json`, ... Run as
 * `npx qm ...` in the repository, `qm ...` in the Docker image. Unlike `npm run`, it prints nothing
 * of its own, so its output pipes as it is; the commands are listed in ./commands.ts.
 */
import { runCli } from './commands.js';

await runCli(process.argv.slice(2));
