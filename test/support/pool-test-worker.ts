/** A worker for the pool's own tests: echoes, throws, dies or spins on request. */
import { serveTasks } from '../../src/worker-pool/index.js';

serveTasks<{ do: 'echo' | 'throw' | 'die' | 'spin'; value?: number }, number>((request) => {
  if (request.do === 'throw') throw new Error('asked to throw');
  if (request.do === 'die') process.exit(7);
  if (request.do === 'spin') {
    const until = Date.now() + (request.value ?? 0);
    while (Date.now() < until) {
      // busy: holds this thread, as a long transcript would
    }
  }
  return request.value ?? 0;
});
