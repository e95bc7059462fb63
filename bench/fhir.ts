/**
 * bench/fhir — FHIR in and out, measured side by side in one run against the same local HAPI
 * FHIR R4 JPA server (deploy/local/fhir, in-memory H2) on the same machine, with synthetic
 * resources (no patient data):
 *   (a)  HAPI raw create: N vital-sign Observations POSTed to [base]/Observation, C in flight;
 *   (a2) HAPI raw conditional-create transaction: N one-entry transaction Bundles (ifNoneExist on
 *        the identifier) holding a risk Observation built by the fhir sink's own mapping — what
 *        the sink sends per result, and so its fair baseline;
 *   (b)  callbacks/s accepted by medstream's fhir-subscription source: the Observations of (a),
 *        as HAPI stored them, PUT as R4 rest-hook full-resource callbacks, C in flight, patients
 *        spread over the Kafka keys; each answered 200 only after Kafka acked;
 *   (c)  Observations/s written end to end: from the first callback of (b) until the fhir sink
 *        has created every risk Observation (NEWS2 and the learned ICU-admission risk) that
 *        icu-risk computes from them (medstream_fhir_resources_total on /metrics).
 * (a) and (a2) run again after (c); the ratios use the better of the two baseline runs.
 *
 *   npm run bench:fhir -- [--callbacks 600] [--concurrency 8] [--patients 50] [--quick]
 *
 * Also FHIR_BENCH_CALLBACKS / FHIR_BENCH_CONCURRENCY / FHIR_BENCH_PATIENTS. Uses KAFKA_BROKERS
 * when set, else starts the local single-node Kafka; always starts its own HAPI (15–60 s) and a
 * medstream process (ingest, process, sink roles). Every process it started is stopped on exit,
 * on error and on SIGINT/SIGTERM.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { riskResultToBundle } from '../connectors/sinks/fhir/resources';
import { startLocalFhir, stopLocalFhirByPidFile } from '../deploy/local/fhir/local-fhir';
import { freePort, stopLocalKafka, stopProcess } from '../deploy/local/kafka/local-kafka';
import { sleep } from '../engine/time';
import { computeNews2 } from '../processors/icu-risk/news2';
import { drive } from './drive';
import { startBenchMedstream } from './processes';

const { values } = parseArgs({
  options: {
    callbacks: { type: 'string', short: 'n' },
    concurrency: { type: 'string', short: 'c' },
    patients: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});
const QUICK = values.quick === true;
const N = Number(values.callbacks ?? process.env.FHIR_BENCH_CALLBACKS ?? (QUICK ? 120 : 600));
const C = Number(values.concurrency ?? process.env.FHIR_BENCH_CONCURRENCY ?? 8);
const P = Number(
  values.patients ?? process.env.FHIR_BENCH_PATIENTS ?? Math.max(2 * C, Math.round(N / 12)),
);
if (![N, C, P].every((n) => Number.isInteger(n) && n > 0))
  throw new Error(`callbacks, concurrency and patients must be positive integers`);

const SECRET = `Bearer bench-${Math.random().toString(16).slice(2)}`;
const FHIR_JSON = 'application/fhir+json';
const BASELINE_ID_SYSTEM = 'urn:medstream:bench-baseline-id';
const SINK_ID_SYSTEM = 'urn:medstream:result-id'; // the sink's default identifierSystem
const SINK_IN_FLIGHT = 4; // the sink's default partitionsConsumedConcurrently (and partitions)

// ── synthetic resources ─────────────────────────────────────────────────────────────────────

interface Resource {
  resourceType: string;
  id?: string;
  meta?: { versionId?: string };
  [key: string]: unknown;
}

/** The NEWS2 vitals and GCS, in the order each patient's Observations cycle through them. */
const VITALS = [
  { loinc: '9279-1', display: 'Respiratory rate', unit: '/min', at: (k: number) => 12 + (k % 17) },
  { loinc: '59408-5', display: 'SpO2', unit: '%', at: (k: number) => 90 + (k % 9) },
  { loinc: '8480-6', display: 'Systolic BP', unit: 'mm[Hg]', at: (k: number) => 90 + (k % 60) },
  { loinc: '8867-4', display: 'Heart rate', unit: '/min', at: (k: number) => 55 + (k % 70) },
  {
    loinc: '8310-5',
    display: 'Body temperature',
    unit: 'Cel',
    at: (k: number) => 36 + (k % 30) / 10,
  },
  { loinc: '9269-2', display: 'GCS total', unit: '{score}', at: (k: number) => 13 + (k % 3) },
] as const;

