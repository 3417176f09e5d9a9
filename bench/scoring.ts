/**
 * Scoring benchmark: conversations scored per second on generated 10-minute calls (~150 turns), with
 * rubrics/example.yaml and rubrics/tutorial.yaml, against the tutorial's own Python scorer on the same
 * transcripts (whose scores must be identical). Prints a Markdown section to stdout.
 *
 * usage: npx tsx bench/scoring.ts [--calls N]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRubric, type Rubric, scoreTranscript, type TranscriptLine } from '../src/scoring/index.js';
import { targetComment } from './lib/report.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CALLS = Number(process.argv[process.argv.indexOf('--calls') + 1]) || 200;

/** Deterministic pseudo-random numbers (LCG), so every run scores the same calls. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const AGENT_FILLER = [
  'Let me pull up your account, one moment please.',
  'I can see the last payment we received was in February.',
  'We can take a payment by card or by bank transfer today.',
  'I will note that on the account so the next agent sees it.',
  'The statement should arrive within five to seven business days.',
  'Can you hold for a moment while I check with my supervisor?',
  'Thanks for waiting, I have the details in front of me now.',
  'The late fee was added on the fifteenth of last month.',
  'I can waive one late fee as a courtesy this time.',
  'Would you like a confirmation sent to the email we have on file?',
  'Your reference number for today is four seven two nine.',
  'I understand, that is a fair question.',
];
const CUSTOMER_FILLER = [
  'Okay, that makes sense.',
  'I thought I already paid that last month.',
  'Can you send me that in writing?',
  'I get paid on Friday, so after that would be better.',
  'Yes, the email is still the same one.',
  'Why did the amount go up since my last statement?',
  'Sorry, the line is a bit noisy, can you repeat that?',
  'Alright, go ahead.',
  'I would rather pay by card.',
  'How long will that take to show up on my account?',
];

function generateCall(seed: number): { id: string; transcript: TranscriptLine[] } {
  const r = rng(seed * 7919 + 1);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const turns: { speaker: string; text: string }[] = [];
  const agent = (text: string) => turns.push({ speaker: 'AGENT', text });
  const customer = (text: string) => turns.push({ speaker: 'CUSTOMER', text });
  const name = pick(['Ms. Alvarez', 'Mr. Okafor', 'Mrs. Chen', 'Mr. Novak', 'Ms. Núñez']);
  if (r() < 0.8)
    agent(
      pick([
        'Good morning, thank you for calling Northwind Recovery.',
        'Hello, Northwind Recovery, this is Sam.',
      ]),
    );
  else agent('Northwind Recovery, Sam speaking.');
  const noticeLate = r() < 0.2;
  if (r() < 0.75 && !noticeLate) agent('This call may be recorded for quality assurance and training.');
  customer(pick(['Hi, I got a letter from you.', 'Hi, I am returning a call about my account.']));
  if (r() < 0.7)
    agent('This is an attempt to collect a debt and any information obtained will be used for that purpose.');
  const verifyFirst = r() < 0.75;
  if (verifyFirst)
    agent('Before we go on, can you confirm your date of birth and the last four digits of your card?');
  if (r() < 0.9) agent(`Thank you, ${name}. Your balance is $1,240.50 and it is sixty days past due.`);
  if (!verifyFirst && r() < 0.5)
    agent('Oh, I also need to verify your identity, what is your date of birth?');
  const hardship = r() < 0.3;
  while (turns.length < 140) {
    if (turns.length === 40 && noticeLate) agent('I should have said, this call may be recorded.');
    if (turns.length === 60 && hardship) {
      customer("I lost my job in April and I can't afford the full amount.");
      if (r() < 0.6) agent(`I understand, ${name}. We can set up a payment plan of $100 a month.`);
    }
    if (turns.length === 90 && r() < 0.05)
      agent('If this is not paid we will sue you and garnish your wages.');
    if (turns.length % 2 === 0) agent(pick(AGENT_FILLER));
    else customer(pick(CUSTOMER_FILLER));
  }
  if (r() < 0.8) agent(`Is there anything else I can help you with today, ${name}?`);
  customer('No, that is all, thanks.');
  if (r() < 0.7) agent('Thank you for calling, have a great day.');
  const stampKind = r();
  const start = Date.UTC(2024, 4, 10, 14, 30, 0);
  const transcript = turns.map((t, i) => {
    const seconds = i * 4 + Math.floor(r() * 3);
    const timestamp =
      stampKind < 0.1
        ? ''
        : stampKind < 0.4
          ? new Date(start + seconds * 1000).toISOString()
          : `00:${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}.0`;
    return { ...t, timestamp };
  });
  return { id: `bench-${seed}`, transcript };
}

function loadRubric(path: string): Rubric {
  const parsed = parseRubric(readFileSync(path, 'utf8'), path);
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  return parsed.rubric;
}

/** Conversations per second, single process, after one warm-up pass; runs for at least `minMs`. */
function measure(rubric: Rubric, calls: { transcript: TranscriptLine[] }[], minMs = 2000): number {
  for (const c of calls) scoreTranscript(rubric, c.transcript);
  let scored = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    for (const c of calls) scoreTranscript(rubric, c.transcript);
    scored += calls.length;
    elapsed = performance.now() - start;
  } while (elapsed < minMs);
  return (scored * 1000) / elapsed;
}

