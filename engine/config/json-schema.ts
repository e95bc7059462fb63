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
