import { describe, expect, it } from 'vitest';
import { sweepFailure } from '../../src/cli/sweep.js';
import { cxoneError } from '../../src/cxone/api-caller.js';

// What an operator reads when `qm sweep` (or its dry run) ends early; the whole command as a process
// is in test/process/sweep-command.test.ts.
describe('sweepFailure', () => {
  it('a 4xx answer (a wrong CXONE_API_ENDPOINT answers 404) is not "could not be reached": CXone answered', () => {
    for (const kind of ['rejected', 'not_found'] as const) {
      const failure = sweepFailure(
        cxoneError('completedContacts', kind, 'completedContacts: HTTP 404: Not Found', 404),
        null,
      );
      expect(failure.exitCode).toBe(3);
      expect(failure.lines).toEqual([
        'sweep failed: CXone answered something unusable (completedContacts: HTTP 404: Not Found)',
      ]);
    }
  });

  it('the dry run says it in its own name, with the same exit codes', () => {
    const loop = sweepFailure(
      cxoneError('queryConversations', 'bad_response', 'queryConversations: page 2 repeats only ...'),
      null,
      'dry run',
    );
    expect(loop.exitCode).toBe(3);
    expect(loop.lines).toEqual([
      'dry run: CXone answered something unusable (queryConversations: page 2 repeats only ...)',
    ]);
    const refused = sweepFailure(cxoneError('token', 'unauthorized', 'token: HTTP 401'), null, 'dry run');
    expect([refused.exitCode, refused.lines]).toEqual([
      4,
      ['dry run: CXone refused the credentials (token: HTTP 401)'],
    ]);
    const down = sweepFailure(
      cxoneError('queryConversations', 'network', 'queryConversations: ECONNREFUSED'),
      null,
    );
    expect(down.lines).toEqual([
      'sweep failed: CXone could not be reached (queryConversations: ECONNREFUSED)',
    ]);
  });
});
