#!/usr/bin/env node
/**
 * medstream — one CLI, several roles.
 *   medstream up                              every role in one process; starts a local Kafka when
 *                                             no brokers are configured
 *   medstream start --roles ingest,process    the given roles (production: one role per deployment)
 *   medstream config print [--roles ...]      effective configuration, secrets masked
 *   medstream topics create                   create missing topics (partitions from config)
 *   medstream dlq list [--limit N] [--json]   dead letters with their reasons
 *   medstream dlq replay [--code C] [--from-beginning] [--dry-run]
 *                                             re-publish dead letters to their original topics
 *   medstream kafka start|stop                the local single-node Kafka alone
 *   medstream fhir subscribe                  create/update the FHIR server's Subscriptions that
 *                                             call components.fhir-subscription back
 *   medstream train icu-risk --csv FILE [--out DIR] [--version V]
 *                                             train the learned ICU-admission model from a CSV in
 *                                             the Sírio-Libanês column layout (see docs/MODELS.md)
 *   medstream train icu-risk --synthetic-cohort N   … from a generated synthetic cohort
 * Common flags: --config FILE (default MEDSTREAM_CONFIG or ./medstream.yaml)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify as toYaml } from 'yaml';
import { buildConfigSchema, loadConfig, maskSecrets } from '../engine/config/load-config';
import type { EngineConfig } from '../engine/config/types';
import { ROLES, type Role } from '../engine/contracts';
import { EngineError, isEngineError } from '../engine/errors';
import { createKafka } from '../engine/kafka/client';
import { ensureTopicTable, TopicNames, TOPICS, RECORDS } from '../engine/kafka/topics';
import { createLogger } from '../engine/logger';
import { projectRoot } from '../engine/paths';
import { type RunningEngine, startEngine } from '../engine/runtime';
import { AvroSerde } from '../engine/avro/serde';
import { readTopicToEnd } from '../engine/kafka/read-to-end';
import { headersToStrings } from '../engine/kafka/headers';
import {
  type LocalKafka,
  startLocalKafka,
  stopLocalKafka,
} from '../deploy/local/kafka/local-kafka';
import type { FhirSubscriptionConfig } from '../connectors/sources/fhir-subscription';
import { subscribe } from '../connectors/sources/fhir-subscription/subscribe';
import { main as trainIcuRisk } from '../models/training/icu-risk/train-icu-risk';
import { COMPONENTS, componentSchemas } from './registry';

const version = (
  JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string }
).version;

function parseRoles(text: string | undefined): Role[] {
  if (!text)
    throw new EngineError('CONFIG_INVALID', `--roles is required (any of ${ROLES.join(', ')})`);
  const roles = text
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const unknown = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (unknown.length)
    throw new EngineError(
      'CONFIG_INVALID',
      `unknown role(s) ${unknown.join(', ')}; roles are ${ROLES.join(', ')}`,
    );
  return roles as Role[];
}

function requireBrokers(config: EngineConfig): string[] {
  if (config.kafka.brokers.length === 0) {
    throw new EngineError(
      'CONFIG_INVALID',
      'no Kafka brokers configured: set KAFKA_BROKERS, MEDSTREAM_KAFKA_BROKERS or kafka.brokers (or use `medstream up`)',
    );
  }
  return [...config.kafka.brokers];
}

/** Runs until SIGTERM/SIGINT, then drains: stop accepting, finish batches, commit, disconnect. */
async function runUntilSignalled(
  engine: RunningEngine,
  localKafka: LocalKafka | undefined,
  log: ReturnType<typeof createLogger>,
) {
  let signalled = false;
  const shutdown = async (signal: string) => {
    if (signalled) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    log.info({ signal }, 'shutting down: draining in-flight work');
    const force = setTimeout(() => {
      log.error('shutdown took longer than 30 s: exiting');
      process.exit(1);
    }, 30000);
    force.unref();
    await engine.stop();
    if (localKafka) await localKafka.stop();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'train') {
    if (argv[1] !== 'icu-risk')
      throw new EngineError('CONFIG_INVALID', 'usage: medstream train icu-risk --csv FILE …');
    await trainIcuRisk(argv.slice(2));
    return;
  }
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      roles: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      code: { type: 'string' },
      'from-beginning': { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, sub] = positionals;
  if (!command || values.help) {
    process.stdout.write(
      readFileSync(__filename, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith(' *'))
        .map((l) => l.slice(3))
        .join('\n') + '\n',
    );
    return;
  }
  const config = loadConfig({ file: values.config, componentSchemas: componentSchemas() });
  const log = createLogger(config.log.level, { process: command }, { format: config.log.format });

  switch (command) {
    case 'up':
    case 'start': {
      const roles = command === 'up' ? [...ROLES] : parseRoles(values.roles);
      let localKafka: LocalKafka | undefined;
      let brokers = [...config.kafka.brokers];
      if (brokers.length === 0) {
        if (command === 'start') requireBrokers(config);
        localKafka = await startLocalKafka({
          dataDir: config.kafka.local.dataDir,
          heapMb: config.kafka.local.heapMb,
          onProgress: (line) => log.info(line),
        });
        brokers = localKafka.brokers;
        process.stdout.write(
          `medstream local kafka at ${brokers.join(',')} (pid ${localKafka.pid}${localKafka.reused ? ', reused' : ''})\n`,
        );
      }
      let engine: RunningEngine;
      try {
        engine = await startEngine({
          config,
          roles,
          components: COMPONENTS,
          brokers,
          logger: log,
          version,
        });
      } catch (err) {
        if (localKafka) await localKafka.stop();
        throw err;
      }
      process.stdout.write(
        `medstream roles ${roles.join(',')}; store ${engine.store?.kind ?? 'none'}; kafka ${brokers.join(',')}\n`,
      );
      for (const [component, address] of engine.listeners)
        process.stdout.write(`medstream ${component} listening on ${address}\n`);
      process.stdout.write(`medstream listening on ${engine.url}\n`);
      await runUntilSignalled(engine, localKafka, log);
      return;
    }
    case 'config': {
      if (sub !== 'print') throw new EngineError('CONFIG_INVALID', 'usage: medstream config print');
      process.stdout.write(toYaml(maskSecrets(config, buildConfigSchema(componentSchemas()))));
      return;
    }
    case 'topics': {
      if (sub !== 'create')
        throw new EngineError('CONFIG_INVALID', 'usage: medstream topics create');
      const kafka = createKafka(config.kafka, requireBrokers(config), log);
      const admin = kafka.admin();
      await admin.connect();
      try {
        const names = new TopicNames(config.kafka.topicPrefix);
        const { all, created } = await ensureTopicTable(admin, names, config.kafka);
        for (const t of all)
          process.stdout.write(`${created.includes(t) ? 'created ' : 'exists  '} ${t}\n`);
      } finally {
        await admin.disconnect();
      }
      return;
    }
    case 'dlq':
      await dlqCommand(sub, config, values, log);
      return;
    case 'kafka': {
      if (sub === 'start') {
        const k = await startLocalKafka({
          dataDir: config.kafka.local.dataDir,
          heapMb: config.kafka.local.heapMb,
          onProgress: (l) => process.stderr.write(`${l}\n`),
        });
        process.stdout.write(`KAFKA_BROKERS=${k.brokers.join(',')}\nPID=${k.pid}\n`);
        return;
      }
      if (sub === 'stop') {
        process.stdout.write(
          (await stopLocalKafka(config.kafka.local.dataDir)) ? 'stopped\n' : 'not running\n',
        );
        return;
      }
      throw new EngineError('CONFIG_INVALID', 'usage: medstream kafka start|stop');
    }
    case 'fhir': {
      if (sub !== 'subscribe')
        throw new EngineError('CONFIG_INVALID', 'usage: medstream fhir subscribe');
      const settings = config.components['fhir-subscription'] as unknown as FhirSubscriptionConfig;
      for (const o of await subscribe(settings))
        process.stdout.write(
          `${o.action} ${o.reference} (${o.name}) status ${o.status} → ${o.endpoint}${o.error ? ` — ${o.error}` : ''}\n`,
        );
      return;
    }
    default:
      throw new EngineError('CONFIG_INVALID', `unknown command ${command}; see medstream --help`);
  }
}

