import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../../../../engine/paths';
import { validateIcuRiskManifest } from '../../../../../processors/icu-risk/learned-model';
import { validateManifest } from '../../../../../processors/shared/runtime/manifest-validation';

const shipped = (model: string) =>
  JSON.parse(
    readFileSync(join(projectRoot(), 'models', model, '1.0.0', 'manifest.json'), 'utf8'),
  ) as Record<string, unknown>;

/** The message of what `validate` throws. */
function problemsOf(validate: () => unknown): string {
  try {
    validate();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('the manifest was accepted');
}

describe('one base manifest schema for every task', () => {
  it('the shipped image and tabular-risk manifests validate', () => {
    expect(validateManifest(shipped('cxr-demo'), 'cxr.json').warnings).toEqual([]);
    expect(validateIcuRiskManifest(shipped('icu-risk-demo'), 'icu.json').name).toBe(
      'icu-risk-demo',
    );
  });

  it('both tasks report a bad base field in the same words', () => {
    for (const [model, validate] of [
      ['cxr-demo', (m: unknown) => validateManifest(m, 'm.json')],
      ['icu-risk-demo', (m: unknown) => validateIcuRiskManifest(m, 'm.json')],
    ] as const) {
      const m = shipped(model);
      delete m.syntheticTrainingData;
      m.version = 'v1';
      m.disclaimer = 7;
      const message = problemsOf(() => validate(m));
      expect(message).toContain('syntheticTrainingData: is required');
      expect(message).toContain('version: must match pattern "^[0-9]+(\\.[0-9]+)*$" (got "v1")');
      expect(message).toContain('disclaimer: must be string (got 7)');
    }
  });

  it('a manifest of one task does not pass as the other', () => {
    expect(problemsOf(() => validateManifest(shipped('icu-risk-demo'), 'm.json'))).toContain(
      'task: must be one of image-classification (got "tabular-risk")',
    );
    expect(problemsOf(() => validateIcuRiskManifest(shipped('cxr-demo'), 'm.json'))).toContain(
      'task: must be one of tabular-risk (got "image-classification")',
    );
  });
});
