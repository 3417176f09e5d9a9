/**
 * The rubric file formats, as zod schemas: the tutorial's map of rules, and the service's native format.
 * Messages are written for a QA manager reading one line per problem; parseRubric adds file and rule.
 */
import * as z from 'zod';

const positiveNumber = z
  .number({ error: 'must be a positive number' })
  .positive({ error: 'must be a positive number' });
const positiveInt = z
  .number({ error: 'must be a positive whole number' })
  .int({ error: 'must be a positive whole number' })
  .positive({ error: 'must be a positive whole number' });
const score = z
  .number({ error: 'must be a number from 0 to 100' })
  .min(0, { error: 'must be a number from 0 to 100' })
  .max(100, { error: 'must be a number from 0 to 100' });
const weight = z
  .number({ error: 'must be a number, 0 or more' })
  .min(0, { error: 'must be a number, 0 or more' })
  .refine(Number.isFinite, { error: 'must be a finite number' });
const text = z.string({ error: 'must be a string' });
const nonEmpty = text.min(1, { error: 'must not be empty' });
const stringList = z.union([nonEmpty, z.array(nonEmpty).min(1, { error: 'must list at least one entry' })], {
  error: 'must be a string or a list of strings',
});

/** One rule of the tutorial's shape, exactly its fields and defaults. */
export const tutorialRuleSchema = z.strictObject({
  pattern: text,
  weight,
  case_insensitive: z.boolean({ error: 'must be true or false' }).default(true),
  score_if_present: score.default(100),
  score_if_absent: score.default(0),
  pass_comment: text.default('Requirement met'),
  fail_comment: text.default('Requirement missing'),
});
export type TutorialRuleInput = z.infer<typeof tutorialRuleSchema>;

export const speakerSchema = z.enum(['agent', 'customer', 'system', 'any'], {
  error: 'must be one of agent, customer, system, any',
});

export const windowSchema = z.strictObject({
  first_seconds: positiveNumber.optional(),
  last_seconds: positiveNumber.optional(),
  first_turns: positiveInt.optional(),
  last_turns: positiveInt.optional(),
});
export type WindowInput = z.infer<typeof windowSchema>;

/** What a rule (or its applies_if condition) looks for, and where. */
const lookFor = {
  phrases: stringList.optional(),
  patterns: stringList.optional(),
  speaker: speakerSchema.default('any'),
  within: windowSchema.optional(),
  case_sensitive: z.boolean({ error: 'must be true or false' }).default(false),
};

export const conditionSchema = z.strictObject(lookFor);
export type ConditionInput = z.infer<typeof conditionSchema>;

export const nativeRuleSchema = z.strictObject({
  name: nonEmpty,
  description: text.optional(),
  section_id: nonEmpty.optional(),
  item_id: nonEmpty.optional(),
  weight: weight.default(1),
  critical: z.boolean({ error: 'must be true or false' }).default(false),
  ...lookFor,
  mode: z.enum(['must', 'must_not'], { error: 'must be must or must_not' }).default('must'),
  min_count: positiveInt.optional(),
  before: nonEmpty.optional(),
  score_levels: z
    .array(z.strictObject({ at_least: positiveInt, score }), { error: 'must be a list of {at_least, score}' })
    .min(1, { error: 'must list at least one level' })
    .optional(),
  applies_if: conditionSchema.optional(),
  pass_comment: text.optional(),
  fail_comment: text.optional(),
});
export type NativeRuleInput = z.infer<typeof nativeRuleSchema>;

export const outcomeSchema = z.enum(['pass', 'fail', 'na'], { error: 'must be pass, fail or na' });

/** A transcript line. `text` is required: a line without it is another format (e.g. role/content), not silence. */
export const transcriptLineSchema = z.object({
  speaker: z.string({ error: 'must be a string' }).default('UNKNOWN'),
  text: z.string({ error: 'must be a string' }),
  timestamp: z.union([z.string(), z.number().transform(String)], { error: 'must be a string' }).default(''),
});

export const exampleSchema = z.strictObject({
  name: nonEmpty.optional(),
  transcript: z.union([nonEmpty, z.array(transcriptLineSchema)], {
    error: 'must be a list of transcript lines or a path to a conversation file',
  }),
  expect: z.record(z.string(), outcomeSchema, { error: 'must map rule names to pass, fail or na' }),
});
export type ExampleInput = z.infer<typeof exampleSchema>;

export const nativeRubricSchema = z.strictObject({
  name: nonEmpty,
  version: z.union([nonEmpty, z.number().transform(String)], { error: 'must be a string such as "1.2"' }),
  form_id: nonEmpty.optional(),
  description: text.optional(),
  rules: z
    .array(z.unknown(), { error: 'must be a list of rules' })
    .min(1, { error: 'must list at least one rule' }),
  examples: z.array(z.unknown(), { error: 'must be a list of examples' }).optional(),
});
