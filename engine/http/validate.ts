import Ajv, { type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { validationProblem } from './problem';
import { fieldProblems } from './server';

const strict = new Ajv({
  allErrors: true,
  coerceTypes: false,
  removeAdditional: false,
  strict: false,
});
addFormats(strict);

/**
 * A strict validator for bodies a route parses itself (one route taking JSON, raw bytes and
 * multipart, say): throws the same 422 problem, naming each field, as schema-validated routes.
 */
export function createBodyValidator<T>(schema: object): (value: unknown) => T {
  const validate = strict.compile(schema);
  return (value) => {
    if (!validate(value)) throw validationProblem(fieldProblems(validate.errors as ErrorObject[]));
    return value as T;
  };
}
