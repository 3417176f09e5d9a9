/**
 * parseRubric: rubric file text -> a compiled Rubric, or one error line per problem naming the file,
 * the rule and the field. Patterns are compiled here, once per rubric.
 */
import { createHash } from 'node:crypto';
import { isScalar, LineCounter, parseDocument, visit } from 'yaml';
import type * as z from 'zod';
import { compilePattern, MAX_AUTOMATON_STATES, type Matcher, PatternError, tooSlow } from './regex/index.js';
import {
  type ConditionInput,
  exampleSchema,
  type NativeRuleInput,
  nativeRubricSchema,
  nativeRuleSchema,
  tutorialRuleSchema,
  type WindowInput,
} from './schema.js';
import { foldPhrase } from './transcript.js';
import type { CompiledRubric, CompiledRule, RuleOutcome, TranscriptLine } from './types.js';

export type SpeakerFilter = 'agent' | 'customer' | 'system' | 'any';

export interface Needle {
  kind: 'phrase' | 'pattern';
  /** As the author wrote it, for evidence. */
  label: string;
  /** Folded phrase (phrases only). */
  phrase?: string;
  matcher?: Matcher;
}

export interface Window {
  firstSeconds?: number;
  lastSeconds?: number;
  firstTurns?: number;
  lastTurns?: number;
}

/** What a rule or a condition looks for and where. */
export interface Finder {
  needles: Needle[];
  speaker: SpeakerFilter;
  within?: Window;
}

export interface TutorialCheck {
  kind: 'tutorial';
  pattern: string;
  matcher: Matcher;
  scoreIfPresent: number;
  scoreIfAbsent: number;
}

export interface NativeCheck {
  kind: 'native';
  finder: Finder;
  mode: 'must' | 'must_not';
  minCount: number;
  before?: string;
  /** Index in `rules` of the rule `before` names (resolved once, at load). */
  beforeIndex?: number;
  scoreLevels?: { atLeast: number; score: number }[];
  appliesIf?: Finder;
}

export interface Rule extends CompiledRule {
  passComment: string;
  failComment: string;
  check: TutorialCheck | NativeCheck;
}

/** A labelled example: a transcript (inline, or a path for the caller to read) and a reviewer's outcomes. */
export interface RubricExample {
  name: string;
  transcript?: TranscriptLine[];
  /** Path as written in the rubric, relative to the rubric file. */
  transcriptFile?: string;
  expect: Record<string, RuleOutcome>;
}

export interface Rubric extends CompiledRubric {
  /** 'tutorial': the tutorial's map of rules, scored exactly as the tutorial does. */
  shape: 'tutorial' | 'native';
  rules: readonly Rule[];
  examples: readonly RubricExample[];
}

export type ParseResult = { ok: true; rubric: Rubric } | { ok: false; errors: string[] };

export function parseRubric(text: string, fileName: string): ParseResult {
  const errors: string[] = [];
  const read = readYaml(text);
  if (!read.ok) return { ok: false, errors: [`${fileName}: not valid YAML or JSON: ${read.message}`] };
  const doc = read.value;
  if (doc === null || doc === undefined) return { ok: false, errors: [`${fileName}: the rubric is empty`] };
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    return {
      ok: false,
      errors: [`${fileName}: a rubric must be a map of rules, or a map with \`rules\` and \`name\``],
    };
  }
  const hash = createHash('sha256').update(text).digest('hex');
  const record = doc as Record<string, unknown>;
  // `version: 2.10` is the number 2.1 to YAML; the author meant the text they wrote.
  if (typeof record.version === 'number' && read.versionSource !== undefined)
    record.version = read.versionSource;
  const isNative = Array.isArray(record.rules);
  // `rules` (with `name`/`version`) that is not a list is a mistyped native rubric, not a tutorial
  // rubric with rules called "name" and "rules": say what is wrong instead of blaming each key.
  if (!isNative && record.rules !== undefined && ('name' in record || 'version' in record)) {
    return { ok: false, errors: [`${fileName}: \`rules\` must be a list of rules (- name: ...)`] };
  }
  const rubric = isNative
    ? compileNative(doc as Record<string, unknown>, fileName, hash, errors)
    : compileTutorial(doc as Record<string, unknown>, fileName, hash, errors);
  if (rubric && rubric.rules.length === 0 && errors.length === 0)
    errors.push(`${fileName}: the rubric has no rules`);
  // The tutorial's shape is accepted as it is, and the tutorial scores such a rubric 0.
  if (isNative && rubric && rubric.rules.length > 0 && rubric.rules.every((r) => r.weight === 0)) {
    errors.push(`${fileName}: every rule has weight 0, so no score could be computed`);
  }
  if (errors.length > 0 || !rubric) return { ok: false, errors };
  return { ok: true, rubric };
}

