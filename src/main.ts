/**
 * The production start: `node dist/main.js` (the Docker image's CMD, `npm start`). Node itself is
 * the process, so SIGTERM from `docker stop`, systemd or `kill PID` reaches the service directly and
 * it drains and exits 0; behind `npm start`, npm sits in between. Same command as `qm start`.
 */
import { runCommand } from './cli/commands.js';

await runCommand('start', process.argv.slice(2));
