/**
 * The numbers a setting defaults to (src/config.ts) that a module also falls back to when its caller
 * passes none (tests, tools): one place for each. It imports nothing, so that config.ts can read them
 * without loading those modules (the CXone caller would bring undici into every command).
 */

/** HTTP_MAX_CONNECTIONS: connections the webhook listener holds at once. */
export const DEFAULT_HTTP_MAX_CONNECTIONS = 512;
/** CXONE_MAX_RETRY_AFTER_SECONDS: the longest Retry-After the CXone caller waits out. */
export const DEFAULT_CXONE_MAX_RETRY_AFTER_SECONDS = 300;
/** CXONE_MAX_ANSWER_MB: the largest CXone answer read. */
export const DEFAULT_CXONE_MAX_ANSWER_MB = 20;
/** CXONE_CALL_RETRIES: quick repeats of a 5xx, reset or timeout inside one call. */
export const DEFAULT_CXONE_CALL_RETRIES = 2;
/** SWEEP_MAX_PAGES: pages one sweep pass reads at most. */
export const DEFAULT_SWEEP_MAX_PAGES = 1_000;