type YamlRead = { ok: true; value: unknown; versionSource?: string } | { ok: false; message: string };

/**
 * YAML (or JSON, a subset) to plain values, refusing repeated keys. In time linear in the text: the
 * yaml library's own `uniqueKeys` check compares each key with every earlier one of its map, which
 * took minutes on a rubric of a few thousand rules; here each map's keys go through a Set.
 */
function readYaml(text: string): YamlRead {
  const lines = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: false, lineCounter: lines });
  const syntax = doc.errors[0];
  if (syntax) return { ok: false, message: syntax.message.split('\n')[0]! };
  let repeated: string | undefined;
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : JSON.stringify(pair.key);
        if (seen.has(key)) {
          const at = (pair.key as { range?: [number, number, number] } | null)?.range?.[0] ?? 0;
          const { line, col } = lines.linePos(at);
          const shown = key.length > 60 ? `${key.slice(0, 59)}…` : key;
          repeated = `Map keys must be unique at line ${line}, column ${col}: '${shown}' is repeated`;
          return visit.BREAK;
        }
        seen.add(key);
      }
      return undefined;
    },
  });
  if (repeated) return { ok: false, message: repeated };
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (e) {
    // e.g. too many aliases (a "billion laughs" file).
    return { ok: false, message: (e as Error).message.split('\n')[0]! };
  }
  const version = doc.get('version', true);
  const versionSource = isScalar(version) && typeof version.source === 'string' ? version.source : undefined;
  return { ok: true, value, ...(versionSource !== undefined ? { versionSource } : {}) };
}

/** Formats zod issues as "file: rule 'x': `field.path` message". */
function report(errors: string[], prefix: string, error: z.ZodError, input: unknown): void {
  for (const issue of error.issues) {
    const path = issue.path.map(String);
    let value: unknown = input;
    for (const key of issue.path)
      value = (value as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        errors.push(`${prefix}\`${[...path, key].join('.')}\` is not a known field`);
      continue;
    }
    let message = issue.message;
    if (value === undefined || message.includes('received undefined')) message = 'is required';
    else if (message.startsWith('Invalid input: expected ')) {
      message = `must be ${message.slice('Invalid input: expected '.length).replace(/, received .*/, '')}`;
    }
    errors.push(path.length > 0 ? `${prefix}\`${path.join('.')}\` ${message}` : `${prefix}${message}`);
  }
}

/** A pattern as quoted in an error: enough to recognise it, never a whole page of it. */
function shownPattern(source: string): string {
  return source.length > 80 ? `/${source.slice(0, 79)}…/` : `/${source}/`;
}

/** Longest phrase accepted: a phrase is a few words; finding one costs up to its length per character. */
const MAX_PHRASE = 1_000;

/**
 * `searches`: how many times a rule may search one turn with this pattern (its min_count). Each
 * search for the next occurrence may re-read the rest of the turn on the automaton, so the automaton's
 * cost bound applies to states x searches.
 */
function compilePatternAt(
  source: string,
  ignoreCase: boolean,
  where: string,
  errors: string[],
  searches = 1,
): Matcher | undefined {
  try {
    const matcher = compilePattern(source, ignoreCase);
    if (matcher.engine === 'nfa' && matcher.cost * searches > MAX_AUTOMATON_STATES) {
      errors.push(`${where} ${shownPattern(source)}: ${tooSlow(matcher.cost, searches)}`);
      return undefined;
    }
    return matcher;
  } catch (e) {
    if (e instanceof PatternError) {
      errors.push(`${where} ${shownPattern(source)}: ${e.message}`);
      return undefined;
    }
    throw e;
  }
}

