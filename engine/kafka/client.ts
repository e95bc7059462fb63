import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { EngineConfig } from '../config/types';
import type { Logger } from '../logger';

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** A kafkajs client for the configured brokers whose log lines go through pino. */
export function createKafka(
  config: EngineConfig['kafka'],
  brokers: readonly string[],
  logger: Logger,
): Kafka {
  const log = logger.child({ component: 'kafkajs' });
  const options: KafkaConfig = {
    clientId: config.clientId,
    brokers: [...brokers],
    connectionTimeout: config.connectionTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    ssl: config.ssl,
    // kafkajs' INFO is chatty (every join/leave); keep it at warn unless debugging.
    logLevel: log.isLevelEnabled('debug') ? logLevel.INFO : logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }) => {
        const { message, ...rest } = entry;
        // Bounded produce retries are deliberate (a caller waiting on an ack must get an answer);
        // kafkajs warns about them on every producer start. Its ERROR lines are about conditions
        // it retries (broker unreachable, coordinator loading); failures that matter surface as
        // EngineErrors in medstream's own log lines, so they are warnings here.
        const lvl = message.startsWith('Limiting retries for the idempotent')
          ? 'debug'
          : level === logLevel.ERROR
            ? 'warn'
            : (levels[level] ?? 'info');
        log[lvl]({ kafka: rest }, message);
      },
  };
  if (config.sasl.mechanism) {
    options.sasl = {
      mechanism: config.sasl.mechanism,
      username: config.sasl.username,
      password: config.sasl.password,
    } as SASLOptions;
  }
  return new Kafka(options);
}
