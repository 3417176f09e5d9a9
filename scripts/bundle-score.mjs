// @ts-check
/**
 * Step of `npm run build`, after tsc: rewrites DIST/cli/score-files.js and DIST/cli/score-worker.js
 * (the work of `qm score` and of its worker threads) as one file each, with zod, yaml and the rubric
 * engine inside. DIST/cli/score.js, which starts the workers before it loads score-files.js, stays
 * as tsc wrote it (it needs nothing but Node and the worker pool).
 *
 * Why: `qm score` is a command people wait on, and loading it module by module (about 180 files of
 * zod, yaml and our own, each resolved, read and compiled on its own) cost ~0.2 s of CPU before the
 * first line was read, in the main thread and again in every worker thread; one file each costs
 * about half of that (BENCHMARKS.md, "Scoring"). The other commands and the service are unchanged.
 *
 * usage: node scripts/bundle-score.mjs [DIST]   (default: dist)
 */
import { join } from 'node:path';
import { build } from 'esbuild';

const dist = process.argv[2] ?? 'dist';
const entries = ['score-files', 'score-worker'].map((name) => join(dist, 'cli', `${name}.js`));

await build({
  entryPoints: entries,
  outdir: join(dist, 'cli'),
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Whitespace and syntax only: names stay, so that a stack trace still says where it comes from.
  minifyWhitespace: true,
  minifySyntax: true,
  // Reads tsc's source maps of the inputs: the bundle's map points into src/.
  sourcemap: true,
  // yaml is CommonJS and requires Node's built-ins, which an ES module bundle can only do with a
  // `require` of its own.
  banner: {
    js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
