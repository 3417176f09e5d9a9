/**
 * The rubric engine's public entry points. Pure: no I/O, no clock, no logger; reading rubric and
 * transcript files is the caller's job.
 */

export type { BytesConversation } from './conversation-bytes.js';
export { primeConversationBytes, readConversationBytes } from './conversation-bytes.js';
export type { Conversation, ConversationRead } from './conversations.js';
export {
  fileBaseName,
  parseConversations,
  parsesAsJson,
  readConversation,
  readConversationLine,
} from './conversations.js';
export type { PatternError } from './regex/index.js';
export { BACKTRACK_BUDGET, MAX_AUTOMATON_STATES } from './regex/index.js';
export type { ParseResult, Rubric, RubricExample, Rule } from './rubric.js';
export { parseRubric } from './rubric.js';
export { evaluationComment, formatScore, scoreOutcomes, scoreTranscript } from './score.js';
export { createScorer, type Scorer } from './scorer.js';
export { EMPTY_TRANSCRIPT, isEmptyTranscript, parseTimestamp } from './transcript.js';
export type {
  CompiledRubric,
  CompiledRule,
  JoinedText,
  RuleOutcome,
  RuleResult,
  ScoreResult,
  TranscriptLine,
} from './types.js';
