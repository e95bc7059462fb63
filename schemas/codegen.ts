/**
 * Generates `schemas/records.ts` — the one home of every record type and of the topic table —
 * from the Avro schemas (`schemas/*.avsc`) and `schemas/topics.json`. Nothing else declares a
 * record's shape by hand: adding a record or a topic means adding its `.avsc` / topics.json
 * entry and running `npm run gen:records` (a unit test fails while the checked-in module is
 * out of date).
 *
 * For each named Avro record two TypeScript types are written:
 *  - `Name`: the value as a reader decodes it (every field present; defaults filled in);
 *  - `NameInput`: what a writer may hand to the encoder (fields with a default are optional —
 *    avsc fills them in on encode).
 * Mapping: string → string, boolean → boolean, int/long/float/double → number (longs stay
 * below 2^53 here: times in ms, sizes), bytes/fixed → Buffer, enum → a union of its symbols,
 * array → readonly T[], map → Readonly<Record<string, T>>, ["null", T] → T | null.
 * Where a file declares several versions of one record name, the newest file wins, as in
 * AvroSerde.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

type AvroType = string | AvroType[] | AvroComplex;
interface AvroComplex {
  type: string;
  name?: string;
  namespace?: string;
  doc?: string;
  fields?: AvroField[];
  items?: AvroType;
  values?: AvroType;
  symbols?: string[];
  logicalType?: string;
}
interface AvroField {
  name: string;
  type: AvroType;
  doc?: string;
  default?: unknown;
}
interface TopicEntry {
  key: string;
  value: string;
  why?: string;
  compacted?: boolean;
}

const PRIMITIVES: Record<string, string> = {
  null: 'null',
  boolean: 'boolean',
  int: 'number',
  long: 'number',
  float: 'number',
  double: 'number',
  string: 'string',
  bytes: 'Buffer',
};

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

/** `medstream.state.icu-risk.v1` → `stateIcuRisk` (the TOPICS key). */
export function topicConstName(topic: string): string {
  const words = topic
    .replace(/^medstream\./, '')
    .replace(/\.v\d+$/, '')
    .split(/[.\-_]/)
    .filter(Boolean);
  return words.map((w, i) => (i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1))).join('');
}

const docComment = (doc: string | undefined, indent = ''): string =>
  doc ? `${indent}/** ${doc.replace(/\*\//g, '* /')} */\n` : '';

class ModuleWriter {
  /** full name → TS interface name, in first-seen order. */
  private readonly named = new Map<string, { tsName: string; schema: AvroComplex }>();

  constructor(private readonly topRecords: AvroComplex[]) {
    for (const record of topRecords) this.collect(record, record.namespace);
  }

  private fullName(name: string, namespace: string | undefined): string {
    return name.includes('.') || !namespace ? name : `${namespace}.${name}`;
  }

  private collect(type: AvroType, namespace: string | undefined): void {
    if (typeof type === 'string') return;
    if (Array.isArray(type)) return type.forEach((t) => this.collect(t, namespace));
    if (type.type === 'record' || type.type === 'enum' || type.type === 'fixed') {
      const ns = type.namespace ?? namespace;
      const full = this.fullName(type.name!, ns);
      const tsName = type.name!.split('.').pop()!;
      const clash = [...this.named.values()].find((n) => n.tsName === tsName && n.schema !== type);
      if (clash && this.fullNameOf(clash.schema) !== full)
        throw new Error(`two Avro types map to the TypeScript name ${tsName}; rename one`);
      if (!this.named.has(full)) this.named.set(full, { tsName, schema: type });
      for (const f of type.fields ?? []) this.collect(f.type, ns);
      return;
    }
    if (type.items) this.collect(type.items, namespace);
    if (type.values) this.collect(type.values, namespace);
  }

  private fullNameOf(schema: AvroComplex): string {
    return [...this.named.entries()].find(([, v]) => v.schema === schema)?.[0] ?? '';
  }

  private ref(name: string, namespace: string | undefined, input: boolean): string {
    const hit = this.named.get(this.fullName(name, namespace)) ?? this.named.get(name);
    if (!hit) throw new Error(`unknown Avro type ${name}`);
    return hit.schema.type === 'record' && input ? `${hit.tsName}Input` : hit.tsName;
  }

