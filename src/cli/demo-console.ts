import { randomBytes } from 'node:crypto';
import { createPasswordHasher } from '../auth/password.js';
import { AccountStore } from '../store/accounts.js';
import { openExistingStore } from '../store/reports.js';

/**
 * `qm demo --console`: after the run, the service keeps serving so a QA manager can look at what it
 * scored in the console, with an admin account made for the occasion (the demo's database is
 * temporary; nothing else ever makes an account without `qm user add`). Resolves on Ctrl-C/SIGTERM.
 */
export async function serveConsoleUntilInterrupted(options: {
  databasePath: string;
  adminUrl: string;
  say: (line?: string) => void;
}): Promise<void> {
  const opened = openExistingStore(options.databasePath, { write: true });
  if (!opened.ok) throw new Error(opened.problem);
  const password = randomBytes(12).toString('base64url');
  try {
    const accounts = new AccountStore(opened.store);
    const hash = await createPasswordHasher().hash(password);
    if (accounts.addUser('demo', 'admin', hash, Date.now()) === 'exists') {
      accounts.setPassword('demo', hash, Date.now());
    }
  } finally {
    opened.store.close();
  }
  options.say();
  options.say(`The QA console: ${options.adminUrl}/console  (user demo, password ${password})`);
  options.say(`The results API: ${options.adminUrl}/api/v1/results  ·  Ctrl-C stops the service.`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
