import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  generateRecordsModule,
  generateRecordsSource,
  topicConstName,
} from '../../../schemas/codegen';
import { RECORDS, TOPICS, TOPIC_RECORDS, TOPIC_TABLE } from '../../../schemas/records';

const SCHEMAS = join(__dirname, '..', '..', '..', 'schemas');

describe('[REQ-ARCH-01] record types generated from schemas/', () => {
  it('schemas/records.ts is what `npm run gen:records` writes today (regenerate after a schema change)', async () => {
    const expected = await generateRecordsModule(SCHEMAS);
    expect(readFileSync(join(SCHEMAS, 'records.ts'), 'utf8')).toBe(expected);
  });

  it('the topic table lists every topic of topics.json with its record, key and compaction', () => {
    const json = JSON.parse(readFileSync(join(SCHEMAS, 'topics.json'), 'utf8')) as {
      topics: Record<string, { key: string; value: string; compacted?: boolean }>;
    };
    expect(TOPIC_TABLE.map((t) => t.name).sort()).toEqual(Object.keys(json.topics).sort());
    for (const t of TOPIC_TABLE) {
      expect(t.value).toBe(json.topics[t.name]!.value);
      expect(t.key).toBe(json.topics[t.name]!.key);
      expect(t.compacted).toBe(json.topics[t.name]!.compacted === true);
      expect(TOPIC_RECORDS[t.name]).toBe(t.value);
      expect(Object.values(RECORDS)).toContain(t.value);
    }
    expect(Object.values(TOPICS).sort()).toEqual(Object.keys(json.topics).sort());
  });

  it('names topic constants from the logical topic name', () => {
    expect(topicConstName('medstream.ingest.vitals.v1')).toBe('ingestVitals');
    expect(topicConstName('medstream.state.icu-risk.v1')).toBe('stateIcuRisk');
    expect(topicConstName('medstream.dlq.v1')).toBe('dlq');
  });
});

describe('[REQ-ARCH-02] Avro → TypeScript mapping', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'medstream-codegen-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (file: string, value: unknown) =>
    writeFileSync(join(dir, file), JSON.stringify(value));

  it('maps primitives, nullable unions, enums, arrays, maps, nested records and defaults', () => {
    write('thing.v1.avsc', {
      type: 'record',
      name: 'Thing',
      namespace: 'io.test.v1',
      doc: 'A test record.',
      fields: [
        { name: 'id', type: 'string', doc: 'the id' },
        { name: 'count', type: 'long' },
        { name: 'ratio', type: 'double', default: 0.5 },
        { name: 'raw', type: ['null', 'bytes'], default: null },
        { name: 'mood', type: { type: 'enum', name: 'Mood', symbols: ['HAPPY', 'SAD'] } },
        { name: 'tags', type: { type: 'array', items: 'string' } },
        { name: 'scores', type: { type: 'map', values: 'int' } },
        {
          name: 'child',
          type: {
            type: 'record',
            name: 'Child',
            fields: [{ name: 'flag', type: 'boolean', default: false }],
          },
        },
      ],
    });
    write('topics.json', {
      topics: { 'medstream.test.things.v1': { key: 'id', value: 'io.test.v1.Thing' } },
    });
    const source = generateRecordsSource(dir);
    expect(source).toContain('readonly count: number;');
    expect(source).toContain('readonly raw: Buffer | null;');
    expect(source).toContain('readonly raw?: Buffer | null;'); // the Input form: has a default
    expect(source).toContain('export type Mood = "HAPPY" | "SAD";');
    expect(source).toContain('readonly tags: readonly string[];');
    expect(source).toContain('readonly scores: Readonly<Record<string, number>>;');
    expect(source).toContain('readonly child: Child;');
    expect(source).toContain('readonly child: ChildInput;');
    expect(source).toContain('readonly ratio?: number;');
    expect(source).toContain('testThings: "medstream.test.things.v1"');
    expect(source).toContain('"medstream.test.things.v1": Thing;');
    expect(source).toContain('/** the id */');
  });

  it('refuses a topic whose record no schema declares', () => {
    write('topics.json', { topics: { 'medstream.x.v1': { key: 'k', value: 'io.none.Missing' } } });
    expect(() => generateRecordsSource(dir)).toThrow(/io\.none\.Missing, which no \.avsc declares/);
  });

  it('refuses a top-level schema that is not a named record', () => {
    write('odd.v1.avsc', { type: 'enum', name: 'Odd', symbols: ['A'] });
    write('topics.json', { topics: {} });
    expect(() => generateRecordsSource(dir)).toThrow(/must be a named record/);
  });
});
