import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/** `log.format`: `auto` is pretty on a terminal and JSON otherwise (files, pipes, collectors). */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The format `auto` stands for, given whether stdout is a terminal. */
export function resolveLogFormat(
  format: LogFormat,
  stdoutIsTerminal = Boolean(process.stdout.isTTY),
): 'json' | 'pretty' {
  if (format === 'auto') return stdoutIsTerminal ? 'pretty' : 'json';
  return format;
}

export interface LoggerOptions {
  /** Default `json`; the engine passes `log.format` (default `auto`). */
  format?: LogFormat;
  /** Where lines go; stdout by default. */
  destination?: NodeJS.WritableStream;
}

/**
 * Structured logs: one JSON object per line, or — for people at a terminal — one human-readable
 * line per event (time, level, message, then the fields; an error's stack follows on indented
 * lines). Patient-identifying fields are redacted
 * wherever they appear, in both formats, so that a careless `log.info({ record })` cannot leak PHI.
 */
export function createLogger(
  level: string,
  bindings: Record<string, unknown> = {},
  { format = 'json', destination = process.stdout }: LoggerOptions = {},
): Logger {
  const options = {
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
  };
  const isTerminal = Boolean((destination as { isTTY?: boolean }).isTTY);
  if (resolveLogFormat(format, isTerminal) === 'json') {
    return destination === process.stdout ? pino(options) : pino(options, destination);
  }
  return pino(
    options,
    pretty({
      destination,
      sync: true,
      colorize: isTerminal,
      singleLine: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,service',
    }),
  );
}