/** Patient p's j-th vital-sign Observation (0-based), one second after its (j-1)-th. */
function vitalObservation(patientRef: string, p: number, j: number, t0: number): Resource {
  const v = VITALS[j % VITALS.length]!;
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/observation-category',
            code: 'vital-signs',
          },
        ],
      },
    ],
    code: { coding: [{ system: 'http://loinc.org', code: v.loinc, display: v.display }] },
    subject: { reference: patientRef },
    effectiveDateTime: new Date(t0 + j * 1000).toISOString(),
    valueQuantity: {
      value: v.at(p * 7 + j),
      unit: v.unit,
      system: 'http://unitsofmeasure.org',
      code: v.unit,
    },
  };
}

const syntheticPatient = (i: number) => ({
  resourceType: 'Patient',
  identifier: [{ system: 'urn:medstream:bench-mrn', value: `bench-${i}-${Date.now()}` }],
  name: [{ family: 'Synthetic', given: ['Bench'] }],
  gender: i % 2 ? 'female' : 'male',
  birthDate: `19${40 + (i % 50)}-0${1 + (i % 9)}-1${i % 10}`,
});

/**
 * Risk results icu-risk yields for a patient's k-th Observation (1-based) in the VITALS cycle:
 * the learned model scores from 3 fresh variables on, NEWS2 once its 5 measured ones are there.
 */
const resultsAfter = (k: number) => (k >= 3 ? 1 : 0) + (k >= 5 ? 1 : 0);
/** Results for `count` Observations dealt round-robin to `patients` patients. */
function expectedResults(count: number, patients: number): number {
  let total = 0;
  for (let p = 0; p < patients; p++) {
    const k = Math.floor(count / patients) + (p < count % patients ? 1 : 0);
    for (let j = 1; j <= k; j++) total += resultsAfter(j);
  }
  return total;
}

/** What the sink sends for one risk result, built by its own mapping (conditional create). */
function baselineBundle(i: number, tag: string, patientRef: string, sources: string[]): string {
  const news2 = computeNews2({
    respiratoryRate: 14 + (i % 12),
    spo2: 92 + (i % 7),
    spo2Scale: 1,
    supplementalOxygen: false,
    systolicBp: 100 + (i % 40),
    pulse: 60 + (i % 50),
    consciousness: 'A',
    temperature: 36.5 + (i % 20) / 10,
  });
  const kind = i % 2 ? 'news2' : 'icu-admission';
  const bundle = riskResultToBundle(
    {
      resultId: `${tag}-${i}`,
      kind,
      patientId: patientRef,
      model: kind === 'news2' ? 'news2@rcp-2017' : 'icu-risk-demo@1.0.0',
      observedAt: Date.now() - 60000,
      computedAt: Date.now(),
      score: kind === 'news2' ? news2.total : 0.1 + (i % 80) / 100,
      band: kind === 'news2' ? news2.band : 'low',
      news2: kind === 'news2' ? { ...news2, subscores: { ...news2.subscores } } : null,
      inputsUsed: { respiratoryRate: 14, spo2: 96, systolicBp: 120, heartRate: 80 },
      missingInputs: kind === 'news2' ? [] : ['crp', 'lymphocytes', 'creatinine'],
      imputedInputs: ['consciousness: no GCS (LOINC 9269-2) — scored as Alert'],
      sourceIds: sources,
      syntheticModel: kind !== 'news2',
    },
    { identifierSystem: BASELINE_ID_SYSTEM, subject: { reference: { reference: patientRef } } },
  );
  return JSON.stringify(bundle);
}

