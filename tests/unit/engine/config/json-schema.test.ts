import Ajv from 'ajv';
import { describeSchemaError } from '../../../../engine/config/json-schema';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string' },
    nested: {
      type: 'object',
      properties: {
        level: { enum: ['low', 'high'] },
        count: { type: 'integer', minimum: 1 },
      },
    },
  },
};
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
const wording = { unknownProperty: 'unknown field', rootField: '(root)' };

function problemsOf(value: unknown, withValue: boolean): string[] {
  expect(validate(value)).toBe(false);
  return (validate.errors ?? []).map((e) => {
    const p = describeSchemaError(e, wording, withValue ? { value } : undefined);
    return `${p.field}: ${p.message}`;
  });
}

describe('describeSchemaError (the one ajv error describer)', () => {
  it('names the dotted path and the offending value', () => {
    expect(
      problemsOf({ name: 'x', nested: { level: 'mid', count: 0 }, colour: 'red' }, true).sort(),
    ).toEqual([
      'colour: unknown field',
      'nested.count: must be >= 1 (got 0)',
      'nested.level: must be one of low, high (got "mid")',
    ]);
  });

  it('names a missing property by its own path, and leaves values out when no document is given', () => {
    expect(problemsOf({ nested: { count: 'two' } }, false).sort()).toEqual([
      'name: is required',
      'nested.count: must be integer',
    ]);
  });

  it('uses the caller’s root field for an error about the whole value', () => {
    expect(problemsOf('text', true)).toEqual(['(root): must be object (got "text")']);
  });
});
