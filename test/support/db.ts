import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate, openStore, type Store } from '../../src/store/db.js';

/** A fresh migrated database in its own temp folder; `cleanup` closes and removes it. */
export function tempStore(): { store: Store; path: string; dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'qm-test-'));
  const path = join(dir, 'qm.sqlite');
  const store = openStore(path);
  migrate(store);
  return {
    store,
    path,
    dir,
    cleanup() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