// ── load and measurement ────────────────────────────────────────────────────────────────────

type Run = Awaited<ReturnType<typeof drive>>;

async function send(
  method: string,
  url: string,
  body: string,
  expect: number,
  headers: Record<string, string> = {},
): Promise<Resource> {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': FHIR_JSON, accept: FHIR_JSON, ...headers },
    body,
  });
  const text = await res.text();
  if (res.status !== expect)
    throw new Error(`${method} ${url} answered ${res.status}: ${text.slice(0, 2000)}`);
  return JSON.parse(text) as Resource;
}

/** The sink's resource counters from medstream's /metrics, by outcome. */
async function sinkCounts(engineUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${engineUrl}/metrics`)).text();
  const counts: Record<string, number> = { created: 0, existed: 0, failed: 0 };
  for (const m of text.matchAll(
    /^medstream_fhir_resources_total\{type="Observation",outcome="(\w+)"\} (\d+(?:\.\d+)?)/gm,
  ))
    counts[m[1]!] = Number(m[2]);
  return counts;
}

/** Waits until the sink has created `target` Observations; fails after `stallMs` without progress. */
async function untilCreated(engineUrl: string, target: number, stallMs = 60000) {
  let last = -1;
  let progressAt = Date.now();
  for (;;) {
    const counts = await sinkCounts(engineUrl);
    if (counts.created! >= target) return counts;
    if (counts.created !== last) [last, progressAt] = [counts.created!, Date.now()];
    else if (Date.now() - progressAt > stallMs) {
      const metrics = (await (await fetch(`${engineUrl}/metrics`)).text())
        .split('\n')
        .filter((l) => /^medstream_(fhir|icu_risk|dead|retries)/.test(l))
        .join('\n');
      throw new Error(
        `the sink stopped at ${counts.created} of ${target} created Observations:\n${metrics}`,
      );
    }
    await sleep(50);
  }
}

// ── main ────────────────────────────────────────────────────────────────────────────────────

/**
 * This process's own children running `script` (Linux /proc): the medstream process of a start
 * that was interrupted before startBenchMedstream handed it over.
 */
function ownChildren(script: string): number[] {
  try {
    return readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
          const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
          return (
            ppid === process.pid && readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(script)
          );
        } catch {
          return false;
        }
      })
      .map(Number);
  } catch {
    return [];
  }
}

const cleanups: Array<() => Promise<unknown>> = [];
let interrupted = false;
async function cleanUp(): Promise<void> {
  while (cleanups.length > 0) {
    const step = cleanups.pop()!;
    await step().catch((err: unknown) =>
      process.stderr.write(`cleanup: ${(err as Error).message}\n`),
    );
  }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    interrupted = true;
    process.stderr.write(`bench/fhir: ${signal}, stopping what it started\n`);
    void cleanUp().finally(() => process.exit(130));
  });

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'bench-fhir-'));
  cleanups.push(async () => rmSync(work, { recursive: true, force: true }));
  // Backstops for an interrupted start (both find only the process started in `work`).
  cleanups.push(() => stopLocalFhirByPidFile(join(work, 'hapi')));
  if (!process.env.KAFKA_BROKERS) cleanups.push(() => stopLocalKafka(join(work, 'kafka')));
  cleanups.push(() =>
    Promise.all(ownChildren(join('dist', 'bin', 'medstream.js')).map((pid) => stopProcess(pid))),
  );

  // HAPI and medstream (with Kafka) start side by side; a failure stops whichever started.
  const loadBefore = loadavg()[0]!;
  const port = await freePort();
  const hapiBase = `http://127.0.0.1:${port}/fhir`;
  const [hapiStart, engineStart] = await Promise.allSettled([
    startLocalFhir({ dataDir: join(work, 'hapi'), port }),
    startBenchMedstream('ingest,process,sink', work, {
      MEDSTREAM_COMPONENTS_FHIR_SUBSCRIPTION_ENABLED: 'true',
      MEDSTREAM_COMPONENTS_FHIR_SUBSCRIPTION_SECRET: SECRET,
      MEDSTREAM_COMPONENTS_FHIR_SUBSCRIPTION_FHIR_SERVER_BASE_URL: hapiBase,
      MEDSTREAM_COMPONENTS_FHIR_ENABLED: 'true',
      MEDSTREAM_COMPONENTS_FHIR_BASE_URL: hapiBase,
    }),
  ]);
  if (hapiStart.status === 'fulfilled') cleanups.push(() => hapiStart.value.stop());
  if (engineStart.status === 'fulfilled') cleanups.push(() => engineStart.value.stop());
  if (hapiStart.status === 'rejected') throw hapiStart.reason;
  if (engineStart.status === 'rejected') throw engineStart.reason;
  const hapi = hapiStart.value;
  const engine = engineStart.value;

  // warm-up patients, 6 Observations each (every variable once); HAPI's JIT needs a few hundred
  const W = QUICK ? C : Math.max(C, 24);
  const patientIds: string[] = [];
  await drive(P + W, C, async (i) => {
    patientIds[i] = (
      await send('POST', `${hapiBase}/Patient`, JSON.stringify(syntheticPatient(i)), 201)
    ).id!;
  });
  const patientRef = (i: number) => `Patient/${patientIds[i]}`;
  const t0 = Date.now() - 30 * 60000;

  /** N-Observation plans: index i → patient i % patients, its (i / patients)-th Observation. */
  const plan = (count: number, patients: number, offset = 0) =>
    Array.from({ length: count }, (_, i) =>
      JSON.stringify(
        vitalObservation(
          patientRef(offset + (i % patients)),
          i,
          Math.floor(i / patients),
          t0 + (offset ? 0 : 10 * 60000),
        ),
      ),
    );
  const createAll = async (bodies: string[]) => {
    const stored: Resource[] = [];
    const run = await drive(bodies.length, C, async (i) => {
      stored[i] = await send('POST', `${hapiBase}/Observation`, bodies[i]!, 201, {
        prefer: 'return=representation',
      });
    });
    return { run, stored };
  };
  const ref = (o: Resource) => `Observation/${o.id}/_history/${o.meta?.versionId ?? '1'}`;
  /** One transaction per source Observation, derived from it and its patient's 4 before it. */
  const transactions = (tag: string, sources: Resource[], patients: number, clients = C) => {
    const bodies = sources.map((o, i) =>
      baselineBundle(i, tag, (o.subject as { reference: string }).reference, [
        ref(o),
        ...[1, 2, 3, 4]
          .filter((k) => i - k * patients >= 0)
          .map((k) => ref(sources[i - k * patients]!)),
      ]),
    );
    return drive(bodies.length, clients, async (i) => {
      const answer = await send('POST', hapiBase, bodies[i]!, 200);
      const status = (answer.entry as { response?: { status?: string } }[] | undefined)?.[0]
        ?.response?.status;
      if (!status?.startsWith('201')) throw new Error(`transaction entry answered ${status}`);
    });
  };
  const callback = (o: Resource) => () =>
    send('PUT', `${engine.url}/fhir/subscription/Observation/${o.id}`, JSON.stringify(o), 200, {
      authorization: SECRET,
    });

  // Warm-up: both HAPI paths and medstream's whole path, on patients of their own.
  const tag = `bench-${Date.now().toString(36)}`;
  const warm = await createAll(plan(W * VITALS.length, W, P));
  await transactions(`${tag}-warm`, warm.stored, W);
  const warmBefore = (await sinkCounts(engine.url)).created!;
  const warmCalls = warm.stored.map(callback);
  await drive(warmCalls.length, C, (i) => warmCalls[i]!().then(() => undefined));
  await untilCreated(engine.url, warmBefore + expectedResults(W * VITALS.length, W), 120000);

  // (a), (a2)
  const a = await createAll(plan(N, P));
  const a2 = await transactions(`${tag}-a2`, a.stored, P);

  // (b) + (c): the Observations of (a) as HAPI's rest-hook would deliver them.
  const expected = expectedResults(N, P);
  const before = await sinkCounts(engine.url);
  const calls = a.stored.map(callback);
  const tc = process.hrtime.bigint();
  const b = await drive(N, C, (i) => calls[i]!().then(() => undefined));
  const after = await untilCreated(engine.url, before.created! + expected);
  const cSeconds = Number(process.hrtime.bigint() - tc) / 1e9;
  await sleep(1000); // anything beyond the expected count would show now
  const settled = await sinkCounts(engine.url);
  const created = settled.created! - before.created!;
  const c = { perSecond: (after.created! - before.created!) / cSeconds, seconds: cSeconds };

  // The baselines again, after (c), on the grown database.
  const aAgain = (await createAll(plan(N, P))).run;
  const a2Again = await transactions(`${tag}-a2again`, a.stored, P);
  // The sink has at most one transaction in flight per partition it consumes concurrently.
  const a2Sink = await transactions(`${tag}-a2sink`, a.stored, P, SINK_IN_FLIGHT);
  const loadAfter = loadavg()[0]!;
  const bestA = aAgain.perSecond > a.run.perSecond ? aAgain : a.run;
  const bestA2 = a2Again.perSecond > a2.perSecond ? a2Again : a2;

  const inHapi = await fetch(
    `${hapiBase}/Observation?identifier=${encodeURIComponent(`${SINK_ID_SYSTEM}|`)}&_summary=count`,
    { headers: { accept: FHIR_JSON } },
  ).then(async (r) => ((await r.json()) as { total?: number }).total);

  const num = (x: number | undefined, digits = 0) =>
    (x === undefined ? '—' : x.toFixed(digits)).padStart(8);
  const row = (name: string, r: Partial<Run>, again?: Run) =>
    `  ${name.padEnd(68)}${num(r.perSecond)}${num(again?.perSecond)}${num(r.p50, 1)}${num(r.p95, 1)}`;
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const cores = availableParallelism();
  const lines = [
    `medstream bench/fhir — N ${N} Observations / callbacks, C ${C} in flight, ${P} patients (round-robin over the Kafka keys), ${cores} cores (${cpus().length}× ${cpu}), Node ${process.version}`,
    `  HAPI FHIR R4 JPA, in-memory H2, ${hapi.baseUrl} (up in ${(hapi.startMs / 1000).toFixed(1)} s); Kafka ${process.env.KAFKA_BROKERS ? `external ${process.env.KAFKA_BROKERS}` : 'local KRaft'}; medstream roles ingest,process,sink`,
    `  ${''.padEnd(68)}${'per s'.padStart(8)}${'2nd run'.padStart(8)}${'p50 ms'.padStart(8)}${'p95 ms'.padStart(8)}`,
    row('(a)  HAPI raw: POST /Observation', a.run, aAgain),
    row('(a2) HAPI raw: 1-entry conditional-create transaction', a2, a2Again),
    row(`     the same, ${SINK_IN_FLIGHT} in flight (the sink's partition concurrency)`, a2Sink),
    row('(b)  medstream: rest-hook callbacks accepted (200 after Kafka ack)', b),
    row('(c)  medstream: risk Observations created in HAPI, end to end', c),
    `  ratio (b)/(a): ${(b.perSecond / bestA.perSecond).toFixed(2)}   ratio (c)/(a2): ${(c.perSecond / bestA2.perSecond).toFixed(2)}   (over the better baseline run; 2nd run = after (c))`,
    `  (c): ${created} created in ${c.seconds.toFixed(2)} s from the first callback (expected ${expected}, ${(created / N).toFixed(2)} per callback; existed ${settled.existed! - before.existed!}, failed ${settled.failed! - before.failed!}); ${inHapi ?? '?'} sink Observations in HAPI incl. warm-up`,
    `  load average (1 min) before / after: ${loadBefore.toFixed(2)} / ${loadAfter.toFixed(2)}`,
    `  note: synthetic resources; HAPI in-memory H2 on the same ${cores} cores as Kafka, medstream and this load generator`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main()
  .then(
    () => 0,
    (err: unknown) => {
      if (!interrupted)
        process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
      return 1;
    },
  )
  .then(async (code) => {
    await cleanUp();
    process.exit(code);
  });
