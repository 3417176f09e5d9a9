import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * The one logger of a process: pino JSON on stdout. Secrets, tokens and signatures are redacted by
 * path in case an object carrying them is ever logged; transcript text is never passed to it.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'cxone-qm-autoscore' },
      redact: {
        paths: [
          'authorization',
          '*.authorization',
          'headers.authorization',
          'headers["webhook-signature"]',
          '*.headers["webhook-signature"]',
          'clientSecret',
          '*.clientSecret',
          'access_token',
          '*.access_token',
          'token',
          '*.token',
          'webhookSecret',
          '*.webhookSecret',
        ],
        censor: '[redacted]',
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