async function dlqCommand(
  sub: string | undefined,
  config: EngineConfig,
  values: {
    limit?: string;
    json?: boolean;
    code?: string;
    'from-beginning'?: boolean;
    'dry-run'?: boolean;
  },
  log: ReturnType<typeof createLogger>,
): Promise<void> {
  const kafka = createKafka(config.kafka, requireBrokers(config), log);
  const names = new TopicNames(config.kafka.topicPrefix);
  const serde = AvroSerde.fromFolders([join(projectRoot(), 'schemas')]);
  const dlqTopic = names.physical(TOPICS.dlq);
  const decode = (message: {
    value: Buffer | null;
    headers?: Parameters<typeof headersToStrings>[0];
  }) => serde.decode(RECORDS.deadLetter, message.value, headersToStrings(message.headers));

  if (sub === 'list') {
    const limit = values.limit ? Number(values.limit) : Infinity;
    let shown = 0;
    await readTopicToEnd(
      kafka,
      dlqTopic,
      `${config.kafka.groupId}.dlq-list-${process.pid}-${Date.now()}`,
      async (partition, message) => {
        if (shown >= limit) return;
        const letter = decode(message);
        if (values.code && letter.errorCode !== values.code) return;
        shown += 1;
        const summary = {
          dlq: `${partition}/${message.offset}`,
          failedAt: new Date(letter.failedAt).toISOString(),
          component: letter.component,
          code: letter.errorCode,
          reason: letter.errorMessage,
          original: `${letter.originalTopic}/${letter.originalPartition}/${letter.originalOffset}`,
          correlationId: letter.originalHeaders['correlation-id'],
          attempts: letter.attempts,
        };
        process.stdout.write(
          values.json
            ? `${JSON.stringify(summary)}\n`
            : `${summary.dlq}\t${summary.failedAt}\t${summary.component}\t${summary.code}\t${summary.original}\t${summary.reason}\n`,
        );
      },
      { throwaway: true },
    );
    if (!values.json) process.stdout.write(`${shown} dead letter(s)\n`);
    return;
  }
  if (sub === 'replay') {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    let replayed = 0;
    let skipped = 0;
    try {
      await readTopicToEnd(
        kafka,
        dlqTopic,
        `${config.kafka.groupId}.dlq-replay${values['from-beginning'] ? `-${Date.now()}` : ''}`,
        async (partition, message) => {
          const letter = decode(message);
          if (values.code && letter.errorCode !== values.code) {
            skipped += 1;
            return;
          }
          const headers = {
            ...letter.originalHeaders,
            'medstream-replay-of': `${TOPICS.dlq}/${partition}/${message.offset}`,
          };
          if (!values['dry-run']) {
            await producer.send({
              topic: names.physical(letter.originalTopic),
              acks: -1,
              messages: [{ key: letter.originalKey, value: letter.originalValue, headers }],
            });
          }
          replayed += 1;
          process.stdout.write(
            `${values['dry-run'] ? 'would replay' : 'replayed'} ${partition}/${message.offset} → ${letter.originalTopic} (${letter.errorCode})\n`,
          );
        },
        {
          commit: !values['dry-run'] && !values['from-beginning'],
          throwaway: values['from-beginning'] === true,
        },
      );
    } finally {
      await producer.disconnect();
    }
    process.stdout.write(`${replayed} replayed, ${skipped} skipped by --code\n`);
    return;
  }
  throw new EngineError('CONFIG_INVALID', 'usage: medstream dlq list|replay');
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (isEngineError(err)) {
    process.stderr.write(`medstream: ${err.code}: ${err.message}\n`);
  } else {
    process.stderr.write(`medstream: ${(err as Error)?.stack ?? String(err)}\n`);
  }
  process.exit(err instanceof EngineError && err.code === 'CONFIG_INVALID' ? 2 : 1);
});
