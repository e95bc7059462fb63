import {
  idFromSeedFile,
  seedHeatmapFile,
  seedResponse,
} from '../../../../../connectors/sources/seed-covid19/seed-response';

const id = '3f1c2b8e-1d2a-4c6e-9f00-0123456789ab';
const base = {
  id,
  baseUrl: 'http://localhost:8051',
  model: 'cxr-demo@1.0.0',
  labels: ['covid19', 'normal', 'pneumonia'],
  probabilities: [0.805902302, 0.15601939, 0.038078323],
  label: 'covid19',
  positiveLabel: 'covid19',
  disclaimer: 'synthetic training data — not for clinical use',
  withHeatmap: true,
};

describe('[REQ-SEED-01] the 2020 demo’s response shape', () => {
  it('has the demo’s keys (typo included), absolute image URLs and the disclaimer in model_name', () => {
    expect(seedResponse(base)).toEqual({
      Input_Image: `http://localhost:8051/static/source/${id}.png`,
      Output_Heatmap: `http://localhost:8051/static/result/Covid19_81_${id}.png.png`,
      'X-Ray_Classfication_Raw_Result': [[0.805902302, 0.15601939, 0.038078323]],
      'X-Ray_Classification_Covid19_Probability': 0.81,
      'X-Ray_Classification_Result': 'Covid-19 POSITIVE',
      model_name: 'cxr-demo@1.0.0 (synthetic training data — not for clinical use)',
      result_id: id,
      labels: ['covid19', 'normal', 'pneumonia'],
      disclaimer: 'synthetic training data — not for clinical use',
    });
  });

  it('is NEGATIVE when another label is on top, and /predict has no heatmap', () => {
    const r = seedResponse({
      ...base,
      probabilities: [0.2, 0.7, 0.1],
      label: 'normal',
      withHeatmap: false,
    });
    expect(r['X-Ray_Classification_Result']).toBe('Covid-19 NEGATIVE');
    expect(r['X-Ray_Classification_Covid19_Probability']).toBe(0.2);
    expect(r).not.toHaveProperty('Output_Heatmap');
  });

  it('maps the demo’s static file names back to result ids and rejects anything else', () => {
    expect(idFromSeedFile(`${id}.png`)).toBe(id);
    expect(idFromSeedFile(seedHeatmapFile(id, 0.98))).toBe(id);
    expect(seedHeatmapFile(id, 0.98)).toBe(`Covid19_98_${id}.png.png`);
    expect(idFromSeedFile('../../etc/passwd')).toBeUndefined();
    expect(idFromSeedFile(`${id}.jpg`)).toBeUndefined();
  });
});