  tsType(type: AvroType, namespace: string | undefined, input: boolean): string {
    if (typeof type === 'string') return PRIMITIVES[type] ?? this.ref(type, namespace, input);
    if (Array.isArray(type)) {
      const parts = type.map((t) => this.tsType(t, namespace, input));
      // ["null", T] reads as T | null, the order TypeScript users expect.
      return [...parts.filter((p) => p !== 'null'), ...parts.filter((p) => p === 'null')].join(
        ' | ',
      );
    }
    switch (type.type) {
      case 'record':
      case 'enum':
      case 'fixed':
        return this.ref(type.name!, type.namespace ?? namespace, input);
      case 'array':
        return `readonly ${this.wrap(this.tsType(type.items!, namespace, input))}[]`;
      case 'map':
        return `Readonly<Record<string, ${this.tsType(type.values!, namespace, input)}>>`;
      default:
        return this.tsType(type.type, namespace, input);
    }
  }

  private wrap(ts: string): string {
    return /[|&]/.test(ts) ? `(${ts})` : ts;
  }

  declarations(): string {
    const out: string[] = [];
    for (const [full, { tsName, schema }] of this.named) {
      const ns = full.includes('.') ? full.slice(0, full.lastIndexOf('.')) : undefined;
      if (schema.type === 'enum') {
        out.push(
          `${docComment(schema.doc ?? `Avro enum ${full}.`)}export type ${tsName} = ${schema.symbols!.map((s) => JSON.stringify(s)).join(' | ')};\n`,
        );
        continue;
      }
      if (schema.type === 'fixed') {
        out.push(`${docComment(`Avro fixed ${full}.`)}export type ${tsName} = Buffer;\n`);
        continue;
      }
      for (const input of [false, true]) {
        if (input && !this.hasWriterDefaults(schema, ns)) {
          out.push(
            `/** ${full} has no defaults: a writer hands the encoder the same shape. */\nexport type ${tsName}Input = ${tsName};\n`,
          );
          continue;
        }
        const fields = (schema.fields ?? []).map((f) => {
          const optional = input && f.default !== undefined ? '?' : '';
          return `${docComment(f.doc, '  ')}  readonly ${f.name}${optional}: ${this.tsType(f.type, ns, input)};`;
        });
        const head = input
          ? `/** What a writer hands the encoder for ${full}: fields with a default may be left out. */`
          : `/**\n * ${full}${schema.doc ? ` — ${schema.doc.replace(/\*\//g, '* /')}` : ''}\n */`;
        out.push(
          `${head}\nexport interface ${tsName}${input ? 'Input' : ''} {\n${fields.join('\n')}\n}\n`,
        );
      }
    }
    return out.join('\n');
  }

  /** Whether a record, or a record it contains, has a field a writer may leave out. */
  private hasWriterDefaults(schema: AvroComplex, namespace: string | undefined): boolean {
    const nested = (type: AvroType, ns: string | undefined): boolean => {
      if (typeof type === 'string') {
        const hit = this.named.get(this.fullName(type, ns)) ?? this.named.get(type);
        return hit?.schema.type === 'record' ? this.hasWriterDefaults(hit.schema, ns) : false;
      }
      if (Array.isArray(type)) return type.some((t) => nested(t, ns));
      if (type.type === 'record') return this.hasWriterDefaults(type, type.namespace ?? ns);
      return (
        (type.items !== undefined && nested(type.items, ns)) ||
        (type.values !== undefined && nested(type.values, ns))
      );
    };
    return (schema.fields ?? []).some(
      (f) => f.default !== undefined || nested(f.type, schema.namespace ?? namespace),
    );
  }

  recordNames(): Array<{ full: string; tsName: string }> {
    return this.topRecords.map((r) => {
      const full = this.fullName(r.name!, r.namespace);
      return { full, tsName: this.named.get(full)!.tsName };
    });
  }
}

/** Reads the schemas folder: the newest `.avsc` of each record name, and topics.json. */
export function readSchemaFolder(dir: string): {
  records: AvroComplex[];
  topics: Record<string, TopicEntry>;
} {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.avsc'))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const byName = new Map<string, AvroComplex>();
  for (const file of files) {
    const schema = JSON.parse(readFileSync(join(dir, file), 'utf8')) as AvroComplex;
    if (schema.type !== 'record' || !schema.name)
      throw new Error(`${file}: a top-level schema must be a named record`);
    byName.set(schema.namespace ? `${schema.namespace}.${schema.name}` : schema.name, schema);
  }
  const table = JSON.parse(readFileSync(join(dir, 'topics.json'), 'utf8')) as {
    topics: Record<string, TopicEntry>;
  };
  for (const [topic, entry] of Object.entries(table.topics)) {
    if (!byName.has(entry.value))
      throw new Error(`topics.json: ${topic} names ${entry.value}, which no .avsc declares`);
  }
  return { records: [...byName.values()], topics: table.topics };
}

/** The TypeScript source of schemas/records.ts (before formatting). */
export function generateRecordsSource(dir: string): string {
  const { records, topics } = readSchemaFolder(dir);
  const writer = new ModuleWriter(records);
  const names = writer.recordNames();
  const tsOf = new Map(names.map((n) => [n.full, n.tsName]));
  const topicEntries = Object.entries(topics);
  const lines: string[] = [];
  lines.push(
    '// GENERATED by schemas/codegen.ts from schemas/*.avsc and schemas/topics.json — do not edit.',
    '// Run `npm run gen:records` after changing a schema; a unit test fails while this is stale.',
    '',
    writer.declarations(),
    '/** Full Avro names of the top-level records. */',
    `export const RECORDS = {\n${names.map((n) => `  ${lowerFirst(n.tsName)}: ${JSON.stringify(n.full)},`).join('\n')}\n} as const;`,
    '',
    'export type RecordName = (typeof RECORDS)[keyof typeof RECORDS];',
    '',
    '/** Decoded value type of each record. */',
    `export interface RecordTypes {\n${names.map((n) => `  ${JSON.stringify(n.full)}: ${n.tsName};`).join('\n')}\n}`,
    '',
    '/** Writer-side (defaults optional) value type of each record. */',
    `export interface RecordInputs {\n${names.map((n) => `  ${JSON.stringify(n.full)}: ${n.tsName}Input;`).join('\n')}\n}`,
    '',
    '/** Logical topic names (the configured prefix is added at the edge, engine/kafka/topics.ts). */',
    `export const TOPICS = {\n${topicEntries.map(([t]) => `  ${topicConstName(t)}: ${JSON.stringify(t)},`).join('\n')}\n} as const;`,
    '',
    'export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];',
    '',
    'export interface TopicSpec {',
    '  /** Logical name, e.g. medstream.results.risk.v1 */',
    '  readonly name: TopicName;',
    '  /** What the record key is. */',
    '  readonly key: string;',
    '  /** Full name of the Avro value record. */',
    '  readonly value: RecordName;',
    '  /** A changelog keeping the latest value per key (cleanup.policy=compact). */',
    '  readonly compacted: boolean;',
    '  /** Why this key. */',
    '  readonly why: string;',
    '}',
    '',
    '/** The topic table (schemas/topics.json). */',
    `export const TOPIC_TABLE: readonly TopicSpec[] = [\n${topicEntries
      .map(
        ([t, e]) =>
          `  { name: ${JSON.stringify(t)}, key: ${JSON.stringify(e.key)}, value: ${JSON.stringify(e.value)}, compacted: ${e.compacted === true}, why: ${JSON.stringify(e.why ?? '')} },`,
      )
      .join('\n')}\n];`,
    '',
    '/** Decoded value type of each topic. */',
    `export interface TopicValues {\n${topicEntries.map(([t, e]) => `  ${JSON.stringify(t)}: ${tsOf.get(e.value)};`).join('\n')}\n}`,
    '',
    '/** Writer-side value type of each topic. */',
    `export interface TopicInputs {\n${topicEntries.map(([t, e]) => `  ${JSON.stringify(t)}: ${tsOf.get(e.value)}Input;`).join('\n')}\n}`,
    '',
    '/** Value record of each topic. */',
    `export const TOPIC_RECORDS: { readonly [T in TopicName]: RecordName } = {\n${topicEntries.map(([t, e]) => `  ${JSON.stringify(t)}: ${JSON.stringify(e.value)},`).join('\n')}\n};`,
    '',
  );
  return lines.join('\n');
}

/** The formatted module, exactly as it must be checked in. */
export async function generateRecordsModule(dir: string): Promise<string> {
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(join(dir, 'records.ts'))) ?? {};
  return prettier.format(generateRecordsSource(dir), { ...options, parser: 'typescript' });
}

if (require.main === module) {
  // dist/schemas/codegen.js or schemas/codegen.ts: the schemas folder of the source tree.
  const dir = process.argv[2] ?? join(__dirname, '..', '..', 'schemas');
  void generateRecordsModule(dir).then((source) => {
    writeFileSync(join(dir, 'records.ts'), source);
    process.stdout.write(`wrote ${join(dir, 'records.ts')}\n`);
  });
}
