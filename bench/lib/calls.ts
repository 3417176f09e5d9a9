/**
 * Generated 10-minute collections calls (~150 turns, mixed timestamp formats, some compliant, some
 * not), the same for the same seed: the workload of the scoring and console benchmarks.
 */
import type { TranscriptLine } from '../../src/scoring/index.js';

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

export function generateCall(seed: number): { id: string; transcript: TranscriptLine[] } {
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
