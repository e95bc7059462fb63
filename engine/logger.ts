import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Patient-identifying fields are redacted wherever they appear so that a
 * careless `log.info({ record })` cannot leak PHI.
 */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: 'medstream', ...bindings },
    redact: {
      paths: [
        'patientId',
        '*.patientId',
        'patient',
        '*.patient',
        'name',
        '*.name',
        'birthDate',
        '*.birthDate',
      ],
      censor: '[redacted]',
    },
  });
}
