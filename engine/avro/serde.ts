import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro, { type Type } from 'avsc';
import type { RecordInputs, RecordName, RecordTypes } from '../../schemas/records';
import { EngineError } from '../errors';

export const HEADER_CONTENT_TYPE = 'content-type';
export const HEADER_FINGERPRINT = 'medstream-schema-fingerprint';
export const HEADER_SCHEMA_NAME = 'medstream-schema';
export const AVRO_CONTENT_TYPE = 'avro/binary';

export interface EncodedValue {
  value: Buffer;
  headers: Record<string, string>;
}

interface KnownSchema {
  type: Type;
  fingerprint: string;
  file: string;
}

/**
 * Avro binary values with the writer schema identified by its SHA-256 fingerprint (of the Parsing
 * Canonical Form) in a header. A reader decodes with its own schema, resolving from whichever
 * known writer schema the header names, so a v1 reader reads records written with v1.x.
 *
 * Known schemas: every `*.avsc` in the given folders (schemas/ plus any extra ones configured),
 * several versions of one record allowed. The newest file of a record name (sorted by file name)
 * is the one this process writes and reads with.
 */
export class AvroSerde {
  private readonly byFingerprint = new Map<string, KnownSchema>();
  private readonly current = new Map<string, KnownSchema>();
  private readonly resolvers = new Map<string, unknown>();

  static fromFolders(folders: readonly string[]): AvroSerde {
    const serde = new AvroSerde();
    for (const folder of folders) {
      const files = readdirSync(folder)
        .filter((f) => f.endsWith('.avsc'))
        .sort((a, b) => a.localeCompare(b, 'en', { numeric: true })); // v1.2 before v1.10
      for (const file of files)
        serde.register(readFileSync(join(folder, file), 'utf8'), join(folder, file));
    }
    return serde;
  }

  /** Adds a schema; returns its full name. The last registered version of a name is current. */
  register(schemaJson: string | object, file = '(inline)'): string {
    const parsed = typeof schemaJson === 'string' ? JSON.parse(schemaJson) : schemaJson;
    const type = avro.Type.forSchema(parsed);
    const name = type.name;
    if (!name) throw new EngineError('SCHEMA_MISMATCH', `schema in ${file} must be a named record`);
    const known: KnownSchema = {
      type,
      fingerprint: type.fingerprint('sha256').toString('hex'),
      file,
    };
    this.byFingerprint.set(known.fingerprint, known);
    this.current.set(name, known);
    return name;
  }

  has(recordName: string): boolean {
    return this.current.has(recordName);
  }

  fingerprintOf(recordName: string): string {
    return this.schema(recordName).fingerprint;
  }

  private schema(recordName: string): KnownSchema {
    const known = this.current.get(recordName);
    if (!known)
      throw new EngineError('SCHEMA_UNKNOWN', `no schema registered for record ${recordName}`);
    return known;
  }

  /**
   * Validates and encodes; a value that does not fit the schema names the offending fields.
   * Typed for the generated records (schemas/records.ts); any other registered name takes
   * any value and is checked at run time only.
   */
  encode<N extends string>(
    recordName: N,
    value: N extends RecordName ? RecordInputs[N] : unknown,
  ): EncodedValue {
    const { type, fingerprint } = this.schema(recordName);
    const badPaths: string[] = [];
    if (!type.isValid(value, { errorHook: (path) => badPaths.push(path.join('.') || '(root)') })) {
      throw new EngineError(
        'SCHEMA_MISMATCH',
        `value does not match ${recordName}: invalid ${badPaths.join(', ')}`,
        {
          details: { fields: badPaths },
        },
      );
    }
    return {
      value: type.toBuffer(value),
      headers: {
        [HEADER_CONTENT_TYPE]: AVRO_CONTENT_TYPE,
        [HEADER_FINGERPRINT]: fingerprint,
        [HEADER_SCHEMA_NAME]: recordName,
      },
    };
  }

  /**
   * Decodes with this process's current schema for `recordName`. Throws (non-retriable):
   * SCHEMA_UNKNOWN for a fingerprint no known schema has, SCHEMA_MISMATCH when the writer schema
   * cannot be resolved to the reader's, DECODE_FAILED for bytes that do not parse.
   */
  decode<N extends string, T = N extends RecordName ? RecordTypes[N] : Record<string, unknown>>(
    recordName: N,
    value: Buffer | null,
    headers: Record<string, string | undefined> = {},
  ): T {
    if (!value)
      throw new EngineError('DECODE_FAILED', `empty value where a ${recordName} was expected`);
    const reader = this.schema(recordName);
    const writerFingerprint = headers[HEADER_FINGERPRINT];
    let writer = reader;
    if (writerFingerprint && writerFingerprint !== reader.fingerprint) {
      const known = this.byFingerprint.get(writerFingerprint);
      if (!known) {
        throw new EngineError(
          'SCHEMA_UNKNOWN',
          `writer schema ${writerFingerprint.slice(0, 16)}… (${headers[HEADER_SCHEMA_NAME] ?? 'unnamed'}) is not known to this reader of ${recordName}`,
        );
      }
      writer = known;
    }
    try {
      if (writer === reader) return reader.type.fromBuffer(value) as T;
      const key = `${writer.fingerprint}>${reader.fingerprint}`;
      let resolver = this.resolvers.get(key);
      if (!resolver) {
        try {
          resolver = reader.type.createResolver(writer.type);
        } catch (err) {
          throw new EngineError(
            'SCHEMA_MISMATCH',
            `writer schema ${writer.type.name} (${writer.file}) cannot be read as ${recordName}: ${(err as Error).message}`,
            { cause: err },
          );
        }
        this.resolvers.set(key, resolver);
      }
      return reader.type.fromBuffer(value, resolver as never) as T;
    } catch (err) {
      if (err instanceof EngineError) throw err;
      throw new EngineError(
        'DECODE_FAILED',
        `cannot decode ${recordName}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
}
