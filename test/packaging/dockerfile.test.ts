/**
 * What can be checked of the Docker image without Docker: the Dockerfile, .dockerignore, the lock
 * file and .env.example, read as text. The README's recipe (`docker run -v qm-data:/app/data
 * --env-file .env ...` with .env copied from .env.example) depends on every property below.
 */
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { parseEnv } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/process.js';

const read = (file: string) => readFileSync(join(REPO_ROOT, file), 'utf8');

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions with continuation lines joined and comments dropped, split by stage. */
function parseDockerfile(text: string): { args: Map<string, string>; stages: Map<string, Instruction[]> } {
  const joined = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ');
  const args = new Map<string, string>();
  const stages = new Map<string, Instruction[]>();
  let current: Instruction[] | undefined;
  for (const line of joined.split('\n')) {
    const match = /^\s*([A-Z]+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const instruction = { keyword: match[1]!, args: match[2]!.trim() };
    if (instruction.keyword === 'FROM') {
      const name = / AS (\S+)$/i.exec(instruction.args)?.[1] ?? String(stages.size);
      current = [instruction];
      stages.set(name, current);
    } else if (current) current.push(instruction);
    else if (instruction.keyword === 'ARG') {
      const [key, value] = instruction.args.split('=');
      args.set(key!, value ?? '');
    }
  }
  return { args, stages };
}

const { args, stages } = parseDockerfile(read('Dockerfile'));
const runtime = [...stages.values()].at(-1)!;
const build = stages.get('build')!;
const all = (stage: Instruction[], keyword: string) => stage.filter((i) => i.keyword === keyword);
const one = (stage: Instruction[], keyword: string) => {
  const found = all(stage, keyword);
  expect(found, keyword).toHaveLength(1);
  return found[0]!.args;
};

describe('Dockerfile', () => {
  it('pins the base image of every stage to a full Node version', () => {
    for (const [name, stage] of stages) {
      const image = stage[0]!.args.split(/\s+/)[0]!.replace(/^\$\{(\w+)\}$/, (_, arg) => args.get(arg) ?? '');
      expect(image, `stage ${name}`).toMatch(/^node:\d+\.\d+\.\d+-[a-z-]+(@sha256:[0-9a-f]{64})?$/);
    }
  });

  it('runs node on the compiled entry point directly, in exec form, as the unprivileged user', () => {
    expect(JSON.parse(one(runtime, 'CMD'))).toEqual(['node', 'dist/main.js']);
    expect(all(runtime, 'ENTRYPOINT')).toEqual([]);
    expect(one(runtime, 'USER')).toBe('node');
  });

  it('ships no build tools or sources: production node_modules from a pruned build, dist/, no src/', () => {
    const copies = all(runtime, 'COPY').map((c) => c.args);
    expect(copies).toContain('--from=build /app/node_modules ./node_modules');
    expect(copies).toContain('--from=build /app/dist ./dist');
    for (const copy of copies) expect(copy).not.toMatch(/\bsrc\b|tsconfig|test|bench/);
    const runs = build.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    const buildAt = runs.findIndex((r) => /npm run build/.test(r));
    const pruneAt = runs.findIndex((r) => /npm prune --omit=dev/.test(r));
    expect(buildAt).toBeGreaterThanOrEqual(0);
    expect(pruneAt).toBeGreaterThanOrEqual(buildAt);
    // Nothing installs anything in the runtime stage.
    for (const run of all(runtime, 'RUN')) expect(run.args).not.toMatch(/apt-get|npm (ci|install)/);
  });

  it('puts the default DATABASE_PATH of .env.example on the volume, in a folder the user owns', () => {
    const workdir = one(runtime, 'WORKDIR');
    const volume = (JSON.parse(one(runtime, 'VOLUME')) as string[])[0]!;
    const example = parseEnv(read('.env.example')).DATABASE_PATH!;
    const databasePath = posix.resolve(workdir, example);
    expect(databasePath.startsWith(`${volume}/`), databasePath).toBe(true);
    // No ENV in the image overrides what --env-file or the default gives.
    expect(
      all(runtime, 'ENV')
        .map((e) => e.args)
        .join(' '),
    ).not.toMatch(/DATABASE_PATH/);
    const runs = all(runtime, 'RUN')
      .map((r) => r.args)
      .join(' ');
    expect(runs).toContain(`mkdir -p ${volume}`);
    expect(runs).toContain(`chown node:node ${volume}`);
  });

  it('health-checks readiness, on the port the service listens on', () => {
    const check = one(runtime, 'HEALTHCHECK');
    expect(check).toMatch(/\/readyz/);
    expect(check).toMatch(/process\.env\.PORT/);
  });

  it('keeps the .env, data, dist and node_modules of the build machine out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const entry of ['.env', 'data', 'dist', 'node_modules', '*.sqlite*'])
      expect(ignored).toContain(entry);
  });
});

describe('package.json and the lock file', () => {
  const pkg = JSON.parse(read('package.json')) as {
    dependencies: Record<string, string>;
    scripts: Record<string, string>;
  };
  const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { dev?: boolean }> };

  it('build tools are dev dependencies only, so `npm prune --omit=dev` removes them', () => {
    for (const tool of ['tsx', 'typescript', 'esbuild', 'pino-pretty', 'vitest', '@biomejs/biome']) {
      expect(pkg.dependencies[tool], tool).toBeUndefined();
      expect(lock.packages[`node_modules/${tool}`]?.dev, tool).toBe(true);
    }
  });

  it('start and every command run the compiled JavaScript with node, never tsx', () => {
    expect(pkg.scripts.start).toBe('node dist/main.js');
    for (const name of ['sweep', 'status', 'requeue', 'demo', 'score', 'rubric:test']) {
      expect(pkg.scripts[name], name).toBe(`node dist/cli/qm.js ${name}`);
    }
    expect(pkg.scripts.prepare).toMatch(/build/);
  });
});