function main(): void {
  const generated = Array.from({ length: CALLS }, (_, i) => generateCall(i));
  const turns = generated.reduce((a, c) => a + c.transcript.length, 0) / generated.length;
  const example = loadRubric(join(ROOT, 'rubrics/example.yaml'));
  const tutorial = loadRubric(join(ROOT, 'rubrics/tutorial.yaml'));

  const dir = mkdtempSync(join(tmpdir(), 'scoring-bench-'));
  try {
    const transcriptsPath = join(dir, 'calls.jsonl');
    writeFileSync(transcriptsPath, generated.map((c) => JSON.stringify(c)).join('\n'));
    // Both scorers read the same file, as a service would receive transcripts: parsed JSON.
    const calls = readFileSync(transcriptsPath, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; transcript: TranscriptLine[] });
    // The same rubric for Python, as JSON (the tutorial's RUBRIC_CONFIG shape).
    const rubricJson = Object.fromEntries(
      tutorial.rules.map((r) => {
        const c = r.check as { pattern: string; scoreIfPresent: number; scoreIfAbsent: number };
        return [
          r.name,
          {
            pattern: c.pattern,
            weight: r.weight,
            case_insensitive: true,
            score_if_present: c.scoreIfPresent,
            score_if_absent: c.scoreIfAbsent,
          },
        ];
      }),
    );
    const rubricPath = join(dir, 'tutorial.json');
    writeFileSync(rubricPath, JSON.stringify(rubricJson));
    const py = JSON.parse(
      execFileSync('python3', [join(ROOT, 'bench/tutorial_scorer.py'), rubricPath, transcriptsPath], {
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      }),
    ) as {
      python: string;
      conversations_per_second: number;
      scores: { id: string; overall: number; rules: Record<string, number> }[];
    };

    let mismatches = 0;
    calls.forEach((c, i) => {
      const ours = scoreTranscript(tutorial, c.transcript);
      const theirs = py.scores[i]!;
      const same =
        ours.overallScore === theirs.overall && ours.rules.every((r) => r.score === theirs.rules[r.name]);
      if (!same) {
        mismatches++;
        if (mismatches <= 5)
          process.stderr.write(`score mismatch on ${c.id}: ${ours.overallScore} vs ${theirs.overall}\n`);
      }
    });
    // Tutorial first: measured before the native rules' code paths make the call sites polymorphic.
    const tutorialRate = measure(tutorial, calls);
    const exampleRate = measure(example, calls);
    const distinct = new Set(calls.map((c) => scoreTranscript(tutorial, c.transcript).overallScore)).size;
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    const speedUp = tutorialRate / py.conversations_per_second;
    const cpu = cpus();
    const lines = [
      '## Scoring',
      '',
      `Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores; Node ${process.version}; Python ${py.python}.`,
      `Workload: ${CALLS} generated 10-minute calls (${Math.round(turns)} turns on average, mixed ISO/offset/missing timestamps, some compliant, some not); ` +
        'one process, one thread, after a warm-up pass, at least 2 s per measurement. Command: `npx tsx bench/scoring.ts`.',
      '',
      '| scorer | rubric | conversations/s |',
      '| --- | --- | ---: |',
      `| this engine | rubrics/example.yaml (9 native rules) | ${fmt(exampleRate)} |`,
      `| this engine | rubrics/tutorial.yaml (4 tutorial rules) | ${fmt(tutorialRate)} |`,
      `| tutorial's Python scorer (\`re.search\`) | rubrics/tutorial.yaml | ${fmt(py.conversations_per_second)} |`,
      '',
      `Speed-up on the tutorial rubric: **${(tutorialRate / py.conversations_per_second).toFixed(1)}x** the tutorial's Python scorer.`,
      `Scores identical to the Python scorer: ${mismatches === 0 ? 'yes' : 'NO'}, ${CALLS - mismatches}/${CALLS} conversations (composite and every rule; ${distinct} distinct composites).`,
      '',
      targetComment([
        {
          id: 'scoring',
          name: "Tutorial rubric ≥ 10× the tutorial's Python scorer, identical scores",
          ok: speedUp >= 10 && mismatches === 0,
          measured: `${speedUp.toFixed(1)}×, ${CALLS - mismatches}/${CALLS} identical`,
        },
      ]),
      '',
    ];
    process.stdout.write(lines.join('\n'));
    if (mismatches > 0) process.exitCode = 1;
  } finally {
    if (process.env.BENCH_KEEP) writeFileSync(process.env.BENCH_KEEP, readFileSync(join(dir, 'calls.jsonl')));
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