function compileTutorial(
  doc: Record<string, unknown>,
  file: string,
  hash: string,
  errors: string[],
): Rubric | null {
  const rules: Rule[] = [];
  for (const [name, cfg] of Object.entries(doc)) {
    const prefix = `${file}: rule '${name}': `;
    if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) {
      errors.push(`${prefix}must be a map with \`pattern\` and \`weight\``);
      continue;
    }
    const parsed = tutorialRuleSchema.safeParse(cfg);
    if (!parsed.success) {
      report(errors, prefix, parsed.error, cfg);
      continue;
    }
    const r = parsed.data;
    const matcher = compilePatternAt(r.pattern, r.case_insensitive, `${prefix}\`pattern\``, errors);
    if (!matcher) continue;
    rules.push({
      name,
      weight: r.weight,
      critical: false,
      passComment: r.pass_comment,
      failComment: r.fail_comment,
      check: {
        kind: 'tutorial',
        pattern: r.pattern,
        matcher,
        scoreIfPresent: r.score_if_present,
        scoreIfAbsent: r.score_if_absent,
      },
    });
  }
  const base = file.replace(/^.*[\\/]/, '').replace(/\.(ya?ml|json)$/i, '');
  return { name: base, version: '1', hash, shape: 'tutorial', rules, examples: [] };
}

function compileWindow(
  w: WindowInput | undefined,
  prefix: string,
  field: string,
  errors: string[],
): Window | undefined {
  if (!w) return undefined;
  const first = w.first_seconds !== undefined || w.first_turns !== undefined;
  const last = w.last_seconds !== undefined || w.last_turns !== undefined;
  if (!first && !last) {
    errors.push(`${prefix}\`${field}\` must set first_seconds, last_seconds, first_turns or last_turns`);
    return undefined;
  }
  if (first && last) {
    errors.push(`${prefix}\`${field}\` cannot mix first_* and last_* (use one window per rule)`);
    return undefined;
  }
  const out: Window = {};
  if (w.first_seconds !== undefined) out.firstSeconds = w.first_seconds;
  if (w.last_seconds !== undefined) out.lastSeconds = w.last_seconds;
  if (w.first_turns !== undefined) out.firstTurns = w.first_turns;
  if (w.last_turns !== undefined) out.lastTurns = w.last_turns;
  return out;
}

function compileFinder(
  spec: ConditionInput,
  prefix: string,
  fieldPrefix: string,
  errors: string[],
  searches = 1,
): Finder | undefined {
  const asList = (v: string | string[] | undefined) =>
    v === undefined ? [] : typeof v === 'string' ? [v] : v;
  const needles: Needle[] = [];
  asList(spec.phrases).forEach((p, i) => {
    const phrase = foldPhrase(p);
    if (phrase === '') errors.push(`${prefix}\`${fieldPrefix}phrases.${i}\` must not be blank`);
    else if (phrase.length > MAX_PHRASE) {
      errors.push(
        `${prefix}\`${fieldPrefix}phrases.${i}\` is ${phrase.length.toLocaleString('en-US')} characters long; a phrase is at most ${MAX_PHRASE.toLocaleString('en-US')} (a few words: list several phrases instead)`,
      );
    } else needles.push({ kind: 'phrase', label: p.trim(), phrase });
  });
  asList(spec.patterns).forEach((p, i) => {
    const matcher = compilePatternAt(
      p,
      !spec.case_sensitive,
      `${prefix}\`${fieldPrefix}patterns.${i}\``,
      errors,
      searches,
    );
    if (matcher) needles.push({ kind: 'pattern', label: p, matcher });
  });
  if (spec.phrases === undefined && spec.patterns === undefined) {
    errors.push(
      `${prefix}\`${fieldPrefix}phrases\` or \`${fieldPrefix}patterns\` is required (what to look for)`,
    );
    return undefined;
  }
  const within = compileWindow(spec.within, prefix, `${fieldPrefix}within`, errors);
  const finder: Finder = { needles, speaker: spec.speaker };
  if (within) finder.within = within;
  return finder;
}

