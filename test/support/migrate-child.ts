// Spawned by test/store/db.test.ts (migrate): opens the database given as argument, waits for the common
// start time (so the processes really race instead of being spread out by their start-up), then
// migrates it.
import { migrate, openStore } from '../../src/store/db.js';

const store = openStore(process.argv[2]!);
const startAt = Number(process.argv[3] ?? 0);
while (Date.now() < startAt) {
  // spin: a timer's granularity would spread the processes out again
}
const { applied } = migrate(store);
store.close();
process.stdout.write(`${applied}\n`);
