import type { ErrorObject } from 'ajv';

/** The subset of JSON Schema that medstream's config schemas use, with one extension. */
export interface ConfigSchema {
  type?: 'object' | 'string' | 'integer' | 'number' | 'boolean' | 'array';
  description?: string;
  default?: unknown;
  properties?: Record<string, ConfigSchema>;
  additionalProperties?: boolean | ConfigSchema;
  required?: string[];
  items?: ConfigSchema;
  enum?: readonly unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  pattern?: string;
  format?: string;
  /** medstream extension: the value is a credential; `config print` masks it. */
  secret?: boolean;
}

/** Depth-first walk over every leaf (non-object) property of a schema, with its path. */
export function forEachLeaf(
  schema: ConfigSchema,
  visit: (path: string[], leaf: ConfigSchema) => void,
  path: string[] = [],
): void {
  if (schema.type === 'object' && schema.properties) {
    for (const [key, child] of Object.entries(schema.properties)) {
      forEachLeaf(child, visit, [...path, key]);
    }
    return;
  }
  visit(path, schema);
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as Record<string, unknown>)) deepFreeze(child);
  }
  return value;
}

/** How one caller words a schema problem: config "settings", manifest and HTTP "fields". */
export interface SchemaErrorWording {
  /** The message for a property the schema does not declare ('unknown setting', 'unknown field'…). */
  unknownProperty: string;
  /** The field of an error about the validated value as a whole ('(root)', '(body)'). */
  rootField: string;
}

/** One schema violation: the dotted path it is about and what is wrong there. */
export interface SchemaProblem {
  field: string;
  message: string;
}

/**
 * The one describer of ajv errors (config, HTTP bodies and parameters, model manifests).
 * The field is the dotted path to the offending value — for `required` and
 * `additionalProperties` the path of the missing or undeclared property itself. When `document`
 * (the validated value) is given, a value error ends in ` (got <the value as JSON>)`; HTTP leaves
 * it out, since a body may carry patient data.
 */
export function describeSchemaError(
  error: ErrorObject,
  wording: SchemaErrorWording,
  document?: { value: unknown },
): SchemaProblem {
  const segments = error.instancePath.split('/').filter(Boolean);
  if (error.keyword === 'additionalProperties') {
    segments.push(String(error.params.additionalProperty));
    return { field: segments.join('.'), message: wording.unknownProperty };
  }
  if (error.keyword === 'required') {
    segments.push(String(error.params.missingProperty));
    return { field: segments.join('.'), message: 'is required' };
  }
  const message =
    error.keyword === 'enum'
      ? `must be one of ${(error.params.allowedValues as unknown[]).join(', ')}`
      : (error.message ?? 'is invalid');
  let got = '';
  if (document) {
    let value: unknown = document.value;
    for (const s of segments) value = (value as Record<string, unknown> | undefined)?.[s];
    got = ` (got ${JSON.stringify(value)})`;
  }
  return { field: segments.join('.') || wording.rootField, message: `${message}${got}` };
}
