/**
 * The contract between the rubric engine and the rest of the service. The engine itself lives in
 * src/scoring/ and is pure: no I/O, no clock, no logger. Reading rubric files is the caller's job.
 */

// The engine's input is the service's transcript (src/domain): scored as it comes from CXone.
export type { TranscriptLine } from '../domain/transcript.js';

export type RuleOutcome = 'pass' | 'fail' | 'na';

export interface CompiledRule {
  name: string;
  /** Where the rule's item is on the QM form, when the rubric names it; else the service maps by name. */
  sectionId?: string;
  itemId?: string;
  weight: number;
  critical: boolean;
  description?: string;
}

/** A rubric compiled once (patterns compiled, references checked) and then used for many transcripts. */
export interface CompiledRubric {
  name: string;
  version: string;
  /** sha256 (hex) of the rubric file's bytes: which rubric scored an evaluation. */
  hash: string;
  /** The rubric's own QM form, when it names one (overrides QM_FORM_ID). */
  formId?: string;
  rules: readonly CompiledRule[];
}

export interface RuleResult {
  name: string;
  outcome: RuleOutcome;
  /** 0-100; null when the rule is N/A. */
  score: number | null;
  weight: number;
  /** The rule's comment (pass/fail comment) followed by the evidence that decided it. */
  comment: string;
  /** What decided the rule: quoted match with speaker and time/turn, or what was looked for and where. */
  evidence: string;
}

export interface ScoreResult {
  /** Weight-averaged score of the rules that apply, 0-100, unrounded; 0 when a critical rule failed. */
  overallScore: number;
  rules: RuleResult[];
  /** Set when a critical rule failed: says which and why, for the evaluation comment. */
  criticalFailure?: string;
}

/**
 * A transcript's texts joined by single spaces, as the tutorial's shape searches them (Python's
 * `" ".join(...)`), and the index in `text` where each line's text starts.
 */
export interface JoinedText {
  text: string;
  offsets: number[];
}