function compileNative(
  doc: Record<string, unknown>,
  file: string,
  hash: string,
  errors: string[],
): Rubric | null {
  const top = nativeRubricSchema.safeParse(doc);
  if (!top.success) {
    report(errors, `${file}: `, top.error, doc);
    return null;
  }
  const rules: Rule[] = [];
  const seen = new Set<string>();
  const befores: { rule: string; target: string; prefix: string }[] = [];
  // A rule with a mistake (a mistyped field) is reported once. References to rules by name are then
  // not checked: with a rule missing, every example that labels it would be reported too, burying
  // the one real mistake under a line per example.
  let brokenRules = 0;
  top.data.rules.forEach((raw, index) => {
    const rawName = (raw as { name?: unknown } | null)?.name;
    const label = typeof rawName === 'string' && rawName !== '' ? `'${rawName}'` : `#${index + 1}`;
    const prefix = `${file}: rule ${label}: `;
    const parsed = nativeRuleSchema.safeParse(raw);
    if (!parsed.success) {
      report(errors, prefix, parsed.error, raw);
      brokenRules++;
      return;
    }
    const r: NativeRuleInput = parsed.data;
    if (seen.has(r.name)) errors.push(`${prefix}\`name\` is used by another rule; names must be unique`);
    seen.add(r.name);
    const searches = r.score_levels ? 1 : (r.min_count ?? 1);
    const finder = compileFinder(r, prefix, '', errors, searches);
    const appliesIf = r.applies_if ? compileFinder(r.applies_if, prefix, 'applies_if.', errors) : undefined;
    if (r.score_levels && r.mode === 'must_not') {
      errors.push(`${prefix}\`score_levels\` only works with mode must (partial credit for what was found)`);
    }
    if (r.score_levels && r.min_count !== undefined) {
      errors.push(`${prefix}\`score_levels\` and \`min_count\` cannot be combined`);
    }
    if (r.score_levels) {
      const needleCount =
        (r.phrases ? [r.phrases].flat().length : 0) + (r.patterns ? [r.patterns].flat().length : 0);
      r.score_levels.forEach((l, i) => {
        if (l.at_least > needleCount) {
          errors.push(
            `${prefix}\`score_levels.${i}.at_least\` is ${l.at_least} but the rule looks for only ${needleCount} phrases/patterns`,
          );
        }
      });
    }
    if (r.before !== undefined) {
      if (r.before === r.name) errors.push(`${prefix}\`before\` cannot name the rule itself`);
      else befores.push({ rule: r.name, target: r.before, prefix });
    }
    if (!finder) return;
    const rule: Rule = {
      name: r.name,
      weight: r.weight,
      critical: r.critical,
      passComment: r.pass_comment ?? (r.mode === 'must' ? 'Requirement met' : 'No prohibited language'),
      failComment: r.fail_comment ?? (r.mode === 'must' ? 'Requirement missing' : 'Prohibited language used'),
      check: { kind: 'native', finder, mode: r.mode, minCount: r.min_count ?? 1 },
    };
    const check = rule.check as NativeCheck;
    if (r.before !== undefined) check.before = r.before;
    if (r.score_levels) {
      check.scoreLevels = r.score_levels
        .map((l) => ({ atLeast: l.at_least, score: l.score }))
        .sort((a, b) => b.atLeast - a.atLeast);
    }
    if (appliesIf) check.appliesIf = appliesIf;
    if (r.section_id !== undefined) rule.sectionId = r.section_id;
    if (r.item_id !== undefined) rule.itemId = r.item_id;
    if (r.description !== undefined) rule.description = r.description;
    rules.push(rule);
  });
  for (const b of befores) {
    if (!seen.has(b.target) && brokenRules === 0)
      errors.push(`${b.prefix}\`before\` names '${b.target}', which is not a rule of this rubric`);
  }
  const index = new Map(rules.map((rule, i) => [rule.name, i]));
  for (const rule of rules) {
    const check = rule.check as NativeCheck;
    if (check.before !== undefined) {
      const target = index.get(check.before);
      if (target !== undefined) check.beforeIndex = target;
    }
  }
  const examples = compileExamples(top.data.examples ?? [], file, brokenRules === 0 ? seen : null, errors);
  const rubric: Rubric = {
    name: top.data.name,
    version: top.data.version,
    hash,
    shape: 'native',
    rules,
    examples,
  };
  if (top.data.form_id !== undefined) rubric.formId = top.data.form_id;
  return rubric;
}

/** `ruleNames`: the rubric's rules, or null when some rule is broken (its name is then unknown). */
function compileExamples(
  raw: unknown[],
  file: string,
  ruleNames: Set<string> | null,
  errors: string[],
): RubricExample[] {
  const out: RubricExample[] = [];
  raw.forEach((ex, index) => {
    const rawName = (ex as { name?: unknown } | null)?.name;
    const name = typeof rawName === 'string' && rawName !== '' ? rawName : `example ${index + 1}`;
    const prefix = `${file}: example '${name}': `;
    const parsed = exampleSchema.safeParse(ex);
    if (!parsed.success) {
      report(errors, prefix, parsed.error, ex);
      return;
    }
    for (const rule of Object.keys(parsed.data.expect)) {
      if (ruleNames && !ruleNames.has(rule))
        errors.push(`${prefix}\`expect.${rule}\` names no rule of this rubric`);
    }
    const example: RubricExample = { name, expect: parsed.data.expect };
    if (typeof parsed.data.transcript === 'string') example.transcriptFile = parsed.data.transcript;
    else example.transcript = parsed.data.transcript;
    out.push(example);
  });
  return out;
}
